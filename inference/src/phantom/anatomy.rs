//! The anatomy of one phantom as a list of primitives (in patient mm) and the
//! three vessel trees with their radii.
//!
//! Built in the body frame (see [`super::body`]), carina at the origin, sizes
//! scaled per seed; every primitive is moved into patient space by the
//! per-seed rotation and shift at the end, so the rasteriser never resamples.
//!
//! Order of construction: skeleton and mediastinum (hand-placed: trachea and
//! main bronchi, aorta with its three arch branches, pulmonary trunk with the
//! right and left pulmonary arteries, heart chambers, caval veins); then the
//! airway tree grown to fill each lung; then the pulmonary arteries, which
//! follow the bronchi at a fixed offset; then the four pulmonary veins, grown
//! from the left atrium to fill the lungs while keeping clear of the
//! bronchovascular bundles (so they end up intersegmental). A collision grid
//! keeps every tree from running through another.

use glam::{DMat3, DVec3};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

use super::body::Body;
use super::collide::{Index, Kind, Seg};
use super::intensity::Tissue;
use super::rng::Rng;
use super::shapes::{Shape, any_perpendicular, rotate_about, rotation_xyz};
use super::tree::{GrowParams, NONE, Tree, grow};
use super::{AIRWAY, HEART};

/// One painted solid: its shape, what it is made of, the label it gives the
/// voxels whose centres it contains (0 for none) and whether its centreline
/// is also labelled voxel by voxel (vessels, to keep thin ones connected).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prim {
    /// Geometry in patient mm.
    pub shape: Shape,
    /// Material (and painting order: later tissues paint over earlier ones).
    pub tissue: Tissue,
    /// Label class, 0 for none.
    pub label: u8,
    /// Label the digital line along the axis too (tubes only).
    pub centreline: bool,
}

/// The three trees of a phantom, in patient mm. Arteries and veins include the
/// hand-placed central parts (pulmonary trunk, right and left pulmonary
/// arteries; the four venous trunks) as their first branches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VesselTrees {
    /// Trachea, main bronchi and the bronchial tree (also the invisible small
    /// branches that the arteries follow).
    pub airway: Tree,
    /// Pulmonary arteries, rooted at the pulmonary valve.
    pub artery: Tree,
    /// Pulmonary veins, four roots at the left atrium.
    pub vein: Tree,
    /// Aorta: ascending, arch, descending and the three arch branches.
    pub aorta: Tree,
}

/// Everything the rasteriser needs.
#[derive(Debug, Clone)]
pub struct Anatomy {
    /// The analytic thorax.
    pub body: Body,
    /// Primitives in painting order.
    pub prims: Vec<Prim>,
    /// Vessel centrelines and radii.
    pub trees: VesselTrees,
    /// Airway branches whose artery could not be placed without a collision.
    pub arteries_dropped: usize,
}

/// Knobs that depend on the output grid.
#[derive(Debug, Clone, Copy)]
pub struct BuildParams {
    /// Vessels thinner than this radius (mm) are not painted.
    pub min_vessel_radius: f64,
    /// Airways thinner than this radius (mm) are not painted.
    pub min_airway_radius: f64,
    /// The scanned box (patient mm, voxel centres): trees stay inside it.
    pub fov: (DVec3, DVec3),
}

const ARTERY_ID: u32 = 1 << 28;
const VEIN_ID: u32 = 2 << 28;
const AIRWAY_ID: u32 = 3 << 28;

/// Local frame whose first axis is `e1` (unit), second as close to `up` as possible.
fn frame(e1: DVec3, up: DVec3) -> DMat3 {
    let e1 = e1.normalize();
    let e2 = (up - e1 * e1.dot(up)).normalize();
    let e3 = e1.cross(e2);
    DMat3::from_cols(e1, e2, e3).transpose()
}

/// Signed distance to where lung tissue (and so a tree) may be: inside the
/// lungs of `body`, outside every mediastinal `blocker`, and inside the
/// scanned box `fov` (patient mm, so trees never leave and re-enter the image).
fn lung_sdf(body: &Body, blockers: &[Shape], fov: (DVec3, DVec3), b: DVec3) -> f64 {
    let mut d = body.lung_distance(b);
    for s in blockers {
        d = d.max(-s.distance(b).0);
    }
    let p = body.to_patient(b);
    let out = (fov.0 - p).max(p - fov.1).max_element();
    d.max(out + 3.0)
}

struct Builder<'a> {
    rng: Rng,
    s: f64,
    prims: Vec<Prim>,
    index: Index,
    /// Solids the lungs must avoid (mediastinum), body frame, with margins.
    blockers: Vec<Shape>,
    body: &'a Body,
    params: BuildParams,
}

impl Builder<'_> {
    fn add(&mut self, shape: Shape, tissue: Tissue, label: u8) {
        self.prims.push(Prim { shape, tissue, label, centreline: false });
    }

    #[allow(clippy::too_many_arguments)]
    fn tube(&mut self, a: DVec3, b: DVec3, ra: f64, rb: f64, tissue: Tissue, label: u8, centreline: bool) {
        self.prims.push(Prim { shape: Shape::Tube { a, b, ra, rb }, tissue, label, centreline });
    }

    /// A bone: cortex of thickness `t` around marrow.
    fn bone(&mut self, shape: Shape, t: f64) {
        self.add(shape, Tissue::Cortex, 0);
        self.add(shape.offset(-t), Tissue::Marrow, 0);
    }

    fn p(&self, x: f64, y: f64, z: f64) -> DVec3 {
        DVec3::new(x, y, z) * self.s
    }

    fn jitter(&mut self, v: DVec3, a: f64) -> DVec3 {
        v + DVec3::new(self.rng.sym(a), self.rng.sym(a), self.rng.sym(a))
    }

    /// Signed distance to the lung (cavity above the diaphragm, outside the mediastinum).
    fn lung_distance(&self, b: DVec3) -> f64 {
        lung_sdf(self.body, &self.blockers, self.params.fov, b)
    }
}

/// Builds the anatomy for one seed.
pub fn build(seed_rng: &Rng, params: BuildParams) -> Anatomy {
    let body = Body::draw(&mut seed_rng.fork(1));
    let s = body.scale;
    let lo = DVec3::new(-200.0, -160.0, -300.0);
    let hi = DVec3::new(200.0, 200.0, 200.0);
    let mut b = Builder {
        rng: seed_rng.fork(2),
        s,
        prims: Vec::new(),
        index: Index::new(lo, hi, 6.0),
        blockers: Vec::new(),
        body: &body,
        params,
    };
    let mut trees = VesselTrees::default();

    skeleton(&mut b);
    let m = mediastinum(&mut b, &mut trees);
    let arteries_dropped = lungs(&mut b, &mut trees, &m);

    // Painting order: by tissue, stable within a tissue.
    let mut prims = std::mem::take(&mut b.prims);
    prims.sort_by_key(|p| p.tissue);
    let prims = prims.into_iter().map(|p| Prim { shape: to_patient(&body, p.shape), ..p }).collect();
    for t in [&mut trees.airway, &mut trees.artery, &mut trees.vein, &mut trees.aorta] {
        for br in &mut t.branches {
            br.start = body.to_patient(br.start);
            br.end = body.to_patient(br.end);
        }
    }
    Anatomy { body, prims, trees, arteries_dropped }
}

fn to_patient(body: &Body, s: Shape) -> Shape {
    match s {
        Shape::Tube { a, b, ra, rb } => Shape::Tube { a: body.to_patient(a), b: body.to_patient(b), ra, rb },
        Shape::Ellipsoid { c, inv, r } => Shape::Ellipsoid { c: body.to_patient(c), inv: inv * body.rot_inv, r },
        Shape::Cylinder { c, inv, radius, half_height } => {
            Shape::Cylinder { c: body.to_patient(c), inv: inv * body.rot_inv, radius, half_height }
        }
        Shape::RoundBox { c, inv, half, round } => {
            Shape::RoundBox { c: body.to_patient(c), inv: inv * body.rot_inv, half, round }
        }
    }
}

/// Spine, ribs, sternum, scapulae, clavicles.
fn skeleton(b: &mut Builder) {
    let s = b.s;
    let y_spine = 64.0 * s;
    let h_v = b.rng.range(22.0, 25.0) * s;
    let z_t1 = 88.0 * s;
    let disc = 5.0 * s;
    let (cy, ca, cb) = b.body.cavity;
    // Spinal canal: one long cylinder.
    let r_body0 = 15.0 * s;
    for k in 0..17 {
        let z = z_t1 - k as f64 * h_v;
        let rb = r_body0 + 0.45 * k as f64 * s;
        let c = DVec3::new(0.0, y_spine, z);
        let body = Shape::Cylinder { c, inv: DMat3::IDENTITY, radius: rb, half_height: (h_v - disc) / 2.0 };
        b.bone(body, 1.4);
        b.blockers.push(body.offset(4.0));
        b.index.insert(Seg {
            a: c - DVec3::Z * h_v / 2.0,
            b: c + DVec3::Z * h_v / 2.0,
            r: rb,
            kind: Kind::Other,
            id: 0,
        });
        let d = Shape::Cylinder {
            c: c - DVec3::Z * h_v / 2.0,
            inv: DMat3::IDENTITY,
            radius: rb - 1.0,
            half_height: disc / 2.0,
        };
        b.add(d, Tissue::Cartilage, 0);
        // Posterior arch: pedicles, laminae, spinous and transverse processes.
        let yb = y_spine + rb;
        let zz = z + 3.0 * s;
        for side in [-1.0, 1.0] {
            let ped = DVec3::new(side * 9.0 * s, yb + 10.0 * s, zz);
            b.bone(
                Shape::Tube { a: DVec3::new(side * 8.0 * s, yb - 4.0 * s, zz), b: ped, ra: 4.0 * s, rb: 4.0 * s },
                1.2,
            );
            b.bone(Shape::Tube { a: ped, b: DVec3::new(0.0, yb + 22.0 * s, z), ra: 3.8 * s, rb: 3.8 * s }, 1.2);
            let tip = DVec3::new(side * 30.0 * s, yb + 16.0 * s, zz + 2.0 * s);
            b.bone(Shape::Tube { a: ped, b: tip, ra: 4.2 * s, rb: 3.6 * s }, 1.2);
            // Rib from the transverse process around the cavity.
            if (1..=12).contains(&(k + 1)) {
                rib(b, k + 1, side, tip, z, cy, ca, cb);
            }
        }
        b.bone(
            Shape::Tube {
                a: DVec3::new(0.0, yb + 20.0 * s, z),
                b: DVec3::new(0.0, yb + 40.0 * s, z - 14.0 * s),
                ra: 4.2 * s,
                rb: 3.2 * s,
            },
            1.2,
        );
    }
    let canal_c = DVec3::new(0.0, y_spine + r_body0 + 9.0 * s, z_t1 - 8.0 * h_v);
    b.add(
        Shape::Cylinder { c: canal_c, inv: DMat3::IDENTITY, radius: 8.0 * s, half_height: 10.0 * h_v },
        Tissue::Canal,
        0,
    );
    // Sternum: manubrium and body.
    let y_st = cy - cb - 5.0 * s;
    let man = Shape::RoundBox {
        c: DVec3::new(0.0, y_st, 22.0 * s),
        inv: DMat3::IDENTITY,
        half: DVec3::new(24.0, 6.5, 22.0) * s,
        round: 4.0 * s,
    };
    let st = Shape::RoundBox {
        c: DVec3::new(0.0, y_st + 1.0 * s, -62.0 * s),
        inv: DMat3::IDENTITY,
        half: DVec3::new(14.0, 5.5, 62.0) * s,
        round: 4.0 * s,
    };
    b.bone(man, 1.5);
    b.bone(st, 1.5);
    // Scapulae: plates behind the upper ribs.
    for side in [-1.0f64, 1.0] {
        let c = DVec3::new(side * 92.0 * s, cy + 0.78 * cb + 12.0 * s, 15.0 * s);
        let inv = rotation_xyz(0.0, 0.0, -side * 0.75).transpose();
        b.bone(Shape::RoundBox { c, inv, half: DVec3::new(38.0, 3.5, 60.0) * s, round: 3.0 * s }, 1.2);
        // Clavicle from the manubrium out to the shoulder.
        let a = DVec3::new(side * 20.0 * s, y_st - 4.0 * s, 44.0 * s);
        let m = DVec3::new(side * 75.0 * s, y_st + 2.0 * s, 58.0 * s);
        let e = DVec3::new(side * 130.0 * s, y_st + 40.0 * s, 72.0 * s);
        b.bone(Shape::Tube { a, b: m, ra: 7.0 * s, rb: 6.0 * s }, 1.5);
        b.bone(Shape::Tube { a: m, b: e, ra: 6.0 * s, rb: 6.5 * s }, 1.5);
    }
}

/// Rib `n` (1–12) on one side, from the transverse process tip around the
/// cavity wall, sloping down toward the front and ending in costal cartilage.
#[allow(clippy::too_many_arguments)]
fn rib(b: &mut Builder, n: usize, side: f64, tip: DVec3, z0: f64, cy: f64, ca: f64, cb: f64) {
    let s = b.s;
    let end_deg: f64 = match n {
        1 => 150.0,
        2..=7 => 158.0,
        8 => 145.0,
        9 => 130.0,
        10 => 115.0,
        11 => 95.0,
        _ => 75.0,
    };
    let drop = match n {
        1 => 25.0,
        2 => 40.0,
        _ => 55.0 + 3.0 * n as f64,
    } * s;
    let steps = 14;
    let r = 4.6 * s;
    let mut prev = tip;
    let phi0 = 0.45f64;
    let phi1 = end_deg.to_radians();
    for i in 1..=steps {
        let u = i as f64 / steps as f64;
        let phi = phi0 + (phi1 - phi0) * u;
        let z = z0 + 4.0 * s * (1.0 - u) - drop * libm::pow(u, 1.4);
        let f = b.body.cavity_factor(z).max(0.35);
        let off = 7.0 * s;
        let p = DVec3::new(side * (ca * f + off) * libm::sin(phi), cy + (cb * f + off) * libm::cos(phi), z);
        b.bone(Shape::Tube { a: prev, b: p, ra: r, rb: r }, 1.3);
        prev = p;
    }
    if n <= 10 {
        // Costal cartilage toward the sternal edge.
        let (_, _, _) = (cy, ca, cb);
        let st = DVec3::new(side * 16.0 * s, cy - cb - 4.0 * s, prev.z.max(-120.0 * s) + 6.0 * s);
        let st = if n > 7 { prev + (st - prev) * 0.5 + DVec3::new(0.0, 0.0, -8.0 * s) } else { st };
        b.tube(prev, st, r * 0.9, r * 0.85, Tissue::Cartilage, 0, false);
    }
}

/// Hand-placed mediastinal anatomy and where the trees attach.
struct Mediastinum {
    /// Airway branch index of the right and left main bronchus.
    main_bronchi: [u32; 2],
    /// Artery branch index of the last segment of the right and left pulmonary artery.
    pa_ends: [u32; 2],
    /// Offset direction (artery relative to bronchus) at the right and left hilum.
    pa_offsets: [DVec3; 2],
    /// Left atrium ellipsoid (body frame).
    la: Shape,
    /// Murray exponent of this patient.
    gamma: f64,
}

#[allow(clippy::too_many_lines)]
fn mediastinum(b: &mut Builder, trees: &mut VesselTrees) -> Mediastinum {
    let s = b.s;
    let gamma = b.rng.range(2.7, 3.0);
    // --- Mediastinal fat: a narrow column above the arch, wider around the
    // great vessels and the hila.
    let upper = Shape::Ellipsoid {
        c: b.p(0.0, -14.0, 60.0),
        inv: DMat3::IDENTITY,
        r: DVec3::new(b.rng.range(22.0, 28.0), 58.0, 95.0) * s,
    };
    let middle = Shape::Ellipsoid {
        c: b.p(4.0, -12.0, -30.0),
        inv: DMat3::IDENTITY,
        r: DVec3::new(b.rng.range(40.0, 48.0), 60.0, 50.0) * s,
    };
    for col in [upper, middle] {
        b.add(col, Tissue::Fat, 0);
        b.blockers.push(col.offset(2.0));
    }
    // --- Heart.
    let hs = b.rng.range(0.9, 1.08) * s;
    let heart_c = b.jitter(DVec3::new(12.0, -18.0, -92.0) * s, 4.0);
    let heart_inv = frame(DVec3::new(0.78, -0.42, -0.46), DVec3::Z);
    let heart = Shape::Ellipsoid { c: heart_c, inv: heart_inv, r: DVec3::new(62.0, 47.0, 42.0) * hs };
    let pericardial = b.rng.range(4.0, 9.0);
    b.add(heart.offset(pericardial), Tissue::Fat, 0);
    b.blockers.push(heart.offset(6.0));
    b.add(heart, Tissue::Myocardium, HEART);
    let rel = |v: DVec3| heart_c + (v - DVec3::new(12.0, -18.0, -92.0)) * hs;
    let ra = Shape::Ellipsoid {
        c: rel(DVec3::new(-30.0, -10.0, -82.0)),
        inv: DMat3::IDENTITY,
        r: DVec3::new(24.0, 24.0, 30.0) * hs,
    };
    let rv = Shape::Ellipsoid {
        c: rel(DVec3::new(6.0, -40.0, -100.0)),
        inv: rotation_xyz(0.0, 0.0, -0.35).transpose(),
        r: DVec3::new(36.0, 15.0, 28.0) * hs,
    };
    let lv = Shape::Ellipsoid {
        c: rel(DVec3::new(36.0, -12.0, -106.0)),
        inv: heart_inv,
        r: DVec3::new(34.0, 20.0, 22.0) * hs,
    };
    let la_c = b.jitter(DVec3::new(6.0, 16.0, -60.0) * s, 2.0);
    let la = Shape::Ellipsoid { c: la_c, inv: DMat3::IDENTITY, r: DVec3::new(30.0, 15.0, 19.0) * hs };
    b.add(ra, Tissue::RightHeartBlood, HEART);
    b.add(rv, Tissue::RightHeartBlood, HEART);
    b.add(lv, Tissue::LeftVentricleBlood, HEART);
    b.add(la.offset(2.0), Tissue::Myocardium, HEART);
    b.add(la, Tissue::LeftAtriumBlood, VEIN);
    b.blockers.push(la.offset(5.0));
    // RV outflow tract.
    let pv_valve = b.jitter(DVec3::new(20.0, -54.0, -62.0) * s, 2.0);
    b.tube(rel(DVec3::new(10.0, -45.0, -90.0)), pv_valve, 12.0 * hs, 11.0 * hs, Tissue::RightHeartBlood, HEART, false);

    // --- Caval veins (heart label) and brachiocephalic veins.
    let r_svc = b.rng.range(8.0, 10.5) * s;
    let svc = [
        b.p(-33.0, -36.0, 140.0),
        b.p(-34.0, -35.0, 78.0),
        b.p(-37.0, -28.0, -10.0),
        rel(DVec3::new(-31.0, -16.0, -62.0)),
    ];
    for w in svc.windows(2) {
        b.tube(w[0], w[1], r_svc, r_svc, Tissue::RightHeartBlood, HEART, false);
        b.tube(w[0], w[1], r_svc + 6.0, r_svc + 6.0, Tissue::Fat, 0, false);
        b.blockers.push(Shape::Tube { a: w[0], b: w[1], ra: r_svc + 4.0, rb: r_svc + 4.0 });
        b.index.insert(Seg { a: w[0], b: w[1], r: r_svc, kind: Kind::Other, id: 0 });
    }
    b.tube(b.p(45.0, -30.0, 96.0), svc[1], 6.0 * s, 7.0 * s, Tissue::RightHeartBlood, HEART, false);
    let ivc_top = rel(DVec3::new(-30.0, -4.0, -104.0));
    b.tube(b.p(-26.0, 10.0, -280.0), ivc_top, 12.0 * s, 12.0 * s, Tissue::RightHeartBlood, HEART, false);

    // --- Aorta.
    let r_asc = b.rng.range(13.0, 16.5) * s;
    let r_arch = b.rng.range(11.5, r_asc / s - 0.5) * s;
    let r_desc = b.rng.range(10.0, r_arch / s - 0.5) * s;
    let pts = [
        (rel(DVec3::new(-2.0, -26.0, -66.0)), r_asc + 1.0),
        (b.p(-12.0, -42.0, -35.0), r_asc),
        (b.p(-14.0, -46.0, -8.0), r_asc),
        (b.p(-8.0, -42.0, 18.0), 0.5 * (r_asc + r_arch)),
        (b.p(6.0, -32.0, 34.0), r_arch),
        (b.p(24.0, -10.0, 32.0), r_arch),
        (b.p(28.0, 14.0, 22.0), 0.5 * (r_arch + r_desc)),
        (b.p(28.0, 38.0, 4.0), r_desc),
        (b.p(28.0, 46.0, -30.0), r_desc),
        (b.p(24.0, 46.0, -100.0), r_desc - 0.5),
        (b.p(18.0, 44.0, -170.0), r_desc - 1.0),
        (b.p(12.0, 40.0, -290.0), r_desc - 1.5),
    ];
    let mut prev = NONE;
    for w in pts.windows(2) {
        let (p0, r0) = w[0];
        let (p1, r1) = w[1];
        prev = trees.aorta.push(prev, p0, p1, r0, 0);
        b.tube(p0, p1, r0, r1, Tissue::AortaBlood, AORTA, true);
        b.tube(p0, p1, r0 + 6.0, r1 + 6.0, Tissue::Fat, 0, false);
        b.blockers.push(Shape::Tube { a: p0, b: p1, ra: r0 + 6.0, rb: r1 + 6.0 });
        b.index.insert(Seg { a: p0, b: p1, r: r0.max(r1), kind: Kind::Other, id: 0 });
    }
    // Arch branches: brachiocephalic trunk (right), left common carotid, left subclavian.
    let arch_seg = 4; // pts[4]..pts[5]
    let branches = [
        (0.05, b.rng.range(5.5, 7.0) * s, vec![b.p(-16.0, -32.0, 78.0), b.p(-22.0, -26.0, 150.0)], arch_seg - 1, 0.75),
        (0.45, b.rng.range(3.5, 4.5) * s, vec![b.p(8.0, -24.0, 80.0), b.p(9.0, -22.0, 150.0)], arch_seg, 0.0),
        (0.85, b.rng.range(4.5, 5.5) * s, vec![b.p(32.0, -10.0, 82.0), b.p(62.0, -4.0, 112.0)], arch_seg, 0.0),
    ];
    for (t, r, path, seg, t_alt) in branches {
        let (a0, a1) = (pts[seg].0, pts[seg + 1].0);
        let t = if t_alt > 0.0 { t_alt } else { t };
        let start = a0 + (a1 - a0) * t;
        let mut parent = seg as u32;
        let mut p = start;
        for q in path {
            parent = trees.aorta.push(parent, p, q, r, 0);
            b.tube(p, q, r, r, Tissue::AortaBlood, AORTA, true);
            b.tube(p, q, r + 2.5, r + 2.5, Tissue::Fat, 0, false);
            b.index.insert(Seg { a: p, b: q, r, kind: Kind::Other, id: 0 });
            p = q;
        }
    }

    // --- Oesophagus.
    let eso = [
        b.p(-2.0, 14.0, 150.0),
        b.p(0.0, 20.0, 10.0),
        b.p(-6.0, 38.0, -60.0),
        b.p(4.0, 30.0, -160.0),
        b.p(40.0, 10.0, -200.0),
    ];
    for w in eso.windows(2) {
        b.tube(w[0], w[1], 11.0 * s, 11.0 * s, Tissue::Fat, 0, false);
        b.tube(w[0], w[1], 7.5 * s, 7.5 * s, Tissue::Soft, 0, false);
        b.blockers.push(Shape::Tube { a: w[0], b: w[1], ra: 10.0 * s, rb: 10.0 * s });
    }

    // --- Trachea and main bronchi.
    let r_tr = b.rng.range(8.0, 10.5) * s;
    let carina = DVec3::ZERO;
    let tr = [b.p(0.0, -26.0, 150.0), b.p(0.0, -12.0, 70.0), carina];
    let mut prev = NONE;
    for w in tr.windows(2) {
        prev = trees.airway.push(prev, w[0], w[1], r_tr, 0);
        b.index.insert(Seg { a: w[0], b: w[1], r: r_tr, kind: Kind::Airway, id: AIRWAY_ID + prev });
    }
    let r_rmb = b.rng.range(6.0, 7.5) * s;
    let r_lmb = b.rng.range(5.3, r_rmb / s - 0.3) * s;
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

    // --- Pulmonary trunk, right and left pulmonary arteries.
    let r_trunk = b.rng.range(11.0, 14.5) * s;
    let r_rpa = b.rng.range(7.5, 10.0) * s;
    let r_lpa = b.rng.range(7.5, r_rpa / s) * s;
    let bif = b.jitter(DVec3::new(18.0, -20.0, -24.0) * s, 2.0);
    let t1 = trees.artery.push(NONE, pv_valve, b.p(22.0, -40.0, -40.0), r_trunk, 0);
    let t2 = trees.artery.push(t1, trees.artery.branches[t1 as usize].end, bif, r_trunk, 0);
    let gap = |ra: f64, rb: f64| 0.8 + 0.12 * (ra + rb);
    let off_r = DVec3::new(0.0, -1.0, -0.2).normalize();
    let off_l = DVec3::new(0.0, 0.45, 0.89).normalize();
    let rpa_end = rmb_end + off_r * (r_rmb + r_rpa + gap(r_rmb, r_rpa));
    let lpa_end = lmb_end + off_l * (r_lmb + r_lpa + gap(r_lmb, r_lpa));
    let r1 = trees.artery.push(t2, bif, b.p(2.0, -17.0, -29.0), r_rpa, 0);
    let r2 = trees.artery.push(r1, trees.artery.branches[r1 as usize].end, rpa_end, r_rpa, 0);
    let l1 = trees.artery.push(t2, bif, b.p(28.0, -10.0, -6.0), r_lpa, 0);
    let l2 = trees.artery.push(l1, trees.artery.branches[l1 as usize].end, lpa_end, r_lpa, 0);
    for i in [t1, t2, r1, r2, l1, l2] {
        let br = trees.artery.branches[i as usize].clone();
        let re = if i == t2 { r_trunk.min(r_rpa.max(r_lpa) * 1.25) } else { br.radius };
        b.tube(br.start, br.end, br.radius, re, Tissue::ArteryBlood, ARTERY, true);
        b.tube(br.start, br.end, br.radius + 3.0, re + 3.0, Tissue::Fat, 0, false);
        b.index.insert(Seg { a: br.start, b: br.end, r: br.radius, kind: Kind::Artery, id: ARTERY_ID + i });
        if i == t1 || i == t2 {
            b.blockers.push(Shape::Tube { a: br.start, b: br.end, ra: br.radius + 4.0, rb: re + 4.0 });
        }
    }
    Mediastinum { main_bronchi: [rmb, lmb], pa_ends: [r2, l2], pa_offsets: [off_r, off_l], la, gamma }
}

/// Jittered grid points inside the lungs (body frame); `dual` shifts the
/// grid by half a cell (used for the veins, which thereby start out between
/// the airway seeds).
fn lung_seeds(b: &mut Builder, h: f64, dual: bool) -> Vec<DVec3> {
    let (cy, ca, cb) = b.body.cavity;
    let a = ca * (1.0 + b.body.widen);
    let off = if dual { 0.5 * h } else { 0.0 };
    let mut out = Vec::new();
    let nz = ((b.body.apex_z + 260.0) / h) as i64;
    for k in 0..nz {
        for j in -((cb * 1.2 / h) as i64)..=((cb * 1.2 / h) as i64) {
            for i in -((a / h) as i64 + 1)..=((a / h) as i64 + 1) {
                let p = DVec3::new(i as f64 * h + off, cy + j as f64 * h + off, b.body.apex_z - k as f64 * h - off);
                let p = p + DVec3::new(b.rng.sym(0.3 * h), b.rng.sym(0.3 * h), b.rng.sym(0.3 * h));
                if b.lung_distance(p) < -3.0 {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Airway, artery and vein trees of both lungs. Returns the number of
/// airway branches left without an artery.
fn lungs(b: &mut Builder, trees: &mut VesselTrees, m: &Mediastinum) -> usize {
    let s = b.s;
    let gamma = m.gamma;
    let h = 8.5 * s;
    let airway_seeds = lung_seeds(b, h, false);
    let vein_seeds = lung_seeds(b, h, true);
    // Oblique fissure: lower lobe below z = z_f + slope · y.
    let z_f = b.rng.range(-45.0, -30.0) * s;
    let slope = b.rng.range(0.8, 1.2);
    let upper = move |p: DVec3| p.z > z_f + slope * p.y;
    let mut dropped = 0;

    for side in 0..2 {
        let in_side = |p: &DVec3| if side == 0 { p.x < 0.0 } else { p.x >= 0.0 };
        let seeds: Vec<DVec3> = airway_seeds.iter().copied().filter(in_side).collect();
        let n = seeds.len().max(1) as u32;
        let main = m.main_bronchi[side];
        let r_main = trees.airway.branches[main as usize].radius;
        trees.airway.branches[main as usize].flow = n;
        let params = GrowParams {
            r_total: r_main,
            flow_total: n,
            gamma,
            fraction: 0.4,
            max_angle: 75f64.to_radians(),
            min_length: 1.5,
            min_radius: 0.0,
        };
        let first_gen = trees.airway.branches[main as usize].generation + 1;
        {
            let idx = &mut b.index;
            let body = b.body;
            let blockers = &b.blockers;
            let fov = b.params.fov;
            let lung = |p: DVec3| lung_sdf(body, blockers, fov, p);
            let mut place = |t: &Tree, parent: u32, start: DVec3, end: DVec3, r: f64| -> Option<DVec3> {
                let depth = t.branches[parent as usize].generation + 1;
                for f in [1.0, 0.7, 0.45] {
                    let e = start + (end - start) * f;
                    if depth > first_gen + 1 && lung(e) > -r.max(1.0) {
                        continue;
                    }
                    let hit = idx.first_hit(start, e, r, |k, _| if k == Kind::Airway { -1e9 } else { 0.5 }, |_| false);
                    if hit.is_none() {
                        return Some(e);
                    }
                }
                None
            };
            grow(&mut trees.airway, main, seeds, &params, Some(&upper), &mut place);
        }
        // Visible airways go into the collision grid.
        for i in 0..trees.airway.branches.len() {
            let br = &trees.airway.branches[i];
            if br.generation >= first_gen && br.radius >= 0.8 && in_side(&br.end) {
                b.index.insert(Seg {
                    a: br.start,
                    b: br.end,
                    r: br.radius,
                    kind: Kind::Airway,
                    id: AIRWAY_ID + i as u32,
                });
            }
        }
        // Arteries alongside every bronchus.
        let r_pa = trees.artery.branches[m.pa_ends[side] as usize].radius;
        dropped += follow_airway(b, trees, main, m.pa_ends[side], m.pa_offsets[side], r_pa, n, gamma);
    }

    // Veins: two per lung from the left atrium.
    let la_c = match m.la {
        Shape::Ellipsoid { c, .. } => c,
        _ => DVec3::ZERO,
    };
    let la_r = match m.la {
        Shape::Ellipsoid { r, .. } => r,
        _ => DVec3::ONE,
    };
    for side in 0..2 {
        let sign = if side == 0 { -1.0 } else { 1.0 };
        let in_side = |p: &DVec3| if side == 0 { p.x < 0.0 } else { p.x >= 0.0 };
        let seeds: Vec<DVec3> = vein_seeds.iter().copied().filter(in_side).collect();
        let n_lung = seeds.len().max(1) as u32;
        let r_lung = b.rng.range(7.5, 9.0) * s;
        let (sup, inf): (Vec<DVec3>, Vec<DVec3>) = seeds.into_iter().partition(|&p| upper(p));
        let params = GrowParams {
            r_total: r_lung,
            flow_total: n_lung,
            gamma,
            fraction: 0.4,
            max_angle: 75f64.to_radians(),
            min_length: 1.5,
            min_radius: 0.0,
        };
        for (k, pts) in [sup, inf].into_iter().enumerate() {
            if pts.is_empty() {
                continue;
            }
            let r = params.radius(pts.len());
            // Ostium inside the atrium, trunk out to the hilum.
            let ost = la_c
                + DVec3::new(
                    sign * (la_r.x - r * 0.6 - 2.0),
                    if k == 0 { -4.0 } else { 5.0 } * s,
                    if k == 0 { 7.0 } else { -8.0 } * s,
                );
            let want = super::tree::centroid(&pts);
            let Some(end) = place_trunk(b, ost, want, r) else {
                continue;
            };
            let root = trees.vein.push(NONE, ost, end, r, pts.len() as u32);
            b.index.insert(Seg { a: ost, b: end, r, kind: Kind::Vein, id: VEIN_ID + root });
            grow_veins(b, &mut trees.vein, root, pts, &params);
        }
    }

    // Primitives for the trees.
    let minr_v = b.params.min_vessel_radius;
    let minr_a = b.params.min_airway_radius;
    let wall = b.rng.range(0.1, 0.2);
    for (i, br) in trees.airway.branches.iter().enumerate() {
        if br.radius < minr_a {
            continue;
        }
        let re = trees.airway.end_radius(i as u32).max(minr_a * 0.8);
        b.prims.push(Prim {
            shape: Shape::Tube { a: br.start, b: br.end, ra: br.radius, rb: re },
            tissue: Tissue::AirwayWall,
            label: AIRWAY,
            centreline: false,
        });
        let k = 1.0 - 2.0 * wall;
        b.prims.push(Prim {
            shape: Shape::Tube { a: br.start, b: br.end, ra: br.radius * k, rb: re * k },
            tissue: Tissue::AirwayLumen,
            label: 0,
            centreline: false,
        });
    }
    for (tree, tissue, label, skip) in
        [(&trees.artery, Tissue::ArteryBlood, ARTERY, 6usize), (&trees.vein, Tissue::VeinBlood, VEIN, 0)]
    {
        for (i, br) in tree.branches.iter().enumerate().skip(skip) {
            if br.radius < minr_v {
                continue;
            }
            let re = tree.end_radius(i as u32).max(minr_v * 0.8);
            b.prims.push(Prim {
                shape: Shape::Tube { a: br.start, b: br.end, ra: br.radius, rb: re },
                tissue,
                label,
                centreline: true,
            });
        }
    }
    dropped
}

/// Places a venous trunk from the ostium toward `want` (the centroid of the
/// tissue it drains): the first end, over a widening cone of directions and
/// a few lengths, whose tube is clear of everything placed so far.
fn place_trunk(b: &mut Builder, ost: DVec3, want: DVec3, r: f64) -> Option<DVec3> {
    let d0 = (want - ost).normalize_or(DVec3::X);
    let p1 = any_perpendicular(d0);
    for polar in [0.0f64, 12.0, 24.0, 36.0, 48.0, 60.0] {
        let n_az = if polar == 0.0 { 1 } else { 12 };
        for len in [34.0, 26.0, 18.0] {
            for az in 0..n_az {
                let axis = rotate_about(p1, d0, (az as f64 * 30.0).to_radians());
                let dir = rotate_about(d0, axis, polar.to_radians());
                let e = ost + dir * len * b.s;
                let from = ost + dir * (r + 4.0);
                let hit = b.index.first_hit(from, e, r, |k, _| if k == Kind::Vein { 0.5 } else { 0.8 }, |_| false);
                if hit.is_none() {
                    return Some(e);
                }
            }
        }
    }
    None
}

/// Mirrors the bronchial subtree under `main` with arteries: each artery runs
/// beside its bronchus, offset by the sum of the radii plus a small gap, on
/// the side its parent artery was (rotated around the bronchus when that side
/// is taken). Returns how many bronchi got no artery.
#[allow(clippy::too_many_arguments)]
fn follow_airway(
    b: &mut Builder,
    trees: &mut VesselTrees,
    main: u32,
    pa_end: u32,
    off0: DVec3,
    r_pa: f64,
    n: u32,
    gamma: f64,
) -> usize {
    let airway = &trees.airway;
    let count = airway.branches.len();
    // Artery branch and offset direction for each airway branch under `main`.
    let mut art = vec![NONE; count];
    let mut off = vec![DVec3::ZERO; count];
    art[main as usize] = pa_end;
    off[main as usize] = off0;
    let mut dropped = 0;
    let first_gen = airway.branches[main as usize].generation + 1;
    let body = b.body;
    let blockers = b.blockers.clone();
    let fov = b.params.fov;
    let lung = |p: DVec3| lung_sdf(body, &blockers, fov, p);
    for i in (main as usize + 1)..count {
        let br = &airway.branches[i];
        let p = br.parent as usize;
        if p >= count || art[p] == NONE || p < main as usize {
            continue;
        }
        let d = br.direction();
        let r_b = br.radius;
        let r_a = r_pa * libm::pow(br.flow as f64 / n as f64, 1.0 / gamma);
        let parent_art = art[p];
        let start = trees.artery.branches[parent_art as usize].end;
        let mut u = off[p] - d * d.dot(off[p]);
        if u.length_squared() < 1e-6 {
            u = any_perpendicular(d);
        }
        let u = u.normalize();
        let dist = r_b + r_a + 0.4 + 0.1 * (r_a + r_b);
        let siblings = trees.artery.branches[parent_art as usize].children;
        // Neighbours at this bifurcation (parent, siblings, the parent's own
        // parent and siblings) touch the new branch by construction.
        let near = 2.0 * trees.artery.branches[parent_art as usize].radius + 2.0;
        let skip = |sg: &Seg| {
            sg.id == ARTERY_ID + parent_art
                || siblings.iter().any(|&c| c != NONE && sg.id == ARTERY_ID + c)
                || (sg.kind == Kind::Artery && ((sg.a - start).length() < near || (sg.b - start).length() < near))
        };
        // Try the parent's side first, then rotate around the bronchus; keep
        // the least intrusive candidate, accepting slight contact.
        let mut best: Option<(f64, DVec3, DVec3)> = None;
        for step in 0..12 {
            let ang = if step % 2 == 1 { 30.0 * (step / 2 + 1) as f64 } else { -30.0 * (step / 2) as f64 };
            let uu = rotate_about(u, d, ang.to_radians());
            let e = br.end + uu * dist;
            if br.generation > first_gen && lung(e) > -r_a.max(0.5) {
                continue;
            }
            let ov = b.index.worst_overlap(
                start,
                e,
                r_a,
                |k, r| match k {
                    Kind::Airway => 0.2,
                    Kind::Artery => -0.6 * (r + r_a),
                    _ => 0.8,
                },
                skip,
            );
            if best.is_none_or(|(o, _, _)| ov < o) {
                best = Some((ov, e, uu));
            }
            if ov <= 0.0 {
                break;
            }
        }
        let placed = match best {
            Some((ov, e, uu)) if ov <= 0.3 * r_a + 0.2 => Some((e, uu)),
            _ => None,
        };
        match placed {
            Some((e, uu)) => {
                let a = trees.artery.push(parent_art, start, e, r_a, br.flow);
                b.index.insert(Seg { a: start, b: e, r: r_a, kind: Kind::Artery, id: ARTERY_ID + a });
                art[i] = a;
                off[i] = uu;
            }
            None => dropped += 1,
        }
    }
    dropped
}

/// Grows one venous tree from `root`, pushing each new branch away from the
/// airways and arteries (veins run between the bronchovascular bundles) and
/// rejecting branches that would collide.
fn grow_veins(b: &mut Builder, tree: &mut Tree, root: u32, seeds: Vec<DVec3>, params: &GrowParams) {
    let body = b.body;
    let blockers = b.blockers.clone();
    let fov = b.params.fov;
    let lung = |p: DVec3| lung_sdf(body, &blockers, fov, p);
    let idx = &mut b.index;
    let mut near = Vec::new();
    let mut place = |t: &Tree, parent: u32, start: DVec3, end: DVec3, r: f64| -> Option<DVec3> {
        let depth = t.branches[parent as usize].generation + 1;
        let siblings = t.branches[parent as usize].children;
        let own = VEIN_ID + t.branches.len() as u32;
        let near_r = 2.0 * t.branches[parent as usize].radius + 2.0;
        let skip = |sg: &Seg| {
            sg.id == VEIN_ID + parent
                || sg.id == own
                || siblings.iter().any(|&c| c != NONE && sg.id == VEIN_ID + c)
                || (sg.kind == Kind::Vein && ((sg.a - start).length() < near_r || (sg.b - start).length() < near_r))
        };
        let dir0 = end - start;
        let len0 = dir0.length();
        if len0 < 1e-9 {
            return None;
        }
        let d0 = dir0 / len0;
        let p1 = any_perpendicular(d0);
        let p2 = d0.cross(p1);
        let tries: [(f64, DVec3, f64); 9] = [
            (0.0, p1, 1.0),
            (20.0, p1, 1.0),
            (-20.0, p1, 1.0),
            (20.0, p2, 1.0),
            (-20.0, p2, 1.0),
            (0.0, p1, 0.6),
            (40.0, p1, 0.8),
            (-40.0, p1, 0.8),
            (40.0, p2, 0.8),
        ];
        for (ang, axis, f) in tries {
            let mut e = start + rotate_about(d0, axis, ang.to_radians()) * len0 * f;
            // Push away from airways and arteries.
            for _ in 0..4 {
                idx.near(e, 14.0, &mut near);
                let mut push = DVec3::ZERO;
                for sg in &near {
                    let want = r
                        + sg.r
                        + match sg.kind {
                            Kind::Airway => 3.5 + 0.5 * (r + sg.r),
                            Kind::Artery => 3.0 + 0.4 * (r + sg.r),
                            Kind::Vein => 0.8,
                            Kind::Other => 2.0,
                        };
                    if sg.kind == Kind::Vein && skip(sg) {
                        continue;
                    }
                    let q = super::shapes::closest_on_segment(e, sg.a, sg.b);
                    let v = e - q;
                    let dist = v.length();
                    if dist < want && dist > 1e-6 {
                        push += v / dist * (want - dist) * 0.6;
                    }
                }
                if push.length_squared() < 1e-4 {
                    break;
                }
                e += push;
            }
            if depth > 1 && lung(e) > -r.max(0.5) {
                continue;
            }
            // Axes of a vein and an artery stay at least 3 mm apart, so that
            // their digital centrelines never share a voxel at any supported
            // spacing (each lies within 1.43 mm of its axis at 1.37 × 1.37 ×
            // 2.5 mm voxels) and neither class is cut in two.
            let hit = idx.first_hit(
                start,
                e,
                r,
                |k, sr| match k {
                    Kind::Airway => 0.8,
                    Kind::Artery => (3.0 - r - sr).max(0.6),
                    Kind::Vein => 0.3,
                    Kind::Other => 1.0,
                },
                skip,
            );
            if hit.is_none() {
                idx.insert(Seg { a: start, b: e, r, kind: Kind::Vein, id: own });
                return Some(e);
            }
        }
        None
    };
    grow(tree, root, seeds, params, None, &mut place);
}
