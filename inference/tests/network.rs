//! The U-Net: shapes, patch checks, gradients to every parameter, learning on
//! a toy problem, and weights that save, load and refuse to load exactly.

use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use vasa_inference::network::{Model, NetworkConfig};

/// Deterministic pseudo-random input (candle's CPU generator cannot be seeded).
fn noise(shape: (usize, usize, usize, usize, usize), seed: u64) -> Tensor {
    let n = shape.0 * shape.1 * shape.2 * shape.3 * shape.4;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            // Sum of 4 uniforms, centred and scaled: close to N(0, 1).
            (0..4)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32
                })
                .sum::<f32>()
                .mul_add(1.732, -3.464)
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn tiny() -> NetworkConfig {
    NetworkConfig {
        base_channels: 4,
        levels: 2,
        token_dim: 16,
        heads: 2,
        patch_size: [16, 16, 16],
        ..NetworkConfig::default()
    }
}

#[test]
fn forward_gives_logits_per_voxel_and_checks_patch_sides() {
    let dev = Device::Cpu;
    let model = Model::new(&tiny(), &dev, 1).unwrap();
    let x = noise((2, 1, 16, 16, 16), 1);
    let y = model.net.forward_t(&x, false).unwrap();
    assert_eq!(y.dims(), &[2, 4, 16, 16, 16]);
    // Another patch size (position embedding resized): still works.
    let x = noise((1, 1, 24, 16, 8), 2);
    assert_eq!(model.net.forward_t(&x, false).unwrap().dims(), &[1, 4, 24, 16, 8]);
    // Sides that are not multiples of 2^levels are refused with a clear error.
    let x = Tensor::zeros((1, 1, 16, 18, 16), DType::F32, &dev).unwrap();
    let e = model.net.forward_t(&x, false).unwrap_err().to_string();
    assert!(e.contains("multiple of 2^levels = 4"), "{e}");
    let x = Tensor::zeros((1, 2, 16, 16, 16), DType::F32, &dev).unwrap();
    assert!(model.net.forward_t(&x, false).unwrap_err().to_string().contains("channels"));
}

#[test]
fn every_parameter_gets_a_gradient() {
    let dev = Device::Cpu;
    let model = Model::new(&tiny(), &dev, 1).unwrap();
    let x = noise((1, 1, 16, 16, 16), 3);
    let loss = model.net.forward_t(&x, true).unwrap().sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    let vars = model.varmap.data().lock().unwrap();
    let mut without = Vec::new();
    for (name, var) in vars.iter() {
        if name.ends_with("running_mean") || name.ends_with("running_var") {
            continue;
        }
        // Every parameter is on the gradient path; all but the ReLU-gated CBAM
        // MLP (where a unit can be dead at a random init) get a non-zero one.
        let relu_gated = name.contains(".fc1.") || name.ends_with("fc2.weight");
        match grads.get(var.as_tensor()) {
            Some(g) if relu_gated || g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 0.0 => {}
            _ => without.push(name.clone()),
        }
    }
    assert!(without.is_empty(), "parameters without gradient: {without:?}");
}

/// A toy segmentation: class 1 where the input is bright. A few dozen AdamW
/// steps must fit it — the ops, their gradients and the layers all work.
#[test]
fn learns_a_toy_segmentation() {
    let dev = Device::Cpu;
    let model = Model::new(&tiny(), &dev, 1).unwrap();
    let x = noise((2, 1, 16, 16, 16), 1);
    let target = x.gt(0.5).unwrap().to_dtype(DType::U32).unwrap().flatten_all().unwrap();
    let params = model.varmap.all_vars();
    let mut opt = AdamW::new(params, ParamsAdamW { lr: 1e-2, weight_decay: 0.0, ..Default::default() }).unwrap();
    let loss_of = |train: bool| {
        let logits = model.net.forward_t(&x, train).unwrap(); // [2, 4, 16, 16, 16]
        let flat = logits.permute((0, 2, 3, 4, 1)).unwrap().reshape(((), 4)).unwrap();
        candle_nn::loss::cross_entropy(&flat, &target).unwrap()
    };
    let first = loss_of(true).to_scalar::<f32>().unwrap();
    for _ in 0..60 {
        let loss = loss_of(true);
        opt.backward_step(&loss).unwrap();
    }
    let last = loss_of(true).to_scalar::<f32>().unwrap();
    assert!(last < first * 0.3, "loss {first} -> {last}");
    // Predicting background everywhere scores 0.69 on this target.
    let accuracy = |train: bool| {
        let pred = model.net.forward_t(&x, train).unwrap().argmax(1).unwrap().flatten_all().unwrap();
        pred.eq(&target).unwrap().to_dtype(DType::F32).unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap()
    };
    let eval_acc = accuracy(false);
    let train_acc = accuracy(true);
    eprintln!("loss {first} -> {last}, accuracy {train_acc} (batch statistics), {eval_acc} (running statistics)");
    assert!(train_acc > 0.9, "accuracy with batch statistics {train_acc}");
    // Running statistics lag the last steps a little, but must be in use and sensible.
    assert!(eval_acc > 0.85, "accuracy with running statistics {eval_acc}");
}

#[test]
fn weights_round_trip_and_mismatches_are_named() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let model = Model::new(&tiny(), &dev, 1).unwrap();
    model.save(dir.path()).unwrap();
    let back = Model::load(dir.path(), &dev).unwrap();
    let x = noise((1, 1, 16, 16, 16), 3);
    let a = model.net.forward_t(&x, false).unwrap();
    let b = back.net.forward_t(&x, false).unwrap();
    let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(diff, 0.0);
    assert!(model.parameter_count() > 1000);

    // A config that asks for more channels: shapes do not match, and the error says which.
    let cfg_path = dir.path().join("config.json");
    let mut other = tiny();
    other.base_channels = 8;
    std::fs::write(&cfg_path, serde_json::to_string(&other).unwrap()).unwrap();
    let e = Model::load(dir.path(), &dev).err().unwrap().to_string();
    assert!(e.contains("model.safetensors") && e.contains("enc0.0.conv.weight has shape [4, 1, 3, 3, 3]"), "{e}");

    // One more transformer block: missing tensors named.
    let mut other = tiny();
    other.transformer_blocks = 2;
    std::fs::write(&cfg_path, serde_json::to_string(&other).unwrap()).unwrap();
    let e = Model::load(dir.path(), &dev).err().unwrap().to_string();
    assert!(e.contains("missing") && e.contains("global.block1."), "{e}");

    // A version from the future.
    let mut other = tiny();
    other.version = 7;
    std::fs::write(&cfg_path, serde_json::to_string(&other).unwrap()).unwrap();
    let e = Model::load(dir.path(), &dev).err().unwrap().to_string();
    assert!(e.contains("config.json") && e.contains("version 7"), "{e}");

    // Garbage instead of weights.
    std::fs::write(&cfg_path, serde_json::to_string(&tiny()).unwrap()).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage").unwrap();
    let e = Model::load(dir.path(), &dev).err().unwrap().to_string();
    assert!(e.contains("safetensors"), "{e}");
    // Missing folder.
    assert!(Model::load(&dir.path().join("nope"), &dev).err().unwrap().to_string().contains("config.json"));
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let dev = Device::Cpu;
    let x = noise((1, 1, 16, 16, 16), 3);
    let out = |seed| Model::new(&tiny(), &dev, seed).unwrap().net.forward_t(&x, false).unwrap();
    let diff = |a: Tensor, b: Tensor| (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(diff(out(5), out(5)), 0.0);
    assert!(diff(out(5), out(6)) > 1e-3);
    // He-normal conv weights: the drawn standard deviation matches sqrt(2 / fan_in).
    let m = Model::new(&NetworkConfig::default(), &dev, 3).unwrap();
    let vars = m.varmap.data().lock().unwrap();
    let w = vars["enc1.1.conv.weight"].as_tensor().flatten_all().unwrap();
    let std = w.sqr().unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap().sqrt();
    let expect = (2.0f32 / (16.0 * 27.0)).sqrt();
    assert!((std / expect - 1.0).abs() < 0.05, "std {std} vs {expect}");
}

#[test]
fn flop_count_of_default_is_plausible() {
    let c = NetworkConfig::default();
    let f = c.forward_flops(c.patch_size);
    // Hand count for base 8, 3 levels, 64³: about 7 GFLOP.
    assert!((4e9..12e9).contains(&f), "{f}");
}
