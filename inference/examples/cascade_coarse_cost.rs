//! Measures what a cascade's coarse stage adds to `Segmenter::segment` on a
//! scan: the ROI crop resampled to 4 mm, the coarse network (default size,
//! random weights: the cost does not depend on them) in sliding windows,
//! softmax, and the probabilities resampled onto the fine grid.
//! `cargo run --release -p vasa-inference --example cascade_coarse_cost -- ct.nii.gz [PATCH]`.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::Device;
use glam::DVec3;
use vasa_inference::network::{Model, NetworkConfig};
use vasa_inference::segment::{context, network_region};
use vasa_scan::{crop, resample};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: cascade_coarse_cost CT [PATCH]");
        std::process::exit(2);
    };
    let patch: usize = std::env::args().nth(2).map_or(Ok(64), |s| s.parse())?;
    let ct = vasa_scan::open_scan(std::path::Path::new(&path))?.volume;
    let t = Instant::now();
    let (_, region) = network_region(&ct);
    let cropped = crop::crop(&ct, &region);
    let fine = resample::resample_linear(&cropped, DVec3::new(1.3671875, 1.3671875, 1.5));
    println!(
        "scan {:?}, crop {:?}, fine grid {:?} ({:.2} s)",
        ct.dims(),
        cropped.dims(),
        fine.dims(),
        t.elapsed().as_secs_f64()
    );
    let cfg = NetworkConfig {
        patch_size: [patch; 3],
        target_spacing_mm: [4.0; 3],
        norm_mean: -369.5,
        norm_std: 474.4,
        ..NetworkConfig::default()
    };
    let coarse = Model::new(&cfg, &Device::Cpu, 1)?;
    let t = Instant::now();
    let small = resample::resample_linear(&cropped, DVec3::splat(4.0));
    println!("of which resampling the crop to 4 mm {:?}: {:.2} s", small.dims(), t.elapsed().as_secs_f64());
    let [sx, sy, sz] = small.dims();
    let input: Vec<f32> = small.data().iter().map(|&v| (v as f32 + 369.5) / 474.4).collect();
    let t = Instant::now();
    vasa_inference::segment::window::predict_windows(
        &coarse.net,
        &input,
        [sz, sy, sx],
        -1.3,
        cfg.patch_size,
        0.5,
        2,
        false,
        &Device::Cpu,
        &|_, _| {},
        &AtomicBool::new(false),
    )?;
    println!("of which the coarse windows alone (first network call, cold): {:.2} s", t.elapsed().as_secs_f64());
    let windows = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    let probs = context::coarse_probabilities(
        &coarse,
        &[1, 2, 3],
        &cropped,
        fine.dims(),
        &fine.geometry,
        2,
        &|_, total| windows.store(total, std::sync::atomic::Ordering::Relaxed),
        &AtomicBool::new(false),
    )?
    .expect("not cancelled");
    println!(
        "coarse pass: {} windows of {patch}³ at 4 mm, {:.2} s, context {} MB",
        windows.into_inner(),
        t.elapsed().as_secs_f64(),
        probs.len() * 4 / 1_000_000
    );
    Ok(())
}
