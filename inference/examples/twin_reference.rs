//! Reference outputs of the candle network for checking its PyTorch twin
//! (`twin/check_twin.py`, see `twin/README.md`).
//!
//! ```text
//! cargo run --release -p vasa-inference --example twin_reference -- \
//!     MODEL_DIR SEED OUT.safetensors [--weights W.safetensors | --init S] [--warm K]
//!     [--save DIR] [--patch D,H,W] [--batch N] [--train-step LR [--weight-decay WD] [--clip C]]
//! ```
//!
//! Loads the network of `MODEL_DIR` (its `config.json` and `model.safetensors`;
//! the coarse stage of a cascade is not loaded), or, with `--weights`, the
//! configuration of `MODEL_DIR` with the weights of `W.safetensors` (e.g. written
//! by the twin), through the same checked loader the app uses; with `--init S`,
//! a fresh network of that configuration (`Model::new(config, S)`, as
//! `init_model` makes). `--warm K` first runs K train-mode passes on random
//! inputs (moving the batch-norm running statistics away from 0 / 1); `--save
//! DIR` then writes the network as the app does (`config.json`,
//! `model.safetensors`). Draws a deterministic input from `SEED` (CT channel
//! ~ N(0, 1); context channels of a cascade's fine stage uniform in [0, 1)) of
//! `N` (default 2) patches of the configured size (or `--patch`), and writes
//! `OUT.safetensors` with
//! - `input`: `[N, in_channels, D, H, W]`,
//! - `logits`: eval-mode logits (batch norm on running statistics),
//! - `logits_train`: train-mode logits (batch norm on batch statistics), computed
//!   after `logits`; the running statistics it updates are not saved.
//!
//! With `--train-step LR`, also one training step on `logits_train` as `vasa
//! train` takes it: a random `target` (class per voxel, stored as f32
//! `[N, D, H, W]`), `loss` = [total, cross-entropy, soft Dice, gradient norm]
//! (`train::loss::dice_ce_loss`), and for every trained tensor its value
//! `before.NAME`, its gradient `grad.NAME` and its value `after.NAME` one
//! `train::optimizer::AdamW` step at learning rate LR later (default settings,
//! but `--weight-decay` and `--clip` = max gradient norm).

use std::path::{Path, PathBuf};

use candle_core::{Device, ModuleT, Tensor};
use vasa_inference::network::{Model, NetworkConfig};
use vasa_inference::train::{loss, optimizer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let (mut weights, mut init, mut save, mut patch, mut batch, mut warm) = (None, None, None, None, 2usize, 0);
    let (mut step_lr, mut adamw) = (None, optimizer::AdamWSettings::default());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--weights" => weights = Some(PathBuf::from(value()?)),
            "--patch" => {
                let v: Vec<usize> = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
                patch = Some(match v[..] {
                    [s] => [s; 3],
                    [d, h, w] => [d, h, w],
                    _ => return Err("--patch takes S or D,H,W".into()),
                });
            }
            "--batch" => batch = value()?.parse()?,
            "--init" => init = Some(value()?.parse::<u64>()?),
            "--warm" => warm = value()?.parse()?,
            "--save" => save = Some(PathBuf::from(value()?)),
            "--train-step" => step_lr = Some(value()?.parse::<f64>()?),
            "--weight-decay" => adamw.weight_decay = value()?.parse()?,
            "--clip" => adamw.max_grad_norm = value()?.parse()?,
            _ => pos.push(a.clone()),
        }
    }
    let [dir, seed, out] = &pos[..] else {
        eprintln!("usage: twin_reference MODEL_DIR SEED OUT.safetensors [--weights W] [--patch D,H,W] [--batch N]");
        std::process::exit(2);
    };
    let (dir, seed, dev) = (Path::new(dir), seed.parse::<u64>()?, Device::Cpu);
    let model = match (&weights, init) {
        (None, Some(s)) => {
            let text = std::fs::read_to_string(dir.join("config.json"))?;
            Model::new(&serde_json::from_str::<NetworkConfig>(&text)?, &dev, s)?
        }
        (None, None) => Model::load_stage(dir, &dev)?,
        (Some(w), _) => {
            // The app's loader reads a folder: stage the config and the weights in one.
            let tmp = std::env::temp_dir().join(format!("vasa-twin-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            std::fs::copy(dir.join("config.json"), tmp.join("config.json"))?;
            std::fs::copy(w, tmp.join("model.safetensors"))?;
            let m = Model::load_stage(&tmp, &dev);
            std::fs::remove_dir_all(&tmp)?;
            m?
        }
    };
    let cfg: &NetworkConfig = &model.config;
    let [d, h, w] = patch.unwrap_or(cfg.patch_size);
    let mut rng = SplitMix64(seed);
    let mut draw = || {
        let mut x = Vec::with_capacity(batch * cfg.in_channels * d * h * w);
        for _ in 0..batch {
            for ch in 0..cfg.in_channels {
                for _ in 0..d * h * w {
                    x.push(if ch == 0 { rng.normal() } else { rng.uniform() as f32 });
                }
            }
        }
        Tensor::from_vec(x, (batch, cfg.in_channels, d, h, w), &dev)
    };
    for _ in 0..warm {
        // Scaled and shifted, so the running statistics become clearly non-trivial.
        model.net.forward_t(&((draw()? * 1.7)? + 0.3)?, true)?;
    }
    if let Some(s) = &save {
        model.save_stage(s)?;
    }
    let input = draw()?;
    let logits = model.net.forward_t(&input, false)?;
    let logits_train = model.net.forward_t(&input, true)?;
    let mut tensors: std::collections::HashMap<String, Tensor> = std::collections::HashMap::new();
    if let Some(lr) = step_lr {
        let c = cfg.num_classes;
        let target: Vec<u32> =
            (0..batch * d * h * w).map(|_| ((rng.uniform() * c as f64) as usize).min(c - 1) as u32).collect();
        let l = loss::dice_ce_loss(&logits_train, &target)?;
        let grads = l.total.backward()?;
        let vars: Vec<(String, candle_core::Var)> = {
            let map = model.varmap.data().lock().map_err(|_| "variable map lock poisoned")?;
            map.iter().filter(|(k, _)| optimizer::is_trainable(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        for (name, var) in &vars {
            let g = grads.get(var.as_tensor()).cloned().map_or_else(|| var.as_tensor().zeros_like(), Ok)?;
            tensors.insert(format!("grad.{name}"), g);
            tensors.insert(format!("before.{name}"), var.as_tensor().copy()?);
        }
        let norm = optimizer::AdamW::new(&model.varmap, adamw)?.step(&grads, lr)?;
        for (name, var) in &vars {
            tensors.insert(format!("after.{name}"), var.as_tensor().copy()?);
        }
        let parts = [l.total.to_scalar::<f32>()?, l.cross_entropy, l.soft_dice, norm as f32];
        tensors.insert("loss".into(), Tensor::new(&parts, &dev)?);
        let target: Vec<f32> = target.iter().map(|&t| t as f32).collect();
        tensors.insert("target".into(), Tensor::from_vec(target, (batch, d, h, w), &dev)?);
    }
    tensors.extend([("input".into(), input), ("logits".into(), logits), ("logits_train".into(), logits_train)]);
    candle_core::safetensors::save(&tensors, out)?;
    println!("{out}: input [{batch}, {}, {d}, {h}, {w}], eval and train logits", cfg.in_channels);
    Ok(())
}

/// SplitMix64 (the input only has to be reproducible, not shared with Python).
struct SplitMix64(u64);

impl SplitMix64 {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f32 {
        let (u1, u2) = (self.uniform().max(1e-300), self.uniform());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}
