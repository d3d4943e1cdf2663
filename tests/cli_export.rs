//! `vasa export` end to end on a synthetic scan with known labels and a
//! plan: every output named on the command line is written, NIfTI and SEG
//! read back to identical labels, meshes are named by class, the report
//! (HTML and JSON) holds the figures and warnings, and existing files are
//! kept without `--force`.

use std::path::Path;
use std::process::{Command, Output};

use glam::DVec3;
use vasa_scan::{Geometry, LabelMap, Volume, nifti};

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// A 48 × 40 × 24 scan (0.9 × 0.9 × 1.5 mm) with an artery, a vein and an
/// aorta as boxes, and a plan whose zone sits next to the artery.
fn scene(d: &Path) -> LabelMap {
    let g = Geometry::axis_aligned(DVec3::new(0.9, 0.9, 1.5), DVec3::new(-20.0, -18.0, -15.0));
    let ct = Volume::filled([48, 40, 24], -800i16, g);
    let mut labels = Volume::filled([48, 40, 24], 0u8, g);
    for n in 0..labels.len() {
        let [i, j, k] = labels.coords(n);
        labels.data_mut()[n] = match (i, j, k) {
            (4..=9, 5..=30, 3..=20) => 1,
            (38..=43, 5..=30, 3..=20) => 2,
            (20..=27, 30..=37, 2..=21) => 3,
            _ => 0,
        };
    }
    nifti::write_nifti(&d.join("ct.nii.gz"), &ct).unwrap();
    nifti::write_nifti(&d.join("labels.nii.gz"), &labels).unwrap();
    let plan = serde_json::json!({
        "format": "vasa-plan", "version": 1, "scan": "ct",
        "lesion": {"centre_mm": [0.0, 0.0, 0.0], "diameter_mm": 10.0},
        "applicators": [{"entry_mm": [0.0, -60.0, 0.0], "target_mm": [0.0, 0.0, 0.0],
            "setting": {"device": "microwave, 100 W", "modality": "microwave", "power_w": 100.0, "time_min": 2.0,
              "length_mm": 28.0, "width_mm": 20.0, "tissue": "in-vivo swine lung", "source": "test"}}],
        "margin_mm": 5.0, "path_safety_mm": 3.0, "rulers": []
    });
    std::fs::write(d.join("plan.json"), plan.to_string()).unwrap();
    labels
}

#[test]
fn every_output_is_written_read_back_and_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let labels = scene(d);
    let (ct, l, plan) = (d.join("ct.nii.gz"), d.join("labels.nii.gz"), d.join("plan.json"));
    let (nii, seg, glb, report) = (d.join("out.nii.gz"), d.join("out.dcm"), d.join("scene.glb"), d.join("r.html"));
    let (stl, obj) = (d.join("stl"), d.join("obj"));
    let args = [
        "export",
        "--scan",
        s(&ct),
        "--labels",
        s(&l),
        "--nifti",
        s(&nii),
        "--seg",
        s(&seg),
        "--stl",
        s(&stl),
        "--obj",
        s(&obj),
        "--glb",
        s(&glb),
        "--report",
        s(&report),
        "--plan",
        s(&plan),
    ];
    let stdout = ok(&vasa(&args));
    for f in [&nii, &seg, &glb, &report, &d.join("r.json")] {
        assert!(f.is_file(), "{} written: {stdout}", f.display());
    }
    for class in ["artery", "vein", "aorta"] {
        assert!(stl.join(format!("{class}.stl")).is_file() && obj.join(format!("{class}.obj")).is_file(), "{class}");
    }
    // NIfTI: the same labels and grid.
    let back = nifti::read_labels(&nii).unwrap();
    assert_eq!(back.data(), labels.data());
    assert!(back.same_grid(&labels));
    // SEG: read back through `vasa export` as the labels of the scan.
    let again = d.join("again.nii.gz");
    ok(&vasa(&["export", "--scan", s(&ct), "--labels", s(&seg), "--nifti", s(&again)]));
    assert_eq!(nifti::read_labels(&again).unwrap().data(), labels.data(), "the SEG holds the labels");
    // The scene: a glTF binary.
    let bytes = std::fs::read(&glb).unwrap();
    assert_eq!(&bytes[..4], b"glTF");
    // The report: figures, the plan and its warnings, in HTML and JSON.
    let html = std::fs::read_to_string(&report).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    let classes = json["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    let voxel_ml = 0.9 * 0.9 * 1.5 / 1000.0;
    let artery = 6.0 * 26.0 * 18.0 * voxel_ml;
    assert!(
        (classes[0]["volume_ml"].as_f64().unwrap() - artery).abs() < 1e-5,
        "{} (NIfTI keeps spacing as f32)",
        classes[0]
    );
    let checks = &json["plan"]["applicators"][0]["checks"];
    assert!(checks["margin_mm"].as_f64().unwrap() > 0.0, "{checks}");
    assert!(html.contains("Applicator 1") && html.contains("artery") && html.contains("mL"));
    for w in checks["warnings"].as_array().unwrap() {
        assert!(html.contains(w.as_str().unwrap().split(';').next().unwrap()), "warning {w} in the HTML");
    }
    let pictures = json["pictures"].as_array().unwrap().len();
    assert!(html.matches("data:image/png;base64,").count() == pictures && pictures >= 3, "{pictures} pictures");

    // Again: refused, nothing replaced; with --force, done.
    let before = std::fs::metadata(&seg).unwrap().modified().unwrap();
    let out = vasa(&args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::metadata(&seg).unwrap().modified().unwrap(), before);
    let mut forced = args.to_vec();
    forced.push("--force");
    ok(&vasa(&forced));
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scene(d);
    let (ct, l) = (d.join("ct.nii.gz"), d.join("labels.nii.gz"));
    let err = |args: &[&str]| {
        let out = vasa(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(err(&["export", "--scan", s(&ct), "--labels", s(&l)]).contains("nothing to export"));
    assert!(err(&["export", "--scan", s(&ct), "--labels", s(&l), "--nifti", s(&d.join("x.txt"))]).contains(".nii"));
    assert!(err(&["export", "--scan", s(&ct), "--labels", s(&l), "--report", s(&d.join("r.pdf"))]).contains(".html"));
    let missing = d.join("no/such/dir/x.glb");
    assert!(err(&["export", "--scan", s(&ct), "--labels", s(&l), "--glb", s(&missing)]).contains("does not exist"));
    // Labels of another grid, and a broken plan, name their file.
    let other = Volume::filled([10, 10, 10], 0u8, Geometry::default());
    nifti::write_nifti(&d.join("other.nii.gz"), &other).unwrap();
    let e = err(&["export", "--scan", s(&ct), "--labels", s(&d.join("other.nii.gz")), "--nifti", s(&d.join("o.nii"))]);
    assert!(e.contains("other.nii.gz") && e.contains("grid"), "{e}");
    std::fs::write(d.join("bad.json"), "{\"format\": \"vasa-plan\"").unwrap();
    let e = err(&[
        "export",
        "--scan",
        s(&ct),
        "--labels",
        s(&l),
        "--glb",
        s(&d.join("s.glb")),
        "--plan",
        s(&d.join("bad.json")),
    ]);
    assert!(e.contains("bad.json"), "{e}");
}
