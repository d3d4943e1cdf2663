//! The spine from C7 to L2: vertebral bodies (heart-shaped section with a
//! concave back facing the canal, 1 mm cortex, endplates) growing from T1 to
//! T12, discs between them, pedicles, laminae, articular pillars, transverse
//! processes pointing posterolaterally, spinous processes that slope steeply
//! down in the mid-thoracic spine like roof tiles, and the spinal canal. The
//! column follows a thoracic kyphosis (convex posteriorly) whose depth varies
//! per seed; each vertebra is tilted to the curve's tangent.

use glam::{DMat3, DVec3};

use super::super::anatomy::Builder;
use super::super::body::Body;
use super::super::collide::{Kind, Seg};
use super::super::intensity::Tissue;
use super::super::rng::Rng;
use super::super::shapes::{Shape, rotation_xyz};
use super::super::structure::Structure;
use super::bar;

/// Levels C7, T1–T12, L1, L2: body height, disc height below, width, depth
/// (mm, before scaling) and canal radius.
const H: [f64; 15] = [13.5, 15.0, 15.6, 16.2, 16.8, 17.5, 18.2, 19.0, 19.8, 20.6, 21.4, 22.2, 23.0, 24.5, 25.5];
const DISC: [f64; 15] = [4.5, 4.0, 4.0, 4.2, 4.4, 4.6, 4.8, 5.0, 5.2, 5.5, 5.8, 6.2, 7.5, 9.0, 9.5];
const W: [f64; 15] = [25.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.5, 37.0, 39.0, 41.0, 43.0, 45.0, 47.0];
const D: [f64; 15] = [16.0, 17.0, 18.5, 20.0, 21.5, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.5, 30.5, 31.5, 33.0];
const RC: [f64; 15] = [10.0, 8.8, 8.2, 7.8, 7.6, 7.5, 7.5, 7.5, 7.5, 7.6, 7.8, 8.2, 8.6, 9.2, 9.6];
/// Spinous process: angle below the vertebra's horizontal (degrees), length
/// and half height (mm).
const SP_ANGLE: [f64; 15] = [15.0, 22.0, 32.0, 42.0, 52.0, 58.0, 60.0, 60.0, 58.0, 52.0, 42.0, 30.0, 18.0, 8.0, 5.0];
const SP_LEN: [f64; 15] = [42.0, 44.0, 42.0, 41.0, 40.0, 40.0, 40.0, 40.0, 39.0, 38.0, 36.0, 33.0, 30.0, 30.0, 30.0];
const SP_HALF: [f64; 15] = [5.0, 5.0, 4.6, 4.4, 4.2, 4.2, 4.2, 4.2, 4.2, 4.4, 4.8, 5.5, 6.5, 8.5, 9.0];
/// Transverse process: angle behind the lateral direction (degrees), length
/// and radius (mm).
const TP_ANGLE: [f64; 15] = [-5.0, 15.0, 25.0, 30.0, 35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 30.0, 20.0, 10.0, 0.0, 0.0];
const TP_LEN: [f64; 15] = [18.0, 27.0, 25.0, 24.0, 23.0, 22.0, 22.0, 21.0, 20.0, 19.0, 17.0, 12.0, 8.0, 16.0, 20.0];
const TP_R: [f64; 15] = [3.6, 4.6, 4.5, 4.4, 4.3, 4.3, 4.3, 4.3, 4.3, 4.3, 4.2, 4.0, 3.8, 3.4, 3.4];

/// One vertebra placed on the curve.
#[derive(Debug, Clone)]
pub(in super::super) struct Vertebra {
    /// Centre of the body.
    pub c: DVec3,
    /// Local → body frame: x lateral (left), y posterior, z along the spine.
    pub rot: DMat3,
    /// Body height, width, depth, canal radius (mm).
    pub h: f64,
    pub w: f64,
    pub d: f64,
    pub rc: f64,
    /// Row of the tables (0 = C7, 1–12 = T1–T12, 13 = L1, 14 = L2).
    pub level: usize,
    /// Length scale of the posterior elements.
    pub k: f64,
}

impl Vertebra {
    /// Body-frame point of local coordinates (mm).
    pub fn at(&self, x: f64, y: f64, z: f64) -> DVec3 {
        self.c + self.rot * DVec3::new(x, y, z)
    }

    /// Unit axis of the spine here (upward).
    pub fn axis(&self) -> DVec3 {
        self.rot * DVec3::Z
    }

    /// Centre of the spinal canal at this level.
    pub fn canal(&self) -> DVec3 {
        self.at(0.0, self.d * 0.5 + self.rc + 0.6, 0.0)
    }

    /// Root and tip of the transverse process on `side`.
    pub fn transverse(&self, side: f64) -> (DVec3, DVec3) {
        let l = self.level;
        let root = self.at(side * (self.rc + 4.0), self.d * 0.5 + self.rc + 2.5, 0.2 * self.h);
        let a = TP_ANGLE[l].to_radians();
        let dir = DVec3::new(side * libm::cos(a), libm::sin(a), 0.12).normalize();
        (root, root + self.rot * dir * TP_LEN[l] * self.k)
    }
}

/// The vertebrae from C7 (index 0) through T1–T12 (1–12) to L2 (14).
#[derive(Debug, Clone)]
pub(in super::super) struct Spine {
    pub v: Vec<Vertebra>,
}

impl Spine {
    /// Where the head of rib `n` (1–12) meets the spine on `side`: the disc
    /// between T(n−1) and Tn for ribs 2–9, the body of Tn for the others.
    pub fn rib_head(&self, n: usize, side: f64) -> DVec3 {
        let v = &self.v[n];
        let at = |v: &Vertebra, z: f64| v.at(side * (v.w * 0.5 + 2.0), v.d * 0.5 - 7.0, z);
        if (2..=9).contains(&n) {
            let u = &self.v[n - 1];
            (at(v, v.h * 0.5) + at(u, -u.h * 0.5)) * 0.5
        } else {
            at(v, 0.25 * v.h)
        }
    }

    /// Where rib `n` passes in front of the tip of its transverse process
    /// (ribs 1–10; for the floating ribs, a point lateral to the head).
    pub fn tubercle(&self, n: usize, side: f64) -> DVec3 {
        let v = &self.v[n];
        if n <= 10 {
            v.transverse(side).1 + v.rot * DVec3::new(-side, -5.5, -2.0)
        } else {
            self.rib_head(n, side) + v.rot * DVec3::new(side * 18.0, 5.0, -4.0)
        }
    }
}

/// Places the vertebrae: `pitch` is the mean level height (mm, unscaled).
pub(in super::super) fn layout(body: &Body, s: f64, pitch: f64, r: &mut Rng) -> Spine {
    let size = r.range(0.94, 1.06) * s;
    let canal = r.range(0.94, 1.08) * s;
    let k = pitch / 23.6 * s;
    // Kyphosis: how far T1 sits in front of the curve's apex (mm), and where the apex is.
    let sag = r.range(10.0, 24.0) * s;
    let apex = r.range(6.5, 8.0);
    // The T4/T5 disc lies near the carina.
    let z45 = r.range(-4.0, 12.0) * s;
    let mut z = [0.0f64; 15];
    z[4] = z45 + (DISC[4] * 0.5 + H[4] * 0.5) * k;
    for i in (0..4).rev() {
        z[i] = z[i + 1] + (H[i + 1] * 0.5 + DISC[i] + H[i] * 0.5) * k;
    }
    for i in 5..15 {
        z[i] = z[i - 1] - (H[i - 1] * 0.5 + DISC[i - 1] + H[i] * 0.5) * k;
    }
    let ai = apex.floor() as usize;
    let z_apex = z[ai] + (z[ai + 1] - z[ai]) * (apex - ai as f64);
    let (cy, _, cb) = body.cavity;
    let ia = apex.round() as usize;
    let y_apex = cy + 0.94 * cb - RC[ia] * canal - 0.6 - D[ia] * size * 0.5;
    let k_up = sag / ((z[1] - z_apex) * (z[1] - z_apex));
    // Below the apex the column runs straight down (supine, the lumbar
    // lordosis flattened), keeping clear of the aorta in front of it.
    let v = (0..15)
        .map(|i| {
            let dz = (z[i] - z_apex).max(0.0);
            let y = y_apex - k_up * dz * dz + [0.0, 1.0, 2.0, 3.5, 5.0, 6.0][i.saturating_sub(9).min(5)] * s;
            let slope = -2.0 * k_up * dz;
            Vertebra {
                c: DVec3::new(0.0, y, z[i]),
                rot: rotation_xyz(-libm::atan(slope), 0.0, 0.0),
                h: H[i] * k,
                w: W[i] * size,
                d: D[i] * size,
                rc: RC[i] * canal,
                level: i,
                k: size,
            }
        })
        .collect();
    Spine { v }
}

/// The three upright cylinders whose union is a vertebral body or disc: two
/// posterolateral lobes (leaving a notch at the back, facing the canal) and
/// an anterior one, centred `zc` along the axis, `half` high, grown by `grow`.
fn body_pieces(v: &Vertebra, rot: DMat3, c: DVec3, half: f64, grow: f64) -> [Shape; 3] {
    let (w, d) = (v.w, v.d);
    let rl = 0.33 * w;
    let rf = (0.4 * w).min(0.45 * d);
    let inv = rot.transpose();
    let cyl = |x: f64, y: f64, r: f64| Shape::Cylinder {
        c: c + rot * DVec3::new(x, y, 0.0),
        inv,
        radius: r + grow,
        half_height: half,
    };
    [cyl(-0.17 * w, d * 0.5 - rl, rl), cyl(0.17 * w, d * 0.5 - rl, rl), cyl(0.0, -d * 0.5 + rf, rf)]
}

/// Paints the spine and registers the vertebral bodies as obstacles.
pub(in super::super) fn paint(b: &mut Builder, sp: &Spine) {
    let n = sp.v.len();
    for (i, v) in sp.v.iter().enumerate() {
        let l = v.level;
        b.part = Structure::Vertebra;
        for p in body_pieces(v, v.rot, v.c, v.h * 0.5, 0.0) {
            b.bone(p, 1.0);
        }
        let disc = if i + 1 < n { DISC[l] * v.k } else { 5.0 };
        // Trees keep out of the body, and of the arch and rib necks behind it.
        let block = Shape::Cylinder { c: v.c, inv: v.rot.transpose(), radius: v.w * 0.5, half_height: v.h * 0.5 };
        b.blockers.push(block.offset(4.0));
        let (y1, y2) = (0.5 * v.d - 10.0, 0.5 * v.d + 2.0 * v.rc + 6.0);
        b.blockers.push(Shape::RoundBox {
            c: v.at(0.0, 0.5 * (y1 + y2), 0.0),
            inv: v.rot.transpose(),
            half: DVec3::new(v.w * 0.5 + 24.0, 0.5 * (y2 - y1) + 4.0, 0.5 * (v.h + disc) + 4.0),
            round: 6.0,
        });
        let half = v.axis() * (v.h * 0.5 + disc * 0.5);
        b.index.insert(Seg { a: v.c - half, b: v.c + half, r: v.w * 0.5, kind: Kind::Other, id: 0 });

        // Posterior arch.
        let y0 = v.d * 0.5;
        let rc = v.rc;
        // Soft tissue filling the foramina and the costovertebral corners, so
        // that no lung shows between the arch, the rib necks and the body.
        b.part = Structure::Paraspinal;
        let (y1, y2) = (0.15 * v.d, y0 + 2.0 * rc + 6.0);
        b.add(
            Shape::RoundBox {
                c: v.at(0.0, 0.5 * (y1 + y2), 0.0),
                inv: v.rot.transpose(),
                half: DVec3::new(v.w * 0.5 + 5.0, 0.5 * (y2 - y1), 0.5 * (v.h + disc) + 4.0),
                round: (0.3 * (y2 - y1)).min(0.5 * (v.h + disc)),
            },
            Tissue::Soft,
            0,
        );
        b.part = Structure::Vertebra;
        let up = v.axis();
        for side in [-1.0, 1.0] {
            // Pedicle: a short thick bar from the body back to the arch.
            let px = side * (rc + 3.0);
            let zp = 0.12 * v.h;
            b.bone(bar(v.at(px, y0 - 3.0, zp), v.at(px, y0 + rc + 3.0, zp), 0.3 * v.h + 1.0, 2.9, up, 2.4), 1.0);
            // Lamina: a plate from the pedicle back to the midline, top tilted forward.
            // It reaches down past the disc over the next lamina (shingled).
            let j = v.at(side * (rc + 3.5), y0 + rc + 3.0, -0.12 * v.h);
            let m = v.at(0.0, y0 + 2.0 * rc + 3.2, -0.17 * v.h);
            let tilt = v.rot * DVec3::new(0.0, -0.35, 1.0).normalize();
            b.bone(bar(j, m, 0.47 * v.h + 1.5, 2.3, tilt, 2.0), 0.9);
            // Articular pillar: superior and inferior processes with their facets.
            let ax = side * (rc + 4.2);
            b.bone(
                Shape::Tube {
                    a: v.at(ax, y0 + rc + 3.5, 0.62 * v.h),
                    b: v.at(ax * 0.95, y0 + rc + 5.5, -0.55 * v.h),
                    ra: 3.4,
                    rb: 3.4,
                },
                1.0,
            );
            // Transverse process, club-shaped at the tip.
            let (root, tip) = v.transverse(side);
            b.bone(Shape::Tube { a: root, b: tip, ra: TP_R[l], rb: TP_R[l] + 0.4 }, 1.0);
        }
        // Spinous process: long, sloping down, with a knob at the tip.
        let base = v.at(0.0, y0 + 2.0 * rc + 3.0, -0.05 * v.h);
        let a = SP_ANGLE[l].to_radians();
        let dir = v.rot * DVec3::new(0.0, libm::cos(a), -libm::sin(a));
        let tip = base + dir * SP_LEN[l] * v.k;
        b.bone(bar(base, tip, SP_HALF[l] * v.k, 2.6, up, 2.4), 1.0);
        b.bone(Shape::Tube { a: tip - dir * 5.0, b: tip, ra: 3.4, rb: 4.0 }, 1.0);

        // Disc to the next vertebra.
        if i + 1 < n {
            let u = &sp.v[i + 1];
            let top = u.at(0.0, 0.0, u.h * 0.5);
            let bottom = v.at(0.0, 0.0, -v.h * 0.5);
            let ax = bottom - top;
            let rot = rotation_xyz(libm::atan2(-ax.y, ax.z), 0.0, 0.0);
            let mid = Vertebra { w: 0.5 * (u.w + v.w), d: 0.5 * (u.d + v.d), ..v.clone() };
            b.part = Structure::Disc;
            for p in body_pieces(&mid, rot, (top + bottom) * 0.5, (ax.length() * 0.5 - 0.05).max(0.5), 0.4) {
                b.add(p, Tissue::Cartilage, 0);
            }
        }
    }
    // The canal: one tube per level, continued past both ends.
    b.part = Structure::SpinalCanal;
    let mut pts: Vec<(DVec3, f64)> = sp.v.iter().map(|v| (v.canal(), v.rc)).collect();
    let (first, last) = (&sp.v[0], &sp.v[n - 1]);
    pts.insert(0, (first.canal() + first.axis() * 25.0, first.rc));
    pts.push((last.canal() - last.axis() * 30.0, last.rc));
    for w in pts.windows(2) {
        b.tube(w[0].0, w[1].0, w[0].1, w[1].1, Tissue::Canal, 0, false);
    }
}
