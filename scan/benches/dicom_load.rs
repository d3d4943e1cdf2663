//! DICOM load speed, header scan included: a synthetic 400-slice 512×512
//! int16 uncompressed series (the target is ≥ 300 slices/s on a 2-core
//! machine), and the real 20-slice JPEG 2000 series from shared/data.
//!
//! Run: `cargo bench --bench dicom_load -p vasa-scan`. Criterion reports the
//! throughput in slices per second (`elem/s`).

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use vasa_scan::dicom::load_dicom;
use vasa_scan::dicom::testing::{TestSeries, write_test_series};

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/ct-abdomen-dicom-j2k");

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestSeries {
        cols: 512,
        rows: 512,
        slices: 400,
        pixel_spacing: [0.7, 0.7],
        slice_step: 1.0,
        rescale: (1.0, -1024.0),
        shuffle_names: true,
        ..Default::default()
    };
    write_test_series(dir.path(), &spec).unwrap();

    let mut group = c.benchmark_group("dicom_load");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(400));
    group.bench_function("uncompressed_int16_400x512x512", |b| {
        b.iter(|| {
            let l = load_dicom(dir.path()).unwrap();
            assert_eq!(l.volume.dims(), [512, 512, 400]);
        })
    });
    if Path::new(REAL).is_dir() {
        group.throughput(Throughput::Elements(20));
        group.bench_function("jpeg2000_real_20x512x512", |b| {
            b.iter(|| {
                let l = load_dicom(Path::new(REAL)).unwrap();
                assert_eq!(l.volume.dims(), [512, 512, 20]);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
