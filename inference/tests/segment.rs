//! The whole pipeline, S202–S208, on phantoms with a tiny network trained in
//! the test: geometry, refinement gain, progress, cancellation.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use vasa_inference::phantom::Phase;
use vasa_inference::refine::{GrowthReach, RefineOptions, VESSEL_CLASSES};
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
    // The refinement alone first (the tree stage relabels artery and vein,
    // the thorax check removes pieces). The voxels are 3 mm, wider than the
    // default reach: let labels grow by one voxel.
    let refine_options = RefineOptions { max_growth: Some(GrowthReach::uniform(3.0)), ..RefineOptions::default() };
    let no_tree =
        SegmentOptions { tree: false, drop_outside_thorax: false, refine_options, ..SegmentOptions::default() };
    let out =
        segmenter.segment(&scan.ct, &no_tree, &|p| seen.lock().unwrap().push(p), &cancel).expect("segmentation runs");
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
    assert!(out.tree.is_none());
    assert_eq!(out.pieces_outside_thorax, 0);

    // The thorax check only removes whole pieces, mostly outside the
    // lungs' outline (the tiny network scatters labels over the chest wall).
    let gated_options = SegmentOptions { drop_outside_thorax: true, ..no_tree.clone() };
    let gated = segmenter.segment(&scan.ct, &gated_options, &|_| {}, &cancel).expect("segmentation runs");
    let removed = out.labels.data().iter().zip(gated.labels.data()).filter(|&(&a, &b)| a != b).count();
    assert!(out.labels.data().iter().zip(gated.labels.data()).all(|(&a, &b)| a == b || b == 0));
    assert_eq!(
        removed > 0,
        gated.pieces_outside_thorax > 0,
        "{removed} voxels, {} pieces",
        gated.pieces_outside_thorax
    );
    let lungs = vasa_scan::masks::lung_mask(
        &scan.ct,
        &vasa_scan::masks::body_mask(&scan.ct, &Default::default()),
        &Default::default(),
    );
    let hull = vasa_inference::segment::selfcheck::per_slice_hull(&lungs, 2);
    // Every removed piece lies mostly outside the outline, so all of them do.
    let removed_inside = out
        .labels
        .data()
        .iter()
        .zip(gated.labels.data())
        .zip(hull.data())
        .filter(|&((&a, &b), &h)| a != b && h)
        .count();
    assert!(
        2 * removed_inside < removed.max(1),
        "{removed_inside} of {removed} removed voxels inside the lungs' outline"
    );
    let out = gated;

    // With the tree stage (the default): it runs last, reports its graph,
    // and only relabels artery ↔ vein or adds (joined gaps).
    let seen = Mutex::new(Vec::new());
    let with_tree = segmenter
        .segment(&scan.ct, &SegmentOptions { tree: true, ..gated_options }, &|p| seen.lock().unwrap().push(p), &cancel)
        .expect("segmentation runs");
    assert!(seen.into_inner().unwrap().iter().any(|p| p.stage == Stage::Tree));
    assert_eq!(with_tree.timings.len(), 6);
    assert!(with_tree.tree.is_some_and(|t| !t.graph.branches.is_empty()));
    let pulmonary = |l: u8| l == 1 || l == 2;
    for (&a, &b) in out.labels.data().iter().zip(with_tree.labels.data()) {
        assert!(a == b || (pulmonary(a) && pulmonary(b)) || (a == 0 && pulmonary(b)), "{a} → {b}");
    }

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
