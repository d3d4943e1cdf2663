//! The planning checks on synthetic scenes with known answers: a cylinder
//! of known radius at a known distance from the zone gives that distance
//! and that diameter within half a voxel on anisotropic grids; margins are
//! exact on spheres; the needle-to-vessel distance is right for skew lines.

use glam::DVec3;
use vasa_plan::{Modality, Plan, Zone, closest_approach, vessels_near};
use vasa_scan::{Geometry, LabelMap, Volume};

/// A map of `dims` voxels of `spacing`, origin at (−dims·spacing/2): the
/// world origin near the centre.
fn map(dims: [usize; 3], spacing: [f64; 3]) -> LabelMap {
    let s = DVec3::from_array(spacing);
    let origin = -DVec3::new(dims[0] as f64, dims[1] as f64, dims[2] as f64) * s / 2.0;
    Volume::filled(dims, 0u8, Geometry::axis_aligned(s, origin))
}

/// Fills the voxels within `radius` of the line through `p` along `dir` with `class`.
fn cylinder(m: &mut LabelMap, p: DVec3, dir: DVec3, radius: f64, class: u8) {
    let dir = dir.normalize();
    for n in 0..m.len() {
        let c = m.coords(n);
        let w = m.geometry.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64));
        let d = w - p;
        if (d - dir * d.dot(dir)).length() <= radius {
            m.data_mut()[n] = class;
        }
    }
}

#[test]
fn a_cylinder_near_the_zone_has_its_distance_and_diameter_within_half_a_voxel() {
    for spacing in [[0.7, 0.7, 1.25], [1.0, 0.8, 0.6]] {
        for (radius, gap) in [(2.5, 6.0), (4.0, 3.0), (1.0, 8.0)] {
            let mut m = map([120, 120, 100], spacing);
            // A spherical zone of 30 mm at the origin; a vessel along z whose
            // wall is `gap` mm from the zone's surface.
            let zone = Zone { centre: DVec3::ZERO, axis: DVec3::Z, length_mm: 30.0, width_mm: 30.0 };
            cylinder(&mut m, DVec3::new(15.0 + gap + radius, 0.0, 0.0), DVec3::Z, radius, 1);
            let near = vessels_near(&m, &zone, 20.0, &[1]);
            assert_eq!(near.len(), 1, "{spacing:?}");
            let v = &near[0];
            let half = spacing.iter().cloned().fold(0.0, f64::max) / 2.0;
            assert!((v.distance_mm - gap).abs() <= half, "{spacing:?} r {radius}: distance {} vs {gap}", v.distance_mm);
            assert!(
                (v.diameter_mm - 2.0 * radius).abs() <= half,
                "{spacing:?} r {radius}: diameter {} vs {}",
                v.diameter_mm,
                2.0 * radius
            );
            assert_eq!(v.heat_sink, 2.0 * radius >= 3.0);
        }
    }
}

#[test]
fn margins_are_exact_on_spheres() {
    let m = map([40, 40, 40], [1.0, 1.0, 1.0]);
    for (zone, lesion, margin) in [(30.0, 10.0, 10.0), (20.0, 12.0, 4.0), (20.0, 24.0, -2.0)] {
        let plan = Plan {
            entry: DVec3::new(0.0, -80.0, 0.0),
            target: DVec3::ZERO,
            lesion_centre: DVec3::ZERO,
            lesion_diameter_mm: lesion,
            painted_lesion: None,
            zone_mm: (zone, zone),
            margin_mm: 5.0,
            path_safety_mm: 3.0,
            modality: Modality::Microwave,
        };
        let r = plan.check(&m).unwrap();
        assert!((r.margin_mm - margin).abs() < 1e-9, "{zone}/{lesion}: {}", r.margin_mm);
        assert_eq!(r.covered, margin >= 5.0);
        assert_eq!(r.warnings.is_empty(), margin >= 5.0, "{:?}", r.warnings);
    }
    // A spheroid 30 × 20 along the path: the smallest margin is across it.
    let plan = Plan {
        entry: DVec3::new(0.0, -80.0, 0.0),
        target: DVec3::ZERO,
        lesion_centre: DVec3::ZERO,
        lesion_diameter_mm: 8.0,
        painted_lesion: None,
        zone_mm: (30.0, 20.0),
        margin_mm: 5.0,
        path_safety_mm: 3.0,
        modality: Modality::Microwave,
    };
    let r = plan.check(&m).unwrap();
    assert!((r.margin_mm - 6.0).abs() < 1e-9);
    assert!(r.margin_at_mm[1].abs() < 1e-6, "across the path (y is along it): {:?}", r.margin_at_mm);
    let bad = Plan { target: plan.entry, ..plan.clone() };
    // A lesion off the target: the margin is measured around it.
    let off = Plan { lesion_centre: DVec3::new(3.0, 0.0, 0.0), ..plan.clone() };
    assert!((off.check(&m).unwrap().margin_mm - 3.0).abs() < 1e-9, "10 − 3 − 4 mm across the path");
    assert!(bad.check(&m).is_err());
}

#[test]
fn the_needle_to_vessel_distance_is_right_for_skew_lines() {
    let mut m = map([100, 100, 80], [0.8, 0.8, 1.0]);
    // A vein along x at y = 0, z = 12.3, radius 3; the path along y at x = 5,
    // z = −4: the lines are 16.3 mm apart, the vein's wall 13.3 mm from the path.
    cylinder(&mut m, DVec3::new(0.0, 0.0, 12.3), DVec3::X, 3.0, 2);
    let a = closest_approach(&m, 2, DVec3::new(5.0, -30.0, -4.0), DVec3::new(5.0, 30.0, -4.0)).unwrap();
    assert!((a.distance_mm - 13.3).abs() <= 0.5, "{}", a.distance_mm);
    assert!((a.diameter_mm - 6.0).abs() <= 0.5, "{}", a.diameter_mm);
    // A segment that stops short: the distance is to its end.
    let b = closest_approach(&m, 2, DVec3::new(5.0, -30.0, 30.0), DVec3::new(5.0, -30.0, 20.0)).unwrap();
    let expected = DVec3::new(0.0, -30.0, 20.0 - 12.3).length() - 3.0;
    assert!((b.distance_mm - expected).abs() <= 0.5, "{} vs {expected}", b.distance_mm);
    // Through the vein: negative, and the plan says the path crosses it.
    let plan = Plan {
        entry: DVec3::new(0.0, 0.0, 30.0),
        target: DVec3::new(0.0, 0.0, 0.0),
        lesion_centre: DVec3::new(0.0, 0.0, 0.0),
        lesion_diameter_mm: 10.0,
        painted_lesion: None,
        zone_mm: (30.0, 25.0),
        margin_mm: 5.0,
        path_safety_mm: 3.0,
        modality: Modality::Radiofrequency,
    };
    let r = plan.check(&m).unwrap();
    assert!(r.trajectory.vein.unwrap() < 0.0);
    assert!(r.trajectory.artery.is_none() && r.trajectory.aorta.is_none());
    assert!(r.warnings.iter().any(|w| w.contains("crosses the vein")), "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.contains("heat sink") && w.contains("radiofrequency")), "{:?}", r.warnings);
}
