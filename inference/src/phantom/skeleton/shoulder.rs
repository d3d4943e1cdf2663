//! The shoulder girdle: scapulae (a thin triangular blade curving with the
//! posterolateral chest wall outside the ribs, thick lateral border, spine
//! and acromion, glenoid facing the humeral head, coracoid hooking forward)
//! and S-shaped clavicles from the manubrium to the acromion.
//!
//! Contract with the body wall (which paints the humeral heads): the head of
//! radius r sits at `glenoid(body, side) + glenoid_normal(body, side) * (r + 3)`.
//! Both depend on the [`Body`]'s cavity, apex and scale alone (not on the
//! arms), so either side can call them at any time. With the arms raised
//! (`body.wall.arms_up`) the blade turns upward about the glenoid, which
//! stays put.

use glam::DVec3;

use super::super::anatomy::Builder;
use super::super::body::Body;
use super::super::intensity::Tissue;
use super::super::rng::Rng;
use super::super::shapes::Shape;
use super::super::structure::Structure;
use super::sternum::Sternum;
use super::{bar, catmull};

/// Centre of the glenoid's articular surface (body frame, mm); `side` −1
/// for the patient's right, +1 for the left. Lateral to the upper ribs, a
/// little behind the spinal canal's level, near the lung apices.
pub fn glenoid(body: &Body, side: f64) -> DVec3 {
    let (cy, ca, cb) = body.cavity;
    DVec3::new(side * 0.92 * ca, cy + 0.55 * cb, body.apex_z - 12.0 * body.scale)
}

/// Unit normal of the glenoid surface, toward the humeral head: lateral and
/// about 20° forward (the scapular plane faces anterolaterally).
pub fn glenoid_normal(_body: &Body, side: f64) -> DVec3 {
    DVec3::new(side * 0.94, -0.34, 0.0).normalize()
}

/// Point on the posterior chest wall (the ribs' outer surface plus `gap`)
/// at lateral distance `x` and height `z`; the apical dome is ignored so
/// that the scapula rests on the upper ribs' posterior arcs.
fn back(body: &Body, side: f64, x: f64, z: f64, gap: f64) -> DVec3 {
    let (cy, ca, cb) = body.cavity;
    let f = body.cavity_factor(z).max(0.9);
    let (a, bb) = (ca * f + 8.0 + gap, cb * f + 8.0 + gap);
    let u = (x / a).clamp(-0.97, 0.97);
    DVec3::new(side * x, cy + bb * (1.0 - u * u).sqrt(), z)
}

/// Paints both scapulae and clavicles.
pub(in super::super) fn paint(b: &mut Builder, st: &Sternum, r: &mut Rng) {
    let s = b.s;
    let body = b.body;
    for side in [-1.0f64, 1.0] {
        let g = glenoid(body, side);
        let nrm = glenoid_normal(body, side);
        let x_med = r.range(52.0, 64.0) * s;
        let height = r.range(150.0, 172.0) * s;
        let gap = r.range(7.0, 11.0);
        let sa = back(body, side, x_med, g.z + 4.0 * s, gap);
        let z_ia = g.z - height;
        let ia = back(body, side, 0.8 * body.cavity.1 * body.cavity_factor(z_ia) + r.sym(6.0), z_ia, gap + 3.0);
        let neck = g - nrm * 14.0 + DVec3::new(0.0, 6.0, -6.0);
        // The lateral border bulges out over the ribs' widest part.
        let z_lm = g.z - 0.45 * height;
        let lm = back(body, side, body.cavity.1 * body.cavity_factor(z_lm) + 10.0, z_lm, gap + 6.0);
        b.part = Structure::Scapula;
        // Raised arms rotate the scapula upward about the glenoid: the
        // inferior angle swings out, the medial border tilts down.
        let turn = if body.wall.arms_up { 20f64.to_radians() } else { 0.0 };
        let (st_, ct_) = (libm::sin(turn), libm::cos(turn));
        let pivot = (neck.x.abs(), g.z);
        let put = |x: f64, z: f64, gap: f64| {
            let (dx, dz) = (x - pivot.0, z - pivot.1);
            back(body, side, pivot.0 + dx * ct_ - dz * st_, pivot.1 + dx * st_ + dz * ct_, gap)
        };
        let (sa_p, ia_p, lm_p) =
            (put(x_med, sa.z, gap), put(ia.x.abs(), ia.z, gap + 3.0), put(lm.x.abs(), lm.z, gap + 6.0));

        // Blade: horizontal strips from the medial to the lateral border, each
        // a few flat plates bent over the chest wall, further out laterally.
        let strips = 14;
        let plates = 4;
        let outward = |p: DVec3| (p - DVec3::new(0.0, body.cavity.0, p.z)).normalize();
        let lateral_x = |z: f64| {
            let lerp =
                |a: DVec3, b: DVec3| a.x.abs() + (b.x.abs() - a.x.abs()) * ((z - a.z) / (b.z - a.z)).clamp(0.0, 1.0);
            if z < lm.z {
                lerp(ia, lm)
            } else if z < neck.z {
                lerp(lm, neck)
            } else {
                lerp(neck, sa)
            }
        };
        for i in 0..strips {
            let z0 = ia.z + (sa.z - ia.z) * i as f64 / strips as f64;
            let z1 = ia.z + (sa.z - ia.z) * (i + 1) as f64 / strips as f64;
            let z = 0.5 * (z0 + z1);
            let xm = x_med + (ia.x.abs() - x_med) * ((z - sa.z) / (ia.z - sa.z));
            let xl = lateral_x(z);
            if xl - xm < 4.0 {
                continue;
            }
            let pts: Vec<DVec3> = (0..=plates)
                .map(|k| {
                    let t = k as f64 / plates as f64;
                    put(xm + (xl - xm) * t, z, gap + 6.0 * t)
                })
                .collect();
            for w in pts.windows(2) {
                let up = (w[1] - w[0]).cross(outward(0.5 * (w[0] + w[1]))).normalize_or(DVec3::Z);
                b.add(bar(w[0], w[1], 0.5 * (z1 - z0) + 1.2, 1.2, up, 1.1), Tissue::Cortex, 0);
            }
        }
        // Borders: thin medial, thick lateral (axillary) border, the neck.
        b.add(Shape::Tube { a: sa_p, b: ia_p, ra: 2.4, rb: 3.0 }, Tissue::Cortex, 0);
        b.bone(Shape::Tube { a: ia_p, b: lm_p, ra: 3.6 * s, rb: 4.6 * s }, 1.2);
        b.bone(Shape::Tube { a: lm_p, b: neck, ra: 4.6 * s, rb: 5.5 * s }, 1.2);
        b.bone(Shape::Tube { a: neck, b: g - nrm * 5.0, ra: 8.0 * s, rb: 9.0 * s }, 1.4);
        // Glenoid: a shallow pear-shaped disc facing the humeral head.
        let inv = super::super::anatomy::frame(nrm, DVec3::Z);
        b.bone(Shape::Ellipsoid { c: g - nrm * 5.5, inv, r: DVec3::new(6.0, 17.0, 12.0) * s }, 1.4);
        // Spine of the scapula: a ridge on the back of the blade from the
        // medial border up to the acromion, which arches over the joint.
        let root = put(x_med + (ia.x.abs() - x_med) * 0.22, sa.z + (ia.z - sa.z) * 0.22, gap);
        let ab = g + DVec3::new(-side * 10.0, 26.0, 18.0) * s;
        let out_root = outward(root) * 6.0;
        b.bone(bar(root + out_root, ab, 6.5 * s, 3.0 * s, outward(ab), 2.5), 1.0);
        let tip = g + DVec3::new(side * 16.0, -26.0, 26.0) * s;
        let flat = (tip - ab).cross(DVec3::Z).normalize_or(DVec3::X);
        b.bone(bar(ab, tip, 11.0 * s, 3.8 * s, flat, 3.0), 1.2);
        // Coracoid: up from the glenoid neck, then forward and out.
        let c0 = g + DVec3::new(-side * 9.0, -2.0, 16.0) * s;
        let c1 = c0 + DVec3::new(side * 2.0, -22.0, 6.0) * s;
        let c2 = c1 + DVec3::new(side * 12.0, -9.0, -8.0) * s;
        b.bone(Shape::Tube { a: g - nrm * 8.0 + DVec3::Z * 8.0, b: c0, ra: 5.0 * s, rb: 5.5 * s }, 1.2);
        b.bone(Shape::Tube { a: c0, b: c1, ra: 5.5 * s, rb: 4.8 * s }, 1.2);
        b.bone(Shape::Tube { a: c1, b: c2, ra: 4.8 * s, rb: 4.2 * s }, 1.2);

        // Clavicle: from the manubrium's notch to the acromion, S-shaped
        // (convex forward medially, concave forward laterally).
        b.part = Structure::Clavicle;
        let m0 = DVec3::new(side * (st.half_top - 5.0 * s), st.y(st.z_top) - 3.0, st.z_top + 7.0 * s);
        let ac = tip + DVec3::new(-side * 8.0, -4.0, 1.0) * s;
        let d = ac - m0;
        let p1 = m0 + DVec3::new(d.x * 0.33, d.y * 0.15 - 10.0 * s, d.z * 0.3);
        let p2 = m0 + DVec3::new(d.x * 0.7, d.y * 0.65 + 6.0 * s, d.z * 0.75);
        let ctrl = [m0 - (p1 - m0), m0, p1, p2, ac, ac + (ac - p2)];
        let radius = |u: f64| (9.0 - 11.0 * u + 13.0 * u * u - 4.0 * u * u * u).max(5.0) * s;
        let mut prev = m0;
        let n = 14;
        for i in 1..=n {
            let u = i as f64 / n as f64;
            let seg = ((u * 3.0).floor() as usize).min(2);
            let t = u * 3.0 - seg as f64;
            let p = catmull(ctrl[seg], ctrl[seg + 1], ctrl[seg + 2], ctrl[seg + 3], t);
            let u0 = (i - 1) as f64 / n as f64;
            b.bone(Shape::Tube { a: prev, b: p, ra: radius(u0), rb: radius(u) }, 1.5);
            prev = p;
        }
    }
}
