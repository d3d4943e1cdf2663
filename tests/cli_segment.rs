//! End to end: the real `vasa segment` binary on a phantom scan with a tiny
//! model trained by the test (no shipped weights are needed).

use std::path::Path;
use std::process::{Command, Output};

use vasa_inference::phantom::Phase;
use vasa_inference::refine::VESSEL_CLASSES;
use vasa_inference::testing::{coarse_phantom, recall, train_tiny};
use vasa_scan::nifti;

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn segment_writes_labels_raw_and_av_image_on_the_scan_grid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = coarse_phantom(31, Phase::Plain);
    train_tiny(&train.ct, &train.labels, 40, 3).save(&d.join("model")).unwrap();
    let scan = coarse_phantom(32, Phase::Plain);
    nifti::write_nifti(&d.join("ct.nii.gz"), &scan.ct).unwrap();

    let out = vasa(&[
        "segment",
        s(&d.join("ct.nii.gz")),
        "-o",
        s(&d.join("labels.nii.gz")),
        "--raw",
        s(&d.join("raw.nii.gz")),
        "--av-image",
        s(&d.join("av.nii.gz")),
        "--weights",
        s(&d.join("model")),
        "--threads",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for stage in ["load", "preprocess", "network", "stitch", "refine", "write", "total"] {
        assert!(stdout.contains(stage), "timing of {stage} missing:\n{stdout}");
    }
    // Piped: plain progress lines, no progress-bar control characters.
    assert!(stderr.contains("network: ") && !stderr.contains('\r'), "{stderr}");

    let labels = nifti::read_labels(&d.join("labels.nii.gz")).unwrap();
    let raw = nifti::read_labels(&d.join("raw.nii.gz")).unwrap();
    let av = nifti::read_ct(&d.join("av.nii.gz")).unwrap();
    assert!(labels.same_grid(&scan.ct) && raw.same_grid(&scan.ct) && av.same_grid(&scan.ct));
    let (r0, r1) = (recall(&raw, &scan.labels, &VESSEL_CLASSES), recall(&labels, &scan.labels, &VESSEL_CLASSES));
    eprintln!("vessel recall: raw network {r0:.3}, refined {r1:.3}");
    assert!(r1 >= r0);
    assert!(raw.data().iter().zip(labels.data()).all(|(&a, &b)| a == 0 || a == b));
    for ((&l, &v), &hu) in labels.data().iter().zip(av.data()).zip(scan.ct.data()) {
        assert_eq!(v, if l == 0 { -1024 } else { hu });
    }

    // --no-refine: the output is the network's labels.
    let out = vasa(&[
        "segment",
        s(&d.join("ct.nii.gz")),
        "-o",
        s(&d.join("plain.nii")),
        "--weights",
        s(&d.join("model")),
        "--no-refine",
    ]);
    assert!(out.status.success());
    assert_eq!(nifti::read_labels(&d.join("plain.nii")).unwrap().data(), raw.data());
}

#[test]
fn segment_errors_are_one_clear_line_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scan = coarse_phantom(33, Phase::Plain);
    nifti::write_nifti(&d.join("ct.nii.gz"), &scan.ct).unwrap();
    let cases: [(Vec<String>, &str); 4] = [
        (vec!["--weights".into(), s(&d.join("nowhere")).into()], "nowhere"),
        (vec!["-o".into(), s(&d.join("no/dir/l.nii.gz")).into()], "does not exist"),
        (vec!["-o".into(), s(&d.join("labels.png")).into()], "labels.png"),
        (vec!["--overlap".into(), "3".into()], "--overlap"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["segment".to_string(), s(&d.join("ct.nii.gz")).into()];
        if !extra.iter().any(|a| a == "-o") {
            args.extend(["-o".to_string(), s(&d.join("l.nii.gz")).into()]);
        }
        args.extend(extra);
        if !args.iter().any(|a| a == "--weights") {
            args.extend(["--weights".to_string(), s(&d.join("nowhere")).into()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_vasa")).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!d.join("l.nii.gz").exists());
    // A truncated scan: the error names it, nothing is written.
    std::fs::write(d.join("cut.nii.gz"), &std::fs::read(d.join("ct.nii.gz")).unwrap()[..2000]).unwrap();
    let model = d.join("model");
    train_tiny(&scan.ct, &scan.labels, 1, 1).save(&model).unwrap();
    let out = vasa(&["segment", s(&d.join("cut.nii.gz")), "-o", s(&d.join("l.nii.gz")), "--weights", s(&model)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("cut.nii.gz"), "{err}");
    assert!(!d.join("l.nii.gz").exists());
}
