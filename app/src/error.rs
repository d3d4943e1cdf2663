//! What can go wrong in the app, typed: the window tells a cancellation
//! from a failure by its variant, never by reading the message, and each
//! message names the file and the reason.

use std::path::PathBuf;

use vasa_inference::phantom::PhantomError;
use vasa_inference::segment::SegmentError;
use vasa_render::MeshTooLarge;
use vasa_render::UploadError;
use vasa_scan::ScanError;

/// An error of the app's own work (opening, extracting, saving, settings).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
    /// A scan or label file could not be read or written.
    #[error(transparent)]
    Scan(ScanError),
    /// The extraction failed (boxed: the network's errors are large).
    #[error(transparent)]
    Segment(Box<SegmentError>),
    /// The model folder could not be loaded.
    #[error("{path}: {source}")]
    Model {
        /// The model folder.
        path: PathBuf,
        /// Why it could not be loaded.
        #[source]
        source: Box<SegmentError>,
    },
    /// The sample phantom could not be made.
    #[error(transparent)]
    Phantom(#[from] PhantomError),
    /// The GPU refused the scan or its labels.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// A surface mesh too big for the GPU even at the coarsest step.
    #[error(transparent)]
    MeshTooLarge(#[from] MeshTooLarge),
    /// The operating system refused a read or write.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A settings file could not be encoded.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A PNG could not be written (the error names the file).
    #[error(transparent)]
    Png(#[from] vasa_scan::png::PngError),
    /// An edit log could not be read (the error names the file and line).
    #[error(transparent)]
    Edit(#[from] vasa_edit::EditError),
    /// A plan file that cannot be read or written.
    #[error(transparent)]
    PlanFile(#[from] vasa_plan::PlanFileError),
    /// The path names nothing.
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    /// A folder without a loadable DICOM image series.
    #[error("{0}: no DICOM image series found")]
    NoSeries(PathBuf),
    /// A series number that is not in the folder's list.
    #[error("no such series")]
    NoSuchSeries,
    /// A series the loader cannot read, and why.
    #[error("{root}: {series}: {problem}")]
    UnloadableSeries {
        /// The folder.
        root: PathBuf,
        /// The series, as listed.
        series: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A scan without voxels.
    #[error("{0}: the scan has no voxels")]
    EmptyScan(PathBuf),
    /// Labels that do not lie on the open scan's grid.
    #[error("{path}: these labels are not on the scan's grid: {why}")]
    OffGrid {
        /// The label file.
        path: PathBuf,
        /// How the grids differ, in words.
        why: String,
    },
    /// Labels are only saved as NIfTI.
    #[error("{0}: labels are saved as NIfTI: name the file .nii or .nii.gz")]
    NotNiftiName(PathBuf),
    /// The window never handed over the picture asked for.
    #[error("{0}: the window did not deliver a screenshot")]
    NoScreenshot(PathBuf),
    /// A screenshot found nothing to capture: why, as the window said it.
    #[error("{0}")]
    NothingShown(String),
    /// A screenshot of a viewport that is not on screen.
    #[error("that viewport is not on screen")]
    ViewportHidden,
    /// A worker thread ended without a result (it panicked).
    #[error("{what} stopped unexpectedly (a bug: see the log)")]
    WorkerLost {
        /// The job, lower-case ("opening x").
        what: String,
    },
    /// A command-line value not among the accepted ones.
    #[error("unknown {what} {value:?}: use {expected}")]
    UnknownValue {
        /// What the value is for ("phase").
        what: &'static str,
        /// The value given.
        value: String,
        /// The accepted values, in words.
        expected: &'static str,
    },
}

impl AppError {
    /// True when the user cancelled (not a failure to report).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, AppError::Cancelled)
    }
}

/// A cancelled read is [`AppError::Cancelled`], whatever layer noticed it.
impl From<ScanError> for AppError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Cancelled => AppError::Cancelled,
            e => AppError::Scan(e),
        }
    }
}

/// A cancelled extraction is [`AppError::Cancelled`].
impl From<SegmentError> for AppError {
    fn from(e: SegmentError) -> Self {
        match e {
            SegmentError::Cancelled => AppError::Cancelled,
            e => AppError::Segment(Box::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_is_a_variant_whoever_reports_it() {
        assert!(AppError::from(ScanError::Cancelled).is_cancelled());
        assert!(AppError::from(SegmentError::Cancelled).is_cancelled());
        let e = AppError::from(ScanError::malformed("/x/a.nii", "bad header"));
        assert!(!e.is_cancelled());
        assert_eq!(e.to_string(), "/x/a.nii: bad header");
        let e = AppError::OffGrid { path: "/x/l.nii.gz".into(), why: "[4, 4, 5] voxels".into() };
        assert_eq!(e.to_string(), "/x/l.nii.gz: these labels are not on the scan's grid: [4, 4, 5] voxels");
    }
}
