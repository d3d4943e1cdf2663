//! Speed of the processing modules on CT-sized volumes (512×512×400):
//! 26-connected labelling, body and lung masks, and resampling.
//!
//! Run: `cargo bench --bench processing -p vasa-scan`. The synthetic chest is
//! the one the mask tests use (`tests/processing_chest.rs`), at 0.7×0.7×1 mm.

#[path = "../tests/processing_chest.rs"]
mod chest;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use vasa_scan::components::{Connectivity, label};
use vasa_scan::masks::{BodyMaskOptions, LungMaskOptions, body_mask, lung_mask};
use vasa_scan::resample::resample_linear;

const DIMS: [usize; 3] = [512, 512, 400];
const SPACING: DVec3 = DVec3::new(0.7, 0.7, 1.0);

fn processing(c: &mut Criterion) {
    let chest = chest::chest(DIMS, SPACING, true);
    let ct = &chest.ct;

    // Air-like voxels: outside air, lungs with their vessels as holes,
    // trachea, bronchi, a gas bubble: the structure the lung mask labels.
    let air = ct.map(|&hu| hu < -400);
    // A harder case: lung parenchyma thresholded inside its noise, so the
    // lungs fall apart into hundreds of thousands of specks.
    let speckled = ct.map(|&hu| hu < -858);
    c.bench_function("cc26 air mask 512x512x400", |b| {
        b.iter(|| black_box(label(black_box(&air), Connectivity::TwentySix).count()))
    });
    c.bench_function("cc26 speckled lungs 512x512x400", |b| {
        b.iter(|| black_box(label(black_box(&speckled), Connectivity::TwentySix).count()))
    });
    drop((air, speckled));

    c.bench_function("body + lung mask 512x512x400", |b| {
        b.iter(|| {
            let body = body_mask(black_box(ct), &BodyMaskOptions::default());
            black_box(lung_mask(ct, &body, &LungMaskOptions::default()))
        })
    });

    c.bench_function("resample i16 512x512x400 0.7x0.7x1 -> 1.5 mm", |b| {
        b.iter(|| black_box(resample_linear(black_box(ct), DVec3::splat(1.5))))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = processing
}
criterion_main!(benches);
