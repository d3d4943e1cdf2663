//! A vessel mask as a graph of branches: its curve skeleton
//! ([`crate::skeleton`]) split at the bifurcations, each branch with its
//! ordered centreline, length and radius along it (distance transform).
//!
//! The tree stage labels vessels branch by branch on this graph, and
//! `vasa eval` counts how many true branches a prediction finds.
//!
//! # How the skeleton is split
//!
//! A skeleton voxel whose skeleton neighbours form one 26-connected group is
//! a free end, two groups a point along a curve, three or more a
//! bifurcation ([`neighbour_components_26`]; a staircase step of a thin
//! curve is not a bifurcation). Bifurcation voxels that touch form one
//! [`Junction`]; the remaining voxels, grouped by 26-connectivity, form the
//! [`Branch`]es. A branch's centreline is its longest path; skeleton voxels
//! off that path (corners of staircase steps) are kept as `extra`.

use std::collections::{HashMap, VecDeque};

use glam::DVec3;
use rayon::prelude::*;

use crate::distance::distance_where_mm;
use crate::geometry::Geometry;
use crate::neighbourhood::{CENTRE, offset};
use crate::skeleton::{neighbour_components_26, skeleton_voxels_where};
use crate::volume::Volume;

/// A run of centreline between two bifurcations, or a bifurcation and a free
/// end (or a whole piece without bifurcation).
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Centreline voxels (linear indices into the mask), in order.
    pub path: Vec<usize>,
    /// Skeleton voxels of the branch off `path` (staircase corners).
    pub extra: Vec<usize>,
    /// The junction at the first and at the last voxel of `path`
    /// (index into [`VesselGraph::junctions`]); `None` at a free end.
    pub ends: [Option<usize>; 2],
    /// Length along `path` (mm).
    pub length_mm: f64,
    /// Vessel radius at each voxel of `path` (mm): distance to the nearest
    /// voxel outside the mask, less half a voxel.
    pub radius_mm: Vec<f32>,
}

impl Branch {
    /// Mean radius along the centreline (mm).
    pub fn mean_radius_mm(&self) -> f64 {
        if self.radius_mm.is_empty() {
            return 0.0;
        }
        self.radius_mm.iter().map(|&r| r as f64).sum::<f64>() / self.radius_mm.len() as f64
    }

    /// Smallest radius along the centreline (mm).
    pub fn min_radius_mm(&self) -> f64 {
        self.radius_mm.iter().copied().fold(f32::INFINITY, f32::min).min(f32::MAX) as f64
    }

    /// Largest radius along the centreline (mm).
    pub fn max_radius_mm(&self) -> f64 {
        self.radius_mm.iter().copied().fold(0.0, f32::max) as f64
    }

    /// The centreline voxel halfway along the branch.
    pub fn middle(&self) -> usize {
        self.path[self.path.len() / 2]
    }
}

/// Bifurcation voxels that touch, and the branches that meet there.
#[derive(Debug, Clone, PartialEq)]
pub struct Junction {
    /// The junction's skeleton voxels (linear indices).
    pub voxels: Vec<usize>,
    /// Branches with an end here (a branch that loops back appears twice).
    pub branches: Vec<usize>,
}

/// The branches and junctions of a mask's curve skeleton.
#[derive(Debug, Clone, PartialEq)]
pub struct VesselGraph {
    /// Dimensions of the mask the graph was built from.
    pub dims: [usize; 3],
    /// Its geometry.
    pub geometry: Geometry,
    /// The branches.
    pub branches: Vec<Branch>,
    /// The junctions.
    pub junctions: Vec<Junction>,
}

/// Skeleton neighbours of skeleton voxel `idx` (ids into the skeleton list)
/// and the 27-bit word of the skeleton around it.
fn skeleton_neighbours(dims: [usize; 3], idx: usize, at: &HashMap<usize, u32>) -> (u32, Vec<u32>) {
    let [nx, ny, nz] = dims;
    let (i, j, k) = (idx % nx, (idx / nx) % ny, idx / (nx * ny));
    let mut word = 0u32;
    let mut ids = Vec::new();
    for b in 0..27 {
        if b == CENTRE {
            continue;
        }
        let o = offset(b);
        let (Some(a), Some(c), Some(d)) = (
            i.checked_add_signed(o[0] as isize).filter(|&a| a < nx),
            j.checked_add_signed(o[1] as isize).filter(|&c| c < ny),
            k.checked_add_signed(o[2] as isize).filter(|&d| d < nz),
        ) else {
            continue;
        };
        if let Some(&id) = at.get(&(a + nx * (c + ny * d))) {
            word |= 1 << b;
            ids.push(id);
        }
    }
    (word, ids)
}

/// Union–find over `n` items.
struct Groups(Vec<u32>);

impl Groups {
    fn new(n: usize) -> Self {
        Groups((0..n as u32).collect())
    }
    fn root(&mut self, mut a: u32) -> u32 {
        while self.0[a as usize] != a {
            let up = self.0[self.0[a as usize] as usize];
            self.0[a as usize] = up;
            a = up;
        }
        a
    }
    fn join(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.0[ra.max(rb) as usize] = ra.min(rb);
        }
    }
}

/// Hop distances from `start` inside the group `members` (ids), with the
/// predecessor of each reached id.
fn hops(start: u32, member: &[bool], nbrs: &[Vec<u32>]) -> HashMap<u32, (u32, u32)> {
    let mut seen = HashMap::new();
    seen.insert(start, (0u32, start));
    let mut queue = VecDeque::from([start]);
    while let Some(a) = queue.pop_front() {
        let d = seen[&a].0;
        for &b in &nbrs[a as usize] {
            if member[b as usize] && !seen.contains_key(&b) {
                seen.insert(b, (d + 1, a));
                queue.push_back(b);
            }
        }
    }
    seen
}

/// The vessel graph of the `true` voxels of `mask`.
pub fn build(mask: &Volume<bool>) -> VesselGraph {
    build_where(mask, |&b| b)
}

/// The vessel graph of the voxels of `volume` for which `inside` holds
/// (e.g. `|&l| l == 1` on a label map).
pub fn build_where<T, F>(volume: &Volume<T>, inside: F) -> VesselGraph
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    let dims = volume.dims();
    let geometry = volume.geometry;
    let skel = skeleton_voxels_where(volume, &inside);
    let at: HashMap<usize, u32> = skel.iter().enumerate().map(|(n, &v)| (v, n as u32)).collect();
    let around: Vec<(u32, Vec<u32>)> = skel.par_iter().map(|&v| skeleton_neighbours(dims, v, &at)).collect();
    // Three or more skeleton neighbours: a bifurcation or a crossing (whose
    // arms may touch inside the 3×3×3 block), or a staircase corner, which
    // becomes a junction of two branches and is merged away below.
    let junction: Vec<bool> = around.iter().map(|(w, n)| n.len() >= 3 || neighbour_components_26(*w) >= 3).collect();
    let nbrs: Vec<Vec<u32>> = around.into_iter().map(|(_, n)| n).collect();

    // Group junction voxels with junction voxels, the rest with the rest.
    let mut groups = Groups::new(skel.len());
    for (a, ns) in nbrs.iter().enumerate() {
        for &b in ns {
            if junction[a] == junction[b as usize] {
                groups.join(a as u32, b);
            }
        }
    }
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for a in 0..skel.len() as u32 {
        let r = groups.root(a);
        members.entry(r).or_default().push(a);
    }
    let mut roots: Vec<u32> = members.keys().copied().collect();
    roots.sort_unstable();

    let mut junctions = Vec::new();
    let mut junction_of = vec![usize::MAX; skel.len()];
    for &r in roots.iter().filter(|&&r| junction[r as usize]) {
        for &a in &members[&r] {
            junction_of[a as usize] = junctions.len();
        }
        junctions.push(Junction { voxels: members[&r].iter().map(|&a| skel[a as usize]).collect(), branches: vec![] });
    }

    let mut branches = Vec::new();
    let mut member = vec![false; skel.len()];
    for &r in roots.iter().filter(|&&r| !junction[r as usize]) {
        let group = &members[&r];
        for &a in group {
            member[a as usize] = true;
        }
        // Longest path: farthest voxel from any, then farthest from that.
        let far = |from: u32| {
            let h = hops(from, &member, &nbrs);
            let (&end, _) = h.iter().max_by_key(|&(&id, &(d, _))| (d, std::cmp::Reverse(id))).expect("not empty");
            (end, h)
        };
        let (first, _) = far(group[0]);
        let (last, h) = far(first);
        let mut path_ids = vec![last];
        while let Some(&(_, prev)) = h.get(path_ids.last().expect("not empty")) {
            if prev == *path_ids.last().expect("not empty") {
                break;
            }
            path_ids.push(prev);
        }
        let on_path: std::collections::HashSet<u32> = path_ids.iter().copied().collect();
        let extra = group.iter().filter(|a| !on_path.contains(a)).map(|&a| skel[a as usize]).collect();
        let touching = |id: u32| {
            let mut js: Vec<usize> =
                nbrs[id as usize].iter().filter(|&&b| junction[b as usize]).map(|&b| junction_of[b as usize]).collect();
            js.sort_unstable();
            js.dedup();
            js
        };
        let (a_js, b_js) = (touching(path_ids[0]), touching(*path_ids.last().expect("not empty")));
        let start = a_js.first().copied();
        let end = if path_ids.len() == 1 { a_js.get(1).copied() } else { b_js.first().copied() };
        for &a in group {
            member[a as usize] = false;
        }
        let path: Vec<usize> = path_ids.iter().map(|&a| skel[a as usize]).collect();
        branches.push(Branch { path, extra, ends: [start, end], length_mm: 0.0, radius_mm: vec![] });
    }
    // A junction no branch reaches (a knot of bifurcation voxels on its own)
    // becomes a branch, so every skeleton voxel belongs to one.
    let touched: Vec<bool> = {
        let mut t = vec![false; junctions.len()];
        for b in &branches {
            for e in b.ends.iter().flatten() {
                t[*e] = true;
            }
        }
        t
    };
    let mut renumber = vec![usize::MAX; junctions.len()];
    let mut kept = Vec::new();
    for (j, junction) in junctions.into_iter().enumerate() {
        if touched[j] {
            renumber[j] = kept.len();
            kept.push(junction);
        } else {
            let mut path = junction.voxels;
            path.sort_unstable();
            branches.push(Branch { path, extra: vec![], ends: [None, None], length_mm: 0.0, radius_mm: vec![] });
        }
    }
    let mut junctions = kept;
    for (id, b) in branches.iter_mut().enumerate() {
        for e in b.ends.iter_mut().flatten() {
            *e = renumber[*e];
            junctions[*e].branches.push(id);
        }
    }
    merge_pass_through_junctions(&mut branches, &mut junctions, dims);

    // Lengths and radii.
    let half = 0.5 * geometry.spacing.min_element() as f32;
    let inside_distance = distance_where_mm(volume, |v| !inside(v));
    let world = |idx: usize| {
        let [nx, ny, _] = dims;
        geometry.voxel_to_world(DVec3::new((idx % nx) as f64, ((idx / nx) % ny) as f64, (idx / (nx * ny)) as f64))
    };
    branches.par_iter_mut().for_each(|b| {
        b.length_mm = b.path.windows(2).map(|w| world(w[0]).distance(world(w[1]))).sum::<f64>() + 0.0;
        b.radius_mm = b.path.iter().map(|&v| (inside_distance.data()[v].min(1e6) - half).max(half)).collect();
    });
    VesselGraph { dims, geometry, branches, junctions }
}

/// Joins the two branches of every junction where exactly two meet (a
/// staircase corner of the skeleton, not a bifurcation) into one, and
/// renumbers what is left.
fn merge_pass_through_junctions(branches: &mut Vec<Branch>, junctions: &mut Vec<Junction>, dims: [usize; 3]) {
    let [nx, ny, _] = dims;
    let at = |v: usize| DVec3::new((v % nx) as f64, ((v / nx) % ny) as f64, (v / (nx * ny)) as f64);
    let mut gone_branch = vec![false; branches.len()];
    let mut gone_junction = vec![false; junctions.len()];
    for j in 0..junctions.len() {
        let [a, b] = junctions[j].branches[..] else { continue };
        if a == b {
            continue;
        }
        // Orient `a` to end at j and `b` to start there.
        let mut first = std::mem::replace(&mut branches[a], Branch::empty());
        let mut second = std::mem::replace(&mut branches[b], Branch::empty());
        if first.ends[1] != Some(j) {
            first.path.reverse();
            first.ends.swap(0, 1);
        }
        if second.ends[0] != Some(j) {
            second.path.reverse();
            second.ends.swap(0, 1);
        }
        let tail = at(*first.path.last().expect("branches are not empty"));
        let mut middle = std::mem::take(&mut junctions[j].voxels);
        middle.sort_by(|&p, &q| at(p).distance_squared(tail).total_cmp(&at(q).distance_squared(tail)));
        first.path.extend(middle);
        first.path.extend(second.path);
        first.extra.extend(second.extra);
        first.ends[1] = second.ends[1];
        if let Some(k) = second.ends[1] {
            for x in junctions[k].branches.iter_mut() {
                if *x == b {
                    *x = a;
                }
            }
        }
        branches[a] = first;
        gone_branch[b] = true;
        gone_junction[j] = true;
        junctions[j].branches.clear();
    }
    let mut branch_id = vec![usize::MAX; branches.len()];
    let mut next = 0;
    for (old, gone) in gone_branch.iter().enumerate() {
        if !gone {
            branch_id[old] = next;
            next += 1;
        }
    }
    let mut junction_id = vec![usize::MAX; junctions.len()];
    next = 0;
    for (old, gone) in gone_junction.iter().enumerate() {
        if !gone {
            junction_id[old] = next;
            next += 1;
        }
    }
    let mut keep = gone_branch.iter().map(|g| !g);
    branches.retain(|_| keep.next().expect("one flag per branch"));
    let mut keep = gone_junction.iter().map(|g| !g);
    junctions.retain(|_| keep.next().expect("one flag per junction"));
    for b in branches.iter_mut() {
        for e in b.ends.iter_mut().flatten() {
            *e = junction_id[*e];
        }
    }
    for j in junctions.iter_mut() {
        for x in j.branches.iter_mut() {
            *x = branch_id[*x];
        }
    }
}

impl Branch {
    fn empty() -> Self {
        Branch { path: vec![], extra: vec![], ends: [None, None], length_mm: 0.0, radius_mm: vec![] }
    }
}

impl VesselGraph {
    /// World position (mm, LPS) of voxel `idx`.
    pub fn world(&self, idx: usize) -> DVec3 {
        let [nx, ny, _] = self.dims;
        self.geometry.voxel_to_world(DVec3::new((idx % nx) as f64, ((idx / nx) % ny) as f64, (idx / (nx * ny)) as f64))
    }

    /// Unit direction leaving branch `b` at its end `end` (0: first voxel of
    /// the path, 1: last), measured over up to `reach_mm` of centreline;
    /// zero for a one-voxel branch.
    pub fn end_direction(&self, b: usize, end: usize, reach_mm: f64) -> DVec3 {
        let path = &self.branches[b].path;
        let ordered: Box<dyn Iterator<Item = &usize>> =
            if end == 0 { Box::new(path.iter()) } else { Box::new(path.iter().rev()) };
        let mut it = ordered;
        let Some(&tip) = it.next() else { return DVec3::ZERO };
        let tip_w = self.world(tip);
        let mut inner = tip_w;
        for &v in it {
            inner = self.world(v);
            if inner.distance(tip_w) >= reach_mm {
                break;
            }
        }
        (tip_w - inner).normalize_or_zero()
    }

    /// The branches that share a junction with branch `b`, with that junction.
    pub fn neighbours(&self, b: usize) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = self.branches[b]
            .ends
            .iter()
            .flatten()
            .flat_map(|&j| self.junctions[j].branches.iter().filter(move |&&o| o != b).map(move |&o| (o, j)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Which end of branch `b` (0 or 1) lies at junction `j`; 0 when neither.
    pub fn end_at(&self, b: usize, j: usize) -> usize {
        if self.branches[b].ends[1] == Some(j) && self.branches[b].ends[0] != Some(j) { 1 } else { 0 }
    }

    /// Each voxel of `mask` (the mask the graph was built from) given the
    /// branch whose skeleton it is nearest to along the mask: `b + 1`, 0
    /// outside the mask. Multi-source breadth-first growth from every
    /// branch's skeleton voxels, so the territories of two vessels that
    /// touch meet halfway between their axes. Junction voxels fall to a
    /// neighbouring branch.
    pub fn territories(&self, mask: &Volume<bool>) -> Volume<u32> {
        assert_eq!(mask.dims(), self.dims, "territories need the graph's own mask");
        let mut owner = Volume::filled(self.dims, 0u32, self.geometry);
        let mut queue = VecDeque::new();
        for (id, b) in self.branches.iter().enumerate() {
            for &v in b.path.iter().chain(&b.extra) {
                owner.data_mut()[v] = id as u32 + 1;
                queue.push_back(v);
            }
        }
        let dims = self.dims;
        let m = mask.data();
        while let Some(v) = queue.pop_front() {
            let o = owner.data()[v];
            crate::neighbourhood::for_each_neighbour_26(dims, v, |n| {
                if m[n] && owner.data()[n] == 0 {
                    owner.data_mut()[n] = o;
                    queue.push_back(n);
                }
            });
        }
        owner
    }

    /// Total centreline length (mm).
    pub fn total_length_mm(&self) -> f64 {
        self.branches.iter().map(|b| b.length_mm).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mask of tubes of radius `r` (voxels) along the segments `lines`.
    fn tubes(dims: [usize; 3], lines: &[([f64; 3], [f64; 3])], r: f64) -> Volume<bool> {
        let mut m = Volume::filled(dims, false, Geometry::default());
        for n in 0..m.len() {
            let [i, j, k] = m.coords(n);
            let p = DVec3::new(i as f64, j as f64, k as f64);
            m.data_mut()[n] = lines.iter().any(|(a, b)| {
                let (a, b) = (DVec3::from_array(*a), DVec3::from_array(*b));
                let t = ((p - a).dot(b - a) / (b - a).length_squared()).clamp(0.0, 1.0);
                p.distance(a + (b - a) * t) <= r
            });
        }
        m
    }

    #[test]
    fn a_straight_tube_is_one_branch_with_its_length_and_radius() {
        let m = tubes([20, 20, 60], &[([10.0, 10.0, 5.0], [10.0, 10.0, 54.0])], 3.0);
        let g = build(&m);
        assert_eq!(g.branches.len(), 1, "{:?}", g.branches.iter().map(|b| b.path.len()).collect::<Vec<_>>());
        assert!(g.junctions.is_empty());
        let b = &g.branches[0];
        assert!((b.length_mm - 49.0).abs() < 6.0, "length {}", b.length_mm);
        let r = b.radius_mm[b.path.len() / 2];
        assert!((2.3..=3.7).contains(&r), "radius {r}");
        assert_eq!(b.ends, [None, None]);
        let d = g.end_direction(0, 1, 10.0);
        let d0 = g.end_direction(0, 0, 10.0);
        assert!(d.z.abs() > 0.95 && d0.z.abs() > 0.95 && d.z * d0.z < 0.0, "{d} {d0}");
    }

    #[test]
    fn a_y_splits_into_three_branches_at_one_junction() {
        let m = tubes(
            [50, 30, 70],
            &[
                ([25.0, 15.0, 5.0], [25.0, 15.0, 35.0]),
                ([25.0, 15.0, 35.0], [8.0, 15.0, 64.0]),
                ([25.0, 15.0, 35.0], [42.0, 15.0, 64.0]),
            ],
            2.5,
        );
        let g = build(&m);
        assert_eq!(g.junctions.len(), 1, "{:?}", g.junctions);
        assert_eq!(g.branches.len(), 3);
        assert_eq!(g.junctions[0].branches.len(), 3);
        for (id, b) in g.branches.iter().enumerate() {
            assert_eq!(b.ends.iter().flatten().count(), 1, "branch {id} {:?}", b.ends);
            assert!(b.length_mm > 20.0, "branch {id} {}", b.length_mm);
            assert_eq!(g.neighbours(id).len(), 2);
        }
        // Every mask voxel has a territory; each branch owns a fair share.
        let t = g.territories(&m);
        let mut count = [0usize; 4];
        for (&o, &inside) in t.data().iter().zip(m.data()) {
            assert_eq!(o != 0, inside);
            count[o as usize] += 1;
        }
        assert!(count[1..].iter().all(|&c| c > 500), "{count:?}");
    }

    #[test]
    fn a_crossing_is_one_junction_of_four_and_an_oblique_tube_one_branch() {
        let m =
            tubes([60, 20, 60], &[([5.0, 10.0, 5.0], [55.0, 10.0, 55.0]), ([5.0, 10.0, 55.0], [55.0, 10.0, 5.0])], 2.0);
        let g = build(&m);
        assert_eq!(g.junctions.len(), 1, "{:?}", g.junctions);
        assert_eq!(g.junctions[0].branches.len(), 4);
        assert_eq!(g.branches.len(), 4);
        // Oblique in all three axes: staircase steps everywhere, no junction.
        let m = tubes([50, 50, 50], &[([5.0, 8.0, 6.0], [44.0, 40.0, 45.0])], 2.0);
        let g = build(&m);
        assert_eq!((g.branches.len(), g.junctions.len()), (1, 0), "{:?}", g.junctions);
        assert!((g.branches[0].length_mm - 63.0).abs() < 10.0, "{}", g.branches[0].length_mm);
    }

    #[test]
    fn separate_pieces_are_separate_branches_and_an_empty_mask_has_none() {
        let m =
            tubes([30, 30, 40], &[([5.0, 5.0, 5.0], [5.0, 5.0, 30.0]), ([20.0, 20.0, 5.0], [20.0, 20.0, 30.0])], 1.5);
        let g = build(&m);
        assert_eq!(g.branches.len(), 2);
        let empty = Volume::filled([5, 5, 5], false, Geometry::default());
        let g = build(&empty);
        assert!(g.branches.is_empty() && g.junctions.is_empty());
    }

    #[test]
    fn a_single_voxel_is_a_branch_of_length_zero() {
        let mut m = Volume::filled([5, 5, 5], false, Geometry::default());
        let i = m.index(2, 2, 2);
        m.data_mut()[i] = true;
        let g = build(&m);
        assert_eq!(g.branches.len(), 1);
        assert_eq!(g.branches[0].path, vec![i]);
        assert_eq!(g.branches[0].length_mm, 0.0);
    }
}
