//! Synthetic chest CT with exact pulmonary artery, pulmonary vein and aorta
//! labels: Vasa's training data, test oracle and first-start sample scan.
//!
//! [`generate`] builds a randomised adult thorax for a seed (body outline,
//! skin, fat, muscle, spine, ribs, sternum, scapulae; lungs with texture; an
//! airway tree; pulmonary arteries beside the bronchi; intersegmental
//! pulmonary veins draining into the left atrium; aorta with its arch
//! branches; heart chambers and caval veins), paints it with partial volume at
//! every edge, and images it as a scanner would ([`Acquisition`]): slices of
//! a given thickness that average over their sensitivity profile
//! (`thick.rs`), the contrast bolus's inflow and dense-vein streaks
//! (`contrast.rs`), the reconstruction kernel's blur or edge enhancement and
//! noise with the texture of filtered back projection (`filter.rs`). It
//! returns the CT (int16 HU) and the label map on the same LPS grid.
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

mod abdomen;
mod acquisition;
mod anatomy;
mod body;
mod bodywall;
mod collide;
mod contrast;
mod filter;
mod intensity;
mod lungs;
mod mediastinum;
pub mod metrics;
mod parenchyma;
mod preview;
mod raster;
pub mod rng;
mod shapes;
mod skeleton;
mod structure;
mod thick;
mod tree;

use std::fmt;
use std::str::FromStr;

use glam::DVec3;
use vasa_scan::{Geometry, LabelMap, Volume};

pub use acquisition::{Acquisition, Fov, Kernel, NOISE_RANGE_HU, PIXEL_RANGE_MM, SLAB_RANGE_MM, THICKNESS_RANGE_MM};
pub use anatomy::VesselTrees;
pub use intensity::Intensities;
pub use parenchyma::{Findings, findings};
pub use preview::{preview_rgb, write_preview};
pub use structure::Structure;
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
    Ctpa,
    /// Systemic arterial phase: aorta and left heart 200–400 HU, pulmonary
    /// arteries 150–250 HU.
    Arterial,
    /// Portal-venous phase: every blood pool about equal at 120–200 HU,
    /// myocardium and liver enhanced.
    Venous,
}

impl Phase {
    /// All phases, for loops in tests and tools.
    pub const ALL: [Phase; 4] = [Phase::Plain, Phase::Ctpa, Phase::Arterial, Phase::Venous];
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Plain => "plain",
            Phase::Ctpa => "ctpa",
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
            "ctpa" => Ok(Phase::Ctpa),
            "arterial" => Ok(Phase::Arterial),
            "venous" => Ok(Phase::Venous),
            _ => {
                Err(PhantomError::BadOption(format!("unknown phase {s:?} (expected plain, ctpa, arterial or venous)")))
            }
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
/// Centre of the default grid (patient LPS, mm): the thorax; the carina is
/// near the origin.
pub const CHEST_CENTRE: DVec3 = DVec3::new(0.0, 15.0, -45.0);
/// In-plane matrix of a reconstructed chest CT.
pub const MATRIX: usize = 512;
/// Width (along x) and depth (along y) of a one-sided field of view (mm): the
/// midline to the lateral body wall, front to back.
const SIDE_FOV_MM: (f64, f64) = (205.0, 300.0);

/// How to make a phantom.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomOptions {
    /// Random seed: same seed, same bytes.
    pub seed: u64,
    /// Contrast phase.
    pub phase: Phase,
    /// Voxel counts along i (patient left), j (posterior), k (superior).
    pub dims: [usize; 3],
    /// Voxel size in mm along i, j, k (k: the slice spacing).
    pub spacing: DVec3,
    /// Slice thickness (mm), the FWHM of the slice sensitivity profile; a
    /// thick slice averages over it. `None`: the slice spacing.
    pub thickness: Option<f64>,
    /// Reconstruction kernel.
    pub kernel: Kernel,
    /// Noise σ in uniform tissue (HU); `None`: drawn per seed (10–40 HU).
    pub noise_sigma: Option<f64>,
    /// What the grid covers. The anatomy is always the whole patient's; a
    /// slab is centred along z on the pulmonary bifurcation (so the output
    /// grid's z origin is decided by [`generate`]).
    pub fov: Fov,
    /// Centre of the grid (patient LPS, mm).
    pub centre: DVec3,
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
        Ok(Self::grid(seed, phase, [256, 256, nz], DVec3::new(inplane, inplane, slice_mm)))
    }

    /// A grid of `dims` voxels of `spacing` mm centred on the chest, slices
    /// as thick as their spacing, standard kernel, noise drawn per seed.
    pub fn grid(seed: u64, phase: Phase, dims: [usize; 3], spacing: DVec3) -> Self {
        PhantomOptions {
            seed,
            phase,
            dims,
            spacing,
            thickness: None,
            kernel: Kernel::Standard,
            noise_sigma: None,
            fov: Fov::Chest,
            centre: CHEST_CENTRE,
        }
    }

    /// The grid a scanner would reconstruct for `acq`: a 512 matrix over the
    /// chest (or a one-sided field at the same pixel size), slices every
    /// `acq.spacing_mm` over the whole thorax or the slab.
    pub fn from_acquisition(seed: u64, phase: Phase, acq: &Acquisition) -> Result<Self, PhantomError> {
        acq.validate()?;
        let p = acq.pixel_mm;
        let chest = MATRIX as f64 * p;
        let (extent, centre) = match acq.fov {
            Fov::Chest => (DVec3::new(chest, chest, DEFAULT_Z_EXTENT_MM), CHEST_CENTRE),
            Fov::Slab { mm } => (DVec3::new(chest, chest, mm), CHEST_CENTRE),
            Fov::Left | Fov::Right => {
                let sign = if acq.fov == Fov::Left { 1.0 } else { -1.0 };
                let (w, d) = SIDE_FOV_MM;
                (DVec3::new(w, d, DEFAULT_Z_EXTENT_MM), CHEST_CENTRE + DVec3::X * sign * (0.5 * w - 20.0))
            }
        };
        let spacing = DVec3::new(p, p, acq.spacing_mm);
        let n = |e: f64, s: f64| ((e / s).round() as usize).max(1);
        let opts = PhantomOptions {
            seed,
            phase,
            dims: [n(extent.x, p), n(extent.y, p), n(extent.z, acq.spacing_mm)],
            spacing,
            thickness: Some(acq.thickness_mm),
            kernel: acq.kernel,
            noise_sigma: Some(acq.noise_sigma),
            fov: acq.fov,
            centre,
        };
        opts.validate()?;
        Ok(opts)
    }

    /// [`PhantomOptions::from_acquisition`] with the acquisition drawn from
    /// the seed ([`Acquisition::draw`]).
    pub fn drawn(seed: u64, phase: Phase) -> Self {
        let acq = Acquisition::draw(&mut rng::Rng::new(seed).fork(ACQUISITION_STREAM));
        Self::from_acquisition(seed, phase, &acq).expect("drawn acquisitions are valid")
    }

    /// Slice thickness (mm): [`PhantomOptions::thickness`] or the spacing.
    pub fn slice_thickness(&self) -> f64 {
        self.thickness.unwrap_or(self.spacing.z)
    }

    /// Checks dimensions, spacing and the acquisition; the message names the
    /// bad value.
    pub fn validate(&self) -> Result<(), PhantomError> {
        for (a, &n) in self.dims.iter().enumerate() {
            // A slab of thick slices may be a single slice.
            let least = if a == 2 { 1 } else { 8 };
            if !(least..=1024).contains(&n) {
                return Err(PhantomError::BadOption(format!("dimension {a} is {n} voxels (must be {least}–1024)")));
            }
        }
        for (a, s) in self.spacing.to_array().into_iter().enumerate() {
            if !(s.is_finite() && (0.2..=5.0).contains(&s)) {
                return Err(PhantomError::BadOption(format!("spacing along axis {a} is {s} mm (must be 0.2–5 mm)")));
            }
        }
        let t = self.slice_thickness();
        if !(t.is_finite() && acquisition::THICKNESS_RANGE_MM.contains(&t)) {
            return Err(PhantomError::BadOption(format!("slice thickness {t} mm is outside 0.5–5 mm")));
        }
        if let Some(n) = self.noise_sigma
            && !(n.is_finite() && acquisition::NOISE_RANGE_HU.contains(&n))
        {
            return Err(PhantomError::BadOption(format!("noise σ {n} HU is outside 0–80 HU")));
        }
        if let Fov::Slab { mm } = self.fov
            && !(mm.is_finite() && acquisition::SLAB_RANGE_MM.contains(&mm))
        {
            return Err(PhantomError::BadOption(format!("slab of {mm} mm is outside 10–150 mm")));
        }
        if !self.centre.is_finite() {
            return Err(PhantomError::BadOption(format!("grid centre {} is not finite", self.centre)));
        }
        Ok(())
    }

    /// The output grid: axis-aligned LPS around [`PhantomOptions::centre`]
    /// (for a slab, [`generate`] moves it along z onto the pulmonary
    /// bifurcation).
    pub fn geometry(&self) -> Geometry {
        self.geometry_at(self.centre)
    }

    fn geometry_at(&self, centre: DVec3) -> Geometry {
        let n = DVec3::new(self.dims[0] as f64, self.dims[1] as f64, self.dims[2] as f64);
        Geometry::axis_aligned(self.spacing, centre - (n - DVec3::ONE) * 0.5 * self.spacing)
    }
}

/// The seed's stream for [`Acquisition::draw`] and [`Phase::draw`].
pub const ACQUISITION_STREAM: u64 = 7;

/// A generated phantom.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// The CT in HU.
    pub ct: Volume<i16>,
    /// Labels (see the module documentation for the classes).
    pub labels: LabelMap,
    /// One value per anatomical structure ([`Structure`]); `anatomy.nii.gz`.
    pub anatomy: LabelMap,
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
    /// The lung findings drawn for this seed.
    pub findings: Findings,
}

/// Generates the phantom that `options` describe.
pub fn generate(options: &PhantomOptions) -> Result<Phantom, PhantomError> {
    options.validate()?;
    let mut geometry = options.geometry();
    let root = rng::Rng::new(options.seed);
    let min_spacing = options.spacing.x.min(options.spacing.y);
    let dims = options.dims;
    let last = DVec3::new(dims[0] as f64, dims[1] as f64, dims[2] as f64) - DVec3::ONE;
    // The anatomy fills the scanned box; a part-of-the-chest field still
    // images the whole patient's anatomy (the default chest box).
    let fov = match options.fov {
        Fov::Chest => (geometry.origin, geometry.voxel_to_world(last)),
        _ => {
            let half = 0.5 * DVec3::new(DEFAULT_FOV_MM, DEFAULT_FOV_MM, DEFAULT_Z_EXTENT_MM);
            (CHEST_CENTRE - half, CHEST_CENTRE + half)
        }
    };
    let anatomy = anatomy::build(
        &root,
        anatomy::BuildParams { min_vessel_radius: (0.3 * min_spacing).max(0.25), min_airway_radius: 0.75, fov },
    );
    if let Fov::Slab { .. } = options.fov {
        geometry = options.geometry_at(DVec3::new(options.centre.x, options.centre.y, bifurcation_z(&anatomy.trees)));
    }
    let mut intensities = Intensities::draw(options.phase, &mut root.fork(3));
    let noise_seed = root.fork(4).next_u64();
    let profile = thick::Profile::new(options.spacing.z, options.slice_thickness(), intensities.blur_scale as f64);
    let mut r = thick::rasterise(&anatomy, &intensities, &geometry, dims, noise_seed, &profile);
    contrast::apply(&mut r.value, &r.anatomy, dims, &geometry, &intensities, root.fork(5).next_u64());
    if let Some(n) = options.noise_sigma {
        intensities.noise_sigma = n as f32;
    }
    let texture = filter::Texture::of(options.kernel, intensities.blur_scale as f64);
    let pixel = [options.spacing.x, options.spacing.y];
    let z_mix = filter::z_mixing(options.spacing.z, options.slice_thickness());
    let ct = filter::finish(r.value, dims, pixel, &texture, intensities.noise_sigma, &z_mix, noise_seed);
    Ok(Phantom {
        ct: Volume::from_vec(dims, ct, geometry).expect("the CT buffer matches the grid"),
        labels: Volume::from_vec(dims, r.labels, geometry).expect("the label buffer matches the grid"),
        anatomy: Volume::from_vec(dims, r.anatomy, geometry).expect("the anatomy buffer matches the grid"),
        lungs: Volume::from_vec(dims, r.lungs, geometry).expect("the lung buffer matches the grid"),
        trees: anatomy.trees,
        intensities,
        arteries_dropped: anatomy.arteries_dropped,
        findings: anatomy.parenchyma.findings(),
    })
}

/// Height (patient z, mm) of the pulmonary bifurcation: the end of the
/// pulmonary trunk (the artery tree's root), or the carina's level below the
/// default centre when there is no artery tree.
pub fn bifurcation_z(trees: &VesselTrees) -> f64 {
    trees.artery.branches.iter().find(|b| b.parent == NONE).map_or(CHEST_CENTRE.z + 35.0, |b| b.end.z)
}
