//! Transfer syntaxes, pixel formats and rescale: native encodings round trip,
//! RLE through the codec path, an enhanced multi-frame CT, and the errors for
//! what is not supported.

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use vasa_scan::ScanError;
use vasa_scan::dicom::testing::{
    TestSeries, default_value, slice_object, write_enhanced_ct, write_object, write_test_series,
};
use vasa_scan::dicom::{LoadedSeries, load_dicom, scan_dicom};

/// Explicit VR Big Endian (retired, still found in archives).
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
/// JPEG-LS Lossless Image Compression.
const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";

fn expect_values(l: &LoadedSeries, f: impl Fn(usize, usize, usize) -> i32) {
    let [nx, ny, nz] = l.volume.dims();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                assert_eq!(*l.volume.get(i, j, k).unwrap() as i32, f(i, j, k), "voxel ({i}, {j}, {k})");
            }
        }
    }
}

fn round_trip(ts: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { transfer_syntax: ts.into(), rescale: (1.0, -1024.0), slices: 5, ..Default::default() };
    write_test_series(dir.path(), &spec).unwrap();
    let l = load_dicom(dir.path()).unwrap_or_else(|e| panic!("{ts}: {e}"));
    assert_eq!(l.volume.dims(), [16, 12, 5]);
    assert!(l.warnings.is_empty(), "{ts}: {:?}", l.warnings);
    expect_values(&l, |i, j, k| default_value(i, j, k) as i32 - 1024);
}

#[test]
fn explicit_little_endian_round_trips() {
    round_trip(uids::EXPLICIT_VR_LITTLE_ENDIAN);
}

#[test]
fn explicit_big_endian_round_trips() {
    round_trip(EXPLICIT_BE);
}

#[test]
fn implicit_little_endian_round_trips() {
    round_trip(uids::IMPLICIT_VR_LITTLE_ENDIAN);
}

#[test]
fn deflated_explicit_little_endian_round_trips() {
    round_trip(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
}

#[test]
fn rescale_slope_and_intercept_are_applied_per_slice_with_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { rescale: (0.5, -1000.0), slices: 4, ..Default::default() };
    for k in 0..spec.slices {
        let mut obj = slice_object(&spec, k);
        // Each slice has its own intercept.
        let intercept = -1000.0 + 100.0 * k as f64;
        obj.put(DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, PrimitiveValue::from(format!("{intercept}"))));
        write_object(&dir.path().join(format!("s{k}")), obj, &spec.transfer_syntax).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    expect_values(&l, |i, j, k| {
        let x = default_value(i, j, k) as f64 * 0.5 - 1000.0 + 100.0 * k as f64;
        x.round() as i32
    });
}

#[test]
fn unsigned_12_bit_samples_are_masked_and_rescaled() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, ..Default::default() };
    for k in 0..spec.slices {
        let mut obj = slice_object(&spec, k);
        obj.put(DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)));
        obj.put(DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)));
        obj.put(DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16)));
        obj.put(DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, PrimitiveValue::from("-1024")));
        // Stored 0..4095 with junk in the 4 unused high bits.
        let values: Vec<u16> = (0..spec.rows * spec.cols).map(|n| (n as u16 * 37 % 4096) | 0xA000).collect();
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(values.into())));
        write_object(&dir.path().join(format!("s{k}")), obj, uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    expect_values(&l, |i, j, _| ((j * 16 + i) as i32 * 37 % 4096) - 1024);
}

#[test]
fn eight_bit_samples_load() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, ..Default::default() };
    for k in 0..spec.slices {
        let mut obj = slice_object(&spec, k);
        obj.put(DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(8u16)));
        obj.put(DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(8u16)));
        obj.put(DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(7u16)));
        obj.put(DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16)));
        let values: Vec<u8> = (0..spec.rows * spec.cols).map(|n| (n * 3 + k) as u8).collect();
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(values.into())));
        write_object(&dir.path().join(format!("s{k}")), obj, EXPLICIT_BE).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    expect_values(&l, |i, j, k| ((j * 16 + i) * 3 + k) as u8 as i32);
}

/// RLE Lossless encoding of one 16-bit frame: two byte planes of literal runs.
fn rle_encode(values: &[i16]) -> Vec<u8> {
    let plane = |shift: u32| -> Vec<u8> {
        let bytes: Vec<u8> = values.iter().map(|v| ((*v as u16) >> shift) as u8).collect();
        let mut out = Vec::new();
        for run in bytes.chunks(128) {
            out.push((run.len() - 1) as u8);
            out.extend_from_slice(run);
        }
        if out.len() % 2 == 1 {
            out.push(0x80); // no-op padding
        }
        out
    };
    let (hi, lo) = (plane(8), plane(0));
    let mut header = vec![0u8; 64];
    header[0..4].copy_from_slice(&2u32.to_le_bytes());
    header[4..8].copy_from_slice(&64u32.to_le_bytes());
    header[8..12].copy_from_slice(&(64 + hi.len() as u32).to_le_bytes());
    [header, hi, lo].concat()
}

fn encapsulated(obj: &mut InMemDicomObject, fragment: Vec<u8>) {
    let seq = PixelFragmentSequence::new(Vec::<u32>::new(), vec![fragment]);
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, Value::PixelSequence(seq)));
}

#[test]
fn rle_lossless_decodes_through_the_codec_path() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 3, rescale: (1.0, -1024.0), shuffle_names: true, ..Default::default() };
    for k in 0..spec.slices {
        let mut obj = slice_object(&spec, k);
        encapsulated(&mut obj, rle_encode(&spec.slice_values(k)));
        write_object(&dir.path().join(format!("r{k}")), obj, uids::RLE_LOSSLESS).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    expect_values(&l, |i, j, k| default_value(i, j, k) as i32 - 1024);
}

#[test]
fn enhanced_multiframe_ct_uses_functional_groups() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 7, rescale: (2.0, -1024.0), slice_step: 1.25, ..Default::default() };
    let path = dir.path().join("enhanced.dcm");
    let order = write_enhanced_ct(&path, &spec).unwrap();
    assert_eq!(order[0], 6, "frames are stored in reverse order");
    let index = scan_dicom(&path).unwrap();
    assert_eq!(index.series.len(), 1);
    assert_eq!(index.series[0].num_frames, 7);
    assert_eq!(index.series[0].files.len(), 1);
    let l = load_dicom(&path).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.volume.dims(), [16, 12, 7]);
    let g = l.volume.geometry;
    assert!((g.spacing.z - 1.25).abs() < 1e-9 && (g.spacing.x - 0.7).abs() < 1e-9, "{g:?}");
    assert_eq!(g.origin.to_array(), spec.origin);
    expect_values(&l, |i, j, k| default_value(i, j, k) as i32 * 2 - 1024);
}

#[test]
fn enhanced_multiframe_in_big_endian_and_implicit_le() {
    for ts in [EXPLICIT_BE, uids::IMPLICIT_VR_LITTLE_ENDIAN] {
        let dir = tempfile::tempdir().unwrap();
        let spec = TestSeries { slices: 4, transfer_syntax: ts.into(), ..Default::default() };
        let path = dir.path().join("enhanced.dcm");
        write_enhanced_ct(&path, &spec).unwrap();
        let l = load_dicom(&path).unwrap_or_else(|e| panic!("{ts}: {e}"));
        expect_values(&l, |i, j, k| default_value(i, j, k) as i32);
    }
}

#[test]
fn jpeg_ls_is_refused_naming_the_transfer_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, ..Default::default() };
    for k in 0..spec.slices {
        let mut obj = slice_object(&spec, k);
        encapsulated(&mut obj, vec![0xFF, 0xD8, 0xFF, 0xF7, 0, 0]);
        write_object(&dir.path().join(format!("j{k}")), obj, JPEG_LS).unwrap();
    }
    let index = scan_dicom(dir.path()).unwrap();
    let problem = index.series[0].problem.clone().unwrap();
    assert!(problem.contains("1.2.840.10008.1.2.4.80") && problem.contains("JPEG-LS"), "{problem}");
    let err = load_dicom(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::Unsupported { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("1.2.840.10008.1.2.4.80") && msg.contains("JPEG-LS") && msg.contains("j0"), "{msg}");
}

#[test]
fn unknown_transfer_syntax_is_named_in_the_skip_reason() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 1, ..Default::default() };
    write_object(&dir.path().join("odd.dcm"), slice_object(&spec, 0), uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    // Patch the TransferSyntaxUID in the meta group to a private one of the same length.
    let path = dir.path().join("odd.dcm");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(19).position(|w| w == b"1.2.840.10008.1.2.1").unwrap();
    bytes[at..at + 19].copy_from_slice(b"1.2.3.4.5.6.7.8.9.1");
    std::fs::write(&path, bytes).unwrap();
    let err = scan_dicom(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ScanError::NothingToLoad { .. }), "{msg}");
    assert!(msg.contains("1.2.3.4.5.6.7.8.9.1"), "{msg}");
}

#[test]
fn colour_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 1, ..Default::default() };
    let mut obj = slice_object(&spec, 0);
    obj.put(DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(3u16)));
    obj.put(DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, PrimitiveValue::from("RGB")));
    write_object(&dir.path().join("rgb.dcm"), obj, uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    let err = load_dicom(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::Unsupported { .. }) && err.to_string().contains("RGB"), "{err}");
}

#[test]
fn monochrome1_keeps_modality_values_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, ..Default::default() };
    for k in 0..2 {
        let mut obj = slice_object(&spec, k);
        obj.put(DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, PrimitiveValue::from("MONOCHROME1")));
        write_object(&dir.path().join(format!("m{k}")), obj, uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    assert!(l.warnings.iter().any(|w| w.contains("MONOCHROME1")), "{:?}", l.warnings);
    expect_values(&l, |i, j, k| default_value(i, j, k) as i32);
}

#[test]
fn jpeg_baseline_decodes_within_lossy_tolerance() {
    use dicom_object::meta::FileMetaTableBuilder;
    use dicom_pixeldata::Transcode;
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries { slices: 2, cols: 32, rows: 24, ..Default::default() };
    let expected = |i: usize, j: usize, k: usize| (i * 4 + j * 3 + k * 20) as i32;
    for k in 0..spec.slices {
        let mut obj = slice_object(&spec, k);
        obj.put(DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(8u16)));
        obj.put(DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(8u16)));
        obj.put(DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(7u16)));
        obj.put(DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16)));
        let values: Vec<u8> =
            (0..spec.rows).flat_map(|j| (0..spec.cols).map(move |i| expected(i, j, k) as u8)).collect();
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(values.into())));
        let mut file =
            obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)).unwrap();
        file.transcode(&dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased()).unwrap();
        assert_eq!(file.meta().transfer_syntax().trim_end_matches('\0'), uids::JPEG_BASELINE8_BIT);
        file.write_to_file(dir.path().join(format!("j{k}"))).unwrap();
    }
    let l = load_dicom(dir.path()).unwrap();
    let [nx, ny, nz] = l.volume.dims();
    assert_eq!([nx, ny, nz], [32, 24, 2]);
    let mut worst = 0;
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                worst = worst.max((*l.volume.get(i, j, k).unwrap() as i32 - expected(i, j, k)).abs());
            }
        }
    }
    assert!(worst <= 12, "JPEG error up to {worst}");
}
