//! Branch labelling: one class per branch, chosen for whole trees at once.
//!
//! Each connected piece of the vessel graph gets a root per class: the
//! widest branch the network calls that class (in the main piece, the
//! pulmonary trunk and the left atrium). From the roots the two classes
//! grow over the graph at the same time, cheapest first (Dijkstra with one
//! queue). Claiming a branch costs what the network says against that class
//! on it (mean log-odds per voxel), plus a penalty for turning sharply at
//! the junction (a vessel runs on straight through a crossing; its branches
//! leave at moderate angles). A path costs its *worst* claim, ties broken
//! by the total: a branch far from its root is not penalised for the
//! distance, only for having to pass through a branch that contradicts the
//! class. A branch takes the class that reaches it first, and the branch it
//! was reached from is its parent, so a class always continues from parent
//! to child. A branch may also start a tree of its own (an island) at a
//! fixed cost ([`PartitionOptions::island_cost`]): a subtree cut off from
//! its root by the segmentation keeps its class rather than being pulled
//! across a contact into the other tree.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use glam::DVec3;
use vasa_scan::labels::{ARTERY, VEIN};
use vasa_scan::vessel_graph::VesselGraph;

use super::evidence::BranchEvidence;

/// The pulmonary classes the tree stage assigns.
pub const TREE_CLASSES: [u8; 2] = [ARTERY, VEIN];

/// Tuning of the growth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartitionOptions {
    /// Cost of turning back on oneself (180°) at a junction, in the units
    /// of the evidence (mean log-odds per voxel); a 90° turn costs half.
    pub turn_cost: f64,
    /// Cost per mm of centreline added to a path's total, so that among
    /// equal evidence the nearer root wins.
    pub length_cost: f64,
    /// Any branch may start a tree of the class it favours at this cost
    /// (worst claim): a subtree reached only through branches that
    /// contradict its class more than this stays its own class, as an
    /// island, instead of being pulled across a contact.
    pub island_cost: f64,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions { turn_cost: 0.3, length_cost: 0.01, island_cost: 0.5 }
    }
}

/// The class and parent of every branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Class of each branch (artery or vein).
    pub class: Vec<u8>,
    /// The branch each was reached from; `None` for roots.
    pub parent: Vec<Option<usize>>,
    /// The connected piece of the graph each branch lies in.
    pub piece: Vec<usize>,
    /// Root branches: (piece, class, branch).
    pub roots: Vec<(usize, u8, usize)>,
}

/// The connected pieces of the branch graph: a piece id per branch
/// (numbered in order of their first branch).
pub fn pieces(graph: &VesselGraph) -> Vec<usize> {
    let n = graph.branches.len();
    let mut up: Vec<usize> = (0..n).collect();
    fn root(up: &mut [usize], mut a: usize) -> usize {
        while up[a] != a {
            up[a] = up[up[a]];
            a = up[a];
        }
        a
    }
    for j in &graph.junctions {
        if let Some(&first) = j.branches.first() {
            for &b in &j.branches[1..] {
                let (ra, rb) = (root(&mut up, first), root(&mut up, b));
                if ra != rb {
                    up[ra.max(rb)] = ra.min(rb);
                }
            }
        }
    }
    let mut id = vec![usize::MAX; n];
    let mut next = 0;
    (0..n)
        .map(|b| {
            let r = root(&mut up, b);
            if id[r] == usize::MAX {
                id[r] = next;
                next += 1;
            }
            id[r]
        })
        .collect()
}

/// The root of each class in each piece: the widest branch whose evidence
/// favours the class (by its widest point, then by its territory).
fn roots(graph: &VesselGraph, evidence: &[BranchEvidence], piece: &[usize]) -> Vec<(usize, u8, usize)> {
    let count = piece.iter().copied().max().map_or(0, |m| m + 1);
    let mut best: Vec<[Option<(f64, u64, usize)>; 2]> = vec![[None, None]; count];
    for (b, e) in evidence.iter().enumerate() {
        let favoured = e.favoured();
        let slot = &mut best[piece[b]][(favoured == VEIN) as usize];
        let key = (graph.branches[b].max_radius_mm(), e.voxels, b);
        let better = match slot {
            None => true,
            Some(s) => (key.0, key.1).partial_cmp(&(s.0, s.1)) == Some(Ordering::Greater),
        };
        if better {
            *slot = Some(key);
        }
    }
    let mut out = Vec::new();
    for (p, slots) in best.iter().enumerate() {
        for (c, slot) in slots.iter().enumerate() {
            if let Some((_, _, b)) = slot {
                out.push((p, TREE_CLASSES[c], *b));
            }
        }
    }
    out
}

/// A queue entry: worst claim and total cost so far, branch, class, the
/// branch it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    worst: f64,
    total: f64,
    branch: usize,
    class: u8,
    from: Option<usize>,
}

impl Eq for Step {}

impl Ord for Step {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on (worst, total); ties by branch, then class, for a fixed order.
        other
            .worst
            .total_cmp(&self.worst)
            .then(other.total.total_cmp(&self.total))
            .then(other.branch.cmp(&self.branch))
            .then(other.class.cmp(&self.class))
    }
}

impl PartialOrd for Step {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The unit direction leaving each branch at each end (over 5 mm).
fn end_directions(graph: &VesselGraph) -> Vec<[DVec3; 2]> {
    (0..graph.branches.len()).map(|b| [graph.end_direction(b, 0, 5.0), graph.end_direction(b, 1, 5.0)]).collect()
}

/// What it costs `class` to claim branch `b` entered from branch `from`
/// through junction `j` (`dirs`: [`end_directions`]).
fn claim_cost(
    graph: &VesselGraph,
    dirs: &[[DVec3; 2]],
    evidence: &[BranchEvidence],
    options: &PartitionOptions,
    class: u8,
    b: usize,
    from: Option<(usize, usize)>,
) -> f64 {
    let e = &evidence[b];
    let mut cost = e.against(class) / e.voxels.max(1) as f64;
    if let Some((a, j)) = from {
        // Direction of travel into the junction along `a`, and out of it along `b`.
        let d_in = dirs[a][graph.end_at(a, j)];
        let d_out = -dirs[b][graph.end_at(b, j)];
        let turn = (1.0 - d_in.dot(d_out)) / 2.0;
        cost += options.turn_cost * turn;
    }
    cost
}

/// Labels every branch of `graph` given the network's `evidence` per branch.
pub fn partition(graph: &VesselGraph, evidence: &[BranchEvidence], options: &PartitionOptions) -> Partition {
    let n = graph.branches.len();
    let piece = pieces(graph);
    let roots = roots(graph, evidence, &piece);
    let dirs = end_directions(graph);
    let mut class = vec![0u8; n];
    let mut parent = vec![None; n];
    let mut queue = BinaryHeap::new();
    // The cheapest (worst, total) queued per branch and class: only a
    // cheaper way is queued, so a junction where thousands of branches meet
    // (the skeleton of a blob) costs comparisons, not queue entries.
    let mut best = vec![[(f64::INFINITY, f64::INFINITY); 2]; n];
    let slot = |c: u8| (c == VEIN) as usize;
    for &(_, c, b) in &roots {
        let cost = claim_cost(graph, &dirs, evidence, options, c, b, None);
        best[b][slot(c)] = (cost, cost);
        queue.push(Step { worst: cost, total: cost, branch: b, class: c, from: None });
    }
    for (b, e) in evidence.iter().enumerate() {
        let c = e.favoured();
        let cost = claim_cost(graph, &dirs, evidence, options, c, b, None);
        let (worst, total) = (cost.max(options.island_cost), cost + options.island_cost);
        if (worst, total) < best[b][slot(c)] {
            best[b][slot(c)] = (worst, total);
            queue.push(Step { worst, total, branch: b, class: c, from: None });
        }
    }
    while let Some(step) = queue.pop() {
        if class[step.branch] != 0 {
            continue;
        }
        class[step.branch] = step.class;
        parent[step.branch] = step.from;
        let ends = graph.branches[step.branch].ends;
        let junctions = ends.iter().enumerate().filter(|&(e, j)| j.is_some() && (e == 0 || ends[0] != ends[1]));
        for (_, j) in junctions {
            let j = j.expect("filtered");
            for &o in &graph.junctions[j].branches {
                if o == step.branch || class[o] != 0 {
                    continue;
                }
                let cost = claim_cost(graph, &dirs, evidence, options, step.class, o, Some((step.branch, j)));
                let total = step.total + cost + options.length_cost * graph.branches[o].length_mm;
                let worst = step.worst.max(cost);
                if (worst, total) < best[o][slot(step.class)] {
                    best[o][slot(step.class)] = (worst, total);
                    queue.push(Step { worst, total, branch: o, class: step.class, from: Some(step.branch) });
                }
            }
        }
    }
    // Every piece has a root, so every branch is claimed; a branch without
    // evidence (no territory) would still be reached through its piece.
    for (b, c) in class.iter_mut().enumerate() {
        if *c == 0 {
            *c = evidence[b].favoured();
        }
    }
    Partition { class, parent, piece, roots }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;
    use vasa_scan::{Geometry, Volume};

    fn tubes(dims: [usize; 3], lines: &[([f64; 3], [f64; 3], f64)]) -> Volume<bool> {
        let mut m = Volume::filled(dims, false, Geometry::default());
        for n in 0..m.len() {
            let [i, j, k] = m.coords(n);
            let p = DVec3::new(i as f64, j as f64, k as f64);
            m.data_mut()[n] = lines.iter().any(|(a, b, r)| {
                let (a, b) = (DVec3::from_array(*a), DVec3::from_array(*b));
                let t = ((p - a).dot(b - a) / (b - a).length_squared()).clamp(0.0, 1.0);
                p.distance(a + (b - a) * t) <= *r
            });
        }
        m
    }

    fn evidence_of(graph: &VesselGraph, mask: &Volume<bool>, share_at: impl Fn(DVec3) -> u8) -> Vec<BranchEvidence> {
        let owner = graph.territories(mask);
        let mut share = Volume::filled(mask.dims(), 128u8, mask.geometry);
        for n in 0..share.len() {
            let [i, j, k] = share.coords(n);
            share.data_mut()[n] = share_at(DVec3::new(i as f64, j as f64, k as f64));
        }
        super::super::evidence::gather(&owner, &share, graph.branches.len())
    }

    #[test]
    fn a_mislabelled_child_follows_its_tree_and_a_crossing_is_cut() {
        // An artery trunk (x = 15) running up with two children, and a vein
        // (y = 30 plane) crossing the trunk's upper child. The network calls
        // one artery child vein (weakly): the tree stage makes it artery.
        let m = tubes(
            [60, 60, 80],
            &[
                ([15.0, 15.0, 2.0], [15.0, 15.0, 30.0], 4.0),  // artery trunk (root, widest)
                ([15.0, 15.0, 30.0], [15.0, 45.0, 70.0], 2.0), // artery child A crossing the vein
                ([15.0, 15.0, 30.0], [15.0, 2.0, 60.0], 2.0),  // artery child B, weakly called vein
                ([2.0, 30.0, 50.0], [58.0, 30.0, 50.0], 2.5),  // vein crossing child A at y = 30, z = 50
                ([58.0, 30.0, 50.0], [58.0, 30.0, 8.0], 5.0),  // vein down to its atrium (root)
            ],
        );
        let graph = vasa_scan::vessel_graph::build(&m);
        let e = evidence_of(&graph, &m, |p| {
            if p.z > 46.0 && p.z < 54.0 && (p.x - 15.0).abs() > 4.0 {
                20 // the vein
            } else if p.x > 50.0 {
                10 // the vein's trunk
            } else if p.y < 12.0 && p.z > 32.0 {
                115 // child B: weakly vein
            } else {
                235 // arteries
            }
        });
        let part = partition(&graph, &e, &PartitionOptions::default());
        let owner = graph.territories(&m);
        let class_at = |i: usize, j: usize, k: usize| {
            let o = owner.data()[owner.index(i, j, k)];
            assert_ne!(o, 0, "({i},{j},{k}) not in the mask");
            part.class[o as usize - 1]
        };
        assert_eq!(class_at(15, 15, 10), ARTERY, "trunk");
        assert_eq!(class_at(15, 6, 52), ARTERY, "child B continues its tree");
        assert_eq!(class_at(15, 40, 63), ARTERY, "child A beyond the crossing");
        assert_eq!(class_at(30, 30, 50), VEIN, "vein between the crossing and its trunk");
        assert_eq!(class_at(5, 30, 50), VEIN, "vein beyond the crossing");
        assert_eq!(class_at(58, 30, 20), VEIN, "the vein's trunk");
        // Parents: every non-root branch has a parent of the same class.
        for b in 0..graph.branches.len() {
            if let Some(p) = part.parent[b] {
                assert_eq!(part.class[p], part.class[b]);
            }
        }
        assert_eq!(part.roots.iter().filter(|r| r.1 == ARTERY).count(), 1);
        assert_eq!(part.roots.iter().filter(|r| r.1 == VEIN).count(), 1);
    }
}
