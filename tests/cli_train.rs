//! End to end: `vasa train` (log, plot, checkpoints, resume, bad data) and
//! `vasa synth-plain`, through the real binary with a tiny network.

use std::path::Path;
use std::process::{Command, Output};

use vasa_inference::network::Model;
use vasa_inference::phantom::Phase;
use vasa_inference::testing::coarse_phantom;
use vasa_inference::train::synth_plain::vessel_core_mean;
use vasa_scan::nifti;

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tiny, fast network on 3 mm voxels.
const TINY: &[&str] =
    &["--levels", "2", "--base-channels", "4", "--patch", "32", "--spacing", "3", "--batch", "1", "--val-patches", "2"];

fn train(run: &Path, epochs: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--out",
        s(run),
        "--phantom-acquisition",
        "fixed",
        "--phantom-seeds",
        "11",
        "--phantom-phases",
        "arterial",
        "--val-seeds",
        "12",
        "--val-phases",
        "plain",
        "--epochs",
        epochs,
        "--steps-per-epoch",
        "3",
        "--threads",
        "2",
    ];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    vasa(&args)
}

#[test]
fn train_logs_plots_checkpoints_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = train(&run, "2", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The enhanced phantom also gave a synthesised plain volume.
    assert!(stderr.contains("dataset: 1 plain + 1 enhanced volumes, spacing 3.000×3.000×3.000 mm"), "{stderr}");
    let log = std::fs::read_to_string(run.join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(log.lines().nth(2).unwrap().starts_with("2,6,"), "{log}");
    assert!(std::fs::metadata(run.join("curves.png")).unwrap().len() > 1000);
    let last = Model::load(&run.join("model"), &vasa_inference::segment::default_device()).unwrap();
    assert_eq!(last.config.patch_size, [32, 32, 32]);
    assert!(last.config.norm_std > 100.0 && last.config.norm_mean < 0.0, "dataset z-score stored");
    Model::load(&run.join("best"), &vasa_inference::segment::default_device()).unwrap();
    let state = std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap();
    assert!(state.contains("\"step\": 6"), "{state}");

    // Starting over in the same folder is refused; --resume continues it.
    let again = train(&run, "3", &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    let resumed = train(&run, "3", &["--resume"]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("resumed at step 6"), "{stderr}");
    let log = std::fs::read_to_string(run.join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 4, "one more epoch, history kept:\n{log}");
    assert!(log.lines().nth(3).unwrap().starts_with("3,9,"), "{log}");
}

#[test]
fn bad_training_data_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = coarse_phantom(21, Phase::Ctpa);
    nifti::write_nifti(&d.join("ct.nii.gz"), &p.ct).unwrap();
    // Raw phantom labels carry airway (4) and heart (5): out of range.
    nifti::write_nifti(&d.join("raw.nii.gz"), &p.labels).unwrap();
    std::fs::write(d.join("list.csv"), "ct.nii.gz,raw.nii.gz\nct.nii.gz,missing.nii.gz\n").unwrap();
    let run = d.join("run");
    let list = d.join("list.csv");
    let mut args = vec!["train", "--out", s(&run), "--data", s(&list), "--val-seeds", "", "--epochs", "1"];
    args.extend_from_slice(TINY);
    let out = vasa(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("skipped") && stderr.contains("raw.nii.gz") && stderr.contains("out of range"), "{stderr}");
    assert!(stderr.contains("missing.nii.gz"), "{stderr}");
    assert!(stderr.contains("no usable training case (2 skipped)"), "{stderr}");
    assert!(!run.join("checkpoint").exists());
}

#[test]
fn synth_plain_lowers_the_vessels_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = coarse_phantom(22, Phase::Ctpa);
    let labels = p.labels.map(|&l| if l > 3 { 0 } else { l });
    nifti::write_nifti(&d.join("ct.nii.gz"), &p.ct).unwrap();
    nifti::write_nifti(&d.join("labels.nii.gz"), &labels).unwrap();
    let out =
        vasa(&["synth-plain", s(&d.join("ct.nii.gz")), s(&d.join("labels.nii.gz")), "-o", s(&d.join("plain.nii.gz"))]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("artery") && stdout.contains("factor"), "{stdout}");
    let plain = nifti::read_ct(&d.join("plain.nii.gz")).unwrap();
    assert!(plain.same_grid(&p.ct));
    for class in 1..=3u8 {
        let m = vessel_core_mean(&plain, &labels, &[class]).unwrap();
        assert!((30.0..=60.0).contains(&m), "class {class}: {m} HU");
    }
    // Mismatched labels: an error naming the files, no output.
    let small = vasa_scan::Volume::filled([8, 8, 8], 1u8, p.ct.geometry);
    nifti::write_nifti(&d.join("small.nii.gz"), &small).unwrap();
    let out = vasa(&["synth-plain", s(&d.join("ct.nii.gz")), s(&d.join("small.nii.gz")), "-o", s(&d.join("x.nii.gz"))]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("small.nii.gz") && stderr.contains("grid"), "{stderr}");
    assert!(!d.join("x.nii.gz").exists());
}
