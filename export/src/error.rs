//! Why an export (or reading one back) failed: always naming the file.

use std::path::PathBuf;

/// An export error.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not what it should be, or the data cannot be exported.
    #[error("{}: {what}", path.display())]
    Bad {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        what: String,
    },
}

impl ExportError {
    /// A [`ExportError::Bad`] for `path`.
    pub fn bad(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        ExportError::Bad { path: path.into(), what: what.into() }
    }

    /// An [`ExportError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ExportError::Io { path: path.into(), source }
    }
}

/// Writes `bytes` to `path` atomically (a temporary file beside it, synced
/// and renamed into place).
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), ExportError> {
    vasa_scan::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, bytes))
        .map_err(|e| ExportError::io(path, std::io::Error::other(e.to_string())))
}
