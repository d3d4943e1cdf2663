//! `vasa plan` on a synthetic scan with known answers: the JSON fields the
//! contract names, the margin of a spherical zone, a heat sink at its
//! distance, the path's distance to each class, warnings; and errors.

use std::path::Path;
use std::process::{Command, Output};

use glam::DVec3;
use vasa_scan::{Geometry, Volume, nifti};

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_plan_is_checked_and_written_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 100 × 100 × 80 voxels of 0.8 × 0.8 × 1 mm, the origin at the centre.
    let g = Geometry::axis_aligned(DVec3::new(0.8, 0.8, 1.0), DVec3::new(-40.0, -40.0, -40.0));
    let ct = Volume::filled([100, 100, 80], -850i16, g);
    let mut labels = Volume::filled([100, 100, 80], 0u8, g);
    // An artery along z, 5 mm wide, its wall 4 mm from a 30 mm spherical zone at the origin.
    for n in 0..labels.len() {
        let c = labels.coords(n);
        let w = g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64));
        if (w.x - 21.5).hypot(w.y - 0.3) <= 2.5 {
            labels.data_mut()[n] = 1;
        }
    }
    nifti::write_nifti(&d.join("ct.nii.gz"), &ct).unwrap();
    nifti::write_nifti(&d.join("labels.nii.gz"), &labels).unwrap();
    let json = d.join("plan.json");
    let out = vasa(&[
        "plan",
        "--scan",
        s(&d.join("ct.nii.gz")),
        "--labels",
        s(&d.join("labels.nii.gz")),
        "--target",
        "0,0,0",
        "--entry",
        "0,-35,0",
        "--lesion-diameter",
        "12",
        "--zone",
        "30x30",
        "--margin",
        "5",
        "--json",
        s(&json),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("margin") && stdout.contains("9.0 mm") && stdout.contains("covered"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!((v["margin_mm"].as_f64().unwrap() - 9.0).abs() < 1e-9, "15 − 6 mm");
    assert_eq!(v["covered"], true);
    let vessels = v["vessels"].as_array().unwrap();
    assert_eq!(vessels.len(), 1, "{vessels:?}");
    let a = &vessels[0];
    assert_eq!(a["class"], "artery");
    assert!((a["distance_mm"].as_f64().unwrap() - 4.0).abs() <= 0.5, "{a}");
    assert!((a["diameter_mm"].as_f64().unwrap() - 5.0).abs() <= 0.5, "{a}");
    assert_eq!(a["heat_sink"], true);
    assert_eq!(a["at_mm"].as_array().unwrap().len(), 3);
    // The path along y at x = 0: the artery's wall is 19 mm away; no vein, no aorta.
    assert!((v["trajectory"]["artery"].as_f64().unwrap() - 19.0).abs() <= 0.5, "{}", v["trajectory"]);
    assert!(v["trajectory"]["vein"].is_null() && v["trajectory"]["aorta"].is_null());
    let warnings: Vec<&str> = v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(warnings.iter().any(|w| w.contains("heat sink") && w.contains("artery")), "{warnings:?}");

    // Errors say what is wrong.
    let bad = vasa(&[
        "plan",
        "--scan",
        s(&d.join("ct.nii.gz")),
        "--labels",
        s(&d.join("labels.nii.gz")),
        "--target",
        "0,0",
        "--entry",
        "0,1,0",
        "--lesion-diameter",
        "10",
        "--zone",
        "20x20",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("X,Y,Z"));
    let same = vasa(&[
        "plan",
        "--scan",
        s(&d.join("ct.nii.gz")),
        "--labels",
        s(&d.join("labels.nii.gz")),
        "--target",
        "0,0,0",
        "--entry",
        "0,0,0",
        "--lesion-diameter",
        "10",
        "--zone",
        "20x20",
    ]);
    assert!(String::from_utf8_lossy(&same.stderr).contains("same point"));
}
