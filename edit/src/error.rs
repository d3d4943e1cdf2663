//! Why an edit or a log could not be applied.

use std::path::PathBuf;

/// Why an edit could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A point lies outside the scan.
    #[error("{what} {point_mm:?} mm lies outside the scan")]
    OutsideScan {
        /// Which point ("center_mm", "at_mm", …).
        what: &'static str,
        /// The point.
        point_mm: [f64; 3],
    },
    /// A relabel points at background.
    #[error("relabel at {point_mm:?} mm: no labelled voxel there")]
    NothingThere {
        /// The point.
        point_mm: [f64; 3],
    },
    /// A number is out of its range.
    #[error("{0}")]
    BadValue(String),
    /// An HU range was asked for without a scan.
    #[error("{op} has an \"hu\" range, which needs the scan (--scan)")]
    NeedsScan {
        /// The op's name.
        op: &'static str,
    },
    /// The scan and the labels are on different grids.
    #[error("the scan and the labels are not on the same grid")]
    GridMismatch,
    /// An undo or redo with nothing to revert.
    #[error("{0} with nothing to {0}")]
    NothingTo(&'static str),
    /// A line of a log could not be read or applied.
    #[error("{}:{line}: {source}", path.display())]
    AtLine {
        /// The log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What went wrong there.
        source: Box<EditError>,
    },
    /// A line of a log is not a valid op.
    #[error("not a valid edit: {0}")]
    Parse(String),
    /// Reading or writing a log failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The log.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}
