//! S204, first half: the HU range of each vessel type, estimated from the scan
//! itself under the network's first segmentation.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use vasa_scan::{LabelMap, Volume};

/// An inclusive HU interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuRange {
    /// Lowest HU in the range.
    pub lo: i16,
    /// Highest HU in the range.
    pub hi: i16,
}

impl HuRange {
    /// True when `hu` lies in the range.
    #[inline]
    pub fn contains(&self, hu: i16) -> bool {
        hu >= self.lo && hu <= self.hi
    }

    /// Distance of `hu` from the range's centre (tie-breaking in the vote).
    #[inline]
    pub fn distance_to_centre(&self, hu: i16) -> i32 {
        (2 * hu as i32 - self.lo as i32 - self.hi as i32).abs()
    }
}

/// How the ranges are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HuRangeOptions {
    /// Lower and upper percentile of the HU values under a class.
    pub percentiles: (f64, f64),
    /// Physically sensible bounds every range is clamped into: never into
    /// lung parenchyma (≈ −850) nor into dense bone and metal.
    pub bounds: HuRange,
    /// Minimum number of labelled voxels for a class to get a range.
    pub min_voxels: u64,
    /// Take the statistics from each class's core only (voxels whose six
    /// neighbours carry the same label): the border voxels of a vessel in the
    /// lung are partial volume with air and would drag the range down into
    /// the lung. Falls back to all voxels for a class without enough core.
    pub core_only: bool,
}

/// What the user knows about the scan's contrast, used to bound the HU
/// ranges of the refinement (S204) to what blood can be in that phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PhaseHint {
    /// Unknown: the wide default bounds (−400…900 HU).
    #[default]
    Auto,
    /// Non-contrast: blood is 30–55 HU, so ranges stay within −100…200 and
    /// never reach enhanced or calcified structures.
    Plain,
    /// Contrast-enhanced (pulmonary-arterial or systemic phase): blood is
    /// 150–500 HU, so ranges stay within 100…900 and never grow into soft
    /// tissue or fat at 40 HU and below.
    Contrast,
}

/// Mean HU of a vessel's blood above which it counts as contrast-enhanced:
/// unenhanced blood is 30–55 HU, enhanced blood 150–500 HU.
pub const ENHANCED_VESSEL_HU: f64 = 150.0;

impl PhaseHint {
    /// All hints, in menu order.
    pub const ALL: [PhaseHint; 3] = [PhaseHint::Auto, PhaseHint::Plain, PhaseHint::Contrast];

    /// Name shown to the user.
    pub fn name(self) -> &'static str {
        match self {
            PhaseHint::Auto => "auto",
            PhaseHint::Plain => "plain (no contrast)",
            PhaseHint::Contrast => "contrast-enhanced",
        }
    }

    /// The bounds every estimated range is clamped into.
    pub fn bounds(self) -> HuRange {
        match self {
            PhaseHint::Auto => HuRange { lo: -400, hi: 900 },
            PhaseHint::Plain => HuRange { lo: -100, hi: 200 },
            PhaseHint::Contrast => HuRange { lo: 100, hi: 900 },
        }
    }
}

impl PhaseHint {
    /// The phase itself: the hint when the user gave one; for
    /// [`PhaseHint::Auto`], read from the scan under the first segmentation:
    /// contrast when the mean HU of the `classes`' core voxels (see
    /// [`core_mask`]) is above [`ENHANCED_VESSEL_HU`], else plain. Auto stays
    /// Auto only when none of those classes is labelled.
    pub fn resolve(self, ct: &Volume<i16>, first: &LabelMap, classes: &[u8]) -> PhaseHint {
        if self != PhaseHint::Auto {
            return self;
        }
        let core = core_mask(first);
        let (count, sum) = ct
            .data()
            .par_iter()
            .zip(first.data().par_iter())
            .zip(core.par_iter())
            .filter(|((_, l), c)| **c && classes.contains(l))
            .map(|((&h, _), _)| (1u64, h as f64))
            .reduce(|| (0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        match count {
            0 => PhaseHint::Auto,
            n if sum / n as f64 > ENHANCED_VESSEL_HU => PhaseHint::Contrast,
            _ => PhaseHint::Plain,
        }
    }
}

impl HuRangeOptions {
    /// The default options with the bounds of `hint`.
    pub fn for_phase(hint: PhaseHint) -> Self {
        HuRangeOptions { bounds: hint.bounds(), ..Default::default() }
    }
}

impl Default for HuRangeOptions {
    fn default() -> Self {
        HuRangeOptions { percentiles: (5.0, 99.0), bounds: PhaseHint::Auto.bounds(), min_voxels: 50, core_only: true }
    }
}

/// Per class id (index), the HU range of its voxels, or `None` for classes
/// with too few voxels. Robust: percentiles of a full-resolution histogram.
pub fn estimate_hu_ranges(
    ct: &Volume<i16>,
    first: &LabelMap,
    classes: &[u8],
    options: &HuRangeOptions,
) -> Vec<Option<HuRange>> {
    const BINS: usize = 1 << 16;
    let wanted = {
        let mut w = [false; 256];
        for &c in classes {
            w[c as usize] = true;
        }
        w
    };
    // One 65536-bin histogram per requested class, built in parallel chunks.
    let slot_of = {
        let mut s = [usize::MAX; 256];
        for (i, &c) in classes.iter().enumerate() {
            s[c as usize] = i;
        }
        s
    };
    let core = if options.core_only { Some(core_mask(first)) } else { None };
    let histogram = |core: Option<&[bool]>| {
        const CHUNK: usize = 1 << 20;
        ct.data()
            .par_chunks(CHUNK)
            .zip(first.data().par_chunks(CHUNK))
            .enumerate()
            .fold(
                || vec![0u64; BINS * classes.len()],
                |mut h, (chunk, (hu, lab))| {
                    for (o, (&v, &l)) in hu.iter().zip(lab).enumerate() {
                        if wanted[l as usize] && core.is_none_or(|c| c[chunk * CHUNK + o]) {
                            h[slot_of[l as usize] * BINS + (v as i32 + 32768) as usize] += 1;
                        }
                    }
                    h
                },
            )
            .reduce(
                || vec![0u64; BINS * classes.len()],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            )
    };
    let hist_core = core.as_deref().map(|c| histogram(Some(c)));
    let hist_all = histogram(None);
    let mut out = vec![None; 256];
    for (slot, &class) in classes.iter().enumerate() {
        let pick = |hist: &[u64]| -> (u64, std::ops::Range<usize>) {
            let r = slot * BINS..(slot + 1) * BINS;
            (hist[r.clone()].iter().sum(), r)
        };
        let (core_total, core_range) = hist_core.as_deref().map_or((0, 0..0), pick);
        let h = if core_total >= options.min_voxels.max(1) {
            &hist_core.as_deref().unwrap_or(&hist_all)[core_range]
        } else {
            &hist_all[slot * BINS..(slot + 1) * BINS]
        };
        let total: u64 = h.iter().sum();
        if total < options.min_voxels.max(1) {
            continue;
        }
        let percentile = |p: f64| -> i16 {
            let target = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
            let mut acc = 0;
            for (bin, &count) in h.iter().enumerate() {
                acc += count;
                if acc >= target {
                    return (bin as i32 - 32768) as i16;
                }
            }
            i16::MAX
        };
        let b = options.bounds;
        let lo = percentile(options.percentiles.0).clamp(b.lo, b.hi);
        let hi = percentile(options.percentiles.1).clamp(b.lo, b.hi);
        if lo <= hi {
            out[class as usize] = Some(HuRange { lo, hi });
        }
    }
    out
}

/// Labelled voxels whose six face neighbours carry the same label (the
/// interior of each labelled region, free of partial volume).
pub fn core_mask(labels: &LabelMap) -> Vec<bool> {
    let [nx, ny, nz] = labels.dims();
    let d = labels.data();
    (0..d.len())
        .into_par_iter()
        .map(|idx| {
            let l = d[idx];
            if l == 0 {
                return false;
            }
            let [i, j, k] = labels.coords(idx);
            if i == 0 || j == 0 || k == 0 || i + 1 >= nx || j + 1 >= ny || k + 1 >= nz {
                return false;
            }
            [idx - 1, idx + 1, idx - nx, idx + nx, idx - nx * ny, idx + nx * ny].iter().all(|&m| d[m] == l)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    /// 10³ voxels: class 2 at 30…59 HU (unenhanced) in the first half,
    /// class 1 at 300…499 HU (enhanced) in the second.
    fn two_classes() -> (Volume<i16>, LabelMap) {
        let n = 1000;
        let ct: Vec<i16> =
            (0..n).map(|i| if i < 500 { 30 + (i % 30) as i16 } else { 300 + (i % 200) as i16 }).collect();
        let lab: Vec<u8> = (0..n).map(|i| if i < 500 { 2 } else { 1 }).collect();
        (
            Volume::from_vec([10, 10, 10], ct, Geometry::default()).unwrap(),
            Volume::from_vec([10, 10, 10], lab, Geometry::default()).unwrap(),
        )
    }

    #[test]
    fn ranges_follow_the_labelled_voxels_and_respect_bounds() {
        let (ct, lab) = two_classes();
        let r = estimate_hu_ranges(
            &ct,
            &lab,
            &[1, 2, 3],
            &HuRangeOptions { percentiles: (0.0, 100.0), core_only: false, ..Default::default() },
        );
        assert_eq!(r[2], Some(HuRange { lo: 30, hi: 59 }));
        assert_eq!(r[1], Some(HuRange { lo: 300, hi: 499 }));
        assert_eq!(r[3], None);
        // Bounds clamp a range that would reach into bone.
        let opts = HuRangeOptions {
            percentiles: (0.0, 100.0),
            bounds: HuRange { lo: -400, hi: 450 },
            min_voxels: 1,
            core_only: false,
        };
        assert_eq!(estimate_hu_ranges(&ct, &lab, &[1], &opts)[1], Some(HuRange { lo: 300, hi: 450 }));
    }

    #[test]
    fn phase_hint_bounds_keep_ranges_to_what_blood_can_be() {
        let (ct, lab) = two_classes();
        let with = |hint| {
            let o = HuRangeOptions { percentiles: (0.0, 100.0), core_only: false, ..HuRangeOptions::for_phase(hint) };
            estimate_hu_ranges(&ct, &lab, &[1, 2], &o)
        };
        let auto = with(PhaseHint::Auto);
        assert_eq!(auto[1], Some(HuRange { lo: 300, hi: 499 }));
        assert_eq!(auto[2], Some(HuRange { lo: 30, hi: 59 }));
        // Plain: nothing above 200 HU can be blood.
        assert_eq!(with(PhaseHint::Plain)[1], Some(HuRange { lo: 200, hi: 200 }));
        assert_eq!(with(PhaseHint::Plain)[2], Some(HuRange { lo: 30, hi: 59 }));
        // Contrast: nothing below 100 HU can be blood.
        assert_eq!(with(PhaseHint::Contrast)[1], Some(HuRange { lo: 300, hi: 499 }));
        assert_eq!(with(PhaseHint::Contrast)[2], Some(HuRange { lo: 100, hi: 100 }));
    }

    #[test]
    fn auto_reads_the_phase_from_the_labelled_blood() {
        let (ct, lab) = two_classes();
        // Class 2 alone: 30…59 HU, unenhanced; class 1 alone: enhanced.
        let mut plain = lab.clone();
        plain.data_mut().iter_mut().for_each(|l| *l = if *l == 2 { 1 } else { 0 });
        let enhanced = lab.map(|&l| u8::from(l == 1));
        // core_mask needs six equal neighbours: the labels fill whole slabs here.
        assert_eq!(PhaseHint::Auto.resolve(&ct, &plain, &[1]), PhaseHint::Plain);
        assert_eq!(PhaseHint::Auto.resolve(&ct, &enhanced, &[1]), PhaseHint::Contrast);
        // A hint given is kept whatever the scan says; nothing labelled stays Auto.
        assert_eq!(PhaseHint::Plain.resolve(&ct, &enhanced, &[1]), PhaseHint::Plain);
        assert_eq!(PhaseHint::Auto.resolve(&ct, &enhanced, &[3]), PhaseHint::Auto);
    }

    #[test]
    fn core_statistics_ignore_partial_volume_borders() {
        // A 6×6×6 labelled cube at 40 HU whose outer shell reads −500
        // (partial volume with lung): the range comes from the inside.
        let dims = [10, 10, 10];
        let mut ct = Vec::new();
        let mut lab = Vec::new();
        for k in 0..10 {
            for j in 0..10 {
                for i in 0..10 {
                    let inside = |a: usize| (2..8).contains(&a);
                    let core = |a: usize| (3..7).contains(&a);
                    let l = inside(i) && inside(j) && inside(k);
                    lab.push(l as u8);
                    ct.push(if core(i) && core(j) && core(k) {
                        40
                    } else if l {
                        -500
                    } else {
                        -850
                    });
                }
            }
        }
        let ct = Volume::from_vec(dims, ct, Geometry::default()).unwrap();
        let lab = Volume::from_vec(dims, lab, Geometry::default()).unwrap();
        let opts = HuRangeOptions { percentiles: (0.0, 100.0), min_voxels: 1, ..Default::default() };
        assert_eq!(estimate_hu_ranges(&ct, &lab, &[1], &opts)[1], Some(HuRange { lo: 40, hi: 40 }));
        let all = HuRangeOptions { core_only: false, ..opts };
        assert_eq!(estimate_hu_ranges(&ct, &lab, &[1], &all)[1], Some(HuRange { lo: -400, hi: 40 }));
    }
}
