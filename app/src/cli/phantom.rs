//! `vasa phantom`: writes a synthetic chest CT (`ct.nii.gz`, int16 HU) and
//! its exact labels (`labels.nii.gz`, uint8) on the same LPS grid, with an
//! optional PNG preview, and prints what it made.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use vasa_inference::phantom::{PhantomOptions, Phase, generate, metrics::Report, write_preview};
use vasa_scan::nifti::write_nifti;

/// Arguments of `vasa phantom`.
#[derive(Debug, clap::Args)]
pub struct PhantomArgs {
    /// Random seed: the same seed gives the same bytes on every machine.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (created if missing); receives ct.nii.gz and labels.nii.gz.
    #[arg(long)]
    pub out: PathBuf,
    /// Contrast phase: plain, arterial (CT pulmonary angiography) or venous (systemic).
    #[arg(long, default_value = "plain", value_parser = parse_phase)]
    pub phase: Phase,
    /// Slice spacing in mm (0.6–2.5); in-plane is 350 mm / 256.
    #[arg(long, default_value_t = 1.5)]
    pub spacing: f64,
    /// Also write a PNG montage (axial, coronal, sagittal; lung window; labels overlaid).
    #[arg(long)]
    pub preview: Option<PathBuf>,
}

fn parse_phase(s: &str) -> Result<Phase, String> {
    s.parse::<Phase>().map_err(|e| e.to_string())
}

/// Runs `vasa phantom`.
pub fn run(args: PhantomArgs) -> anyhow::Result<()> {
    let opts = PhantomOptions::with_slice_spacing(args.seed, args.phase, args.spacing).context("invalid --spacing")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let t = Instant::now();
    let ph = generate(&opts)?;
    let took = t.elapsed().as_secs_f64();
    let ct_path = args.out.join("ct.nii.gz");
    let labels_path = args.out.join("labels.nii.gz");
    write_nifti(&ct_path, &ph.ct).with_context(|| format!("writing {}", ct_path.display()))?;
    write_nifti(&labels_path, &ph.labels).with_context(|| format!("writing {}", labels_path.display()))?;
    if let Some(p) = &args.preview {
        write_preview(&ph, p).with_context(|| format!("writing the preview {}", p.display()))?;
    }
    let [nx, ny, nz] = ph.ct.dims();
    let s = ph.ct.geometry.spacing;
    println!(
        "phantom seed {} ({} phase): {nx}×{ny}×{nz} voxels of {:.3}×{:.3}×{:.3} mm, generated in {took:.2} s",
        args.seed, args.phase, s.x, s.y, s.z
    );
    println!("{}", Report::of(&ph));
    println!("labels: 0 background, 1 artery, 2 vein (with left atrium), 3 aorta, 4 airway, 5 heart and venae cavae");
    println!("wrote {} and {}", ct_path.display(), labels_path.display());
    if let Some(p) = &args.preview {
        println!("wrote {}", p.display());
    }
    Ok(())
}
