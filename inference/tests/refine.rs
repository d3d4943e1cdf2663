//! S204–S208 on hand-built volumes, and properties that hold for any input.

use proptest::prelude::*;
use vasa_inference::refine::{self, GrowthReach, PhaseHint, RefineOptions};
use vasa_scan::{Geometry, LabelMap, Volume};

const LUNG: i16 = -850;
const BLOOD: i16 = 40;

fn vol<T: Clone>(dims: [usize; 3], v: T) -> Volume<T> {
    Volume::filled(dims, v, Geometry::default())
}

/// Options without a growth limit, for the hand-built cases.
fn unlimited() -> RefineOptions {
    RefineOptions { max_growth: None, ..RefineOptions::default() }
}

/// A 3×3 tube along i at (j, k) = (10, 10) from i0 to i1 (exclusive).
fn tube(ct: &mut Volume<i16>, labels: Option<(&mut LabelMap, u8)>, i0: usize, i1: usize) {
    let mut cells = Vec::new();
    for i in i0..i1 {
        for j in 9..12 {
            for k in 9..12 {
                cells.push(ct.index(i, j, k));
            }
        }
    }
    for &c in &cells {
        ct.data_mut()[c] = BLOOD;
    }
    if let Some((l, class)) = labels {
        for &c in &cells {
            l.data_mut()[c] = class;
        }
    }
}

#[test]
fn a_gap_in_a_vessel_is_reconnected_with_its_class_and_a_blob_stays_background() {
    let dims = [60, 20, 20];
    let mut ct = vol(dims, LUNG);
    let mut first = vol(dims, 0u8);
    // An artery with a 4-voxel gap of blood HU the network missed.
    tube(&mut ct, Some((&mut first, 1)), 2, 25);
    tube(&mut ct, None, 25, 29);
    tube(&mut ct, Some((&mut first, 1)), 29, 50);
    // An isolated blob of blood HU, not touching any labelled vessel.
    for i in 54..58 {
        for j in 2..5 {
            for k in 2..5 {
                let idx = ct.index(i, j, k);
                ct.data_mut()[idx] = BLOOD;
            }
        }
    }
    let roi = vol(dims, true);
    let r = refine::refine(&ct, &first, &roi, &unlimited());
    for i in 25..29 {
        assert_eq!(r.labels.get(i, 10, 10), Some(&1), "gap voxel {i} reconnected as artery");
    }
    assert_eq!(r.labels.get(55, 3, 3), Some(&0), "isolated blob stays background");
    assert_eq!(r.waves.added[1], 4 * 9);
    assert_eq!(r.ranges, vec![(1, refine::HuRange { lo: BLOOD, hi: BLOOD })]);
    // Outside the region of interest nothing grows.
    let mut roi = vol(dims, true);
    for i in 25..29 {
        for j in 0..20 {
            for k in 0..20 {
                let idx = roi.index(i, j, k);
                roi.data_mut()[idx] = false;
            }
        }
    }
    let r = refine::refine(&ct, &first, &roi, &unlimited());
    assert_eq!(r.labels.get(26, 10, 10), Some(&0));
}

#[test]
fn two_classes_meeting_split_deterministically() {
    let dims = [41, 20, 20];
    let mut ct = vol(dims, LUNG);
    let mut first = vol(dims, 0u8);
    tube(&mut ct, Some((&mut first, 1)), 0, 10); // artery from the left
    tube(&mut ct, None, 10, 31); // 21 unlabelled voxels between
    tube(&mut ct, Some((&mut first, 2)), 31, 41); // vein from the right
    let roi = vol(dims, true);
    let r = refine::refine(&ct, &first, &roi, &unlimited());
    for i in 10..20 {
        assert_eq!(r.labels.get(i, 10, 10), Some(&1), "voxel {i}");
    }
    for i in 21..31 {
        assert_eq!(r.labels.get(i, 10, 10), Some(&2), "voxel {i}");
    }
    // The middle voxel is a tie (both fronts arrive in the same wave): equal
    // counts, equal range distance, so the lower class id wins.
    assert_eq!(r.labels.get(20, 10, 10), Some(&1));
    // Same answer with one thread and with many.
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let again = one.install(|| refine::refine(&ct, &first, &roi, &unlimited()));
    assert_eq!(again.labels.data(), r.labels.data());
}

#[test]
fn growth_limit_stops_after_the_given_distance() {
    let dims = [60, 20, 20];
    let mut ct = vol(dims, LUNG);
    let mut first = vol(dims, 0u8);
    tube(&mut ct, Some((&mut first, 1)), 0, 10);
    tube(&mut ct, None, 10, 60);
    let opts = RefineOptions { max_growth: Some(GrowthReach::uniform(5.0)), ..RefineOptions::default() };
    let r = refine::refine(&ct, &first, &vol(dims, true), &opts);
    assert_eq!(r.waves.waves, 5);
    assert_eq!(r.labels.get(14, 10, 10), Some(&1));
    assert_eq!(r.labels.get(15, 10, 10), Some(&0));
}

/// A labelled tube of blood at `hu` along i, with unlabelled blood of the
/// same HU all round it out to (j, k) in 6..15, on a grid of `spacing` mm.
fn tube_in_blood(spacing: [f64; 3], hu: i16) -> (Volume<i16>, LabelMap) {
    let dims = [30, 20, 20];
    let g = Geometry { spacing: glam::DVec3::from_array(spacing), ..Geometry::default() };
    let mut ct = Volume::filled(dims, LUNG, g);
    let mut first = Volume::filled(dims, 0u8, g);
    for k in 6..15 {
        for j in 6..15 {
            for i in 0..30 {
                let idx = ct.index(i, j, k);
                ct.data_mut()[idx] = hu;
                if (9..12).contains(&j) && (9..12).contains(&k) {
                    first.data_mut()[idx] = 1;
                }
            }
        }
    }
    (ct, first)
}

#[test]
fn growth_reach_is_in_millimetres_along_every_axis() {
    // 1 mm pixels, 5 mm slices: with a 1.5 mm reach the labels grow one
    // pixel in the slice and not into the next slice, 5 mm away.
    let (ct, first) = tube_in_blood([1.0, 1.0, 5.0], BLOOD);
    let opts = RefineOptions { max_growth: Some(GrowthReach::uniform(1.5)), ..RefineOptions::default() };
    let r = refine::refine(&ct, &first, &vol([30, 20, 20], true), &opts);
    assert_eq!(r.labels.get(15, 12, 10), Some(&1), "one pixel out, in the slice");
    assert_eq!(r.labels.get(15, 13, 10), Some(&0), "two pixels out: 2 mm");
    assert_eq!(r.labels.get(15, 10, 12), Some(&0), "the next slice: 5 mm");
    // With 5 mm of reach the next slice joins, the one after does not.
    let opts = RefineOptions { max_growth: Some(GrowthReach::uniform(5.0)), ..RefineOptions::default() };
    let r = refine::refine(&ct, &first, &vol([30, 20, 20], true), &opts);
    assert_eq!(r.labels.get(15, 10, 12), Some(&1));
    assert_eq!(r.labels.get(15, 10, 13), Some(&0));
}

#[test]
fn the_phase_read_from_the_scan_picks_the_reach_and_bounds_the_ranges() {
    let roi = vol([30, 20, 20], true);
    // Unenhanced blood: plain, 1.5 mm of reach on 1 mm voxels.
    let (ct, first) = tube_in_blood([1.0; 3], BLOOD);
    let r = refine::refine(&ct, &first, &roi, &RefineOptions::default());
    assert_eq!(r.phase, PhaseHint::Plain);
    assert_eq!(r.labels.get(15, 12, 10), Some(&1));
    assert_eq!(r.labels.get(15, 13, 10), Some(&0));
    // Enhanced blood: contrast, 3 mm of reach.
    let (ct, first) = tube_in_blood([1.0; 3], 300);
    let r = refine::refine(&ct, &first, &roi, &RefineOptions::default());
    assert_eq!(r.phase, PhaseHint::Contrast);
    assert_eq!(r.labels.get(15, 14, 10), Some(&1), "3 mm out");
    assert_eq!(r.labels.get(15, 10, 14), Some(&1));
    // A hint overrides what the scan shows.
    let r = refine::refine(&ct, &first, &roi, &RefineOptions::for_phase(PhaseHint::Plain));
    assert_eq!(r.phase, PhaseHint::Plain);
    assert_eq!(r.labels.get(15, 13, 10), Some(&0));

    // The network also labelled a band of soft tissue (60 HU) along the
    // enhanced vessel, enough to pull the range's lower percentile down to
    // it (all labelled voxels counted). On a contrast scan blood is never
    // that low: the range stays above 100 HU and the soft tissue beyond is
    // not grown into.
    let (mut ct, mut first) = tube_in_blood([1.0; 3], 300);
    for i in 0..30 {
        for k in 8..13 {
            for j in [7, 8] {
                let idx = ct.index(i, j, k);
                ct.data_mut()[idx] = 60;
                first.data_mut()[idx] = u8::from(j == 8);
            }
        }
    }
    let hu = refine::HuRangeOptions { core_only: false, ..Default::default() };
    let r = refine::refine(&ct, &first, &roi, &RefineOptions { hu, ..RefineOptions::default() });
    assert_eq!(r.phase, PhaseHint::Contrast);
    let range = r.ranges.iter().find(|(c, _)| *c == 1).unwrap().1;
    assert!(range.lo >= 100, "{range:?}");
    assert_eq!(r.labels.get(15, 7, 10), Some(&0), "soft tissue next to the labelled band");
    // The wide bounds of an unknown phase would have taken it.
    let estimated = refine::estimate_hu_ranges(&ct, &first, &[1], &hu);
    assert!(estimated[1].unwrap().lo <= 60, "{:?}", estimated[1]);
}

#[test]
fn av_image_keeps_only_vessel_voxels_and_islands_are_removed() {
    let dims = [30, 20, 20];
    let mut ct = vol(dims, LUNG);
    let mut labels = vol(dims, 0u8);
    tube(&mut ct, Some((&mut labels, 3)), 0, 20);
    let idx = labels.index(25, 2, 2);
    labels.data_mut()[idx] = 2; // a one-voxel island
    let av = refine::av_image(&ct, &labels, &refine::VESSEL_CLASSES, refine::AV_BACKGROUND_HU);
    assert_eq!(av.get(5, 10, 10), Some(&BLOOD));
    assert_eq!(av.get(5, 2, 2), Some(&refine::AV_BACKGROUND_HU));
    assert!(av.same_grid(&ct));
    assert_eq!(refine::remove_islands(&mut labels, 5.0), 1);
    assert_eq!(labels.get(25, 2, 2), Some(&0));
    assert_eq!(labels.get(5, 10, 10), Some(&3));
}

fn case() -> impl Strategy<Value = (Volume<i16>, LabelMap, Volume<bool>)> {
    let dims = [12usize, 10, 8];
    let n = dims.iter().product::<usize>();
    (
        proptest::collection::vec(prop_oneof![Just(LUNG), Just(BLOOD), -100i16..400, Just(1200i16)], n),
        proptest::collection::vec(prop_oneof![6 => Just(0u8), 1 => 1u8..=3, 1 => Just(4u8)], n),
        proptest::collection::vec(prop_oneof![4 => Just(true), 1 => Just(false)], n),
    )
        .prop_map(move |(ct, lab, roi)| {
            let g = Geometry::axis_aligned(glam::DVec3::new(0.8, 0.9, 1.5), glam::DVec3::new(-3.0, 4.0, 5.0));
            (
                Volume::from_vec(dims, ct, g).unwrap(),
                Volume::from_vec(dims, lab, g).unwrap(),
                Volume::from_vec(dims, roi, g).unwrap(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn refinement_only_adds_in_range_roi_voxels((ct, first, roi) in case()) {
        let opts = RefineOptions { hu: refine::HuRangeOptions { min_voxels: 1, ..Default::default() }, ..Default::default() };
        let r = refine::refine(&ct, &first, &roi, &opts);
        prop_assert!(r.labels.same_grid(&first));
        for idx in 0..first.len() {
            let (before, after) = (first.data()[idx], r.labels.data()[idx]);
            if before != 0 {
                prop_assert_eq!(after, before, "network label changed at {}", idx);
            } else if after != 0 {
                prop_assert!(roi.data()[idx], "labelled outside the ROI at {}", idx);
                let range = r.ranges.iter().find(|(c, _)| *c == after).map(|(_, r)| *r);
                prop_assert!(range.is_some_and(|rg| rg.contains(ct.data()[idx])), "HU out of range at {}", idx);
                prop_assert!(refine::VESSEL_CLASSES.contains(&after));
            }
        }
    }
}

#[test]
fn related_art_baseline_closes_the_same_gap() {
    let dims = [40, 20, 20];
    let mut ct = vol(dims, LUNG);
    let mut first = vol(dims, 0u8);
    tube(&mut ct, Some((&mut first, 2)), 0, 15);
    tube(&mut ct, None, 15, 20);
    tube(&mut ct, Some((&mut first, 2)), 20, 40);
    let roi = vol(dims, true);
    let opts = unlimited();
    let ranges = refine::estimate_hu_ranges(&ct, &first, &refine::VESSEL_CLASSES, &opts.hu);
    let set = refine::vessel_voxel_set(&ct, &roi, &ranges);
    let (grown, passes) = refine::baseline::threshold_region_growing(&ct, &first, &set, &ranges, None);
    let waves = refine::refine(&ct, &first, &roi, &opts);
    assert_eq!(grown.data(), waves.labels.data());
    assert_eq!(passes, 4, "3 passes that grow (gap of 5 closed from both ends) and one that finds nothing");
}
