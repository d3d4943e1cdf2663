//! Peak memory (VmHWM) and time of the default network's forward pass and of
//! one training step on one patch: `cargo run --release -p vasa-inference --example network_cost`.

use std::time::Instant;

use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use vasa_inference::network::{Model, NetworkConfig};

fn peak_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = NetworkConfig::default();
    let dev = Device::Cpu;
    let model = Model::new(&cfg, &dev, 1)?;
    let [d, h, w] = cfg.patch_size;
    let x = Tensor::randn(0f32, 1.0, (1, 1, d, h, w), &dev)?;
    println!("baseline: {:.0} MiB peak", peak_mib());
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        model.net.forward_t(&x, false)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let flops = cfg.forward_flops(cfg.patch_size);
    println!(
        "forward: median {:.3} s, {:.2} GFLOP ({:.1} GFLOP/s), peak {:.0} MiB",
        times[2],
        flops / 1e9,
        flops / times[2] / 1e9,
        peak_mib()
    );
    let target = x.gt(0.8)?.to_dtype(DType::U32)?.flatten_all()?;
    let mut opt = AdamW::new(model.varmap.all_vars(), ParamsAdamW::default())?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let logits = model.net.forward_t(&x, true)?;
        let flat = logits.permute((0, 2, 3, 4, 1))?.reshape(((), cfg.num_classes))?;
        opt.backward_step(&candle_nn::loss::cross_entropy(&flat, &target)?)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("training step: median {:.3} s, peak {:.0} MiB", times[2], peak_mib());
    Ok(())
}
