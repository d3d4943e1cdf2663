//! Resampling: constants and linear ramps survive exactly, labels keep their
//! classes and volumes, world positions are consistent, round trips are close.

use glam::{DMat3, DVec3};
use vasa_scan::labels::class_counts;
use vasa_scan::resample::{
    resample_labels, resample_labels_to_grid, resample_linear, resample_nearest, resample_nearest_to_grid,
    resample_to_grid, resampled_grid,
};
use vasa_scan::{Geometry, Volume};

fn ct_geometry() -> Geometry {
    Geometry::axis_aligned(DVec3::new(0.7, 0.7, 1.0), DVec3::new(-150.0, -120.0, -300.0))
}

fn rotated() -> Geometry {
    let (s, c) = 0.4f64.sin_cos();
    Geometry {
        spacing: DVec3::new(0.9, 1.1, 1.7),
        origin: DVec3::new(10.0, -20.0, 30.0),
        direction: DMat3::from_cols(DVec3::new(c, 0.0, -s), DVec3::Y, DVec3::new(s, 0.0, c)),
    }
}

/// A volume whose voxels are `f(world position of the voxel centre)`.
fn sampled<T: Copy>(dims: [usize; 3], g: Geometry, f: impl Fn(DVec3) -> T) -> Volume<T> {
    let probe = Volume::filled(dims, (), g);
    let data = (0..probe.len()).map(|idx| f(probe.voxel_to_world(probe.coords(idx)))).collect();
    Volume::from_vec(dims, data, g).unwrap()
}

fn ramp(p: DVec3) -> f64 {
    0.37 * p.x - 1.3 * p.y + 2.1 * p.z + 5.0
}

/// True when continuous index `c` lies between the first and last centres of
/// `dims` on every axis (where linear interpolation is exact).
fn between_centres(c: DVec3, dims: [usize; 3]) -> bool {
    (0..3).all(|a| c[a] >= -1e-9 && c[a] <= dims[a] as f64 - 1.0 + 1e-9)
}

#[test]
fn grid_keeps_direction_and_lower_box_edge() {
    for g in [ct_geometry(), rotated()] {
        let dims = [101, 77, 40];
        let (nd, ng) = resampled_grid(dims, &g, DVec3::splat(1.5));
        let extent = DVec3::new(101.0, 77.0, 40.0) * g.spacing;
        for a in 0..3 {
            assert_eq!(nd[a], ((extent[a] / 1.5).round() as usize).max(1));
            assert!(((nd[a] as f64) * 1.5 - extent[a]).abs() <= 0.75 + 1e-9);
        }
        assert_eq!(ng.direction, g.direction);
        assert_eq!(ng.spacing, DVec3::splat(1.5));
        // Both boxes start at the same corner.
        let old_corner = g.voxel_to_world(DVec3::splat(-0.5));
        let new_corner = ng.voxel_to_world(DVec3::splat(-0.5));
        assert!((old_corner - new_corner).length() < 1e-9);
    }
    // A one-voxel axis stays one voxel.
    let (nd, _) = resampled_grid([10, 10, 1], &ct_geometry(), DVec3::splat(5.0));
    assert_eq!(nd, [1, 1, 1]);
}

#[test]
fn constants_are_reproduced_exactly() {
    let v = Volume::filled([64, 50, 30], -731i16, ct_geometry());
    for spacing in [DVec3::splat(1.5), DVec3::new(0.5, 0.35, 0.8)] {
        let r = resample_linear(&v, spacing);
        assert!(r.data().iter().all(|&x| x == -731));
        let f = resample_linear(&v.map(|&x| x as f32), spacing);
        assert!(f.data().iter().all(|&x| x == -731.0));
    }
    let r = resample_to_grid(&v, [20, 20, 20], &rotated(), 0);
    assert!(r.data().iter().all(|&x| x == -731 || x == 0));
}

#[test]
fn linear_ramps_are_reproduced_by_trilinear() {
    for g in [ct_geometry(), rotated()] {
        let dims = [40, 36, 24];
        let v = sampled(dims, g, |p| ramp(p) as f32);
        let r = resample_linear(&v, DVec3::new(1.3, 0.45, 2.2));
        let mut checked = 0;
        for idx in 0..r.len() {
            let w = r.voxel_to_world(r.coords(idx));
            if between_centres(g.world_to_voxel(w), dims) {
                let err = (r.data()[idx] as f64 - ramp(w)).abs();
                assert!(err < 1e-3 * (1.0 + ramp(w).abs()), "at {w:?}: {} vs {}", r.data()[idx], ramp(w));
                checked += 1;
            }
        }
        assert!(checked > r.len() / 2);
    }
}

#[test]
fn oblique_target_grid_samples_the_same_physical_spot() {
    // Source axial, target rotated: the general (non-separable) path.
    let src_dims = [60, 60, 60];
    let src_geometry = Geometry::axis_aligned(DVec3::splat(1.0), DVec3::new(-5.0, -25.0, 0.0));
    let v = sampled(src_dims, src_geometry, |p| ramp(p) as f32);
    let target_dims = [30, 30, 30];
    let r = resample_to_grid(&v, target_dims, &rotated(), f32::NAN);
    let (mut inside, mut outside) = (0, 0);
    for idx in 0..r.len() {
        let w = r.voxel_to_world(r.coords(idx));
        let c = src_geometry.world_to_voxel(w);
        let x = r.data()[idx];
        if between_centres(c, src_dims) {
            assert!((x as f64 - ramp(w)).abs() < 1e-3 * (1.0 + ramp(w).abs()));
            inside += 1;
        } else if (0..3).any(|a| c[a] < -0.51 || c[a] > src_dims[a] as f64 - 0.49) {
            assert!(x.is_nan(), "outside the source box must be the fill value");
            outside += 1;
        }
    }
    assert!(inside > 1000 && outside > 1000, "{inside} inside, {outside} outside");
}

#[test]
fn nearest_copies_the_voxel_whose_box_holds_the_centre() {
    for g in [ct_geometry(), rotated()] {
        let dims = [23, 19, 17];
        // Every voxel stores its own linear index.
        let v = Volume::from_vec(dims, (0..(23 * 19 * 17) as u32).collect(), g).unwrap();
        let r = resample_nearest(&v, DVec3::new(0.61, 2.3, 1.2));
        for idx in 0..r.len() {
            let c = g.world_to_voxel(r.voxel_to_world(r.coords(idx)));
            let [i, j, k] = v.coords(r.data()[idx] as usize);
            let d = c - DVec3::new(i as f64, j as f64, k as f64);
            assert!(d.abs().max_element() <= 0.5 + 1e-6, "centre {c:?} is not in voxel {i},{j},{k}");
        }
        // Same grid: identity.
        let same = resample_nearest_to_grid(&v, dims, &g, 0);
        assert_eq!(same, v);
    }
}

/// Three balls of classes 1, 2, 3 on a 0.7 × 0.7 × 1 mm grid.
fn balls() -> Volume<u8> {
    sampled([120, 110, 80], ct_geometry(), |p| {
        let balls = [
            (DVec3::new(-110.0, -80.0, -260.0), 15.0, 1u8),
            (DVec3::new(-90.0, -85.0, -270.0), 8.0, 2),
            (DVec3::new(-120.0, -95.0, -250.0), 4.0, 3),
        ];
        balls.iter().find(|(c, r, _)| (p - *c).length() <= *r).map_or(0, |b| b.2)
    })
}

#[test]
fn labels_keep_their_classes_and_volumes() {
    let labels = balls();
    let before = class_counts(&labels);
    for spacing in [DVec3::splat(1.5), DVec3::new(0.5, 0.5, 0.5)] {
        let r = resample_labels(&labels, spacing);
        let after = class_counts(&r);
        for class in 0..4 {
            let ml_before = before[class] as f64 * labels.voxel_volume_ml();
            let ml_after = after[class] as f64 * r.voxel_volume_ml();
            let tolerance = if class == 3 { 0.15 } else { 0.04 };
            assert!(
                (ml_after - ml_before).abs() <= tolerance * ml_before,
                "class {class} at {spacing:?}: {ml_before} mL before, {ml_after} mL after"
            );
        }
        assert!(after[4..].iter().all(|&n| n == 0), "no new classes");
        // Back onto the original grid: classes in place.
        let back = resample_labels_to_grid(&r, labels.dims(), &labels.geometry);
        assert!(back.same_grid(&labels));
        let agree = back.data().iter().zip(labels.data()).filter(|(a, b)| a == b).count();
        assert!(agree as f64 >= 0.99 * labels.len() as f64);
    }
}

#[test]
fn down_then_up_round_trip_is_close() {
    // A smooth image: a broad Gaussian blob on a gentle slope, in HU.
    let g = ct_geometry();
    let dims = [100, 90, 60];
    let centre = g.voxel_to_world(DVec3::new(50.0, 45.0, 30.0));
    let f = |p: DVec3| -> f64 { 400.0 * (-(p - centre).length_squared() / (2.0 * 15.0f64.powi(2))).exp() + 0.5 * p.x };
    let v = sampled(dims, g, |p| f(p).round() as i16);
    let down = resample_linear(&v, DVec3::splat(1.5));
    let up = resample_to_grid(&down, dims, &g, i16::MIN);
    assert!(up.same_grid(&v));
    let mut worst = 0i32;
    for idx in 0..v.len() {
        let [i, j, k] = v.coords(idx);
        // Away from the faces, where edge replication applies.
        if (0..3).all(|a| [i, j, k][a] >= 2 && [i, j, k][a] + 2 < dims[a]) {
            worst = worst.max((up.data()[idx] as i32 - v.data()[idx] as i32).abs());
        }
    }
    assert!(worst <= 8, "worst round-trip error {worst} HU of a 400 HU blob");
    // Nothing of the original grid lies outside the resampled box.
    assert!(up.data().iter().all(|&x| x != i16::MIN));
}

#[test]
fn integer_results_are_rounded_and_saturated() {
    let g = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
    let v = Volume::from_vec([2, 1, 1], vec![0i16, 1], g).unwrap();
    // Sample at continuous index 0.5 exactly: 0.5 rounds away from zero.
    let target = Geometry::axis_aligned(DVec3::ONE, DVec3::new(0.5, 0.0, 0.0));
    assert_eq!(resample_to_grid(&v, [1, 1, 1], &target, 0).data(), &[1]);
    let big = Volume::from_vec([2, 1, 1], vec![32767i16, 32767], g).unwrap();
    assert_eq!(resample_to_grid(&big, [1, 1, 1], &target, 0).data(), &[32767]);
}

#[test]
fn separable_and_general_paths_agree() {
    // A tilt of 1e-7 rad is far below anything visible but sends the target
    // grid through the per-voxel (non-separable) path.
    let g = ct_geometry();
    let dims = [50, 40, 30];
    let v = sampled(dims, g, |p| ((p.x * 0.1).sin() * 300.0 + (p.y * 0.07).cos() * 200.0 + p.z) as f32);
    let (target_dims, aligned) = resampled_grid(dims, &g, DVec3::new(1.1, 0.9, 1.7));
    let mut tilted = aligned;
    tilted.direction = DMat3::from_rotation_z(1e-7) * aligned.direction;
    let a = resample_to_grid(&v, target_dims, &aligned, f32::NAN);
    let b = resample_to_grid(&v, target_dims, &tilted, f32::NAN);
    for (x, y) in a.data().iter().zip(b.data()) {
        assert!(x.is_finite() && (x - y).abs() < 0.05, "{x} vs {y}");
    }
}
