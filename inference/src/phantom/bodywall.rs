//! The body wall outside the thoracic cavity (body frame, mm): a torso
//! outline that is not an ellipse (flat back with the paraspinal bulges and a
//! midline groove, rounded anterolateral chest, the neck above the apices),
//! skin, subcutaneous fat of per-seed habitus (thicker posterolaterally),
//! breasts in some seeds, and the muscles of the chest wall in layers
//! separated by thin fat planes: intercostal layer on the ribs, then
//! pectoralis minor / serratus / scapular muscles / erector spinae, then
//! pectoralis major / latissimus / trapezius. Plus the arms (down beside the
//! torso or raised) with their deltoids, and the patient table.
//!
//! Everything is radial around the cavity's centre: per 2 mm of height and
//! per degree of angle a table holds the radius of each layer boundary, so a
//! voxel costs one angle, one radius and a bilinear lookup.

use glam::{DMat3, DVec3};

use super::anatomy::Builder;
use super::shapes::Shape;

use super::body::{Body, Lattice};
use super::intensity::Intensities;
use super::rng::Rng;
use super::structure::Structure;

/// Angle bins per turn.
const NT: usize = 360;
/// Height of a table row (mm).
const DZ: f64 = 2.0;

/// Layer boundaries (radii from the polar centre, mm) at one height and angle,
/// inside out: rib layer, L2 (deep muscle), L1 (superficial muscle), core
/// (the muscles' outer surface), fat, skin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Cell {
    rib: f32,
    l2a: f32,
    l2b: f32,
    l1a: f32,
    core: f32,
    fat_out: f32,
    outer: f32,
    breast: f32,
    s1: u8,
    s2: u8,
}

/// One arm: humerus (head, neck, shaft) and the soft tissue around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arm {
    /// Centre of the humeral head (body frame).
    pub head: DVec3,
    /// Head radius.
    pub head_r: f64,
    /// Surgical neck: where the shaft starts.
    pub neck: DVec3,
    /// Far end of the shaft (beyond the field).
    pub end: DVec3,
    /// Shaft radius (bone).
    pub shaft_r: f64,
    /// Deltoid cap radius around the head centre.
    pub deltoid_r: f64,
    /// Muscle radius around the shaft.
    pub muscle_r: f64,
    /// Subcutaneous fat of the arm.
    pub fat: f64,
}

impl Arm {
    /// Signed distance to the arm's muscle surface and whether the closest
    /// part is the shoulder cap (deltoid).
    #[inline]
    fn core(&self, b: DVec3) -> (f64, bool) {
        let d_cap = (b - self.head).length() - self.deltoid_r;
        let ab = self.end - self.neck;
        let t = ((b - self.neck).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
        let d_arm = (b - (self.neck + ab * t)).length() - self.muscle_r;
        if d_cap < d_arm { (d_cap, true) } else { (d_arm, false) }
    }
}

/// The patient table (patient frame): a curved shell around a foam core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    /// Patient y of the top surface at x = 0.
    pub y_top: f64,
    /// Upward curvature (mm per mm²) of the cradle.
    pub kappa: f64,
    /// Total thickness.
    pub thick: f64,
    /// Shell thickness.
    pub shell: f64,
    /// CT numbers of the shell and of the foam.
    pub shell_hu: f32,
    pub foam_hu: f32,
    /// Patient y beyond which the back is flattened against the table.
    pub flat_y: f64,
}

/// The body wall of one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Wall {
    /// Polar centre (body y).
    pub yc: f64,
    z0: f64,
    nz: usize,
    cells: Vec<Cell>,
    /// Skin thickness.
    pub skin: f64,
    /// Base subcutaneous fat thickness (habitus).
    pub fat: f64,
    /// Peak breast projection (mm; 0 for none).
    pub breast: f64,
    /// Arms raised above the head (else down beside the torso).
    pub arms_up: bool,
    /// Right and left arm.
    pub arms: [Arm; 2],
    /// The table.
    pub table: Table,
}

#[inline]
fn sm(a: f64, b: f64, x: f64) -> f64 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// 1 inside [lo, hi], falling to 0 over `edge` on each side.
#[inline]
fn band(x: f64, lo: f64, hi: f64, edge: f64) -> f64 {
    sm(lo - edge, lo, x) * (1.0 - sm(hi, hi + edge, x))
}

/// atan2 to about 1e-5 rad with plain arithmetic (deterministic, cheap).
#[inline]
pub fn atan2_fast(y: f64, x: f64) -> f64 {
    let (ax, ay) = (x.abs(), y.abs());
    let mx = ax.max(ay);
    if mx == 0.0 {
        return 0.0;
    }
    let a = ax.min(ay) / mx;
    let s = a * a;
    let mut r = ((((0.0208351 * s - 0.085133) * s + 0.180141) * s - 0.3302995) * s + 0.999866) * a;
    if ay > ax {
        r = std::f64::consts::FRAC_PI_2 - r;
    }
    if x < 0.0 {
        r = std::f64::consts::PI - r;
    }
    if y < 0.0 { -r } else { r }
}

/// Muscle layers at angle `phi` (degrees from the posterior midline, 0–180)
/// and height `z`: (rib layer, (L2 thickness, structure), (L1 thickness, structure)).
fn layers(body: &Body, g_z: f64, m: f64, phi: f64, z: f64) -> (f64, (f64, Structure), (f64, Structure)) {
    let s = body.scale;
    let z_dome = body.domes[0].z;
    let apex = body.apex_z;
    let rib = 11.0 * s * sm(12.0, 26.0, phi) + 1.0;
    let pick = |c: &[(f64, Structure)]| {
        c.iter().copied().fold((0.0, Structure::ChestWallMuscle), |a, b| if b.0 > a.0 { b } else { a })
    };
    let para = 31.0
        * s
        * m
        * (0.78 + 0.22 * sm(0.0, 8.0, phi))
        * (1.0 - sm(24.0, 38.0, phi))
        * (1.0 + 0.15 * sm(0.0, -150.0, z));
    let scap = 22.0 * s * m * band(phi, 36.0, 76.0, 12.0) * band(z, g_z - 150.0 * s, g_z + 5.0, 25.0);
    let serr = 5.0 * s * m * band(phi, 66.0, 138.0, 15.0) * band(z, z_dome - 30.0, apex - 30.0, 20.0);
    let pmin = 6.0 * s * m * band(phi, 118.0, 150.0, 12.0) * band(z, -20.0 * s, 60.0 * s, 20.0);
    let obl = 10.0 * s * m * band(phi, 60.0, 180.0, 20.0) * sm(z_dome + 20.0, z_dome - 30.0, z);
    let l2 = pick(&[
        (para, Structure::Paraspinal),
        (scap, Structure::ShoulderMuscle),
        (serr, Structure::ChestWallMuscle),
        (pmin, Structure::Pectoral),
        (obl, Structure::ChestWallMuscle),
    ]);
    let trap =
        (3.0 * s + 7.0 * s * sm(-20.0, 90.0, z)) * m * band(phi, 0.0, 62.0, 15.0) * sm(-170.0 * s, -120.0 * s, z);
    let lat =
        (5.0 + 4.0 * sm(-20.0, -150.0, z)) * s * m * band(phi, 40.0, 112.0, 14.0) * band(z, -260.0, g_z - 50.0, 30.0);
    let pmaj = 11.0
        * s
        * m
        * sm(100.0, 128.0, phi)
        * (1.0 - 0.75 * sm(152.0, 178.0, phi))
        * band(z, -105.0 * s, 72.0 * s, 25.0);
    let l1 = pick(&[(trap, Structure::ShoulderMuscle), (lat, Structure::ShoulderMuscle), (pmaj, Structure::Pectoral)]);
    (rib, l2, l1)
}

impl Wall {
    /// A placeholder (no torso), before [`Wall::draw`].
    pub fn empty() -> Wall {
        let arm = Arm {
            head: DVec3::ZERO,
            head_r: 1.0,
            neck: DVec3::ZERO,
            end: DVec3::Z,
            shaft_r: 1.0,
            deltoid_r: 0.0,
            muscle_r: 0.0,
            fat: 0.0,
        };
        let table = Table { y_top: 1e9, kappa: 0.0, thick: 0.0, shell: 0.0, shell_hu: 0.0, foam_hu: 0.0, flat_y: 1e9 };
        Wall {
            yc: 0.0,
            z0: 0.0,
            nz: 1,
            cells: vec![Cell::default(); NT],
            skin: 0.0,
            fat: 0.0,
            breast: 0.0,
            arms_up: false,
            arms: [arm; 2],
            table,
        }
    }

    /// Half width of the torso at the carina's level (skin, mm).
    pub fn half_width(&self) -> f64 {
        self.lookup(DVec3::new(300.0, self.yc, 0.0)).outer as f64
    }

    /// Draws the wall for `body` (whose cavity, domes and glenoids it wraps).
    pub fn draw(body: &Body, rng: &mut Rng) -> Wall {
        let s = body.scale;
        let (cy, ca, cb) = body.cavity;
        // Habitus: thin to obese; muscularity.
        let h = rng.unit();
        let fat = 3.5 + 30.0 * h * h;
        let m = rng.range(0.75, 1.15);
        let skin = rng.range(1.5, 2.5);
        let plane = rng.range(1.2, 3.5);
        let female = rng.unit() < 0.5;
        let breast = if female { rng.range(10.0, 40.0) * (0.6 + 0.6 * h) * s } else { rng.range(0.0, 6.0) * h };
        let breast_phi = rng.range(132.0, 148.0);
        let breast_z = rng.range(-70.0, -45.0) * s;
        let post = rng.range(1.0, 1.35);
        let g_z = super::skeleton::glenoid(body, 1.0).z;
        let ph = [rng.range(0.0, 6.3), rng.range(0.0, 6.3)];

        let z0 = -340.0;
        let nz = ((240.0 - z0) / DZ) as usize + 1;
        let mut cells = vec![Cell::default(); nz * NT];
        for k in 0..nz {
            let z = z0 + k as f64 * DZ;
            let f = body.cavity_factor(z);
            // Above the shoulders the wall does not follow the shrinking apices:
            // it narrows to the neck more slowly, and less from front to back.
            let up = sm(body.apex_z - 25.0 * s, body.apex_z + 35.0 * s, z);
            let (fa, fb) = (f.max(0.86 - 0.38 * up), f.max(0.96 - 0.2 * up));
            let (a, bb) = (ca * fa, cb * fb);
            // First pass: the layers at every angle.
            let mut raw = [(0.0f64, 0.0f64, (0.0f64, Structure::Outside), (0.0f64, Structure::Outside), 0.0f64); NT];
            for (t, r) in raw.iter_mut().enumerate() {
                let th = -std::f64::consts::PI + (t as f64 + 0.5) * std::f64::consts::TAU / NT as f64;
                let (st, ct) = (libm::sin(th), libm::cos(th));
                let rc = 1.0 / ((ct / a) * (ct / a) + (st / bb) * (st / bb)).sqrt();
                // Degrees from the posterior midline (+y).
                let phi = libm::acos(st.clamp(-1.0, 1.0)).to_degrees();
                let (rib, l2, l1) = layers(body, g_z, m, phi, z);
                *r = (rc, rib, l2, l1, phi);
            }
            // The back is flat: the muscles lateral to the erector spinae
            // (trapezius, rhomboids, latissimus) fill out to the line through
            // the paraspinal bulges.
            let core_of =
                |r: &(f64, f64, (f64, Structure), (f64, Structure), f64)| r.0 + r.1 + 2.0 * plane + r.2.0 + r.3.0;
            let mut y_back = 0.0f64;
            for r in raw.iter().filter(|r| r.4 < 20.0) {
                y_back = y_back.max(core_of(r) * libm::cos(r.4.to_radians()));
            }
            y_back *= 0.99;
            for r in raw.iter_mut().filter(|r| r.4 < 75.0) {
                let c = core_of(r);
                let flat = y_back / libm::cos(r.4.to_radians()).max(0.2);
                let wgt = 1.0 - sm(40.0, 75.0, r.4);
                let add = ((flat.min(c + 45.0 * s) - c) * wgt).max(0.0);
                if add > 0.0 {
                    if r.3.0 < 0.5 {
                        r.3.1 = Structure::ShoulderMuscle;
                    }
                    r.3.0 += add;
                }
            }
            // Second pass: boundaries, fat, breasts; fat planes are patchy.
            let mut row = [Cell::default(); NT];
            for (t, c) in row.iter_mut().enumerate() {
                let th = -std::f64::consts::PI + (t as f64 + 0.5) * std::f64::consts::TAU / NT as f64;
                let (rc, rib, l2, l1, phi) = raw[t];
                let patch = (0.55 + 0.45 * libm::sin(3.0 * th + ph[0]) * libm::sin(5.0 * th + ph[1] + 0.02 * z))
                    .clamp(0.1, 1.0);
                let deep = if l2.1 == Structure::ChestWallMuscle { 0.4 } else { 1.0 };
                let p2 = plane * sm(0.0, 3.0, l2.0) * patch * deep;
                let p1 = plane * sm(0.0, 3.0, l1.0) * (1.1 - 0.5 * patch);
                let r_rib = rc + rib;
                let l2a = r_rib + p2;
                let l2b = l2a + l2.0;
                let l1a = l2b + p1;
                let core = l1a + l1.0;
                let f_shape = 0.8 + 0.5 * band(phi, 60.0, 120.0, 25.0) * post - 0.3 * (1.0 - sm(0.0, 30.0, phi));
                let f_z = 1.0 + 0.3 * sm(-60.0, -220.0, z);
                let bz = (z - breast_z) / 42.0;
                let bp = (phi - breast_phi) / 20.0;
                let br = breast * libm::exp(-bz * bz - bp * bp);
                let fat_t = (fat * f_shape * f_z).max(1.5) + br;
                *c = Cell {
                    rib: r_rib as f32,
                    l2a: l2a as f32,
                    l2b: l2b as f32,
                    l1a: l1a as f32,
                    core: core as f32,
                    fat_out: (core + fat_t) as f32,
                    outer: 0.0,
                    breast: br as f32,
                    s1: l1.1 as u8,
                    s2: l2.1 as u8,
                };
            }
            // Fat smooths the skin over the muscles' bumps (±8°).
            for t in 0..NT {
                let mut acc = 0.0f32;
                for d in 0..17 {
                    acc += row[(t + NT + d - 8) % NT].fat_out;
                }
                let smooth = (acc / 17.0).max(row[t].fat_out - 2.0).max(row[t].core + 1.5);
                cells[k * NT + t] = Cell { fat_out: smooth, outer: smooth + skin as f32, ..row[t] };
            }
        }
        let mut wall = Wall { yc: cy, z0, nz, cells, skin, fat, breast, ..Wall::empty() };
        // Table: under the most posterior point of the back.
        let mut y_back = f64::MIN;
        for k in 0..nz {
            let z = z0 + k as f64 * DZ;
            if !(-200.0..=60.0).contains(&z) {
                continue;
            }
            for t in 0..NT {
                let th = -std::f64::consts::PI + (t as f64 + 0.5) * std::f64::consts::TAU / NT as f64;
                let r = wall.cells[k * NT + t].outer as f64;
                let y = body.to_patient(DVec3::new(r * libm::cos(th), cy + r * libm::sin(th), z)).y;
                y_back = y_back.max(y);
            }
        }
        // Arms.
        wall.arms_up = rng.unit() < 0.55;
        let head_r = rng.range(22.0, 25.5) * s;
        let shaft_r = rng.range(10.5, 13.0) * s;
        let muscle_r = rng.range(27.0, 36.0) * s * m;
        let delt = rng.range(12.0, 20.0) * s * m;
        let arm_fat = (0.6 * fat).max(2.5);
        let gap = rng.range(1.0, 9.0);
        for (n, side) in [-1.0f64, 1.0].into_iter().enumerate() {
            let g = super::skeleton::glenoid(body, side);
            let nrm = super::skeleton::glenoid_normal(body, side);
            let head = g + nrm * (head_r + 3.0);
            let neck = head + DVec3::new(side * 0.35, 0.1, -1.0) * head_r;
            let end = if wall.arms_up {
                neck + DVec3::new(side * 0.5, 0.25, 1.0).normalize() * 320.0
            } else {
                // Beside the torso at mid-chest, a small gap from its skin.
                // Resting on the table, so level with the back half of the torso.
                let zt = -70.0 * s;
                let ra = muscle_r + arm_fat + skin;
                let y_arm = cy + 0.55 * (y_back - body.shift.y - cy);
                let mut x_edge = 40.0;
                while x_edge < 250.0 && wall.outline_distance(DVec3::new(side * x_edge, y_arm, zt)) < 0.0 {
                    x_edge += 1.0;
                }
                let target = DVec3::new(side * (x_edge + gap + ra), y_arm, zt);
                neck + (target - neck).normalize() * 340.0
            };
            wall.arms[n] = Arm { head, head_r, neck, end, shaft_r, deltoid_r: head_r + delt, muscle_r, fat: arm_fat };
        }
        let flat_on = rng.unit() < 0.5;
        let flatten = if flat_on { rng.range(2.0, 6.0 + 0.3 * fat) } else { 0.0 };
        let air_gap = if flat_on { 0.0 } else { rng.range(0.0, 10.0) };
        wall.table = Table {
            y_top: y_back - flatten + air_gap,
            kappa: rng.range(4.0, 18.0) / (160.0 * 160.0),
            thick: rng.range(30.0, 55.0),
            shell: rng.range(1.5, 3.0),
            shell_hu: rng.range(200.0, 400.0) as f32,
            foam_hu: rng.range(-900.0, -700.0) as f32,
            flat_y: if flat_on { y_back - flatten } else { 1e9 },
        };
        wall
    }

    /// Interpolated cell at body point `b` and the outline's radial slope
    /// correction (1/|∇(ρ − R(θ))|), with ρ.
    #[inline]
    fn lookup_full(&self, b: DVec3) -> (Cell, f64, f64) {
        let (dx, dy) = (b.x, b.y - self.yc);
        let rho = (dx * dx + dy * dy).sqrt();
        let th = atan2_fast(dy, dx);
        let u = (th + std::f64::consts::PI) * (NT as f64 / std::f64::consts::TAU) - 0.5;
        let uf = u.floor();
        let ft = (u - uf) as f32;
        let t0 = (uf as i64).rem_euclid(NT as i64) as usize;
        let t1 = (t0 + 1) % NT;
        let v = ((b.z - self.z0) / DZ).clamp(0.0, (self.nz - 1) as f64 - 1e-6);
        let k0 = v as usize;
        let fz = (v - k0 as f64) as f32;
        let k1 = (k0 + 1).min(self.nz - 1);
        let c00 = &self.cells[k0 * NT + t0];
        let c01 = &self.cells[k0 * NT + t1];
        let c10 = &self.cells[k1 * NT + t0];
        let c11 = &self.cells[k1 * NT + t1];
        let w00 = (1.0 - ft) * (1.0 - fz);
        let w01 = ft * (1.0 - fz);
        let w10 = (1.0 - ft) * fz;
        let w11 = ft * fz;
        let mix = |f: fn(&Cell) -> f32| f(c00) * w00 + f(c01) * w01 + f(c10) * w10 + f(c11) * w11;
        let near = if ft < 0.5 {
            if fz < 0.5 { c00 } else { c10 }
        } else if fz < 0.5 {
            c01
        } else {
            c11
        };
        let cell = Cell {
            rib: mix(|c| c.rib),
            l2a: mix(|c| c.l2a),
            l2b: mix(|c| c.l2b),
            l1a: mix(|c| c.l1a),
            core: mix(|c| c.core),
            fat_out: mix(|c| c.fat_out),
            outer: mix(|c| c.outer),
            breast: mix(|c| c.breast),
            s1: near.s1,
            s2: near.s2,
        };
        let o0 = c00.outer * (1.0 - fz) + c10.outer * fz;
        let o1 = c01.outer * (1.0 - fz) + c11.outer * fz;
        let slope = (o1 - o0) as f64 * (NT as f64 / std::f64::consts::TAU) / rho.max(0.5 * cell.outer as f64);
        (cell, 1.0 / (1.0 + slope * slope).sqrt(), rho)
    }

    #[inline]
    fn lookup(&self, b: DVec3) -> Cell {
        self.lookup_full(b).0
    }

    /// Signed distance to the torso's skin surface (arms excluded).
    #[inline]
    pub fn outline_distance(&self, b: DVec3) -> f64 {
        let (c, k, rho) = self.lookup_full(b);
        (rho - c.outer as f64) * k
    }

    /// CT number and structure of the body wall, arms and table at body point
    /// `b` (patient point `p`), with partial volume over `w`; `fine` textures
    /// the breast's glandular tissue. Also returns the signed distance to the
    /// torso's skin.
    #[inline]
    pub fn shade(&self, b: DVec3, p: DVec3, ints: &Intensities, w: f64, fine: &Lattice) -> (f32, Structure, f64) {
        let cov = |d: f64| (0.5 - d / w).clamp(0.0, 1.0) as f32;
        let (c, k, rho) = self.lookup_full(b);
        let dr = |r: f32| (rho - r as f64) * k;
        let mut d_torso = dr(c.outer);
        if p.y > self.table.flat_y - 1.0 {
            d_torso = d_torso.max(p.y - self.table.flat_y);
        }
        // Arms: the nearest one's muscle surface.
        let mut d_arm = f64::INFINITY;
        let mut cap = false;
        let mut arm_fat = 0.0;
        for a in &self.arms {
            if (b.z - a.head.z).abs() > 400.0 {
                continue;
            }
            let (d, is_cap) = a.core(b);
            if d < d_arm {
                (d_arm, cap, arm_fat) = (d, is_cap, a.fat);
            }
        }
        let d_arm_out = d_arm + arm_fat + self.skin;
        let d_out = d_torso.min(d_arm_out);
        let mut v = ints.air;
        let mut part = Structure::Outside;
        if d_out < w {
            let d_torso_fat = d_torso + self.skin;
            let d_fat = d_torso_fat.min(d_arm_out - self.skin);
            v += cov(d_out) * (ints.skin - v);
            v += cov(d_fat) * (ints.subcutaneous_fat - v);
            if d_out < 0.0 {
                part = if d_fat < 0.0 { Structure::SubcutaneousFat } else { Structure::Skin };
            }
            // Breast: glandular tissue in the deeper two thirds of the breast
            // mound, mottled with fat.
            if c.breast > 4.0 {
                let depth = rho - c.core as f64;
                let t = c.fat_out as f64 - c.core as f64;
                let inner = (t - c.breast as f64 * 0.85).max(1.0);
                let d_gl = (inner - depth).max(depth - (t - 3.0)) * k;
                let g = cov(d_gl) * (0.5 + 1.1 * fine.eval(b)).clamp(0.0, 1.0) * (c.breast / 25.0).min(1.0);
                if g > 0.0 {
                    let gland = ints.muscle - 18.0;
                    v += g * (gland - v);
                    if g > 0.5 && d_out < 0.0 {
                        part = Structure::Breast;
                    }
                }
            }
            // Arm muscle (outside the torso's own muscles).
            let ca = cov(d_arm);
            if ca > 0.0 {
                v += ca * (ints.muscle - v);
                if d_arm < 0.0 {
                    part = if cap { Structure::ShoulderMuscle } else { Structure::Arm };
                }
            }
            // Torso muscles, outside in, with fat planes between them.
            let d_core = dr(c.core);
            if d_core < w {
                v += cov(d_core) * (ints.muscle - v);
                v += cov(dr(c.l1a)) * (ints.subcutaneous_fat - v);
                v += cov(dr(c.l2b)) * (ints.muscle - v);
                v += cov(dr(c.l2a)) * (ints.subcutaneous_fat - v);
                v += cov(dr(c.rib)) * (ints.muscle - v);
                if d_core < 0.0 {
                    let r = rho as f32;
                    part = if r > c.l1a {
                        Structure::from_u8(c.s1).unwrap_or(Structure::ChestWallMuscle)
                    } else if r > c.l2b {
                        Structure::IntermuscularFat
                    } else if r > c.l2a {
                        Structure::from_u8(c.s2).unwrap_or(Structure::ChestWallMuscle)
                    } else if r > c.rib {
                        Structure::IntermuscularFat
                    } else {
                        Structure::ChestWallMuscle
                    };
                }
            }
        } else {
            // The table, in the patient frame.
            let t = &self.table;
            let top = t.y_top - t.kappa * p.x * p.x;
            let dt = p.y - top;
            if dt > -w && dt < t.thick + w {
                let c_out = cov((-dt).max(dt - t.thick));
                let c_in = cov((t.shell - dt).max(dt - (t.thick - t.shell)));
                v += c_out * (t.shell_hu - v);
                v += c_in * (t.foam_hu - v);
                if dt > 0.0 && dt < t.thick {
                    part = Structure::Table;
                }
            }
        }
        (v, part, d_out)
    }
}

/// The humeri (cortex around marrow): head at the glenoid, neck and shaft
/// along the arm.
pub(super) fn humeri(b: &mut Builder) {
    let arms = b.body.wall.arms;
    b.part = Structure::Humerus;
    for a in arms {
        b.bone(Shape::Ellipsoid { c: a.head, inv: DMat3::IDENTITY, r: DVec3::splat(a.head_r) }, 1.6);
        let dir = (a.end - a.neck).normalize();
        let tub = a.head + (a.neck - a.head).normalize() * (0.55 * a.head_r) + dir * 4.0;
        b.bone(Shape::Tube { a: a.head, b: tub, ra: 0.75 * a.head_r, rb: 0.8 * a.shaft_r + 4.0 }, 1.6);
        b.bone(Shape::Tube { a: tub, b: a.neck + dir * 30.0, ra: 0.8 * a.shaft_r + 4.0, rb: a.shaft_r }, 2.2);
        b.bone(Shape::Tube { a: a.neck + dir * 30.0, b: a.end, ra: a.shaft_r, rb: a.shaft_r * 0.9 }, 3.5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_are_up_or_down_by_seed_and_the_back_is_convex_free() {
        let ups: Vec<bool> = (1..=8).map(|seed| Body::draw(&mut Rng::new(seed).fork(1)).wall.arms_up).collect();
        eprintln!("arms up by seed 1..=8: {ups:?}");
        assert!(ups.iter().any(|&u| u) && ups.iter().any(|&u| !u));
        let body = Body::draw(&mut Rng::new(3).fork(1));
        // Inside at the centre, outside far away, skin beyond the cavity.
        assert!(body.outline_distance(DVec3::new(0.0, 0.0, 0.0)) < -80.0);
        assert!(body.outline_distance(DVec3::new(0.0, 0.0, 0.0) + DVec3::X * 260.0) > 0.0);
        for z in [-150.0, -60.0, 0.0, 60.0] {
            for x in [-100.0, 0.0, 100.0] {
                let b = DVec3::new(x, body.cavity.0, z);
                assert!(body.outline_distance(b) < body.cavity_distance(b) - 10.0, "{b}");
            }
        }
    }

    #[test]
    fn fast_atan2_matches_libm() {
        for i in 0..1000 {
            let a = i as f64 * 0.0063;
            for r in [0.3, 7.0, 150.0] {
                let (y, x) = (r * libm::sin(a * 1.7 - 3.0), r * libm::cos(a * 1.3 + 1.0));
                assert!((atan2_fast(y, x) - libm::atan2(y, x)).abs() < 2e-5, "{y} {x}");
            }
        }
    }
}
