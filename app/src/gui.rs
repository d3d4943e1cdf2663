//! The viewer window.
/// Opens the viewer.
pub fn run(_p: Option<std::path::PathBuf>) -> anyhow::Result<()> { Ok(()) }
