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
}

impl Default for HuRangeOptions {
    fn default() -> Self {
        HuRangeOptions { percentiles: (5.0, 99.0), bounds: HuRange { lo: -400, hi: 900 }, min_voxels: 50 }
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
    let hist = ct
        .data()
        .par_chunks(1 << 20)
        .zip(first.data().par_chunks(1 << 20))
        .fold(
            || vec![0u64; BINS * classes.len()],
            |mut h, (hu, lab)| {
                for (&v, &l) in hu.iter().zip(lab) {
                    if wanted[l as usize] {
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
        );
    let mut out = vec![None; 256];
    for (slot, &class) in classes.iter().enumerate() {
        let h = &hist[slot * BINS..(slot + 1) * BINS];
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

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    #[test]
    fn ranges_follow_the_labelled_voxels_and_respect_bounds() {
        let n = 1000;
        let ct: Vec<i16> =
            (0..n).map(|i| if i < 500 { 30 + (i % 30) as i16 } else { 300 + (i % 200) as i16 }).collect();
        let lab: Vec<u8> = (0..n).map(|i| if i < 500 { 2 } else { 1 }).collect();
        let ct = Volume::from_vec([10, 10, 10], ct, Geometry::default()).unwrap();
        let lab = Volume::from_vec([10, 10, 10], lab, Geometry::default()).unwrap();
        let r = estimate_hu_ranges(
            &ct,
            &lab,
            &[1, 2, 3],
            &HuRangeOptions { percentiles: (0.0, 100.0), ..Default::default() },
        );
        assert_eq!(r[2], Some(HuRange { lo: 30, hi: 59 }));
        assert_eq!(r[1], Some(HuRange { lo: 300, hi: 499 }));
        assert_eq!(r[3], None);
        // Bounds clamp a range that would reach into bone.
        let opts = HuRangeOptions { percentiles: (0.0, 100.0), bounds: HuRange { lo: -400, hi: 450 }, min_voxels: 1 };
        assert_eq!(estimate_hu_ranges(&ct, &lab, &[1], &opts)[1], Some(HuRange { lo: 300, hi: 450 }));
    }
}
