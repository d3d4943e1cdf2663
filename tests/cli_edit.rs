//! `vasa edit` replays an edit log on labels: the same bytes as the library
//! replay, exact voxel counts, and errors that name the file and line.

use std::path::Path;
use std::process::{Command, Output};

use glam::DVec3;
use vasa_edit::{EditOp, log};
use vasa_scan::{Geometry, LabelMap, Volume, nifti};

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 40×30×20 map (0.8 × 0.8 × 1.5 mm, origin (−20, 10, −30)): an artery
/// tube along i at (j, k) = (15, 10), a lone vein voxel.
fn labels() -> LabelMap {
    let g = Geometry::axis_aligned(DVec3::new(0.8, 0.8, 1.5), DVec3::new(-20.0, 10.0, -30.0));
    let mut m = Volume::filled([40, 30, 20], 0u8, g);
    for i in 5..35 {
        for (j, k) in [(15, 10), (16, 10), (15, 11), (16, 11)] {
            let n = m.index(i, j, k);
            m.data_mut()[n] = 1;
        }
    }
    let n = m.index(2, 2, 2);
    m.data_mut()[n] = 2;
    m
}

fn count(m: &LabelMap, c: u8) -> usize {
    m.data().iter().filter(|&&l| l == c).count()
}

#[test]
fn a_log_replays_to_the_same_bytes_as_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = labels();
    nifti::write_nifti(&d.join("labels.nii.gz"), &original).unwrap();
    let mut ct = Volume::filled([40, 30, 20], -850i16, original.geometry);
    for n in 0..ct.len() {
        if ct.coords(n)[0] < 20 {
            ct.data_mut()[n] = 40;
        }
    }
    nifti::write_nifti(&d.join("ct.nii.gz"), &ct).unwrap();
    let world = |i: usize, j: usize, k: usize| {
        original.geometry.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64)).to_array()
    };
    let ops = vec![
        // The artery tube becomes vein, then that is undone.
        EditOp::Relabel { at_mm: world(10, 15, 10), to: 2, cut_normal: None },
        EditOp::Undo,
        // Only its distal half (i ≥ 20) becomes vein.
        EditOp::Relabel { at_mm: world(20, 15, 10), to: 2, cut_normal: Some([1.0, 0.0, 0.0]) },
        // A brush in soft tissue only (HU −100…200): voxels with i < 20.
        EditOp::Paint { class: 3, center_mm: world(20, 5, 5), radius_mm: 2.0, hu: Some([-100, 200]) },
        EditOp::Erase { center_mm: world(30, 15, 10), radius_mm: 1.0 },
        EditOp::RemoveIslands { class: 2, min_mm3: 1.0 },
    ];
    let text: String = ops.iter().map(|op| log::line(op) + "\n").collect();
    std::fs::write(d.join("edits.jsonl"), format!("# made by the test\n{text}")).unwrap();

    let out = vasa(&[
        "edit",
        s(&d.join("labels.nii.gz")),
        "--scan",
        s(&d.join("ct.nii.gz")),
        "--ops",
        s(&d.join("edits.jsonl")),
        "-o",
        s(&d.join("edited.nii.gz")),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("6 ops replayed"), "{stdout}");
    let edited = nifti::read_labels(&d.join("edited.nii.gz")).unwrap();

    // The library on what the files hold: the scan's geometry, as the app has it.
    let ct = nifti::read_ct(&d.join("ct.nii.gz")).unwrap();
    let mut expected = nifti::read_labels(&d.join("labels.nii.gz")).unwrap();
    expected.geometry = ct.geometry;
    vasa_edit::replay(&mut expected, Some(&ct), &ops).unwrap();
    expected.geometry = edited.geometry;
    assert!(edited == expected, "the CLI and the library disagree");
    // Counts: the distal half (i 20–34, 4 voxels each) became vein, less the
    // 4 tube voxels within 1 mm of the eraser's centre (0.8 mm in-plane
    // neighbours; 1.5 mm slices are out of reach); the lone vein voxel
    // (0.96 mm³) went with the islands under 1 mm³.
    assert_eq!(count(&edited, 1), 15 * 4);
    assert_eq!(count(&edited, 2), 15 * 4 - 4);
    assert_eq!(edited.data()[edited.index(2, 2, 2)], 0);
    assert!(count(&edited, 3) > 0);
    for n in 0..edited.len() {
        if edited.data()[n] == 3 {
            assert!(edited.coords(n)[0] < 20, "paint only where the HU allows");
        }
    }
}

#[test]
fn edit_errors_name_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    nifti::write_nifti(&d.join("labels.nii.gz"), &labels()).unwrap();
    let run = |log: &str| {
        std::fs::write(d.join("bad.jsonl"), log).unwrap();
        let out = vasa(&[
            "edit",
            s(&d.join("labels.nii.gz")),
            "--ops",
            s(&d.join("bad.jsonl")),
            "-o",
            s(&d.join("out.nii.gz")),
        ]);
        assert!(!out.status.success());
        assert!(!d.join("out.nii.gz").exists(), "no output on failure");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run("{\"op\":\"undo\"}\n");
    assert!(e.contains("bad.jsonl:1") && e.contains("nothing to undo"), "{e}");
    let e =
        run("# comment\n\n{\"op\":\"paint\",\"class\":1,\"center_mm\":[0,20,-15],\"radius_mm\":2,\"hu\":[0,100]}\n");
    assert!(e.contains("bad.jsonl:3") && e.contains("--scan"), "{e}");
    let e = run("{\"op\":\"relabel\",\"at_mm\":[500,0,0],\"to\":2}\n");
    assert!(e.contains("outside the scan"), "{e}");
    let e = run("{\"op\":\"paint\"}\n");
    assert!(e.contains("bad.jsonl:1") && e.contains("missing field"), "{e}");
}

#[test]
fn strokes_lassos_and_scissors_replay_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = labels();
    nifti::write_nifti(&d.join("labels.nii.gz"), &original).unwrap();
    let w = |i: f64, j: f64, k: f64| original.geometry.voxel_to_world(DVec3::new(i, j, k)).to_array();
    let square =
        |i0: f64, j0: f64, i1: f64, j1: f64, k: f64| vec![w(i0, j0, k), w(i1, j0, k), w(i1, j1, k), w(i0, j1, k)];
    let ops = vec![
        // A disc stroke along i in slice k = 5: voxels i 2..=8 of row j = 5.
        EditOp::Stroke {
            class: 3,
            points_mm: vec![w(2.0, 5.0, 5.0), w(5.0, 5.0, 5.0), w(8.0, 5.0, 5.0)],
            radius_mm: 0.5,
            hu: None,
            normal: Some([0.0, 0.0, 1.0]),
        },
        // A lasso square i, j 0..=3 in slice k = 15: 16 voxels of vein.
        EditOp::Lasso { class: 2, polygon_mm: square(-0.5, -0.5, 3.5, 3.5, 15.2), normal: [0.0, 0.0, 1.0], hu: None },
        // Scissors along k over i 5..=9, j 14..=17: 5 × 4 tube voxels go.
        EditOp::Scissors {
            polygon_mm: square(4.5, 13.5, 9.5, 17.5, 0.0),
            direction: [0.0, 0.0, 1.0],
            class: None,
            eye_mm: None,
        },
    ];
    let text: String = ops.iter().map(|op| log::line(op) + "\n").collect();
    std::fs::write(d.join("edits.jsonl"), text).unwrap();
    let out = vasa(&[
        "edit",
        s(&d.join("labels.nii.gz")),
        "--ops",
        s(&d.join("edits.jsonl")),
        "-o",
        s(&d.join("edited.nii.gz")),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let edited = nifti::read_labels(&d.join("edited.nii.gz")).unwrap();
    assert_eq!(count(&edited, 3), 7);
    assert_eq!(count(&edited, 2), 1 + 16);
    assert_eq!(count(&edited, 1), 30 * 4 - 5 * 4);
    let mut expected = original;
    vasa_edit::replay(&mut expected, None, &ops).unwrap();
    expected.geometry = edited.geometry;
    assert!(edited == expected, "the CLI and the library disagree");
}
