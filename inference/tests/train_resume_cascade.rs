//! A cascade's fine stage, interrupted after its first epoch and resumed,
//! ends with exactly the weights of the same run done in one go: the coarse
//! stage travels with the checkpoint and the context is recomputed the same.
//! Small 3 mm phantoms written as files keep it fast.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use vasa_inference::network::{Model, NetworkConfig};
use vasa_inference::phantom::Phase;
use vasa_inference::testing::coarse_phantom;
use vasa_inference::train::data::Source;
use vasa_inference::train::{TrainError, TrainEvent, TrainOptions, train};

fn case(dir: &Path, seed: u64, phase: Phase) -> Source {
    let p = coarse_phantom(seed, phase);
    let (ct, labels) = (dir.join(format!("ct-{seed}.nii.gz")), dir.join(format!("labels-{seed}.nii.gz")));
    vasa_scan::nifti::write_nifti(&ct, &p.ct).unwrap();
    vasa_scan::nifti::write_nifti(&labels, &p.labels.map(|&l| if l > 3 { 0 } else { l })).unwrap();
    Source::Files { ct, labels }
}

fn tiny() -> NetworkConfig {
    NetworkConfig {
        base_channels: 2,
        levels: 2,
        token_dim: 8,
        heads: 2,
        patch_size: [16, 16, 16],
        ..NetworkConfig::default()
    }
}

fn options(out: PathBuf, train_set: &[Source], val: &[Source], spacing: f64, coarse: Option<PathBuf>) -> TrainOptions {
    let mut o = TrainOptions::new(out, train_set.to_vec(), val.to_vec());
    o.network = tiny();
    o.spacing_mm = Some([spacing; 3]);
    o.epochs = 2;
    o.steps_per_epoch = 2;
    o.batch = 2;
    o.warmup_steps = 1;
    o.validation_patches = 2;
    o.coarse_model = coarse;
    o
}

fn weights(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let m = Model::load_stage(dir, &Device::Cpu).unwrap();
    let vars = m.varmap.data().lock().unwrap();
    let mut out: Vec<(String, Vec<f32>)> =
        vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn resumed_fine_stage_matches_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train_set = [case(d, 51, Phase::Ctpa)];
    let val = [case(d, 52, Phase::Plain)];
    let quiet = |_: TrainEvent| {};
    let never = AtomicBool::new(false);
    // The coarse stage: an ordinary run at 6 mm here (4 mm by default).
    let coarse = train(&options(d.join("coarse"), &train_set, &val, 6.0, None), &Device::Cpu, &quiet, &never).unwrap();

    let fine = |name: &str| options(d.join(name), &train_set, &val, 3.0, Some(coarse.last_dir.clone()));
    let a = train(&fine("straight"), &Device::Cpu, &quiet, &never).unwrap();
    assert!(a.cascade);
    let cascade = Model::load(&a.last_dir, &Device::Cpu).unwrap();
    assert_eq!(cascade.config.in_channels, 4);
    assert!(cascade.coarse.is_some());
    Model::load(&a.best_dir, &Device::Cpu).unwrap();
    // The coarse stage is copied as it was.
    assert_eq!(weights(&a.last_dir.join("coarse")), weights(&coarse.last_dir));

    let stop = AtomicBool::new(false);
    let stop_after_epoch = |e: TrainEvent| {
        if let TrainEvent::Epoch(r) = e
            && r.epoch == 1
        {
            stop.store(true, Ordering::Relaxed);
        }
    };
    let r = train(&fine("broken"), &Device::Cpu, &stop_after_epoch, &stop);
    assert!(matches!(r, Err(TrainError::Cancelled)), "{r:?}");
    // Resumed without naming the coarse stage: the checkpoint carries it.
    let mut resume = fine("broken");
    resume.resume = true;
    resume.coarse_model = None;
    let b = train(&resume, &Device::Cpu, &quiet, &never).unwrap();
    assert_eq!(a.epochs[1].dice, b.epochs[1].dice);
    assert_eq!(a.epochs[1].val_loss, b.epochs[1].val_loss);
    let (wa, wb) = (weights(&a.last_dir), weights(&b.last_dir));
    assert_eq!(wa.len(), wb.len());
    for ((na, va), (nb, vb)) in wa.iter().zip(&wb) {
        assert_eq!(na, nb);
        assert_eq!(va, vb, "{na} differs after resume");
    }

    // A fine-stage network without its coarse model is refused.
    let mut lonely = options(d.join("lonely"), &train_set, &val, 3.0, None);
    lonely.network = cascade.config.clone();
    let e = train(&lonely, &Device::Cpu, &quiet, &never).err().unwrap().to_string();
    assert!(e.contains("coarse model"), "{e}");
}
