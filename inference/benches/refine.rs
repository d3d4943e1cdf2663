//! S204–S208 on a 512×512×400 chest phantom, next to the related art (a
//! threshold, then region growing by repeated conditional dilation) on the same input, in
//! the same run. The first segmentation is the phantom's truth with the
//! vessels' outer layer and every 7th slab of vessel removed, so both methods
//! have gaps to close.
//!
//! Run: `cargo bench -p vasa-inference --bench refine`.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_inference::refine::{self, RefineOptions, baseline};
use vasa_scan::LabelMap;

fn damaged(truth: &LabelMap) -> LabelMap {
    let mut first = truth.clone();
    let [nx, ny, nz] = truth.dims();
    let t = truth.data();
    for k in 1..nz - 1 {
        for j in 1..ny - 1 {
            for i in 1..nx - 1 {
                let idx = i + nx * (j + ny * k);
                let c = t[idx];
                if !(1..=3).contains(&c) {
                    continue;
                }
                let edge = [1, nx, nx * ny].iter().any(|&s| t[idx - s] != c || t[idx + s] != c);
                if edge || k % 7 == 0 {
                    first.data_mut()[idx] = 0;
                }
            }
        }
    }
    for v in first.data_mut() {
        if *v > 3 {
            *v = 0;
        }
    }
    first
}

fn bench(c: &mut Criterion) {
    let options =
        PhantomOptions { seed: 5, phase: Phase::Plain, dims: [512, 512, 400], spacing: DVec3::new(0.68, 0.68, 0.8) };
    let ph = phantom::generate(&options).expect("phantom");
    let first = damaged(&ph.labels);
    let roi = refine::thoracic_roi(&ph.ct, Some(&first));
    // Unlimited growth for both, so they reach the same voxels.
    let opts = RefineOptions { max_growth_mm: None, ..RefineOptions::default() };
    let r = refine::refine(&ph.ct, &first, &roi, &opts);
    let ranges = refine::estimate_hu_ranges(&ph.ct, &first, &refine::VESSEL_CLASSES, &opts.hu);
    let set = refine::vessel_voxel_set(&ph.ct, &roi, &ranges);
    let (grown, passes) = baseline::threshold_region_growing(&ph.ct, &first, &set, &ranges);
    eprintln!(
        "set {} voxels; waves {} added {:?}; baseline {} passes, added {}",
        r.set_voxels,
        r.waves.waves,
        &r.waves.added[1..4],
        passes,
        grown.data().iter().zip(first.data()).filter(|(a, b)| a != b).count()
    );

    let mut g = c.benchmark_group("refine_512x512x400");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(30));
    g.bench_function("thoracic ROI (masks)", |b| b.iter(|| refine::thoracic_roi(&ph.ct, Some(&first))));
    g.bench_function("S204-S208 waves", |b| b.iter(|| refine::refine(&ph.ct, &first, &roi, &opts)));
    g.bench_function("threshold + region growing (related art)", |b| {
        b.iter(|| {
            let ranges = refine::estimate_hu_ranges(&ph.ct, &first, &refine::VESSEL_CLASSES, &opts.hu);
            let set = refine::vessel_voxel_set(&ph.ct, &roi, &ranges);
            baseline::threshold_region_growing(&ph.ct, &first, &set, &ranges)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
