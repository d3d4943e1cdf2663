//! S208 outputs: the "AV image". Removal of small islands is label-only
//! work and lives in [`vasa_scan::label_stats::remove_islands`].

use rayon::prelude::*;
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
