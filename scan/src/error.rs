//! Errors of the scan crate: every one names the file (and, where known, the tag
//! or slice) and what is wrong with it, so a user can act on the message.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = ScanError> = std::result::Result<T, E>;

/// What went wrong while reading, writing or checking a scan.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The operating system refused a read or write.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is shorter than its header says.
    #[error("{path}: file is truncated ({what})")]
    Truncated {
        /// The file involved.
        path: PathBuf,
        /// What was being read when the data ran out.
        what: String,
    },
    /// The file is not what it claims to be, or a field is out of range.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file involved.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A well-formed file that uses something Vasa does not handle.
    #[error("{path}: unsupported: {reason}")]
    Unsupported {
        /// The file involved.
        path: PathBuf,
        /// What is not supported.
        reason: String,
    },
    /// The volume would need more memory than may be allocated.
    #[error("{path}: volume of {dims:?} voxels needs {bytes} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// The file involved.
        path: PathBuf,
        /// The dimensions found in the header.
        dims: Vec<u64>,
        /// Bytes the volume would need (saturated on overflow).
        bytes: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Geometry (spacing, direction) that cannot describe a real scan.
    #[error("{path}: invalid geometry: {reason}")]
    Geometry {
        /// The file involved (empty for in-memory volumes).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A folder or file holds no image Vasa can load.
    #[error("{path}: {reason}")]
    NothingToLoad {
        /// The file or folder involved.
        path: PathBuf,
        /// Why nothing could be loaded.
        reason: String,
    },
    /// The caller asked the operation to stop.
    #[error("cancelled")]
    Cancelled,
}

impl ScanError {
    /// Shorthand for a [`ScanError::Malformed`] error.
    pub fn malformed(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        ScanError::Malformed { path: path.into(), reason: reason.into() }
    }

    /// Shorthand for a [`ScanError::Unsupported`] error.
    pub fn unsupported(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        ScanError::Unsupported { path: path.into(), reason: reason.into() }
    }

    /// Shorthand for a [`ScanError::Io`] error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ScanError::Io { path: path.into(), source }
    }

    /// An I/O error that is really a short read becomes [`ScanError::Truncated`].
    pub fn from_read(path: impl Into<PathBuf>, what: &str, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            ScanError::Truncated { path: path.into(), what: what.to_string() }
        } else {
            ScanError::Io { path: path.into(), source }
        }
    }
}
