//! Synthetic series: slice order, spacing from positions, missing slices,
//! gantry tilt, duplicates, single slices, series grouping and the default
//! series, and the UIDs kept for export (study, series, frame of reference,
//! each slice's instance and frame).

use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use vasa_scan::dicom::testing::{TestSeries, slice_object, write_object, write_test_series};
use vasa_scan::dicom::{LoadedSeries, load_dicom, scan_dicom};

fn load(dir: &Path) -> LoadedSeries {
    load_dicom(dir).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// Asserts that voxel (i, j, k) equals `expected(i, j, k)` everywhere.
fn assert_voxels(l: &LoadedSeries, expected: impl Fn(usize, usize, usize) -> i16) {
    let [nx, ny, nz] = l.volume.dims();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let got = *l.volume.get(i, j, k).unwrap();
                assert_eq!(got, expected(i, j, k), "voxel ({i}, {j}, {k})");
            }
        }
    }
}

#[test]
fn shuffled_file_names_load_in_position_order() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { shuffle_names: true, slices: 12, ..Default::default() };
    let paths = write_test_series(dir.path(), &spec).unwrap();
    let mut names: Vec<_> = paths.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
    let unsorted = names.clone();
    names.sort();
    assert_ne!(names, unsorted, "the test needs names that do not sort by position");

    let l = load(dir.path());
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.volume.dims(), [16, 12, 12]);
    let g = l.volume.geometry;
    // PixelSpacing [0.8, 0.7] = [between rows, between columns]: i gets 0.7, j 0.8.
    assert!(
        (g.spacing.x - 0.7).abs() < 1e-9 && (g.spacing.y - 0.8).abs() < 1e-9 && (g.spacing.z - 2.5).abs() < 1e-9,
        "{g:?}"
    );
    assert_eq!(g.origin.to_array(), [-100.0, -80.0, 40.0]);
    assert_eq!(g.orientation_code(), "LPS");
    assert_voxels(&l, vasa_scan::dicom::testing::default_value);
    assert_eq!(l.metadata.patient_name.as_deref(), Some("Test^Patient"));
    assert_eq!(l.metadata.series_number, Some(3));
    assert_eq!(l.metadata.contrast_agent.as_deref(), Some("Iohexol"));
    assert_eq!(l.metadata.kvp, Some(120.0));
}

#[test]
fn decreasing_positions_make_k_run_along_increasing_position() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slice_step: -3.0, slices: 6, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let l = load(dir.path());
    let g = l.volume.geometry;
    assert!((g.spacing.z - 3.0).abs() < 1e-9);
    // The lowest slice (index 5 at z = 40 - 15) comes first.
    assert!((g.origin.z - 25.0).abs() < 1e-9, "{g:?}");
    assert!(l.volume.voxel_to_world([0, 0, 5]).z > l.volume.voxel_to_world([0, 0, 0]).z);
    assert_voxels(&l, |i, j, k| vasa_scan::dicom::testing::default_value(i, j, 5 - k));
}

#[test]
fn oblique_orientation_gives_direction_from_cosines() {
    let dir = tempfile::tempdir().unwrap();
    // Coronal: rows along +x, columns along -z; normal = x × -z = +y.
    let spec = TestSeries { orientation: [1.0, 0.0, 0.0, 0.0, 0.0, -1.0], slices: 4, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let l = load(dir.path());
    let d = l.volume.geometry.direction;
    assert_eq!(d.col(0).to_array(), [1.0, 0.0, 0.0]);
    assert_eq!(d.col(1).to_array(), [0.0, 0.0, -1.0]);
    assert_eq!(d.col(2).to_array(), [0.0, 1.0, 0.0]);
    assert_eq!(l.volume.geometry.orientation_code(), "LIP");
    assert!((l.volume.geometry.spacing.z - 2.5).abs() < 1e-9);
}

fn linear_in_k(i: usize, _j: usize, k: usize) -> i16 {
    (k * 10 + i) as i16
}

#[test]
fn missing_slices_are_reported_and_resampled_to_a_regular_grid() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 10, skip: vec![4, 7, 8], value: linear_in_k, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let l = load(dir.path());
    // 10 positions 2.5 mm apart: the grid is rebuilt at the median step.
    assert_eq!(l.volume.dims(), [16, 12, 10]);
    assert!((l.volume.geometry.spacing.z - 2.5).abs() < 1e-9);
    // Values are linear in k, so interpolation restores them exactly.
    assert_voxels(&l, linear_in_k);
    let w = l.warnings.join("\n");
    assert!(w.contains("irregular slice spacing"), "{w}");
    // Slices 3 and 5 at z = 47.5 and 52.5 bracket the first gap.
    assert!(w.contains("z = 47.50 mm") && w.contains("z = 52.50 mm") && w.contains("5.00 mm"), "{w}");
    assert!(w.contains("about 2 slices missing"), "{w}");
    assert!(w.contains("interpolat"), "{w}");
}

fn ramp_in_y(_i: usize, j: usize, k: usize) -> i16 {
    // Stored value = 10 × (patient y - y0) with rows 0.8 mm apart and a drift
    // of 0.5 mm per slice: the content is fixed in patient space.
    ((j as f64 * 0.8 + k as f64 * 0.5) * 10.0).round() as i16
}

#[test]
fn gantry_tilt_is_reported_and_resampled_onto_an_orthogonal_grid() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 6, drift: [0.0, 0.5, 0.0], value: ramp_in_y, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let l = load(dir.path());
    let w = l.warnings.join("\n");
    assert!(w.contains("gantry tilt"), "{w}");
    let g = l.volume.geometry;
    assert_eq!(g.direction.col(2).to_array(), [0.0, 0.0, 1.0]);
    assert!((g.spacing.z - 2.5).abs() < 1e-9);
    // Every slice now shows the ramp of slice 0 at the same (i, j), away from
    // the rows shifted in from outside the field.
    let [nx, ny, nz] = l.volume.dims();
    for k in 0..nz {
        for j in 4..ny {
            for i in 0..nx {
                let expected = ramp_in_y(i, j, 0) as i32;
                let got = *l.volume.get(i, j, k).unwrap() as i32;
                assert!((got - expected).abs() <= 1, "({i},{j},{k}): {got} vs {expected}");
            }
        }
    }
}

#[test]
fn duplicate_positions_are_dropped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 5, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    // A second copy of slice 2 under another name and SOP instance.
    let mut dup = slice_object(&spec, 2);
    dup.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.999")));
    write_object(&dir.path().join("zz_duplicate.dcm"), dup, &spec.transfer_syntax).unwrap();
    let l = load(dir.path());
    assert_eq!(l.volume.dims()[2], 5);
    let w = l.warnings.join("\n");
    assert!(w.contains("same position") && w.contains("zz_duplicate.dcm"), "{w}");
    assert_voxels(&l, vasa_scan::dicom::testing::default_value);
}

#[test]
fn a_single_slice_gets_slice_thickness_as_spacing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 1, slice_thickness: 5.0, ..Default::default() };
    let paths = write_test_series(dir.path(), &spec).unwrap();
    // Load the file itself, not the folder.
    let l = load_dicom(&paths[0]).unwrap();
    assert_eq!(l.volume.dims(), [16, 12, 1]);
    assert_eq!(l.volume.geometry.spacing.z, 5.0);
    assert!(l.warnings.iter().any(|w| w.contains("single slice")), "{:?}", l.warnings);
}

#[test]
fn mixed_folder_is_split_into_series_and_defaults_to_the_largest_ct() {
    let dir = tempfile::tempdir().unwrap();
    let a = TestSeries { series_uid: "1.2.3.100".into(), slices: 8, description: "axial".into(), ..Default::default() };
    // Same UID, other orientation (coronal): a separate stack.
    let a_cor = TestSeries {
        series_uid: "1.2.3.100".into(),
        slices: 3,
        orientation: [1.0, 0.0, 0.0, 0.0, 0.0, -1.0],
        description: "axial".into(),
        ..Default::default()
    };
    let b = TestSeries { series_uid: "1.2.3.200".into(), slices: 5, description: "small".into(), ..Default::default() };
    // Same UID as b but another matrix size.
    let b_small = TestSeries { series_uid: "1.2.3.200".into(), slices: 2, cols: 8, rows: 8, ..Default::default() };
    let mr = TestSeries { series_uid: "1.2.3.300".into(), slices: 11, modality: "MR".into(), ..Default::default() };
    write_test_series(&dir.path().join("a"), &a).unwrap();
    write_test_series(&dir.path().join("a_cor"), &a_cor).unwrap();
    write_test_series(&dir.path().join("b"), &b).unwrap();
    write_test_series(&dir.path().join("b/nested/small"), &b_small).unwrap();
    write_test_series(&dir.path().join("mr"), &mr).unwrap();

    let index = scan_dicom(dir.path()).unwrap();
    let summary: Vec<(String, String, usize, u32)> =
        index.series.iter().map(|s| (s.uid.clone(), s.modality.clone(), s.num_frames, s.cols)).collect();
    assert_eq!(index.series.len(), 5, "{summary:?}");
    assert_eq!(index.series.iter().filter(|s| s.uid == "1.2.3.100").count(), 2, "{summary:?}");
    assert_eq!(index.series.iter().filter(|s| s.uid == "1.2.3.200").count(), 2, "{summary:?}");
    let def = index.default_series().unwrap();
    assert_eq!((def.uid.as_str(), def.modality.as_str(), def.num_frames), ("1.2.3.100", "CT", 8));
    assert_eq!(def.files.len(), 8);
    assert!(def.label().contains("8 slices of 16×12"), "{}", def.label());

    let l = load_dicom(dir.path()).unwrap();
    assert_eq!(l.volume.dims(), [16, 12, 8]);
    assert_eq!(l.volume.geometry.orientation_code(), "LPS");
    assert!(l.warnings.iter().any(|w| w.contains("holds 5 image series")), "{:?}", l.warnings);
}

#[test]
fn middle_frame_of_a_series_is_its_middle_slice_by_position() {
    let dir = tempfile::tempdir().unwrap();
    // Names do not sort by position: the middle frame must come from the
    // position order, not the file order.
    let spec = TestSeries { slices: 7, shuffle_names: true, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let index = scan_dicom(dir.path()).unwrap();
    let full = load(dir.path()).volume;
    let one = vasa_scan::dicom::load_middle_frame(&index.series[0]).unwrap();
    assert_eq!(one.dims(), [spec.cols, spec.rows, 1]);
    // Which slice it is: the one whose voxels match.
    let k = (0..7).find(|&k| full.slice_k(k) == one.slice_k(0)).expect("the frame is one of the slices");
    assert!((2..=4).contains(&k), "frame {k} is not near the middle");
}

#[test]
fn uids_are_kept_and_sop_instance_uids_follow_slice_order() {
    let dir = tempfile::tempdir().unwrap();
    // Positions decrease with the instance number and names are shuffled, so
    // neither file order nor instance order is slice order.
    let spec = TestSeries {
        slices: 7,
        slice_step: -2.0,
        shuffle_names: true,
        study_uid: "1.2.826.0.1.3680043.10.77".into(),
        series_uid: "1.2.826.0.1.3680043.10.77.5".into(),
        frame_of_reference_uid: "1.2.826.0.1.3680043.10.77.8".into(),
        ..Default::default()
    };
    write_test_series(dir.path(), &spec).unwrap();

    // The folder scan keeps the series' UIDs; slices are known only once loaded.
    let index = scan_dicom(dir.path()).unwrap();
    let m = &index.series[0].metadata;
    assert_eq!(m.frame_of_reference_uid.as_deref(), Some(spec.frame_of_reference_uid.as_str()));
    assert!(m.slices.is_empty());

    let l = load(dir.path());
    let m = &l.metadata;
    assert_eq!(m.study_instance_uid.as_deref(), Some(spec.study_uid.as_str()));
    assert_eq!(m.series_instance_uid.as_deref(), Some(spec.series_uid.as_str()));
    assert_eq!(m.frame_of_reference_uid.as_deref(), Some(spec.frame_of_reference_uid.as_str()));
    // Volume slice k lies at increasing position: written slice 6 - k.
    assert_eq!(m.slices.len(), l.volume.dims()[2]);
    for (k, s) in m.slices.iter().enumerate() {
        assert_eq!(s.sop_instance_uid, spec.sop_instance_uid(6 - k), "k = {k}");
        assert_eq!(s.sop_class_uid, dicom_dictionary_std::uids::CT_IMAGE_STORAGE);
        assert_eq!(s.frame_number, 1);
    }
    // The UIDs are for export, not for the JSON report.
    let json = serde_json::to_string(m).unwrap();
    assert!(!json.contains(&spec.frame_of_reference_uid) && !json.contains(".77.5.1"), "{json}");
}

#[test]
fn missing_slices_leave_the_source_list_shorter_than_the_resampled_volume() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 8, skip: vec![3], ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let l = load(dir.path());
    assert_eq!(l.volume.dims()[2], 8);
    let uids: Vec<&str> = l.metadata.slices.iter().map(|s| s.sop_instance_uid.as_str()).collect();
    let expected: Vec<String> = [0, 1, 2, 4, 5, 6, 7].iter().map(|&k| spec.sop_instance_uid(k)).collect();
    assert_eq!(uids, expected);
}

#[test]
fn an_enhanced_ct_gives_one_instance_with_frame_numbers_in_slice_order() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 5, ..Default::default() };
    let path = dir.path().join("enhanced.dcm");
    // Frames are stored in reverse position order.
    let order = vasa_scan::dicom::testing::write_enhanced_ct(&path, &spec).unwrap();
    let l = load(&path);
    assert_eq!(l.metadata.frame_of_reference_uid.as_deref(), Some(spec.frame_of_reference_uid.as_str()));
    assert_eq!(l.metadata.slices.len(), 5);
    for (k, s) in l.metadata.slices.iter().enumerate() {
        let frame = order.iter().position(|&o| o == k).unwrap() as u32 + 1;
        assert_eq!(s.sop_instance_uid, spec.enhanced_sop_instance_uid());
        assert_eq!(s.sop_class_uid, dicom_dictionary_std::uids::ENHANCED_CT_IMAGE_STORAGE);
        assert_eq!(s.frame_number, frame, "k = {k}");
    }
}
