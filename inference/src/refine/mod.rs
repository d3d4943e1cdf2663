//! The HU-based refinement of DESIGN.md S204–S208: per-class HU ranges from
//! the scan under the network's first segmentation, the vessel voxel set
//! inside the thoracic region of interest, the neighbour vote in waves, and
//! the final artery/vein image.

pub mod baseline;
pub mod hu_range;
pub mod output;
pub mod roi;
pub mod waves;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use vasa_scan::crop::{self, BoundingBox};
use vasa_scan::distance;
use vasa_scan::labels::{AORTA, ARTERY, VEIN};
use vasa_scan::{LabelMap, Volume};

pub use hu_range::{HuRange, HuRangeOptions, PhaseHint, estimate_hu_ranges};
pub use output::{AV_BACKGROUND_HU, av_image};
pub use roi::{roi_from_masks, thoracic_roi};
pub use vasa_scan::label_stats::remove_islands;
pub use waves::{WaveStats, classify_by_waves};

/// The vessel classes the refinement grows by default.
pub const VESSEL_CLASSES: [u8; 3] = [ARTERY, VEIN, AORTA];

/// Options of the refinement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefineOptions {
    /// What the user knows of the scan's contrast; [`PhaseHint::Auto`] reads
    /// it from the scan under the first segmentation ([`PhaseHint::resolve`]).
    /// The phase bounds the HU ranges to what blood can be and picks the
    /// growth reach.
    pub phase: PhaseHint,
    /// How the HU ranges are estimated; their bounds are narrowed further to
    /// the phase's.
    pub hu: HuRangeOptions,
    /// Classes that may grow.
    pub vessel_classes: Vec<u8>,
    /// How far labels may grow from the first segmentation; `None`: no limit.
    pub max_growth: Option<GrowthReach>,
}

/// How far (mm, Euclidean with the scan's spacing) labels may grow from the
/// first segmentation, by phase. Measured in mm, not in waves of voxels: on
/// 5 mm slices one wave is a whole slice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GrowthReach {
    /// On a plain scan, and when the phase is unknown. Short: blood and the
    /// soft tissue next to a vessel share their HU, so long growth floods the
    /// mediastinum (on held-out phantoms 10 mm tripled the vessel volume and
    /// lowered Dice; 1.5 mm repairs vessel ends and borders without that).
    pub plain_mm: f64,
    /// On a contrast-enhanced scan. Longer: the phase's HU bounds keep growth
    /// inside blood (≥ 100 HU), away from walls, fat and myocardium. On real
    /// contrast CT the network's vessels stop 1–3 mm inside the lumen (a
    /// bright unlabelled rim round the aorta on lidc-0001), which this
    /// fills; the price is a little more blood of the heart's chambers where
    /// the vessels leave them.
    pub contrast_mm: f64,
}

impl GrowthReach {
    /// The same reach in every phase.
    pub const fn uniform(mm: f64) -> Self {
        GrowthReach { plain_mm: mm, contrast_mm: mm }
    }

    /// The reach (mm) for a scan of `phase`.
    pub fn for_phase(&self, phase: PhaseHint) -> f64 {
        match phase {
            PhaseHint::Contrast => self.contrast_mm,
            PhaseHint::Plain | PhaseHint::Auto => self.plain_mm,
        }
    }
}

/// Default growth reach of the refinement.
pub const DEFAULT_GROWTH_REACH: GrowthReach = GrowthReach { plain_mm: 1.5, contrast_mm: 3.0 };

impl RefineOptions {
    /// The default options for a scan of `phase`.
    pub fn for_phase(phase: PhaseHint) -> Self {
        RefineOptions { phase, ..RefineOptions::default() }
    }
}

impl Default for RefineOptions {
    fn default() -> Self {
        RefineOptions {
            phase: PhaseHint::Auto,
            hu: HuRangeOptions::default(),
            vessel_classes: VESSEL_CLASSES.to_vec(),
            max_growth: Some(DEFAULT_GROWTH_REACH),
        }
    }
}

/// The refinement's result.
#[derive(Debug, Clone)]
pub struct Refinement {
    /// First segmentation plus the voxels classified by the vote (S208).
    pub labels: LabelMap,
    /// The HU range used for each vessel class (class id, range).
    pub ranges: Vec<(u8, HuRange)>,
    /// The phase the ranges and the reach were chosen for (the hint, or
    /// what the scan showed when the hint was [`PhaseHint::Auto`]).
    pub phase: PhaseHint,
    /// Size of the vessel voxel set.
    pub set_voxels: u64,
    /// What the waves did.
    pub waves: WaveStats,
}

/// The vessel voxel set (S204): voxels inside `roi` whose HU lies in the
/// range of any vessel class.
pub fn vessel_voxel_set(ct: &Volume<i16>, roi: &Volume<bool>, ranges: &[Option<HuRange>]) -> Volume<bool> {
    let active: Vec<HuRange> = ranges.iter().flatten().copied().collect();
    let mut set = Volume::filled(ct.dims(), false, ct.geometry);
    set.data_mut().par_iter_mut().zip(ct.data().par_iter().zip(roi.data().par_iter())).for_each(|(s, (&hu, &r))| {
        *s = r && active.iter().any(|range| range.contains(hu));
    });
    set
}

/// Drops from `set` every voxel farther than `max_mm` (Euclidean, in the
/// scan's spacing) from the first segmentation's growing classes (those with
/// a range), so growth stops at the same distance in mm along every axis.
/// The distance is computed only in the box around those labels.
pub fn keep_within_reach(set: &mut Volume<bool>, first: &LabelMap, ranges: &[Option<HuRange>], max_mm: f64) {
    let grows = |l: &u8| ranges.get(*l as usize).is_some_and(|r| r.is_some());
    let dims = set.dims();
    let labelled = BoundingBox::of(first, grows);
    if labelled.is_empty() {
        set.data_mut().par_iter_mut().for_each(|s| *s = false);
        return;
    }
    let bbox = labelled.padded_mm(max_mm, &first.geometry, dims);
    let d2 = distance::squared_distance_where_mm2(&crop::crop(first, &bbox), grows);
    let limit = (max_mm * max_mm) as f32;
    let [cx, cy, _] = bbox.dims();
    let plane = dims[0] * dims[1];
    set.data_mut().par_chunks_mut(plane).enumerate().for_each(|(k, slice)| {
        for (p, s) in slice.iter_mut().enumerate().filter(|(_, s)| **s) {
            let (i, j) = (p % dims[0], p / dims[0]);
            *s = bbox.contains([i, j, k]) && {
                let [a, b, c] = [i - bbox.min[0], j - bbox.min[1], k - bbox.min[2]];
                d2.data()[a + cx * (b + cy * c)] <= limit
            };
        }
    });
}

/// S204–S208 on the first segmentation `first` of `ct` (same grid), within `roi`.
pub fn refine(ct: &Volume<i16>, first: &LabelMap, roi: &Volume<bool>, options: &RefineOptions) -> Refinement {
    let phase = options.phase.resolve(ct, first, &options.vessel_classes);
    let (b, p) = (options.hu.bounds, phase.bounds());
    let hu = HuRangeOptions { bounds: HuRange { lo: b.lo.max(p.lo), hi: b.hi.min(p.hi) }, ..options.hu };
    let ranges = estimate_hu_ranges(ct, first, &options.vessel_classes, &hu);
    let mut set = vessel_voxel_set(ct, roi, &ranges);
    if let Some(reach) = options.max_growth {
        keep_within_reach(&mut set, first, &ranges, reach.for_phase(phase));
    }
    let set_voxels = set.data().par_iter().filter(|&&s| s).count() as u64;
    let (labels, waves) = classify_by_waves(ct, first, &set, &ranges, None);
    let ranges = ranges.iter().enumerate().filter_map(|(c, r)| r.map(|r| (c as u8, r))).collect();
    Refinement { labels, ranges, phase, set_voxels, waves }
}
