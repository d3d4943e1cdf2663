//! DICOM SEG export and read-back: round trips on DICOM and NIfTI-like
//! grids, refusal of SEGs off the grid, references checked with pydicom,
//! de-identification, and hostile files.

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, open_file};
use glam::{DMat3, DVec3};
use vasa_export::deidentify;
use vasa_export::seg::{SegOptions, is_seg, new_uid, read_seg, write_seg};
use vasa_scan::dicom::StudyMetadata;
use vasa_scan::dicom::testing::{TestSeries, write_enhanced_ct, write_test_series};
use vasa_scan::{Geometry, LabelMap, OpenedScan, open_scan};

/// A small CT series (odd matrix, so frames do not end on a byte boundary)
/// written into `dir/ct` and opened as Vasa opens it.
fn dicom_scan(dir: &Path) -> (TestSeries, PathBuf, OpenedScan) {
    let spec = TestSeries { cols: 13, rows: 11, slices: 8, ..Default::default() };
    let folder = dir.join("ct");
    write_test_series(&folder, &spec).expect("write the source series");
    let scan = open_scan(&folder).expect("open the source series");
    assert_eq!(scan.volume.dims(), [13, 11, 8]);
    assert_eq!(scan.metadata.slices.len(), 8, "one source slice per volume slice");
    (spec, folder, scan)
}

/// Sets class `class` on the box `i × j × k` (clipped to the volume).
fn paint(
    labels: &mut LabelMap,
    class: u8,
    i: std::ops::Range<usize>,
    j: std::ops::Range<usize>,
    k: std::ops::Range<usize>,
) {
    let [nx, ny, nz] = labels.dims();
    for kk in k.start..k.end.min(nz) {
        for jj in j.start..j.end.min(ny) {
            for ii in i.start..i.end.min(nx) {
                labels.data_mut()[ii + nx * (jj + ny * kk)] = class;
            }
        }
    }
}

/// Artery, vein and aorta on the grid of `geometry`, with the first and last
/// slices empty and a voxel in the last corner of a slice.
fn vessel_labels(dims: [usize; 3], geometry: Geometry) -> LabelMap {
    let mut labels = LabelMap::filled(dims, 0, geometry);
    let [nx, ny, nz] = dims;
    paint(&mut labels, 1, 2..7, 3..8, 1..4);
    paint(&mut labels, 2, 6..nx - 1, 1..5, 3..6);
    paint(&mut labels, 3, 4..6, 4..6, nz - 2..nz - 1);
    paint(&mut labels, 1, nx - 1..nx, ny - 1..ny, 2..3);
    labels
}

/// Asserts that `result` is an error naming `path` and containing `what`.
fn assert_refused<T: std::fmt::Debug>(result: Result<T, vasa_export::ExportError>, path: &Path, what: &str) {
    let err = result.expect_err("must be refused").to_string();
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(err.contains(name.as_ref()), "error does not name the file {name}: {err}");
    assert!(err.contains(what), "error does not say {what:?}: {err}");
}

/// A trimmed text attribute of a DICOM object ("" when absent).
fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.value().to_str().ok().map(|s| s.trim_matches(|c: char| c == '\0' || c == ' ').to_string()))
        .unwrap_or_default()
}

/// The items of a sequence attribute.
fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<InMemDicomObject> {
    obj.get(tag).and_then(|e| e.items()).map(|i| i.to_vec()).unwrap_or_default()
}

fn options() -> SegOptions {
    SegOptions { algorithm: "Vasa test network".into(), ..Default::default() }
}

#[test]
fn dicom_source_round_trip_and_refusal_off_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, scan) = dicom_scan(dir.path());
    let g = scan.volume.geometry;
    let dims = scan.volume.dims();
    let labels = vessel_labels(dims, g);
    let path = dir.path().join("vessels.dcm");
    let summary = write_seg(&path, &labels, &scan.metadata, &options()).unwrap();
    assert!(summary.references_source);
    let names: Vec<_> = summary.segments.iter().map(|(c, n)| (*c, n.as_str())).collect();
    assert_eq!(names, [(1, "artery"), (2, "vein"), (3, "aorta")]);
    // Artery in k 1..4, vein in k 3..6, aorta in k 6: 3 + 3 + 1 frames.
    assert_eq!(summary.frames, 7);
    assert!(is_seg(&path));

    let back = read_seg(&path, &g, dims).unwrap();
    assert_eq!(back.data(), labels.data(), "labels read back differ");
    assert!(back.same_grid(&scan.volume));

    // Off the grid: half a voxel along i, along k, another spacing, another
    // orientation, another size.
    let mut shifted = g;
    shifted.origin += g.direction.col(0) * g.spacing.x * 0.5;
    assert_refused(read_seg(&path, &shifted, dims), &path, "off the grid");
    let mut shifted_k = g;
    shifted_k.origin += g.direction.col(2) * g.spacing.z * 0.5;
    assert_refused(read_seg(&path, &shifted_k, dims), &path, "off the grid");
    let mut spacing = g;
    spacing.spacing.x *= 1.1;
    assert_refused(read_seg(&path, &spacing, dims), &path, "pixel spacing");
    let mut turned = g;
    turned.direction = DMat3::from_rotation_z(10f64.to_radians()) * g.direction;
    assert_refused(read_seg(&path, &turned, dims), &path, "orientation");
    assert_refused(read_seg(&path, &g, [dims[0] + 1, dims[1], dims[2]]), &path, "pixels but the scan's slices");
    // Fewer slices than the SEG covers: the aorta frame lies outside.
    assert_refused(read_seg(&path, &g, [dims[0], dims[1], 5]), &path, "slice");
}

#[test]
fn nifti_labels_get_fresh_uids_and_round_trip_on_an_oblique_grid() {
    let dir = tempfile::tempdir().unwrap();
    let direction = DMat3::from_rotation_z(25f64.to_radians());
    let g = Geometry { spacing: DVec3::new(0.7, 0.9, 2.0), origin: DVec3::new(-50.0, 20.0, 100.0), direction };
    let dims = [17, 13, 9];
    let mut labels = vessel_labels(dims, g);
    paint(&mut labels, 4, 10..13, 8..11, 4..6); // a lesion
    paint(&mut labels, 6, 0..2, 0..2, 0..1); // a user class
    let metadata = StudyMetadata::default();
    let path = dir.path().join("nifti labels.dcm");
    let summary = write_seg(&path, &labels, &metadata, &options()).unwrap();
    assert!(!summary.references_source);
    assert_eq!(summary.segments.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3, 4, 6]);
    let back = read_seg(&path, &g, dims).unwrap();
    assert_eq!(back.data(), labels.data());

    let seg = open_file(&path).unwrap();
    for tag in
        [tags::STUDY_INSTANCE_UID, tags::SERIES_INSTANCE_UID, tags::SOP_INSTANCE_UID, tags::FRAME_OF_REFERENCE_UID]
    {
        let uid = text(&seg, tag);
        assert!(uid.starts_with("2.25.") && uid.len() <= 64, "{tag}: {uid}");
    }
    assert_eq!(text(&seg, tags::SERIES_INSTANCE_UID), summary.series_instance_uid);
    assert!(seg.get(tags::REFERENCED_SERIES_SEQUENCE).is_none());
    for frame in items(&seg, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE) {
        assert!(frame.get(tags::DERIVATION_IMAGE_SEQUENCE).is_none(), "a NIfTI scan has no source image");
    }
    // The lesion is painted by hand, the vessels come from the algorithm.
    let segments = items(&seg, tags::SEGMENT_SEQUENCE);
    assert_eq!(text(&segments[0], tags::SEGMENT_ALGORITHM_TYPE), "AUTOMATIC");
    assert_eq!(text(&segments[0], tags::SEGMENT_ALGORITHM_NAME), "Vasa test network");
    assert_eq!(text(&segments[3], tags::SEGMENT_ALGORITHM_TYPE), "MANUAL");

    // Two exports of the same labels are two different series.
    let again = write_seg(&dir.path().join("again.dcm"), &labels, &metadata, &options()).unwrap();
    assert_ne!(again.series_instance_uid, summary.series_instance_uid);

    // A left-handed grid (slice axis against the row × column normal), as
    // NIfTI files often have, round trips too.
    let flipped = Geometry { direction: DMat3::from_cols(direction.col(0), direction.col(1), -direction.col(2)), ..g };
    let labels = vessel_labels(dims, flipped);
    let path = dir.path().join("flipped.dcm");
    write_seg(&path, &labels, &metadata, &SegOptions { manual_edits: true, ..options() }).unwrap();
    assert_eq!(read_seg(&path, &flipped, dims).unwrap().data(), labels.data());
    assert_refused(read_seg(&path, &g, dims), &path, "is slice -1 of the scan");
    let seg = open_file(&path).unwrap();
    assert_eq!(text(&items(&seg, tags::SEGMENT_SEQUENCE)[0], tags::SEGMENT_ALGORITHM_TYPE), "SEMIAUTOMATIC");
}

#[test]
fn empty_labels_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let labels = LabelMap::filled([8, 8, 4], 0, Geometry::default());
    let path = dir.path().join("empty.dcm");
    assert_refused(write_seg(&path, &labels, &StudyMetadata::default(), &options()), &path, "nothing to export");
    assert!(!path.exists());
}

/// `/usr/bin/python3` once it can import pydicom and numpy (they come from
/// apt; a fresh machine may still be installing them).
fn python_with_pydicom() -> &'static str {
    const PYTHON: &str = "/usr/bin/python3";
    for attempt in 0..3 {
        let ok = Command::new(PYTHON).args(["-c", "import pydicom, numpy"]).status().is_ok_and(|s| s.success());
        if ok {
            return PYTHON;
        }
        if attempt < 2 {
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
    }
    panic!("{PYTHON} cannot import pydicom and numpy: run `apt-get install python3-pydicom python3-numpy`");
}

/// The expected label map as seg_check.py reads it: voxel indices per class.
fn expected_json(labels: &LabelMap) -> String {
    let mut classes = std::collections::BTreeMap::<String, Vec<usize>>::new();
    for (i, &v) in labels.data().iter().enumerate().filter(|(_, v)| **v != 0) {
        classes.entry(v.to_string()).or_default().push(i);
    }
    serde_json::json!({ "dims": labels.dims(), "classes": classes }).to_string()
}

#[test]
fn pydicom_finds_the_source_slice_of_every_frame_and_the_labels() {
    let python = python_with_pydicom();
    let dir = tempfile::tempdir().unwrap();
    let (_, folder, scan) = dicom_scan(dir.path());
    let labels = vessel_labels(scan.volume.dims(), scan.volume.geometry);
    let seg = dir.path().join("vessels.dcm");
    write_seg(&seg, &labels, &scan.metadata, &options()).unwrap();
    let expected = dir.path().join("expected.json");
    std::fs::write(&expected, expected_json(&labels)).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seg_check.py");
    let out = Command::new(python).arg(&script).arg(&seg).arg(&folder).arg(&expected).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "seg_check.py failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("seg_check: OK"), "{stdout}");
}

#[test]
fn a_deidentified_seg_keeps_its_references_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, _, scan) = dicom_scan(dir.path());
    let labels = vessel_labels(scan.volume.dims(), scan.volume.geometry);
    let path = dir.path().join("anonymous.dcm");
    let summary = write_seg(&path, &labels, &scan.metadata, &SegOptions { deidentify: true, ..options() }).unwrap();
    assert!(summary.references_source);

    let seg = open_file(&path).unwrap();
    assert_eq!(text(&seg, tags::PATIENT_NAME), "ANONYMOUS");
    assert_eq!(text(&seg, tags::PATIENT_ID), "ANONYMOUS");
    assert_eq!(text(&seg, tags::PATIENT_BIRTH_DATE), "");
    assert_eq!(text(&seg, tags::STUDY_DATE), "");
    assert_eq!(text(&seg, tags::PATIENT_IDENTITY_REMOVED), "YES");
    assert_eq!(text(&seg, tags::DEIDENTIFICATION_METHOD), deidentify::METHOD);
    let method = items(&seg, tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE);
    assert_eq!(text(&method[0], tags::CODE_VALUE), "113100");

    // References point at the source as de-identified the same way.
    let anon = deidentify::metadata(&scan.metadata);
    assert_eq!(text(&seg, tags::STUDY_INSTANCE_UID), anon.study_instance_uid.clone().unwrap());
    assert_eq!(text(&seg, tags::FRAME_OF_REFERENCE_UID), anon.frame_of_reference_uid.clone().unwrap());
    let series = items(&seg, tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(text(&series[0], tags::SERIES_INSTANCE_UID), anon.series_instance_uid.clone().unwrap());
    let listed: Vec<String> = items(&series[0], tags::REFERENCED_INSTANCE_SEQUENCE)
        .iter()
        .map(|i| text(i, tags::REFERENCED_SOP_INSTANCE_UID))
        .collect();
    let anon_slices: Vec<String> = anon.slices.iter().map(|s| s.sop_instance_uid.clone()).collect();
    assert_eq!(listed, anon_slices);
    for frame in items(&seg, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE) {
        let derivation = &items(&frame, tags::DERIVATION_IMAGE_SEQUENCE)[0];
        let source = &items(derivation, tags::SOURCE_IMAGE_SEQUENCE)[0];
        assert!(anon_slices.contains(&text(source, tags::REFERENCED_SOP_INSTANCE_UID)));
    }

    // Nothing of the patient or the original UIDs is left in the file.
    let bytes = std::fs::read(&path).unwrap();
    let holds = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for secret in ["Test^Patient", "P0001", "19700101", "20240131", "ACC42", "Synthetic study", &spec.study_uid] {
        assert!(!holds(secret), "the de-identified SEG still holds {secret:?}");
    }
    assert_eq!(read_seg(&path, &scan.volume.geometry, scan.volume.dims()).unwrap().data(), labels.data());
}

#[test]
fn an_enhanced_ct_source_is_referenced_by_frame_number() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { cols: 12, rows: 10, slices: 6, ..Default::default() };
    let file = dir.path().join("enhanced.dcm");
    write_enhanced_ct(&file, &spec).unwrap();
    let scan = open_scan(&file).unwrap();
    let labels = vessel_labels(scan.volume.dims(), scan.volume.geometry);
    let path = dir.path().join("seg.dcm");
    assert!(write_seg(&path, &labels, &scan.metadata, &options()).unwrap().references_source);
    let seg = open_file(&path).unwrap();
    for (frame, k) in items(&seg, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).iter().zip([1usize, 2, 3, 3, 4, 5, 4]) {
        let derivation = &items(frame, tags::DERIVATION_IMAGE_SEQUENCE)[0];
        let source = &items(derivation, tags::SOURCE_IMAGE_SEQUENCE)[0];
        assert_eq!(text(source, tags::REFERENCED_SOP_INSTANCE_UID), spec.enhanced_sop_instance_uid());
        let expected = scan.metadata.slices[k].frame_number.to_string();
        assert_eq!(text(source, tags::REFERENCED_FRAME_NUMBER), expected);
    }
    let series = items(&seg, tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(items(&series[0], tags::REFERENCED_INSTANCE_SEQUENCE).len(), 1, "one instance, listed once");
    assert_eq!(read_seg(&path, &scan.volume.geometry, scan.volume.dims()).unwrap().data(), labels.data());
}

/// Writes `obj` as a DICOM file with the SEG's own file meta.
fn write_like(obj: DefaultDicomObject, path: &Path) {
    obj.write_to_file(path).unwrap();
}

#[test]
fn hostile_files_are_refused_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let (_, folder, scan) = dicom_scan(dir.path());
    let (g, dims) = (scan.volume.geometry, scan.volume.dims());
    let labels = vessel_labels(dims, g);
    let good = dir.path().join("good.dcm");
    write_seg(&good, &labels, &scan.metadata, &options()).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    // Not DICOM at all, and missing.
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "not a segmentation").unwrap();
    assert_refused(read_seg(&text_file, &g, dims), &text_file, "not a DICOM file");
    assert!(!is_seg(&text_file));
    let missing = dir.path().join("missing.dcm");
    assert_refused(read_seg(&missing, &g, dims), &missing, "");
    assert!(!is_seg(&missing));

    // A CT slice is DICOM but not a SEG.
    let ct = folder.join("slice00000.dcm");
    assert_refused(read_seg(&ct, &g, dims), &ct, "not a binary DICOM SEG");
    assert!(!is_seg(&ct));

    // Truncated anywhere.
    let n = bytes.len();
    for cut in [0, 1, 100, 131, 132, 140, 300, n / 4, n / 2, 3 * n / 4, n - 40, n - 2, n - 1] {
        let path = dir.path().join(format!("cut{cut}.dcm"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert_refused(read_seg(&path, &g, dims), &path, "");
    }

    // Pixel data too short for the frames.
    let mut obj = open_file(&good).unwrap();
    let pixels = obj.get(tags::PIXEL_DATA).unwrap().value().to_bytes().unwrap().to_vec();
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(pixels[..pixels.len() / 2].to_vec())));
    let short = dir.path().join("short.dcm");
    write_like(obj, &short);
    assert!(is_seg(&short));
    assert_refused(read_seg(&short, &g, dims), &short, "PixelData is too short");

    // Not binary.
    let mut obj = open_file(&good).unwrap();
    obj.put(DataElement::new(tags::SEGMENTATION_TYPE, VR::CS, PrimitiveValue::from("FRACTIONAL")));
    let fractional = dir.path().join("fractional.dcm");
    write_like(obj, &fractional);
    assert_refused(read_seg(&fractional, &g, dims), &fractional, "not a binary SEG");

    // NumberOfFrames that does not match the frames described.
    let mut obj = open_file(&good).unwrap();
    obj.put(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("4000000000")));
    let frames = dir.path().join("frames.dcm");
    write_like(obj, &frames);
    assert_refused(read_seg(&frames, &g, dims), &frames, "NumberOfFrames");

    // A segment of a structure Vasa has no class for.
    let mut obj = open_file(&good).unwrap();
    let mut segments = items(&obj, tags::SEGMENT_SEQUENCE);
    let liver = InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from("10200004")),
        DataElement::new(tags::CODING_SCHEME_DESIGNATOR, VR::SH, PrimitiveValue::from("SCT")),
        DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from("Liver")),
    ]);
    segments[0].put(DataElement::new(
        tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![liver]),
    ));
    segments[0].put(DataElement::new(tags::SEGMENT_LABEL, VR::LO, PrimitiveValue::from("liver")));
    obj.put(DataElement::new(tags::SEGMENT_SEQUENCE, VR::SQ, DataSetSequence::from(segments)));
    let unknown = dir.path().join("liver.dcm");
    write_like(obj, &unknown);
    assert_refused(read_seg(&unknown, &g, dims), &unknown, "no class for");

    // A declared length far beyond the file (4 GiB of pixel data) is
    // refused before anything is allocated for it.
    let header = [0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0];
    let at = bytes.windows(8).position(|w| w == header).expect("PixelData header") + 8;
    let mut huge = bytes.clone();
    huge[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let huge_path = dir.path().join("huge.dcm");
    std::fs::write(&huge_path, &huge).unwrap();
    assert_refused(read_seg(&huge_path, &g, dims), &huge_path, "more than its container holds");

    // Bytes flipped all over the file: an error or labels, never a panic.
    for (n_flip, at) in (132..bytes.len()).step_by(37).enumerate() {
        let mut corrupt = bytes.clone();
        corrupt[at] ^= 0xA5;
        let path = dir.path().join(format!("flip{n_flip}.dcm"));
        std::fs::write(&path, &corrupt).unwrap();
        let outcome = std::panic::catch_unwind(|| read_seg(&path, &g, dims));
        assert!(outcome.is_ok(), "read_seg panicked on a byte flipped at {at}");
    }
}

#[test]
fn a_seg_re_encoded_in_implicit_vr_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, scan) = dicom_scan(dir.path());
    let labels = vessel_labels(scan.volume.dims(), scan.volume.geometry);
    let path = dir.path().join("explicit.dcm");
    write_seg(&path, &labels, &scan.metadata, &options()).unwrap();
    let mut obj = open_file(&path).unwrap();
    let implicit = dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased();
    obj.meta_mut().set_transfer_syntax(&implicit);
    let re_encoded = dir.path().join("implicit.dcm");
    obj.write_to_file(&re_encoded).unwrap();
    assert!(is_seg(&re_encoded));
    let back = read_seg(&re_encoded, &scan.volume.geometry, scan.volume.dims()).unwrap();
    assert_eq!(back.data(), labels.data());
}

#[test]
fn new_uids_differ() {
    let uids: std::collections::HashSet<String> = (0..1000).map(|_| new_uid()).collect();
    assert_eq!(uids.len(), 1000);
}
