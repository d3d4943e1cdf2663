//! The rest of the mediastinum: the oesophagus (collapsed, behind the
//! trachea and the left atrium, sometimes with a small air bubble), the
//! fatty thymic remnant with a few soft-tissue strands in the anterior
//! mediastinum, a few oval lymph nodes (paratracheal, subcarinal,
//! aortopulmonary window, prevascular) and the thyroid lobes either side of
//! the trachea at the top of the field.

use glam::{DMat3, DVec3};

use super::super::anatomy::{Builder, frame};
use super::super::collide::{Kind, Seg};
use super::super::intensity::Tissue;
use super::super::shapes::Shape;
use super::super::structure::Structure;
use super::Airways;

pub(super) fn contents(b: &mut Builder, aw: &Airways) {
    oesophagus(b);
    thymus(b);
    lymph_nodes(b, aw);
    thyroid(b, aw);
}

fn oesophagus(b: &mut Builder) {
    let s = b.s;
    let eso = [
        b.p(-3.0, 6.0, 170.0),
        b.p(-4.0, 12.0, 90.0),
        b.p(2.0, 18.0, 10.0),
        b.p(-2.0, 36.0, -60.0),
        b.p(6.0, 32.0, -150.0),
        b.p(36.0, 14.0, -200.0),
    ];
    // Collapsed: two overlapping tubes side by side make a flat oval about
    // 2r wide and 1.4r deep.
    let r = b.rng.range(6.5, 8.5) * s;
    let half = DVec3::X * 0.3 * r;
    for w in eso.windows(2) {
        b.part = Structure::MediastinalFat;
        b.tube(w[0], w[1], r + 3.5, r + 3.5, Tissue::Fat, 0, false);
        b.part = Structure::Oesophagus;
        for o in [-half, half] {
            b.tube(w[0] + o, w[1] + o, 0.7 * r, 0.7 * r, Tissue::Soft, 0, false);
        }
        b.blockers.push(Shape::Tube { a: w[0], b: w[1], ra: r + 3.0, rb: r + 3.0 });
        b.index.insert(Seg { a: w[0], b: w[1], r, kind: Kind::Other, id: 0 });
    }
    // A small air bubble in about half of the seeds.
    if b.rng.unit() < 0.5 {
        let t = b.rng.range(0.2, 0.8);
        let k = b.rng.index(3) + 1;
        let c = eso[k] + (eso[k + 1] - eso[k]) * t;
        let rr = DVec3::new(b.rng.range(1.5, 3.5), b.rng.range(1.0, 2.5), b.rng.range(3.0, 8.0)) * s;
        b.part = Structure::Oesophagus;
        b.add(Shape::Ellipsoid { c, inv: DMat3::IDENTITY, r: rr }, Tissue::Gas, 0);
    }
}

fn thymus(b: &mut Builder) {
    let s = b.s;
    // Fatty remnant: a flat triangle-ish wedge behind the sternum, in front
    // of the great vessels.
    let c = b.jitter(DVec3::new(2.0, -58.0, 10.0) * s, 3.0);
    let body = Shape::Ellipsoid { c, inv: DMat3::IDENTITY, r: DVec3::new(24.0, 8.0, 36.0) * s };
    b.part = Structure::Thymus;
    b.add(body, Tissue::Fat, 0);
    b.blockers.push(body.offset(3.0));
    // Soft-tissue strands in it.
    for _ in 0..b.rng.index(3) + 3 {
        let a = c + DVec3::new(b.rng.sym(18.0), b.rng.sym(4.0), b.rng.sym(26.0)) * s;
        let e = a + DVec3::new(b.rng.sym(8.0), b.rng.sym(3.0), b.rng.sym(14.0)) * s;
        let (ra, rb) = (b.rng.range(0.8, 1.8), b.rng.range(0.6, 1.4));
        b.tube(a, e, ra, rb, Tissue::Soft, 0, false);
    }
}

fn lymph_nodes(b: &mut Builder, aw: &Airways) {
    let s = b.s;
    let x_tr = aw.r_trachea;
    let sites = [
        // Right lower paratracheal: between the trachea and the superior vena cava.
        DVec3::new(-x_tr - 10.0, -14.0, 18.0),
        // Subcarinal: between the main bronchi, above the left atrium.
        DVec3::new(4.0, 10.0, -22.0),
        // Aortopulmonary window: under the arch, left of the trachea.
        DVec3::new(20.0, -14.0, 10.0),
        // Prevascular: in front of the ascending aorta.
        DVec3::new(-4.0, -62.0, -8.0),
        // Left paratracheal.
        DVec3::new(x_tr + 6.0, -8.0, 45.0),
    ];
    let n = 3 + b.rng.index(3);
    for &p in sites.iter().take(n) {
        let c = b.jitter(p * s, 2.0);
        let axis = b.jitter(DVec3::Z, 0.4).normalize();
        let short = b.rng.range(2.5, 4.5);
        let r = DVec3::new(b.rng.range(short, 5.0), short, short);
        let node = Shape::Ellipsoid { c, inv: frame(axis, DVec3::X), r };
        b.part = Structure::MediastinalFat;
        b.add(node.offset(2.0), Tissue::Fat, 0);
        b.part = Structure::LymphNode;
        b.add(node, Tissue::Soft, 0);
        b.blockers.push(node.offset(3.0));
    }
}

fn thyroid(b: &mut Builder, aw: &Airways) {
    let s = b.s;
    let dir = (aw.trachea[0] - aw.trachea[1]).normalize();
    let low = b.rng.range(88.0, 100.0) * s;
    let base = aw.trachea[1] + dir * (low - aw.trachea[1].z) / dir.z;
    let size = b.rng.range(0.85, 1.15);
    let tissue = Tissue::Thyroid;
    b.part = Structure::Thyroid;
    for side in [-1.0, 1.0] {
        let c = base + DVec3::new(side * (aw.r_trachea + 7.0 * s), -4.0 * s, 24.0 * s * size);
        let lobe = Shape::Ellipsoid {
            c,
            inv: frame(DVec3::new(side * 0.15, -0.15, 1.0), DVec3::X),
            r: DVec3::new(24.0, 8.0, 10.0) * s * size,
        };
        b.add(lobe, tissue, 0);
    }
    // Isthmus in front of the trachea.
    let front = base + DVec3::new(0.0, -aw.r_trachea - 4.0 * s, 16.0 * s);
    b.tube(front - DVec3::X * 10.0 * s, front + DVec3::X * 10.0 * s, 4.0 * s, 4.0 * s, tissue, 0, false);
}
