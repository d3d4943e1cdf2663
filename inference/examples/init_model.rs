//! Writes a freshly initialised network of the default configuration (or the
//! tiny test one) to a folder, for timing `vasa segment` before trained weights
//! exist: `cargo run --release -p vasa-inference --example init_model -- DIR [tiny]`.
//! Its labels are meaningless; its speed and memory are the real model's.

use candle_core::Device;
use vasa_inference::network::{Model, NetworkConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: init_model DIR [tiny]");
        std::process::exit(2);
    };
    let cfg = if args.get(2).is_some_and(|a| a == "tiny") {
        vasa_inference::testing::tiny_config()
    } else {
        NetworkConfig::default()
    };
    let model = Model::new(&cfg, &Device::Cpu, 1)?;
    model.save(std::path::Path::new(dir))?;
    println!(
        "{dir}: {} parameters, {:.2} GFLOP per {:?} patch",
        model.parameter_count(),
        cfg.forward_flops(cfg.patch_size) / 1e9,
        cfg.patch_size
    );
    Ok(())
}
