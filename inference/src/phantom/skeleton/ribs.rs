//! Twelve pairs of ribs: head on the vertebral bodies, neck in front of the
//! transverse process, tubercle at its tip, then a flattened cortical band
//! (about 12 × 6 mm, 1 mm cortex around marrow) that hugs the cavity wall a
//! few millimetres outside the lung while it runs round the chest and down
//! toward the front, so that an axial slice cuts several ribs per side.
//! Costal cartilage joins ribs 1–7 to the sternum and ribs 8–10 to the
//! cartilage above (the costal margin); ribs 11 and 12 float. Cartilage
//! calcifies at its rims in some seeds.

use glam::DVec3;

use super::super::anatomy::Builder;
use super::super::body::Body;
use super::super::intensity::Tissue;
use super::super::rng::Rng;
use super::super::shapes::Shape;
use super::super::structure::Structure;
use super::spine::Spine;
use super::sternum::Sternum;
use super::{phi_at_x, wall, wall_normal};

/// Where each rib's bone ends, as the angle round the cavity from the
/// posterior midline (degrees), ribs 1–12.
const END: [f64; 12] = [145.0, 150.0, 147.0, 144.0, 140.0, 136.0, 131.0, 125.0, 118.0, 110.0, 93.0, 72.0];
/// How far each rib descends from its tubercle to its anterior end (mm).
const DROP: [f64; 12] = [40.0, 72.0, 90.0, 99.0, 103.0, 105.0, 105.0, 100.0, 94.0, 82.0, 54.0, 36.0];

/// One cross-section along a rib or cartilage: centre, the direction the
/// band is wide in, half the spread of its two lobes.
#[derive(Clone, Copy)]
struct Section {
    p: DVec3,
    h: DVec3,
    spread: f64,
}

/// Paints all ribs and costal cartilages.
pub(in super::super) fn paint(b: &mut Builder, sp: &Spine, st: &Sternum, r: &mut Rng) {
    let s = b.s;
    let slope = r.range(0.95, 1.15);
    let thick = r.range(0.92, 1.08) * s;
    let calcified = r.unit() < 0.35;
    let body = b.body;
    for side in [-1.0, 1.0] {
        // Cartilage centrelines, for ribs 8–10 to join the one above.
        let mut cart: Vec<Vec<DVec3>> = vec![Vec::new(); 13];
        for n in 1..=12 {
            let rc = if n >= 11 { 2.7 } else { 3.1 } * thick;
            // Rib 1 lies flat, so its breadth (not its thickness) faces the lung.
            let off = rc + 1.8 + if n == 1 { 2.8 * thick } else { 0.0 };
            let head = sp.rib_head(n, side);
            let tub = sp.tubercle(n, side);
            let z_t = tub.z - 1.0;
            let phi_a = phi_at_x(body, tub.x.abs() + 10.0, z_t, off, false);
            let phi_e = END[n - 1].to_radians();
            let drop = DROP[n - 1] * s * slope;
            let steps = (((phi_e - phi_a) * body.cavity.1 * 0.85) / 16.0).ceil().max(3.0) as usize;
            let mut path = vec![tub];
            for i in 0..=steps {
                let u = i as f64 / steps as f64;
                let z = z_t - drop * (0.35 * u + 0.65 * u * u);
                path.push(wall(body, side, phi_a + (phi_e - phi_a) * u, z, off));
            }
            // Neck: round, from the head on the spine to the tubercle.
            b.part = Structure::Rib;
            b.bone(Shape::Tube { a: head, b: tub, ra: 4.3 * thick, rb: 3.6 * thick }, 1.0);
            // Shaft: flattened band, narrow near the tubercle, broad in front.
            let spread = |u: f64| {
                let t = (u / 0.25).min(1.0);
                let base = 0.5 + 1.6 * t * t * (3.0 - 2.0 * t) + 0.5 * u;
                if n >= 11 { base * 0.7 * (1.0 - 0.6 * u) } else { base }
            } * thick;
            let secs = sections(body, &path, n == 1, |i| spread(i as f64 / (path.len() - 1) as f64));
            band(b, &secs, rc, Some(1.0), Tissue::Cortex);
            if n >= 11 {
                // A small cartilage cap on the floating tips.
                let (p, q) = (path[path.len() - 2], path[path.len() - 1]);
                b.part = Structure::CostalCartilage;
                b.tube(q, q + (q - p).normalize() * 9.0, rc * 0.8, rc * 0.5, Tissue::Cartilage, 0, false);
                continue;
            }
            // Costal cartilage along the anterior wall.
            let end = *path.last().unwrap();
            let offc = 3.3 * thick + 1.5;
            let (target, x_t) = if n <= 7 {
                let z = st.rib_z(n);
                let x = st.half_width(z) + 1.0;
                (DVec3::new(side * x, st.y(z), z), x)
            } else {
                let above = &cart[n - 1];
                let t = above[(above.len() as f64 * 0.45) as usize];
                (t - DVec3::Z * 3.0, t.x.abs())
            };
            let phi_t = phi_at_x(body, x_t, target.z, offc, true).max(phi_e + 0.05);
            let csteps = (((phi_t - phi_e) * body.cavity.1 * 0.8) / 12.0).ceil().max(2.0) as usize;
            let mut cpath = vec![end];
            for i in 1..csteps {
                let u = i as f64 / csteps as f64;
                let z = end.z + (target.z - end.z) * u;
                cpath.push(wall(body, side, phi_e + (phi_t - phi_e) * u, z, offc));
            }
            cpath.push(target);
            b.part = Structure::CostalCartilage;
            let csecs = sections(body, &cpath, n == 1, |_| 2.2 * thick);
            band(b, &csecs, 3.3 * thick, None, Tissue::Cartilage);
            if calcified && n <= 7 {
                for w in csecs.windows(2) {
                    if r.unit() < 0.5 {
                        for sgn in [-1.0, 1.0] {
                            let e = |c: &Section| c.p + c.h * sgn * (c.spread + 3.3 * thick + 0.1);
                            b.tube(e(&w[0]), e(&w[1]), 0.9, 0.9, Tissue::Cortex, 0, false);
                        }
                    }
                }
            }
            cart[n] = cpath;
        }
    }
}

/// Cross-sections along `path`: the band is wide along the wall, across the
/// rib's course (rib 1, `flat`, lies in the horizontal plane instead).
fn sections(body: &Body, path: &[DVec3], flat: bool, spread: impl Fn(usize) -> f64) -> Vec<Section> {
    let n = path.len();
    (0..n)
        .map(|i| {
            let p = path[i];
            let t = (path[(i + 1).min(n - 1)] - path[i.saturating_sub(1)]).normalize_or(DVec3::Z);
            let nrm = wall_normal(body, p);
            let h = if flat { (nrm - t * t.dot(nrm)).normalize_or(nrm) } else { nrm.cross(t).normalize_or(DVec3::Z) };
            Section { p, h, spread: spread(i) }
        })
        .collect()
}

/// Paints a band of two parallel tubes per segment (radius `r`, lobes at
/// ±spread): as bone with a cortex of `cortex` mm, or of one `tissue`.
fn band(b: &mut Builder, secs: &[Section], r: f64, cortex: Option<f64>, tissue: Tissue) {
    for w in secs.windows(2) {
        let (p, q) = (&w[0], &w[1]);
        for sgn in [-1.0, 1.0] {
            let a = p.p + p.h * p.spread * sgn;
            let c = q.p + q.h * q.spread * sgn;
            match cortex {
                Some(t) => {
                    b.add(Shape::Tube { a, b: c, ra: r, rb: r }, Tissue::Cortex, 0);
                    let am = p.p + p.h * p.spread * sgn * 0.75;
                    let cm = q.p + q.h * q.spread * sgn * 0.75;
                    b.add(Shape::Tube { a: am, b: cm, ra: r - t, rb: r - t }, Tissue::Marrow, 0);
                }
                None => b.add(Shape::Tube { a, b: c, ra: r, rb: r }, tissue, 0),
            }
        }
    }
}
