//! The real JPEG 2000 CT series from shared/data: geometry from positions,
//! HU values, slice order, metadata.

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
