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
    /// Longest gap bridged (mm), from the end of the vessel (its centreline's
    /// free end plus the vessel's radius there).
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
        GapOptions { max_gap_mm: 6.0, max_angle_deg: 40.0, min_hu: -600, max_radius_mm: 1.0 }
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
            // A skeleton's free end lies about a radius inside the vessel's
            // end, so the search reaches that much further.
            // The vessel's radius near its end (the very tip sits in the
            // rounded end, where the distance to the wall is smaller).
            let r = &branch.radius_mm;
            let near_end = if end == 0 { &r[..r.len().min(6)] } else { &r[r.len().saturating_sub(6)..] };
            let tip_radius = near_end.iter().copied().fold(0.0f32, f32::max) as f64;
            let max_d = options.max_gap_mm + tip_radius;
            let reach = [0, 1, 2].map(|a| (max_d / spacing[a]).ceil() as i64);
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
                        if d > max_d || d == 0.0 || dir.dot(v) < cos_max * d {
                            continue;
                        }
                        if best.is_some_and(|(bd, _)| bd <= d) {
                            continue;
                        }
                        // Voxels painted along an earlier gap have no piece id.
                        if ids.data()[q] == 0 || root(&mut group, ids.data()[q]) == tip_piece {
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
            let radius = tip_radius.min(options.max_radius_mm).max(0.5 * spacing.min_element());
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

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;
    use vasa_scan::vessel_graph;

    const BLOOD: i16 = 40;
    const LUNG: i16 = -850;

    /// Paints a tube of `class` and radius `r` (voxels) from `a` to `b`.
    fn tube(labels: &mut LabelMap, ct: &mut Volume<i16>, a: [f64; 3], b: [f64; 3], r: f64, class: u8) {
        for n in crate::tree::test_vessels::tube(labels, a, b, r, class) {
            ct.data_mut()[n] = BLOOD;
        }
    }

    fn run(labels: &mut LabelMap, ct: &Volume<i16>) -> Vec<Gap> {
        let mask = labels.map(|&l| l == ARTERY || l == VEIN);
        let graph = vessel_graph::build(&mask);
        let mut owner = graph.territories(&mask);
        let class: Vec<u8> = graph.branches.iter().map(|b| labels.data()[b.middle()]).collect();
        join_gaps(labels, &mut owner, ct, &graph, &class, &GapOptions::default())
    }

    fn pieces(labels: &LabelMap, class: u8) -> u32 {
        label_classes(labels, Connectivity::TwentySix).count_per_class()[class as usize]
    }

    #[test]
    fn an_aligned_piece_across_blood_is_joined_and_others_stay_islands() {
        let dims = [40, 40, 100];
        let mut labels = Volume::filled(dims, 0u8, Geometry::default());
        // Soft tissue around the vessels (a plain scan), lung in the upper part.
        let mut ct = Volume::filled(dims, 30i16, Geometry::default());
        for k in 70..100 {
            for j in 0..40 {
                for i in 0..40 {
                    let n = ct.index(i, j, k);
                    ct.data_mut()[n] = LUNG;
                }
            }
        }
        // An artery along k broken by a 5 mm gap (k 29..34), in soft tissue.
        tube(&mut labels, &mut ct, [10.0, 10.0, 4.0], [10.0, 10.0, 26.0], 2.0, ARTERY);
        tube(&mut labels, &mut ct, [10.0, 10.0, 36.0], [10.0, 10.0, 60.0], 2.0, ARTERY);
        // A piece 4 mm off the tube's end but beside it, not ahead of it.
        tube(&mut labels, &mut ct, [22.0, 10.0, 50.0], [32.0, 10.0, 50.0], 1.5, ARTERY);
        // A vein broken across aerated lung (k 80..84): not joined.
        tube(&mut labels, &mut ct, [30.0, 30.0, 62.0], [30.0, 30.0, 79.0], 1.5, VEIN);
        for k in 62..72 {
            let n = ct.index(30, 30, k);
            assert_eq!(ct.data()[n], BLOOD);
        }
        tube(&mut labels, &mut ct, [30.0, 30.0, 85.0], [30.0, 30.0, 97.0], 1.5, VEIN);
        for k in 79..86 {
            for j in 27..34 {
                for i in 27..34 {
                    let n = ct.index(i, j, k);
                    if labels.data()[n] == 0 {
                        ct.data_mut()[n] = LUNG;
                    }
                }
            }
        }
        let (artery_before, vein_before) = (pieces(&labels, ARTERY), pieces(&labels, VEIN));
        assert_eq!((artery_before, vein_before), (3, 2));
        let gaps = run(&mut labels, &ct);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        let g = &gaps[0];
        assert_eq!(g.class, ARTERY);
        assert!((3.0..=8.0).contains(&g.length_mm), "{g:?}");
        assert!(g.voxels_added >= 4, "{g:?}");
        assert_eq!(pieces(&labels, ARTERY), 2, "the broken artery is whole, the side piece an island");
        assert_eq!(pieces(&labels, VEIN), 2, "nothing joined across the lung");
        // The joined voxels lie in the gap, along the vessel.
        for k in 29..34 {
            assert_eq!(labels.data()[labels.index(10, 10, k)], ARTERY, "k {k}");
        }
    }

    #[test]
    fn a_gap_through_the_other_class_is_not_joined() {
        let dims = [30, 30, 60];
        let mut labels = Volume::filled(dims, 0u8, Geometry::default());
        let mut ct = Volume::filled(dims, 30i16, Geometry::default());
        tube(&mut labels, &mut ct, [15.0, 15.0, 4.0], [15.0, 15.0, 24.0], 1.5, ARTERY);
        tube(&mut labels, &mut ct, [15.0, 15.0, 32.0], [15.0, 15.0, 55.0], 1.5, ARTERY);
        // A vein crossing the gap.
        tube(&mut labels, &mut ct, [2.0, 15.0, 28.0], [28.0, 15.0, 28.0], 1.2, VEIN);
        let gaps = run(&mut labels, &ct);
        assert!(gaps.iter().all(|g| g.class != ARTERY), "{gaps:?}");
        assert_eq!(pieces(&labels, ARTERY), 2);
    }
}
