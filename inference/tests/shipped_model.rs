//! The weights in `assets/model/` (the v2 cascade: README, "The shipped
//! weights"): they load, and on a held-out plain-phase phantom (a
//! seed never trained or validated on) the full pipeline reaches the Dice the
//! README reports, within a small margin.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_inference::segment::{SegmentOptions, Segmenter};
use vasa_scan::metrics::compare_labels;

/// Held-out seed (training used 1–32, validation 901–902).
const SEED: u64 = 1001;

/// Lowest acceptable refined Dice per class (artery, vein, aorta) on that
/// seed: the figures measured for it with the shipped v2 cascade (fine stage
/// at step 4100: 0.647, 0.641, 0.898) less about 0.02. The weights shipped
/// before (step ~2200) gave 0.520, 0.521, 0.832 and v1 0.554, 0.438, 0.576
/// on the same case. Move these with the weights.
const MIN_DICE: [f64; 3] = [0.62, 0.62, 0.87];

#[test]
fn shipped_model_segments_a_held_out_phantom() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/model");
    let segmenter = Segmenter::load(&dir).expect("the shipped model loads");
    let cfg = &segmenter.model().config;
    assert_eq!(cfg.num_classes, 4);
    cfg.validate().unwrap();
    let scan = phantom::generate(&PhantomOptions::new(SEED, Phase::Plain)).unwrap();
    let out = segmenter
        .segment(&scan.ct, &SegmentOptions::default(), &|_| {}, &AtomicBool::new(false))
        .expect("segmentation runs");
    let refined = compare_labels(&out.labels, &scan.labels).unwrap();
    let raw = compare_labels(&out.raw, &scan.labels).unwrap();
    for (r, f) in raw.classes.iter().zip(&refined.classes) {
        eprintln!("{}: Dice raw {:.3}, refined {:.3}", f.name, r.dice, f.dice);
    }
    for (n, f) in refined.classes.iter().enumerate() {
        assert!(f.dice >= MIN_DICE[n], "{}: refined Dice {:.3} < {:.3}", f.name, f.dice, MIN_DICE[n]);
    }
}
