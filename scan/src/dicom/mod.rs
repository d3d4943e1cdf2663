//! DICOM series loading: find the image series in a file or folder, then load
//! one as a CT volume in Hounsfield units with its patient geometry.
//!
//! Two steps, so that a viewer can list what a folder holds before paying for
//! the pixels:
//!
//! 1. [`scan_dicom`] reads headers only (it stops before PixelData), skips
//!    what is not a DICOM image (with a reason), and groups frames into
//!    [`SeriesInfo`]s by SeriesInstanceUID, split further where orientation or
//!    matrix size differ.
//! 2. [`load_series`] decodes the pixels of one series in parallel, sorts the
//!    slices along the slice normal, takes the slice spacing from the
//!    positions, repairs what can be repaired (duplicates, missing slices,
//!    gantry tilt — always with a warning) and returns a [`LoadedSeries`].
//!
//! [`load_dicom`] does both for the default series (the largest CT).
//!
//! Supported: implicit VR LE, explicit VR LE and BE, deflated explicit VR LE,
//! RLE lossless, JPEG baseline/extended/lossless, JPEG 2000 (lossless and
//! lossy, pure Rust); single-frame series and enhanced multi-frame images;
//! 8/16/32-bit grayscale, signed or unsigned. JPEG-LS, JPEG XL, HTJ2K and
//! other encodings are refused with an [`ScanError::Unsupported`] error that
//! names the transfer syntax. MONOCHROME1 images are loaded with their
//! modality values unchanged (the inversion of MONOCHROME1 is a display
//! rule applied after windowing, so HU stay HU) and a warning.
//!
//! [`ScanError::Unsupported`]: crate::ScanError::Unsupported

mod decode;
mod index;
mod metadata;
mod multiframe;
mod series;
#[doc(hidden)]
pub mod testing;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use glam::DVec3;

pub use metadata::StudyMetadata;

use crate::error::{Result, ScanError};
use crate::volume::Volume;

/// A file that [`scan_dicom`] looked at and left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be part of a series (not DICOM, no pixels, ...).
    pub reason: String,
}

/// One image series found by [`scan_dicom`]: everything needed to list it and
/// to load it with [`load_series`].
#[derive(Debug, Clone)]
pub struct SeriesInfo {
    /// SeriesInstanceUID (empty when the files have none). Several
    /// `SeriesInfo` may share a UID when orientation or matrix size differ.
    pub uid: String,
    /// Modality (0008,0060), e.g. `CT`; empty when absent.
    pub modality: String,
    /// SeriesDescription; empty when absent.
    pub description: String,
    /// Number of frames (slices) in the series: files for a classic series,
    /// frames for a multi-frame image.
    pub num_frames: usize,
    /// Rows (0028,0010): image height in pixels.
    pub rows: u32,
    /// Columns (0028,0011): image width in pixels.
    pub cols: u32,
    /// The files holding the series, sorted by path.
    pub files: Vec<PathBuf>,
    /// ImageOrientationPatient shared by the frames (row then column cosines),
    /// when present.
    pub orientation: Option<[f64; 6]>,
    /// Patient, study and series facts (from the first file of the series).
    pub metadata: StudyMetadata,
    /// Why this series cannot be loaded (colour images, an encoding without a
    /// decoder), known from the headers alone; `None` when it looks loadable.
    pub problem: Option<String>,
    /// Header facts of every frame, in file order.
    pub(crate) frames: Vec<FrameHeader>,
}

impl SeriesInfo {
    /// One line for a series list, e.g. `CT #3 "Abdomen 2.0" — 120 slices of 512×512`.
    pub fn label(&self) -> String {
        let number = self.metadata.series_number.map(|n| format!(" #{n}")).unwrap_or_default();
        let modality = if self.modality.is_empty() { "?" } else { &self.modality };
        let mut s = format!(
            "{modality}{number} \"{}\" — {} slices of {}×{}",
            self.description, self.num_frames, self.cols, self.rows
        );
        if let Some(p) = &self.problem {
            s.push_str(&format!(" (cannot load: {p})"));
        }
        s
    }
}

/// What [`scan_dicom`] found: the image series and the files it left out.
#[derive(Debug, Clone)]
pub struct DicomIndex {
    /// The file or folder that was scanned.
    pub root: PathBuf,
    /// Image series, largest first.
    pub series: Vec<SeriesInfo>,
    /// Files that are not DICOM images, with the reason.
    pub skipped: Vec<SkippedFile>,
}

impl DicomIndex {
    /// The series to open when the user just picks a folder: the largest CT
    /// series that looks loadable, else the largest loadable series of any
    /// modality, else the largest series.
    pub fn default_series(&self) -> Option<&SeriesInfo> {
        let loadable = || self.series.iter().filter(|s| s.problem.is_none());
        loadable()
            .filter(|s| s.modality.eq_ignore_ascii_case("CT"))
            .max_by_key(|s| s.num_frames)
            .or_else(|| loadable().max_by_key(|s| s.num_frames))
            .or_else(|| self.series.iter().max_by_key(|s| s.num_frames))
    }
}

/// A loaded series: the CT volume in HU, its metadata and what was repaired
/// or assumed on the way (to show to the user).
#[derive(Debug, Clone)]
pub struct LoadedSeries {
    /// Voxels in modality units (HU for CT) after RescaleSlope/Intercept,
    /// rounded and clamped to i16; k runs along increasing slice position.
    pub volume: Volume<i16>,
    /// Patient, study and series facts.
    pub metadata: StudyMetadata,
    /// Everything the loader had to repair or assume, in words.
    pub warnings: Vec<String>,
}

/// Header facts of one frame: a single-frame file, or one frame of a
/// multi-frame file. Collected by [`scan_dicom`], consumed by [`load_series`].
#[derive(Debug, Clone)]
pub(crate) struct FrameHeader {
    /// The file holding the frame.
    pub path: Arc<Path>,
    /// Frame index within the file (0 for single-frame files).
    pub frame: u32,
    /// ImagePositionPatient of the frame's first voxel, LPS mm.
    pub position: Option<DVec3>,
    /// ImageOrientationPatient: row cosine then column cosine.
    pub orientation: Option<[f64; 6]>,
    /// PixelSpacing: [between rows, between columns] in mm.
    pub pixel_spacing: Option<[f64; 2]>,
    /// SliceThickness in mm.
    pub slice_thickness: Option<f64>,
    /// SpacingBetweenSlices in mm (fallback when positions are missing).
    pub spacing_between_slices: Option<f64>,
    /// RescaleSlope and RescaleIntercept.
    pub rescale: (f64, f64),
    /// InstanceNumber (fallback order when positions are missing).
    pub instance_number: Option<i64>,
    /// How the samples are stored.
    pub format: PixelFormat,
    /// TransferSyntaxUID of the file.
    pub transfer_syntax: Arc<str>,
}

/// How the samples of a frame are stored (Image Pixel module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PixelFormat {
    /// Rows (image height).
    pub rows: u32,
    /// Columns (image width).
    pub cols: u32,
    /// Frames in the file.
    pub frames_in_file: u32,
    /// BitsAllocated: 8, 16 or 32.
    pub bits_allocated: u16,
    /// BitsStored (≤ BitsAllocated).
    pub bits_stored: u16,
    /// HighBit.
    pub high_bit: u16,
    /// PixelRepresentation 1: two's complement samples.
    pub signed: bool,
    /// SamplesPerPixel (must be 1 to load).
    pub samples_per_pixel: u16,
    /// PhotometricInterpretation is MONOCHROME1.
    pub monochrome1: bool,
}

/// Finds the DICOM image series in `path` (one file, or a folder searched
/// recursively), reading headers only.
///
/// Files that are not DICOM, that cannot be parsed, or that hold no image
/// (SR, RTSTRUCT, presentation states, DICOMDIR...) are listed in
/// [`DicomIndex::skipped`] with the reason. Fails with
/// [`ScanError::NothingToLoad`] when no image series remains, saying why.
pub fn scan_dicom(path: &Path) -> Result<DicomIndex> {
    index::scan(path)
}

/// Loads one series as a volume in modality units (HU for CT).
///
/// Slices are decoded in parallel; `progress(done, total)` is called from
/// worker threads as frames finish, and setting `cancel` makes the load stop
/// early with [`ScanError::Cancelled`]. Slices are sorted along the slice
/// normal and the spacing along k comes from their positions (not from
/// SliceThickness). Duplicates are dropped, irregular spacing is resampled to
/// the median step, gantry tilt is resampled onto an orthogonal grid; each
/// repair adds a line to [`LoadedSeries::warnings`].
pub fn load_series(
    series: &SeriesInfo,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<LoadedSeries> {
    series::load(series, progress, cancel)
}

/// The middle frame of `series` as a one-slice volume in modality units,
/// for a thumbnail in a series list (decodes one frame, not the series).
pub fn load_middle_frame(series: &SeriesInfo) -> Result<Volume<i16>> {
    let mut one = series.clone();
    // Middle by position along the slice normal (file order is arbitrary).
    let normal = series
        .orientation
        .map_or(DVec3::Z, |o| DVec3::new(o[0], o[1], o[2]).cross(DVec3::new(o[3], o[4], o[5])).normalize_or_zero());
    let mut order: Vec<usize> = (0..one.frames.len()).collect();
    order.sort_by(|&a, &b| {
        let at = |i: usize| one.frames[i].position.map_or(0.0, |p| p.dot(normal));
        at(a).total_cmp(&at(b)).then(one.frames[a].instance_number.cmp(&one.frames[b].instance_number))
    });
    let middle = order.get(order.len() / 2).copied().unwrap_or(0);
    let frame = one.frames.get(middle).cloned().ok_or_else(|| ScanError::NothingToLoad {
        path: series.files.first().cloned().unwrap_or_default(),
        reason: "the series has no frames".into(),
    })?;
    one.files = vec![frame.path.to_path_buf()];
    one.frames = vec![frame];
    one.num_frames = 1;
    Ok(load_series(&one, &|_, _| {}, &AtomicBool::new(false))?.volume)
}

/// Scans `path` and loads its default series ([`DicomIndex::default_series`]),
/// for callers that do not let the user choose. Adds a warning naming the
/// other series and the skipped files, if any.
pub fn load_dicom(path: &Path) -> Result<LoadedSeries> {
    let index = scan_dicom(path)?;
    let series = index.default_series().ok_or_else(|| ScanError::NothingToLoad {
        path: path.to_path_buf(),
        reason: "no DICOM image series found".into(),
    })?;
    let cancel = AtomicBool::new(false);
    let mut loaded = load_series(series, &|_, _| {}, &cancel)?;
    if index.series.len() > 1 {
        let others: Vec<String> =
            index.series.iter().filter(|s| !std::ptr::eq(*s, series)).take(5).map(|s| s.label()).collect();
        loaded.warnings.push(format!(
            "{} holds {} image series; loaded {} and left out: {}",
            path.display(),
            index.series.len(),
            series.label(),
            others.join("; ")
        ));
    }
    if !index.skipped.is_empty() {
        loaded.warnings.push(index::skipped_summary(&index.skipped));
    }
    Ok(loaded)
}
