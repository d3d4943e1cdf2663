//! `vasa edit`: replays an edit log (JSON lines, see `vasa_edit::log`) on a
//! label map, headless, giving the bytes the app saved.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use vasa_edit::{EditError, log};
use vasa_scan::nifti;

/// Arguments of `vasa edit`.
#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// The labels to edit (NIfTI, uint8).
    pub labels: PathBuf,
    /// The scan the labels belong to (NIfTI file, DICOM file or folder), for
    /// ops with an HU range; it must be on the labels' grid.
    #[arg(long)]
    pub scan: Option<PathBuf>,
    /// The edit log: one op per line, e.g.
    /// {"op":"paint","class":1,"center_mm":[x,y,z],"radius_mm":2}.
    #[arg(long)]
    pub ops: PathBuf,
    /// Where to write the edited labels (.nii or .nii.gz).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

/// Runs `vasa edit`.
pub fn run(args: EditArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if !nifti::is_nifti_path(&args.output) {
        bail!("{}: output must be a .nii or .nii.gz file", args.output.display());
    }
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("{}: folder {} does not exist", args.output.display(), dir.display());
    }
    let ops = log::read(&args.ops)?;
    let mut labels = nifti::read_labels(&args.labels)?;
    let scan = match &args.scan {
        Some(p) => {
            let s = vasa_scan::open_scan(p)?;
            if !s.volume.same_grid(&labels) {
                bail!(
                    "{}: not on the grid of {} ({:?} vs {:?} voxels, or spacing, origin or direction differ)",
                    p.display(),
                    args.labels.display(),
                    s.volume.dims(),
                    labels.dims()
                );
            }
            // The app edited on the scan's geometry (the labels file keeps
            // it in single precision): replay on the same numbers.
            labels.geometry = s.volume.geometry;
            Some(s.volume)
        }
        None => None,
    };
    let replay = vasa_edit::replay(&mut labels, scan.as_ref(), &ops).map_err(|(line, e)| {
        // Name the op by its line in the file (comments and blank lines included).
        let text = std::fs::read_to_string(&args.ops).unwrap_or_default();
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim().starts_with('#'))
            .nth(line - 1)
            .map_or(line, |(n, _)| n + 1);
        EditError::AtLine { path: args.ops.clone(), line, source: Box::new(e) }
    })?;
    nifti::write_nifti(&args.output, &labels).with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "wrote {} ({} ops replayed in {:.2} s)",
        args.output.display(),
        ops.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(op) = replay.next_undo() {
        println!("  last edit in effect: {}", op.describe());
    }
    Ok(())
}
