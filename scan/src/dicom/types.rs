//! The records the DICOM loader passes between its steps: what a folder scan
//! found ([`DicomIndex`], [`SeriesInfo`], [`SkippedFile`]), the header facts
//! of every frame ([`FrameHeader`], [`PixelFormat`]) and what a load returns
//! ([`LoadedSeries`]). Plain data, so every step can use them without
//! depending on another step.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glam::DVec3;

use super::metadata::StudyMetadata;
use crate::volume::Volume;

/// A file that [`scan_dicom`](super::scan_dicom) looked at and left out,
/// and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be part of a series (not DICOM, no pixels, ...).
    pub reason: String,
}

/// One image series found by [`scan_dicom`](super::scan_dicom): everything
/// needed to list it and to load it with [`load_series`](super::load_series).
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

/// What [`scan_dicom`](super::scan_dicom) found: the image series and the
/// files it left out.
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
/// multi-frame file. Collected by [`scan_dicom`](super::scan_dicom), consumed
/// by [`load_series`](super::load_series).
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
    /// SOPInstanceUID of the image holding the frame (empty when absent).
    pub sop_instance_uid: Arc<str>,
    /// SOPClassUID of the image holding the frame (empty when absent).
    pub sop_class_uid: Arc<str>,
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
