//! Speed of the 3D view's surfaces (`vasa_scan::surface`) on the sample
//! phantom (256×256×213, 1.37×1.37×1.5 mm): the three vessel classes built
//! in parallel as the viewer does, each class alone, and the legend's
//! figures (`class_stats`: counts and 26-connected pieces) as the peer the
//! viewer computes for the same layer.
//!
//! Run: `cargo bench -p vasa-inference --bench surface`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_scan::ClassTable;
use vasa_scan::label_stats::class_stats;
use vasa_scan::surface::{SurfaceOptions, class_surface};

fn surface(c: &mut Criterion) {
    let ph = phantom::generate(&PhantomOptions::new(1, Phase::Plain)).expect("phantom");
    let labels = ph.labels.map(|&l| if l <= 3 { l } else { 0 });
    let options = SurfaceOptions::for_dims(labels.dims());
    c.bench_function("surfaces of 3 classes (parallel) 256x256x213", |b| {
        b.iter(|| {
            let n: usize = [1u8, 2, 3]
                .par_iter()
                .map(|&class| class_surface(black_box(&labels), class, &options).triangle_count())
                .sum();
            black_box(n)
        })
    });
    for (class, name) in [(1u8, "artery"), (2, "vein"), (3, "aorta")] {
        c.bench_function(&format!("surface {name} 256x256x213"), |b| {
            b.iter(|| black_box(class_surface(black_box(&labels), class, &options).triangle_count()))
        });
    }
    c.bench_function("peer: class_stats (legend) 256x256x213", |b| {
        b.iter(|| black_box(class_stats(black_box(&labels), &ClassTable::default())))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = surface
}
criterion_main!(benches);
