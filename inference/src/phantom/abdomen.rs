//! The upper abdomen under the diaphragm (body frame, mm), evaluated per
//! voxel inside the cavity below the domes: the liver filling the right
//! dome and reaching across the midline anteriorly (left lobe), the stomach
//! under the left dome (wall, fluid or food, a gas bubble with a horizontal
//! level at the fundus) and the spleen posterolateral on the left; the rest
//! is a mottle of fat and bowel-like soft tissue.

use glam::DVec3;

use super::body::{Body, Lattice};
use super::intensity::{Intensities, Tissue};
use super::rng::Rng;
use super::shapes::ellipsoid_distance;
use super::structure::Structure;

/// Organ placement for one seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Organs {
    /// Spleen: centre, semi-axes (along its long axis in-plane, across, up)
    /// and the in-plane direction (cos, sin) of its long axis.
    pub spleen: (DVec3, DVec3, (f64, f64)),
    /// Stomach: centre and semi-axes.
    pub stomach: (DVec3, DVec3),
    /// Stomach wall thickness.
    pub wall: f64,
    /// Height of the gas–fluid level (body z).
    pub gas_z: f64,
    /// CT number of the contents (fluid or food), plain.
    pub contents_hu: f32,
    /// Liver's left edge at the back (body x) and how far further left it
    /// reaches anteriorly.
    pub liver_x: f64,
    pub liver_left: f64,
}

impl Organs {
    /// A placeholder, before [`Organs::draw`].
    pub fn empty() -> Organs {
        Organs {
            spleen: (DVec3::ZERO, DVec3::ONE, (1.0, 0.0)),
            stomach: (DVec3::ZERO, DVec3::ONE),
            wall: 0.0,
            gas_z: 0.0,
            contents_hu: 0.0,
            liver_x: 0.0,
            liver_left: 0.0,
        }
    }

    /// Places the organs under `body`'s domes.
    pub fn draw(body: &Body, rng: &mut Rng) -> Organs {
        let s = body.scale;
        let (cy, ca, cb) = body.cavity;
        let sr = DVec3::new(rng.range(48.0, 62.0), rng.range(20.0, 27.0), rng.range(45.0, 60.0)) * s;
        let (sx, sy) = (0.66 * ca, cy + 0.5 * cb);
        let sc = DVec3::new(sx, sy, body.dome_z(sx, sy) - 0.8 * sr.z - 3.0);
        // Long axis along the posterolateral wall: from posteromedial up front-laterally.
        let ang = rng.range(0.9, 1.25);
        let spleen = (sc, sr, (libm::cos(ang), libm::sin(ang)));
        let tr = DVec3::new(rng.range(38.0, 50.0), rng.range(32.0, 42.0), rng.range(45.0, 60.0)) * s;
        let (tx, ty) = (0.33 * ca, cy - 0.2 * cb);
        let tc = DVec3::new(tx, ty, body.dome_z(tx, ty) - 0.85 * tr.z - 4.0);
        Organs {
            spleen,
            stomach: (tc, tr),
            wall: rng.range(3.0, 5.0),
            gas_z: tc.z + tr.z - rng.range(10.0, 28.0),
            contents_hu: rng.range(0.0, 35.0) as f32,
            liver_x: body.liver_x,
            liver_left: rng.range(35.0, 70.0) * s,
        }
    }

    /// CT number and structure at body point `b` below the diaphragm; `d_abd`
    /// is the signed distance to the abdominal space's boundary (negative
    /// inside), `coarse` a smooth noise for the fat/bowel mottle.
    #[inline]
    pub fn shade(&self, body: &Body, b: DVec3, ints: &Intensities, w: f64, coarse: &Lattice) -> (f32, Structure) {
        let cov = |d: f64| (0.5 - d / w).clamp(0.0, 1.0) as f32;
        let (cy, _, cb) = body.cavity;
        // Background: fat with bowel and vessels as soft-tissue blobs.
        let tex = coarse.eval(b);
        let g = (0.5 + 2.2 * tex).clamp(0.0, 1.0);
        let mut v = ints.subcutaneous_fat + g * (ints.abdomen - ints.subcutaneous_fat);
        let mut part = Structure::Abdomen;
        // Liver: right of an edge that swings left anteriorly.
        let front = ((cy - b.y) / cb + 0.35).clamp(0.0, 1.0);
        let d_liver = b.x - (self.liver_x + self.liver_left * front);
        let c = cov(d_liver);
        if c > 0.0 {
            v += c * (ints.of(Tissue::Liver) - v);
            if d_liver < 0.0 {
                part = Structure::Liver;
            }
        }
        // Spleen (rotated ellipsoid), between muscle and liver in CT number.
        let (sc, sr, (co, si)) = self.spleen;
        let q = b - sc;
        let ql = DVec3::new(co * q.x + si * q.y, -si * q.x + co * q.y, q.z);
        let d_sp = ellipsoid_distance(ql, sr);
        if d_sp < w {
            let hu = 0.5 * (ints.muscle + ints.of(Tissue::Liver)) - 8.0;
            v += cov(d_sp) * (hu - v);
            if d_sp < 0.0 {
                part = Structure::Spleen;
            }
        }
        // Stomach: a fat rim, the wall, then gas above the level and fluid below.
        let (tc, tr) = self.stomach;
        let d_st = ellipsoid_distance(b - tc, tr);
        if d_st < 4.0 + w {
            v += cov(d_st - 4.0) * (ints.subcutaneous_fat - v);
            v += cov(d_st) * (ints.muscle - v);
            let d_in = d_st + self.wall;
            let c_in = cov(d_in);
            if c_in > 0.0 {
                let c_gas = cov(self.gas_z - b.z);
                let t = self.contents_hu;
                let t = t + c_gas * (ints.of(Tissue::Gas) - t);
                v += c_in * (t - v);
            }
            if d_st < 0.0 {
                part = Structure::Stomach;
            }
        }
        (v, part)
    }
}
