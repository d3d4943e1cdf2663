//! Training (DESIGN.md §1 "Training", claim 6): plain-scan synthesis, the
//! data pipeline, Dice + cross-entropy with AdamW, validation Dice per class
//! each epoch, checkpoints with resume, a CSV log and a PNG plot.
//!
//! [`train`] is what `vasa train` runs. A run lives in one folder:
//! `checkpoint/` (weights, optimiser moments, loop state; rewritten every
//! few minutes and every epoch), `best/` (the weights with the best
//! validation Dice so far), `model/` (the last weights), `log.csv` and
//! `curves.png`.
//!
//! Coarse-to-fine cascades: a coarse stage is an ordinary run at ~4 mm. A
//! fine stage ([`TrainOptions::coarse_model`]) reads, besides the CT, the
//! coarse stage's probabilities of artery, vein and aorta, computed once per
//! training volume exactly as at run time; its `best/` and `model/` folders
//! (and its checkpoint) carry the coarse stage in `coarse/`.

pub mod augment;
pub mod checkpoint;
pub mod data;
pub mod log;
pub mod loss;
pub mod optimizer;
pub mod plot;
pub mod randomise;
pub mod synth_plain;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::{Device, ModuleT, Tensor};
use glam::DVec3;
use rayon::prelude::*;

use crate::network::{Model, NetworkConfig};
use crate::phantom::rng::Rng;
use augment::AugmentOptions;
use data::{Prepared, Source};
use optimizer::{AdamW, AdamWSettings};

/// Everything a training run is told.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Run folder (checkpoints, logs, weights).
    pub out: PathBuf,
    /// Training cases.
    pub train: Vec<Source>,
    /// Validation cases (never trained on).
    pub validation: Vec<Source>,
    /// Network shape; spacing and normalisation are filled in from the data
    /// unless `spacing_mm` is given (a resumed run keeps its own).
    pub network: NetworkConfig,
    /// Target spacing (mm); `None`: the dataset's median spacing.
    pub spacing_mm: Option<[f64; 3]>,
    /// Epochs to run.
    pub epochs: usize,
    /// Optimiser steps per epoch.
    pub steps_per_epoch: usize,
    /// Patches per step.
    pub batch: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// Final learning rate as a fraction of the peak.
    pub lr_floor: f64,
    /// AdamW settings.
    pub adamw: AdamWSettings,
    /// Plain patches drawn per enhanced patch (the patent's "more plain than enhanced").
    pub plain_ratio: f64,
    /// Patch sampling and augmentation.
    pub augment: AugmentOptions,
    /// Validation patches per validation volume.
    pub validation_patches: usize,
    /// Minutes between checkpoints inside an epoch.
    pub checkpoint_minutes: f64,
    /// Seed of the weight initialisation and of the patch stream.
    pub seed: u64,
    /// Continue from `out/checkpoint` if it exists.
    pub resume: bool,
    /// Train the fine stage of a cascade on top of the coarse stage in this
    /// folder (a single-stage model). A resumed run uses the coarse stage
    /// saved with its checkpoint.
    pub coarse_model: Option<PathBuf>,
    /// Fine stage: probability that a patch's context channels are replaced
    /// by the uninformative 1/4, so the network never relies on context alone.
    pub context_dropout: f64,
}

impl TrainOptions {
    /// Defaults around a run folder and its cases.
    pub fn new(out: PathBuf, train: Vec<Source>, validation: Vec<Source>) -> Self {
        TrainOptions {
            out,
            train,
            validation,
            network: NetworkConfig::default(),
            spacing_mm: None,
            epochs: 30,
            steps_per_epoch: 100,
            batch: 2,
            learning_rate: 2e-3,
            warmup_steps: 50,
            lr_floor: 0.05,
            adamw: AdamWSettings::default(),
            plain_ratio: 3.0,
            augment: AugmentOptions::default(),
            validation_patches: 8,
            checkpoint_minutes: 5.0,
            seed: 1,
            resume: false,
            coarse_model: None,
            context_dropout: 0.2,
        }
    }

    /// Total optimiser steps.
    pub fn total_steps(&self) -> usize {
        self.epochs * self.steps_per_epoch
    }
}

/// What the trainer tells its caller as it goes.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// A case was read and prepared (`done` of `total`).
    Prepared {
        /// Case name.
        name: String,
        /// Cases handled so far.
        done: usize,
        /// Cases in all.
        total: usize,
    },
    /// A case was skipped; never used.
    Skipped {
        /// Case name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Data statistics fixed for the run.
    Dataset {
        /// Target spacing (mm).
        spacing_mm: [f64; 3],
        /// z-score mean (HU).
        mean: f32,
        /// z-score standard deviation (HU).
        std: f32,
        /// Plain volumes.
        plain: usize,
        /// Enhanced volumes.
        enhanced: usize,
    },
    /// Resumed from a checkpoint at this step.
    Resumed {
        /// The step the run continues from.
        step: usize,
    },
    /// One optimiser step done.
    Step {
        /// Steps done.
        step: usize,
        /// Steps in all.
        total: usize,
        /// This step's loss.
        loss: f32,
        /// Learning rate used.
        lr: f64,
    },
    /// An epoch ended with this validation.
    Epoch(log::EpochRecord),
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// No usable training case.
    #[error("no usable training case ({0} skipped)")]
    NoData(usize),
    /// The network or its weights failed.
    #[error(transparent)]
    Model(#[from] crate::network::ModelError),
    /// A tensor operation failed.
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
    /// A checkpoint, log or plot could not be written or read.
    #[error("{path}: {reason}")]
    Io {
        /// File or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The configuration is inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// Stopped by the caller (the last checkpoint is kept).
    #[error("cancelled")]
    Cancelled,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// The per-epoch records of the whole run (resumed ones included).
    pub epochs: Vec<log::EpochRecord>,
    /// Folder of the best weights.
    pub best_dir: PathBuf,
    /// Folder of the last weights.
    pub last_dir: PathBuf,
    /// Training cases used / skipped.
    pub used: usize,
    /// Cases skipped for bad data.
    pub skipped: usize,
    /// Whether the run trained a cascade's fine stage (its folders hold `coarse/`).
    pub cascade: bool,
}

/// Reads and prepares `sources`, reporting each; bad cases are skipped with
/// their reason. Spacing `None` here means "native": used to collect spacings.
fn load_all(sources: &[Source], events: &dyn Fn(TrainEvent)) -> (Vec<data::Case>, usize) {
    let mut cases = Vec::new();
    let mut skipped = 0;
    for (n, s) in sources.iter().enumerate() {
        match data::load_case(s) {
            Ok(c) => {
                cases.push(c);
                events(TrainEvent::Prepared { name: s.name(), done: n + 1, total: sources.len() });
            }
            Err(e) => {
                skipped += 1;
                events(TrainEvent::Skipped { name: s.name(), reason: e.to_string() });
            }
        }
    }
    (cases, skipped)
}

/// Draws one training patch of `patch` = [D, H, W] as [`train`] draws each
/// patch of a batch: a plain volume with probability
/// `plain_ratio / (plain_ratio + 1)` (when both kinds exist), a centre ([`augment::pick_centre`]), the
/// augmented cut ([`augment::cut_patch_with_context`]) and, for a cascade's
/// fine stage (`context` not empty), context dropout. `hu` is in HU (not yet
/// z-scored); the buffers are as for `cut_patch_with_context`. Public so that
/// other producers of training patches (the GPU path's `patch_stream`
/// example) draw them exactly as `vasa train` does.
#[allow(clippy::too_many_arguments)]
pub fn sample_patch(
    plain: &[&Prepared],
    enhanced: &[&Prepared],
    options: &TrainOptions,
    patch: [usize; 3],
    rng: &mut Rng,
    hu: &mut [f32],
    labels: &mut [u32],
    context: &mut [f32],
) {
    let pick_plain =
        !plain.is_empty() && (enhanced.is_empty() || rng.unit() < options.plain_ratio / (options.plain_ratio + 1.0));
    let pool = if pick_plain { plain } else { enhanced };
    let volume = pool[rng.index(pool.len())];
    let centre = augment::pick_centre(volume, options.augment.foreground_fraction, rng);
    augment::cut_patch_with_context(volume, centre, patch, &options.augment, rng, hu, labels, context);
    // Context dropout: no information (uniform over the 4 classes).
    if !context.is_empty() && rng.unit() < options.context_dropout {
        context.fill(0.25);
    }
}

/// Runs (or resumes) a training; see the module documentation.
pub fn train(
    options: &TrainOptions,
    device: &Device,
    events: &dyn Fn(TrainEvent),
    cancel: &AtomicBool,
) -> Result<TrainSummary, TrainError> {
    let io =
        |path: &Path, e: &dyn std::fmt::Display| TrainError::Io { path: path.to_path_buf(), reason: e.to_string() };
    std::fs::create_dir_all(&options.out).map_err(|e| io(&options.out, &e))?;
    let ckpt_dir = options.out.join("checkpoint");
    let resumed = if options.resume { checkpoint::load(&options.out, device)? } else { None };
    if !options.resume && checkpoint::exists(&options.out) {
        return Err(TrainError::Invalid(format!(
            "{} already holds a checkpoint: pass --resume to continue it or choose another folder",
            options.out.display()
        )));
    }

    // Data: load, fix spacing and normalisation, prepare.
    let (train_cases, skipped) = load_all(&options.train, events);
    if train_cases.is_empty() {
        return Err(TrainError::NoData(skipped));
    }
    let (val_cases, _) = load_all(&options.validation, events);
    let mut config = match &resumed {
        Some(r) => r.model.config.clone(),
        None => options.network.clone(),
    };
    // A cascade's fine stage: its coarse stage and the classes it feeds.
    let mut new_coarse = match (&resumed, &options.coarse_model) {
        (None, Some(dir)) => {
            let coarse = Model::load(dir, device)?;
            if coarse.config.context.is_some() {
                return Err(TrainError::Invalid(format!(
                    "{}: a coarse stage must be a single-stage model (train it with --stage coarse), \
                     this one is itself a fine stage",
                    dir.display()
                )));
            }
            config.context = Some(crate::network::ContextConfig::vessels());
            config.in_channels = 1 + 3;
            Some(coarse)
        }
        (Some(r), Some(_)) if r.model.config.context.is_none() => {
            return Err(TrainError::Invalid(format!(
                "{} holds a single-stage run: a coarse model applies to fine-stage runs only",
                options.out.display()
            )));
        }
        _ => None,
    };
    if let Some(ctx) = &config.context
        && resumed.is_none()
        && new_coarse.is_none()
    {
        return Err(TrainError::Invalid(format!(
            "the network reads context classes {:?}: a fine stage needs its coarse model",
            ctx.classes
        )));
    }
    if options.context_dropout.is_nan() || !(0.0..=1.0).contains(&options.context_dropout) {
        return Err(TrainError::Invalid(format!("context dropout {} must lie in 0–1", options.context_dropout)));
    }
    let classes = config.context.as_ref().map(|c| c.classes.clone()).unwrap_or_default();
    let coarse_ref = resumed.as_ref().and_then(|r| r.model.coarse.as_deref()).or(new_coarse.as_ref());
    let context = coarse_ref.map(|model| data::CoarseContext { model, classes: &classes });
    let spacing = match (&resumed, options.spacing_mm) {
        (Some(_), _) => DVec3::from_array(config.target_spacing_mm),
        (None, Some(s)) => DVec3::from_array(s),
        (None, None) => {
            let sp: Vec<DVec3> = train_cases.iter().map(|c| c.ct.geometry.spacing).collect();
            data::median_spacing(&sp).unwrap_or(DVec3::splat(1.5))
        }
    };
    let prepare_all = |cases: &[data::Case]| -> Result<Vec<Prepared>, TrainError> {
        let sets: Vec<Vec<Prepared>> =
            cases.par_iter().map(|c| data::prepare_with_context(c, spacing, context)).collect::<Result<_, _>>()?;
        Ok(sets.into_iter().flatten().collect())
    };
    let train_set = prepare_all(&train_cases)?;
    drop(train_cases);
    let val_set = prepare_all(&val_cases)?;
    drop(val_cases);
    if resumed.is_none() {
        let (mean, std) = data::hu_statistics(&train_set);
        config.target_spacing_mm = spacing.to_array();
        config.norm_mean = mean;
        config.norm_std = std;
        config.validate().map_err(TrainError::Invalid)?;
    }
    let plain: Vec<&Prepared> = train_set.iter().filter(|p| p.plain).collect();
    let enhanced: Vec<&Prepared> = train_set.iter().filter(|p| !p.plain).collect();
    events(TrainEvent::Dataset {
        spacing_mm: spacing.to_array(),
        mean: config.norm_mean,
        std: config.norm_std,
        plain: plain.len(),
        enhanced: enhanced.len(),
    });

    // Model, optimiser, loop state.
    let (model, mut opt, mut state) = match resumed {
        Some(r) => {
            events(TrainEvent::Resumed { step: r.state.step });
            let mut opt = AdamW::new(&r.model.varmap, options.adamw)?;
            opt.load_state(&r.optimizer, r.state.step as u64)?;
            (r.model, opt, r.state)
        }
        None => {
            let mut model = Model::new(&config, device, options.seed)?;
            if let Some(coarse) = new_coarse.take() {
                model.set_coarse(coarse).map_err(TrainError::Invalid)?;
            }
            let opt = AdamW::new(&model.varmap, options.adamw)?;
            let state = checkpoint::LoopState::new(options.seed);
            (model, opt, state)
        }
    };
    let validation = validate::ValidationSet::new(&val_set, config.patch_size, options.validation_patches, 7);
    let total = options.total_steps();
    let mut rng = Rng::from_state(state.rng_state);
    let p = config.patch_size;
    let voxels = p[0] * p[1] * p[2];
    let channels = classes.len();
    let mut hu = vec![0f32; voxels];
    let mut lab = vec![0u32; voxels];
    let mut ctx = vec![0f32; channels * voxels];
    let mut last_ckpt = Instant::now();
    let mut epoch_loss = (0.0f64, 0usize);
    let started = Instant::now();
    let log_path = options.out.join("log.csv");

    while state.step < total {
        if cancel.load(Ordering::Relaxed) {
            return Err(TrainError::Cancelled);
        }
        // A batch of augmented patches.
        let mut x = Vec::with_capacity(options.batch * (1 + channels) * voxels);
        let mut y = Vec::with_capacity(options.batch * voxels);
        for _ in 0..options.batch {
            sample_patch(&plain, &enhanced, options, [p[0], p[1], p[2]], &mut rng, &mut hu, &mut lab, &mut ctx);
            x.extend(hu.iter().map(|&h| (h - config.norm_mean) / config.norm_std));
            x.extend_from_slice(&ctx);
            y.extend_from_slice(&lab);
        }
        let xt = Tensor::from_vec(x, (options.batch, 1 + channels, p[0], p[1], p[2]), device)?;
        let logits = model.net.forward_t(&xt, true)?;
        let loss = loss::dice_ce_loss(&logits, &y)?;
        let grads = loss.total.backward()?;
        let lr =
            optimizer::learning_rate(state.step, total, options.warmup_steps, options.learning_rate, options.lr_floor);
        opt.step(&grads, lr)?;
        drop(grads);
        let value: f32 = loss.total.to_scalar()?;
        state.step += 1;
        state.rng_state = rng.state();
        epoch_loss = (epoch_loss.0 + value as f64, epoch_loss.1 + 1);
        events(TrainEvent::Step { step: state.step, total, loss: value, lr });

        let epoch_end = state.step % options.steps_per_epoch == 0 || state.step == total;
        if epoch_end {
            let v = validation.evaluate(&model, config.norm_mean, config.norm_std, device)?;
            let record = log::EpochRecord {
                epoch: state.step.div_ceil(options.steps_per_epoch),
                step: state.step,
                lr,
                train_loss: (epoch_loss.0 / epoch_loss.1.max(1) as f64) as f32,
                val_loss: v.loss,
                dice: v.dice,
                seconds: state.seconds + started.elapsed().as_secs_f64(),
            };
            epoch_loss = (0.0, 0);
            log::append(&log_path, &record).map_err(|e| io(&log_path, &e))?;
            state.records.push(record.clone());
            let mean_dice = record.mean_dice();
            if mean_dice > state.best_dice || state.best_dice.is_nan() {
                state.best_dice = mean_dice;
                model.save(&options.out.join("best"))?;
            }
            let plot_path = options.out.join("curves.png");
            plot::write_curves(&plot_path, &state.records).map_err(|e| io(&plot_path, &e))?;
            events(TrainEvent::Epoch(record));
        }
        if epoch_end || last_ckpt.elapsed() > Duration::from_secs_f64(options.checkpoint_minutes * 60.0) {
            let mut s = state.clone();
            s.seconds += started.elapsed().as_secs_f64();
            checkpoint::save(&options.out, &model, &opt, &s)?;
            last_ckpt = Instant::now();
        }
    }
    let last_dir = options.out.join("model");
    model.save(&last_dir)?;
    let _ = ckpt_dir;
    Ok(TrainSummary {
        epochs: state.records.clone(),
        best_dir: options.out.join("best"),
        last_dir,
        used: options.train.len() - skipped,
        skipped,
        cascade: model.coarse.is_some(),
    })
}
