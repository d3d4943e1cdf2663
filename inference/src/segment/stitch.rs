//! Logits from the model's grid back to the scan's grid, before the argmax
//! (DESIGN.md S202: labels must line up with the scan, not with a resampled
//! copy of it). Trilinear per class, fused with the argmax so no full-size
//! float volume is ever allocated. The same pass keeps, per voxel, how much
//! the network favours artery over vein (one byte), for the tree stage.

use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::crop::BoundingBox;
use vasa_scan::labels::{ARTERY, VEIN};
use vasa_scan::{Geometry, LabelMap, Volume};

use super::window::BlendedLogits;

/// Writes into `labels` (the scan's full grid), inside `region`, the argmax of
/// `logits` (on `logits_geometry`, axes parallel to the scan's) interpolated
/// at each voxel centre, and into `artery_share` (same grid) the artery
/// share `255 · P(artery) / (P(artery) + P(vein))`, see [`artery_share`].
/// Voxels outside `region` are left untouched.
pub fn argmax_on_grid(
    logits: &BlendedLogits,
    logits_geometry: &Geometry,
    labels: &mut LabelMap,
    artery_share: &mut Volume<u8>,
    region: &BoundingBox,
) {
    assert!(artery_share.same_grid(labels), "the artery share must lie on the labels' grid");
    let [nd, nh, nw] = logits.dims; // k, j, i
    let n = nd * nh * nw;
    let classes = logits.classes;
    let target = labels.geometry;
    // Continuous logits-grid index of a target voxel is affine in (i, j, k).
    let at = |p: DVec3| logits_geometry.world_to_voxel(target.voxel_to_world(p));
    let o = at(DVec3::ZERO);
    let (ci, cj, ck) = (at(DVec3::X) - o, at(DVec3::Y) - o, at(DVec3::Z) - o);
    let [tx, ty, _] = labels.dims();
    let b = region.clamped(labels.dims());
    let data = &logits.data;
    let plane = tx * ty;
    let av = (classes > VEIN as usize).then_some((ARTERY as usize, VEIN as usize));
    let shares = artery_share.data_mut().par_chunks_mut(plane);
    labels.data_mut().par_chunks_mut(plane).zip(shares).enumerate().for_each(|(k, (slice, share))| {
        if k < b.min[2] || k >= b.max_exclusive[2] {
            return;
        }
        let mut scores = vec![0f32; classes];
        for j in b.min[1]..b.max_exclusive[1] {
            for i in b.min[0]..b.max_exclusive[0] {
                let p = o + ci * i as f64 + cj * j as f64 + ck * k as f64;
                // Clamp to the grid (edge voxels repeat), then trilinear.
                let x = p.x.clamp(0.0, (nw - 1) as f64);
                let y = p.y.clamp(0.0, (nh - 1) as f64);
                let z = p.z.clamp(0.0, (nd - 1) as f64);
                let (x0, y0, z0) = (x.floor() as usize, y.floor() as usize, z.floor() as usize);
                let (x1, y1, z1) = ((x0 + 1).min(nw - 1), (y0 + 1).min(nh - 1), (z0 + 1).min(nd - 1));
                let (fx, fy, fz) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32, (z - z0 as f64) as f32);
                let idx = |z: usize, y: usize, x: usize| (z * nh + y) * nw + x;
                let corners = [
                    (idx(z0, y0, x0), (1.0 - fz) * (1.0 - fy) * (1.0 - fx)),
                    (idx(z0, y0, x1), (1.0 - fz) * (1.0 - fy) * fx),
                    (idx(z0, y1, x0), (1.0 - fz) * fy * (1.0 - fx)),
                    (idx(z0, y1, x1), (1.0 - fz) * fy * fx),
                    (idx(z1, y0, x0), fz * (1.0 - fy) * (1.0 - fx)),
                    (idx(z1, y0, x1), fz * (1.0 - fy) * fx),
                    (idx(z1, y1, x0), fz * fy * (1.0 - fx)),
                    (idx(z1, y1, x1), fz * fy * fx),
                ];
                for (c, s) in scores.iter_mut().enumerate() {
                    *s = corners.iter().map(|&(q, w)| w * data[c * n + q]).sum();
                }
                let mut best = 0;
                for c in 1..classes {
                    if scores[c] > scores[best] {
                        best = c;
                    }
                }
                slice[i + tx * j] = best as u8;
                if let Some((a, v)) = av {
                    share[i + tx * j] = self::artery_share(scores[a] - scores[v]);
                }
            }
        }
    });
}

/// Artery share of a voxel with logit difference `artery − vein`:
/// `255 · σ(d)` rounded, so 128 is a tie, 255 sure artery, 0 sure vein.
#[inline]
pub fn artery_share(d: f32) -> u8 {
    if d.is_nan() {
        return 128;
    }
    (255.0 / (1.0 + (-d).exp())).round() as u8
}

/// The artery probability among the two pulmonary classes encoded by
/// [`artery_share`].
#[inline]
pub fn share_probability(share: u8) -> f32 {
    share as f32 / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artery_share_is_a_sigmoid_in_a_byte() {
        assert_eq!(artery_share(0.0), 128);
        assert_eq!(artery_share(30.0), 255);
        assert_eq!(artery_share(-30.0), 0);
        assert_eq!(artery_share(f32::NAN), 128);
        assert!(artery_share(1.0) > 180 && artery_share(1.0) < 200);
        assert!((share_probability(artery_share(2.0)) - 0.8808).abs() < 0.003);
    }
}
