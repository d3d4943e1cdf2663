//! Fuzz target: any byte string, as a file in a folder (alone, or next to a
//! valid CT slice it may join as a series), must make `scan_dicom` and
//! `load_series` return a result or an error — never panic, never allocate
//! without bound.
//!
//! The first input byte picks the variant: bit 0 adds a valid slice, bit 1
//! prefixes the rest with a DICOM preamble and `DICM` so the fuzzer reaches
//! the parser at once.
#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use libfuzzer_sys::fuzz_target;
use vasa_scan::dicom::testing::{TestSeries, write_test_series};
use vasa_scan::dicom::{load_series, scan_dicom};

/// One valid 8×8 CT slice, written once.
fn valid_slice() -> &'static [u8] {
    static VALID: OnceLock<Vec<u8>> = OnceLock::new();
    VALID.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = TestSeries { slices: 1, cols: 8, rows: 8, ..Default::default() };
        let paths = write_test_series(dir.path(), &spec).expect("write a valid slice");
        std::fs::read(&paths[0]).expect("read it back")
    })
}

fuzz_target!(|data: &[u8]| {
    // Keep allocations bounded whatever the header claims.
    // SAFETY: set before the loader reads it, with the same value every run.
    unsafe { std::env::set_var("VASA_MAX_VOLUME_BYTES", "67108864") };
    let Some((&mode, body)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let input = if mode & 2 != 0 {
        let mut v = vec![0u8; 128];
        v.extend_from_slice(b"DICM");
        v.extend_from_slice(body);
        v
    } else {
        body.to_vec()
    };
    std::fs::write(dir.path().join("fuzz.dcm"), &input).expect("write input");
    if mode & 1 != 0 {
        std::fs::write(dir.path().join("valid.dcm"), valid_slice()).expect("write valid slice");
    }
    if let Ok(index) = scan_dicom(dir.path()) {
        let cancel = AtomicBool::new(false);
        for series in &index.series {
            let _ = load_series(series, &|_, _| {}, &cancel);
        }
    }
});
