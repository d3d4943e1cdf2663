//! The extraction pipeline, S202–S208, as one call: [`Segmenter::segment`].
//!
//! 1. Region of interest from body and lung masks; crop; resample to the
//!    model's spacing; z-score with the model's statistics.
//!    For a cascade ([`context`]): the coarse stage's probabilities, added
//!    to the input as extra channels.
//! 2. S202: sliding windows with Gaussian blending ([`window`]); logits mapped
//!    back to the scan's grid before the argmax ([`stitch`]).
//! 3. S204–S208: the HU refinement ([`crate::refine`]).
//! 4. The tree stage ([`crate::tree`]): one tree per class, labelled branch
//!    by branch, with per-branch confidence; optional island removal.

pub mod context;
pub mod selfcheck;
pub mod stitch;
pub mod thorax;
pub mod window;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use candle_core::Device;
use glam::DVec3;
use rayon::prelude::*;
use serde::Serialize;
use vasa_scan::crop::{self, BoundingBox};
use vasa_scan::masks::{self, BodyMaskOptions, LungMaskOptions};
use vasa_scan::{ClassTable, LabelMap, Volume, labels, resample};

use crate::network::{Model, ModelError};
use crate::refine::{self, HuRange, PhaseHint, RefineOptions};
use crate::tree::{self, TreeOptions, TreeResult};

/// Per-class figures and island removal moved to [`vasa_scan::label_stats`]
/// (label-only work); re-exported so existing callers keep working.
pub use vasa_scan::label_stats::{ClassStats, class_stats};

/// Margin (mm) kept around the region of interest when cropping.
pub const CROP_MARGIN_MM: f64 = 10.0;

/// The stages of [`Segmenter::segment`], for progress and timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Stage {
    /// Masks, crop, resampling, normalisation.
    Preprocess,
    /// A cascade's coarse network over all its windows (cascades only).
    Coarse,
    /// The network over all windows.
    Network,
    /// Logits back to the scan's grid, argmax.
    Stitch,
    /// S204–S208.
    Refine,
    /// Branch-consistent artery/vein trees ([`crate::tree`]).
    Tree,
    /// Island removal and statistics.
    Postprocess,
}

impl Stage {
    /// Name shown to the user.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preprocess => "preprocess",
            Stage::Coarse => "coarse network",
            Stage::Network => "network",
            Stage::Stitch => "stitch",
            Stage::Refine => "refine",
            Stage::Tree => "tree",
            Stage::Postprocess => "postprocess",
        }
    }
}

/// Where a run is: the stage and, within it, `done` of `total` steps
/// (windows for the network stage, 0 of 1 / 1 of 1 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Current stage.
    pub stage: Stage,
    /// Steps done in this stage.
    pub done: usize,
    /// Steps in this stage.
    pub total: usize,
}

/// Options of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentOptions {
    /// Overlap of neighbouring windows (0.5 = half a patch).
    pub overlap: f64,
    /// Windows per network call.
    pub batch: usize,
    /// Average with mirrored inputs along each axis (4× slower, smoother).
    pub mirror: bool,
    /// Run S204–S208 after the network.
    pub refine: bool,
    /// Refinement options.
    #[serde(skip)]
    pub refine_options: RefineOptions,
    /// Run the tree stage after the refinement (`--no-tree` turns it off).
    pub tree: bool,
    /// Tree stage options.
    #[serde(skip)]
    pub tree_options: TreeOptions,
    /// Keep the network's per-voxel artery share in the result (78 MB for
    /// 512×512×300), for tools that re-run the tree stage.
    #[serde(skip)]
    pub keep_artery_share: bool,
    /// Remove pieces of a class smaller than this (mm³); `None` keeps all.
    pub min_island_mm3: Option<f64>,
    /// With the refinement, remove vessel pieces lying wholly outside the
    /// thorax ([`thorax::remove_pieces_outside_thorax`]).
    pub drop_outside_thorax: bool,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            overlap: 0.5,
            batch: 2,
            mirror: false,
            refine: true,
            refine_options: RefineOptions::default(),
            tree: true,
            tree_options: TreeOptions::default(),
            keep_artery_share: false,
            min_island_mm3: None,
            drop_outside_thorax: true,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Final artery/vein/aorta label map (S208), on the scan's grid.
    pub labels: LabelMap,
    /// The network's labels alone (first segmentation), on the scan's grid.
    pub raw: LabelMap,
    /// The contrast phase the refinement worked for (the hint, or what the
    /// scan showed); [`PhaseHint::Auto`] without refinement.
    pub phase: PhaseHint,
    /// HU range used per vessel class (empty without refinement).
    pub hu_ranges: Vec<(u8, HuRange)>,
    /// Wall time of each stage.
    pub timings: Vec<(Stage, Duration)>,
    /// Figures per class of the final labels.
    pub stats: Vec<ClassStats>,
    /// Self-check figures of the final labels.
    pub plausibility: selfcheck::Plausibility,
    /// What the self-check found implausible (empty when all is well).
    pub warnings: Vec<selfcheck::Warning>,
    /// The tree stage's graph and per-branch confidence (`None` with the
    /// stage off).
    pub tree: Option<TreeResult>,
    /// The network's artery share per voxel ([`stitch::artery_share`]),
    /// kept only with [`SegmentOptions::keep_artery_share`].
    pub artery_share: Option<Volume<u8>>,
    /// Vessel pieces removed as lying wholly outside the thorax.
    pub pieces_outside_thorax: usize,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A tensor operation failed.
    #[error("network: {0}")]
    Network(#[from] candle_core::Error),
    /// The scan cannot be processed.
    #[error("{0}")]
    Invalid(String),
}

/// The device the network runs on: the first CUDA GPU when Vasa was built
/// with the `cuda` feature and one is present, otherwise the CPU.
pub fn default_device() -> Device {
    Device::cuda_if_available(0).unwrap_or(Device::Cpu)
}

/// A loaded network ready to segment scans.
pub struct Segmenter {
    model: Model,
}

impl Segmenter {
    /// Loads the model in `dir` (`config.json` + `model.safetensors`, and a
    /// cascade's coarse stage in `dir/coarse/`) on [`default_device`].
    pub fn load(dir: &Path) -> Result<Self, SegmentError> {
        Ok(Segmenter { model: Model::load(dir, &default_device())? })
    }

    /// Wraps a model already in memory (e.g. one just trained).
    pub fn from_model(model: Model) -> Self {
        Segmenter { model }
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs S202–S208 on `ct` (HU). `progress` is called at every stage and
    /// after every batch of windows; setting `cancel` stops the run within
    /// one batch with [`SegmentError::Cancelled`].
    pub fn segment(
        &self,
        ct: &Volume<i16>,
        options: &SegmentOptions,
        progress: &dyn Fn(Progress),
        cancel: &AtomicBool,
    ) -> Result<Segmentation, SegmentError> {
        let cfg = &self.model.config;
        let cancelled = || cancel.load(std::sync::atomic::Ordering::Relaxed);
        let mut timings = Vec::new();
        if ct.is_empty() {
            return Err(SegmentError::Invalid("the scan has no voxels".into()));
        }

        // 1. Region of interest, crop, resample, normalise.
        let t = Instant::now();
        progress(Progress { stage: Stage::Preprocess, done: 0, total: 1 });
        let (roi, region, lungs) = network_region_with_lungs(ct);
        let cropped = crop::crop(ct, &region);
        let spacing = DVec3::from_array(cfg.target_spacing_mm);
        let small = resample::resample_linear(&cropped, spacing);
        let (mean, std) = (cfg.norm_mean, cfg.norm_std);
        let mut input: Vec<f32> = small.data().par_iter().map(|&v| (v as f32 - mean) / std).collect();
        let pad_value = (-1000.0 - mean) / std;
        timings.push((Stage::Preprocess, t.elapsed()));
        if cancelled() {
            return Err(SegmentError::Cancelled);
        }

        // A cascade: the coarse stage's probabilities as extra channels.
        if let Some(ctx) = &cfg.context {
            let t = Instant::now();
            let coarse = self.model.coarse.as_deref().ok_or_else(|| {
                SegmentError::Invalid(format!(
                    "the model is the fine stage of a cascade and needs its coarse stage (a `{}/` folder next to \
                     its config.json)",
                    crate::network::COARSE_DIR
                ))
            })?;
            let probs = context::coarse_probabilities(
                coarse,
                &ctx.classes,
                &cropped,
                small.dims(),
                &small.geometry,
                options.batch,
                &|done, total| progress(Progress { stage: Stage::Coarse, done, total }),
                cancel,
            )?
            .ok_or(SegmentError::Cancelled)?;
            input.reserve_exact(probs.len());
            input.extend_from_slice(&probs);
            timings.push((Stage::Coarse, t.elapsed()));
        }
        drop(cropped);

        // 2. The network over windows (tensor axes D, H, W = k, j, i).
        let t = Instant::now();
        let [sx, sy, sz] = small.dims();
        let logits = window::predict_windows(
            &self.model.net,
            &input,
            [sz, sy, sx],
            pad_value,
            cfg.patch_size,
            options.overlap,
            options.batch,
            options.mirror,
            &self.model.device,
            &|done, total| progress(Progress { stage: Stage::Network, done, total }),
            cancel,
        )?
        .ok_or(SegmentError::Cancelled)?;
        drop(input);
        timings.push((Stage::Network, t.elapsed()));

        // Logits back onto the scan's grid, argmax there.
        let t = Instant::now();
        progress(Progress { stage: Stage::Stitch, done: 0, total: 1 });
        let mut raw = Volume::filled(ct.dims(), labels::BACKGROUND, ct.geometry);
        let mut artery_share = Volume::filled(ct.dims(), 128u8, ct.geometry);
        stitch::argmax_on_grid(&logits, &small.geometry, &mut raw, &mut artery_share, &region);
        drop(logits);
        timings.push((Stage::Stitch, t.elapsed()));
        if cancelled() {
            return Err(SegmentError::Cancelled);
        }

        // 3. S204–S208.
        let t = Instant::now();
        progress(Progress { stage: Stage::Refine, done: 0, total: 1 });
        let (mut final_labels, hu_ranges, phase) = if options.refine {
            let mut roi = roi;
            roi.data_mut().par_iter_mut().zip(raw.data().par_iter()).for_each(|(r, &l)| *r |= l != 0);
            let r = refine::refine(ct, &raw, &roi, &options.refine_options);
            (r.labels, r.ranges, r.phase)
        } else {
            (raw.clone(), Vec::new(), PhaseHint::Auto)
        };
        let pieces_outside_thorax = if options.refine && options.drop_outside_thorax {
            thorax::remove_pieces_outside_thorax(&mut final_labels, &lungs, thorax::THORAX_MARGIN_MM)
        } else {
            0
        };
        timings.push((Stage::Refine, t.elapsed()));
        if cancelled() {
            return Err(SegmentError::Cancelled);
        }

        // 4. One tree per class.
        let tree = if options.tree {
            let t = Instant::now();
            progress(Progress { stage: Stage::Tree, done: 0, total: 1 });
            let result = tree::label_trees(ct, &mut final_labels, &artery_share, &options.tree_options);
            timings.push((Stage::Tree, t.elapsed()));
            Some(result)
        } else {
            None
        };
        let artery_share = options.keep_artery_share.then_some(artery_share);

        let t = Instant::now();
        progress(Progress { stage: Stage::Postprocess, done: 0, total: 1 });
        if let Some(mm3) = options.min_island_mm3 {
            vasa_scan::label_stats::remove_islands(&mut final_labels, mm3);
        }
        let stats = class_stats(&final_labels, &ClassTable::default());
        let (plausibility, warnings) = selfcheck::check_with_lungs(ct, &final_labels, &lungs);
        drop(lungs);
        timings.push((Stage::Postprocess, t.elapsed()));
        progress(Progress { stage: Stage::Postprocess, done: 1, total: 1 });
        Ok(Segmentation {
            labels: final_labels,
            raw,
            phase,
            hu_ranges,
            timings,
            stats,
            plausibility,
            warnings,
            tree,
            artery_share,
            pieces_outside_thorax,
        })
    }
}

/// The thoracic region of interest (body, lungs, mediastinum; S204's ROI)
/// and the box the network sees: the ROI's bounding box plus
/// [`CROP_MARGIN_MM`] (the whole scan when no lung is found). Training crops
/// with the same box so the network sees at run time what it learned on.
pub fn network_region(ct: &Volume<i16>) -> (vasa_scan::masks::Mask, BoundingBox) {
    let (roi, region, _) = network_region_with_lungs(ct);
    (roi, region)
}

/// [`network_region`] and the lung mask it was made from.
pub fn network_region_with_lungs(ct: &Volume<i16>) -> (vasa_scan::masks::Mask, BoundingBox, vasa_scan::masks::Mask) {
    let body = masks::body_mask(ct, &BodyMaskOptions::default());
    let lungs = masks::lung_mask(ct, &body, &LungMaskOptions::default());
    let roi = refine::roi_from_masks(body, &lungs, None);
    let mut region = BoundingBox::of_mask(&roi);
    if region.is_empty() {
        region = BoundingBox::full(ct.dims());
    }
    let region = region.padded_mm(CROP_MARGIN_MM, &ct.geometry, ct.dims());
    (roi, region, lungs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{ContextConfig, NetworkConfig};
    use crate::phantom::Phase;

    fn tiny(in_channels: usize, context: Option<ContextConfig>, spacing: f64, patch: usize) -> NetworkConfig {
        NetworkConfig {
            in_channels,
            base_channels: 2,
            levels: 2,
            token_dim: 8,
            heads: 2,
            patch_size: [patch; 3],
            target_spacing_mm: [spacing; 3],
            context,
            ..NetworkConfig::default()
        }
    }

    #[test]
    fn a_random_cascade_segments_a_small_phantom_on_its_grid() {
        let p = crate::testing::coarse_phantom(3, Phase::Ctpa);
        let dev = Device::Cpu;
        let mut fine = Model::new(&tiny(4, Some(ContextConfig::vessels()), 3.0, 32), &dev, 1).unwrap();
        let options = SegmentOptions { overlap: 0.25, refine: false, ..Default::default() };
        let never = AtomicBool::new(false);

        // The fine stage alone is refused with a clear message.
        let alone = Segmenter::from_model(Model::new(&fine.config, &dev, 1).unwrap());
        let e = alone.segment(&p.ct, &options, &|_| {}, &never).err().unwrap().to_string();
        assert!(e.contains("coarse stage") && e.contains("coarse/"), "{e}");

        fine.set_coarse(Model::new(&tiny(1, None, 6.0, 16), &dev, 2).unwrap()).unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let seg =
            Segmenter::from_model(fine).segment(&p.ct, &options, &|pr| seen.lock().unwrap().push(pr), &never).unwrap();
        assert!(seg.labels.same_grid(&p.ct) && seg.raw.same_grid(&p.ct));
        assert!(seg.labels.data().iter().all(|&l| l <= 3));
        let seen = seen.into_inner().unwrap();
        let coarse: Vec<_> = seen.iter().filter(|s| s.stage == Stage::Coarse).collect();
        assert!(coarse.len() >= 2 && coarse.last().unwrap().done == coarse.last().unwrap().total, "{seen:?}");
        let first_net = seen.iter().position(|s| s.stage == Stage::Network).unwrap();
        assert!(seen.iter().rposition(|s| s.stage == Stage::Coarse).unwrap() < first_net);
        assert!(seg.timings.iter().any(|(s, _)| *s == Stage::Coarse));
    }
}
