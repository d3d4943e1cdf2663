//! What the network says about each branch: its artery share (P(artery)
//! among the two pulmonary classes, one byte per voxel, from
//! [`crate::segment::stitch`]) gathered over the branch's territory.

use rayon::prelude::*;
use vasa_scan::Volume;
use vasa_scan::labels::{ARTERY, VEIN};

/// Probabilities are clamped to this distance from 0 and 1, so one voxel can
/// never outweigh a whole branch.
const P_FLOOR: f64 = 0.02;

/// The network's evidence over one branch's territory.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BranchEvidence {
    /// Voxels in the territory.
    pub voxels: u64,
    /// Sum over the territory of `max(0, ln(P(vein) / P(artery)))`: what
    /// calling the branch artery goes against.
    pub against_artery: f64,
    /// The same for calling it vein.
    pub against_vein: f64,
    /// Mean P(artery) among the two classes.
    pub mean_artery: f64,
}

impl BranchEvidence {
    /// What calling the branch `class` (artery or vein) goes against.
    pub fn against(&self, class: u8) -> f64 {
        if class == ARTERY { self.against_artery } else { self.against_vein }
    }

    /// Mean probability of `class` (artery or vein) over the territory.
    pub fn mean(&self, class: u8) -> f64 {
        if class == ARTERY { self.mean_artery } else { 1.0 - self.mean_artery }
    }

    /// The class the evidence favours (ties: artery).
    pub fn favoured(&self) -> u8 {
        if self.mean_artery >= 0.5 { ARTERY } else { VEIN }
    }

    /// The margin in favour of `class`: mean P(class) − P(other), clamped to
    /// 0…1 (0: undecided or against; 1: certain).
    pub fn confidence(&self, class: u8) -> f64 {
        (2.0 * self.mean(class) - 1.0).clamp(0.0, 1.0)
    }
}

/// Evidence of every branch: `owner` gives each voxel's branch (`b + 1`, 0
/// for none), `share` its artery share (0–255).
pub fn gather(owner: &Volume<u32>, share: &Volume<u8>, branches: usize) -> Vec<BranchEvidence> {
    assert!(owner.same_grid(share));
    let add = |mut acc: Vec<(u64, f64, f64, f64)>, (&o, &s): (&u32, &u8)| {
        if o != 0 {
            let p = (s as f64 / 255.0).clamp(P_FLOOR, 1.0 - P_FLOOR);
            let log_ratio = (p / (1.0 - p)).ln();
            let e = &mut acc[o as usize - 1];
            e.0 += 1;
            e.1 += (-log_ratio).max(0.0);
            e.2 += log_ratio.max(0.0);
            e.3 += s as f64 / 255.0;
        }
        acc
    };
    let merge = |mut a: Vec<(u64, f64, f64, f64)>, b: Vec<(u64, f64, f64, f64)>| {
        for (x, y) in a.iter_mut().zip(b) {
            x.0 += y.0;
            x.1 += y.1;
            x.2 += y.2;
            x.3 += y.3;
        }
        a
    };
    let sums = owner
        .data()
        .par_iter()
        .zip(share.data().par_iter())
        .with_min_len(1 << 16)
        .fold(|| vec![(0u64, 0.0, 0.0, 0.0); branches], add)
        .reduce(|| vec![(0u64, 0.0, 0.0, 0.0); branches], merge);
    sums.into_iter()
        .map(|(n, against_artery, against_vein, sum)| BranchEvidence {
            voxels: n,
            against_artery,
            against_vein,
            mean_artery: if n == 0 { 0.5 } else { sum / n as f64 },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    #[test]
    fn evidence_sums_over_each_territory() {
        let g = Geometry::default();
        let owner = Volume::from_vec([4, 1, 1], vec![1, 1, 2, 0], g).unwrap();
        let share = Volume::from_vec([4, 1, 1], vec![255, 229, 26, 0], g).unwrap();
        let e = gather(&owner, &share, 2);
        assert_eq!(e[0].voxels, 2);
        assert_eq!(e[0].favoured(), ARTERY);
        assert_eq!(e[0].against_artery, 0.0);
        assert!(e[0].against_vein > 2.0 * 2.0, "{:?}", e[0]);
        assert_eq!(e[1].favoured(), VEIN);
        assert!(e[1].confidence(VEIN) > 0.75 && e[1].confidence(ARTERY) == 0.0);
        assert!((e[1].against(ARTERY) - (0.898f64 / 0.102).ln()).abs() < 0.01, "{:?}", e[1]);
    }
}
