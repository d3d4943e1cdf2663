//! Opening things, on a worker thread: a scan (NIfTI file, DICOM file or
//! folder, the bundled sample), one series of a folder the user picked, or a
//! label map onto the scan already open. When the GPU is there the scan is
//! uploaded by the same worker, so the UI thread never copies a volume.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui_wgpu::RenderState;
use vasa_render::ScanTextures;
use vasa_render::UploadError;
use vasa_scan::dicom::{self, DicomIndex, SeriesInfo};
use vasa_scan::reslice::window_to_u8;
use vasa_scan::{LabelMap, OpenedScan, ScanFormat, Volume, nifti};

use super::job::Reporter;
use crate::doc::{LabelLayer, Scan};
use crate::error::AppError;

/// Seed of the bundled sample phantom.
pub const SAMPLE_SEED: u64 = 1;

/// Largest side of a series thumbnail (pixels).
pub const THUMBNAIL_SIZE: usize = 96;

/// What the user asked to open.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A NIfTI file, a DICOM file or a DICOM folder.
    Path(PathBuf),
    /// The bundled sample: a plain-phase chest phantom with its exact labels.
    Sample,
}

impl Source {
    /// Name for titles and messages.
    pub fn describe(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Sample => format!("sample chest phantom (seed {SAMPLE_SEED})"),
        }
    }
}

/// A scan ready to show, and what was computed once about it off the UI thread.
pub struct Loaded {
    /// CT voxels in HU (shared with the workers that process it).
    pub ct: Arc<Volume<i16>>,
    /// Patient, study and series facts.
    pub metadata: vasa_scan::dicom::StudyMetadata,
    /// Repairs and assumptions made while loading, to show the user.
    pub warnings: Vec<String>,
    /// Lowest and highest HU.
    pub hu_range: Option<(i16, i16)>,
    /// Name for the title and status bar.
    pub name: String,
    /// The file or folder it came from (`None` for the sample).
    pub path: Option<PathBuf>,
    /// Labels that came with it (the sample's exact ones).
    pub layer: Option<LabelLayer>,
    /// The scan on the GPU, or why it could not go there; `None` without a GPU.
    pub gpu: Option<Result<ScanTextures, UploadError>>,
}

impl Loaded {
    /// The scan for a document, the labels that came with it, and its GPU copy.
    pub fn into_parts(self) -> (Scan, Option<LabelLayer>, Option<Result<ScanTextures, UploadError>>) {
        let Loaded { ct, metadata, warnings, hu_range, name, path, layer, gpu } = self;
        (Scan { ct, metadata, warnings, hu_range, name, path }, layer, gpu)
    }
}

/// What a load produced.
pub enum Opened {
    /// A scan.
    Scan(Box<Loaded>),
    /// A folder with several image series: the user picks one.
    ChooseSeries {
        /// The series found.
        index: DicomIndex,
        /// A thumbnail of each series' middle slice (`None` where it could not be decoded).
        thumbnails: Vec<Option<egui::ColorImage>>,
    },
    /// Labels for the scan already open.
    Labels(LabelLayer),
}

/// Opens `source`: a scan, or a series list when a folder holds several.
pub fn open(source: &Source, gpu: Option<&RenderState>, r: &Reporter) -> Result<Opened, AppError> {
    match source {
        Source::Sample => load_sample(gpu, r).map(|l| Opened::Scan(Box::new(l))),
        Source::Path(path) => open_path(path, gpu, r),
    }
}

fn open_path(path: &Path, gpu: Option<&RenderState>, r: &Reporter) -> Result<Opened, AppError> {
    if !path.exists() {
        return Err(AppError::NotFound(path.to_path_buf()));
    }
    if path.is_file() && vasa_scan::open::looks_like_nifti(path) {
        r.set("reading NIfTI", None);
        let scan = vasa_scan::open_scan(path)?;
        return Ok(Opened::Scan(Box::new(finish(scan, Some(path.into()), None, gpu, r)?)));
    }
    r.set("reading DICOM headers", None);
    let index = dicom::scan_dicom(path)?;
    let loadable = index.series.iter().filter(|s| s.problem.is_none()).count();
    if index.series.len() > 1 && loadable > 1 {
        r.set("thumbnails", None);
        let thumbnails = index.series.iter().map(thumbnail).collect();
        return Ok(Opened::ChooseSeries { index, thumbnails });
    }
    let series = index.default_series().ok_or_else(|| AppError::NoSeries(path.to_path_buf()))?;
    open_series(&index, series, gpu, r).map(|l| Opened::Scan(Box::new(l)))
}

/// Loads one series of `index` (the one the user picked).
pub fn open_series(
    index: &DicomIndex,
    series: &SeriesInfo,
    gpu: Option<&RenderState>,
    r: &Reporter,
) -> Result<Loaded, AppError> {
    if let Some(p) = &series.problem {
        return Err(AppError::UnloadableSeries {
            root: index.root.clone(),
            series: series.label(),
            problem: p.clone(),
        });
    }
    let loaded = dicom::load_series(
        series,
        &|done, total| r.set("decoding slices", Some(done as f32 / total.max(1) as f32 * 0.9)),
        r.cancel_flag(),
    )?;
    let mut warnings = loaded.warnings;
    if !index.skipped.is_empty() {
        warnings.push(format!("{} files in {} are not DICOM images", index.skipped.len(), index.root.display()));
    }
    let scan = OpenedScan {
        volume: loaded.volume,
        metadata: loaded.metadata,
        warnings,
        path: index.root.clone(),
        format: ScanFormat::Dicom,
    };
    let name = format!("{} — {}", index.root.display(), series.label());
    finish(scan, Some(index.root.clone()), Some(name), gpu, r)
}

fn load_sample(gpu: Option<&RenderState>, r: &Reporter) -> Result<Loaded, AppError> {
    use vasa_inference::phantom::{self, PhantomOptions, Phase};
    r.set("generating the sample phantom", None);
    let ph = phantom::generate(&PhantomOptions::new(SAMPLE_SEED, Phase::Plain))?;
    // The phantom's extra structures (airways, ...) are not vessel classes.
    let truth = ph.labels.map(|&l| if l <= 3 { l } else { 0 });
    let scan = OpenedScan {
        volume: ph.ct,
        metadata: vasa_scan::dicom::StudyMetadata {
            series_description: Some("synthetic chest CT, plain phase".into()),
            modality: Some("CT".into()),
            ..Default::default()
        },
        warnings: Vec::new(),
        path: PathBuf::from("sample"),
        format: ScanFormat::Nifti,
    };
    let mut loaded = finish(scan, None, Some(Source::Sample.describe()), gpu, r)?;
    let layer = LabelLayer::new("Reference (exact phantom labels)", truth);
    if let Some(Ok(t)) = &loaded.gpu
        && let Some(g) = gpu
    {
        t.update_labels(&g.queue, &layer.labels)?;
    }
    loaded.layer = Some(layer);
    Ok(loaded)
}

/// Range, name and GPU upload of a freshly read scan.
fn finish(
    scan: OpenedScan,
    path: Option<PathBuf>,
    name: Option<String>,
    gpu: Option<&RenderState>,
    r: &Reporter,
) -> Result<Loaded, AppError> {
    if scan.volume.is_empty() {
        return Err(AppError::EmptyScan(scan.path));
    }
    if r.cancelled() {
        return Err(AppError::Cancelled);
    }
    r.set("HU range", Some(0.92));
    let hu_range = scan.volume.min_max();
    let gpu = gpu.map(|g| {
        r.set("uploading to the GPU", Some(0.95));
        ScanTextures::upload(&g.device, &g.queue, &scan.volume, None)
    });
    let name = name.unwrap_or_else(|| scan.path.display().to_string());
    Ok(Loaded {
        ct: Arc::new(scan.volume),
        metadata: scan.metadata,
        warnings: scan.warnings,
        hu_range,
        name,
        path,
        layer: None,
        gpu,
    })
}

/// Reads a label map from `path` and checks that it lies on `ct`'s grid.
pub fn open_labels(path: &Path, ct: &Volume<i16>, r: &Reporter) -> Result<LabelLayer, AppError> {
    r.set("reading labels", None);
    let labels: LabelMap = nifti::read_labels(path)?;
    check_grid(path, &labels, ct)?;
    r.set("counting", Some(0.5));
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok(LabelLayer::new(&name, labels))
}

/// Explains, naming the file, how a label map's grid differs from the scan's.
pub fn check_grid(path: &Path, labels: &LabelMap, ct: &Volume<i16>) -> Result<(), AppError> {
    if labels.same_grid(ct) {
        return Ok(());
    }
    let (a, b) = (&labels.geometry, &ct.geometry);
    let why = if labels.dims() != ct.dims() {
        format!("{:?} voxels, the scan has {:?}", labels.dims(), ct.dims())
    } else if (a.spacing - b.spacing).abs().max_element() >= 1e-4 {
        format!(
            "spacing {:.3}×{:.3}×{:.3} mm, the scan's is {:.3}×{:.3}×{:.3} mm",
            a.spacing.x, a.spacing.y, a.spacing.z, b.spacing.x, b.spacing.y, b.spacing.z
        )
    } else if (a.origin - b.origin).abs().max_element() >= 1e-3 {
        format!(
            "origin ({:.1}, {:.1}, {:.1}) mm, the scan's is ({:.1}, {:.1}, {:.1}) mm",
            a.origin.x, a.origin.y, a.origin.z, b.origin.x, b.origin.y, b.origin.z
        )
    } else {
        format!("orientation {}, the scan's is {}", a.orientation_code(), b.orientation_code())
    };
    Err(AppError::OffGrid { path: path.to_path_buf(), why })
}

/// True when `path` is a NIfTI file of unsigned bytes on `ct`'s grid: a
/// label map for the open scan (a dropped file is opened as labels then,
/// as a scan otherwise; CT is never stored as bytes).
pub fn looks_like_labels_for(path: &Path, ct: &Volume<i16>) -> bool {
    if !(path.is_file() && vasa_scan::open::looks_like_nifti(path)) {
        return false;
    }
    match nifti::read::read_info(path) {
        Ok((info, geometry)) => {
            info.datatype == nifti::datatype::DataType::U8
                && Volume::filled([0, 0, 0], 0u8, geometry).same_grid(&Volume::filled([0, 0, 0], 0i16, ct.geometry))
                && info.dims == ct.dims()
        }
        Err(_) => false,
    }
}

/// The middle slice of `series`, windowed (40/400) and shrunk to a thumbnail.
pub fn thumbnail(series: &SeriesInfo) -> Option<egui::ColorImage> {
    let slice = dicom::load_middle_frame(series).ok()?;
    let [w, h, _] = slice.dims();
    Some(shrink_to_image(slice.data(), w, h, (40.0, 400.0), THUMBNAIL_SIZE))
}

/// A `w`×`h` HU image windowed at `(centre, width)` and box-sampled down so
/// its larger side is at most `max_side` pixels.
pub fn shrink_to_image(hu: &[i16], w: usize, h: usize, window: (f32, f32), max_side: usize) -> egui::ColorImage {
    let scale = (w.max(h) as f32 / max_side as f32).max(1.0);
    let (tw, th) = (((w as f32 / scale).round() as usize).max(1), ((h as f32 / scale).round() as usize).max(1));
    let mut pixels = Vec::with_capacity(tw * th);
    for ty in 0..th {
        let (y0, y1) = (ty * h / th, ((ty + 1) * h / th).max(ty * h / th + 1).min(h));
        for tx in 0..tw {
            let (x0, x1) = (tx * w / tw, ((tx + 1) * w / tw).max(tx * w / tw + 1).min(w));
            let (mut sum, mut n) = (0f32, 0f32);
            for y in y0..y1 {
                for &v in &hu[y * w + x0..y * w + x1] {
                    sum += v as f32;
                    n += 1.0;
                }
            }
            let mean = (sum / n.max(1.0)).round() as i16;
            pixels.push(egui::Color32::from_gray(window_to_u8(mean, window.0 as f64, window.1 as f64)));
        }
    }
    egui::ColorImage { size: [tw, th], source_size: egui::vec2(tw as f32, th as f32), pixels }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    #[test]
    fn thumbnails_are_windowed_and_keep_the_aspect() {
        // 200×100 image: left half air, right half 440 HU (white at 40/400).
        let hu: Vec<i16> = (0..200 * 100).map(|i| if i % 200 < 100 { -1000 } else { 440 }).collect();
        let img = shrink_to_image(&hu, 200, 100, (40.0, 400.0), 96);
        assert_eq!(img.size, [96, 48]);
        assert_eq!(img.pixels[0], egui::Color32::from_gray(0));
        assert_eq!(img.pixels[95], egui::Color32::from_gray(255));
    }

    #[test]
    fn labels_on_another_grid_are_refused_saying_how_they_differ() {
        let g = Geometry::default();
        let ct = Volume::filled([4, 4, 4], 0i16, g);
        let p = Path::new("/x/labels.nii.gz");
        assert!(check_grid(p, &Volume::filled([4, 4, 4], 0u8, g), &ct).is_ok());
        let e = check_grid(p, &Volume::filled([4, 4, 5], 0u8, g), &ct).unwrap_err().to_string();
        assert!(e.contains("labels.nii.gz") && e.contains("[4, 4, 5]"), "{e}");
        let mut moved = g;
        moved.origin.x += 5.0;
        let e = check_grid(p, &Volume::filled([4, 4, 4], 0u8, moved), &ct).unwrap_err().to_string();
        assert!(e.contains("origin"), "{e}");
    }
}
