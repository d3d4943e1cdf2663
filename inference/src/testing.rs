//! Helpers for tests and benchmarks: a tiny network trained in seconds on a
//! coarse phantom, so pipeline tests run on real network output (never on
//! hard-coded labels) before the shipped weights exist.

use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use glam::DVec3;
use vasa_scan::{LabelMap, Volume};

use crate::network::{Model, NetworkConfig};
use crate::phantom::{self, Phantom, PhantomOptions, Phase};

/// A coarse plain-phase phantom (3 mm voxels) that generates in well under a second.
pub fn coarse_phantom(seed: u64, phase: Phase) -> Phantom {
    let options = PhantomOptions::grid(seed, phase, [112, 112, 100], DVec3::new(3.0, 3.0, 3.0));
    phantom::generate(&options).expect("valid phantom options")
}

/// The configuration of the tiny test network (3 mm, 32³ patches).
pub fn tiny_config() -> NetworkConfig {
    NetworkConfig {
        base_channels: 8,
        levels: 2,
        token_dim: 32,
        heads: 2,
        patch_size: [32, 32, 32],
        target_spacing_mm: [3.0, 3.0, 3.0],
        ..NetworkConfig::default()
    }
}

/// Trains the tiny network for `steps` AdamW steps on random 32³ patches of
/// `ct`/`labels` (classes above 3 count as background), two thirds of them
/// centred on a vessel voxel. Deterministic for a given `seed`.
pub fn train_tiny(ct: &Volume<i16>, labels: &LabelMap, steps: usize, seed: u64) -> Model {
    let cfg = tiny_config();
    let model = Model::new(&cfg, &Device::Cpu, seed).expect("tiny model builds");
    let mut opt =
        AdamW::new(model.varmap.all_vars(), ParamsAdamW { lr: 3e-3, weight_decay: 1e-4, ..Default::default() })
            .expect("optimizer");
    let [nx, ny, nz] = ct.dims();
    let p = cfg.patch_size[0];
    let vessels: Vec<usize> = (0..labels.len()).filter(|&i| (1..=3).contains(&labels.data()[i])).collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    // Class weights: vessels are rare.
    let weights = Tensor::new(&[0.2f32, 1.0, 1.0, 1.0], &Device::Cpu).expect("weights");
    for step in 0..steps {
        let batch = 2;
        let mut x = Vec::with_capacity(batch * p * p * p);
        let mut y = Vec::with_capacity(batch * p * p * p);
        for b in 0..batch {
            let (ci, cj, ck) = if (step + b) % 3 != 2 && !vessels.is_empty() {
                let [i, j, k] = labels.coords(vessels[next(vessels.len())]);
                (i, j, k)
            } else {
                (next(nx), next(ny), next(nz))
            };
            let start = |c: usize, n: usize| c.saturating_sub(p / 2).min(n.saturating_sub(p));
            let (si, sj, sk) = (start(ci, nx), start(cj, ny), start(ck, nz));
            for k in sk..sk + p {
                for j in sj..sj + p {
                    for i in si..si + p {
                        let (v, l) = match (ct.get(i, j, k), labels.get(i, j, k)) {
                            (Some(&v), Some(&l)) => (v, l),
                            _ => (-1000, 0),
                        };
                        x.push((v as f32 - cfg.norm_mean) / cfg.norm_std);
                        y.push(if l <= 3 { l as u32 } else { 0 });
                    }
                }
            }
        }
        let xt = Tensor::from_vec(x, (batch, 1, p, p, p), &Device::Cpu).expect("input");
        let yt = Tensor::from_vec(y, batch * p * p * p, &Device::Cpu).expect("target");
        let logits = model.net.forward_t(&xt, true).expect("forward");
        let flat = logits.permute((0, 2, 3, 4, 1)).and_then(|t| t.reshape(((), 4))).expect("reshape");
        let loss = weighted_cross_entropy(&flat, &yt, &weights).expect("loss");
        opt.backward_step(&loss).expect("step");
    }
    model
}

/// Cross-entropy with per-class weights, averaged over the weight mass.
pub fn weighted_cross_entropy(logits: &Tensor, target: &Tensor, weights: &Tensor) -> candle_core::Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, 1)?;
    let picked = logp.gather(&target.unsqueeze(1)?, 1)?.squeeze(1)?;
    let w = weights.gather(target, 0)?.to_dtype(DType::F32)?;
    (picked * &w)?.sum_all()?.neg()? / w.sum_all()?.to_scalar::<f32>()? as f64
}

/// Fraction of the voxels of `classes` in `truth` that `pred` gives the same class.
pub fn recall(pred: &LabelMap, truth: &LabelMap, classes: &[u8]) -> f64 {
    let (mut hit, mut total) = (0u64, 0u64);
    for (&p, &t) in pred.data().iter().zip(truth.data()) {
        if classes.contains(&t) {
            total += 1;
            hit += (p == t) as u64;
        }
    }
    hit as f64 / total.max(1) as f64
}
