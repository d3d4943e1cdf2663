//! S202: sliding-window prediction over a whole (cropped, resampled,
//! normalised) scan, with overlapping windows whose logits are blended by a
//! Gaussian weight (as nnU-Net does) so seams do not show.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Device, ModuleT, Tensor};

use crate::network::UNet3d;

/// Window starts along one axis of length `n` (≥ `patch`): evenly spread,
/// first at 0, last at `n − patch`, step at most `patch · (1 − overlap)`.
pub fn window_starts(n: usize, patch: usize, overlap: f64) -> Vec<usize> {
    if n <= patch {
        return vec![0];
    }
    let step = ((patch as f64) * (1.0 - overlap.clamp(0.0, 0.95))).max(1.0);
    let count = ((n - patch) as f64 / step).ceil() as usize + 1;
    (0..count).map(|i| ((i as f64) * (n - patch) as f64 / (count - 1) as f64).round() as usize).collect()
}

/// Gaussian importance of each voxel of a patch (σ = side / 8), peak 1,
/// floored at 1e-3 so window edges still count where nothing else covers.
pub fn gaussian_weights(patch: [usize; 3]) -> Vec<f32> {
    let axis = |n: usize| -> Vec<f64> {
        let c = (n as f64 - 1.0) / 2.0;
        let s = n as f64 / 8.0;
        (0..n).map(|i| (-((i as f64 - c).powi(2)) / (2.0 * s * s)).exp()).collect()
    };
    let (d, h, w) = (axis(patch[0]), axis(patch[1]), axis(patch[2]));
    let mut out = Vec::with_capacity(patch.iter().product());
    for z in &d {
        for y in &h {
            for x in &w {
                out.push(((z * y * x) as f32).max(1e-3));
            }
        }
    }
    out
}

/// Class logits blended over all windows: `[classes][D·H·W]` with W fastest.
pub struct BlendedLogits {
    /// Grid size (D, H, W).
    pub dims: [usize; 3],
    /// Number of classes.
    pub classes: usize,
    /// Logits, class-major.
    pub data: Vec<f32>,
}

/// Runs `net` over `input` in overlapping windows of `patch`, `batch`
/// windows at a time, optionally
/// averaging with the mirror images along each axis. `progress(done, total)`
/// is called after each batch; `cancel` is checked before each batch.
///
/// `input` holds the network's `in_channels` channels one after the other,
/// each D·H·W (W fastest, already normalised): the CT first, then a
/// cascade's context channels. Outside the input (where it is smaller than
/// a patch, or at its far edges) the CT channel reads `pad_value` and the
/// context channels 0.
#[allow(clippy::too_many_arguments)]
pub fn predict_windows(
    net: &UNet3d,
    input: &[f32],
    dims: [usize; 3],
    pad_value: f32,
    patch: [usize; 3],
    overlap: f64,
    batch: usize,
    mirror: bool,
    device: &Device,
    progress: &dyn Fn(usize, usize),
    cancel: &AtomicBool,
) -> Result<Option<BlendedLogits>, candle_core::Error> {
    let classes = net.config().num_classes;
    let channels = net.config().in_channels;
    let in_n: usize = dims.iter().product();
    if input.len() != channels * in_n {
        candle_core::bail!(
            "window input holds {} values, the network needs {channels} channel(s) of {dims:?} = {}",
            input.len(),
            channels * in_n
        );
    }
    // Pad up to the patch where the scan is smaller.
    let padded = [0, 1, 2].map(|a| dims[a].max(patch[a]));
    let along = |a: usize| window_starts(padded[a], patch[a], overlap);
    let mut starts: Vec<[usize; 3]> = Vec::new();
    for &z in &along(0) {
        for &y in &along(1) {
            for &x in &along(2) {
                starts.push([z, y, x]);
            }
        }
    }
    let weights = gaussian_weights(patch);
    let plane = padded[1] * padded[2];
    let n = padded[0] * plane;
    let mut acc = vec![0f32; classes * n];
    let mut wsum = vec![0f32; n];
    let pvox: usize = patch.iter().product();
    let total = starts.len();
    let mut done = 0;
    progress(0, total);
    for chunk in starts.chunks(batch.max(1)) {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // Gather the windows (outside the scan: the pad value, 0 for context).
        let mut buf = vec![0f32; chunk.len() * channels * pvox];
        for (b, s) in chunk.iter().enumerate() {
            for ch in 0..channels {
                let dst = &mut buf[(b * channels + ch) * pvox..(b * channels + ch + 1) * pvox];
                if ch == 0 {
                    dst.fill(pad_value);
                }
                let src_channel = &input[ch * in_n..(ch + 1) * in_n];
                for z in 0..patch[0] {
                    let zz = s[0] + z;
                    if zz >= dims[0] {
                        continue;
                    }
                    for y in 0..patch[1] {
                        let yy = s[1] + y;
                        if yy >= dims[1] {
                            continue;
                        }
                        let x_end = patch[2].min(dims[2].saturating_sub(s[2]));
                        let src = (zz * dims[1] + yy) * dims[2] + s[2];
                        let d0 = (z * patch[1] + y) * patch[2];
                        dst[d0..d0 + x_end].copy_from_slice(&src_channel[src..src + x_end]);
                    }
                }
            }
        }
        let x = Tensor::from_vec(buf, (chunk.len(), channels, patch[0], patch[1], patch[2]), device)?;
        let mut logits = net.forward_t(&x, false)?;
        if mirror {
            for axis in 2..5 {
                let flipped = flip(&net.forward_t(&flip(&x, axis)?, false)?, axis)?;
                logits = (logits + flipped)?;
            }
            logits = (logits / 4.0)?;
        }
        let logits: Vec<f32> = logits.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        for (b, s) in chunk.iter().enumerate() {
            for z in 0..patch[0] {
                for y in 0..patch[1] {
                    let row = ((s[0] + z) * padded[1] + s[1] + y) * padded[2] + s[2];
                    let prow = (z * patch[1] + y) * patch[2];
                    for x in 0..patch[2] {
                        let w = weights[prow + x];
                        wsum[row + x] += w;
                        for c in 0..classes {
                            acc[c * n + row + x] += w * logits[(b * classes + c) * pvox + prow + x];
                        }
                    }
                }
            }
        }
        done += chunk.len();
        progress(done, total);
    }
    // Normalise and cut the padding away.
    let out_n: usize = dims.iter().product();
    let mut data = vec![0f32; classes * out_n];
    for c in 0..classes {
        for z in 0..dims[0] {
            for y in 0..dims[1] {
                let src = (z * padded[1] + y) * padded[2];
                let dst = (z * dims[1] + y) * dims[2];
                for x in 0..dims[2] {
                    data[c * out_n + dst + x] = acc[c * n + src + x] / wsum[src + x];
                }
            }
        }
    }
    Ok(Some(BlendedLogits { dims, classes, data }))
}

/// Reverses `t` along `axis`.
fn flip(t: &Tensor, axis: usize) -> Result<Tensor, candle_core::Error> {
    let n = t.dim(axis)?;
    let idx = Tensor::new((0..n as u32).rev().collect::<Vec<_>>(), t.device())?;
    t.index_select(&idx, axis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_voxel_with_bounded_step() {
        for (n, p) in [(64, 64), (65, 64), (200, 64), (97, 32), (10, 64)] {
            let s = window_starts(n, p, 0.5);
            assert_eq!(s[0], 0);
            if n > p {
                assert_eq!(*s.last().unwrap(), n - p);
                assert!(s.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= p / 2), "{n} {p} {s:?}");
            }
        }
    }

    /// A tiny cascade fine stage: CT + 3 context channels.
    fn tiny_fine() -> crate::network::Model {
        let cfg = crate::network::NetworkConfig {
            in_channels: 4,
            base_channels: 2,
            levels: 2,
            token_dim: 8,
            heads: 2,
            patch_size: [16, 16, 16],
            context: Some(crate::network::ContextConfig::vessels()),
            ..Default::default()
        };
        crate::network::Model::new(&cfg, &Device::Cpu, 5).unwrap()
    }

    fn run(model: &crate::network::Model, input: &[f32], dims: [usize; 3]) -> BlendedLogits {
        let never = AtomicBool::new(false);
        predict_windows(&model.net, input, dims, -2.0, [16, 16, 16], 0.5, 2, false, &Device::Cpu, &|_, _| {}, &never)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn extra_channels_match_a_direct_forward_pass() {
        let model = tiny_fine();
        let mut rng = crate::phantom::rng::Rng::new(3);
        // One window exactly covering the input.
        let n = 16 * 16 * 16;
        let input: Vec<f32> = (0..4 * n).map(|_| rng.sym(1.0) as f32).collect();
        let got = run(&model, &input, [16, 16, 16]);
        let x = Tensor::from_vec(input.clone(), (1, 4, 16, 16, 16), &Device::Cpu).unwrap();
        let want: Vec<f32> = model.net.forward_t(&x, false).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(got.data.len(), want.len());
        let worst = got.data.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "{worst}");

        // A smaller input is padded: CT with the pad value, context with 0.
        let dims = [10, 12, 16];
        let m = 10 * 12 * 16;
        let small: Vec<f32> = (0..4 * m).map(|_| rng.sym(1.0) as f32).collect();
        let got = run(&model, &small, dims);
        let mut padded = vec![0f32; 4 * n];
        padded[..n].fill(-2.0);
        for c in 0..4 {
            for z in 0..10 {
                for y in 0..12 {
                    let src = c * m + (z * 12 + y) * 16;
                    let dst = c * n + (z * 16 + y) * 16;
                    padded[dst..dst + 16].copy_from_slice(&small[src..src + 16]);
                }
            }
        }
        let x = Tensor::from_vec(padded, (1, 4, 16, 16, 16), &Device::Cpu).unwrap();
        let want: Vec<f32> = model.net.forward_t(&x, false).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        for c in 0..4 {
            for z in 0..10 {
                for y in 0..12 {
                    for x in 0..16 {
                        let (a, b) = (got.data[c * m + (z * 12 + y) * 16 + x], want[c * n + (z * 16 + y) * 16 + x]);
                        assert!((a - b).abs() < 1e-5, "class {c} at {z},{y},{x}: {a} vs {b}");
                    }
                }
            }
        }
        // The wrong number of channels is an error, not a panic.
        assert!(
            predict_windows(
                &model.net,
                &small[..m],
                dims,
                -2.0,
                [16, 16, 16],
                0.5,
                2,
                false,
                &Device::Cpu,
                &|_, _| {},
                &AtomicBool::new(false)
            )
            .is_err()
        );
    }

    #[test]
    fn gaussian_peaks_in_the_centre() {
        let g = gaussian_weights([8, 8, 8]);
        let centre = g[(3 * 8 + 3) * 8 + 3];
        let max = g.iter().cloned().fold(0.0f32, f32::max);
        // The four central voxels are 0.5 voxel off-centre: exp(-3·0.5²/2) ≈ 0.69.
        assert_eq!(centre, max);
        assert!((centre - 0.687).abs() < 0.01, "{centre}");
        assert_eq!(g[0], 1e-3);
    }
}
