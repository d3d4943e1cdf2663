//! `vasa train`: the patent's training recipe (DESIGN.md §1) on phantoms
//! and/or labelled scans, with checkpoints, resume, a CSV log and a plot.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use vasa_inference::network::NetworkConfig;
use vasa_inference::phantom::Phase;
use vasa_inference::train::data::{self, Source};
use vasa_inference::train::{TrainEvent, TrainOptions, train};

/// Arguments of `vasa train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Run folder: checkpoint/, best/, model/, log.csv, curves.png.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Phantom seeds to train on, e.g. `1-16` or `1,4,9-12`.
    #[arg(long)]
    pub phantom_seeds: Option<String>,
    /// Phases of the training phantoms, assigned to the seeds in turn.
    /// Enhanced phantoms also yield a synthesised plain scan.
    #[arg(long, default_value = "ctpa,arterial", value_delimiter = ',')]
    pub phantom_phases: Vec<String>,
    /// Acquisition of the training phantoms: `drawn` per seed (pixel size,
    /// slice thickness, kernel, noise, field of view within clinical ranges:
    /// domain randomisation) or `fixed` (256 × 256, 1.5 mm, standard kernel).
    /// Validation phantoms are always fixed, so runs compare.
    #[arg(long, default_value = "drawn", value_parser = ["drawn", "fixed"])]
    pub phantom_acquisition: String,
    /// Labelled scans: a folder with images/ and labels/, or a manifest of `ct,labels` lines.
    #[arg(long)]
    pub data: Vec<PathBuf>,
    /// Phantom seeds held out for validation.
    #[arg(long, default_value = "901,902")]
    pub val_seeds: String,
    /// Phases of the validation phantoms, assigned to the seeds in turn.
    #[arg(long, default_value = "plain,ctpa", value_delimiter = ',')]
    pub val_phases: Vec<String>,
    /// Labelled scans for validation (folder or manifest).
    #[arg(long)]
    pub val_data: Vec<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Optimiser steps per epoch.
    #[arg(long, default_value_t = 100)]
    pub steps_per_epoch: usize,
    /// Patches per step.
    #[arg(long, default_value_t = 2)]
    pub batch: usize,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Warm-up steps.
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// Plain patches per enhanced patch.
    #[arg(long, default_value_t = 3.0)]
    pub plain_ratio: f64,
    /// Target spacing in mm (one value or three); default: the data's median spacing.
    #[arg(long, value_delimiter = ',')]
    pub spacing: Vec<f64>,
    /// Network size: channels of the first level (default model: 8).
    #[arg(long, default_value_t = 8)]
    pub base_channels: usize,
    /// Network depth: poolings before the bottleneck (default model: 3).
    #[arg(long, default_value_t = 3)]
    pub levels: usize,
    /// Patch side (voxels; a multiple of 2^levels).
    #[arg(long, default_value_t = 64)]
    pub patch: usize,
    /// Seed of the initial weights and of the patch stream.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Minutes between checkpoints within an epoch.
    #[arg(long, default_value_t = 5.0)]
    pub checkpoint_minutes: f64,
    /// Validation patches per validation volume.
    #[arg(long, default_value_t = 8)]
    pub val_patches: usize,
    /// Continue the run in --out from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Which network to train: `single` (one stage, as shipped), `coarse` (a
    /// cascade's whole-chest stage; default spacing 4 mm) or `fine` (a
    /// cascade's fine stage, fed by --coarse-model).
    #[arg(long, value_enum, default_value_t = TrainStage::Single)]
    pub stage: TrainStage,
    /// The coarse stage (a model folder from a `--stage coarse` run) whose
    /// probabilities feed the fine stage; copied into the run's models as `coarse/`.
    #[arg(long)]
    pub coarse_model: Option<PathBuf>,
    /// Fine stage: probability that a patch's coarse probabilities are
    /// replaced by the uninformative 1/4.
    #[arg(long, default_value_t = 0.2)]
    pub context_dropout: f64,
}

/// The network `vasa train` trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainStage {
    /// One network, as shipped.
    Single,
    /// A cascade's coarse, whole-chest stage (~4 mm).
    Coarse,
    /// A cascade's fine stage, reading the coarse stage's probabilities.
    Fine,
}

/// Default spacing (mm, isotropic) of a coarse stage.
pub const COARSE_SPACING_MM: f64 = 4.0;

fn phases(names: &[String]) -> anyhow::Result<Vec<Phase>> {
    let v: Vec<Phase> = names.iter().map(|n| n.trim().parse()).collect::<Result<_, _>>()?;
    if v.is_empty() {
        bail!("no phase given");
    }
    Ok(v)
}

fn phantom_sources(seeds: &str, phases: &[Phase], drawn: bool) -> anyhow::Result<Vec<Source>> {
    let seeds = data::parse_seeds(seeds).map_err(anyhow::Error::msg)?;
    Ok(seeds
        .iter()
        .enumerate()
        .map(|(n, &seed)| {
            let phase = phases[n % phases.len()];
            if drawn { Source::DrawnPhantom { seed, phase } } else { Source::Phantom { seed, phase } }
        })
        .collect())
}

fn file_sources(paths: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut out = Vec::new();
    for p in paths {
        let (sources, problems) = data::list_files(p)?;
        for w in problems {
            eprintln!("warning: {w}");
        }
        out.extend(sources);
    }
    Ok(out)
}

/// Runs `vasa train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("setting the thread count")?;
    }
    let mut train_sources = file_sources(&args.data)?;
    if let Some(seeds) = &args.phantom_seeds {
        let drawn = args.phantom_acquisition == "drawn";
        train_sources.extend(phantom_sources(seeds, &phases(&args.phantom_phases)?, drawn)?);
    }
    if train_sources.is_empty() {
        bail!("nothing to train on: give --phantom-seeds and/or --data");
    }
    let mut val_sources = file_sources(&args.val_data)?;
    if !args.val_seeds.trim().is_empty() {
        val_sources.extend(phantom_sources(&args.val_seeds, &phases(&args.val_phases)?, false)?);
    }
    // Held-out means held out.
    for v in &val_sources {
        if train_sources.contains(v) {
            bail!("{} is in both the training and the validation set", v.name());
        }
    }
    match (args.stage, &args.coarse_model) {
        (TrainStage::Fine, None) if !(args.resume && vasa_inference::train::checkpoint::exists(&args.out)) => {
            bail!(
                "--stage fine needs --coarse-model DIR: the coarse stage (a model trained with --stage coarse) \
             whose probabilities feed the fine network"
            )
        }
        (TrainStage::Single | TrainStage::Coarse, Some(_)) => {
            bail!("--coarse-model is for --stage fine only")
        }
        (_, Some(dir)) if !args.resume && !dir.join("config.json").is_file() => {
            bail!("--coarse-model {}: no trained model here (config.json missing)", dir.display())
        }
        _ => {}
    }
    if !(0.0..=1.0).contains(&args.context_dropout) {
        bail!("--context-dropout must lie in 0–1");
    }
    let spacing = match args.spacing.as_slice() {
        [] if args.stage == TrainStage::Coarse => Some([COARSE_SPACING_MM; 3]),
        [] => None,
        [s] => Some([*s; 3]),
        [a, b, c] => Some([*a, *b, *c]),
        _ => bail!("--spacing takes one value or three"),
    };
    if args.epochs == 0 || args.steps_per_epoch == 0 || args.batch == 0 {
        bail!("--epochs, --steps-per-epoch and --batch must be at least 1");
    }
    let network = NetworkConfig {
        base_channels: args.base_channels,
        levels: args.levels,
        patch_size: [args.patch; 3],
        ..NetworkConfig::default()
    };
    network.validate().map_err(|e| anyhow::anyhow!("network: {e}"))?;
    let mut options = TrainOptions::new(args.out.clone(), train_sources, val_sources);
    options.network = network;
    options.spacing_mm = spacing;
    options.epochs = args.epochs;
    options.steps_per_epoch = args.steps_per_epoch;
    options.batch = args.batch;
    options.learning_rate = args.lr;
    options.warmup_steps = args.warmup;
    options.plain_ratio = args.plain_ratio;
    options.seed = args.seed;
    options.checkpoint_minutes = args.checkpoint_minutes;
    options.validation_patches = args.val_patches;
    options.resume = args.resume;
    options.coarse_model = args.coarse_model.clone();
    options.context_dropout = args.context_dropout;

    let device = vasa_inference::segment::default_device();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(options.total_steps() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {elapsed_precise} ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let say = |line: String| match &bar {
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
    };
    // The first step this run took, and when: the pace is this run's.
    let first_step: std::cell::Cell<Option<(std::time::Instant, usize)>> = std::cell::Cell::new(None);
    let events = |e: TrainEvent| match e {
        TrainEvent::Prepared { name, done, total } => say(format!("read {name} ({done}/{total})")),
        TrainEvent::Skipped { name, reason } => say(format!("skipped {name}: {reason}")),
        TrainEvent::Dataset { spacing_mm, mean, std, plain, enhanced } => say(format!(
            "dataset: {plain} plain + {enhanced} enhanced volumes, spacing {:.3}×{:.3}×{:.3} mm, z-score mean {mean:.1} HU sd {std:.1} HU",
            spacing_mm[0], spacing_mm[1], spacing_mm[2]
        )),
        TrainEvent::Resumed { step } => say(format!("resumed at step {step}")),
        TrainEvent::Step { step, total, loss, lr } => match &bar {
            Some(b) => {
                b.set_position(step as u64);
                b.set_message(format!("loss {loss:.3} lr {lr:.1e}"));
            }
            None => {
                let (t0, s0) = first_step.get().unwrap_or((std::time::Instant::now(), step));
                first_step.set(Some((t0, s0)));
                if step % 10 == 0 || step == total {
                    let per = t0.elapsed().as_secs_f64() / (step - s0).max(1) as f64;
                    eprintln!("step {step}/{total} loss {loss:.4} lr {lr:.2e} ({per:.2} s/step in this session)");
                }
            }
        },
        TrainEvent::Epoch(r) => say(format!(
            "epoch {} (step {}): train loss {:.4}, val loss {:.4}, val Dice artery {:.3} vein {:.3} aorta {:.3}, {:.0} s",
            r.epoch, r.step, r.train_loss, r.val_loss, r.dice[0], r.dice[1], r.dice[2], r.seconds
        )),
    };
    let cancel = AtomicBool::new(false);
    let summary = train(&options, &device, &events, &cancel)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if summary.cascade {
        println!("a coarse-to-fine cascade: each model folder holds its coarse stage in coarse/");
    }
    println!(
        "trained on {} cases ({} skipped); best weights in {}, last in {}",
        summary.used,
        summary.skipped,
        summary.best_dir.display(),
        summary.last_dir.display()
    );
    if let Some(r) = summary.epochs.last() {
        println!(
            "last epoch {}: val Dice artery {:.3} vein {:.3} aorta {:.3}",
            r.epoch, r.dice[0], r.dice[1], r.dice[2]
        );
    }
    Ok(())
}
