//! `vasa synth-plain`: the plain (non-contrast) scan a labelled enhanced CT
//! would have been (DESIGN.md §1 "Training", step 2).

use std::path::PathBuf;

use anyhow::{Context, bail};
use vasa_inference::train::synth_plain::{SynthOptions, synthesize_plain};
use vasa_scan::nifti;

/// Arguments of `vasa synth-plain`.
#[derive(Debug, clap::Args)]
pub struct SynthPlainArgs {
    /// The enhanced scan (NIfTI file, DICOM file or folder).
    pub ct: PathBuf,
    /// Its vessel labels (NIfTI: 1 artery, 2 vein, 3 aorta).
    pub labels: PathBuf,
    /// Where to write the synthesised plain scan (.nii or .nii.gz).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Mean HU the vessels are brought down to.
    #[arg(long, default_value_t = vasa_inference::train::synth_plain::PLAIN_BLOOD_HU)]
    pub plain_hu: f32,
}

/// Runs `vasa synth-plain`.
pub fn run(args: SynthPlainArgs) -> anyhow::Result<()> {
    if !nifti::is_nifti_path(&args.output) {
        bail!("{}: output must be a .nii or .nii.gz file", args.output.display());
    }
    let scan = vasa_scan::open_scan(&args.ct)?;
    let labels = nifti::read_labels(&args.labels)?;
    let options = SynthOptions { plain_level_hu: args.plain_hu, ..SynthOptions::default() };
    let s = synthesize_plain(&scan.volume, &labels, &options)
        .with_context(|| format!("{} with {}", args.ct.display(), args.labels.display()))?;
    nifti::write_nifti(&args.output, &s.ct)?;
    println!("wrote {}", args.output.display());
    let table = vasa_scan::ClassTable::default();
    for f in &s.factors {
        println!(
            "  {:<8} {:>9} voxels  mean {:>6.1} HU (window {:>5.0} HU)  factor {:.3}",
            table.name(f.class),
            f.voxels,
            f.mean_hu,
            f.window_width_hu,
            f.factor
        );
    }
    println!("  other enhanced tissue: {} voxels, factor {:.3}", s.rest_voxels, s.rest_factor);
    Ok(())
}
