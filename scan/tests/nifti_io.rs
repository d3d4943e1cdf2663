//! NIfTI reading and writing: the real 3 mm scan, round trips, every datatype,
//! and hostile headers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use glam::{DMat3, DVec3};
use vasa_scan::nifti::{self, DataType, TransformSource};
use vasa_scan::{Geometry, ScanError, Volume};

fn real_nifti() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ct-abdomen-3mm.nii.gz")
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut out).unwrap();
    out
}

fn f32_at(b: &[u8], off: usize) -> f64 {
    f32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as f64
}

#[test]
fn real_scan_loads_with_ras_affine_converted_to_lps() {
    let path = real_nifti();
    let (ct, info) = nifti::read_ct_with_info(&path).unwrap();
    assert_eq!(ct.dims(), [122, 101, 112]);
    assert_eq!(info.datatype, DataType::I32);
    assert_eq!(ct.min_max(), Some((-1207, 3382)));

    // Independent reading of the header's sform rows (RAS).
    let raw = gunzip(&path);
    assert_eq!(i16::from_le_bytes([raw[254], raw[255]]) > 0, info.transform == TransformSource::Sform);
    let srow = |r: usize| [0, 1, 2, 3].map(|c| f32_at(&raw, 280 + 16 * r + 4 * c));
    let rows = [srow(0), srow(1), srow(2)];
    let ras = |ijk: [f64; 3]| {
        let p = |r: [f64; 4]| r[0] * ijk[0] + r[1] * ijk[1] + r[2] * ijk[2] + r[3];
        DVec3::new(p(rows[0]), p(rows[1]), p(rows[2]))
    };
    for corner in [[0usize, 0, 0], [121, 100, 111], [121, 0, 0], [0, 100, 111]] {
        let expect_ras = ras(corner.map(|c| c as f64));
        let expect_lps = DVec3::new(-expect_ras.x, -expect_ras.y, expect_ras.z);
        let got = ct.voxel_to_world(corner);
        assert!((got - expect_lps).abs().max_element() < 1e-3, "corner {corner:?}: {got} vs {expect_lps}");
    }
    // The header's codes are R,A,S: i runs to patient Right, i.e. not 'L'.
    let code = ct.geometry.orientation_code();
    assert_eq!(code, "RAS", "orientation code {code}");
    assert!((ct.geometry.spacing - DVec3::splat(3.0)).abs().max_element() < 1e-3);
}

#[test]
fn real_scan_round_trips_through_writer() {
    let dir = tempfile::tempdir().unwrap();
    let ct = nifti::read_ct(&real_nifti()).unwrap();
    let out = dir.path().join("ct.nii.gz");
    nifti::write_nifti(&out, &ct).unwrap();
    let back = nifti::read_ct(&out).unwrap();
    assert_eq!(back.data(), ct.data());
    assert!(back.same_grid(&ct));
    for corner in [[0usize, 0, 0], [121, 100, 111]] {
        assert!((back.voxel_to_world(corner) - ct.voxel_to_world(corner)).abs().max_element() < 1e-3);
    }
}

fn oblique_geometry() -> Geometry {
    Geometry {
        spacing: DVec3::new(0.68, 0.72, 1.25),
        origin: DVec3::new(-171.5, -180.25, -402.0),
        direction: DMat3::from_euler(glam::EulerRot::XYZ, 0.1, -0.2, 0.3),
    }
}

#[test]
fn images_and_labels_round_trip_with_identical_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [17, 11, 7];
    let n = dims.iter().product::<usize>();
    for geometry in [Geometry::default(), oblique_geometry(), {
        // A left-handed frame (k flipped) exercises qfac = −1.
        let mut g = oblique_geometry();
        g.direction = DMat3::from_cols(g.direction.col(0), g.direction.col(1), -g.direction.col(2));
        g
    }] {
        let img = Volume::from_vec(dims, (0..n).map(|i| (i as i16 * 37) - 1024).collect(), geometry).unwrap();
        let lab = Volume::from_vec(dims, (0..n).map(|i| (i % 5) as u8).collect(), geometry).unwrap();
        for name in ["a.nii", "a.nii.gz"] {
            let p = dir.path().join(name);
            nifti::write_nifti(&p, &img).unwrap();
            let back = nifti::read_ct(&p).unwrap();
            assert_eq!(back.data(), img.data());
            assert!(back.same_grid(&img), "{name}: {:?} vs {:?}", back.geometry, img.geometry);
            let lp = dir.path().join(format!("labels-{name}"));
            nifti::write_nifti(&lp, &lab).unwrap();
            let lback = nifti::read_labels(&lp).unwrap();
            assert_eq!(lback.data(), lab.data());
            assert!(lback.same_grid(&img));
            // Labels are stored as uint8.
            let (info, _) = nifti::read_info(&lp).unwrap();
            assert_eq!(info.datatype, DataType::U8);
        }
        // The qform alone (sform code zeroed) gives the same geometry.
        let p = dir.path().join("q.nii");
        nifti::write_nifti(&p, &img).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[254..256].copy_from_slice(&0i16.to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let (back, info) = nifti::read_ct_with_info(&p).unwrap();
        assert_eq!(info.transform, TransformSource::Qform);
        assert!(back.same_grid(&img), "qform: {:?} vs {:?}", back.geometry, img.geometry);
    }
}

/// A header from the writer for a 4×3×2 volume, to patch field by field.
fn template() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.nii");
    let v = Volume::from_vec([4, 3, 2], vec![0i16; 24], Geometry::default()).unwrap();
    nifti::write_nifti(&p, &v).unwrap();
    std::fs::read(&p).unwrap()[..352].to_vec()
}

/// A file with the template header, the given datatype and raw data, in
/// either byte order.
fn file_with(datatype: i16, bitpix: i16, data: &[u8], big_endian: bool, patch: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut h = template();
    h[70..72].copy_from_slice(&datatype.to_le_bytes());
    h[72..74].copy_from_slice(&bitpix.to_le_bytes());
    patch(&mut h);
    if big_endian {
        // Swap every numeric field of the header to big-endian.
        let swap = |h: &mut Vec<u8>, off: usize, n: usize| h[off..off + n].reverse();
        swap(&mut h, 0, 4);
        for i in 0..8 {
            swap(&mut h, 40 + 2 * i, 2);
        }
        for off in [56, 60, 64] {
            swap(&mut h, off, 4);
        }
        for off in [68, 70, 72, 74] {
            swap(&mut h, off, 2);
        }
        for i in 0..8 {
            swap(&mut h, 76 + 4 * i, 4);
        }
        for off in [108, 112, 116, 124, 128, 132, 136, 140, 144] {
            swap(&mut h, off, 4);
        }
        swap(&mut h, 120, 2);
        swap(&mut h, 252, 2);
        swap(&mut h, 254, 2);
        for i in 0..18 {
            swap(&mut h, 256 + 4 * i, 4);
        }
    }
    let mut out = h;
    out.extend_from_slice(data);
    out
}

fn write_tmp(bytes: &[u8], gz: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(if gz { "x.nii.gz" } else { "x.nii" });
    if gz {
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    } else {
        std::fs::write(&p, bytes).unwrap();
    }
    (dir, p)
}

#[test]
fn every_scalar_datatype_in_both_byte_orders_with_scaling() {
    let values: Vec<f64> = (0..24).map(|i| i as f64 * 3.0).collect();
    macro_rules! case {
        ($t:ty, $code:expr) => {{
            for be in [false, true] {
                let data: Vec<u8> = values
                    .iter()
                    .flat_map(|&v| {
                        let x = v as $t;
                        if be { x.to_be_bytes().to_vec() } else { x.to_le_bytes().to_vec() }
                    })
                    .collect();
                let bits = (std::mem::size_of::<$t>() * 8) as i16;
                // slope 2, intercept −1000: HU = 2·v − 1000.
                let bytes = file_with($code, bits, &data, be, |h| {
                    h[112..116].copy_from_slice(&2.0f32.to_le_bytes());
                    h[116..120].copy_from_slice(&(-1000.0f32).to_le_bytes());
                });
                let (_d, p) = write_tmp(&bytes, be);
                let ct = nifti::read_ct(&p).unwrap_or_else(|e| panic!("{} be={be}: {e}", stringify!($t)));
                let expect: Vec<i16> = values.iter().map(|v| (2.0 * v - 1000.0) as i16).collect();
                assert_eq!(ct.data(), &expect[..], "{} be={be}", stringify!($t));
            }
        }};
    }
    case!(u8, 2);
    case!(i16, 4);
    case!(i32, 8);
    case!(f32, 16);
    case!(f64, 64);
    case!(i8, 256);
    case!(u16, 512);
    case!(u32, 768);
    case!(i64, 1024);
    case!(u64, 1280);
}

#[test]
fn big_endian_int16_fast_path() {
    let data: Vec<u8> = (0..24i16).flat_map(|v| (v * 100 - 1000).to_be_bytes()).collect();
    let bytes = file_with(4, 16, &data, true, |_| {});
    let (_d, p) = write_tmp(&bytes, false);
    let ct = nifti::read_ct(&p).unwrap();
    assert_eq!(ct.data()[23], 1300);
}

fn expect_err(bytes: &[u8], needle: &str) -> ScanError {
    let (_d, p) = write_tmp(bytes, false);
    let e = nifti::read_ct(&p).expect_err(needle);
    let msg = e.to_string();
    assert!(msg.contains("x.nii"), "error must name the file: {msg}");
    assert!(msg.contains(needle), "expected {needle:?} in {msg:?}");
    e
}

#[test]
fn hostile_and_broken_headers_give_clear_errors() {
    let data = vec![0u8; 48];
    let good = file_with(4, 16, &data, false, |_| {});
    // Truncated voxel data and truncated header.
    assert!(matches!(expect_err(&good[..good.len() - 10], "truncated"), ScanError::Truncated { .. }));
    expect_err(&good[..100], "truncated");
    expect_err(&[], "truncated");
    // Wrong magic.
    let mut b = good.clone();
    b[344..348].copy_from_slice(b"XXXX");
    expect_err(&b, "not a valid NIfTI-1 header");
    // Not NIfTI at all.
    expect_err(&vec![7u8; 400], "not a NIfTI-1 file");
    // Dimensions whose product overflows or exceeds memory: refused before allocating.
    let huge = file_with(4, 16, &data, false, |h| {
        for i in 1..4 {
            h[40 + 2 * i..42 + 2 * i].copy_from_slice(&32767i16.to_le_bytes());
        }
    });
    let e = expect_err(&huge, "bytes allowed");
    assert!(matches!(e, ScanError::TooLarge { .. }));
    // Zero and NaN spacing in the transform that is used.
    for bad in [0.0f32, f32::NAN] {
        let b = file_with(4, 16, &data, false, |h| {
            h[254..256].copy_from_slice(&0i16.to_le_bytes()); // no sform: qform is used
            h[80..84].copy_from_slice(&bad.to_le_bytes());
        });
        expect_err(&b, "pixdim[1]");
    }
    // A sheared sform and no qform.
    let b = file_with(4, 16, &data, false, |h| {
        h[252..254].copy_from_slice(&0i16.to_le_bytes());
        h[284..288].copy_from_slice(&0.7f32.to_le_bytes()); // srow_x[1]: shear
    });
    expect_err(&b, "not orthogonal");
    // Negative and zero dimensions, 4-D series, bad dim[0].
    let b = file_with(4, 16, &data, false, |h| h[42..44].copy_from_slice(&(-4i16).to_le_bytes()));
    expect_err(&b, "dim[1] = -4");
    let b = file_with(4, 16, &data, false, |h| {
        h[40..42].copy_from_slice(&4i16.to_le_bytes());
        h[48..50].copy_from_slice(&5i16.to_le_bytes());
    });
    expect_err(&b, "single 3-D volumes");
    // Unsupported datatype, inconsistent bitpix, hostile vox_offset.
    expect_err(&file_with(32, 64, &data, false, |_| {}), "datatype 32");
    expect_err(&file_with(4, 8, &data, false, |_| {}), "bitpix");
    let b = file_with(4, 16, &data, false, |h| h[108..112].copy_from_slice(&1e30f32.to_le_bytes()));
    expect_err(&b, "vox_offset");
    // NIfTI-2.
    let mut b = good.clone();
    b[0..4].copy_from_slice(&540i32.to_le_bytes());
    expect_err(&b, "NIfTI-2");
}

#[test]
fn corrupt_gzip_stream_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.nii.gz");
    let v =
        Volume::from_vec([64, 64, 8], (0..32768).map(|i| (i % 2000) as i16).collect(), Geometry::default()).unwrap();
    nifti::write_nifti(&p, &v).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&p, &bytes).unwrap();
    let e = nifti::read_ct(&p).unwrap_err().to_string();
    assert!(e.contains("c.nii.gz"), "{e}");
    // Truncated gzip.
    let full = std::fs::read(&p).unwrap();
    std::fs::write(&p, &full[..full.len() / 3]).unwrap();
    let e = nifti::read_ct(&p).unwrap_err().to_string();
    assert!(e.contains("c.nii.gz"), "{e}");
}

#[test]
fn labels_must_be_whole_numbers_in_range() {
    let data: Vec<u8> = (0..24).flat_map(|i| (if i == 5 { 3.5f32 } else { 1.0 }).to_le_bytes()).collect();
    let (_d, p) = write_tmp(&file_with(16, 32, &data, false, |_| {}), false);
    let e = nifti::read_labels(&p).unwrap_err().to_string();
    assert!(e.contains("3.5") && e.contains("(1, 1, 0)"), "{e}");
    let data: Vec<u8> = (0..24i16).flat_map(|i| (i * 20).to_le_bytes()).collect();
    let (_d, p) = write_tmp(&file_with(4, 16, &data, false, |_| {}), false);
    let e = nifti::read_labels(&p).unwrap_err().to_string();
    assert!(e.contains("not valid label values"), "{e}");
}

#[test]
fn failed_write_leaves_previous_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("labels.nii.gz");
    let v = Volume::from_vec([4, 3, 2], vec![1u8; 24], Geometry::default()).unwrap();
    nifti::write_nifti(&p, &v).unwrap();
    let before = std::fs::read(&p).unwrap();
    // A volume NIfTI-1 cannot store: the write fails, the old file stays.
    let big = Volume::filled([40000, 1, 1], 2u8, Geometry::default());
    assert!(nifti::write_nifti(&p, &big).is_err());
    assert_eq!(std::fs::read(&p).unwrap(), before);
    // Writing into a missing folder names the file.
    let e = nifti::write_nifti(&dir.path().join("no/such/dir/x.nii"), &v).unwrap_err().to_string();
    assert!(e.contains("x.nii"), "{e}");
}
