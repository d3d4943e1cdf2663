//! The default network on one patch: a forward pass (inference) and one
//! training step (forward, cross-entropy, backward, AdamW update), with the
//! FLOP count of the forward pass printed beside the time.
//!
//! Run: `cargo bench -p vasa-inference --bench network`. Peak memory:
//! `cargo run --release -p vasa-inference --example network_cost`.

use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use criterion::{Criterion, criterion_group, criterion_main};
use vasa_inference::network::{Model, NetworkConfig};

fn bench(c: &mut Criterion) {
    let cfg = NetworkConfig::default();
    let dev = Device::Cpu;
    let model = Model::new(&cfg, &dev, 1).unwrap();
    let [d, h, w] = cfg.patch_size;
    let x = Tensor::randn(0f32, 1.0, (1, 1, d, h, w), &dev).unwrap();
    let target = x.gt(0.8).unwrap().to_dtype(DType::U32).unwrap().flatten_all().unwrap();
    let mut opt = AdamW::new(model.varmap.all_vars(), ParamsAdamW::default()).unwrap();
    eprintln!(
        "default config: {} parameters, {:.2} GFLOP per {:?} forward",
        model.parameter_count(),
        cfg.forward_flops(cfg.patch_size) / 1e9,
        cfg.patch_size
    );
    let mut g = c.benchmark_group("network_default_patch");
    g.sample_size(10);
    g.bench_function("forward (eval)", |b| b.iter(|| model.net.forward_t(&x, false).unwrap()));
    g.bench_function("training step", |b| {
        b.iter(|| {
            let logits = model.net.forward_t(&x, true).unwrap();
            let flat = logits.permute((0, 2, 3, 4, 1)).unwrap().reshape(((), cfg.num_classes)).unwrap();
            let loss = candle_nn::loss::cross_entropy(&flat, &target).unwrap();
            opt.backward_step(&loss).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
