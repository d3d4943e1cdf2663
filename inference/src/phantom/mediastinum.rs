//! Hand-placed mediastinal anatomy (body frame, mm), embedded in mediastinal
//! fat so that on a plain scan the vessels stand out as soft tissue against
//! fat: the heart ([`heart`]), the great arteries ([`great_vessels`]: aorta
//! with its arch branches, pulmonary trunk with the right and left pulmonary
//! arteries, where the lung arteries attach), the systemic veins
//! ([`systemic_veins`]), the trachea and main bronchi (as the first airway
//! branches) and the other contents ([`contents`]: oesophagus, thymus, lymph
//! nodes, thyroid).

mod contents;
mod great_vessels;
mod heart;
mod systemic_veins;

use glam::{DMat3, DVec3};

use super::anatomy::{AIRWAY_ID, Builder, VesselTrees};
use super::collide::{Kind, Seg};
use super::intensity::Tissue;
use super::shapes::Shape;
use super::structure::Structure;
use super::tree::NONE;

/// Where a pulmonary vein enters the left atrium.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct VeinOstium {
    /// 0 right lung, 1 left lung.
    pub side: usize,
    /// Superior (upper lobe) vein, or inferior (lower lobe; also the right
    /// middle lobe vein when it enters on its own, and a common left trunk).
    pub upper: bool,
    /// Start of the vein: 3 mm inside the atrial wall (body frame, mm).
    pub at: DVec3,
    /// Unit direction out of the atrium towards the hilum.
    pub dir: DVec3,
    /// Radius of the vein at the ostium (mm).
    pub radius: f64,
}

/// Hand-placed mediastinal anatomy and where the trees attach.
pub(super) struct Mediastinum {
    /// Airway branch index of the right and left main bronchus.
    pub main_bronchi: [u32; 2],
    /// Artery branch index of the last segment of the right and left pulmonary artery.
    pub pa_ends: [u32; 2],
    /// Offset direction (artery relative to bronchus) at the right and left hilum.
    pub pa_offsets: [DVec3; 2],
    /// Left atrium ellipsoid (body frame; axis-aligned): for growing veins
    /// around it (the tests read it today).
    #[allow(dead_code)]
    pub la: Shape,
    /// Pulmonary vein ostia on the left atrium: 2 per side in most seeds,
    /// 3 on the right or 1 on the left in some (3–5 in all).
    pub vein_ostia: Vec<VeinOstium>,
    /// Murray exponent of this patient.
    pub gamma: f64,
}

/// A radius drawn in `lo`–`hi` mm, scaled with the patient but kept in that
/// adult range.
pub(super) fn sized(b: &mut Builder, lo: f64, hi: f64) -> f64 {
    (b.rng.range(lo, hi) * b.s).clamp(lo, hi)
}

/// Adds a vessel segment with a fat sleeve `sleeve` mm thick, its solid to
/// the collision grid and, with `block`, a blocker so the lungs keep clear.
#[allow(clippy::too_many_arguments)]
pub(super) fn vessel(
    b: &mut Builder,
    part: Structure,
    (a, e): (DVec3, DVec3),
    (ra, rb): (f64, f64),
    tissue: Tissue,
    label: u8,
    sleeve: f64,
    block: bool,
) {
    b.part = part;
    b.tube(a, e, ra, rb, tissue, label, label != 0);
    if sleeve > 0.0 {
        b.part = Structure::MediastinalFat;
        b.tube(a, e, ra + sleeve, rb + sleeve, Tissue::Fat, 0, false);
    }
    if block {
        b.blockers.push(Shape::Tube { a, b: e, ra: ra + sleeve.max(2.0), rb: rb + sleeve.max(2.0) });
    }
    b.index.insert(Seg { a, b: e, r: ra.max(rb), kind: Kind::Other, id: 0 });
}

pub(super) fn mediastinum(b: &mut Builder, trees: &mut VesselTrees) -> Mediastinum {
    let s = b.s;
    let gamma = b.rng.range(2.7, 3.0);
    // --- Mediastinal fat: a narrow column above the arch, wider around the
    // great vessels and the hila.
    let upper = Shape::Ellipsoid {
        c: b.p(0.0, -12.0, 60.0),
        inv: DMat3::IDENTITY,
        r: DVec3::new(b.rng.range(22.0, 28.0), 42.0, 95.0) * s,
    };
    let middle = Shape::Ellipsoid {
        c: b.p(4.0, -12.0, -30.0),
        inv: DMat3::IDENTITY,
        r: DVec3::new(b.rng.range(34.0, 42.0), 50.0, 44.0) * s,
    };
    // Right paratracheal fat between the superior vena cava, the aorta and the trachea.
    let right =
        Shape::Ellipsoid { c: b.p(-18.0, -28.0, 32.0), inv: DMat3::IDENTITY, r: DVec3::new(16.0, 18.0, 26.0) * s };
    for col in [upper, middle, right] {
        b.part = Structure::MediastinalFat;
        b.add(col, Tissue::Fat, 0);
        b.blockers.push(col.offset(2.0));
    }
    let heart = heart::heart(b);
    let airways = airways(b, trees);
    let vessels = great_vessels::great_vessels(b, trees, &heart, &airways);
    systemic_veins::systemic_veins(b, &heart, &airways);
    contents::contents(b, &airways);
    Mediastinum {
        main_bronchi: airways.main_bronchi,
        pa_ends: vessels.pa_ends,
        pa_offsets: vessels.pa_offsets,
        la: heart.la,
        vein_ostia: heart.vein_ostia,
        gamma,
    }
}

/// Trachea and main bronchi: the first three airway branches (their walls
/// are painted with the rest of the airway tree).
pub(super) struct Airways {
    /// Trachea centreline points, top to the carina.
    pub trachea: [DVec3; 3],
    /// Trachea radius.
    pub r_trachea: f64,
    /// Airway branch of the right and left main bronchus.
    pub main_bronchi: [u32; 2],
    /// Ends of the right and left main bronchus.
    pub bronchus_ends: [DVec3; 2],
    /// Radii of the right and left main bronchus.
    pub bronchus_radii: [f64; 2],
}

fn airways(b: &mut Builder, trees: &mut VesselTrees) -> Airways {
    let s = b.s;
    let r_tr = sized(b, 8.0, 10.8);
    let carina = DVec3::ZERO;
    let tr = [b.p(0.0, -16.0, 150.0), b.p(0.0, -7.0, 70.0), carina];
    let mut prev = NONE;
    for w in tr.windows(2) {
        prev = trees.airway.push(prev, w[0], w[1], r_tr, 0);
        b.index.insert(Seg { a: w[0], b: w[1], r: r_tr, kind: Kind::Airway, id: AIRWAY_ID + prev });
    }
    let r_rmb = sized(b, 6.0, 7.6);
    let r_lmb = sized(b, 5.3, r_rmb - 0.3);
    let rmb_end = b.jitter(DVec3::new(-16.0, 3.0, -21.0) * s, 1.5);
    let lmb_end = b.jitter(DVec3::new(37.0, 7.0, -29.0) * s, 1.5);
    let rmb = trees.airway.push(prev, carina, rmb_end, r_rmb, 0);
    let lmb = trees.airway.push(prev, carina, lmb_end, r_lmb, 0);
    for (i, e, r) in [(rmb, rmb_end, r_rmb), (lmb, lmb_end, r_lmb)] {
        b.index.insert(Seg { a: carina, b: e, r, kind: Kind::Airway, id: AIRWAY_ID + i });
    }
    for w in tr.windows(2) {
        b.blockers.push(Shape::Tube { a: w[0], b: w[1], ra: r_tr + 3.0, rb: r_tr + 3.0 });
    }
    Airways {
        trachea: tr,
        r_trachea: r_tr,
        main_bronchi: [rmb, lmb],
        bronchus_ends: [rmb_end, lmb_end],
        bronchus_radii: [r_rmb, r_lmb],
    }
}

#[cfg(test)]
mod tests {
    use super::super::anatomy::BuildParams;
    use super::super::body::Body;
    use super::super::collide::Index;
    use super::super::rng::Rng;
    use super::*;

    /// The mediastinum of one seed, built as `anatomy::build` builds it.
    fn build(seed: u64) -> Mediastinum {
        let root = Rng::new(seed);
        let body = Body::draw(&mut root.fork(1));
        let parenchyma = super::super::parenchyma::Parenchyma::draw(&body, &mut root.fork(11));
        let params = BuildParams {
            min_vessel_radius: 0.4,
            min_airway_radius: 0.75,
            fov: (DVec3::splat(-400.0), DVec3::splat(400.0)),
        };
        let mut b = Builder {
            rng: root.fork(2),
            s: body.scale,
            prims: Vec::new(),
            index: Index::new(DVec3::new(-200.0, -160.0, -300.0), DVec3::new(200.0, 200.0, 200.0), 6.0),
            blockers: Vec::new(),
            body: &body,
            parenchyma: &parenchyma,
            params,
            part: Structure::Outside,
        };
        mediastinum(&mut b, &mut VesselTrees::default())
    }

    #[test]
    fn pulmonary_vein_ostia_are_three_to_five_mostly_four() {
        let mut hist = [0usize; 8];
        for seed in 0..60 {
            let m = build(seed);
            let n = m.vein_ostia.len();
            hist[n.min(7)] += 1;
            assert!((3..=5).contains(&n), "seed {seed}: {n} ostia");
            for o in &m.vein_ostia {
                // On the correct side of the atrium, pointing outwards, inside the wall.
                let Shape::Ellipsoid { c, .. } = m.la else { unreachable!() };
                let sign = if o.side == 0 { -1.0 } else { 1.0 };
                assert!(sign * (o.at.x - c.x) > 10.0 && sign * o.dir.x > 0.5, "seed {seed}: {o:?}");
                assert!(m.la.distance(o.at).0 < 0.0, "seed {seed}: ostium outside the atrium");
                assert!((4.0..=9.5).contains(&o.radius), "seed {seed}: radius {}", o.radius);
            }
            for side in 0..2 {
                assert!(m.vein_ostia.iter().any(|o| o.side == side), "seed {seed}: no vein on side {side}");
            }
        }
        let mode = (0..8).max_by_key(|&n| hist[n]).unwrap();
        assert_eq!(mode, 4, "ostia counts {hist:?}");
        assert!(hist[3] > 0 && hist[5] > 0, "ostia counts {hist:?}");
    }
}
