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
//! The modules depend on one another without a circle: this file is the
//! front door and calls `index` (folder scan) and `series` (loading); both
//! use `decode` (pixels); all of them use `types` (the records passed
//! between steps), `metadata`, `multiframe` and `error`, which use nothing
//! else of the loader.
//!
//! [`ScanError::Unsupported`]: crate::ScanError::Unsupported

mod decode;
mod error;
mod index;
mod metadata;
mod multiframe;
mod series;
#[doc(hidden)]
pub mod testing;
mod types;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use glam::DVec3;

pub use metadata::{SourceSlice, StudyMetadata};
pub use types::{DicomIndex, LoadedSeries, SeriesInfo, SkippedFile};

use crate::error::{Result, ScanError};
use crate::volume::Volume;

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
