//! The sternum against the anterior cavity wall: a wide manubrium (jugular
//! notch near T2/T3, clavicular notches at its top corners), the sternal
//! angle at the T4/T5 level with a thin cartilage joint, a long narrow body
//! of fused sternebrae (length varies per seed) and the xiphoid.

use glam::DVec3;

use super::super::anatomy::Builder;
use super::super::body::Body;
use super::super::intensity::Tissue;
use super::super::rng::Rng;
use super::super::shapes::{Shape, rotation_xyz};
use super::super::structure::Structure;
use super::spine::Spine;

/// Where the sternum is (body frame, mm).
#[derive(Debug, Clone)]
pub(in super::super) struct Sternum {
    /// Top of the manubrium (jugular notch).
    pub z_top: f64,
    /// Sternal angle (manubrium–body joint, second costal cartilages).
    pub z_angle: f64,
    /// Xiphisternal joint (seventh costal cartilages).
    pub z_xiphoid: f64,
    /// Length of the xiphoid.
    pub xiphoid: f64,
    /// Half widths of the manubrium's top and of the body.
    pub half_top: f64,
    pub half_body: f64,
    /// Half thicknesses of the manubrium and of the body.
    pub t_man: f64,
    pub t_body: f64,
    /// Gap to the cavity wall behind it.
    pub gap: f64,
    /// Cavity (centre y, anterior semi-axis), to follow the wall.
    cavity: (f64, f64),
    /// Cavity widening with height, sampled (z, factor).
    factor: Vec<(f64, f64)>,
}

impl Sternum {
    /// Centre y (the sternum's mid-thickness) at height `z`.
    pub fn y(&self, z: f64) -> f64 {
        let t = if z > self.z_angle { self.t_man } else { self.t_body };
        self.y_back(z) - t
    }

    /// y of the sternum's posterior face at height `z`.
    pub fn y_back(&self, z: f64) -> f64 {
        let (cy, cb) = self.cavity;
        let f = self.factor_at(z);
        cy - cb * f - self.gap
    }

    fn factor_at(&self, z: f64) -> f64 {
        let f = &self.factor;
        if z >= f[0].0 {
            return f[0].1;
        }
        for w in f.windows(2) {
            if z >= w[1].0 {
                let t = (z - w[0].0) / (w[1].0 - w[0].0);
                return w[0].1 + (w[1].1 - w[0].1) * t;
            }
        }
        f[f.len() - 1].1
    }

    /// Half width at height `z` (manubrium tapering from top to the angle).
    pub fn half_width(&self, z: f64) -> f64 {
        if z > self.z_angle {
            let t = ((z - self.z_angle) / (self.z_top - self.z_angle)).clamp(0.0, 1.0);
            self.half_body + 2.0 + (self.half_top - self.half_body - 2.0) * t
        } else {
            self.half_body
        }
    }

    /// Height where costal cartilage `n` (1–7) meets the sternum.
    pub fn rib_z(&self, n: usize) -> f64 {
        match n {
            1 => self.z_top - 0.35 * (self.z_top - self.z_angle),
            2 => self.z_angle,
            _ => self.z_angle - (self.z_angle - self.z_xiphoid) * (n as f64 - 2.0) / 5.0,
        }
    }
}

/// Draws the sternum's size and level.
pub(in super::super) fn layout(body: &Body, s: f64, sp: &Spine, r: &mut Rng) -> Sternum {
    // T4/T5 disc: between the bodies of T4 (index 4) and T5.
    let z45 = 0.5 * (sp.v[4].c.z + sp.v[5].c.z);
    let z_angle = z45 + r.sym(6.0) * s;
    let z_top = z_angle + r.range(44.0, 56.0) * s;
    let len = r.range(82.0, 112.0) * s;
    // The cavity's anterior wall, where the sternum rests; its own apex dome
    // would pull the manubrium back too far, so the factor is floored.
    let z_xiphoid = z_angle - len;
    let factor = (0..=40)
        .map(|i| {
            let z = z_top + 10.0 - i as f64 * 8.0;
            (z, body.cavity_factor(z).max(0.84))
        })
        .collect();
    Sternum {
        z_top,
        z_angle,
        z_xiphoid,
        xiphoid: r.range(30.0, 50.0) * s,
        half_top: r.range(25.0, 30.0) * s,
        half_body: r.range(12.5, 16.0) * s,
        t_man: r.range(5.5, 7.0) * s,
        t_body: r.range(4.2, 5.5) * s,
        gap: 1.5,
        cavity: (body.cavity.0, body.cavity.2),
        factor,
    }
}

/// A box piece of the sternum between heights `z0` > `z1`, following the wall.
fn piece(st: &Sternum, z0: f64, z1: f64, half_w: f64, half_t: f64) -> Shape {
    let (a, b) = (DVec3::new(0.0, st.y(z0), z0), DVec3::new(0.0, st.y(z1), z1));
    let ax = a - b;
    let rot = rotation_xyz(libm::atan2(-ax.y, ax.z), 0.0, 0.0);
    Shape::RoundBox {
        c: (a + b) * 0.5,
        inv: rot.transpose(),
        half: DVec3::new(half_w, half_t, ax.length() * 0.5),
        round: (half_t - 0.5).min(4.0),
    }
}

/// Paints the manubrium, the body and the xiphoid.
pub(in super::super) fn paint(b: &mut Builder, st: &Sternum) {
    b.part = Structure::Sternum;
    let gap = 1.0;
    // Manubrium: three stacked boxes narrowing downward.
    let zm = [st.z_top, st.z_top - 0.3 * (st.z_top - st.z_angle), st.z_top - 0.65 * (st.z_top - st.z_angle)];
    let zs = [zm[0], zm[1], zm[2], st.z_angle + gap];
    for i in 0..3 {
        let hw = st.half_width(0.5 * (zs[i] + zs[i + 1]));
        b.bone(piece(st, zs[i], zs[i + 1] - if i < 2 { 4.0 } else { 0.0 }, hw, st.t_man), 1.3);
    }
    // The manubriosternal joint.
    b.add(piece(st, st.z_angle + gap, st.z_angle - gap, st.half_body + 1.0, st.t_body), Tissue::Cartilage, 0);
    // Body: four sternebrae, slightly widening downward.
    let len = st.z_angle - st.z_xiphoid;
    for i in 0..4 {
        let z0 = st.z_angle - gap - i as f64 * (len - gap) / 4.0;
        let z1 = z0 - (len - gap) / 4.0 - if i < 3 { 4.0 } else { 0.0 };
        let hw = st.half_body * [0.92, 1.0, 1.06, 0.98][i];
        b.bone(piece(st, z0, z1, hw, st.t_body), 1.1);
    }
    // Xiphoid: a thin tapering tongue.
    let top = DVec3::new(0.0, st.y(st.z_xiphoid) - 1.0, st.z_xiphoid - 1.0);
    let tip = DVec3::new(0.0, top.y - 0.25 * st.xiphoid, st.z_xiphoid - st.xiphoid);
    b.bone(super::bar(top, tip, 0.5 * st.half_body, 2.6, DVec3::X, 2.0), 0.9);
}
