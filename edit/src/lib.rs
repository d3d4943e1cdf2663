//! Label edits, the way a surgeon corrects extracted vessels: paint, erase,
//! relabel a branch (optionally only distal to a cut plane), connect two
//! points, remove islands, keep the largest piece; undo and redo.
//!
//! Every edit is an [`EditOp`] with its points in patient LPS mm, so a log
//! of them (JSON lines, [`log`]) replays on the labels headless
//! (`vasa edit`) and gives the same bytes as the app. [`apply`] carries out
//! one op and returns a [`Patch`]: the touched box's previous voxels,
//! run-length coded, which is what undo needs and all the history keeps.

pub mod apply;
pub mod error;
pub mod log;
pub mod ops;
pub mod patch;
pub mod replay;

pub use apply::{apply, apply_stroke_segment, distal_normal};
pub use error::EditError;
pub use ops::{EditOp, ReviewDecision};
pub use patch::Patch;
pub use replay::{Replay, replay};
