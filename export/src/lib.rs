//! Exports: what the surgeon takes away from Vasa, in files other systems
//! open with the right geometry, and a report for the team.
//!
//! - [`seg`]: the labels as a DICOM Segmentation (one binary segment per
//!   class), referencing the source series, and read back onto a scan;
//! - [`deidentify`]: the DICOM PS3.15 basic profile applied to what is written;
//! - [`mesh_files`]: class surfaces as binary STL, OBJ and glTF 2.0 (`.glb`),
//!   and a whole-scene `.glb` with the plan;
//! - [`report`]: the HTML report (self-contained) and its JSON twin, with
//!   [`key_slices`] through the lesion.
//!
//! Every writer is atomic (a temporary file renamed into place).

pub mod deidentify;
pub mod error;
pub mod key_slices;
pub mod mesh_files;
pub mod report;
pub mod seg;

pub use error::{ExportError, write_file};
