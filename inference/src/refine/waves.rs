//! S206: give the unlabelled voxels of the vessel voxel set a vessel type by a
//! majority vote of their labelled 26-neighbours, in waves, so that labels
//! grow outward along connected set voxels (reconnecting broken vessel ends).
//!
//! Each wave reads the labels as they stood at its start (synchronous, so
//! the result does not depend on thread count or visiting order). A voxel is
//! examined only when a neighbour was newly labelled in the previous wave, so
//! the whole process is linear in the number of voxels.

use rayon::prelude::*;
use vasa_scan::neighbourhood::for_each_neighbour_26 as for_neighbours;
use vasa_scan::{LabelMap, Volume};

use super::hu_range::HuRange;

/// What the waves did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaveStats {
    /// Number of waves that labelled at least one voxel.
    pub waves: usize,
    /// Voxels added per class id.
    pub added: Vec<u64>,
}

/// The class voxel `idx` takes: among the vessel classes whose HU range holds
/// its value, the one most frequent among its labelled neighbours; ties go
/// to the range whose centre is nearer its HU, then to the lower id. 0 when
/// no eligible class is among the neighbours.
#[inline]
fn vote(dims: [usize; 3], labels: &[u8], hu: i16, ranges: &[Option<HuRange>], idx: usize) -> u8 {
    let mut counts = [0u8; 256];
    for_neighbours(dims, idx, |n| counts[labels[n] as usize] += 1);
    let mut best = 0u8;
    let mut best_key = (0u8, i32::MIN);
    for (class, range) in ranges.iter().enumerate().skip(1) {
        let (Some(r), c) = (range, counts[class]) else { continue };
        if c == 0 || !r.contains(hu) {
            continue;
        }
        let key = (c, -r.distance_to_centre(hu));
        if key > best_key {
            best_key = key;
            best = class as u8;
        }
    }
    best
}

/// Runs the waves: returns `first` with the reached set voxels labelled.
/// `ranges[c]` is `Some` for the vessel classes that may grow; `in_set` marks
/// the vessel voxel set. `max_waves` bounds the growth distance (in voxels).
pub fn classify_by_waves(
    ct: &Volume<i16>,
    first: &LabelMap,
    in_set: &Volume<bool>,
    ranges: &[Option<HuRange>],
    max_waves: Option<usize>,
) -> (LabelMap, WaveStats) {
    let dims = first.dims();
    let mut labels = first.clone();
    let set = in_set.data();
    let hu = ct.data();
    let grows = |l: u8| ranges.get(l as usize).is_some_and(|r| r.is_some());
    let plane = dims[0] * dims[1];
    let mut stats = WaveStats { waves: 0, added: vec![0; 256] };

    // First frontier: unlabelled set voxels touching a labelled vessel voxel.
    let mut frontier: Vec<usize> = {
        let l = labels.data();
        (0..dims[2])
            .into_par_iter()
            .flat_map_iter(|k| {
                let mut out = Vec::new();
                for idx in k * plane..(k + 1) * plane {
                    if set[idx] && l[idx] == 0 {
                        let mut touches = false;
                        for_neighbours(dims, idx, |n| touches |= grows(l[n]));
                        if touches {
                            out.push(idx);
                        }
                    }
                }
                out
            })
            .collect()
    };
    let mut queued = vec![false; labels.len()];
    for &i in &frontier {
        queued[i] = true;
    }

    while !frontier.is_empty() && max_waves.is_none_or(|m| stats.waves < m) {
        let votes: Vec<u8> = {
            let l = labels.data();
            frontier.par_iter().map(|&idx| vote(dims, l, hu[idx], ranges, idx)).collect()
        };
        let mut newly = Vec::new();
        {
            let l = labels.data_mut();
            for (&idx, &class) in frontier.iter().zip(&votes) {
                queued[idx] = false;
                if class != 0 {
                    l[idx] = class;
                    stats.added[class as usize] += 1;
                    newly.push(idx);
                }
            }
        }
        if newly.is_empty() {
            break;
        }
        stats.waves += 1;
        let l = labels.data();
        let mut next = Vec::new();
        for &idx in &newly {
            for_neighbours(dims, idx, |n| {
                if set[n] && l[n] == 0 && !queued[n] {
                    queued[n] = true;
                    next.push(n);
                }
            });
        }
        frontier = next;
    }
    (labels, stats)
}
