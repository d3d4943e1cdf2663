//! The thorax as analytic shapes in the body frame: skin, subcutaneous fat,
//! chest-wall muscle, the thoracic cavity with its lung apices, the two
//! diaphragm domes and the abdomen below them, plus the lung parenchyma
//! texture. These are evaluated per voxel (they cover most of the image);
//! everything else is a list of primitives.
//!
//! The body frame is patient LPS (mm) centred on the carina before the
//! per-seed rotation and shift: x to the patient's left, y posterior, z
//! superior.

use glam::{DMat3, DVec3};

use super::abdomen::Organs;
use super::bodywall::Wall;
use super::rng::Rng;

/// Signed distance to an axis-aligned ellipse with semi-axes `a`, `b`
/// (first-order accurate near the curve).
#[inline]
pub fn ellipse_distance(x: f64, y: f64, a: f64, b: f64) -> f64 {
    let (qa, qb) = (x / a, y / b);
    let k0 = (qa * qa + qb * qb).sqrt();
    let (ra, rb) = (x / (a * a), y / (b * b));
    let k1 = (ra * ra + rb * rb).sqrt();
    if k1 < 1e-12 { -a.min(b) } else { k0 * (k0 - 1.0) / k1 }
}

/// Radius (mm) of a diaphragm dome's flat top.
const DOME_FLAT_MM: f64 = 45.0;

/// The per-seed shape of the thorax.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// Overall size factor applied to the anatomy (0.9–1.08).
    pub scale: f64,
    /// Body → patient rotation.
    pub rot: DMat3,
    /// Patient → body rotation (transpose of `rot`).
    pub rot_inv: DMat3,
    /// Patient position of the body-frame origin (the carina).
    pub shift: DVec3,
    /// Rough body outline as an ellipse (centre y, semi-axes x, y); the real
    /// outline is [`Body::outline_distance`].
    pub outline: (f64, f64, f64),
    /// Skin thickness (mm).
    pub skin: f64,
    /// Subcutaneous fat thickness (mm), anterior/lateral.
    pub fat: f64,
    /// Thoracic cavity (inside the ribs): centre y and semi-axes (x, y) at its widest.
    pub cavity: (f64, f64, f64),
    /// Height of the lung apices (body z, mm).
    pub apex_z: f64,
    /// Height where the apical dome starts narrowing.
    pub shoulder_z: f64,
    /// How much wider the cavity gets toward the bottom (fraction).
    pub widen: f64,
    /// Right and left diaphragm dome peaks and the central tendon under the
    /// heart (x, y, z).
    pub domes: [DVec3; 3],
    /// Curvature of the domes (mm of drop per mm² of distance).
    pub dome_k: f64,
    /// Liver's left edge (body x, mm).
    pub liver_x: f64,
    /// The body wall: torso outline, fat, muscles, arms, table.
    pub wall: Wall,
    /// Liver, stomach and spleen under the domes.
    pub organs: Organs,
}

impl Body {
    /// Draws a thorax.
    pub fn draw(rng: &mut Rng) -> Body {
        let s = rng.range(0.92, 1.07);
        let deg = std::f64::consts::PI / 180.0;
        let rot = super::shapes::rotation_xyz(rng.sym(3.0 * deg), rng.sym(3.0 * deg), rng.sym(5.0 * deg));
        let shift = DVec3::new(rng.sym(8.0), rng.sym(8.0), rng.sym(10.0));
        let cavity = (12.0 * s, rng.range(110.0, 124.0) * s, rng.range(76.0, 88.0) * s);
        let skin = rng.range(1.5, 2.5);
        let fat = rng.range(6.0, 22.0);
        let wall_lat = rng.range(10.0, 16.0);
        let ax = (cavity.1 + wall_lat + fat + skin).min(170.0);
        let by = cavity.2 + rng.range(22.0, 30.0) + fat * 0.8 + skin;
        let outline = (cavity.0 + rng.range(4.0, 10.0), ax, by);
        let apex_z = rng.range(88.0, 102.0) * s;
        let dome_r = DVec3::new(-62.0 * s, 5.0, -rng.range(108.0, 128.0) * s);
        let dome_l = DVec3::new(66.0 * s, 10.0, dome_r.z - rng.range(8.0, 22.0) * s);
        let mut body = Body {
            scale: s,
            rot,
            rot_inv: rot.transpose(),
            shift,
            outline,
            skin,
            fat,
            cavity,
            apex_z,
            shoulder_z: apex_z - rng.range(55.0, 70.0) * s,
            widen: rng.range(0.05, 0.14),
            domes: [dome_r, dome_l, DVec3::new(0.0, -10.0, 0.5 * (dome_r.z + dome_l.z) - 15.0 * s)],
            dome_k: rng.range(0.013, 0.019) / s,
            liver_x: rng.range(10.0, 30.0) * s,
            wall: Wall::empty(),
            organs: Organs::empty(),
        };
        // The wall and organs draw from their own stream, so that the draws
        // above keep their values.
        let mut r = rng.fork(10);
        body.wall = Wall::draw(&body, &mut r);
        body.organs = Organs::draw(&body, &mut r);
        body.skin = body.wall.skin;
        body.fat = body.wall.fat;
        body.outline = (body.wall.yc, body.wall.half_width(), body.outline.2);
        body
    }

    /// Body-frame point → patient LPS.
    #[inline]
    pub fn to_patient(&self, b: DVec3) -> DVec3 {
        self.rot * b + self.shift
    }

    /// Patient LPS → body-frame point.
    #[inline]
    pub fn to_body(&self, p: DVec3) -> DVec3 {
        self.rot_inv * (p - self.shift)
    }

    /// Signed distance to the torso's skin surface (arms excluded), for
    /// parts placed relative to the skin.
    #[allow(dead_code)]
    #[inline]
    pub fn outline_distance(&self, b: DVec3) -> f64 {
        self.wall.outline_distance(b)
    }

    /// Height of the diaphragm (the highest dome) above body (x, y).
    #[inline]
    pub fn dome_z(&self, x: f64, y: f64) -> f64 {
        self.domes.iter().map(|d| d.z - self.dome_drop(x - d.x, y - d.y).0).fold(f64::MIN, f64::max)
    }

    /// How far (mm) a diaphragm dome has fallen at offset (`dx`, `dy`) from
    /// its peak, and the drop's gradient: flat on top (a slice just under the
    /// peak already cuts a broad dome, as real CT shows the liver filling the
    /// right lung base), steep toward the costophrenic recesses.
    #[inline]
    pub fn dome_drop(&self, dx: f64, dy: f64) -> (f64, f64, f64) {
        let q = dx * dx + 0.45 * dy * dy;
        let r2 = DOME_FLAT_MM * DOME_FLAT_MM;
        let f = q / (q + r2);
        let slope = self.dome_k * f * (1.0 + r2 / (q + r2));
        (self.dome_k * q * f, slope * 2.0 * dx, slope * 0.9 * dy)
    }

    /// Signed distance to the cavity wall (ribs' inner surface), apex dome included.
    #[inline]
    pub fn cavity_distance(&self, b: DVec3) -> f64 {
        let (yc, a, bb) = self.cavity;
        let f = self.cavity_factor(b.z);
        if f < 1e-3 {
            let q = (b.x * b.x + (b.y - yc) * (b.y - yc)).sqrt();
            return q.max(b.z - self.apex_z);
        }
        ellipse_distance(b.x, b.y - yc, a * f, bb * f).max(b.z - self.apex_z)
    }

    /// Cross-section scale of the cavity at height z (0 above the apex).
    #[inline]
    pub fn cavity_factor(&self, z: f64) -> f64 {
        if z > self.shoulder_z {
            let u = ((z - self.shoulder_z) / (self.apex_z - self.shoulder_z)).min(1.0);
            (1.0 - u * u).max(0.0).sqrt()
        } else {
            1.0 + self.widen * ((self.shoulder_z - z) / 200.0).min(1.0)
        }
    }

    /// Signed distance to the diaphragm surface, positive above it (lung side).
    #[inline]
    pub fn above_diaphragm(&self, b: DVec3) -> f64 {
        // Gradient of the active dome, for a first-order distance.
        let mut best = (f64::MIN, 0.0, 0.0);
        for d in &self.domes {
            let (drop, gx, gy) = self.dome_drop(b.x - d.x, b.y - d.y);
            let z = d.z - drop;
            if z > best.0 {
                best = (z, gx, gy);
            }
        }
        (b.z - best.0) / (1.0 + best.1 * best.1 + best.2 * best.2).sqrt()
    }

    /// Signed distance to the lungs as the body shapes alone define them
    /// (cavity above the diaphragm); the mediastinum is carved out by primitives.
    #[inline]
    pub fn lung_distance(&self, b: DVec3) -> f64 {
        self.cavity_distance(b).max(-self.above_diaphragm(b))
    }
}

/// Smooth 3-D value noise on a regular lattice (cubic Hermite interpolation
/// of per-node random values), for the lung's low-frequency texture.
#[derive(Debug, Clone)]
pub struct Lattice {
    lo: DVec3,
    inv_cell: f64,
    n: [usize; 3],
    vals: Vec<f32>,
}

impl Lattice {
    /// A lattice with nodes every `cell` mm over `lo`..`hi`, values in [−1, 1].
    pub fn new(lo: DVec3, hi: DVec3, cell: f64, rng: &mut Rng) -> Self {
        let lo = lo - DVec3::splat(cell);
        let n = ((hi - lo) / cell).ceil() + DVec3::splat(3.0);
        let n = [n.x as usize, n.y as usize, n.z as usize];
        let vals = (0..n[0] * n[1] * n[2]).map(|_| rng.sym(1.0) as f32).collect();
        Lattice { lo, inv_cell: 1.0 / cell, n, vals }
    }

    /// Interpolated value at `p` (clamped to the lattice).
    #[inline]
    pub fn eval(&self, p: DVec3) -> f32 {
        let q = ((p - self.lo) * self.inv_cell).max(DVec3::ZERO);
        let i =
            [(q.x as usize).min(self.n[0] - 2), (q.y as usize).min(self.n[1] - 2), (q.z as usize).min(self.n[2] - 2)];
        let f = |v: f64, i: usize| {
            let t = (v - i as f64).clamp(0.0, 1.0) as f32;
            t * t * (3.0 - 2.0 * t)
        };
        let (fx, fy, fz) = (f(q.x, i[0]), f(q.y, i[1]), f(q.z, i[2]));
        let at =
            |a: usize, b: usize, c: usize| self.vals[(i[0] + a) + self.n[0] * ((i[1] + b) + self.n[1] * (i[2] + c))];
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let x00 = lerp(at(0, 0, 0), at(1, 0, 0), fx);
        let x10 = lerp(at(0, 1, 0), at(1, 1, 0), fx);
        let x01 = lerp(at(0, 0, 1), at(1, 0, 1), fx);
        let x11 = lerp(at(0, 1, 1), at(1, 1, 1), fx);
        lerp(lerp(x00, x10, fy), lerp(x01, x11, fy), fz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_distance_is_exact_on_axes() {
        assert!((ellipse_distance(12.0, 0.0, 10.0, 5.0) - 2.0).abs() < 1e-9);
        assert!((ellipse_distance(0.0, 4.0, 10.0, 5.0) + 1.0).abs() < 0.3);
        assert!(ellipse_distance(0.0, 0.0, 10.0, 5.0) < 0.0);
    }

    #[test]
    fn lungs_sit_above_the_diaphragm_inside_the_cavity() {
        let body = Body::draw(&mut Rng::new(3));
        let right_lung = DVec3::new(-80.0, 10.0, -20.0);
        assert!(body.lung_distance(right_lung) < -10.0);
        let liver = DVec3::new(-60.0, 0.0, -200.0);
        assert!(body.lung_distance(liver) > 0.0);
        assert!(body.outline_distance(DVec3::new(0.0, 0.0, 0.0)) < -50.0);
        let p = DVec3::new(10.0, -20.0, 30.0);
        assert!((body.to_body(body.to_patient(p)) - p).length() < 1e-9);
    }

    #[test]
    fn lattice_is_smooth_and_bounded() {
        let l = Lattice::new(DVec3::splat(-50.0), DVec3::splat(50.0), 10.0, &mut Rng::new(1));
        let mut prev = l.eval(DVec3::new(-40.0, 3.0, 7.0));
        for i in 1..800 {
            let v = l.eval(DVec3::new(-40.0 + i as f64 * 0.1, 3.0, 7.0));
            assert!(v.abs() <= 1.0);
            assert!((v - prev).abs() < 0.05);
            prev = v;
        }
    }
}
