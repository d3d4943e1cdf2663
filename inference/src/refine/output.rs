//! S208 outputs: the "AV image" and optional removal of small islands.

use rayon::prelude::*;
use vasa_scan::components::{self, Connectivity};
use vasa_scan::{LabelMap, Volume};

/// HU given to non-vessel voxels of the AV image (air).
pub const AV_BACKGROUND_HU: i16 = -1024;

/// The CT with every voxel that no vessel class labels set to `background`:
/// the vessels alone, at their own HU, in the scan's geometry.
pub fn av_image(ct: &Volume<i16>, labels: &LabelMap, vessel_classes: &[u8], background: i16) -> Volume<i16> {
    let mut keep = [false; 256];
    for &c in vessel_classes {
        keep[c as usize] = true;
    }
    let mut out = ct.clone();
    out.data_mut().par_iter_mut().zip(labels.data().par_iter()).for_each(|(v, &l)| {
        if !keep[l as usize] {
            *v = background;
        }
    });
    out
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
