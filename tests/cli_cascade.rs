//! End to end: a coarse-to-fine cascade through the real binary: `vasa train
//! --stage coarse`, then `--stage fine --coarse-model`, a loadable cascade
//! folder, `vasa segment` with it, and the refusals. Small 3 mm phantoms
//! written as files and a tiny network keep it fast.

use std::path::Path;
use std::process::{Command, Output};

use vasa_inference::network::Model;
use vasa_inference::phantom::Phase;
use vasa_inference::testing::coarse_phantom;
use vasa_scan::nifti;

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A manifest of small phantoms (labels above 3 dropped).
fn manifest(dir: &Path, name: &str, cases: &[(u64, Phase)]) -> std::path::PathBuf {
    let mut lines = String::new();
    for &(seed, phase) in cases {
        let p = coarse_phantom(seed, phase);
        let (ct, labels) = (format!("ct-{seed}.nii.gz"), format!("labels-{seed}.nii.gz"));
        nifti::write_nifti(&dir.join(&ct), &p.ct).unwrap();
        nifti::write_nifti(&dir.join(&labels), &p.labels.map(|&l| if l > 3 { 0 } else { l })).unwrap();
        lines.push_str(&format!("{ct},{labels}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, lines).unwrap();
    path
}

fn train(run: &Path, data: &Path, val: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--out",
        s(run),
        "--data",
        s(data),
        "--val-data",
        s(val),
        "--val-seeds",
        "",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "2",
        "--levels",
        "2",
        "--base-channels",
        "2",
        "--patch",
        "16",
        "--batch",
        "1",
        "--val-patches",
        "1",
        "--threads",
        "2",
    ];
    args.extend_from_slice(extra);
    vasa(&args)
}

#[test]
fn coarse_then_fine_trains_a_cascade_that_segments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = manifest(d, "train.csv", &[(61, Phase::Ctpa)]);
    let val = manifest(d, "val.csv", &[(62, Phase::Plain)]);

    // The fine stage without a coarse stage is refused up front.
    let out = train(&d.join("nope"), &data, &val, &["--stage", "fine", "--spacing", "3"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--stage fine needs --coarse-model"), "{stderr}");
    assert!(!d.join("nope/checkpoint").exists());

    // Coarse: 4 mm isotropic by default.
    let coarse = d.join("coarse");
    let out = train(&coarse, &data, &val, &["--stage", "coarse"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("spacing 4.000×4.000×4.000 mm"), "{stderr}");
    let c = Model::load(&coarse.join("model"), &vasa_inference::segment::default_device()).unwrap();
    assert!(c.config.context.is_none() && c.coarse.is_none());

    // Fine, fed by the coarse stage: a cascade folder in model/ and best/.
    let fine = d.join("fine");
    let cm = coarse.join("model");
    let out = train(&fine, &data, &val, &["--stage", "fine", "--coarse-model", s(&cm), "--spacing", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("cascade"));
    for folder in ["model", "best"] {
        let m = Model::load(&fine.join(folder), &vasa_inference::segment::default_device()).unwrap();
        assert_eq!(m.config.in_channels, 4);
        assert_eq!(m.coarse.as_ref().unwrap().config.target_spacing_mm, [4.0; 3]);
        assert_eq!(
            std::fs::read(fine.join(folder).join("coarse/model.safetensors")).unwrap(),
            std::fs::read(cm.join("model.safetensors")).unwrap(),
            "the coarse stage is copied unchanged"
        );
    }

    // vasa segment runs the cascade and writes labels on the scan's grid.
    let labels = d.join("labels.nii.gz");
    let ct = d.join("ct-62.nii.gz");
    let out = vasa(&["segment", s(&ct), "-o", s(&labels), "--weights", s(&fine.join("model")), "--no-refine"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = nifti::read_labels(&labels).unwrap();
    assert!(written.same_grid(&nifti::read_ct(&ct).unwrap()));

    // Without its coarse stage the fine model is refused, naming the folder.
    let broken = d.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fine.join("model").join(f), broken.join(f)).unwrap();
    }
    let out = vasa(&["segment", s(&ct), "-o", s(&labels), "--weights", s(&broken)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&broken.join("coarse").display().to_string()), "{stderr}");

    // A coarse model for a single-stage run is refused.
    let out = train(&d.join("single"), &data, &val, &["--coarse-model", s(&cm)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stage fine only"));
}
