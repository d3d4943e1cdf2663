//! The lung between the trees: fissures, and the per-seed findings a real
//! chest CT often shows (emphysema, dependent atelectasis, pleural effusion,
//! nodules). Evaluated per lung voxel by the rasteriser, in the body frame
//! (x patient left, y posterior, z superior, mm; carina at the origin).
//!
//! The oblique fissure is also where the lung trees split into upper and
//! lower lobes, so no tree crosses it at its first split, as in real lungs.

use glam::DVec3;

use super::body::{Body, Lattice};
use super::rng::Rng;
use super::structure::Structure;

/// Distance of the hila from the midline (mm): the oblique fissure runs
/// back from there as it goes out.
const HILUM_X: f64 = 45.0;

/// Lattice cell of the emphysema field (mm): holes of about this size.
const HOLE_CELL_MM: f64 = 5.0;

/// Per-seed lung parenchyma.
#[derive(Debug, Clone)]
pub struct Parenchyma {
    /// Oblique fissure: the lower lobe lies below z = `fissure_z` + `fissure_slope` · y.
    pub fissure_z: f64,
    /// Slope of the oblique fissure (mm of height per mm toward the back).
    pub fissure_slope: f64,
    /// How much further back the oblique fissure lies per mm away from the
    /// hilum, at its top; it falls to the opposite at its base (the fissure is
    /// propeller-shaped: its upper part faces anterolaterally, its lower part
    /// anteromedially), so axial slices show it running obliquely, never
    /// straight across.
    pub fissure_sweep: f64,
    /// Right horizontal fissure height (body z, mm) at the hilum, between
    /// the upper and middle lobes, in front of the oblique fissure; it rises
    /// a little toward the front and the side.
    pub horizontal_z: f64,
    /// How far back the horizontal fissure reaches (body y, mm): it is
    /// often incomplete.
    pub horizontal_back: f64,
    /// Fissure thickness (mm): the pleura of both lobes.
    pub fissure_mm: f64,
    /// Emphysema severity, 0 (none) to 1: upper-lobe centrilobular holes.
    pub emphysema: f64,
    /// Pleural effusion depth on the right and left (mm at the base, 0 for none).
    pub effusion: [f64; 2],
    /// Dependent atelectasis thickness on the right and left (mm, 0 for none).
    pub atelectasis: [f64; 2],
    /// Fluid CT number of the effusion (HU).
    pub fluid_hu: f32,
    /// CT number of fully collapsed lung (HU).
    pub collapsed_hu: f32,
    /// Thoracic cavity centre y and semi-axis y (from the body), for the
    /// dependent (posterior) weighting.
    cavity_y: (f64, f64),
    /// Lowest diaphragm dome height: effusions deepen toward it.
    base_z: f64,
    /// Emphysema field (only when `emphysema > 0`).
    holes: Option<Lattice>,
}

/// The lung findings of one seed, for tests and `anatomy.json`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Findings {
    /// Emphysema severity, 0 (none) to 1.
    pub emphysema: f64,
    /// Pleural effusion depth at the base, right and left (mm; 0 none).
    pub effusion_mm: [f64; 2],
    /// Dependent atelectasis thickness, right and left (mm; 0 none).
    pub atelectasis_mm: [f64; 2],
}

/// The lung findings `generate` will draw for `seed` (cheap: no anatomy is
/// built), to find seeds with a given finding.
pub fn findings(seed: u64) -> Findings {
    let root = Rng::new(seed);
    let body = Body::draw(&mut root.fork(1));
    Parenchyma::draw(&body, &mut root.fork(11)).findings()
}

/// What a lung voxel turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shade {
    /// CT number before blur and noise.
    pub hu: f32,
    /// The structure the voxel centre lies in when it is not plain lung.
    pub structure: Option<Structure>,
    /// False where the voxel is not pure parenchyma (fissure, fluid, collapse).
    pub pure: bool,
}

impl Parenchyma {
    /// Draws the parenchyma of one seed; `rng` is a stream of its own.
    pub fn draw(body: &Body, rng: &mut Rng) -> Parenchyma {
        let s = body.scale;
        let fissure_z = rng.range(-45.0, -30.0) * s;
        let fissure_slope = rng.range(0.8, 1.2);
        let fissure_sweep = rng.range(0.5, 0.9);
        let horizontal_z = rng.range(-40.0, -20.0) * s;
        let horizontal_back = rng.range(-20.0, 30.0) * s;
        let fissure_mm = rng.range(0.35, 0.7);
        let emphysema = if rng.unit() < 0.2 { rng.range(0.15, 0.6) } else { 0.0 };
        let mut effusion = [0.0; 2];
        let mut atelectasis = [0.0; 2];
        let eff = rng.unit();
        if eff < 0.15 {
            // Bilateral or one-sided, one side usually larger.
            let big = rng.range(12.0, 45.0);
            let side = rng.index(2);
            effusion[side] = big;
            if rng.unit() < 0.5 {
                effusion[1 - side] = big * rng.range(0.2, 0.8);
            }
        }
        for (a, e) in atelectasis.iter_mut().zip(effusion) {
            let p = if e > 0.0 { 0.9 } else { 0.3 };
            if rng.unit() < p {
                *a = rng.range(2.0, 8.0) + 0.25 * e;
            }
        }
        let (cy, _, cb) = body.cavity;
        let base_z = body.domes.iter().map(|d| d.z).fold(f64::INFINITY, f64::min);
        let holes = (emphysema > 0.0).then(|| {
            Lattice::new(
                DVec3::new(-200.0, -200.0, -320.0),
                DVec3::new(200.0, 220.0, 200.0),
                HOLE_CELL_MM,
                &mut rng.fork(1),
            )
        });
        Parenchyma {
            fissure_z,
            fissure_slope,
            fissure_sweep,
            horizontal_z,
            horizontal_back,
            fissure_mm,
            emphysema,
            effusion,
            atelectasis,
            fluid_hu: rng.range(2.0, 22.0) as f32,
            collapsed_hu: rng.range(-60.0, 35.0) as f32,
            cavity_y: (cy, cb),
            base_z,
            holes,
        }
    }

    /// Its findings.
    pub fn findings(&self) -> Findings {
        Findings { emphysema: self.emphysema, effusion_mm: self.effusion, atelectasis_mm: self.atelectasis }
    }

    /// Whether body point `p` lies in an upper lobe (above the oblique fissure).
    #[inline]
    pub fn upper(&self, p: DVec3) -> bool {
        self.oblique(p) > 0.0
    }

    /// Whether body point `p` of the right lung's upper part lies below the
    /// horizontal fissure: the middle lobe.
    #[inline]
    pub fn middle_lobe(&self, p: DVec3) -> bool {
        p.x < 0.0 && self.upper(p) && self.horizontal(p) < 0.0 && p.y < self.horizontal_back
    }

    /// Height of `p` above the oblique fissure (mm, along z).
    #[inline]
    fn oblique(&self, p: DVec3) -> f64 {
        let lateral = p.x.abs() - HILUM_X;
        let twist = ((p.z - self.fissure_z) / 60.0).clamp(-1.0, 1.0);
        p.z - self.fissure_z - self.fissure_slope * (p.y - self.fissure_sweep * twist * lateral)
    }

    /// Height of `p` above the horizontal fissure (mm, along z).
    #[inline]
    fn horizontal(&self, p: DVec3) -> f64 {
        p.z - self.horizontal_z - 0.2 * (p.y - self.cavity_y.0) - 0.12 * (-p.x - HILUM_X)
    }

    /// How much fluid (mm) lies against the cavity wall at `b` on its side:
    /// deepest posteriorly (the patient lies supine) and toward the base.
    #[inline]
    fn effusion_depth(&self, b: DVec3, above: f64) -> f64 {
        let e = self.effusion[usize::from(b.x >= 0.0)];
        if e <= 0.0 {
            return 0.0;
        }
        let (cy, cb) = self.cavity_y;
        let post = ((b.y - cy) / cb + 0.35).clamp(0.0, 1.35) / 1.35;
        let base = (1.0 - (b.z - self.base_z) / 140.0).clamp(0.15, 1.0);
        let recess = 1.0 + (1.0 - above / 30.0).clamp(0.0, 1.0);
        e * post * base * recess
    }

    /// Signed distance (mm) to the pleural fluid, negative inside; positive
    /// infinity where this side has none. `d_cav` is the signed distance to
    /// the cavity wall, `above` the height above the diaphragm.
    #[inline]
    pub fn effusion_distance(&self, b: DVec3, d_cav: f64, above: f64) -> f64 {
        let depth = self.effusion_depth(b, above);
        if depth <= 0.0 { f64::INFINITY } else { -d_cav - depth }
    }

    /// Shades a voxel whose centre `b` lies in the lung region: `base` is the
    /// parenchyma's CT number there (texture and gravity included), `d_cav`
    /// the signed distance to the cavity wall, `above` the height above the
    /// diaphragm, `w` the partial-volume ramp width (mm).
    pub fn shade(&self, b: DVec3, base: f32, d_cav: f64, above: f64, w: f64) -> Shade {
        let cov = |d: f64| (0.5 - d / w).clamp(0.0, 1.0) as f32;
        let mut hu = base;
        let mut structure = None;
        let mut pure = true;
        // Emphysema: holes of near-air density, upper zones first.
        if let Some(holes) = &self.holes {
            let upper = ((b.z - self.fissure_z) / 120.0 + 0.6).clamp(0.0, 1.0);
            // Destroyed lung is thinner everywhere, with holes of near air.
            hu -= (40.0 * self.emphysema * upper) as f32;
            let thr = 1.0 - 1.3 * self.emphysema * upper;
            let n = holes.eval(b) as f64;
            if n > thr {
                let f = ((n - thr) / 0.1).clamp(0.0, 1.0) as f32;
                hu += f * (-990.0 - hu);
            }
        }
        // Fissures: a thin sheet of pleura, blurred over the voxel.
        let sheet = |d: f64| (self.fissure_mm / w * (1.0 - d.abs() / w).max(0.0)) as f32;
        let (sl, sw) = (self.fissure_slope, self.fissure_sweep);
        let d_obl = self.oblique(b) / (1.0 + sl * sl + sl * sl * sw * sw).sqrt();
        let mut c_f = sheet(d_obl);
        if b.x < 0.0 && d_obl > 0.0 && b.y < self.horizontal_back {
            c_f = c_f.max(sheet(self.horizontal(b) / (1.0f64 + 0.04 + 0.0144).sqrt()));
        }
        if c_f > 0.0 {
            hu += c_f.min(1.0) * (30.0 - hu);
            pure = false;
        }
        let side = usize::from(b.x >= 0.0);
        let (cy, cb) = self.cavity_y;
        // Dependent atelectasis: a band of collapsed lung along the back, over any fluid.
        let t = self.atelectasis[side];
        if t > 0.0 {
            let post = ((b.y - cy) / cb).clamp(0.0, 1.0);
            let band = self.effusion_depth(b, above) + t * post * post;
            let d = -d_cav - band;
            let c = cov(d);
            if c > 0.0 {
                hu += c * (self.collapsed_hu - hu);
                pure = false;
                if d < 0.0 {
                    structure = Some(Structure::Atelectasis);
                }
            }
        }
        // Pleural effusion: fluid against the back of the cavity wall.
        let d = self.effusion_distance(b, d_cav, above);
        if d < w {
            let c = cov(d);
            hu += c * (self.fluid_hu - hu);
            pure = false;
            if d < 0.0 {
                structure = Some(Structure::Effusion);
            }
        }
        Shade { hu, structure, pure }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(effusion: [f64; 2], atelectasis: [f64; 2], emphysema: f64) -> (Body, Parenchyma) {
        let body = Body::draw(&mut Rng::new(5));
        let mut p = Parenchyma::draw(&body, &mut Rng::new(9));
        p.effusion = effusion;
        p.atelectasis = atelectasis;
        p.emphysema = emphysema;
        p.holes = (emphysema > 0.0).then(|| {
            Lattice::new(
                DVec3::new(-200.0, -200.0, -320.0),
                DVec3::new(200.0, 220.0, 200.0),
                HOLE_CELL_MM,
                &mut Rng::new(2),
            )
        });
        (body, p)
    }

    #[test]
    fn findings_occur_in_some_seeds_only() {
        let all: Vec<Findings> = (0..300).map(findings).collect();
        let share = |f: &dyn Fn(&Findings) -> bool| all.iter().filter(|x| f(x)).count() as f64 / 300.0;
        let eff = share(&|f| f.effusion_mm.iter().any(|&e| e > 0.0));
        let emph = share(&|f| f.emphysema > 0.0);
        let atel = share(&|f| f.atelectasis_mm.iter().any(|&e| e > 0.0));
        assert!((0.08..0.25).contains(&eff), "effusion in {eff}");
        assert!((0.12..0.3).contains(&emph), "emphysema in {emph}");
        assert!((0.3..0.7).contains(&atel), "atelectasis in {atel}");
    }

    #[test]
    fn effusion_lies_posteriorly_and_at_the_base() {
        let (body, p) = with([30.0, 0.0], [0.0, 0.0], 0.0);
        let (cy, _, cb) = body.cavity;
        let base = p.base_z + 25.0;
        // Right, posterior, at the base, 5 mm inside the wall: fluid.
        let back = DVec3::new(-60.0, cy + 0.9 * cb, base);
        let s = p.shade(back, -850.0, -5.0, 40.0, 1.4);
        assert_eq!(s.structure, Some(Structure::Effusion));
        assert!((s.hu - p.fluid_hu).abs() < 1.0);
        // Anterior at the same height: lung.
        let front = DVec3::new(-60.0, cy - 0.9 * cb, base);
        assert_eq!(p.shade(front, -850.0, -5.0, 40.0, 1.4).structure, None);
        // Left side has none.
        let left = DVec3::new(60.0, cy + 0.9 * cb, base);
        assert_eq!(p.shade(left, -850.0, -5.0, 40.0, 1.4).structure, None);
    }

    #[test]
    fn fissure_is_a_thin_denser_sheet() {
        let (_, p) = with([0.0; 2], [0.0; 2], 0.0);
        // At the fissure's hilar height (y = 0 there) the twist is zero.
        let y = 0.0;
        let z = p.fissure_z;
        let on = p.shade(DVec3::new(-70.0, y, z), -850.0, -40.0, 60.0, 1.4);
        let off = p.shade(DVec3::new(-70.0, y, z + 5.0), -850.0, -40.0, 60.0, 1.4);
        assert!(on.hu > -750.0 && on.hu < -200.0, "fissure at {} HU", on.hu);
        assert!(!on.pure);
        assert_eq!(off.hu, -850.0);
        assert!(p.upper(DVec3::new(-70.0, y, z + 1.0)) && !p.upper(DVec3::new(-70.0, y, z - 1.0)));
    }

    #[test]
    fn emphysema_makes_holes_mostly_in_the_upper_lungs() {
        let (_, p) = with([0.0; 2], [0.0; 2], 0.6);
        let count = |z: f64| {
            let mut n = 0;
            for i in 0..60 {
                for j in 0..60 {
                    let b = DVec3::new(-100.0 + i as f64 * 1.5, -40.0 + j as f64 * 1.5, z);
                    if p.shade(b, -850.0, -30.0, 100.0, 1.4).hu < -950.0 {
                        n += 1;
                    }
                }
            }
            n
        };
        let (top, bottom) = (count(60.0), count(-110.0));
        assert!(top > 50, "{top} holes at the top");
        assert!(top > 2 * bottom, "{top} holes at the top, {bottom} at the base");
    }
}
