//! Edit speeds on a 512×512×400 label map of a chest phantom (the issue's
//! figures): a brush dab, relabelling the whole artery tree, undoing that,
//! with a peer in the same run: copying the whole map once (what a naive
//! undo would do). Median of several runs.
//!
//! Run: `cargo bench -p vasa-edit --bench edit`.

use std::time::Instant;

use glam::DVec3;
use vasa_edit::{EditOp, Replay};
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_scan::labels::ARTERY;

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
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
    let p = phantom::generate(&options).expect("valid phantom");
    let mut labels = p.labels.map(|&l| if l <= 3 { l } else { 0 });
    let artery_voxel = labels.data().iter().position(|&l| l == ARTERY).expect("the phantom has arteries");
    let at = labels.voxel_to_world(labels.coords(artery_voxel)).to_array();
    let centre = labels.voxel_to_world([256, 256, 200]).to_array();
    let runs = 7;

    let mut r = Replay::default();
    // Each dab 3 mm further along, as in a stroke (a dab on painted voxels
    // would change nothing and cost nothing).
    let mut n = 0.0;
    let dab = median_ms(runs, || {
        let c = [centre[0] + 3.0 * n, centre[1], centre[2]];
        n += 1.0;
        r.step(&mut labels, Some(&p.ct), &EditOp::Paint { class: 2, center_mm: c, radius_mm: 5.0, hu: None }).unwrap();
    });
    let relabel = median_ms(runs, || {
        r.step(&mut labels, None, &EditOp::Relabel { at_mm: at, to: 2, cut_normal: None }).unwrap();
        r.step(&mut labels, None, &EditOp::Relabel { at_mm: at, to: ARTERY, cut_normal: None }).unwrap();
    }) / 2.0;
    r.step(&mut labels, None, &EditOp::Relabel { at_mm: at, to: 2, cut_normal: None }).unwrap();
    let undo = median_ms(runs, || {
        r.step(&mut labels, None, &EditOp::Undo).unwrap();
        r.step(&mut labels, None, &EditOp::Redo).unwrap();
    }) / 2.0;
    let copy = median_ms(runs, || {
        std::hint::black_box(labels.clone());
    });
    println!("512×512×400 label map, median of {runs}:");
    println!("  brush dab, 5 mm          {dab:>8.2} ms   (one frame: 16 ms)");
    println!("  relabel the artery tree  {relabel:>8.2} ms   (limit 200 ms)");
    println!("  undo of that relabel     {undo:>8.2} ms   (limit 100 ms)");
    println!("  peer: copy the whole map {copy:>8.2} ms");
    println!("  history held {:.1} MiB", r.bytes() as f64 / (1 << 20) as f64);
}
