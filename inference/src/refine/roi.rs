//! The region of interest of S204: the lungs and the mediastinum between
//! them, where pulmonary vessels and the aorta can be. Voxels outside never
//! join the vessel voxel set, however vessel-like their HU.

use rayon::prelude::*;
use vasa_scan::masks::{self, BodyMaskOptions, LungMaskOptions, Mask};
use vasa_scan::{LabelMap, Volume};

/// Margin (mm) added around the lungs in each axial slice.
pub const ROI_MARGIN_MM: f64 = 5.0;

/// Lungs and mediastinum: within every axial slice, the body voxels inside
/// the bounding rectangle of that slice's lung voxels (padded by
/// [`ROI_MARGIN_MM`]); plus every voxel the first segmentation labels, so the
/// network's own result is always inside. Falls back to the body when no lung
/// is found.
pub fn thoracic_roi(ct: &Volume<i16>, first: Option<&LabelMap>) -> Mask {
    let body = masks::body_mask(ct, &BodyMaskOptions::default());
    let lungs = masks::lung_mask(ct, &body, &LungMaskOptions::default());
    roi_from_masks(body, &lungs, first)
}

/// [`thoracic_roi`] from body and lung masks already computed (the body
/// mask's buffer becomes the result).
pub fn roi_from_masks(body: Mask, lungs: &Mask, first: Option<&LabelMap>) -> Mask {
    let dims = body.dims();
    let geometry = body.geometry;
    let axis = masks::axial_axis(&geometry);
    let (u_axis, v_axis) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let margin = [0, 1, 2].map(|a| (ROI_MARGIN_MM / geometry.spacing[a]).ceil() as i64);
    // Per axial slice: lung bounding rectangle (u_min, u_max, v_min, v_max).
    const EMPTY: (i64, i64, i64, i64) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    let plane = dims[0] * dims[1];
    let boxes = lungs
        .data()
        .par_chunks(plane)
        .enumerate()
        .fold(
            || vec![EMPTY; dims[axis]],
            |mut b, (k, slice)| {
                for (p, &inside) in slice.iter().enumerate() {
                    if inside {
                        let c = [(p % dims[0]) as i64, (p / dims[0]) as i64, k as i64];
                        let e = &mut b[c[axis] as usize];
                        *e = (e.0.min(c[u_axis]), e.1.max(c[u_axis]), e.2.min(c[v_axis]), e.3.max(c[v_axis]));
                    }
                }
                b
            },
        )
        .reduce(
            || vec![EMPTY; dims[axis]],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = (x.0.min(y.0), x.1.max(y.1), x.2.min(y.2), x.3.max(y.3));
                }
                a
            },
        );
    let any_lung = boxes.iter().any(|b| b.0 <= b.1);
    let mut roi = body;
    let first = first.map(|f| f.data());
    roi.data_mut().par_chunks_mut(plane).enumerate().for_each(|(k, slice)| {
        for (p, r) in slice.iter_mut().enumerate() {
            let idx = k * plane + p;
            if first.is_some_and(|f| f[idx] != 0) {
                *r = true;
                continue;
            }
            if !*r || !any_lung {
                continue;
            }
            let c = [(p % dims[0]) as i64, (p / dims[0]) as i64, k as i64];
            let b = boxes[c[axis] as usize];
            *r = b.0 <= b.1
                && c[u_axis] >= b.0 - margin[u_axis]
                && c[u_axis] <= b.1 + margin[u_axis]
                && c[v_axis] >= b.2 - margin[v_axis]
                && c[v_axis] <= b.3 + margin[v_axis];
        }
    });
    roi
}
