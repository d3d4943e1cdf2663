//! End to end: the real `vasa` binary's `info` command on the real scans and
//! on broken input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(p)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn info_on_real_nifti() {
    let out = vasa(&["info", shared("ct-abdomen-3mm.nii.gz").to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("122 × 101 × 112"), "{stdout}");
    assert!(stdout.contains("3.0000 × 3.0000 × 3.0000 mm"), "{stdout}");
    assert!(stdout.contains("orientation  RAS"), "{stdout}");
    assert!(stdout.contains("HU range     -1207 … 3382"), "{stdout}");
}

#[test]
fn info_on_real_dicom_folder_json() {
    let out = vasa(&["info", "--json", shared("ct-abdomen-dicom-j2k").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["format"], "DICOM");
    let s = &v["series"][0];
    assert_eq!(s["dims"], serde_json::json!([512, 512, 20]));
    let sp: Vec<f64> = s["spacing_mm"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!((sp[0] - 0.9765625).abs() < 1e-6 && (sp[2] - 2.0).abs() < 1e-6, "{sp:?}");
    assert_eq!(s["orientation"], "LPS");
    assert_eq!(s["metadata"]["modality"], "CT");
    let lo = s["hu_range"][0].as_i64().unwrap();
    assert!((-1100..=-900).contains(&lo), "air should be near -1000, min was {lo}");
}

#[test]
fn info_on_bad_input_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    // Truncated NIfTI.
    let full = std::fs::read(shared("ct-abdomen-3mm.nii.gz")).unwrap();
    let cut = dir.path().join("cut.nii.gz");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    // Empty folder, missing path, a text file.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("missing.nii");
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "not a scan").unwrap();
    for (p, needle) in [
        (cut.as_path(), "cut.nii.gz"),
        (empty.as_path(), "empty"),
        (missing.as_path(), "missing.nii"),
        (txt.as_path(), "notes.txt"),
    ] {
        let out = vasa(&["info", p.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{p:?} should fail");
        assert_eq!(err.trim_end().lines().count(), 1, "one line expected, got: {err}");
        assert!(err.contains(needle) && err.starts_with("vasa: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn closed_pipe_ends_quietly() {
    // `vasa info scan | head -1`: the reader goes away before vasa writes
    // (reading the scan takes far longer than closing the pipe); no panic.
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vasa"))
        .arg("info")
        .arg(shared("ct-abdomen-3mm.nii.gz"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}
