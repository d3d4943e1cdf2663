//! Phantom generation speed: one 256 × 256 × 256 phantom (1.2 mm slices; the
//! contract is under 10 s on the 2-core development machine) and one
//! full-size 512 × 512 × 300 chest CT (0.68 mm pixels, 1 mm slices, standard
//! kernel; the contract is under 15 s on 2 cores), plus the same volume as
//! 5 mm slices, which paints 1 mm sub-slices and averages them. Peer in the
//! same run: reading that 512 × 512 × 300 phantom back from a .nii.gz (what
//! training would do with phantoms stored on disk instead of generated).

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use vasa_inference::phantom::{PhantomOptions, Phase, generate};

fn bench(c: &mut Criterion) {
    let mut opts = PhantomOptions::new(1, Phase::Ctpa);
    opts.dims = [256, 256, 256];
    opts.spacing.z = 1.2;
    let mut g = c.benchmark_group("phantom");
    g.sample_size(10);
    g.bench_function("generate_256x256x256", |b| b.iter(|| generate(&opts).expect("valid options")));
    let full = PhantomOptions::grid(1, Phase::Ctpa, [512, 512, 300], DVec3::new(0.68, 0.68, 1.0));
    g.bench_function("generate_512x512x300", |b| b.iter(|| generate(&full).expect("valid options")));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("ct.nii.gz");
    vasa_scan::nifti::write_nifti(&path, &generate(&full).expect("valid options").ct).expect("writable");
    g.bench_function("peer_read_512x512x300_nii_gz", |b| {
        b.iter(|| vasa_scan::nifti::read_ct(&path).expect("readable"))
    });
    let mut thick = PhantomOptions::grid(1, Phase::Ctpa, [512, 512, 60], DVec3::new(0.68, 0.68, 5.0));
    thick.thickness = Some(5.0);
    g.bench_function("generate_512x512x60_5mm", |b| b.iter(|| generate(&thick).expect("valid options")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
