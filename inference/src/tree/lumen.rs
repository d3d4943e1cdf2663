//! One lumen, two classes: on a contrast scan the network sometimes splits
//! one vessel's lumen between artery and vein. On lidc-0001 a quarter of
//! the pulmonary trunk was called vein, and that chunk was the vein's
//! largest piece, so neither the branch labelling nor the adoption (which
//! leaves a class's main piece alone) could give it back.
//!
//! Two vessels that touch are parted by their walls, which on an enhanced
//! scan are darker than the blood on either side. One lumen has the same
//! blood right across the seam. So where an artery piece and a vein piece
//! touch over a broad seam as bright as the blood on both sides, and that
//! blood is alike, the smaller piece takes the larger one's class. On a
//! plain scan wall and blood share their HU and nothing can be told: the
//! test needs enhanced blood on both sides, and stays off.

use std::collections::{HashMap, HashSet};

use glam::DVec3;
use vasa_scan::components::{Connectivity, label_classes};
use vasa_scan::labels::{ARTERY, VEIN};
use vasa_scan::neighbourhood::for_each_neighbour_26;
use vasa_scan::{LabelMap, Volume};

use crate::refine::hu_range::ENHANCED_VESSEL_HU;

/// Seams of fewer voxels (both sides together) say nothing.
pub const MIN_SEAM_VOXELS: usize = 20;
/// The seam's median HU must reach this share of the dimmer side's blood
/// (a wall, even one voxel of partial volume, pulls it well below).
pub const SEAM_OF_BLOOD: f64 = 0.9;
/// The dimmer side's blood must reach this share of the brighter side's.
/// In the arterial phase veins enhance less than arteries.
pub const BLOOD_ALIKE: f64 = 0.9;
/// The blood on each side is read within this distance of the seam (mm).
pub const BLOOD_NEAR_MM: f64 = 5.0;

/// A piece that took the class of the lumen it splits.
#[derive(Debug, Clone, PartialEq)]
pub struct LumenMerge {
    /// The network's class.
    pub from_class: u8,
    /// The class of the larger piece across the seam.
    pub to_class: u8,
    /// Its size (voxels).
    pub voxels: u64,
    /// The middle of the seam (world mm, LPS).
    pub at_mm: DVec3,
}

/// Gives every artery or vein piece of `labels` that splits one lumen with
/// a larger piece of the other class that class. The network's artery
/// share over it (`share`, 0–255) is mirrored, so that the branch labelling
/// after this sees its margin for the new class.
pub fn merge_split_lumens(labels: &mut LabelMap, share: &mut Volume<u8>, ct: &Volume<i16>) -> Vec<LumenMerge> {
    let components = label_classes(labels, Connectivity::TwentySix);
    let ids = components.ids();
    let dims = labels.dims();
    let is_vessel = |id: u32| id != 0 && matches!(components.class_of(id), ARTERY | VEIN);
    // Each class's largest piece: its main tree, whose lumen a split piece
    // joins. Two islands touching say little of which class either is.
    let main_of = |class: u8| {
        (1..=components.count() as u32)
            .filter(|&id| components.class_of(id) == class)
            .max_by_key(|&id| components.size(id))
    };
    let mains = [main_of(ARTERY), main_of(VEIN)];

    // The seam of every artery–vein pair of pieces: the voxels of either
    // piece that touch the other.
    let mut seams: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
    for (v, &a) in ids.data().iter().enumerate() {
        if !is_vessel(a) {
            continue;
        }
        let mut across: Vec<u32> = Vec::new();
        for_each_neighbour_26(dims, v, |w| {
            let b = ids.data()[w];
            if is_vessel(b) && components.class_of(b) != components.class_of(a) && !across.contains(&b) {
                across.push(b);
            }
        });
        for b in across {
            seams.entry((a.min(b), a.max(b))).or_default().push(v);
        }
    }

    let median = |mut hu: Vec<i16>| -> Option<f64> {
        if hu.is_empty() {
            return None;
        }
        let mid = hu.len() / 2;
        Some(*hu.select_nth_unstable(mid).1 as f64)
    };
    let mut split: Vec<((u32, u32), usize, DVec3)> = Vec::new();
    for (&(a, b), seam) in &seams {
        let large = if components.size(a) >= components.size(b) { a } else { b };
        if seam.len() < MIN_SEAM_VOXELS || !mains.contains(&Some(large)) {
            continue;
        }
        let seam_hu = median(seam.iter().map(|&v| ct.data()[v]).collect()).expect("not empty");
        // A seam darker than enhanced blood fails whatever the blood (and
        // on a plain scan every seam does): skip reading the blood.
        if seam_hu < SEAM_OF_BLOOD * ENHANCED_VESSEL_HU {
            continue;
        }
        let (blood_a, blood_b) = (blood_near(&ids, ct, a, seam), blood_near(&ids, ct, b, seam));
        let (Some(blood_a), Some(blood_b)) = (median(blood_a), median(blood_b)) else { continue };
        let (dim, bright) = (blood_a.min(blood_b), blood_a.max(blood_b));
        if dim > ENHANCED_VESSEL_HU && dim >= BLOOD_ALIKE * bright && seam_hu >= SEAM_OF_BLOOD * dim {
            let centre = seam.iter().map(|&v| world(labels, v)).sum::<DVec3>() / seam.len() as f64;
            split.push(((a, b), seam.len(), centre));
        }
    }
    // Broadest seams first; a piece changes class once.
    split.sort_by_key(|&((a, b), n, _)| (std::cmp::Reverse(n), a, b));
    let mut turned: HashMap<u32, u8> = HashMap::new();
    let mut merges = Vec::new();
    for ((a, b), _, at_mm) in split {
        if turned.contains_key(&a) || turned.contains_key(&b) {
            continue;
        }
        let (small, large) = if components.size(a) <= components.size(b) { (a, b) } else { (b, a) };
        let (from, to) = (components.class_of(small), components.class_of(large));
        turned.insert(small, to);
        merges.push(LumenMerge { from_class: from, to_class: to, voxels: components.size(small), at_mm });
    }
    for ((l, s), id) in labels.data_mut().iter_mut().zip(share.data_mut()).zip(ids.data()) {
        if let Some(&to) = turned.get(id) {
            *l = to;
            *s = 255 - *s;
        }
    }
    merges.sort_by_key(|m| std::cmp::Reverse(m.voxels));
    merges
}

/// HU of the inner voxels of piece `id` (all 26 neighbours in it) within
/// [`BLOOD_NEAR_MM`] of the `seam`: its blood there, clear of the wall.
fn blood_near(ids: &Volume<u32>, ct: &Volume<i16>, id: u32, seam: &[usize]) -> Vec<i16> {
    let dims = ids.dims();
    let spacing = ids.geometry.spacing;
    let reach = [0, 1, 2].map(|a| (BLOOD_NEAR_MM / spacing[a]).ceil() as usize);
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    for &v in seam {
        let c = ids.coords(v);
        for a in 0..3 {
            lo[a] = lo[a].min(c[a].saturating_sub(reach[a]));
            hi[a] = hi[a].max((c[a] + reach[a]).min(dims[a] - 1));
        }
    }
    let seam_set: HashSet<usize> = seam.iter().copied().collect();
    let mut hu = Vec::new();
    for k in lo[2]..=hi[2] {
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                let v = ids.index(i, j, k);
                if ids.data()[v] != id || seam_set.contains(&v) {
                    continue;
                }
                let mut inner = true;
                for_each_neighbour_26(dims, v, |w| inner &= ids.data()[w] == id);
                if inner {
                    hu.push(ct.data()[v]);
                }
            }
        }
    }
    hu
}

fn world<T>(v: &Volume<T>, index: usize) -> DVec3 {
    let [i, j, k] = v.coords(index);
    v.geometry.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::test_vessels::tube;
    use vasa_scan::Geometry;

    /// A vessel along k, enhanced to `blood` HU, in lung; returns its voxels.
    fn vessel(labels: &mut LabelMap, ct: &mut Volume<i16>, a: [f64; 3], b: [f64; 3], r: f64, blood: i16) -> Vec<usize> {
        let painted = tube(labels, a, b, r, ARTERY);
        for &n in &painted {
            ct.data_mut()[n] = blood;
        }
        painted
    }

    fn scan(dims: [usize; 3]) -> (LabelMap, Volume<i16>, Volume<u8>) {
        let g = Geometry::default();
        (Volume::filled(dims, 0, g), Volume::filled(dims, -850, g), Volume::filled(dims, 200, g))
    }

    /// Calls the voxels of `painted` with j above `j` vein (the network's split).
    fn split(labels: &mut LabelMap, share: &mut Volume<u8>, painted: &[usize], j: usize) -> usize {
        let mut n = 0;
        for &v in painted {
            if labels.coords(v)[1] > j {
                labels.data_mut()[v] = VEIN;
                share.data_mut()[v] = 40;
                n += 1;
            }
        }
        n
    }

    #[test]
    fn a_trunk_split_between_classes_on_a_contrast_scan_is_made_one() {
        let (mut labels, mut ct, mut share) = scan([40, 40, 40]);
        let trunk = vessel(&mut labels, &mut ct, [20.0, 20.0, 2.0], [20.0, 20.0, 37.0], 8.0, 320);
        // A third of it, on one side, called vein.
        let called_vein = split(&mut labels, &mut share, &trunk, 23);
        assert!(called_vein > 500);
        let merges = merge_split_lumens(&mut labels, &mut share, &ct);
        assert_eq!(merges.len(), 1, "{merges:?}");
        assert_eq!((merges[0].from_class, merges[0].to_class), (VEIN, ARTERY));
        assert_eq!(merges[0].voxels, called_vein as u64);
        assert!(trunk.iter().all(|&v| labels.data()[v] == ARTERY));
        // The network's margin now speaks for the artery.
        assert!(trunk.iter().all(|&v| share.data()[v] >= 200));
    }

    #[test]
    fn two_islands_sharing_a_lumen_are_left_to_the_tree_stage() {
        let (mut labels, mut ct, mut share) = scan([60, 40, 40]);
        // Each class's main tree elsewhere, larger than the islands.
        vessel(&mut labels, &mut ct, [8.0, 10.0, 2.0], [8.0, 10.0, 37.0], 5.0, 320);
        let vein = vessel(&mut labels, &mut ct, [50.0, 10.0, 2.0], [50.0, 10.0, 37.0], 5.0, 320);
        for &v in &vein {
            labels.data_mut()[v] = VEIN;
        }
        // An island split between the classes, away from both.
        let island = vessel(&mut labels, &mut ct, [29.0, 28.0, 5.0], [29.0, 28.0, 34.0], 5.0, 320);
        assert!(split(&mut labels, &mut share, &island, 27) > 500);
        let before = labels.clone();
        assert!(merge_split_lumens(&mut labels, &mut share, &ct).is_empty());
        assert_eq!(labels, before);
    }

    #[test]
    fn on_a_plain_scan_nothing_can_be_told() {
        let (mut labels, mut ct, mut share) = scan([40, 40, 40]);
        let trunk = vessel(&mut labels, &mut ct, [20.0, 20.0, 2.0], [20.0, 20.0, 37.0], 8.0, 40);
        split(&mut labels, &mut share, &trunk, 23);
        let before = labels.clone();
        assert!(merge_split_lumens(&mut labels, &mut share, &ct).is_empty());
        assert_eq!(labels, before);
    }

    #[test]
    fn two_vessels_parted_by_a_wall_or_by_their_blood_keep_their_classes() {
        for (wall, vein_blood) in [(true, 320), (false, 200)] {
            let (mut labels, mut ct, mut share) = scan([50, 40, 40]);
            // An artery and a vein side by side, touching along their length.
            vessel(&mut labels, &mut ct, [15.0, 20.0, 2.0], [15.0, 20.0, 37.0], 6.0, 320);
            let vein = vessel(&mut labels, &mut ct, [28.0, 20.0, 2.0], [28.0, 20.0, 37.0], 6.5, vein_blood);
            for &v in &vein {
                labels.data_mut()[v] = VEIN;
            }
            if wall {
                // Their walls: the voxels where the two touch are soft tissue.
                for v in 0..labels.len() {
                    let i = labels.coords(v)[0];
                    if labels.data()[v] != 0 && (21..=22).contains(&i) {
                        ct.data_mut()[v] = 60;
                    }
                }
            }
            let before = labels.clone();
            let merges = merge_split_lumens(&mut labels, &mut share, &ct);
            assert!(merges.is_empty(), "wall {wall}, vein blood {vein_blood}: {merges:?}");
            assert_eq!(labels, before);
        }
    }
}
