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
        "--graph",
        s(&d.join("tree.json")),
        "--confidence",
        s(&d.join("conf.nii.gz")),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for stage in ["load", "preprocess", "network", "stitch", "refine", "tree", "write", "total"] {
        assert!(stdout.contains(stage), "timing of {stage} missing:\n{stdout}");
    }
    // The refinement says which phase it read from this plain phantom.
    assert!(stdout.contains("phase: plain (no contrast) (read from the scan)"), "{stdout}");
    // Piped: plain progress lines, no progress-bar control characters.
    assert!(stderr.contains("network: ") && !stderr.contains('\r'), "{stderr}");

    let labels = nifti::read_labels(&d.join("labels.nii.gz")).unwrap();
    let raw = nifti::read_labels(&d.join("raw.nii.gz")).unwrap();
    let av = nifti::read_ct(&d.join("av.nii.gz")).unwrap();
    assert!(labels.same_grid(&scan.ct) && raw.same_grid(&scan.ct) && av.same_grid(&scan.ct));
    let (r0, r1) = (recall(&raw, &scan.labels, &VESSEL_CLASSES), recall(&labels, &scan.labels, &VESSEL_CLASSES));
    eprintln!("vessel recall: raw network {r0:.3}, refined {r1:.3}");
    assert!(r1 >= r0);
    for ((&l, &v), &hu) in labels.data().iter().zip(av.data()).zip(scan.ct.data()) {
        assert_eq!(v, if l == 0 { -1024 } else { hu });
    }

    // The tree stage's graph and confidence.
    let graph: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("tree.json")).unwrap()).unwrap();
    let branches = graph["branches"].as_array().unwrap();
    assert!(!branches.is_empty(), "{graph}");
    for b in branches {
        for key in ["id", "class", "length_mm", "mean_radius_mm", "min_radius_mm", "confidence", "points_mm"] {
            assert!(!b[key].is_null(), "branch without {key}: {b}");
        }
        assert!(b.get("parent").is_some());
        if let Some(p) = b["parent"].as_u64() {
            assert_eq!(branches[p as usize]["class"], b["class"], "a class continues from parent to child");
        }
    }
    assert_eq!(graph["classes"].as_array().unwrap().len(), 2);
    let conf = nifti::read_f32(&d.join("conf.nii.gz")).unwrap();
    assert!(conf.same_grid(&scan.ct));
    for (&c, &l) in conf.data().iter().zip(labels.data()) {
        assert!((0.0..=1.0).contains(&c));
        if l != 1 && l != 2 {
            assert_eq!(c, 0.0);
        }
    }

    // --no-tree: refinement only adds to the network's labels; the tree
    // stage relabels artery and vein, and only adds (gaps) elsewhere.
    let out = vasa(&[
        "segment",
        s(&d.join("ct.nii.gz")),
        "-o",
        s(&d.join("no-tree.nii.gz")),
        "--weights",
        s(&d.join("model")),
        "--no-tree",
    ]);
    assert!(out.status.success());
    let no_tree = nifti::read_labels(&d.join("no-tree.nii.gz")).unwrap();
    // (Whole pieces outside the thorax are removed, and the run says so.)
    assert!(raw.data().iter().zip(no_tree.data()).all(|(&a, &b)| a == 0 || a == b || b == 0));
    let removed = raw.data().iter().zip(no_tree.data()).filter(|&(&a, &b)| a != 0 && b == 0).count();
    let printed = String::from_utf8_lossy(&out.stdout).contains("lying wholly outside the thorax");
    assert_eq!(removed > 0, printed, "{removed} network voxels removed");
    let pulmonary = |l: u8| l == 1 || l == 2;
    for (&a, &b) in no_tree.data().iter().zip(labels.data()) {
        assert!(a == b || (pulmonary(a) && pulmonary(b)) || (a == 0 && pulmonary(b)), "{a} → {b}");
    }
    let out = vasa(&[
        "segment",
        s(&d.join("ct.nii.gz")),
        "-o",
        s(&d.join("x.nii.gz")),
        "--weights",
        s(&d.join("model")),
        "--no-tree",
        "--graph",
        s(&d.join("x.json")),
    ]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--no-tree"));

    // --no-refine --no-tree: the output is the network's labels.
    let out = vasa(&[
        "segment",
        s(&d.join("ct.nii.gz")),
        "-o",
        s(&d.join("plain.nii")),
        "--weights",
        s(&d.join("model")),
        "--no-refine",
        "--no-tree",
    ]);
    assert!(out.status.success());
    assert!(nifti::read_labels(&d.join("plain.nii")).unwrap().data() == raw.data(), "not the network's labels");
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
