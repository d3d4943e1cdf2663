//! Fuzz target: any byte string handed to the NIfTI reader (plain and
//! gzip-wrapped) must give a volume or an error, never a panic or an
//! unbounded allocation.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Keep allocations bounded whatever the header claims.
    // SAFETY: the fuzzer runs this target single-threaded before any reads of the variable.
    unsafe { std::env::set_var("VASA_MAX_VOLUME_BYTES", "67108864") };
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("x.nii");
    std::fs::write(&plain, data).expect("write input");
    let _ = vasa_scan::nifti::read_ct(&plain);
    let _ = vasa_scan::nifti::read_labels(&plain);
    let gz = dir.path().join("x.nii.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).expect("create"), flate2::Compression::fast());
    enc.write_all(data).expect("compress");
    enc.finish().expect("finish");
    let _ = vasa_scan::nifti::read_f32(&gz);
});
