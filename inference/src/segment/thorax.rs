//! Pieces outside the thorax. The pulmonary vessels and the thoracic aorta lie
//! within the lungs' outline in every axial slice (the mediastinum is between
//! the lungs). A vessel piece wholly in the chest wall, the back muscles, the
//! spine's processes or the shoulders is a mislabel: on real scans the network
//! sometimes calls enhanced muscle, subclavian veins or bone a vessel there.
//!
//! A piece is removed only when every voxel of it lies in an axial slice that
//! holds lung (pieces above or below the lungs, such as the aorta through the
//! diaphragm, are kept), and
//! - none of its voxels lies within [`THORAX_MARGIN_MM`] (in the slice) of the
//!   convex hull of that slice's lungs; or
//! - it is not its class's largest piece and most of it lies outside the
//!   hull: a band along the inside of the chest wall, beside the lung.
//!
//! A class's largest piece touching the lungs is always kept, so a crop
//! through one lung, whose hull leaves the mediastinum out, keeps its aorta
//! and its pulmonary trunk.

use vasa_scan::LabelMap;
use vasa_scan::components::{Connectivity, label_classes};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};
use vasa_scan::masks::{self, Mask};

use super::selfcheck::{per_slice_hull, slices_holding, slices_where};

/// How far (mm, within the axial slice) outside the lungs' hull a piece may
/// lie and still count as inside the thorax.
pub const THORAX_MARGIN_MM: f64 = 5.0;

/// Removes the artery, vein and aorta pieces (26-connected) that lie wholly
/// outside the thorax (see the module's text), given the scan's lung mask on
/// the same grid. Returns the number of pieces removed; does nothing when no
/// lung was found.
pub fn remove_pieces_outside_thorax(labels: &mut LabelMap, lungs: &Mask, margin_mm: f64) -> usize {
    assert_eq!(labels.dims(), lungs.dims(), "labels and lungs must share the grid");
    let axis = masks::axial_axis(&labels.geometry);
    // Which slices across `axis` hold lung.
    let has_lung = slices_holding(lungs, axis);
    if !has_lung.iter().any(|&h| h) {
        return 0;
    }
    let hull = per_slice_hull(lungs, axis);
    let radius = [0, 1, 2]
        .map(|a| if a == axis { 0 } else { (margin_mm / labels.geometry.spacing[a]).ceil().max(0.0) as usize });
    // One mask at a time beside the hull: these are whole-scan volumes.
    let comps = label_classes(labels, Connectivity::TwentySix);
    let near_count = comps.count_where(&masks::dilate(&hull, radius));
    let inside_count = comps.count_where(&hull);
    drop(hull);
    let lung_slices = slices_where(labels, axis, |k| has_lung[k]);
    let in_lung_slices = comps.count_where(&lung_slices);
    drop(lung_slices);
    let mut largest = [0u32; 256];
    for id in 1..=comps.count() as u32 {
        let c = comps.class_of(id) as usize;
        if comps.size(id) > comps.size(largest[c]) {
            largest[c] = id;
        }
    }
    let outside: Vec<bool> = (0..=comps.count())
        .map(|id| {
            let class = comps.class_of(id as u32);
            let size = comps.size(id as u32);
            id > 0
                && [ARTERY, VEIN, AORTA].contains(&class)
                && in_lung_slices[id] == size
                && (near_count[id] == 0 || (largest[class as usize] != id as u32 && 2 * inside_count[id] < size))
        })
        .collect();
    let removed = outside.iter().filter(|&&o| o).count();
    if removed > 0 {
        let gone = comps.mask(|id, _| outside[id as usize]);
        for (l, &g) in labels.data_mut().iter_mut().zip(gone.data()) {
            if g {
                *l = 0;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use glam::DVec3;
    use vasa_scan::{Geometry, Volume};

    use super::*;

    /// A 60×40×10 grid of 1 mm voxels with two lungs (boxes) in slices 2..8.
    fn lungs() -> Mask {
        let g = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
        let mut m = Volume::filled([60, 40, 10], false, g);
        for k in 2..8 {
            for j in 10..30 {
                for i in (10..25).chain(35..50) {
                    let p = m.index(i, j, k);
                    m.data_mut()[p] = true;
                }
            }
        }
        m
    }

    fn paint(l: &mut LabelMap, i: std::ops::Range<usize>, j: std::ops::Range<usize>, k: std::ops::Range<usize>, c: u8) {
        for z in k {
            for y in j.clone() {
                for x in i.clone() {
                    let p = l.index(x, y, z);
                    l.data_mut()[p] = c;
                }
            }
        }
    }

    #[test]
    fn a_piece_in_the_chest_wall_goes_and_the_mediastinum_and_what_lies_beyond_the_lungs_stay() {
        let lungs = lungs();
        let mut labels = lungs.map(|_| 0u8);
        // (box, class, removed?) — the hull spans i 10..=49, j 10..=29 in slices 2..8.
        let pieces = [
            ((28..32, 18..22, 3..6), AORTA, false),  // mediastinum, between the lungs
            ((12..16, 12..16, 3..6), ARTERY, false), // in a lung: the largest artery piece
            ((55..58, 18..21, 3..6), ARTERY, true),  // chest wall, 6 mm past the hull
            ((49..53, 24..25, 3..6), ARTERY, true),  // along the chest wall, 1 of 4 columns inside
            ((25..36, 0..3, 2..8), VEIN, true), // in front of the sternum, 8 mm from the hull: the largest vein piece
            ((28..31, 27..32, 3..6), VEIN, false), // across the hull's edge, 3 of 5 rows inside, not the largest
            ((55..58, 18..21, 8..10), AORTA, false), // below the lungs
        ];
        for ((i, j, k), c, _) in pieces.clone() {
            paint(&mut labels, i, j, k, c);
        }
        let before = labels.clone();
        let removed = remove_pieces_outside_thorax(&mut labels, &lungs, THORAX_MARGIN_MM);
        assert_eq!(removed, 3);
        let mut expected = before.clone();
        for ((i, j, k), _, gone) in pieces {
            if gone {
                paint(&mut expected, i, j, k, 0);
            }
        }
        assert_eq!(labels, expected);
    }

    #[test]
    fn a_piece_that_reaches_the_lungs_stays_whole_and_no_lung_means_no_change() {
        let lungs = lungs();
        let mut labels = lungs.map(|_| 0u8);
        // A vessel from the chest wall into the lung: one piece, kept whole.
        paint(&mut labels, 45..59, 20..22, 4..5, VEIN);
        let before = labels.clone();
        assert_eq!(remove_pieces_outside_thorax(&mut labels, &lungs, THORAX_MARGIN_MM), 0);
        assert_eq!(labels, before);
        // Without lungs nothing is judged.
        let none = lungs.map(|_| false);
        paint(&mut labels, 55..58, 0..3, 3..6, ARTERY);
        let before = labels.clone();
        assert_eq!(remove_pieces_outside_thorax(&mut labels, &none, THORAX_MARGIN_MM), 0);
        assert_eq!(labels, before);
    }

    #[test]
    fn a_crop_through_one_lung_keeps_the_mediastinum_beside_it() {
        let mut lungs = lungs();
        // Only the right-hand lung (i 35..50) is in the field of view.
        for (n, l) in lungs.data_mut().iter_mut().enumerate() {
            if n % 60 < 30 {
                *l = false;
            }
        }
        let mut labels = lungs.map(|_| 0u8);
        paint(&mut labels, 28..33, 18..22, 2..8, AORTA); // 3 mm from the lung's medial surface
        let before = labels.clone();
        assert_eq!(remove_pieces_outside_thorax(&mut labels, &lungs, THORAX_MARGIN_MM), 0);
        assert_eq!(labels, before);
    }
}
