//! `vasa-scan`: volumes with patient geometry, label maps, and everything that
//! reads, writes and reshapes them (NIfTI, DICOM, resampling, masks,
//! connected components). No GPU, no network: the ground every other crate
//! stands on.
//!
//! Coordinates are patient LPS throughout (DICOM convention). NIfTI files are
//! RAS on disk and are converted when read and written.

pub mod atomic_file;
pub mod components;
pub mod crop;
pub mod dicom;
pub mod distance;
pub mod error;
pub mod geometry;
pub mod label_stats;
pub mod labels;
pub mod masks;
pub mod memory;
pub mod metrics;
pub mod neighbourhood;
pub mod nifti;
pub mod open;
pub mod png;
pub mod resample;
pub mod reslice;
pub mod skeleton;
pub mod surface;
pub mod vessel_graph;
pub mod volume;

pub use error::{Result, ScanError};
pub use geometry::Geometry;
pub use labels::{ClassInfo, ClassTable, LabelMap};
pub use open::{OpenedScan, ScanFormat, open_scan};
pub use volume::Volume;
