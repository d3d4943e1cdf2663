//! The intervention plan drawn on the scan.

/// The plan of the open scan. Empty for now: the planning issue fills it
/// (targets, paths, measurements). It lives in the [`Document`] so that
/// undo and export find it beside the labels.
///
/// [`Document`]: super::Document
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {}
