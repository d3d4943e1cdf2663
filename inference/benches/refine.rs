//! S204–S208 on a 512×512×400 chest phantom, next to the related art (a
//! threshold, then region growing by repeated conditional dilation) on the same
//! input, in the same run, with the same growth limit (10 mm). The first
//! segmentation is the phantom's truth with the vessels' outer layer and every
//! 7th slab of vessel removed, so both methods have gaps to close.
//!
//! A median table rather than criterion: one run of the related art takes
//! tens of seconds. Run: `cargo bench -p vasa-inference --bench refine`.

use std::time::Instant;

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

fn median_secs(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list
    }
    let options = PhantomOptions::grid(5, Phase::Plain, [512, 512, 400], DVec3::new(0.68, 0.68, 0.8));
    let ph = phantom::generate(&options).expect("phantom");
    let first = damaged(&ph.labels);
    let opts = RefineOptions::default();
    let max_mm = opts.max_growth.map_or(10.0, |g| g.plain_mm);
    let passes = (max_mm / ph.ct.geometry.spacing.min_element()).ceil() as usize;

    let roi_t = median_secs(3, || drop(refine::thoracic_roi(&ph.ct, Some(&first))));
    let roi = refine::thoracic_roi(&ph.ct, Some(&first));
    let r = refine::refine(&ph.ct, &first, &roi, &opts);
    let waves_t = median_secs(5, || drop(refine::refine(&ph.ct, &first, &roi, &opts)));
    let mut grown = None;
    let base_t = median_secs(3, || {
        let ranges = refine::estimate_hu_ranges(&ph.ct, &first, &refine::VESSEL_CLASSES, &opts.hu);
        let set = refine::vessel_voxel_set(&ph.ct, &roi, &ranges);
        grown = Some(baseline::threshold_region_growing(&ph.ct, &first, &set, &ranges, Some(passes)));
    });
    let (grown, done) = grown.expect("ran");
    let added_base = grown.data().iter().zip(first.data()).filter(|(a, b)| a != b).count();
    let added_waves: u64 = r.waves.added.iter().sum();
    println!("512×512×400 plain phantom, growth limit {max_mm} mm ({passes} voxels)");
    println!("| step | median | voxels added |");
    println!("| --- | --- | --- |");
    println!("| thoracic ROI (body + lung masks) | {roi_t:.2} s | |");
    println!("| S204–S208, waves ({} waves) | {waves_t:.2} s | {added_waves} |", r.waves.waves);
    println!("| threshold + region growing ({done} passes) | {base_t:.2} s | {added_base} |");
    println!("ratio related art / waves: {:.1}×", base_t / waves_t);
}
