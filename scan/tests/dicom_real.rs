//! The real JPEG 2000 CT series from shared/data: geometry from positions,
//! HU values, slice order, metadata; with a real chest slab, the UIDs kept
//! for export (study, series, frame of reference, each slice's instance).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use vasa_scan::dicom::{load_dicom, load_series, scan_dicom};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/ct-abdomen-dicom-j2k");

/// ImagePositionPatient of every file, in file-name order.
fn positions_by_name() -> Vec<[f64; 3]> {
    let mut files: Vec<_> = std::fs::read_dir(DIR).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let obj = OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(p).unwrap();
            let v = obj.element(tags::IMAGE_POSITION_PATIENT).unwrap().to_multi_float64().unwrap();
            [v[0], v[1], v[2]]
        })
        .collect()
}

#[test]
fn real_j2k_series_scans_as_one_ct_series() {
    let index = scan_dicom(Path::new(DIR)).unwrap();
    assert_eq!(index.series.len(), 1, "{:?}", index.skipped);
    assert!(index.skipped.is_empty(), "{:?}", index.skipped);
    let s = index.default_series().unwrap();
    assert_eq!(s.num_frames, 20);
    assert_eq!((s.rows, s.cols), (512, 512));
    assert_eq!(s.modality, "CT");
    assert_eq!(s.files.len(), 20);
    assert!(s.problem.is_none());
}

#[test]
fn real_j2k_series_loads_with_spacing_from_positions_and_hu_values() {
    let loaded = load_dicom(Path::new(DIR)).unwrap();
    let v = &loaded.volume;
    assert_eq!(v.dims(), [512, 512, 20]);
    let sp = v.geometry.spacing;
    assert!((sp.x - 0.9765625).abs() < 1e-9 && (sp.y - 0.9765625).abs() < 1e-9, "{sp:?}");
    // Positions step by 2 mm although SliceThickness says 3 mm.
    assert!((sp.z - 2.0).abs() < 1e-6, "{sp:?}");
    assert_eq!(loaded.metadata.slice_thickness, Some(3.0));
    assert_eq!(v.geometry.orientation_code(), "LPS");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    // Slices are in position order although file names are not.
    let by_name = positions_by_name();
    let name_z: Vec<f64> = by_name.iter().map(|p| p[2]).collect();
    assert!(!name_z.windows(2).all(|w| w[0] < w[1]), "file names happen to sort by position: {name_z:?}");
    let mut sorted = by_name.clone();
    sorted.sort_by(|a, b| a[2].total_cmp(&b[2]));
    for (k, p) in sorted.iter().enumerate() {
        let w = v.voxel_to_world([0, 0, k]);
        assert!(
            (w.x - p[0]).abs() < 1e-6 && (w.y - p[1]).abs() < 1e-6 && (w.z - p[2]).abs() < 1e-6,
            "k={k}: {w:?} vs {p:?}"
        );
    }

    // Air in the corner of the middle slice.
    let k = 10;
    let mut sum = 0.0;
    for j in 0..24 {
        for i in 0..24 {
            sum += *v.get(i, j, k).unwrap() as f64;
        }
    }
    let air = sum / (24.0 * 24.0);
    assert!((air - -1000.0).abs() < 50.0, "corner mean {air} HU");

    // Fat: the histogram mode among negative soft-tissue values.
    let mut hist = [0usize; 25]; // 10-HU bins over [-250, 0)
    for &x in v.data() {
        if (-250..0).contains(&x) {
            hist[((x + 250) / 10) as usize] += 1;
        }
    }
    let mode = hist.iter().enumerate().max_by_key(|(_, c)| **c).unwrap().0;
    let centre = -250 + mode as i32 * 10 + 5;
    assert!((-150..=-50).contains(&centre), "fat mode at {centre} HU, histogram {hist:?}");

    // Contrast-enhanced abdomen: soft tissue and bone present, values plausible.
    let (lo, hi) = v.min_max().unwrap();
    assert!(lo >= -2048 && hi > 300, "range {lo}..{hi}");

    let m = &loaded.metadata;
    assert_eq!(m.modality.as_deref(), Some("CT"));
    // This anonymised series has no Study/SeriesInstanceUID; what it has must show.
    assert_eq!(m.study_date.as_deref(), Some("20221208"));
    assert_eq!(m.series_description.as_deref(), Some("CT Body 3.0"));
    assert_eq!(m.manufacturer.as_deref(), Some("SIEMENS"));
    assert_eq!(m.contrast_agent.as_deref(), Some("APPLIED"));
    assert_eq!(m.kvp, Some(120.0));
    assert!(m.convolution_kernel.as_deref().is_some_and(|k| k.starts_with("Br38f")));
}

#[test]
fn real_series_reports_progress_and_honours_cancel() {
    let index = scan_dicom(Path::new(DIR)).unwrap();
    let series = index.default_series().unwrap();
    let calls = AtomicUsize::new(0);
    let last = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    load_series(
        series,
        &|done, total| {
            assert_eq!(total, 20);
            calls.fetch_add(1, Ordering::Relaxed);
            last.fetch_max(done, Ordering::Relaxed);
        },
        &cancel,
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 20);
    assert_eq!(last.load(Ordering::Relaxed), 20);

    let cancel = AtomicBool::new(true);
    let err = load_series(series, &|_, _| {}, &cancel).unwrap_err();
    assert!(matches!(err, vasa_scan::ScanError::Cancelled), "{err}");
}

/// The UIDs a real series' files hold, and each file's SOPInstanceUID in
/// order of position along z (both series here are axial).
struct FileUids {
    study: Option<String>,
    series: Option<String>,
    frame_of_reference: Option<String>,
    sop_by_z: Vec<String>,
}

fn file_uids(dir: &Path) -> FileUids {
    let text = |obj: &dicom_object::InMemDicomObject, tag| {
        obj.get(tag)
            .and_then(|e| e.value().to_str().ok().map(|s| s.trim_matches(['\0', ' ']).to_string()))
            .filter(|s| !s.is_empty())
    };
    let mut rows = Vec::new();
    let (mut study, mut series, mut frame_of_reference) = (Vec::new(), Vec::new(), Vec::new());
    for entry in std::fs::read_dir(dir).unwrap() {
        let obj = OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(entry.unwrap().path()).unwrap();
        let z = obj.element(tags::IMAGE_POSITION_PATIENT).unwrap().to_multi_float64().unwrap()[2];
        // The data set's SOPInstanceUID, else the file meta's copy (the
        // anonymised abdomen series keeps only the latter).
        let sop = text(&obj, tags::SOP_INSTANCE_UID)
            .unwrap_or_else(|| obj.meta().media_storage_sop_instance_uid().trim_matches(['\0', ' ']).to_string());
        assert!(!sop.is_empty(), "no SOPInstanceUID");
        rows.push((z, sop));
        study.push(text(&obj, tags::STUDY_INSTANCE_UID));
        series.push(text(&obj, tags::SERIES_INSTANCE_UID));
        frame_of_reference.push(text(&obj, tags::FRAME_OF_REFERENCE_UID));
    }
    let one = |v: Vec<Option<String>>| {
        assert!(v.windows(2).all(|w| w[0] == w[1]), "files disagree: {v:?}");
        v[0].clone()
    };
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut distinct: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), rows.len(), "SOPInstanceUIDs repeat");
    FileUids {
        study: one(study),
        series: one(series),
        frame_of_reference: one(frame_of_reference),
        sop_by_z: rows.into_iter().map(|r| r.1).collect(),
    }
}

fn assert_uids_kept(dir: &Path) -> FileUids {
    let want = file_uids(dir);
    let loaded = load_dicom(dir).unwrap();
    let m = &loaded.metadata;
    assert_eq!(m.study_instance_uid, want.study);
    assert_eq!(m.series_instance_uid, want.series);
    assert_eq!(m.frame_of_reference_uid, want.frame_of_reference);
    let got: Vec<&str> = m.slices.iter().map(|s| s.sop_instance_uid.as_str()).collect();
    assert_eq!(got, want.sop_by_z, "SOPInstanceUIDs in slice order");
    assert_eq!(got.len(), loaded.volume.dims()[2]);
    assert!(m.slices.iter().all(|s| s.frame_number == 1 && !s.sop_class_uid.is_empty()));
    want
}

#[test]
fn real_series_keep_their_uids_with_sop_instance_uids_in_slice_order() {
    // File names do not sort by position here.
    let abdomen = assert_uids_kept(Path::new(DIR));
    assert_eq!(abdomen.sop_by_z.len(), 20);
    // A chest slab with every UID present.
    let lidc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/chest-contrast-slabs/lidc-0001");
    let chest = assert_uids_kept(&lidc);
    assert!(chest.study.is_some() && chest.series.is_some() && chest.frame_of_reference.is_some());
    assert_eq!(chest.sop_by_z.len(), 16);
}
