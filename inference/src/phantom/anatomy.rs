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

use super::body::Body;
use super::collide::Index;
use super::intensity::Tissue;
use super::lungs::lungs;
use super::mediastinum::mediastinum;
use super::parenchyma::Parenchyma;
use super::rng::Rng;
use super::shapes::Shape;
use super::skeleton::skeleton;
use super::structure::Structure;
use super::tree::Tree;

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
    /// The anatomical structure it is part of (`anatomy.nii.gz`).
    pub structure: Structure,
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
    /// Fissures and lung findings.
    pub parenchyma: Parenchyma,
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

pub(super) const ARTERY_ID: u32 = 1 << 28;
pub(super) const VEIN_ID: u32 = 2 << 28;
pub(super) const AIRWAY_ID: u32 = 3 << 28;

/// Local frame whose first axis is `e1` (unit), second as close to `up` as possible.
pub(super) fn frame(e1: DVec3, up: DVec3) -> DMat3 {
    let e1 = e1.normalize();
    let e2 = (up - e1 * e1.dot(up)).normalize();
    let e3 = e1.cross(e2);
    DMat3::from_cols(e1, e2, e3).transpose()
}

/// Signed distance to where lung tissue (and so a tree) may be: inside the
/// lungs of `body`, outside every mediastinal `blocker`, and inside the
/// scanned box `fov` (patient mm, so trees never leave and re-enter the image).
pub(super) fn lung_sdf(body: &Body, par: &Parenchyma, blockers: &[Shape], fov: (DVec3, DVec3), b: DVec3) -> f64 {
    let mut d = body.lung_distance(b);
    if d < 20.0 {
        // Pleural fluid displaces the lung.
        let fluid = par.effusion_distance(b, body.cavity_distance(b), body.above_diaphragm(b));
        d = d.max(-fluid);
    }
    for s in blockers {
        d = d.max(-s.distance(b).0);
    }
    let p = body.to_patient(b);
    let out = (fov.0 - p).max(p - fov.1).max_element();
    d.max(out + 3.0)
}

pub(super) struct Builder<'a> {
    /// This part's random stream.
    pub rng: Rng,
    /// The patient's size factor.
    pub s: f64,
    /// Primitives so far (body frame).
    pub prims: Vec<Prim>,
    /// Collision grid of the trees and solids placed so far.
    pub index: Index,
    /// Solids the lungs must avoid (mediastinum), body frame, with margins.
    pub blockers: Vec<Shape>,
    /// The analytic thorax.
    pub body: &'a Body,
    /// Fissures and lung findings.
    pub parenchyma: &'a Parenchyma,
    /// Grid-dependent knobs.
    pub params: BuildParams,
    /// The structure that primitives added now belong to.
    pub part: Structure,
}

impl Builder<'_> {
    pub fn add(&mut self, shape: Shape, tissue: Tissue, label: u8) {
        self.prims.push(Prim { shape, tissue, label, centreline: false, structure: self.part });
    }

    #[allow(clippy::too_many_arguments)]
    pub fn tube(&mut self, a: DVec3, b: DVec3, ra: f64, rb: f64, tissue: Tissue, label: u8, centreline: bool) {
        self.prims.push(Prim { shape: Shape::Tube { a, b, ra, rb }, tissue, label, centreline, structure: self.part });
    }

    /// A bone: cortex of thickness `t` around marrow.
    pub fn bone(&mut self, shape: Shape, t: f64) {
        self.add(shape, Tissue::Cortex, 0);
        self.add(shape.offset(-t), Tissue::Marrow, 0);
    }

    pub fn p(&self, x: f64, y: f64, z: f64) -> DVec3 {
        DVec3::new(x, y, z) * self.s
    }

    pub fn jitter(&mut self, v: DVec3, a: f64) -> DVec3 {
        v + DVec3::new(self.rng.sym(a), self.rng.sym(a), self.rng.sym(a))
    }

    /// Signed distance to the lung (cavity above the diaphragm, outside the mediastinum).
    pub fn lung_distance(&self, b: DVec3) -> f64 {
        lung_sdf(self.body, self.parenchyma, &self.blockers, self.params.fov, b)
    }
}

/// Builds the anatomy for one seed.
pub fn build(seed_rng: &Rng, params: BuildParams) -> Anatomy {
    let body = Body::draw(&mut seed_rng.fork(1));
    let parenchyma = Parenchyma::draw(&body, &mut seed_rng.fork(11));
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
        parenchyma: &parenchyma,
        params,
        part: Structure::Outside,
    };
    let mut trees = VesselTrees::default();

    skeleton(&mut b);
    super::bodywall::humeri(&mut b);
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
    Anatomy { body, parenchyma, prims, trees, arteries_dropped }
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
