//! The coarse stage of a coarse-to-fine cascade: the same region the fine
//! network sees, at the coarse stage's spacing (~4 mm, so a window covers
//! most of the chest and the aorta can be told from the spine), through the
//! coarse network in sliding windows; its softmax probabilities of the
//! context classes are resampled (trilinear) onto the fine grid and fed to
//! the fine network as extra input channels.
//!
//! Training computes the context of every prepared volume with this same
//! function, so the fine stage learns on exactly what it sees at run time.

use std::sync::atomic::AtomicBool;

use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::{Geometry, Volume, resample};

use super::window;
use crate::network::Model;

/// Overlap of the coarse stage's windows (fixed: training and inference
/// must compute the same context).
pub const COARSE_OVERLAP: f64 = 0.5;

/// The coarse stage's probabilities of `classes` on the fine grid
/// (`fine_dims`, `fine_geometry`: the resampled crop the fine network sees),
/// one channel after the other, each in the volume's voxel order (i
/// fastest). `cropped` is the region of interest at the scan's resolution
/// (HU). Fine voxels outside the coarse grid's box read 0. `None` when
/// cancelled.
#[allow(clippy::too_many_arguments)]
pub fn coarse_probabilities(
    coarse: &Model,
    classes: &[usize],
    cropped: &Volume<i16>,
    fine_dims: [usize; 3],
    fine_geometry: &Geometry,
    batch: usize,
    progress: &dyn Fn(usize, usize),
    cancel: &AtomicBool,
) -> Result<Option<Vec<f32>>, candle_core::Error> {
    let cfg = &coarse.config;
    if let Some(&c) = classes.iter().find(|&&c| c >= cfg.num_classes) {
        candle_core::bail!("context class {c} is not among the coarse stage's {} classes", cfg.num_classes);
    }
    let small = resample::resample_linear(cropped, DVec3::from_array(cfg.target_spacing_mm));
    let (mean, std) = (cfg.norm_mean, cfg.norm_std);
    let input: Vec<f32> = small.data().par_iter().map(|&v| (v as f32 - mean) / std).collect();
    let [sx, sy, sz] = small.dims();
    let Some(logits) = window::predict_windows(
        &coarse.net,
        &input,
        [sz, sy, sx],
        (-1000.0 - mean) / std,
        cfg.patch_size,
        COARSE_OVERLAP,
        batch,
        false,
        &coarse.device,
        progress,
        cancel,
    )?
    else {
        return Ok(None);
    };
    drop(input);
    let probs = softmax(&logits.data, logits.classes);
    let n = sx * sy * sz;
    let fine_n: usize = fine_dims.iter().product();
    let mut out = Vec::with_capacity(classes.len() * fine_n);
    for &c in classes {
        let channel = Volume::from_vec(small.dims(), probs[c * n..(c + 1) * n].to_vec(), small.geometry)
            .map_err(|e| candle_core::Error::msg(e.to_string()))?;
        let fine = resample::resample_to_grid(&channel, fine_dims, fine_geometry, 0.0f32);
        out.extend_from_slice(fine.data());
    }
    Ok(Some(out))
}

/// Softmax over the classes of class-major logits (`classes` × n).
pub fn softmax(logits: &[f32], classes: usize) -> Vec<f32> {
    let n = logits.len() / classes.max(1);
    let mut out = vec![0f32; logits.len()];
    for v in 0..n {
        let max = (0..classes).map(|c| logits[c * n + v]).fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for c in 0..classes {
            let e = (logits[c * n + v] - max).exp();
            out[c * n + v] = e;
            sum += e;
        }
        for c in 0..classes {
            out[c * n + v] /= sum;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_per_voxel() {
        let p = softmax(&[0.0, 1.0, 0.0, 1.0, 2.0, -5.0], 3);
        for v in 0..2 {
            let s: f32 = (0..3).map(|c| p[c * 2 + v]).sum();
            assert!((s - 1.0).abs() < 1e-6);
        }
        assert!((p[0] - p[2]).abs() < 1e-7 && p[4] > p[0]);
    }
}
