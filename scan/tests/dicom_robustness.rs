//! Bad input: empty folders, non-DICOM files, objects without pixels,
//! truncated files, unreadable or absurd header values. Every failure is an
//! error naming the file (and the tag or slice), never a panic.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use proptest::prelude::*;
use vasa_scan::ScanError;
use vasa_scan::dicom::testing::{TestSeries, slice_object, write_object, write_test_series};
use vasa_scan::dicom::{load_dicom, load_series, scan_dicom};

fn non_image(sop_class: &str, modality: &str) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    o.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from(sop_class)));
    o.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.4.5")));
    o.put(DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from(modality)));
    o.put(DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.4")));
    o
}

fn reason_of<'a>(index: &'a vasa_scan::dicom::DicomIndex, name: &str) -> &'a str {
    &index
        .skipped
        .iter()
        .find(|s| s.path.file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("{name} not skipped"))
        .reason
}

#[test]
fn empty_folder_is_nothing_to_load() {
    let dir = tempfile::tempdir().unwrap();
    let err = scan_dicom(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::NothingToLoad { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("empty") && msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(matches!(load_dicom(dir.path()), Err(ScanError::NothingToLoad { .. })));
}

#[test]
fn missing_path_is_an_io_error() {
    let err = scan_dicom(Path::new("/nonexistent/vasa/dicom")).unwrap_err();
    assert!(matches!(err, ScanError::Io { .. }) && err.to_string().contains("/nonexistent/vasa/dicom"), "{err}");
}

#[test]
fn non_images_and_junk_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 4, ..Default::default() };
    let paths = write_test_series(&dir.path().join("ct"), &spec).unwrap();
    write_object(
        &dir.path().join("report.dcm"),
        non_image(uids::BASIC_TEXT_SR_STORAGE, "SR"),
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
    )
    .unwrap();
    write_object(
        &dir.path().join("rtstruct.dcm"),
        non_image(uids::RT_STRUCTURE_SET_STORAGE, "RTSTRUCT"),
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    std::fs::write(dir.path().join("tiny"), [0u8; 10]).unwrap();
    // A DICOM file cut inside its header.
    let bytes = std::fs::read(&paths[0]).unwrap();
    std::fs::write(dir.path().join("cut.dcm"), &bytes[..300]).unwrap();

    let index = scan_dicom(dir.path()).unwrap();
    assert_eq!(index.series.len(), 1);
    assert_eq!(index.series[0].num_frames, 4);
    assert_eq!(index.skipped.len(), 5, "{:?}", index.skipped);
    assert!(reason_of(&index, "report.dcm").contains("Basic Text SR"), "{:?}", index.skipped);
    assert!(reason_of(&index, "rtstruct.dcm").contains("RT Structure Set"), "{:?}", index.skipped);
    assert!(reason_of(&index, "notes.txt").contains("not DICOM"), "{:?}", index.skipped);
    assert!(reason_of(&index, "tiny").contains("not DICOM"), "{:?}", index.skipped);
    assert!(!reason_of(&index, "cut.dcm").is_empty());

    let l = load_dicom(dir.path()).unwrap();
    assert_eq!(l.volume.dims()[2], 4);
    assert!(l.warnings.iter().any(|w| w.contains("5 files skipped")), "{:?}", l.warnings);
}

#[test]
fn folder_without_images_explains_why() {
    let dir = tempfile::tempdir().unwrap();
    write_object(
        &dir.path().join("sr.dcm"),
        non_image(uids::ENHANCED_SR_STORAGE, "SR"),
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
    )
    .unwrap();
    std::fs::write(dir.path().join("readme"), "hello").unwrap();
    let err = scan_dicom(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ScanError::NothingToLoad { .. }), "{msg}");
    assert!(msg.contains("no DICOM image files among 2 files") && msg.contains("Enhanced SR"), "{msg}");
}

#[test]
fn truncated_pixel_data_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 4, ..Default::default() };
    let paths = write_test_series(dir.path(), &spec).unwrap();
    let bytes = std::fs::read(&paths[2]).unwrap();
    std::fs::write(&paths[2], &bytes[..bytes.len() - 100]).unwrap();
    let err = load_dicom(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains(paths[2].file_name().unwrap().to_str().unwrap()), "{err}");
}

#[test]
fn short_pixel_data_element_names_file_and_slice() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 3, ..Default::default() };
    for k in 0..3 {
        let mut obj = slice_object(&spec, k);
        if k == 1 {
            // Fewer samples than Rows × Columns, padded with a trailing element so
            // the file is long enough.
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::I16(vec![1i16; 10].into())));
            obj.put(DataElement::new(
                dicom_core::Tag(0xFFFC, 0xFFFC),
                VR::OB,
                PrimitiveValue::U8(vec![0u8; 1000].into()),
            ));
        }
        write_object(&dir.path().join(format!("s{k}")), obj, uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    }
    let err = load_dicom(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ScanError::Truncated { .. }), "{msg}");
    assert!(msg.contains("s1") && msg.contains("slice 1"), "{msg}");
}

fn write_with(dir: &Path, name: &str, edit: impl Fn(&mut InMemDicomObject)) {
    let spec = TestSeries { slices: 1, ..Default::default() };
    let mut obj = slice_object(&spec, 0);
    edit(&mut obj);
    write_object(&dir.join(name), obj, uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
}

#[test]
fn unreadable_geometry_values_name_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "bad_ipp.dcm", |o| {
        o.put(DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, PrimitiveValue::from("abc\\1\\2")));
    });
    write_with(dir.path(), "nan_spacing.dcm", |o| {
        o.put(DataElement::new(tags::PIXEL_SPACING, VR::DS, PrimitiveValue::from("NaN\\0.5")));
    });
    write_with(dir.path(), "short_iop.dcm", |o| {
        o.put(DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, PrimitiveValue::from("1\\0\\0")));
    });
    write_with(dir.path(), "no_bits.dcm", |o| {
        o.remove_element(tags::BITS_ALLOCATED);
    });
    write_with(dir.path(), "zero_rows.dcm", |o| {
        o.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(0u16)));
    });
    write_with(dir.path(), "many_frames.dcm", |o| {
        o.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(65535u16)));
        o.put(DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(65535u16)));
        o.put(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("2000000000")));
    });
    let err = scan_dicom(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::NothingToLoad { .. }), "{err}");
    // Reasons per file, from a scan of each file on its own.
    let reason = |name: &str| scan_dicom(&dir.path().join(name)).unwrap_err().to_string();
    assert!(reason("bad_ipp.dcm").contains("ImagePositionPatient"), "{}", reason("bad_ipp.dcm"));
    assert!(reason("nan_spacing.dcm").contains("PixelSpacing"), "{}", reason("nan_spacing.dcm"));
    assert!(reason("short_iop.dcm").contains("ImageOrientationPatient"), "{}", reason("short_iop.dcm"));
    assert!(reason("no_bits.dcm").contains("BitsAllocated"), "{}", reason("no_bits.dcm"));
    assert!(reason("zero_rows.dcm").contains("Rows"), "{}", reason("zero_rows.dcm"));
    assert!(reason("many_frames.dcm").contains("NumberOfFrames"), "{}", reason("many_frames.dcm"));
}

#[test]
fn huge_matrix_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    write_with(dir.path(), "huge.dcm", |o| {
        o.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(65535u16)));
        o.put(DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(65535u16)));
    });
    // The header is plausible on its own; the missing pixels are found before allocation.
    let err = match scan_dicom(dir.path()) {
        Ok(index) => load_series(&index.series[0], &|_, _| {}, &AtomicBool::new(false)).unwrap_err(),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(matches!(err, ScanError::Truncated { .. } | ScanError::TooLarge { .. }), "{msg}");
    assert!(msg.contains("huge.dcm"), "{msg}");
}

#[test]
fn non_orthonormal_orientation_is_a_geometry_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, orientation: [1.0, 0.0, 0.0, 0.5, 0.5, 0.0], ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let err = load_dicom(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ScanError::Geometry { .. }), "{msg}");
    assert!(msg.contains("ImageOrientationPatient") && msg.contains("slice0000"), "{msg}");
}

#[test]
fn missing_positions_fall_back_to_instance_order_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 3, slice_thickness: 4.0, ..Default::default() };
    for k in 0..3 {
        let mut obj = slice_object(&spec, k);
        obj.remove_element(tags::IMAGE_POSITION_PATIENT);
        write_object(&dir.path().join(format!("z{}", 9 - k)), obj, uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    assert_eq!(l.volume.geometry.spacing.z, 4.0);
    assert!(l.warnings.iter().any(|w| w.contains("ImagePositionPatient")), "{:?}", l.warnings);
    assert_eq!(*l.volume.get(0, 0, 2).unwrap(), vasa_scan::dicom::testing::default_value(0, 0, 2));
}

/// Scans and loads every series in `dir`; any error is fine, a panic is not.
fn scan_and_load(dir: &Path) {
    if let Ok(index) = scan_dicom(dir) {
        for s in &index.series {
            let _ = load_series(s, &|_, _| {}, &AtomicBool::new(false));
        }
    }
}

fn valid_file_bytes(ts: &str, enhanced: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, cols: 4, rows: 3, transfer_syntax: ts.into(), ..Default::default() };
    let path = dir.path().join("f.dcm");
    if enhanced {
        vasa_scan::dicom::testing::write_enhanced_ct(&path, &spec).unwrap();
    } else {
        write_object(&path, slice_object(&spec, 0), ts).unwrap();
    }
    std::fs::read(path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Corrupted and truncated files never make the loader panic.
    #[test]
    fn corrupted_files_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..12),
        cut in any::<u16>(),
    ) {
        let ts = [uids::EXPLICIT_VR_LITTLE_ENDIAN, uids::IMPLICIT_VR_LITTLE_ENDIAN, "1.2.840.10008.1.2.2", uids::EXPLICIT_VR_LITTLE_ENDIAN][which];
        let mut bytes = valid_file_bytes(ts, which == 3);
        for (pos, val) in edits {
            let p = 128 + pos as usize % (bytes.len() - 128);
            bytes[p] = val;
        }
        if cut % 3 == 0 {
            let keep = cut as usize % bytes.len();
            bytes.truncate(keep);
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.dcm"), &bytes).unwrap();
        scan_and_load(dir.path());
    }
}
