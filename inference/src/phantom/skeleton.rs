//! The skeleton of the chest (body frame, mm): the spine from C7 to L2 with
//! kyphosis, vertebral bodies and posterior arches, the spinal canal; twelve
//! pairs of ribs hugging the cavity wall with their costal cartilage; the
//! sternum; scapulae and clavicles.
//!
//! Every bone is a cortical shell around marrow ([`Builder::bone`]); pieces
//! of one bone are unions of primitives, which works because all cortex is
//! painted before all marrow. Per-seed variation (kyphosis, rib slope,
//! sternum length, bone sizes) is drawn from a stream forked off the
//! builder's, so that the rest of the anatomy keeps its random draws.

mod ribs;
mod shoulder;
mod spine;
mod sternum;

use glam::{DMat3, DVec3};

use super::anatomy::{Builder, frame};
use super::body::Body;
use super::shapes::Shape;

// For the body wall, which seats the humeral heads on the glenoids.
#[allow(unused_imports)]
pub use shoulder::{glenoid, glenoid_normal};

/// Tag of the skeleton's own random stream.
const FORK: u64 = 0x5E7E_7011;

/// Spine, ribs, sternum, scapulae, clavicles.
pub(super) fn skeleton(b: &mut Builder) {
    // One draw from the shared stream, as before, so that the mediastinum and
    // lungs of every seed keep their random numbers.
    let pitch = b.rng.range(22.0, 25.0);
    let mut r = b.rng.fork(FORK);
    let spine = spine::layout(b.body, b.s, pitch, &mut r);
    spine::paint(b, &spine);
    let st = sternum::layout(b.body, b.s, &spine, &mut r);
    sternum::paint(b, &st);
    ribs::paint(b, &spine, &st, &mut r);
    shoulder::paint(b, &st, &mut r);
}

/// A rounded box from `a` to `b` (its long axis), `half_w` wide toward `up`
/// and `half_t` thick across both, with edges rounded by `round`.
pub(super) fn bar(a: DVec3, b: DVec3, half_w: f64, half_t: f64, up: DVec3, round: f64) -> Shape {
    let inv: DMat3 = frame(b - a, up);
    let len = (b - a).length();
    Shape::RoundBox {
        c: (a + b) * 0.5,
        inv,
        half: DVec3::new(len * 0.5 + round, half_w, half_t),
        round: round.min(half_w).min(half_t),
    }
}

/// Point on the cavity wall pushed `off` mm outward: `phi` is the angle
/// round the cavity from the posterior midline (0) over the side (π/2) to the
/// anterior midline (π); `side` −1 right, +1 left.
pub(super) fn wall(body: &Body, side: f64, phi: f64, z: f64, off: f64) -> DVec3 {
    let (cy, ca, cb) = body.cavity;
    let f = body.cavity_factor(z).max(0.25);
    DVec3::new(side * (ca * f + off) * libm::sin(phi), cy + (cb * f + off) * libm::cos(phi), z)
}

/// Outward unit normal of the cavity wall (horizontal) at the height of `p`.
pub(super) fn wall_normal(body: &Body, p: DVec3) -> DVec3 {
    let (cy, ca, cb) = body.cavity;
    let f = body.cavity_factor(p.z).max(0.25);
    let (a, bb) = (ca * f, cb * f);
    DVec3::new(p.x / (a * a), (p.y - cy) / (bb * bb), 0.0).normalize_or(DVec3::Y)
}

/// Angle `phi` (see [`wall`]) at which the wall at height `z`, pushed out by
/// `off`, reaches the lateral distance `x` (mm, ≥ 0).
pub(super) fn phi_at_x(body: &Body, x: f64, z: f64, off: f64, anterior: bool) -> f64 {
    let f = body.cavity_factor(z).max(0.25);
    let s = (x / (body.cavity.1 * f + off)).clamp(0.0, 0.995);
    let p = libm::asin(s);
    if anterior { std::f64::consts::PI - p } else { p }
}

/// Catmull–Rom point between `p1` and `p2` at `t` in [0, 1].
pub(super) fn catmull(p0: DVec3, p1: DVec3, p2: DVec3, p3: DVec3, t: f64) -> DVec3 {
    let t2 = t * t;
    let t3 = t2 * t;
    (p1 * 2.0 + (p2 - p0) * t + (p0 * 2.0 - p1 * 5.0 + p2 * 4.0 - p3) * t2 + (p1 * 3.0 - p0 - p2 * 3.0 + p3) * t3) * 0.5
}
