//! Validation each epoch: fixed patches cut once from the held-out volumes
//! (half centred on vessels, no augmentation), the loss on them and the hard
//! Dice of each vessel class over all of them together.

use candle_core::{Device, ModuleT, Tensor};

use super::augment::{self, AugmentOptions};
use super::data::Prepared;
use super::loss::dice_ce_loss;
use crate::network::Model;
use crate::phantom::rng::Rng;

/// Patches validated per forward pass.
const BATCH: usize = 2;

/// Pre-cut validation patches (HU, labels and, for a cascade's fine stage,
/// the context channels).
pub struct ValidationSet {
    patch: [usize; 3],
    hu: Vec<Vec<f32>>,
    labels: Vec<Vec<u32>>,
    context: Vec<Vec<f32>>,
    channels: usize,
}

/// Validation figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validation {
    /// Mean loss over the patches (NaN without validation data).
    pub loss: f32,
    /// Dice of artery, vein, aorta (NaN without validation data).
    pub dice: [f64; 3],
}

impl ValidationSet {
    /// Cuts `per_volume` patches of `patch` = [D, H, W] from each volume,
    /// the same ones for the same `seed`.
    pub fn new(volumes: &[Prepared], patch: [usize; 3], per_volume: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let n = patch.iter().product();
        let none = AugmentOptions::none();
        let (mut hu, mut labels, mut context) = (Vec::new(), Vec::new(), Vec::new());
        let channels = volumes.first().map_or(0, |v| v.context_channels());
        for v in volumes {
            for _ in 0..per_volume {
                let centre = augment::pick_centre(v, 0.5, &mut rng);
                let (mut h, mut l, mut c) = (vec![0f32; n], vec![0u32; n], vec![0f32; channels * n]);
                augment::cut_patch_with_context(v, centre, patch, &none, &mut rng, &mut h, &mut l, &mut c);
                hu.push(h);
                labels.push(l);
                context.push(c);
            }
        }
        ValidationSet { patch, hu, labels, context, channels }
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.hu.len()
    }

    /// Whether there is nothing to validate on.
    pub fn is_empty(&self) -> bool {
        self.hu.is_empty()
    }

    /// Patch `n` as cut: HU (not z-scored), labels, and the context channels
    /// (empty without context). For exporting the set (the GPU path's
    /// `patch_stream` example).
    pub fn patch(&self, n: usize) -> (&[f32], &[u32], &[f32]) {
        (&self.hu[n], &self.labels[n], &self.context[n])
    }

    /// Runs the network (inference mode) over every patch.
    pub fn evaluate(&self, model: &Model, mean: f32, std: f32, device: &Device) -> candle_core::Result<Validation> {
        if self.is_empty() {
            return Ok(Validation { loss: f32::NAN, dice: [f64::NAN; 3] });
        }
        let [d, h, w] = self.patch;
        let mut counts = [[0u64; 3]; 3]; // per class: tp, fp, fn
        let (mut loss_sum, mut batches) = (0f64, 0usize);
        for ((hu, labels), context) in
            self.hu.chunks(BATCH).zip(self.labels.chunks(BATCH)).zip(self.context.chunks(BATCH))
        {
            let mut x = Vec::with_capacity(hu.len() * (1 + self.channels) * d * h * w);
            for (p, c) in hu.iter().zip(context) {
                x.extend(p.iter().map(|&v| (v - mean) / std));
                x.extend_from_slice(c);
            }
            let y: Vec<u32> = labels.iter().flatten().copied().collect();
            let xt = Tensor::from_vec(x, (hu.len(), 1 + self.channels, d, h, w), device)?;
            let logits = model.net.forward_t(&xt, false)?;
            let loss = dice_ce_loss(&logits, &y)?;
            loss_sum += loss.total.to_scalar::<f32>()? as f64;
            batches += 1;
            let pred = logits.argmax(1)?.flatten_all()?.to_vec1::<u32>()?;
            for (&p, &t) in pred.iter().zip(&y) {
                for c in 1..=3u32 {
                    let (pc, tc) = (p == c, t == c);
                    let e = &mut counts[c as usize - 1];
                    e[0] += (pc && tc) as u64;
                    e[1] += (pc && !tc) as u64;
                    e[2] += (!pc && tc) as u64;
                }
            }
        }
        let dice = counts.map(|[tp, fp, fn_]| {
            let denom = 2 * tp + fp + fn_;
            if denom == 0 { 1.0 } else { 2.0 * tp as f64 / denom as f64 }
        });
        Ok(Validation { loss: (loss_sum / batches as f64) as f32, dice })
    }
}
