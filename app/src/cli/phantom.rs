//! `vasa phantom`: writes a synthetic chest CT and its labels (in progress).

use std::path::PathBuf;

/// Arguments of `vasa phantom`.
#[derive(Debug, clap::Args)]
pub struct PhantomArgs {
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `vasa phantom`.
pub fn run(_args: PhantomArgs) -> anyhow::Result<()> {
    anyhow::bail!("vasa phantom is not implemented yet")
}
