//! Training patches for the GPU path (`twin/train_gpu.py`, see `twin/README.md`),
//! drawn exactly as `vasa train` draws them, written as shard files.
//!
//! ```text
//! patch_stream --out DIR --phantom-seeds 1-32 [--phantom-phases ctpa,arterial]
//!     [--phantom-acquisition drawn|fixed] [--val-seeds 901,902] [--val-phases plain,ctpa]
//!     [--val-patches 8] [--stage single|coarse|fine] [--coarse-model DIR] [--config FILE]
//!     [--spacing S | --spacing X,Y,Z] [--patch 64] [--base-channels 8] [--levels 3]
//!     [--seed 1] [--plain-ratio 3] [--context-dropout 0.2]
//!     [--shard-size 32] [--shards N] [--deadline SECONDS] [--max-pending 64]
//!     [--workers N] [--threads N]
//! ```
//!
//! Same data as `vasa train` with the same arguments: phantom seeds with the
//! phases assigned in turn, drawn or fixed acquisitions, enhanced phantoms
//! also as synthesised plain scans, the network-region crop, resampling to
//! the target spacing (`--spacing`; default 4 mm for `--stage coarse`, else
//! the training cases' median spacing), z-scoring with the mean and standard
//! deviation of all prepared training volumes, and each patch from
//! `train::sample_patch` (the function `vasa train` calls: plain/enhanced
//! pick with `--plain-ratio`, foreground oversampling, spatial and intensity
//! augmentation, domain randomisation, context dropout) with
//! `AugmentOptions::default()`. `--stage fine` feeds the coarse stage's
//! probabilities of artery, vein and aorta (`--coarse-model`, run on the CPU)
//! as three more channels, computed per volume as `vasa train` computes them.
//! `--config FILE` takes the network, spacing and normalisation from an
//! existing `config.json` (a checkpoint's, to continue that run) instead.
//!
//! Writes into `--out`:
//! - `config.json`: the network configuration the run trains (as `vasa
//!   train` fills it in: spacing, `norm_mean`, `norm_std`, context);
//! - `coarse/` (fine stage): a copy of the coarse stage's `config.json` and
//!   `model.safetensors`;
//! - `val.safetensors`: the validation patches, cut once as `vasa train`'s
//!   `ValidationSet` cuts them (seed 7, `--val-patches` per validation volume,
//!   no augmentation): `x` f32 `[V, C, D, H, W]` (z-scored CT, then the context
//!   channels), `y` u8 `[V, D, H, W]` (0 background, 1 artery, 2 vein, 3 aorta);
//! - `stream.json`: what was loaded, the statistics and the settings;
//! - `shard-NNNNNN.safetensors`, continuously: `x` f32 `[N, C, D, H, W]` (what
//!   the network is fed), `y` u8 `[N, D, H, W]`, N = `--shard-size`. Each is
//!   written as a hidden `.tmp` file and renamed, so a reader never sees half
//!   a shard. Shards are numbered in the order they are started.
//! - `DONE` once the stream has stopped (count, deadline or error).
//!
//! `--workers` threads (default: all rayon threads) each draw whole shards
//! from their own random stream. Worker 0's stream is `vasa train --seed`'s
//! patch stream itself (the stream a fresh run starts from), so its shards
//! hold, in order, the patches `vasa train` would draw; the other workers'
//! streams are forks of it. The stream stops after `--shards` shards (0: no
//! limit) or after `--deadline` seconds from the start (0: none), and pauses
//! while `--max-pending` shards lie unread in the folder (0: never; the
//! trainer deletes the shards it has read). Phantom loading runs on all
//! threads (several seconds per phantom) and comes first, since the z-score
//! statistics need every training volume.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use glam::DVec3;
use rayon::prelude::*;
use vasa_inference::network::{ContextConfig, Model, NetworkConfig};
use vasa_inference::phantom::Phase;
use vasa_inference::phantom::rng::Rng;
use vasa_inference::train::checkpoint::LoopState;
use vasa_inference::train::data::{self, CoarseContext, Prepared, Source};
use vasa_inference::train::validate::ValidationSet;
use vasa_inference::train::{TrainOptions, sample_patch};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Default spacing (mm) of a coarse stage, as `vasa train --stage coarse`.
const COARSE_SPACING_MM: f64 = 4.0;

#[derive(Debug)]
struct Args {
    out: PathBuf,
    seeds: String,
    phases: Vec<Phase>,
    drawn: bool,
    val_seeds: String,
    val_phases: Vec<Phase>,
    val_patches: usize,
    stage: String,
    coarse_model: Option<PathBuf>,
    config: Option<PathBuf>,
    spacing: Option<[f64; 3]>,
    patch: usize,
    base_channels: usize,
    levels: usize,
    seed: u64,
    plain_ratio: f64,
    context_dropout: f64,
    shard_size: usize,
    shards: usize,
    deadline: f64,
    max_pending: usize,
    workers: Option<usize>,
    threads: Option<usize>,
}

fn phases(text: &str) -> Result<Vec<Phase>, BoxError> {
    let v: Vec<Phase> = text.split(',').map(|p| p.trim().parse()).collect::<Result<_, _>>()?;
    if v.is_empty() {
        return Err("no phase given".into());
    }
    Ok(v)
}

fn parse_args() -> Result<Args, BoxError> {
    let mut a = Args {
        out: PathBuf::new(),
        seeds: String::new(),
        phases: phases("ctpa,arterial")?,
        drawn: true,
        val_seeds: "901,902".into(),
        val_phases: phases("plain,ctpa")?,
        val_patches: 8,
        stage: "single".into(),
        coarse_model: None,
        config: None,
        spacing: None,
        patch: 64,
        base_channels: 8,
        levels: 3,
        seed: 1,
        plain_ratio: 3.0,
        context_dropout: 0.2,
        shard_size: 32,
        shards: 0,
        deadline: 0.0,
        max_pending: 64,
        workers: None,
        threads: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" | "-o" => a.out = PathBuf::from(value()?),
            "--phantom-seeds" => a.seeds = value()?,
            "--phantom-phases" => a.phases = phases(&value()?)?,
            "--phantom-acquisition" => {
                a.drawn = match value()?.as_str() {
                    "drawn" => true,
                    "fixed" => false,
                    other => return Err(format!("--phantom-acquisition is drawn or fixed, not {other:?}").into()),
                }
            }
            "--val-seeds" => a.val_seeds = value()?,
            "--val-phases" => a.val_phases = phases(&value()?)?,
            "--val-patches" => a.val_patches = value()?.parse()?,
            "--stage" => a.stage = value()?,
            "--coarse-model" => a.coarse_model = Some(PathBuf::from(value()?)),
            "--config" => a.config = Some(PathBuf::from(value()?)),
            "--spacing" => {
                let v: Vec<f64> = value()?.split(',').map(|s| s.trim().parse()).collect::<Result<_, _>>()?;
                a.spacing = Some(match v[..] {
                    [s] => [s; 3],
                    [x, y, z] => [x, y, z],
                    _ => return Err("--spacing takes one value or three".into()),
                });
            }
            "--patch" => a.patch = value()?.parse()?,
            "--base-channels" => a.base_channels = value()?.parse()?,
            "--levels" => a.levels = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--plain-ratio" => a.plain_ratio = value()?.parse()?,
            "--context-dropout" => a.context_dropout = value()?.parse()?,
            "--shard-size" => a.shard_size = value()?.parse()?,
            "--shards" => a.shards = value()?.parse()?,
            "--deadline" => a.deadline = value()?.parse()?,
            "--max-pending" => a.max_pending = value()?.parse()?,
            "--workers" => a.workers = Some(value()?.parse()?),
            "--threads" => a.threads = Some(value()?.parse()?),
            "-h" | "--help" => {
                eprintln!("see the doc comment of inference/examples/patch_stream.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if a.out.as_os_str().is_empty() || a.seeds.is_empty() {
        return Err("--out and --phantom-seeds are required".into());
    }
    if !["single", "coarse", "fine"].contains(&a.stage.as_str()) {
        return Err(format!("--stage is single, coarse or fine, not {:?}", a.stage).into());
    }
    match (a.stage.as_str(), &a.coarse_model) {
        ("fine", None) => return Err("--stage fine needs --coarse-model DIR".into()),
        ("single" | "coarse", Some(_)) => return Err("--coarse-model is for --stage fine only".into()),
        _ => {}
    }
    if a.shard_size == 0 || !(0.0..=1.0).contains(&a.context_dropout) {
        return Err("--shard-size must be at least 1 and --context-dropout lie in 0–1".into());
    }
    Ok(a)
}

/// `vasa train`'s phantom sources: phases assigned to the seeds in turn.
fn phantom_sources(seeds: &str, phases: &[Phase], drawn: bool) -> Result<Vec<Source>, BoxError> {
    let seeds = data::parse_seeds(seeds)?;
    Ok(seeds
        .iter()
        .enumerate()
        .map(|(n, &seed)| {
            let phase = phases[n % phases.len()];
            if drawn { Source::DrawnPhantom { seed, phase } } else { Source::Phantom { seed, phase } }
        })
        .collect())
}

/// Loads every source in parallel (bad ones are reported and skipped, as in
/// `vasa train`), keeping the order.
fn load_all(sources: &[Source], started: Instant) -> Vec<Option<data::Case>> {
    let done = AtomicUsize::new(0);
    let cases: Vec<Option<data::Case>> = sources
        .par_iter()
        .map(|s| {
            let t = Instant::now();
            let r = data::load_case(s);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            match r {
                Ok(c) => {
                    eprintln!(
                        "read {} ({n}/{}, {:.1} s, at {:.0} s)",
                        s.name(),
                        sources.len(),
                        t.elapsed().as_secs_f64(),
                        started.elapsed().as_secs_f64()
                    );
                    Some(c)
                }
                Err(e) => {
                    eprintln!("skipped {}: {e}", s.name());
                    None
                }
            }
        })
        .collect();
    cases
}

fn prepare_all(
    cases: &[data::Case],
    spacing: DVec3,
    context: Option<CoarseContext>,
) -> Result<Vec<Prepared>, BoxError> {
    let sets: Vec<Vec<Prepared>> =
        cases.par_iter().map(|c| data::prepare_with_context(c, spacing, context)).collect::<Result<_, _>>()?;
    Ok(sets.into_iter().flatten().collect())
}

/// Writes `x` f32 `[N, C, D, H, W]` and `y` u8 `[N, D, H, W]` to `path` through a
/// hidden temporary file and a rename.
fn write_patches(path: &Path, x: Vec<f32>, y: Vec<u8>, n: usize, c: usize, p: [usize; 3]) -> Result<(), BoxError> {
    let cpu = Device::Cpu;
    let mut t = HashMap::new();
    t.insert("x", Tensor::from_vec(x, (n, c, p[0], p[1], p[2]), &cpu)?);
    t.insert("y", Tensor::from_vec(y, (n, p[0], p[1], p[2]), &cpu)?);
    let name = path.file_name().and_then(|f| f.to_str()).ok_or("bad file name")?;
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    candle_core::safetensors::save(&t, &tmp)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn pending_shards(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n.starts_with("shard-") && n.ends_with(".safetensors")
                })
                .count()
        })
        .unwrap_or(0)
}

fn main() {
    let code = match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("patch_stream: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn run() -> Result<(), BoxError> {
    let args = parse_args()?;
    let started = Instant::now();
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global()?;
    }
    std::fs::create_dir_all(&args.out)?;
    let _ = std::fs::remove_file(args.out.join("DONE"));
    let result = stream(&args, started);
    std::fs::write(args.out.join("DONE"), format!("{:?}\n", result.as_ref().map_err(|e| e.to_string())))?;
    result
}

fn stream(args: &Args, started: Instant) -> Result<(), BoxError> {
    let train_sources = phantom_sources(&args.seeds, &args.phases, args.drawn)?;
    let val_sources = if args.val_seeds.trim().is_empty() {
        Vec::new()
    } else {
        phantom_sources(&args.val_seeds, &args.val_phases, false)?
    };
    for v in &val_sources {
        if train_sources.contains(v) {
            return Err(format!("{} is in both the training and the validation set", v.name()).into());
        }
    }

    // The network configuration: given, or as `vasa train` builds it.
    let given = match &args.config {
        Some(path) => Some(serde_json::from_str::<NetworkConfig>(&std::fs::read_to_string(path)?)?),
        None => None,
    };
    let mut config = given.clone().unwrap_or_else(|| NetworkConfig {
        base_channels: args.base_channels,
        levels: args.levels,
        patch_size: [args.patch; 3],
        ..NetworkConfig::default()
    });
    let coarse = match &args.coarse_model {
        Some(dir) => {
            let m = Model::load(dir, &Device::Cpu)?;
            if m.config.context.is_some() {
                return Err(format!("{}: a coarse stage must be a single-stage model", dir.display()).into());
            }
            if given.is_none() {
                config.context = Some(ContextConfig::vessels());
                config.in_channels = 1 + 3;
            }
            Some(m)
        }
        None => None,
    };
    if config.context.is_some() != coarse.is_some() {
        return Err("a fine-stage config needs --stage fine --coarse-model, and only it".into());
    }
    config.validate()?;
    let classes = config.context.as_ref().map(|c| c.classes.clone()).unwrap_or_default();
    let context = coarse.as_ref().map(|model| CoarseContext { model, classes: &classes });

    // Data: load, fix the spacing, prepare (as `vasa train`).
    // Training and validation cases together, so that all threads stay busy.
    let all: Vec<Source> = train_sources.iter().chain(&val_sources).cloned().collect();
    let mut loaded = load_all(&all, started);
    let val_cases: Vec<data::Case> = loaded.split_off(train_sources.len()).into_iter().flatten().collect();
    let train_cases: Vec<data::Case> = loaded.into_iter().flatten().collect();
    if train_cases.is_empty() {
        return Err("no usable training case".into());
    }
    let spacing = match (&given, args.spacing) {
        (Some(c), _) => DVec3::from_array(c.target_spacing_mm),
        (None, Some(s)) => DVec3::from_array(s),
        (None, None) if args.stage == "coarse" => DVec3::splat(COARSE_SPACING_MM),
        (None, None) => {
            let sp: Vec<DVec3> = train_cases.iter().map(|c| c.ct.geometry.spacing).collect();
            data::median_spacing(&sp).unwrap_or(DVec3::splat(1.5))
        }
    };
    let train_set = prepare_all(&train_cases, spacing, context)?;
    drop(train_cases);
    let val_set = prepare_all(&val_cases, spacing, context)?;
    drop(val_cases);
    let (mean, std) = data::hu_statistics(&train_set);
    if given.is_none() {
        config.target_spacing_mm = spacing.to_array();
        config.norm_mean = mean;
        config.norm_std = std;
        config.validate()?;
    }
    let plain: Vec<&Prepared> = train_set.iter().filter(|p| p.plain).collect();
    let enhanced: Vec<&Prepared> = train_set.iter().filter(|p| !p.plain).collect();
    let load_s = started.elapsed().as_secs_f64();
    eprintln!(
        "dataset: {} plain + {} enhanced volumes, spacing {:.3}×{:.3}×{:.3} mm, z-score mean {:.1} HU sd {:.1} HU \
         (data {mean:.1} / {std:.1}), ready after {load_s:.1} s",
        plain.len(),
        enhanced.len(),
        spacing.x,
        spacing.y,
        spacing.z,
        config.norm_mean,
        config.norm_std
    );

    // config.json, coarse/, val.safetensors, stream.json.
    std::fs::write(args.out.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    if let Some(dir) = &args.coarse_model {
        let to = args.out.join("coarse");
        std::fs::create_dir_all(&to)?;
        for f in ["config.json", "model.safetensors"] {
            std::fs::copy(dir.join(f), to.join(f))?;
        }
    }
    let p = config.patch_size;
    let voxels = p[0] * p[1] * p[2];
    let channels = 1 + classes.len();
    let validation = ValidationSet::new(&val_set, p, args.val_patches, 7);
    if !validation.is_empty() {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for n in 0..validation.len() {
            let (hu, lab, ctx) = validation.patch(n);
            x.extend(hu.iter().map(|&h| (h - config.norm_mean) / config.norm_std));
            x.extend_from_slice(ctx);
            y.extend(lab.iter().map(|&l| l as u8));
        }
        write_patches(&args.out.join("val.safetensors"), x, y, validation.len(), channels, p)?;
    }
    let mut options = TrainOptions::new(args.out.clone(), train_sources.clone(), val_sources.clone());
    options.plain_ratio = args.plain_ratio;
    options.context_dropout = args.context_dropout;
    options.seed = args.seed;
    let workers = args.workers.unwrap_or_else(rayon::current_num_threads).max(1);
    let info = serde_json::json!({
        "train": train_sources.iter().map(Source::name).collect::<Vec<_>>(),
        "validation": val_sources.iter().map(Source::name).collect::<Vec<_>>(),
        "plain_volumes": plain.len(),
        "enhanced_volumes": enhanced.len(),
        "validation_patches": validation.len(),
        "stage": args.stage,
        "spacing_mm": spacing.to_array(),
        "data_mean": mean,
        "data_std": std,
        "norm_mean": config.norm_mean,
        "norm_std": config.norm_std,
        "patch": p,
        "channels": channels,
        "seed": args.seed,
        "plain_ratio": options.plain_ratio,
        "context_dropout": options.context_dropout,
        "augment": format!("{:?}", options.augment),
        "shard_size": args.shard_size,
        "workers": workers,
        "load_seconds": load_s,
    });
    std::fs::write(args.out.join("stream.json"), serde_json::to_vec_pretty(&info)?)?;

    // Shards, worker by worker, each from its own stream.
    let base = Rng::from_state(LoopState::new(args.seed).rng_state);
    let next = AtomicUsize::new(0);
    let made = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let stream_start = Instant::now();
    let deadline = (args.deadline > 0.0).then(|| started + Duration::from_secs_f64(args.deadline));
    let past_deadline = || deadline.is_some_and(|d| Instant::now() >= d);
    let result: Result<(), BoxError> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (plain, enhanced, options, next, made, stop) = (&plain, &enhanced, &options, &next, &made, &stop);
                let (config, classes) = (&config, &classes);
                let mut rng = if w == 0 { base.clone() } else { base.fork(w as u64) };
                scope.spawn(move || -> Result<(), BoxError> {
                    let mut hu = vec![0f32; voxels];
                    let mut lab = vec![0u32; voxels];
                    let mut ctx = vec![0f32; classes.len() * voxels];
                    loop {
                        while args.max_pending > 0
                            && pending_shards(&args.out) >= args.max_pending
                            && !stop.load(Ordering::Relaxed)
                            && !past_deadline()
                        {
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        if stop.load(Ordering::Relaxed) || past_deadline() {
                            return Ok(());
                        }
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if args.shards > 0 && n >= args.shards {
                            return Ok(());
                        }
                        let t = Instant::now();
                        let mut x = Vec::with_capacity(args.shard_size * channels * voxels);
                        let mut y = Vec::with_capacity(args.shard_size * voxels);
                        for _ in 0..args.shard_size {
                            sample_patch(plain, enhanced, options, p, &mut rng, &mut hu, &mut lab, &mut ctx);
                            x.extend(hu.iter().map(|&h| (h - config.norm_mean) / config.norm_std));
                            x.extend_from_slice(&ctx);
                            y.extend(lab.iter().map(|&l| l as u8));
                        }
                        let cut = t.elapsed().as_secs_f64();
                        let path = args.out.join(format!("shard-{n:06}.safetensors"));
                        if let Err(e) = write_patches(&path, x, y, args.shard_size, channels, p) {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        let total = made.fetch_add(args.shard_size, Ordering::Relaxed) + args.shard_size;
                        let el = stream_start.elapsed().as_secs_f64();
                        eprintln!(
                            "shard {n} (worker {w}): {} patches in {:.2} s ({:.3} s/patch on one thread, write {:.2} s); \
                             {total} patches in {el:.0} s, {:.1} patches/s",
                            args.shard_size,
                            t.elapsed().as_secs_f64(),
                            cut / args.shard_size as f64,
                            t.elapsed().as_secs_f64() - cut,
                            total as f64 / el.max(1e-9)
                        );
                    }
                })
            })
            .collect();
        let mut first_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_err = first_err.or(Some(e)),
                Err(_) => first_err = first_err.or(Some("a worker panicked".into())),
            }
        }
        first_err.map_or(Ok(()), Err)
    });
    let total = made.load(Ordering::Relaxed);
    let el = stream_start.elapsed().as_secs_f64();
    eprintln!(
        "stopped: {total} patches in {el:.1} s after loading ({:.1} patches/s, {workers} workers)",
        total as f64 / el.max(1e-9)
    );
    result
}
