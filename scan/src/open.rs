//! One entry point for "open this path": a NIfTI file, a DICOM file or a
//! DICOM folder, whichever it is. The app and the command line both use it.

use std::path::{Path, PathBuf};

use crate::dicom::{self, StudyMetadata};
use crate::error::{Result, ScanError};
use crate::nifti;
use crate::volume::Volume;

/// The format a scan was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanFormat {
    /// NIfTI-1 (`.nii` or `.nii.gz`).
    Nifti,
    /// A DICOM series.
    Dicom,
}

/// A scan ready to view or process: the CT in HU with its geometry, what is
/// known about the study, and the warnings worth showing the user.
#[derive(Debug, Clone)]
pub struct OpenedScan {
    /// CT voxels in HU, geometry in patient LPS.
    pub volume: Volume<i16>,
    /// Study facts (mostly empty for NIfTI, which carries none).
    pub metadata: StudyMetadata,
    /// Repairs and assumptions made while loading.
    pub warnings: Vec<String>,
    /// The file or folder opened.
    pub path: PathBuf,
    /// What it was read as.
    pub format: ScanFormat,
}

/// True when `path` is a file that looks like NIfTI-1: named `.nii`/`.nii.gz`,
/// or gzip-compressed, or with a 348-byte header size in its first bytes.
pub fn looks_like_nifti(path: &Path) -> bool {
    if nifti::is_nifti_path(path) {
        return true;
    }
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let mut b = [0u8; 4];
    use std::io::Read;
    if f.read_exact(&mut b).is_err() {
        return false;
    }
    b[..2] == [0x1f, 0x8b] || i32::from_le_bytes(b) == 348 || i32::from_be_bytes(b) == 348
}

/// Opens a NIfTI file, a DICOM file or a DICOM folder (its default series).
pub fn open_scan(path: &Path) -> Result<OpenedScan> {
    if !path.exists() {
        return Err(ScanError::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder")));
    }
    if path.is_file() && looks_like_nifti(path) {
        let (volume, info) = nifti::read_ct_with_info(path)?;
        let metadata = StudyMetadata {
            series_description: (!info.description.is_empty()).then(|| info.description.clone()),
            ..Default::default()
        };
        return Ok(OpenedScan {
            volume,
            metadata,
            warnings: info.warnings,
            path: path.into(),
            format: ScanFormat::Nifti,
        });
    }
    let loaded = dicom::load_dicom(path)?;
    Ok(OpenedScan {
        volume: loaded.volume,
        metadata: loaded.metadata,
        warnings: loaded.warnings,
        path: path.into(),
        format: ScanFormat::Dicom,
    })
}
