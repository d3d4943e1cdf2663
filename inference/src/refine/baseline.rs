//! The related art the patent replaces, for benchmarks only: threshold the
//! scan to each vessel's HU range, then grow every class from the network's
//! labels by repeated conditional dilation over the whole volume until
//! nothing changes (what a scripted threshold + region-growing pipeline does).
//! Its cost is the number of voxels times the number of iterations, where
//! the waves of [`super::waves`] touch each voxel a bounded number of times.

use vasa_scan::neighbourhood::neighbours_26;
use vasa_scan::{LabelMap, Volume};

use super::hu_range::HuRange;

/// Grows `first` into `in_set` voxels whose HU lies in the class's range, one
/// full-volume 26-neighbour dilation pass per iteration, classes in id order,
/// for at most `max_passes` passes (the same growth distance as the waves'
/// limit). Returns the labels and the number of passes.
pub fn threshold_region_growing(
    ct: &Volume<i16>,
    first: &LabelMap,
    in_set: &Volume<bool>,
    ranges: &[Option<HuRange>],
    max_passes: Option<usize>,
) -> (LabelMap, usize) {
    let dims = first.dims();
    let [nx, ny, nz] = dims;
    let mut labels = first.clone();
    let mut passes = 0;
    loop {
        if max_passes.is_some_and(|m| passes >= m) {
            return (labels, passes);
        }
        passes += 1;
        let before = labels.data().to_vec();
        let mut changed = false;
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let idx = i + nx * (j + ny * k);
                    if before[idx] != 0 || !in_set.data()[idx] {
                        continue;
                    }
                    let hu = ct.data()[idx];
                    'classes: for (class, r) in ranges.iter().enumerate().skip(1) {
                        let Some(r) = r else { continue };
                        if !r.contains(hu) {
                            continue;
                        }
                        if neighbours_26(dims, [i, j, k]).any(|n| before[n] == class as u8) {
                            labels.data_mut()[idx] = class as u8;
                            changed = true;
                            break 'classes;
                        }
                    }
                }
            }
        }
        if !changed {
            return (labels, passes);
        }
    }
}
