//! The scan a document is about.

use std::path::PathBuf;
use std::sync::Arc;

use vasa_scan::Volume;
use vasa_scan::dicom::StudyMetadata;

/// A scan and what was computed once about it when it was opened.
pub struct Scan {
    /// CT voxels in HU (shared with the workers that process it).
    pub ct: Arc<Volume<i16>>,
    /// Patient, study and series facts.
    pub metadata: StudyMetadata,
    /// Repairs and assumptions made while loading.
    pub warnings: Vec<String>,
    /// Lowest and highest HU.
    pub hu_range: Option<(i16, i16)>,
    /// Name for the title and status bar.
    pub name: String,
    /// The file or folder it came from (`None` for the sample).
    pub path: Option<PathBuf>,
}
