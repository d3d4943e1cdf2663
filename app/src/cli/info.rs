//! `vasa info` (in progress)
use std::path::PathBuf;
/// Arguments of `vasa info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs { /// File or folder.
pub path: PathBuf }
/// Runs `vasa info`.
pub fn run(_a: InfoArgs) -> anyhow::Result<std::process::ExitCode> { anyhow::bail!("todo") }
