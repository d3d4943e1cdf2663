//! Synthetic chest CT with exact pulmonary artery, pulmonary vein and aorta
//! labels: Vasa's training data, test oracle and first-start sample scan.
//!
//! [`generate`] builds a randomised adult thorax for a seed (body outline,
//! skin, fat, muscle, spine, ribs, sternum, scapulae; lungs with texture; an
//! airway tree; pulmonary arteries beside the bronchi; intersegmental
//! pulmonary veins draining into the left atrium; aorta with its arch
//! branches; heart chambers and caval veins), paints it with partial volume at
//! every edge, blurs it by about a voxel, adds correlated noise, and returns
//! the CT (int16 HU) and the label map on the same LPS grid.
//!
//! Labels: `0` background, `1` pulmonary artery (from the pulmonary valve: the
//! trunk is artery), `2` pulmonary vein **including the left atrium** (the
//! chamber the four veins drain into; it makes the venous class one connected
//! tree, as the trunk does for the arteries), `3` aorta (from the aortic
//! valve, with the stubs of the three arch branches), `4` airway (trachea and
//! bronchi, wall included), `5` heart (myocardium, right atrium, right
//! ventricle, left ventricle) and the superior and inferior vena cava.
//!
//! A label is exact ground truth: a voxel gets a structure's label when its
//! centre lies inside the structure's surface, and vessels also label the
//! digital line along their centreline so that vessels thinner than a voxel
//! stay one connected component. Where structures meet, aorta wins over
//! artery over vein over airway over heart.
//!
//! Everything is deterministic per seed on every machine: own PRNG, the
//! pure-Rust `libm` for transcendental functions, and a reduction order that
//! does not depend on the thread count.

mod anatomy;
mod body;
mod collide;
mod filter;
mod intensity;
pub mod metrics;
mod preview;
mod raster;
pub mod rng;
mod shapes;
mod tree;

use std::fmt;
use std::str::FromStr;

use glam::DVec3;
use vasa_scan::{Geometry, LabelMap, Volume};

pub use anatomy::VesselTrees;
pub use intensity::Intensities;
pub use preview::{preview_rgb, write_preview};
pub use tree::{Branch, NONE, Tree};

/// Label class of the airways (trachea, bronchi, wall included).
pub const AIRWAY: u8 = 4;
/// Label class of the heart (except the left atrium) and the caval veins.
pub const HEART: u8 = 5;

/// Contrast phase of the simulated acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Phase {
    /// No contrast: blood 30–55 HU everywhere.
    #[default]
    Plain,
    /// CT pulmonary angiography: pulmonary arteries 250–500 HU, left heart,
    /// veins and aorta lower.
    Arterial,
    /// Systemic phase: aorta 200–400 HU, pulmonary arteries 150–250 HU.
    Venous,
}

impl Phase {
    /// All phases, for loops in tests and tools.
    pub const ALL: [Phase; 3] = [Phase::Plain, Phase::Arterial, Phase::Venous];
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Plain => "plain",
            Phase::Arterial => "arterial",
            Phase::Venous => "venous",
        })
    }
}

impl FromStr for Phase {
    type Err = PhantomError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "plain" => Ok(Phase::Plain),
            "arterial" => Ok(Phase::Arterial),
            "venous" => Ok(Phase::Venous),
            _ => Err(PhantomError::BadOption(format!("unknown phase {s:?} (expected plain, arterial or venous)"))),
        }
    }
}

/// What can go wrong when asking for a phantom.
#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    /// An option is out of range; the message says which and why.
    #[error("{0}")]
    BadOption(String),
    /// Writing the preview failed.
    #[error("{path}: {source}")]
    Io {
        /// File being written.
        path: std::path::PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Default in-plane field of view (mm).
pub const DEFAULT_FOV_MM: f64 = 350.0;
/// Default axial extent of the scan (mm): lung apices to upper abdomen.
pub const DEFAULT_Z_EXTENT_MM: f64 = 320.0;

/// How to make a phantom.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomOptions {
    /// Random seed: same seed, same bytes.
    pub seed: u64,
    /// Contrast phase.
    pub phase: Phase,
    /// Voxel counts along i (patient left), j (posterior), k (superior).
    pub dims: [usize; 3],
    /// Voxel size in mm along i, j, k.
    pub spacing: DVec3,
}

impl PhantomOptions {
    /// The default grid: 256 × 256 in-plane over a 350 mm field of view,
    /// 1.5 mm slices over 320 mm.
    pub fn new(seed: u64, phase: Phase) -> Self {
        Self::with_slice_spacing(seed, phase, 1.5).expect("1.5 mm is a valid slice spacing")
    }

    /// The default in-plane grid with slices `slice_mm` apart (0.6–2.5 mm)
    /// covering [`DEFAULT_Z_EXTENT_MM`].
    pub fn with_slice_spacing(seed: u64, phase: Phase, slice_mm: f64) -> Result<Self, PhantomError> {
        if !(0.6..=2.5).contains(&slice_mm) {
            return Err(PhantomError::BadOption(format!("slice spacing {slice_mm} mm is outside 0.6–2.5 mm")));
        }
        let inplane = DEFAULT_FOV_MM / 256.0;
        let nz = (DEFAULT_Z_EXTENT_MM / slice_mm).round() as usize;
        Ok(PhantomOptions { seed, phase, dims: [256, 256, nz], spacing: DVec3::new(inplane, inplane, slice_mm) })
    }

    /// Checks dimensions and spacing; the message names the bad value.
    pub fn validate(&self) -> Result<(), PhantomError> {
        for (a, &n) in self.dims.iter().enumerate() {
            if !(8..=1024).contains(&n) {
                return Err(PhantomError::BadOption(format!("dimension {a} is {n} voxels (must be 8–1024)")));
            }
        }
        for (a, s) in self.spacing.to_array().into_iter().enumerate() {
            if !(s.is_finite() && (0.2..=5.0).contains(&s)) {
                return Err(PhantomError::BadOption(format!("spacing along axis {a} is {s} mm (must be 0.2–5 mm)")));
            }
        }
        Ok(())
    }

    /// The output grid: axis-aligned LPS, centred on the thorax.
    pub fn geometry(&self) -> Geometry {
        let centre = DVec3::new(0.0, 15.0, -45.0);
        let n = DVec3::new(self.dims[0] as f64, self.dims[1] as f64, self.dims[2] as f64);
        Geometry::axis_aligned(self.spacing, centre - (n - DVec3::ONE) * 0.5 * self.spacing)
    }
}

/// A generated phantom.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// The CT in HU.
    pub ct: Volume<i16>,
    /// Labels (see the module documentation for the classes).
    pub labels: LabelMap,
    /// 1 where the voxel is pure lung parenchyma: inside a lung, more than a
    /// voxel from the lung wall and from every vessel, airway or other
    /// structure (so free of partial volume). The organ mask for cropping and
    /// for intensity checks.
    pub lungs: Volume<u8>,
    /// Centrelines and radii of the airway, artery, vein and aortic trees (patient mm).
    pub trees: VesselTrees,
    /// The CT numbers this phantom was painted with.
    pub intensities: Intensities,
    /// Bronchi left without an artery because none fitted beside them.
    pub arteries_dropped: usize,
}

/// Generates the phantom that `options` describe.
pub fn generate(options: &PhantomOptions) -> Result<Phantom, PhantomError> {
    options.validate()?;
    let geometry = options.geometry();
    let root = rng::Rng::new(options.seed);
    let min_spacing = options.spacing.x.min(options.spacing.y);
    let last = DVec3::new(options.dims[0] as f64, options.dims[1] as f64, options.dims[2] as f64) - DVec3::ONE;
    let anatomy = anatomy::build(
        &root,
        anatomy::BuildParams {
            min_vessel_radius: (0.3 * min_spacing).max(0.25),
            min_airway_radius: 0.75,
            fov: (geometry.origin, geometry.voxel_to_world(last)),
        },
    );
    let intensities = Intensities::draw(options.phase, &mut root.fork(3));
    let noise_seed = root.fork(4).next_u64();
    let r = raster::rasterise(&anatomy, &intensities, &geometry, options.dims, noise_seed);
    let ct = filter::finish(r.value, options.dims, &intensities, noise_seed);
    let dims = options.dims;
    Ok(Phantom {
        ct: Volume::from_vec(dims, ct, geometry).expect("the CT buffer matches the grid"),
        labels: Volume::from_vec(dims, r.labels, geometry).expect("the label buffer matches the grid"),
        lungs: Volume::from_vec(dims, r.lungs, geometry).expect("the lung buffer matches the grid"),
        trees: anatomy.trees,
        intensities,
        arteries_dropped: anatomy.arteries_dropped,
    })
}
