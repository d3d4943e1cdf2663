//! NIfTI load speed: `read_ct` on a 512×512×400 int16 `.nii.gz`, next to
//! `gzip -dc` of the same file (the peer the issue measures against), and the
//! same file uncompressed.
//!
//! Run: `cargo bench --bench load -p vasa-scan`. The figure that matters is the
//! ratio of the two medians.

use std::path::Path;
use std::process::{Command, Stdio};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::{Geometry, Volume, nifti};

/// A CT-like 512×512×400 volume: air, a body ellipse of soft tissue with two
/// lungs, noise of σ ≈ 20 HU (so it compresses like a real scan, not like zeros).
fn synthetic_ct() -> Volume<i16> {
    let (nx, ny, nz) = (512usize, 512usize, 400usize);
    let mut data = vec![0i16; nx * ny * nz];
    data.par_chunks_mut(nx * ny).enumerate().for_each(|(k, slice)| {
        let mut state = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for j in 0..ny {
            for i in 0..nx {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Sum of 4 uniform bytes: roughly Gaussian, σ ≈ 20.
                let noise = ((state & 0xff) + ((state >> 8) & 0xff) + ((state >> 16) & 0xff) + ((state >> 24) & 0xff))
                    as i32
                    - 510;
                let noise = noise * 20 / 147;
                let x = (i as f64 - 256.0) / 230.0;
                let y = (j as f64 - 256.0) / 160.0;
                let lung = |cx: f64| ((i as f64 - cx) / 80.0).powi(2) + ((j as f64 - 250.0) / 110.0).powi(2) < 1.0;
                let v = if x * x + y * y > 1.0 {
                    -1000
                } else if lung(160.0) || lung(352.0) {
                    -850 + noise
                } else {
                    40 + noise
                };
                slice[i + nx * j] = v as i16;
            }
        }
    });
    Volume::from_vec([nx, ny, nz], data, Geometry::axis_aligned(DVec3::new(0.7, 0.7, 1.0), DVec3::ZERO)).unwrap()
}

fn gzip_dc(path: &Path) {
    let status = Command::new("gzip").arg("-dc").arg(path).stdout(Stdio::null()).status().expect("gzip runs");
    assert!(status.success());
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("ct.nii.gz");
    let raw = dir.path().join("ct.nii");
    let ct = synthetic_ct();
    nifti::write_nifti(&gz, &ct).unwrap();
    nifti::write_nifti(&raw, &ct).unwrap();
    eprintln!(
        "file: {} MB compressed, {} MB raw",
        std::fs::metadata(&gz).unwrap().len() >> 20,
        std::fs::metadata(&raw).unwrap().len() >> 20
    );

    let mut g = c.benchmark_group("nifti_512x512x400_int16");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(20));
    g.throughput(Throughput::Elements(400));
    g.bench_function("gzip -dc (peer)", |b| b.iter(|| gzip_dc(&gz)));
    g.bench_function("read_ct .nii.gz", |b| b.iter(|| nifti::read_ct(&gz).unwrap()));
    g.bench_function("read_ct .nii", |b| b.iter(|| nifti::read_ct(&raw).unwrap()));
    g.bench_function("write .nii.gz", |b| b.iter(|| nifti::write_nifti(&gz, &ct).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
