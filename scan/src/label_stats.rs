//! Figures and clean-up of a finished label map: volume and number of pieces
//! per class (the legend, `vasa segment`'s report) and removal of small
//! islands. Label-only work, so it lives here rather than beside the network:
//! a viewer that only shows labels needs no network crate for it.

use rayon::prelude::*;
use serde::Serialize;

use crate::components::{self, Connectivity};
use crate::labels::{self, ClassTable, LabelMap};

/// Per-class figures of a label map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassStats {
    /// Class id.
    pub class: u8,
    /// Class name.
    pub name: String,
    /// Volume in millilitres.
    pub volume_ml: f64,
    /// Number of 26-connected pieces.
    pub components: u32,
}

/// Volume (mL) and number of 26-connected pieces of every non-background
/// class present in `labels`, in class order; names come from `table`.
pub fn class_stats(labels: &LabelMap, table: &ClassTable) -> Vec<ClassStats> {
    let counts = labels::class_counts(labels);
    let pieces = components::components_per_class(labels, Connectivity::TwentySix);
    let ml = labels.voxel_volume_ml();
    (1..=255u8)
        .filter(|&c| counts[c as usize] > 0)
        .map(|c| ClassStats {
            class: c,
            name: table.name(c),
            volume_ml: counts[c as usize] as f64 * ml,
            components: pieces[c as usize],
        })
        .collect()
}

/// Sets to background every 26-connected piece of a class smaller than
/// `min_mm3`; returns the number of pieces removed.
pub fn remove_islands(labels: &mut LabelMap, min_mm3: f64) -> usize {
    let voxel_mm3 = labels.geometry.spacing.element_product();
    let min_voxels = (min_mm3 / voxel_mm3).ceil() as u64;
    if min_voxels <= 1 {
        return 0;
    }
    let comps = components::label_classes(labels, Connectivity::TwentySix);
    let removed = (1..=comps.count() as u32).filter(|&id| comps.size(id) < min_voxels).count();
    if removed == 0 {
        return 0;
    }
    let small = comps.mask(|_, size| size < min_voxels);
    labels.data_mut().par_iter_mut().zip(small.data().par_iter()).for_each(|(l, &s)| {
        if s {
            *l = 0;
        }
    });
    removed
}

#[cfg(test)]
mod tests {
    use glam::DVec3;

    use super::*;
    use crate::{Geometry, Volume};

    fn labels(dims: [usize; 3], spacing: f64) -> LabelMap {
        let g = Geometry::axis_aligned(DVec3::splat(spacing), DVec3::ZERO);
        Volume::from_vec(dims, vec![0u8; dims.iter().product()], g).unwrap()
    }

    fn set(l: &mut LabelMap, x: usize, y: usize, z: usize, v: u8) {
        let i = l.index(x, y, z);
        l.data_mut()[i] = v;
    }

    #[test]
    fn class_stats_counts_volume_and_diagonal_pieces() {
        let mut l = labels([10, 10, 10], 2.0); // 8 mm³ per voxel
        // Class 1: two voxels touching by a corner only (one 26-piece), and a
        // far voxel (a second piece).
        set(&mut l, 1, 1, 1, 1);
        set(&mut l, 2, 2, 2, 1);
        set(&mut l, 8, 8, 8, 1);
        // Class 5, absent from the default table.
        set(&mut l, 5, 5, 5, 5);
        let s = class_stats(&l, &ClassTable::default());
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].class, s[0].name.as_str(), s[0].components), (1, "artery", 2));
        assert!((s[0].volume_ml - 3.0 * 8.0 / 1000.0).abs() < 1e-12);
        assert_eq!((s[1].class, s[1].name.as_str(), s[1].components), (5, "class 5", 1));
    }

    #[test]
    fn class_stats_of_empty_labels_is_empty() {
        assert!(class_stats(&labels([3, 3, 3], 1.0), &ClassTable::default()).is_empty());
    }

    #[test]
    fn remove_islands_drops_small_pieces_per_class_only() {
        let mut l = labels([12, 6, 6], 1.0);
        for x in 0..6 {
            set(&mut l, x, 2, 2, 3); // a 6-voxel piece of class 3
        }
        set(&mut l, 6, 2, 2, 2); // touches class 3, but a 1-voxel piece of class 2
        set(&mut l, 10, 4, 4, 1); // a lone voxel of class 1
        assert_eq!(remove_islands(&mut l, 5.0), 2);
        assert_eq!(l.get(6, 2, 2), Some(&0));
        assert_eq!(l.get(10, 4, 4), Some(&0));
        assert_eq!(l.data().iter().filter(|&&v| v == 3).count(), 6);
        // A threshold of one voxel or less removes nothing.
        set(&mut l, 10, 4, 4, 1);
        assert_eq!(remove_islands(&mut l, 1.0), 0);
        assert_eq!(l.get(10, 4, 4), Some(&1));
    }
}
