//! Gap joining: a vessel that the segmentation broke (a stenosis of the
//! labels, a partial-volume dropout) leaves a piece a few mm from its tree,
//! pointing at it. Such a piece is joined along the vessel, where the CT
//! allows (no aerated lung, no other vessel class on the way). Pieces that
//! are far, or that point elsewhere, stay islands.

use glam::DVec3;
use serde::Serialize;
use vasa_scan::components::{Connectivity, label_classes};
use vasa_scan::labels::{ARTERY, VEIN};
use vasa_scan::vessel_graph::VesselGraph;
use vasa_scan::{LabelMap, Volume};

/// How far and how aligned a piece must be to be joined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GapOptions {
    /// Longest gap bridged (mm).
    pub max_gap_mm: f64,
    /// Largest angle between a free end's direction and the gap (degrees).
    pub max_angle_deg: f64,
    /// Unlabelled voxels on the way must be at least this dense (HU):
    /// vessel blood or its partial volume, not aerated lung.
    pub min_hu: i16,
    /// Radius painted along a joined gap is at most this (mm).
    pub max_radius_mm: f64,
}

impl Default for GapOptions {
    fn default() -> Self {
        GapOptions { max_gap_mm: 6.0, max_angle_deg: 40.0, min_hu: -600, max_radius_mm: 2.0 }
    }
}

/// A joined gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Class of the joined vessel (1 artery, 2 vein).
    pub class: u8,
    /// The free end the gap starts from (world mm, LPS).
    pub from_mm: [f64; 3],
    /// Where it meets the other piece (world mm, LPS).
    pub to_mm: [f64; 3],
    /// Its length (mm).
    pub length_mm: f64,
    /// Voxels labelled along it.
    pub voxels_added: u64,
    /// The branch whose free end it starts from.
    pub from_branch: usize,
    /// The branch it reaches (0-based; `usize::MAX` when the voxel it
    /// reaches has no branch).
    pub to_branch: usize,
}

/// Joins gaps in `labels` (artery and vein) in place. `class_of` gives
/// each branch of `graph` its class, `owner` each vessel voxel its branch
/// (`b + 1`); voxels painted along a gap take the branch they start from.
pub fn join_gaps(
    labels: &mut LabelMap,
    owner: &mut Volume<u32>,
    ct: &Volume<i16>,
    graph: &VesselGraph,
    class_of: &[u8],
    options: &GapOptions,
) -> Vec<Gap> {
    let components = label_classes(labels, Connectivity::TwentySix);
    let ids = components.ids();
    let mut group: Vec<u32> = (0..=components.count() as u32).collect();
    fn root(group: &mut [u32], mut a: u32) -> u32 {
        while group[a as usize] != a {
            group[a as usize] = group[group[a as usize] as usize];
            a = group[a as usize];
        }
        a
    }
    let dims = labels.dims();
    let spacing = labels.geometry.spacing;
    let reach = [0, 1, 2].map(|a| (options.max_gap_mm / spacing[a]).ceil() as i64);
    let cos_max = options.max_angle_deg.to_radians().cos();
    let step_mm = 0.25 * spacing.min_element();
    let mut gaps = Vec::new();

    for (b, branch) in graph.branches.iter().enumerate() {
        let class = class_of[b];
        if class != ARTERY && class != VEIN || branch.path.len() < 2 {
            continue;
        }
        for end in 0..2 {
            if branch.ends[end].is_some() {
                continue;
            }
            let tip = if end == 0 { branch.path[0] } else { *branch.path.last().expect("not empty") };
            if labels.data()[tip] != class {
                continue;
            }
            let dir = graph.end_direction(b, end, 5.0);
            if dir == DVec3::ZERO {
                continue;
            }
            let tip_w = graph.world(tip);
            let tip_piece = root(&mut group, ids.data()[tip]);
            let [ti, tj, tk] = labels.coords(tip);
            // The nearest voxel of the same class in another piece, inside the cone.
            let mut best: Option<(f64, usize)> = None;
            for dk in -reach[2]..=reach[2] {
                for dj in -reach[1]..=reach[1] {
                    for di in -reach[0]..=reach[0] {
                        let (i, j, k) = (ti as i64 + di, tj as i64 + dj, tk as i64 + dk);
                        if i < 0 || j < 0 || k < 0 || i >= dims[0] as i64 || j >= dims[1] as i64 || k >= dims[2] as i64
                        {
                            continue;
                        }
                        let q = labels.index(i as usize, j as usize, k as usize);
                        if labels.data()[q] != class {
                            continue;
                        }
                        let v = graph.world(q) - tip_w;
                        let d = v.length();
                        if d > options.max_gap_mm || d == 0.0 || dir.dot(v) < cos_max * d {
                            continue;
                        }
                        if best.is_some_and(|(bd, _)| bd <= d) {
                            continue;
                        }
                        if root(&mut group, ids.data()[q]) == tip_piece {
                            continue;
                        }
                        best = Some((d, q));
                    }
                }
            }
            let Some((length, target)) = best else { continue };
            // The way must be vessel-like: nothing of another class, no air.
            let to_w = graph.world(target);
            let samples = (length / step_mm).ceil().max(1.0) as usize;
            let along: Vec<usize> = (0..=samples)
                .filter_map(|s| {
                    let p = tip_w + (to_w - tip_w) * (s as f64 / samples as f64);
                    let v = labels.geometry.world_to_voxel(p).round();
                    (v.min_element() >= 0.0).then_some(())?;
                    let (i, j, k) = (v.x as usize, v.y as usize, v.z as usize);
                    labels.get(i, j, k).map(|_| labels.index(i, j, k))
                })
                .collect();
            let clear = along.iter().all(|&q| {
                let l = labels.data()[q];
                l == class || (l == 0 && ct.data()[q] >= options.min_hu)
            });
            if !clear {
                continue;
            }
            // Paint a tube as wide as the thinner end (bounded).
            let radius = (branch.radius_mm[if end == 0 { 0 } else { branch.radius_mm.len() - 1 }] as f64)
                .min(options.max_radius_mm)
                .max(0.5 * spacing.min_element());
            let r_vox = [0, 1, 2].map(|a| (radius / spacing[a]).floor() as i64);
            let mut added = 0u64;
            for &q in &along {
                let [ci, cj, ck] = labels.coords(q);
                let c_w = graph.world(q);
                for dk in -r_vox[2]..=r_vox[2] {
                    for dj in -r_vox[1]..=r_vox[1] {
                        for di in -r_vox[0]..=r_vox[0] {
                            let (i, j, k) = (ci as i64 + di, cj as i64 + dj, ck as i64 + dk);
                            if i < 0
                                || j < 0
                                || k < 0
                                || i >= dims[0] as i64
                                || j >= dims[1] as i64
                                || k >= dims[2] as i64
                            {
                                continue;
                            }
                            let n = labels.index(i as usize, j as usize, k as usize);
                            if labels.data()[n] != 0 || ct.data()[n] < options.min_hu {
                                continue;
                            }
                            if graph.world(n).distance(c_w) > radius {
                                continue;
                            }
                            labels.data_mut()[n] = class;
                            owner.data_mut()[n] = b as u32 + 1;
                            added += 1;
                        }
                    }
                }
            }
            let target_piece = root(&mut group, ids.data()[target]);
            group[tip_piece.max(target_piece) as usize] = tip_piece.min(target_piece);
            let to_branch = owner.data()[target].checked_sub(1).map_or(usize::MAX, |o| o as usize);
            gaps.push(Gap {
                class,
                from_mm: tip_w.to_array(),
                to_mm: to_w.to_array(),
                length_mm: length,
                voxels_added: added,
                from_branch: b,
                to_branch,
            });
        }
    }
    gaps
}
