//! `vasa phantom`: writes a synthetic chest CT (`ct.nii.gz`, int16 HU), its
//! exact labels (`labels.nii.gz`, uint8) and one label per anatomical
//! structure (`anatomy.nii.gz` with its table `anatomy.json`) on the same LPS
//! grid, with an optional PNG preview, and prints what it made.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use vasa_inference::phantom::rng::Rng;
use vasa_inference::phantom::{
    ACQUISITION_STREAM, Acquisition, Fov, Kernel, PhantomError, PhantomOptions, Phase, Structure, generate,
    metrics::Report, write_preview,
};
use vasa_scan::nifti::write_nifti;

/// Arguments of `vasa phantom`.
#[derive(Debug, clap::Args)]
pub struct PhantomArgs {
    /// Random seed: the same seed gives the same bytes on every machine.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (created if missing); receives ct.nii.gz, labels.nii.gz,
    /// anatomy.nii.gz and anatomy.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Contrast phase: plain, ctpa (CT pulmonary angiography), arterial
    /// (systemic arterial) or venous (portal-venous); drawn from the seed if absent.
    #[arg(long, value_parser = parse_phase)]
    pub phase: Option<Phase>,
    /// Slice thickness in mm (0.5–5): a thick slice averages over it.
    #[arg(long, value_name = "MM")]
    pub thickness: Option<f64>,
    /// Slice spacing in mm (0.3–5); default: the slice thickness.
    #[arg(long, value_name = "MM")]
    pub spacing: Option<f64>,
    /// Reconstruction kernel: soft, standard or sharp (lung/bone).
    #[arg(long, value_parser = parse_kernel)]
    pub kernel: Option<Kernel>,
    /// Noise σ in uniform soft tissue, HU (0–80; 0: no noise).
    #[arg(long, value_name = "HU")]
    pub noise: Option<f64>,
    /// Field of view: chest, slab:MM (MM of z around the pulmonary bifurcation), left or right.
    #[arg(long, value_parser = parse_fov)]
    pub fov: Option<Fov>,
    /// Also write a PNG montage (axial, coronal, sagittal; lung window; labels overlaid).
    #[arg(long)]
    pub preview: Option<PathBuf>,
}

fn parse_phase(s: &str) -> Result<Phase, PhantomError> {
    s.parse::<Phase>()
}

fn parse_kernel(s: &str) -> Result<Kernel, PhantomError> {
    s.parse::<Kernel>()
}

fn parse_fov(s: &str) -> Result<Fov, PhantomError> {
    s.parse::<Fov>()
}

/// The acquisition and phase `args` ask for: drawn from the seed, then
/// overridden by the flags given.
pub fn acquisition(args: &PhantomArgs) -> anyhow::Result<(Phase, Acquisition)> {
    let mut rng = Rng::new(args.seed).fork(ACQUISITION_STREAM);
    let mut acq = Acquisition::draw(&mut rng);
    let phase = args.phase.unwrap_or_else(|| Phase::draw(&mut rng));
    if let Some(t) = args.thickness {
        acq.thickness_mm = t;
        acq.spacing_mm = t;
    }
    if let Some(s) = args.spacing {
        acq.spacing_mm = s;
    }
    if let Some(k) = args.kernel {
        acq.kernel = k;
    }
    if let Some(n) = args.noise {
        acq.noise_sigma = n;
    }
    if let Some(f) = args.fov {
        if f != acq.fov && matches!((f, acq.fov), (Fov::Left | Fov::Right, _) | (_, Fov::Left | Fov::Right)) {
            // Keep the pixel size within the clinical range of the new field.
            acq.pixel_mm = if matches!(f, Fov::Left | Fov::Right) { 0.7 } else { acq.pixel_mm.max(350.0 / 512.0) };
        }
        acq.fov = f;
    }
    acq.validate().context("invalid acquisition flags")?;
    Ok((phase, acq))
}

/// Runs `vasa phantom`.
pub fn run(args: PhantomArgs) -> anyhow::Result<()> {
    let (phase, acq) = acquisition(&args)?;
    let opts = PhantomOptions::from_acquisition(args.seed, phase, &acq).context("invalid acquisition flags")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let t = Instant::now();
    let ph = generate(&opts)?;
    let took = t.elapsed().as_secs_f64();
    let ct_path = args.out.join("ct.nii.gz");
    let labels_path = args.out.join("labels.nii.gz");
    write_nifti(&ct_path, &ph.ct).with_context(|| format!("writing {}", ct_path.display()))?;
    write_nifti(&labels_path, &ph.labels).with_context(|| format!("writing {}", labels_path.display()))?;
    let anatomy_path = args.out.join("anatomy.nii.gz");
    write_nifti(&anatomy_path, &ph.anatomy).with_context(|| format!("writing {}", anatomy_path.display()))?;
    let table_path = args.out.join("anatomy.json");
    vasa_scan::atomic_file::write_atomically(&table_path, |w| {
        let facts = serde_json::json!({
            "seed": args.seed,
            "phase": phase.to_string(),
            "acquisition": {
                "pixel_mm": acq.pixel_mm,
                "thickness_mm": acq.thickness_mm,
                "spacing_mm": acq.spacing_mm,
                "kernel": acq.kernel.to_string(),
                "noise_sigma_hu": acq.noise_sigma,
                "fov": acq.fov.to_string(),
            },
            "findings": ph.findings,
        });
        std::io::Write::write_all(w, Structure::table_json_with(facts).as_bytes())
    })
    .with_context(|| format!("writing {}", table_path.display()))?;
    if let Some(p) = &args.preview {
        write_preview(&ph, p).with_context(|| format!("writing the preview {}", p.display()))?;
    }
    let [nx, ny, nz] = ph.ct.dims();
    let s = ph.ct.geometry.spacing;
    println!(
        "phantom seed {} ({phase} phase): {nx}×{ny}×{nz} voxels of {:.3}×{:.3}×{:.3} mm, generated in {took:.2} s",
        args.seed, s.x, s.y, s.z
    );
    println!("acquisition: {acq}");
    println!("{}", Report::of(&ph));
    println!("labels: 0 background, 1 artery, 2 vein (with left atrium), 3 aorta, 4 airway, 5 heart and venae cavae");
    println!(
        "wrote {}, {}, {} and {}",
        ct_path.display(),
        labels_path.display(),
        anatomy_path.display(),
        table_path.display()
    );
    if let Some(p) = &args.preview {
        println!("wrote {}", p.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(extra: &[&str]) -> anyhow::Result<PhantomArgs> {
        let mut argv = vec!["vasa", "phantom", "--out", "x"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv)? {
            Cli { command: Some(Command::Phantom(a)), .. } => Ok(a),
            other => anyhow::bail!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_set_the_acquisition_and_the_rest_is_drawn() {
        let a = parse(&["--seed", "4", "--thickness", "5", "--kernel", "sharp", "--noise", "12", "--fov", "slab:40"])
            .unwrap();
        let (phase, acq) = acquisition(&a).unwrap();
        assert_eq!((acq.thickness_mm, acq.spacing_mm, acq.kernel, acq.noise_sigma), (5.0, 5.0, Kernel::Sharp, 12.0));
        assert_eq!(acq.fov, Fov::Slab { mm: 40.0 });
        // Unset: drawn from the seed, the same every time.
        let b = parse(&["--seed", "4"]).unwrap();
        assert_eq!(acquisition(&b).unwrap(), acquisition(&b).unwrap());
        assert_eq!(acquisition(&b).unwrap().0, phase);
        let c = parse(&["--phase", "ctpa", "--fov", "left", "--spacing", "0.8", "--thickness", "1.25"]).unwrap();
        let (phase, acq) = acquisition(&c).unwrap();
        assert_eq!((phase, acq.fov, acq.spacing_mm, acq.thickness_mm), (Phase::Ctpa, Fov::Left, 0.8, 1.25));
        assert!(vasa_inference::phantom::PIXEL_RANGE_MM.contains(&acq.pixel_mm));
    }

    #[test]
    fn bad_flags_are_refused_with_a_reason() {
        for (flags, needles) in [
            (&["--kernel", "blurry"][..], &["blurry", "soft, standard or sharp"][..]),
            (&["--fov", "top"], &["top", "slab:MM"]),
            (&["--fov", "slab:x"], &["slab"]),
            (&["--fov", "slab:500"], &["500", "150"]),
            (&["--phase", "portal"], &["portal", "ctpa"]),
            (&["--thickness", "thick"], &["thick"]),
        ] {
            let e = parse(flags).unwrap_err().to_string();
            for n in needles {
                assert!(e.contains(n), "{flags:?}: {e}");
            }
        }
        for (flags, needle) in [
            (&["--thickness", "9"][..], "slice thickness 9"),
            (&["--noise=-3"], "noise"),
            (&["--spacing", "0"], "spacing"),
        ] {
            let a = parse(flags).unwrap();
            let e = format!("{:#}", acquisition(&a).unwrap_err());
            assert!(e.contains(needle), "{flags:?}: {e}");
        }
    }
}
