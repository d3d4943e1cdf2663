//! A run interrupted after its first epoch and resumed from the checkpoint
//! ends with exactly the weights of the same run done in one go: weights,
//! optimiser moments, BatchNorm statistics and the patch stream all survive
//! the checkpoint.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use vasa_inference::network::{Model, NetworkConfig};
use vasa_inference::phantom::Phase;
use vasa_inference::train::data::Source;
use vasa_inference::train::{TrainError, TrainEvent, TrainOptions, train};

fn options(out: std::path::PathBuf) -> TrainOptions {
    let mut o = TrainOptions::new(
        out,
        vec![Source::Phantom { seed: 41, phase: Phase::Arterial }],
        vec![Source::Phantom { seed: 42, phase: Phase::Plain }],
    );
    o.network = NetworkConfig {
        base_channels: 4,
        levels: 2,
        token_dim: 16,
        heads: 2,
        patch_size: [16, 16, 16],
        ..NetworkConfig::default()
    };
    o.spacing_mm = Some([4.0; 3]);
    o.epochs = 2;
    o.steps_per_epoch = 3;
    o.batch = 2;
    o.warmup_steps = 2;
    o.validation_patches = 2;
    o
}

fn weights(dir: &std::path::Path) -> Vec<(String, Vec<f32>)> {
    let m = Model::load(dir, &Device::Cpu).unwrap();
    let vars = m.varmap.data().lock().unwrap();
    let mut out: Vec<(String, Vec<f32>)> =
        vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = |_: TrainEvent| {};
    let never = AtomicBool::new(false);
    let straight = options(dir.path().join("straight"));
    let a = train(&straight, &Device::Cpu, &quiet, &never).unwrap();
    assert_eq!(a.epochs.len(), 2);

    // Interrupt right after the first epoch's checkpoint.
    let broken = options(dir.path().join("broken"));
    let stop = AtomicBool::new(false);
    let stop_after_epoch = |e: TrainEvent| {
        if let TrainEvent::Epoch(r) = e
            && r.epoch == 1
        {
            stop.store(true, Ordering::Relaxed);
        }
    };
    let r = train(&broken, &Device::Cpu, &stop_after_epoch, &stop);
    assert!(matches!(r, Err(TrainError::Cancelled)), "{r:?}");
    assert!(!broken.out.join("model").exists());

    let mut resume = options(dir.path().join("broken"));
    resume.resume = true;
    let b = train(&resume, &Device::Cpu, &quiet, &never).unwrap();
    assert_eq!(b.epochs.len(), 2);
    assert_eq!(a.epochs[1].dice, b.epochs[1].dice);
    assert_eq!(a.epochs[1].val_loss, b.epochs[1].val_loss);
    let (wa, wb) = (weights(&a.last_dir), weights(&b.last_dir));
    assert_eq!(wa.len(), wb.len());
    for ((na, va), (nb, vb)) in wa.iter().zip(&wb) {
        assert_eq!(na, nb);
        assert_eq!(va, vb, "{na} differs after resume");
    }
}
