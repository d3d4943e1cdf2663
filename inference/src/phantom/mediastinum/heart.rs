//! The heart: four chambers, each a blood ellipsoid inside its own wall
//! (left ventricle ~10 mm, right ventricle ~4 mm, atria ~2 mm), wrapped in
//! pericardial fat that also fills the atrioventricular and interventricular
//! grooves; the right-ventricular outflow tract up to the pulmonary valve,
//! the left-ventricular outflow tract up to the aortic valve; and the ostia
//! of the pulmonary veins on the left atrium.
//!
//! Real layout (body frame: x left, y posterior, z up, carina at 0): the
//! right ventricle is the most anterior chamber, behind the sternum; the
//! right atrium is right-anterior; the left ventricle left-posterior with the
//! apex pointing left, forward and down; the left atrium the most posterior
//! chamber, below the carina, in front of the oesophagus and the descending
//! aorta.

use glam::{DMat3, DVec3};

use super::super::HEART;
use super::super::anatomy::{Builder, frame};
use super::super::intensity::Tissue;
use super::super::shapes::{Shape, rotation_xyz};
use super::super::structure::Structure;
use super::VeinOstium;
use vasa_scan::labels::VEIN;

/// What the rest of the mediastinum attaches to.
pub(super) struct Heart {
    /// Left atrium blood ellipsoid.
    pub la: Shape,
    /// Pulmonary valve: where the pulmonary trunk starts.
    pub pv_valve: DVec3,
    /// Aortic valve: where the aortic root starts.
    pub ao_valve: DVec3,
    /// Top and bottom of the right atrium, where the caval veins enter.
    pub ra_top: DVec3,
    /// Bottom of the right atrium.
    pub ra_bottom: DVec3,
    /// Pulmonary vein ostia on the left atrium.
    pub vein_ostia: Vec<VeinOstium>,
}

/// Centre of the reference heart, which the per-seed heart is scaled about.
const REF: DVec3 = DVec3::new(12.0, -18.0, -92.0);

/// One chamber: blood ellipsoid, wall thickness, tissue, label, structure.
fn chamber(b: &mut Builder, blood: Shape, wall: f64, tissue: Tissue, label: u8, part: Structure) -> Shape {
    let outer = blood.offset(wall);
    b.part = Structure::Myocardium;
    b.add(outer, Tissue::Myocardium, HEART);
    b.part = part;
    b.add(blood, tissue, label);
    b.blockers.push(outer.offset(5.0));
    outer
}

#[allow(clippy::too_many_lines)]
pub(super) fn heart(b: &mut Builder) -> Heart {
    let s = b.s;
    let hs = b.rng.range(0.88, 1.02) * s;
    let origin = b.jitter(REF * s, 4.0);
    let rel = |v: DVec3| origin + (v - REF) * hs;

    // Pericardial fat: an envelope around the chambers (it shows in the
    // grooves between them) plus a layer over each chamber.
    let fat = b.rng.range(3.0, 8.0);
    let env_inv = frame(DVec3::new(0.78, -0.42, -0.46), DVec3::Z);
    let envelope =
        Shape::Ellipsoid { c: rel(DVec3::new(14.0, -14.0, -88.0)), inv: env_inv, r: DVec3::new(54.0, 40.0, 34.0) * hs };
    b.part = Structure::PericardialFat;
    b.add(envelope, Tissue::Fat, 0);
    b.blockers.push(envelope.offset(4.0));

    // Left ventricle: long axis to the apex, left-anterior-inferior.
    let lv_axis = b.jitter(DVec3::new(0.7, -0.45, -0.55), 0.06).normalize();
    let lv_size = b.rng.range(0.92, 1.08);
    let lv = Shape::Ellipsoid {
        c: rel(DVec3::new(42.0, -20.0, -92.0)),
        inv: frame(lv_axis, DVec3::Z),
        r: DVec3::new(38.0, 21.0, 21.0) * hs * lv_size,
    };
    let lv_wall = b.rng.range(9.0, 12.0);
    // Right ventricle: anterior, right of the left ventricle, behind the sternum.
    let rv = Shape::Ellipsoid {
        c: rel(DVec3::new(11.0, -43.0, -97.0)),
        inv: frame(DVec3::new(0.9, -0.22, -0.37), DVec3::Z),
        r: DVec3::new(38.0, 25.0, 13.5) * hs,
    };
    let rv_wall = b.rng.range(3.0, 4.5);
    // Right atrium: right-anterior; left atrium: most posterior, below the carina.
    let ra = Shape::Ellipsoid {
        c: rel(DVec3::new(-29.0, -12.0, -82.0)),
        inv: rotation_xyz(0.0, 0.0, 0.3).transpose(),
        r: DVec3::new(23.0, 22.0, 28.0) * hs,
    };
    let la_c = b.jitter(DVec3::new(6.0, 16.0, -62.0) * s, 2.0);
    let la_r = DVec3::new(b.rng.range(27.0, 33.0), b.rng.range(13.5, 16.5), b.rng.range(17.0, 21.0)) * hs;
    let la = Shape::Ellipsoid { c: la_c, inv: DMat3::IDENTITY, r: la_r };
    for (pat, shape) in
        [(Structure::PericardialFat, lv.offset(lv_wall + fat)), (Structure::PericardialFat, rv.offset(rv_wall + fat))]
    {
        b.part = pat;
        b.add(shape, Tissue::Fat, 0);
    }
    chamber(b, lv, lv_wall, Tissue::LeftVentricleBlood, HEART, Structure::LeftVentricle);
    chamber(b, rv, rv_wall, Tissue::RightHeartBlood, HEART, Structure::RightVentricle);
    chamber(b, ra, 2.0, Tissue::RightHeartBlood, HEART, Structure::RightAtrium);
    chamber(b, la, 2.0, Tissue::LeftAtriumBlood, VEIN, Structure::LeftAtrium);

    // Atrial appendages: the right one forward and up along the ascending
    // aorta, the left one forward and left beside the pulmonary trunk.
    let raa = (centre(&ra), rel(DVec3::new(-16.0, -44.0, -62.0)));
    let laa = (la_c + DVec3::new(la_r.x * 0.6, -la_r.y * 0.4, la_r.z * 0.2), rel(DVec3::new(32.0, -14.0, -56.0)));
    for ((a, e), r0, r1, tissue, label, part) in [
        (raa, 11.0, 6.0, Tissue::RightHeartBlood, HEART, Structure::RightAtrium),
        (laa, 6.0, 3.5, Tissue::LeftAtriumBlood, VEIN, Structure::LeftAtrium),
    ] {
        b.part = Structure::Myocardium;
        b.tube(a, e, r0 * hs + 1.5, r1 * hs + 1.5, Tissue::Myocardium, HEART, false);
        b.part = part;
        b.tube(a, e, r0 * hs, r1 * hs, tissue, label, false);
        b.blockers.push(Shape::Tube { a, b: e, ra: r0 * hs + 5.0, rb: r1 * hs + 5.0 });
    }

    // Outflow tracts: right ventricle up and left to the pulmonary valve,
    // left ventricle up and right to the aortic valve.
    let pv_valve = b.jitter(rel(DVec3::new(20.0, -54.0, -62.0)), 1.5);
    let rvot_a = rel(DVec3::new(10.0, -48.0, -90.0));
    b.part = Structure::Myocardium;
    b.tube(rvot_a, pv_valve, 15.0 * hs, 14.0 * hs, Tissue::Myocardium, HEART, false);
    b.part = Structure::RightVentricle;
    b.tube(rvot_a, pv_valve, 12.0 * hs, 11.0 * hs, Tissue::RightHeartBlood, HEART, false);
    b.blockers.push(Shape::Tube { a: rvot_a, b: pv_valve, ra: 18.0 * hs, rb: 17.0 * hs });
    let ao_valve = rel(DVec3::new(-1.0, -26.0, -58.0));
    let lvot_a = rel(DVec3::new(26.0, -22.0, -80.0));
    b.part = Structure::Myocardium;
    b.tube(lvot_a, ao_valve, 13.0 * hs, 12.0 * hs, Tissue::Myocardium, HEART, false);
    b.part = Structure::LeftVentricle;
    b.tube(lvot_a, ao_valve, 10.0 * hs, 10.0 * hs, Tissue::LeftVentricleBlood, HEART, false);

    let vein_ostia = ostia(b, la_c, la_r);
    Heart {
        la,
        pv_valve,
        ao_valve,
        ra_top: rel(DVec3::new(-31.0, -16.0, -58.0)),
        ra_bottom: rel(DVec3::new(-28.0, -6.0, -106.0)),
        vein_ostia,
    }
}

/// Centre of an ellipsoid.
fn centre(s: &Shape) -> DVec3 {
    match *s {
        Shape::Ellipsoid { c, .. } => c,
        _ => DVec3::ZERO,
    }
}

/// Pulmonary vein ostia on the left atrium: usually a superior and an
/// inferior vein per side; a separate right middle lobe vein (three on the
/// right) in about 15 % of seeds, a common left trunk (one on the left) in
/// about 20 %. Each ostium lies 3 mm inside the atrial wall, with the
/// outward direction towards its hilum and a radius of 5–7.5 mm (10–15 mm
/// veins; a common trunk 8–9 mm).
fn ostia(b: &mut Builder, la_c: DVec3, la_r: DVec3) -> Vec<VeinOstium> {
    let right_three = b.rng.unit() < 0.15;
    let left_one = b.rng.unit() < 0.2;
    // (side, upper, direction from the atrial centre, radius)
    let mut want: Vec<(usize, bool, DVec3, f64)> = Vec::new();
    want.push((0, true, DVec3::new(-1.0, -0.25, 0.5), b.rng.range(5.5, 7.5)));
    if right_three {
        want.push((0, false, DVec3::new(-1.0, -0.45, -0.05), b.rng.range(4.0, 5.0)));
    }
    want.push((0, false, DVec3::new(-1.0, 0.2, -0.45), b.rng.range(5.0, 7.0)));
    if left_one {
        want.push((1, true, DVec3::new(1.0, 0.05, 0.05), b.rng.range(8.0, 9.0)));
    } else {
        want.push((1, true, DVec3::new(1.0, -0.2, 0.5), b.rng.range(5.0, 7.0)));
        want.push((1, false, DVec3::new(1.0, 0.25, -0.45), b.rng.range(5.0, 6.5)));
    }
    want.into_iter()
        .map(|(side, upper, u, r)| {
            let u = b.jitter(u, 0.08).normalize();
            // Where the ray from the centre leaves the ellipsoid.
            let t = 1.0 / ((u / la_r).length());
            let surface = la_c + u * t;
            let dir = b.jitter(u + DVec3::new(0.0, 0.1, 0.0), 0.05).normalize();
            VeinOstium { side, upper, at: surface - u * 3.0, dir, radius: (r * b.s).clamp(4.0, 9.0) }
        })
        .collect()
}
