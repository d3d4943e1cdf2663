//! Training data: where cases come from (phantom seeds, NIfTI/DICOM files
//! with NIfTI labels), checking them, and preparing them the way the
//! network sees a scan at run time (crop to the thoracic region, resample to
//! the dataset's spacing). Enhanced cases also yield a synthesised plain scan.

use std::path::{Path, PathBuf};

use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::{LabelMap, Volume, crop, resample};

use super::synth_plain::{SynthOptions, synthesize_plain};
use crate::phantom::{self, PhantomOptions, Phase};
use crate::segment::network_region;

/// Highest class the network learns (0 background, 1 artery, 2 vein, 3 aorta).
pub const MAX_CLASS: u8 = 3;

/// Mean HU of the vessel labels' core (free of partial volume) above which a scan counts as enhanced.
pub const ENHANCED_MEAN_HU: f64 = 150.0;

/// Where one training case comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A phantom generated on the fly (its labels above 3 — airway, heart — are
    /// background) on the fixed grid (256 × 256, 1.5 mm, standard kernel).
    Phantom {
        /// Phantom seed.
        seed: u64,
        /// Contrast phase.
        phase: Phase,
    },
    /// A phantom whose acquisition (pixel size, slice thickness, kernel,
    /// noise, field of view) is drawn from its seed: domain randomisation.
    DrawnPhantom {
        /// Phantom seed.
        seed: u64,
        /// Contrast phase.
        phase: Phase,
    },
    /// A CT (NIfTI file, DICOM file or folder) and its NIfTI label map.
    Files {
        /// The scan.
        ct: PathBuf,
        /// Its labels (0 background, 1 artery, 2 vein, 3 aorta).
        labels: PathBuf,
    },
}

impl Source {
    /// A short name for logs and reports.
    pub fn name(&self) -> String {
        match self {
            Source::Phantom { seed, phase } => format!("phantom-{seed}-{phase}"),
            Source::DrawnPhantom { seed, phase } => format!("phantom-{seed}-{phase}-drawn"),
            Source::Files { ct, .. } => ct.display().to_string(),
        }
    }
}

/// Why a case was skipped.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The scan or the labels could not be read.
    #[error("{0}")]
    Read(#[from] vasa_scan::ScanError),
    /// CT and labels are on different grids.
    #[error(
        "labels {labels}: grid {label_dims:?} / spacing {label_spacing:?} differs from the scan's {ct_dims:?} / {ct_spacing:?}"
    )]
    GeometryMismatch {
        /// Label file.
        labels: String,
        /// Label dimensions.
        label_dims: [usize; 3],
        /// Label spacing (mm).
        label_spacing: [f64; 3],
        /// Scan dimensions.
        ct_dims: [usize; 3],
        /// Scan spacing (mm).
        ct_spacing: [f64; 3],
    },
    /// A label value the network has no class for.
    #[error("labels {labels}: value {value} at voxel {voxel:?} is out of range (0–{MAX_CLASS})")]
    LabelOutOfRange {
        /// Label file.
        labels: String,
        /// The bad value.
        value: u8,
        /// Where it first occurs.
        voxel: [usize; 3],
    },
    /// No vessel voxel at all.
    #[error("labels {labels}: no artery, vein or aorta voxel")]
    EmptyLabels {
        /// Label file.
        labels: String,
    },
    /// The phantom options were rejected.
    #[error("{0}")]
    Phantom(#[from] phantom::PhantomError),
    /// A manifest or data folder could not be read.
    #[error("{path}: {reason}")]
    List {
        /// The manifest or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A checked case on its own grid, labels 0–3.
#[derive(Debug, Clone)]
pub struct Case {
    /// Where it came from.
    pub name: String,
    /// The CT (HU).
    pub ct: Volume<i16>,
    /// Labels 0–3 on the CT's grid.
    pub labels: LabelMap,
    /// Whether the vessels are contrast-enhanced.
    pub enhanced: bool,
}

/// Reads and checks one case.
pub fn load_case(source: &Source) -> Result<Case, DataError> {
    let name = source.name();
    let (ct, mut labels) = match source {
        Source::Phantom { seed, phase } | Source::DrawnPhantom { seed, phase } => {
            let options = if matches!(source, Source::DrawnPhantom { .. }) {
                PhantomOptions::drawn(*seed, *phase)
            } else {
                PhantomOptions::new(*seed, *phase)
            };
            let p = phantom::generate(&options)?;
            let mut labels = p.labels;
            labels.data_mut().par_iter_mut().for_each(|l| {
                if *l > MAX_CLASS {
                    *l = 0
                }
            });
            (p.ct, labels)
        }
        Source::Files { ct, labels } => {
            let scan = vasa_scan::open_scan(ct)?;
            let lab = vasa_scan::nifti::read_labels(labels)?;
            (scan.volume, lab)
        }
    };
    let label_name = match source {
        Source::Files { labels, .. } => labels.display().to_string(),
        Source::Phantom { .. } | Source::DrawnPhantom { .. } => name.clone(),
    };
    check_pair(&ct, &labels, &label_name)?;
    // Labels must be 0..=MAX_CLASS.
    if let Some(idx) = labels.data().par_iter().position_first(|&l| l > MAX_CLASS) {
        return Err(DataError::LabelOutOfRange {
            labels: label_name,
            value: labels.data()[idx],
            voxel: labels.coords(idx),
        });
    }
    let Some(mean) = super::synth_plain::vessel_core_mean(&ct, &labels, &[1, 2, 3]) else {
        return Err(DataError::EmptyLabels { labels: label_name });
    };
    let enhanced = mean > ENHANCED_MEAN_HU;
    labels.geometry = ct.geometry;
    Ok(Case { name, ct, labels, enhanced })
}

/// Checks that labels lie on the scan's grid (dimensions, spacing, origin and
/// direction to 1e-3 mm).
pub fn check_pair(ct: &Volume<i16>, labels: &LabelMap, label_name: &str) -> Result<(), DataError> {
    let (a, b) = (&ct.geometry, &labels.geometry);
    let close = |x: DVec3, y: DVec3| (x - y).abs().max_element() < 1e-3;
    let same = ct.dims() == labels.dims()
        && close(a.spacing, b.spacing)
        && close(a.origin, b.origin)
        && (0..3).all(|c| close(a.direction.col(c), b.direction.col(c)));
    if same {
        Ok(())
    } else {
        Err(DataError::GeometryMismatch {
            labels: label_name.to_string(),
            label_dims: labels.dims(),
            label_spacing: b.spacing.to_array(),
            ct_dims: ct.dims(),
            ct_spacing: a.spacing.to_array(),
        })
    }
}

/// One training volume as the network sees it: cropped, resampled, with the
/// voxel indices of each vessel class for foreground oversampling.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Case name, with "/plain" for a synthesised plain scan.
    pub name: String,
    /// CT (HU) at the target spacing.
    pub ct: Volume<i16>,
    /// Labels 0–3 on the same grid.
    pub labels: LabelMap,
    /// Whether this volume is a plain scan (native or synthesised).
    pub plain: bool,
    /// Voxel indices of classes 1, 2, 3.
    pub foreground: [Vec<u32>; 3],
    /// For a cascade's fine stage: the coarse stage's probabilities of the
    /// context classes on this grid, computed as at run time
    /// ([`crate::segment::context`]), channel after channel, 0–255 for 0–1
    /// (a byte per voxel and class keeps the memory small).
    pub context: Option<Vec<u8>>,
}

impl Prepared {
    /// Context channels held (0 without context).
    pub fn context_channels(&self) -> usize {
        self.context.as_ref().map_or(0, |c| c.len() / self.ct.len().max(1))
    }
}

/// The coarse stage a fine stage's training volumes get their context from.
#[derive(Clone, Copy)]
pub struct CoarseContext<'a> {
    /// The coarse stage.
    pub model: &'a crate::network::Model,
    /// Its classes whose probabilities are fed, in channel order.
    pub classes: &'a [usize],
}

/// Crops `case` to the network's region and resamples it to `spacing`;
/// an enhanced case also yields its synthesised plain scan (first).
pub fn prepare(case: &Case, spacing: DVec3) -> Vec<Prepared> {
    // Without a coarse stage nothing can fail.
    prepare_with_context(case, spacing, None).unwrap_or_default()
}

/// [`prepare`], and with `coarse` each volume also gets the coarse stage's
/// probabilities ([`Prepared::context`]), computed from the same crop as
/// `Segmenter::segment` computes them.
pub fn prepare_with_context(
    case: &Case,
    spacing: DVec3,
    coarse: Option<CoarseContext>,
) -> Result<Vec<Prepared>, candle_core::Error> {
    let (_, region) = network_region(&case.ct);
    let ct = crop::crop(&case.ct, &region);
    let labels = crop::crop(&case.labels, &region);
    let mut out = Vec::new();
    let mut versions = Vec::new();
    if case.enhanced {
        if let Ok(s) = synthesize_plain(&ct, &labels, &SynthOptions::default()) {
            versions.push((format!("{}/plain", case.name), s.ct, true));
        }
        versions.push((case.name.clone(), ct, false));
    } else {
        versions.push((case.name.clone(), ct, true));
    }
    let small_labels = resample::resample_labels(&labels, spacing);
    let never = std::sync::atomic::AtomicBool::new(false);
    for (name, ct, plain) in versions {
        let small = resample::resample_linear(&ct, spacing);
        let foreground = foreground_indices(&small_labels);
        let context = match coarse {
            Some(c) => {
                let probs = crate::segment::context::coarse_probabilities(
                    c.model,
                    c.classes,
                    &ct,
                    small.dims(),
                    &small.geometry,
                    2,
                    &|_, _| {},
                    &never,
                )?
                .unwrap_or_default();
                Some(probs.iter().map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8).collect())
            }
            None => None,
        };
        out.push(Prepared { name, ct: small, labels: small_labels.clone(), plain, foreground, context });
    }
    Ok(out)
}

fn foreground_indices(labels: &LabelMap) -> [Vec<u32>; 3] {
    let mut f: [Vec<u32>; 3] = Default::default();
    for (i, &l) in labels.data().iter().enumerate() {
        if (1..=3).contains(&l) {
            f[l as usize - 1].push(i as u32);
        }
    }
    f
}

/// Per-axis median of the cases' voxel spacings (mm).
pub fn median_spacing(spacings: &[DVec3]) -> Option<DVec3> {
    if spacings.is_empty() {
        return None;
    }
    let med = |a: usize| {
        let mut v: Vec<f64> = spacings.iter().map(|s| s[a]).collect();
        v.sort_by(|x, y| x.total_cmp(y));
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
    };
    Some(DVec3::new(med(0), med(1), med(2)))
}

/// Mean and standard deviation of the HU of all prepared volumes (z-score statistics).
pub fn hu_statistics(volumes: &[Prepared]) -> (f32, f32) {
    let (n, s, s2) = volumes
        .par_iter()
        .map(|v| {
            v.ct.data().iter().fold((0f64, 0f64, 0f64), |(n, s, s2), &h| {
                let h = h as f64;
                (n + 1.0, s + h, s2 + h * h)
            })
        })
        .reduce(|| (0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    if n == 0.0 {
        return (-500.0, 500.0);
    }
    let mean = s / n;
    let sd = (s2 / n - mean * mean).max(1.0).sqrt();
    (mean as f32, sd as f32)
}

/// Parses a seed list such as `1-12,20,31-33`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let mut seeds = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let a: u64 = a.trim().parse().map_err(|_| format!("bad seed range {part:?}"))?;
            let b: u64 = b.trim().parse().map_err(|_| format!("bad seed range {part:?}"))?;
            if b < a || b - a > 100_000 {
                return Err(format!("bad seed range {part:?}"));
            }
            seeds.extend(a..=b);
        } else {
            seeds.push(part.parse().map_err(|_| format!("bad seed {part:?}"))?);
        }
    }
    Ok(seeds)
}

/// The file pairs of a data folder or manifest.
///
/// A folder holds `images/` (NIfTI files or DICOM folders) and `labels/`
/// (NIfTI) paired by name (`images/a.nii.gz` ↔ `labels/a.nii.gz`,
/// `images/b/` ↔ `labels/b.nii.gz`). A manifest is a text file with one
/// `ct,labels` pair per line (paths relative to the manifest; `#` comments).
/// Images without labels are reported, not used.
pub fn list_files(path: &Path) -> Result<(Vec<Source>, Vec<String>), DataError> {
    let list_err = |reason: String| DataError::List { path: path.to_path_buf(), reason };
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| list_err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((ct, labels)) = line.split_once(',') else {
                return Err(list_err(format!("line {}: expected `ct,labels`", n + 1)));
            };
            sources.push(Source::Files { ct: base.join(ct.trim()), labels: base.join(labels.trim()) });
        }
    } else if path.is_dir() {
        let images = path.join("images");
        let labels = path.join("labels");
        if !images.is_dir() || !labels.is_dir() {
            return Err(list_err("expected subfolders images/ and labels/".into()));
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&images)
            .map_err(|e| list_err(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for ct in entries {
            let file = ct.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let candidates =
                if ct.is_dir() { vec![format!("{file}.nii.gz"), format!("{file}.nii")] } else { vec![file.clone()] };
            match candidates.iter().map(|c| labels.join(c)).find(|p| p.is_file()) {
                Some(l) => sources.push(Source::Files { ct, labels: l }),
                None => problems.push(format!("{}: no label file in {}", ct.display(), labels.display())),
            }
        }
    } else {
        return Err(list_err("no such file or folder".into()));
    }
    if sources.is_empty() {
        return Err(list_err("no CT/label pair found".into()));
    }
    Ok((sources, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::nifti::write_nifti;

    #[test]
    fn seeds_parse() {
        assert_eq!(parse_seeds("1-3, 7,9-9").unwrap(), vec![1, 2, 3, 7, 9]);
        assert!(parse_seeds("3-1").is_err());
        assert!(parse_seeds("x").is_err());
    }

    #[test]
    fn median_of_spacings() {
        let s = [DVec3::new(0.7, 0.7, 1.0), DVec3::new(0.8, 0.8, 2.5), DVec3::new(1.0, 1.0, 1.25)];
        assert_eq!(median_spacing(&s).unwrap(), DVec3::new(0.8, 0.8, 1.25));
        assert!(median_spacing(&[]).is_none());
    }

    #[test]
    fn bad_files_are_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = crate::testing::coarse_phantom(5, Phase::Ctpa);
        let ct_path = dir.path().join("ct.nii.gz");
        write_nifti(&ct_path, &p.ct).unwrap();
        // Airway and heart labels (4, 5) are out of range for training files.
        let raw_labels = dir.path().join("raw.nii.gz");
        write_nifti(&raw_labels, &p.labels).unwrap();
        let e = load_case(&Source::Files { ct: ct_path.clone(), labels: raw_labels }).unwrap_err();
        assert!(matches!(e, DataError::LabelOutOfRange { value: 4 | 5, .. }), "{e}");
        assert!(e.to_string().contains("raw.nii.gz"));
        // Geometry mismatch.
        let mut shifted = p.labels.map(|&l| if l > 3 { 0 } else { l });
        shifted.geometry.origin.x += 5.0;
        let shifted_path = dir.path().join("shifted.nii.gz");
        write_nifti(&shifted_path, &shifted).unwrap();
        let e = load_case(&Source::Files { ct: ct_path.clone(), labels: shifted_path }).unwrap_err();
        assert!(matches!(e, DataError::GeometryMismatch { .. }), "{e}");
        // Empty labels.
        let empty = Volume::filled(p.ct.dims(), 0u8, p.ct.geometry);
        let empty_path = dir.path().join("empty.nii.gz");
        write_nifti(&empty_path, &empty).unwrap();
        let e = load_case(&Source::Files { ct: ct_path.clone(), labels: empty_path }).unwrap_err();
        assert!(e.to_string().contains("empty.nii.gz") && e.to_string().contains("no artery"), "{e}");
        // Truncated CT.
        let bytes = std::fs::read(&ct_path).unwrap();
        let cut = dir.path().join("cut.nii.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
        let good_labels = dir.path().join("good.nii.gz");
        write_nifti(&good_labels, &p.labels.map(|&l| if l > 3 { 0 } else { l })).unwrap();
        let e = load_case(&Source::Files { ct: cut, labels: good_labels.clone() }).unwrap_err();
        assert!(e.to_string().contains("cut.nii.gz"), "{e}");
        // A good pair loads as enhanced and prepares into plain + enhanced.
        let case = load_case(&Source::Files { ct: ct_path, labels: good_labels }).unwrap();
        assert!(case.enhanced);
        let prepared = prepare(&case, DVec3::splat(4.0));
        assert_eq!(prepared.len(), 2);
        assert!(prepared[0].plain && !prepared[1].plain);
        assert!(prepared[0].foreground.iter().all(|f| !f.is_empty()));
        assert_eq!(prepared[0].ct.geometry.spacing, DVec3::splat(4.0));
    }

    #[test]
    fn folders_pair_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("images")).unwrap();
        std::fs::create_dir_all(dir.path().join("labels")).unwrap();
        for n in ["a.nii.gz", "b.nii.gz"] {
            std::fs::write(dir.path().join("images").join(n), b"x").unwrap();
        }
        std::fs::write(dir.path().join("labels/a.nii.gz"), b"x").unwrap();
        let (sources, problems) = list_files(dir.path()).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("b.nii.gz"));
        let manifest = dir.path().join("list.csv");
        std::fs::write(&manifest, "# ct,labels\nimages/a.nii.gz, labels/a.nii.gz\n").unwrap();
        let (sources, _) = list_files(&manifest).unwrap();
        assert_eq!(
            sources,
            vec![Source::Files { ct: dir.path().join("images/a.nii.gz"), labels: dir.path().join("labels/a.nii.gz") }]
        );
        std::fs::write(&manifest, "only-one-column\n").unwrap();
        assert!(list_files(&manifest).unwrap_err().to_string().contains("line 1"));
    }
}
