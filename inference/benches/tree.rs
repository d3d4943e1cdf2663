//! The tree stage on a 512×512×300 chest phantom, next to the refinement
//! (S204–S208) on the same input in the same run, as a peer. The "network"
//! is the phantom's truth with every 5th voxel of artery and vein flipped to
//! the other class and a noisy artery share, so the stage has work to do.
//! Limit (issue 15): ≤ 10 s on 2 cores.
//!
//! Run: `cargo bench -p vasa-inference --bench tree`.

use std::time::Instant;

use glam::DVec3;
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_inference::refine::{self, RefineOptions};
use vasa_inference::segment::stitch::artery_share;
use vasa_inference::tree::{self, TreeOptions};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

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
    let options = PhantomOptions::grid(5, Phase::Plain, [512, 512, 300], DVec3::new(0.7, 0.7, 1.0));
    let p = phantom::generate(&options).expect("valid phantom");
    let mut labels = p.labels.map(|&l| if l <= AORTA { l } else { 0 });
    let mut share = labels.map(|_| 128u8);
    for n in 0..labels.len() {
        let l = labels.data()[n];
        if l == ARTERY || l == VEIN {
            let flip = n % 5 == 0;
            let artery = (l == ARTERY) != flip;
            labels.data_mut()[n] = if artery { ARTERY } else { VEIN };
            share.data_mut()[n] = artery_share(if l == ARTERY { 1.5 } else { -1.5 } * if flip { 0.3 } else { 1.0 });
        }
    }
    let (roi, _) = vasa_inference::segment::network_region(&p.ct);
    let runs = 5;
    let tree_s = median_secs(runs, || {
        let mut l = labels.clone();
        let r = tree::label_trees(&p.ct, &mut l, &share, &TreeOptions::default());
        std::hint::black_box(r.graph.branches.len());
    });
    let refine_s = median_secs(runs, || {
        let r = refine::refine(&p.ct, &labels, &roi, &RefineOptions::default());
        std::hint::black_box(r.set_voxels);
    });
    let threads = rayon::current_num_threads();
    println!("512×512×300 phantom, {threads} threads, median of {runs}:");
    println!("  tree stage        {tree_s:>7.2} s   (limit 10 s)");
    println!("  refinement (peer) {refine_s:>7.2} s");
    println!("  ratio tree / refinement {:.2}", tree_s / refine_s);
}
