//! Phantom generation speed: one 256 × 256 × 256 phantom (1.2 mm slices).
//! The contract is under 10 s on the 2-core development machine.

use criterion::{Criterion, criterion_group, criterion_main};
use vasa_inference::phantom::{PhantomOptions, Phase, generate};

fn bench(c: &mut Criterion) {
    let mut opts = PhantomOptions::new(1, Phase::Arterial);
    opts.dims = [256, 256, 256];
    opts.spacing.z = 1.2;
    let mut g = c.benchmark_group("phantom");
    g.sample_size(10);
    g.bench_function("generate_256x256x256", |b| b.iter(|| generate(&opts).expect("valid options")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
