//! End to end: the real `vasa eval` binary on label maps with known
//! differences, one pair of files and two folders, its JSON, and its errors.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use vasa_scan::{Geometry, LabelMap, Volume, nifti};

const SPACING: [f64; 3] = [0.8, 0.9, 1.5];

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn in_box(ijk: [usize; 3], min: [usize; 3], max: [usize; 3]) -> bool {
    (0..3).all(|a| (min[a]..max[a]).contains(&ijk[a]))
}

/// A label map of 40 × 30 × 20 voxels: an artery box of 20 × 10 × 10 whose
/// i range starts at `artery_i0`, a vein box, an aorta box of 4 × 4 × `aorta_k`
/// voxels and an airway (4) and heart (5) box that must be ignored.
fn labels(artery_i0: usize, aorta_k: usize, dims: [usize; 3], spacing: [f64; 3]) -> LabelMap {
    let mut g = Geometry::default();
    (g.spacing.x, g.spacing.y, g.spacing.z) = (spacing[0], spacing[1], spacing[2]);
    (g.origin.x, g.origin.y, g.origin.z) = (-20.0, 10.0, -30.0);
    let mut m = Volume::filled(dims, 0u8, g);
    for n in 0..m.len() {
        let c = m.coords(n);
        m.data_mut()[n] = if in_box(c, [artery_i0, 4, 4], [artery_i0 + 20, 14, 14]) {
            1
        } else if in_box(c, [4, 18, 3], [30, 24, 9]) {
            2
        } else if in_box(c, [32, 20, 10], [36, 24, 10 + aorta_k]) {
            3
        } else if in_box(c, [32, 2, 2], [38, 8, 8]) {
            4 + (c[0] % 2) as u8
        } else {
            0
        };
    }
    m
}

fn truth() -> LabelMap {
    labels(4, 4, [40, 30, 20], SPACING)
}

/// Artery shifted by 2 voxels along i, vein exact, half the aorta.
fn prediction() -> LabelMap {
    labels(6, 2, [40, 30, 20], SPACING)
}

/// The row of `case` and `class` in the table, split into columns.
fn row<'a>(table: &'a str, case: &str, class: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.starts_with(case) && l.split_whitespace().any(|w| w == class))
        .unwrap_or_else(|| panic!("no row {case} {class} in\n{table}"))
        .split_whitespace()
        .collect()
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

#[test]
fn eval_reports_known_differences_for_a_pair_and_for_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    nifti::write_nifti(&d.join("truth.nii.gz"), &truth()).unwrap();
    nifti::write_nifti(&d.join("case7.nii.gz"), &prediction()).unwrap();
    let voxel_ml = SPACING.iter().product::<f64>() / 1000.0;

    let out = vasa(&[
        "eval",
        "--pred",
        s(&d.join("case7.nii.gz")),
        "--truth",
        s(&d.join("truth.nii.gz")),
        "--json",
        s(&d.join("one.json")),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Columns: case, class, Dice, clDice, HD95, ΔV mL, ΔV %, branches found,
    // largest piece, called the other pulmonary class.
    assert!(stdout.contains("branches") && stdout.contains("largest") && stdout.contains("→other"), "{stdout}");
    let artery = row(&stdout, "case7", "artery");
    assert_eq!(artery[2], "0.9000", "{stdout}"); // 2·18/40
    assert_eq!(artery[4], "1.60"); // 2 voxels of 0.8 mm
    assert_eq!((artery[5], artery[6]), ("0.00", "0.0"));
    let vein = row(&stdout, "case7", "vein");
    assert_eq!(&vein[2..10], &["1.0000", "1.0000", "0.00", "0.00", "0.0", "1.000", "1.000", "0.000"]);
    let aorta = row(&stdout, "case7", "aorta");
    assert_eq!(aorta[2], "0.6667"); // 2·32/96
    assert_eq!(aorta[4], "3.00"); // the true top face is 2 slices of 1.5 mm above the cut
    assert_eq!((aorta[5], aorta[6]), ("-0.03", "-50.0"));
    assert_eq!((aorta[7], aorta[8], aorta[9]), ("n/a", "1.000", "n/a"), "tree figures are for the pulmonary trees");
    assert!(!stdout.contains("mean"), "{stdout}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(d.join("one.json")).unwrap()).unwrap();
    let case = &json["cases"][0];
    assert_eq!(case["case"], "case7");
    let classes = case["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    assert_eq!(classes[0]["name"], "artery");
    assert!(close(&classes[0]["dice"], 0.9) && close(&classes[0]["hd95_mm"], 1.6), "{case}");
    assert!(close(&classes[2]["volume_diff_ml"], -32.0 * voxel_ml));
    assert!(close(&classes[2]["volume_diff_percent"], -50.0));
    assert_eq!(classes[2]["truth_voxels"], 64);
    assert!(close(&classes[1]["branch_detection"], 1.0) && close(&classes[1]["called_other"], 0.0), "{case}");
    assert!(classes[2]["branch_detection"].is_null() && close(&classes[2]["largest_piece_fraction"], 1.0));
    let cl = classes[0]["cl_dice"].as_f64().unwrap();
    assert!(cl > 0.5 && cl <= 1.0, "{cl}");
    assert!(close(&json["mean"][0]["dice"], 0.9));

    // Folders: two pairs, one prediction and one truth without a partner.
    let (p, t) = (d.join("pred"), d.join("truth"));
    std::fs::create_dir_all(&p).unwrap();
    std::fs::create_dir_all(&t).unwrap();
    for name in ["a.nii.gz", "b.nii", "only_truth.nii.gz"] {
        nifti::write_nifti(&t.join(name), &truth()).unwrap();
    }
    nifti::write_nifti(&p.join("a.nii.gz"), &prediction()).unwrap();
    nifti::write_nifti(&p.join("b.nii"), &truth()).unwrap();
    nifti::write_nifti(&p.join("only_pred.nii.gz"), &truth()).unwrap();
    std::fs::write(p.join("notes.txt"), "not a label map").unwrap();
    let out = vasa(&["eval", "--pred", s(&p), "--truth", s(&t), "--json", s(&d.join("all.json"))]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("only_truth.nii.gz") && stderr.contains("only_pred.nii.gz"), "{stderr}");
    assert!(!stderr.contains("notes.txt"), "{stderr}");
    assert_eq!(row(&stdout, "a", "artery")[2], "0.9000");
    assert_eq!(row(&stdout, "b", "artery")[2], "1.0000");
    let mean = row(&stdout, "mean", "artery");
    assert_eq!(&mean[..4], &["mean", "(2)", "artery", "0.9500"], "{stdout}");
    assert_eq!(mean[5], "0.80"); // HD95 (1.6 + 0) / 2
    assert_eq!(row(&stdout, "mean", "aorta")[7], "-25.0");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(d.join("all.json")).unwrap()).unwrap();
    let cases: Vec<&str> = json["cases"].as_array().unwrap().iter().map(|c| c["case"].as_str().unwrap()).collect();
    assert_eq!(cases, ["a", "b"]);
    assert!(close(&json["mean"][0]["dice"], 0.95) && close(&json["mean"][0]["hd95_mm"], 0.8));
    assert_eq!(json["mean"][0]["cases"], 2);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 2);
}

#[test]
fn eval_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    nifti::write_nifti(&d.join("truth.nii.gz"), &truth()).unwrap();
    nifti::write_nifti(&d.join("thick.nii.gz"), &labels(4, 4, [40, 30, 20], [0.8, 0.9, 3.0])).unwrap();
    nifti::write_nifti(&d.join("short.nii.gz"), &labels(4, 4, [40, 30, 18], SPACING)).unwrap();
    let bytes = std::fs::read(d.join("truth.nii.gz")).unwrap();
    std::fs::write(d.join("cut.nii.gz"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::create_dir_all(d.join("empty")).unwrap();

    let truth = d.join("truth.nii.gz");
    let cases: [(&Path, &Path, &[&str]); 6] = [
        (&d.join("thick.nii.gz"), &truth, &["thick.nii.gz", "same grid", "spacing"]),
        (&d.join("short.nii.gz"), &truth, &["short.nii.gz", "same grid", "dimensions 40 × 30 × 18"]),
        (&d.join("cut.nii.gz"), &truth, &["cut.nii.gz"]),
        (&d.join("missing.nii.gz"), &truth, &["missing.nii.gz", "no such file"]),
        (&d.join("empty"), &truth, &["empty", "folder"]),
        (&d.join("empty"), d, &["no label file name is in both folders"]),
    ];
    for (pred, truth, needles) in cases {
        let json = d.join("out.json");
        let out = vasa(&["eval", "--pred", s(pred), "--truth", s(truth), "--json", s(&json)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{pred:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.trim_end().lines().filter(|l| !l.starts_with("warning:")).count(), 1, "{err}");
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
        assert!(!json.exists());
    }
    // A JSON path in a folder that does not exist: refused before any work.
    let out = vasa(&["eval", "--pred", s(&truth), "--truth", s(&truth), "--json", s(&d.join("no/dir/x.json"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("does not exist"), "{err}");
}
