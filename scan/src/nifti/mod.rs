//! NIfTI-1 (`.nii`, `.nii.gz`) reading and writing.
//!
//! Every integer and float scalar datatype is read; `scl_slope`/`scl_inter`
//! are applied; the transform is chosen as nibabel and ITK do (see
//! [`transform`]). NIfTI world coordinates are RAS; volumes come out in LPS
//! (x and y negated) and are converted back on writing, so a file written by
//! Vasa opens in the same place in every other tool.

pub mod datatype;
pub mod read;
pub mod transform;
pub mod write;

use std::path::Path;

pub use datatype::{DataType, NiftiVoxel};
pub use read::{NiftiInfo, read_info};
pub use transform::TransformSource;

use crate::error::Result;
use crate::labels::LabelMap;
use crate::volume::Volume;

/// Reads a CT image in Hounsfield units (scaled, rounded to i16).
pub fn read_ct(path: &Path) -> Result<Volume<i16>> {
    read::read::<i16>(path).map(|(v, _)| v)
}

/// Reads a CT image and what its header said (datatype, transform, warnings).
pub fn read_ct_with_info(path: &Path) -> Result<(Volume<i16>, NiftiInfo)> {
    read::read::<i16>(path)
}

/// Reads a label map: every voxel must be a whole number in 0..=255.
pub fn read_labels(path: &Path) -> Result<LabelMap> {
    read::read::<u8>(path).map(|(v, _)| v)
}

/// Reads any scalar image as f32 (scaled).
pub fn read_f32(path: &Path) -> Result<Volume<f32>> {
    read::read::<f32>(path).map(|(v, _)| v)
}

/// Writes a volume (i16 image, u8 labels or f32) atomically; `.gz` names are
/// compressed. Label maps should be written on the grid of their scan.
pub fn write_nifti<T: NiftiVoxel>(path: &Path, volume: &Volume<T>) -> Result<()> {
    write::write(path, volume)
}

/// True when the path names a NIfTI file (`.nii` or `.nii.gz`).
pub fn is_nifti_path(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    name.ends_with(".nii") || name.ends_with(".nii.gz")
}
