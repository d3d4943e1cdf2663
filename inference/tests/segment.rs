//! The whole pipeline, S202–S208, on phantoms with a tiny network trained in
//! the test: geometry, refinement gain, progress, cancellation.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use vasa_inference::phantom::Phase;
use vasa_inference::refine::VESSEL_CLASSES;
use vasa_inference::segment::{SegmentError, SegmentOptions, Segmenter, Stage};
use vasa_inference::testing::{coarse_phantom, recall, train_tiny};

#[test]
fn pipeline_on_a_phantom_refinement_raises_recall_and_cancel_stops() {
    let train = coarse_phantom(11, Phase::Plain);
    let model = train_tiny(&train.ct, &train.labels, 60, 7);
    let segmenter = Segmenter::from_model(model);
    let scan = coarse_phantom(12, Phase::Plain);

    let seen = Mutex::new(Vec::new());
    let cancel = AtomicBool::new(false);
    let out = segmenter
        .segment(&scan.ct, &SegmentOptions::default(), &|p| seen.lock().unwrap().push(p), &cancel)
        .expect("segmentation runs");
    assert!(out.labels.same_grid(&scan.ct) && out.raw.same_grid(&scan.ct));

    let raw = recall(&out.raw, &scan.labels, &VESSEL_CLASSES);
    let refined = recall(&out.labels, &scan.labels, &VESSEL_CLASSES);
    eprintln!("vessel recall: raw network {raw:.3}, refined {refined:.3}; HU ranges {:?}", out.hu_ranges);
    for s in &out.stats {
        eprintln!("  {}: {:.1} mL in {} pieces", s.name, s.volume_ml, s.components);
    }
    assert!(refined > raw, "refinement raises recall: {raw} -> {refined}");
    // The refinement never changes what the network labelled.
    assert!(out.raw.data().iter().zip(out.labels.data()).all(|(&r, &f)| r == 0 || r == f));
    // Progress: every stage, and the network stage counts windows up to its total.
    let seen = seen.into_inner().unwrap();
    for stage in [Stage::Preprocess, Stage::Network, Stage::Stitch, Stage::Refine, Stage::Postprocess] {
        assert!(seen.iter().any(|p| p.stage == stage), "no progress for {stage:?}");
    }
    let net: Vec<_> = seen.iter().filter(|p| p.stage == Stage::Network).collect();
    assert!(net.len() > 2 && net.last().unwrap().done == net.last().unwrap().total);
    assert_eq!(out.timings.len(), 5);

    // Cancel during the network stage: a clear "cancelled" within one batch.
    let cancel = AtomicBool::new(false);
    let batches = Mutex::new(0);
    let result = segmenter.segment(
        &scan.ct,
        &SegmentOptions::default(),
        &|p| {
            if p.stage == Stage::Network && p.done > 0 {
                *batches.lock().unwrap() += 1;
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    );
    assert!(matches!(result, Err(SegmentError::Cancelled)), "{:?}", result.err());
    assert_eq!(*batches.lock().unwrap(), 1, "stopped within one batch");
}
