//! The tree stage: one tree per class, labelled branch by branch, after the
//! network and S204–S208 (DESIGN.md's optimisation step, extended).
//!
//! 1. **Vessel graph** ([`vasa_scan::vessel_graph`]): the skeleton of the
//!    union of artery and vein, split at bifurcations, with the radius along
//!    each branch; every vessel voxel belongs to the branch whose axis it is
//!    nearest along the vessel (its territory).
//!    Before it, a piece that splits one enhanced lumen with a larger piece
//!    of the other class takes that class ([`lumen`]).
//! 2. **Evidence** ([`evidence`]): the network's artery/vein probabilities
//!    gathered over each territory.
//! 3. **Labelling** ([`partition`]): artery grows from the pulmonary trunk,
//!    vein from the left atrium, over the graph, cheapest first; a class
//!    continues from parent to child. Where an artery and a vein touch, the
//!    territories meet halfway between their axes, at the narrowest point
//!    of the contact, and the turn penalty keeps each vessel running on
//!    straight through a crossing.
//! 4. **Adoption** ([`adopt`]): a piece cut off from its class's tree that
//!    ends on the other class's main tree takes that tree's class.
//! 5. **Gaps** ([`gaps`]): a piece a few mm from its tree and pointing at it
//!    is joined along the vessel where the CT allows. Other pieces stay
//!    islands and are reported. The adoption then runs once more: a joined
//!    gap brings the pieces beyond it into contact with a main tree.
//! 6. **Confidence** per branch: the margin of the class probabilities over
//!    its territory; branches below [`TreeOptions::review_below`] are
//!    listed for review.

pub mod adopt;
pub mod evidence;
pub mod gaps;
pub mod lumen;
pub mod partition;

use glam::DVec3;
use rayon::prelude::*;
use serde::Serialize;
use vasa_scan::components::{Connectivity, label_classes};
use vasa_scan::crop::{self, BoundingBox};
use vasa_scan::labels::{ARTERY, VEIN};
use vasa_scan::vessel_graph::{self, VesselGraph};
use vasa_scan::{ClassTable, LabelMap, Volume};

pub use adopt::Adoption;
pub use gaps::{Gap, GapOptions};
pub use partition::{PartitionOptions, TREE_CLASSES};

/// Options of the tree stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TreeOptions {
    /// Branch labelling.
    #[serde(skip)]
    pub partition: PartitionOptions,
    /// Gap joining.
    pub gaps: GapOptions,
    /// Branches with a confidence below this are listed for review.
    pub review_below: f64,
    /// A vessel of the other class touching a branch keeps its own label
    /// when it is at least this large (mm³) and confidently called.
    pub keep_contact_mm3: f64,
    /// Give a piece cut off from its class's tree that ends on the other
    /// class's tree that tree's class ([`adopt`]).
    pub adopt: bool,
}

/// Default review threshold: a branch whose mean class probability is
/// under 0.75 (margin 0.5).
pub const DEFAULT_REVIEW_BELOW: f64 = 0.5;

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            partition: PartitionOptions::default(),
            gaps: GapOptions::default(),
            review_below: DEFAULT_REVIEW_BELOW,
            keep_contact_mm3: 10.0,
            adopt: true,
        }
    }
}

/// One branch of the labelled graph, as `--graph` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchReport {
    /// Index in [`TreeGraph::branches`].
    pub id: usize,
    /// The branch it continues from, towards its root; `None` for a root.
    pub parent: Option<usize>,
    /// Class id (1 artery, 2 vein).
    pub class: u8,
    /// Class name.
    pub class_name: String,
    /// Centreline length (mm).
    pub length_mm: f64,
    /// Mean radius along the centreline (mm).
    pub mean_radius_mm: f64,
    /// Smallest radius along the centreline (mm).
    pub min_radius_mm: f64,
    /// Margin of the class probabilities over the branch, 0–1.
    pub confidence: f64,
    /// Vessel voxels that belong to the branch.
    pub voxels: u64,
    /// True when the branch is not connected to its class's main tree.
    pub island: bool,
    /// Centreline points every ~2 mm, first to last (world mm, LPS).
    pub points_mm: Vec<[f64; 3]>,
}

impl BranchReport {
    /// The centreline point halfway along the branch (world mm, LPS).
    pub fn middle_mm(&self) -> DVec3 {
        self.points_mm.get(self.points_mm.len() / 2).map_or(DVec3::ZERO, |p| DVec3::from_array(*p))
    }
}

/// A connected piece of a class outside its main tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Island {
    /// Class id.
    pub class: u8,
    /// Its voxels.
    pub voxels: u64,
    /// Its volume (mL).
    pub volume_ml: f64,
    /// A voxel of it (world mm, LPS), to go and look.
    pub at_mm: [f64; 3],
}

/// A piece cut off from its class's tree that ended on the other class's
/// tree and took its class, against the network's call ([`adopt`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdoptedPiece {
    /// The network's class.
    pub from_class: u8,
    /// The class it took.
    pub to_class: u8,
    /// Its volume (mL).
    pub volume_ml: f64,
    /// The middle of its contact with that tree (world mm, LPS), to go and look.
    pub at_mm: [f64; 3],
}

/// Per class: how whole the tree is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassTree {
    /// Class id.
    pub class: u8,
    /// Class name.
    pub name: String,
    /// Branches of this class.
    pub branches: usize,
    /// Share of the class's volume in its largest connected piece.
    pub largest_piece_fraction: f64,
    /// Pieces outside the main tree.
    pub islands: usize,
    /// Branches below the review threshold.
    pub to_review: usize,
}

/// The labelled vessel graph (`--graph tree.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeGraph {
    /// Per class summary.
    pub classes: Vec<ClassTree>,
    /// Every branch.
    pub branches: Vec<BranchReport>,
    /// Pieces left outside their tree, largest first.
    pub islands: Vec<Island>,
    /// Gaps joined.
    pub gaps: Vec<Gap>,
    /// Pieces that took the class of the tree they end on, largest first.
    pub adopted: Vec<AdoptedPiece>,
    /// Pieces that split one enhanced lumen with a larger piece of the
    /// other class and took its class ([`lumen`]), largest first.
    pub merged_lumens: Vec<AdoptedPiece>,
    /// Branches with a confidence below this are to review.
    pub review_below: f64,
}

impl TreeGraph {
    /// Branches to review: confidence below the threshold, widest first
    /// (the ones that matter most to a plan), each with at least one voxel.
    pub fn review_list(&self) -> Vec<usize> {
        let mut list: Vec<usize> =
            self.branches.iter().filter(|b| b.voxels > 0 && b.confidence < self.review_below).map(|b| b.id).collect();
        list.sort_by(|&a, &b| {
            let (a, b) = (&self.branches[a], &self.branches[b]);
            b.mean_radius_mm.total_cmp(&a.mean_radius_mm).then(a.id.cmp(&b.id))
        });
        list
    }
}

/// What the tree stage produced.
#[derive(Debug, Clone)]
pub struct TreeResult {
    /// The labelled graph.
    pub graph: TreeGraph,
    /// Branch (`b + 1`) of each vessel voxel inside `region`, 0 elsewhere.
    pub owner: Volume<u32>,
    /// Where `owner` lies in the scan's grid.
    pub region: BoundingBox,
    /// The scan's grid: dimensions.
    pub dims: [usize; 3],
    /// The scan's grid: geometry.
    pub geometry: vasa_scan::Geometry,
}

impl TreeResult {
    /// Per voxel, the confidence of its branch (0–1); 0 off the vessels.
    /// On the scan's grid, for `--confidence`.
    pub fn confidence_volume(&self) -> Volume<f32> {
        let conf: Vec<f32> =
            std::iter::once(0.0).chain(self.graph.branches.iter().map(|b| b.confidence as f32)).collect();
        let part = self.owner.map(|&o| conf.get(o as usize).copied().unwrap_or(0.0));
        let mut out = Volume::filled(self.dims, 0.0f32, self.geometry);
        if !self.region.is_empty() {
            crop::paste(&mut out, &part, self.region.min);
        }
        out
    }
}

/// Mean margin of the network's call over a touching vessel for it to keep
/// its own label (see [`relabel`]).
const KEEP_CONTACT_MARGIN: f64 = 0.2;

/// Share of a branch's voxels one class must hold for the branch to count
/// as turned against the network when the tree stage gives it the other
/// class (see [`relabel`]).
const FLIP_MAJORITY: f64 = 0.7;

/// Relabels every artery/vein voxel of `labels` by its branch (`owner`,
/// `class`), except a vessel that merely touches the branch: a connected
/// group of voxels the network called the other class, confidently
/// (mean margin ≥ [`KEEP_CONTACT_MARGIN`]) and of at least `keep_mm3`, inside branches that
/// kept the class most of their voxels had (or had no clear majority). Its
/// skeleton was absorbed into the branch's where the two touch; the contact
/// is cut along the network's boundary. In a branch the tree stage turned
/// against a clear majority ([`FLIP_MAJORITY`]) of its voxels (a
/// mislabelled child), every voxel follows the branch.
fn relabel(labels: &mut LabelMap, owner: &Volume<u32>, share: &Volume<u8>, class: &[u8], keep_mm3: f64) {
    let n = class.len();
    // Per branch: voxels labelled artery, vein.
    let mut counts = vec![[0u64; 2]; n];
    for (&l, &o) in labels.data().iter().zip(owner.data()) {
        if o != 0 && (l == ARTERY || l == VEIN) {
            counts[o as usize - 1][(l == VEIN) as usize] += 1;
        }
    }
    // Turned against a clear majority (a mislabelled child); a territory
    // split about evenly is two vessels meeting, not a mislabel.
    let flipped: Vec<bool> = (0..n)
        .map(|b| {
            let [a, v] = counts[b];
            let majority = if a >= v { ARTERY } else { VEIN };
            majority != class[b] && (a.max(v) as f64) >= FLIP_MAJORITY * (a + v) as f64
        })
        .collect();
    // Voxels against their branch's class, in branches that were not flipped.
    let candidate =
        |l: u8, o: u32| o != 0 && !flipped[o as usize - 1] && (l == ARTERY || l == VEIN) && l != class[o as usize - 1];
    let marked: Vec<u8> = labels
        .data()
        .par_iter()
        .zip(owner.data().par_iter())
        .map(|(&l, &o)| if candidate(l, o) { l } else { 0 })
        .collect();
    let marked = Volume::from_vec(labels.dims(), marked, labels.geometry).expect("same dims");
    let groups = label_classes(&marked, Connectivity::TwentySix);
    let ids = groups.ids();
    let mut margin = vec![0.0f64; groups.count() + 1];
    for ((&id, &s), &l) in ids.data().iter().zip(share.data()).zip(marked.data()) {
        if id != 0 {
            let p = s as f64 / 255.0;
            margin[id as usize] += if l == ARTERY { 2.0 * p - 1.0 } else { 1.0 - 2.0 * p };
        }
    }
    let voxel_mm3 = labels.geometry.spacing.element_product();
    let keep: Vec<bool> = (0..=groups.count() as u32)
        .map(|id| {
            id != 0 && {
                let size = groups.size(id);
                size as f64 * voxel_mm3 >= keep_mm3 && margin[id as usize] / size as f64 >= KEEP_CONTACT_MARGIN
            }
        })
        .collect();
    let class_of: Vec<u8> = std::iter::once(0).chain(class.iter().copied()).collect();
    labels.data_mut().par_iter_mut().zip(owner.data().par_iter()).zip(ids.data().par_iter()).for_each(
        |((l, &o), &id)| {
            if o != 0 && !keep[id as usize] {
                *l = class_of[o as usize];
            }
        },
    );
}

/// Re-attaches, after branches `changed` class, every branch whose place in
/// its tree no longer holds (changed itself, or below a parent of the other
/// class now), with all the branches below it: each hangs from a
/// neighbouring branch of its class, reached breadth-first from the
/// branches left in place; one that reaches none is a root. So a class still
/// continues from parent to child, and the parent links stay a forest.
fn reattach(graph: &VesselGraph, class: &[u8], parent: &mut [Option<usize>], changed: &[bool]) {
    let n = class.len();
    let mut children = vec![Vec::new(); n];
    for (b, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            children[p].push(b);
        }
    }
    let mut loose = vec![false; n];
    let mut stack: Vec<usize> =
        (0..n).filter(|&b| changed[b] || parent[b].is_some_and(|p| class[p] != class[b])).collect();
    while let Some(b) = stack.pop() {
        if !std::mem::replace(&mut loose[b], true) {
            stack.extend(children[b].iter().copied());
        }
    }
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&b| !loose[b]).collect();
    for b in 0..n {
        if loose[b] {
            parent[b] = None;
        }
    }
    while let Some(a) = queue.pop_front() {
        for (o, _) in graph.neighbours(a) {
            if loose[o] && class[o] == class[a] {
                loose[o] = false;
                parent[o] = Some(a);
                queue.push_back(o);
            }
        }
    }
}

/// Centreline points of a branch every ~`step_mm`, first and last included.
fn sampled_points(graph: &VesselGraph, path: &[usize], step_mm: f64) -> Vec<[f64; 3]> {
    let mut out = Vec::new();
    let mut since = f64::INFINITY;
    let mut prev: Option<DVec3> = None;
    for (n, &v) in path.iter().enumerate() {
        let w = graph.world(v);
        since += prev.map_or(0.0, |p| p.distance(w));
        prev = Some(w);
        if since >= step_mm || n + 1 == path.len() {
            out.push([(w.x * 10.0).round() / 10.0, (w.y * 10.0).round() / 10.0, (w.z * 10.0).round() / 10.0]);
            since = 0.0;
        }
    }
    out
}

/// Runs the tree stage on `labels` (artery 1, vein 2, others untouched) of
/// `ct`, with the network's `artery_share` per voxel (see
/// [`crate::segment::stitch::artery_share`]); all three on the same grid.
/// Relabels `labels` in place.
pub fn label_trees(
    ct: &Volume<i16>,
    labels: &mut LabelMap,
    artery_share: &Volume<u8>,
    options: &TreeOptions,
) -> TreeResult {
    assert!(labels.same_grid(ct) && labels.same_grid(artery_share), "the tree stage needs one grid");
    let is_vessel = |l: &u8| *l == ARTERY || *l == VEIN;
    let tight = BoundingBox::of(labels, is_vessel);
    let (dims, geometry) = (labels.dims(), labels.geometry);
    let empty = TreeGraph {
        classes: TREE_CLASSES.iter().map(|&c| class_tree(c, &[], 0.0, 0, options.review_below)).collect(),
        branches: vec![],
        islands: vec![],
        gaps: vec![],
        adopted: vec![],
        merged_lumens: vec![],
        review_below: options.review_below,
    };
    if tight.is_empty() {
        let owner = Volume::filled([0, 0, 0], 0, labels.geometry);
        return TreeResult { graph: empty, owner, region: BoundingBox::empty(), dims, geometry };
    }
    // Work in the vessels' box, with room for the gaps.
    let region = tight.padded_mm(options.gaps.max_gap_mm + 2.0, &labels.geometry, labels.dims());
    let mut local = crop::crop(labels, &region);
    let ct_local = crop::crop(ct, &region);
    let mut share_local = crop::crop(artery_share, &region);
    let merged_lumens = lumen::merge_split_lumens(&mut local, &mut share_local, &ct_local);
    let mask = local.map(is_vessel);

    let graph = vessel_graph::build(&mask);
    let mut owner = graph.territories(&mask);
    let evidence = evidence::gather(&owner, &share_local, graph.branches.len());
    let part = partition::partition(&graph, &evidence, &options.partition);
    relabel(&mut local, &owner, &share_local, &part.class, options.keep_contact_mm3);
    drop(share_local);
    let main_root = |class: u8| {
        part.roots
            .iter()
            .filter(|r| r.1 == class)
            .max_by(|a, b| graph.branches[a.2].max_radius_mm().total_cmp(&graph.branches[b.2].max_radius_mm()))
            .map(|r| r.2)
    };

    let mut class = part.class.clone();
    // Adoption runs twice: before the gaps are joined (an adopted piece can
    // then be joined to its new tree), and after, since a joined gap brings
    // the pieces beyond it into contact with a main tree. On the held-out
    // phantoms the second pass moved 900004 arterial's vein from 85 % to
    // 93 % in its largest piece; a third pass changed < 0.5 %.
    let mains: Vec<(u8, usize)> = TREE_CLASSES.iter().filter_map(|&c| main_root(c).map(|r| (c, r))).collect();
    let mut adopted = Vec::new();
    if options.adopt {
        adopted = adopt::adopt_pieces(&mut local, &graph, &mut class, &mains);
    }
    let gaps = gaps::join_gaps(&mut local, &mut owner, &ct_local, &graph, &class, &options.gaps);
    if options.adopt {
        adopted.extend(adopt::adopt_pieces(&mut local, &graph, &mut class, &mains));
    }
    let mut parent = part.parent.clone();
    if !adopted.is_empty() {
        let changed: Vec<bool> = class.iter().zip(&part.class).map(|(a, b)| a != b).collect();
        reattach(&graph, &class, &mut parent, &changed);
    }
    // A joined piece hangs from the branch it was joined to: re-root its tree
    // at the joining branch.
    let tree_root = |parent: &[Option<usize>], mut b: usize| {
        let mut steps = 0;
        while let Some(p) = parent[b] {
            b = p;
            steps += 1;
            if steps > parent.len() {
                break;
            }
        }
        b
    };
    for gap in &gaps {
        let (a, b) = (gap.from_branch, gap.to_branch);
        if b == usize::MAX || tree_root(&parent, a) == tree_root(&parent, b) {
            continue;
        }
        // The piece not hanging from the class's main root is re-rooted.
        let (child, new_parent) =
            if main_root(gap.class).is_some_and(|r| tree_root(&parent, a) == r) { (b, a) } else { (a, b) };
        let mut prev = new_parent;
        let mut cur = Some(child);
        while let Some(c) = cur {
            let next = parent[c];
            parent[c] = Some(prev);
            prev = c;
            cur = next;
        }
    }

    // Pieces after joining: the main piece of each class holds its main root.
    let components = label_classes(&local, Connectivity::TwentySix);
    let ids = components.ids();
    let main_piece: Vec<(u8, u32)> = TREE_CLASSES
        .iter()
        .filter_map(|&c| {
            let r = main_root(c)?;
            let id = ids.data()[graph.branches[r].middle()];
            (id != 0 && components.class_of(id) == c).then_some((c, id))
        })
        .collect();
    let is_main = |id: u32| main_piece.iter().any(|&(_, m)| m == id);

    let table = ClassTable::default();
    let branches: Vec<BranchReport> = graph
        .branches
        .iter()
        .enumerate()
        .map(|(b, br)| {
            let class = class[b];
            let id = ids.data()[br.middle()];
            BranchReport {
                id: b,
                parent: parent[b],
                class,
                class_name: table.name(class).to_string(),
                length_mm: br.length_mm,
                mean_radius_mm: br.mean_radius_mm(),
                min_radius_mm: br.min_radius_mm(),
                confidence: evidence[b].confidence(class),
                voxels: evidence[b].voxels,
                island: !is_main(id),
                points_mm: sampled_points(&graph, &br.path, 2.0),
            }
        })
        .collect();

    let voxel_ml = labels.geometry.spacing.element_product() / 1000.0;
    let mut islands: Vec<Island> = (1..=components.count() as u32)
        .filter(|&id| TREE_CLASSES.contains(&components.class_of(id)) && !is_main(id))
        .map(|id| (id, components.size(id)))
        .map(|(id, voxels)| Island {
            class: components.class_of(id),
            voxels,
            volume_ml: voxels as f64 * voxel_ml,
            at_mm: [0.0; 3],
        })
        .collect();
    // A voxel of each island, to go and look.
    {
        let mut first = vec![usize::MAX; components.count() + 1];
        for (n, &id) in ids.data().iter().enumerate() {
            if id != 0 && first[id as usize] == usize::MAX {
                first[id as usize] = n;
            }
        }
        let mut k = 0;
        for id in 1..=components.count() as u32 {
            if TREE_CLASSES.contains(&components.class_of(id)) && !is_main(id) {
                islands[k].at_mm = graph.world(first[id as usize]).to_array();
                k += 1;
            }
        }
    }
    islands.sort_by_key(|i| std::cmp::Reverse(i.voxels));

    let classes = TREE_CLASSES
        .iter()
        .map(|&c| {
            let sizes: Vec<u64> = (1..=components.count() as u32)
                .filter(|&id| components.class_of(id) == c)
                .map(|id| components.size(id))
                .collect();
            let total: u64 = sizes.iter().sum();
            let largest = sizes.iter().copied().max().unwrap_or(0);
            let fraction = if total == 0 { 0.0 } else { largest as f64 / total as f64 };
            let n_islands = islands.iter().filter(|i| i.class == c).count();
            class_tree(c, &branches, fraction, n_islands, options.review_below)
        })
        .collect();

    crop::paste(labels, &local, region.min);
    // A piece that changed class, as the graph reports it.
    let piece = |from_class: u8, to_class: u8, voxels: u64, at_mm: DVec3| AdoptedPiece {
        from_class,
        to_class,
        volume_ml: voxels as f64 * voxel_ml,
        at_mm: at_mm.to_array(),
    };
    TreeResult {
        graph: TreeGraph {
            classes,
            branches,
            islands,
            gaps,
            adopted: adopted.iter().map(|a| piece(a.from_class, a.to_class, a.voxels, a.at_mm)).collect(),
            merged_lumens: merged_lumens.iter().map(|m| piece(m.from_class, m.to_class, m.voxels, m.at_mm)).collect(),
            review_below: options.review_below,
        },
        owner,
        region,
        dims,
        geometry,
    }
}

fn class_tree(class: u8, branches: &[BranchReport], fraction: f64, islands: usize, review_below: f64) -> ClassTree {
    let of_class = || branches.iter().filter(move |b| b.class == class);
    ClassTree {
        class,
        name: ClassTable::default().name(class).to_string(),
        branches: of_class().count(),
        largest_piece_fraction: fraction,
        islands,
        to_review: of_class().filter(|b| b.voxels > 0 && b.confidence < review_below).count(),
    }
}

/// Hand-built vessels for the stage's unit tests.
#[cfg(test)]
pub(crate) mod test_vessels {
    use glam::DVec3;
    use vasa_scan::LabelMap;

    /// Paints a tube of `class` and radius `r` (voxels) from `a` to `b`
    /// (voxel coordinates); returns the voxels painted.
    pub fn tube(labels: &mut LabelMap, a: [f64; 3], b: [f64; 3], r: f64, class: u8) -> Vec<usize> {
        let (a, b) = (DVec3::from_array(a), DVec3::from_array(b));
        let mut painted = Vec::new();
        for n in 0..labels.len() {
            let [i, j, k] = labels.coords(n);
            let p = DVec3::new(i as f64, j as f64, k as f64);
            let t = ((p - a).dot(b - a) / (b - a).length_squared()).clamp(0.0, 1.0);
            if p.distance(a + (b - a) * t) <= r {
                labels.data_mut()[n] = class;
                painted.push(n);
            }
        }
        painted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, metrics};

    /// An artery whose terminal twig the labels broke twice: a gap the
    /// network missed (blood on CT, no label), then its far half called
    /// vein with confidence. The far half touches only an artery island
    /// until the gap is joined; the adoption after the joining gives it
    /// to the artery tree.
    #[test]
    fn a_piece_beyond_a_joined_gap_is_adopted_by_the_tree_it_then_ends_on() {
        let dims = [60, 40, 120];
        let mut labels = Volume::filled(dims, 0u8, Geometry::default());
        let mut ct = Volume::filled(dims, -850i16, Geometry::default());
        let vessel = |labels: &mut LabelMap, ct: &mut Volume<i16>, a, b, r, class| {
            let painted = test_vessels::tube(labels, a, b, r, class);
            for &n in &painted {
                ct.data_mut()[n] = 40;
            }
            painted
        };
        vessel(&mut labels, &mut ct, [20.0, 20.0, 5.0], [20.0, 20.0, 58.0], 3.0, ARTERY);
        vessel(&mut labels, &mut ct, [42.0, 20.0, 5.0], [42.0, 20.0, 100.0], 3.5, VEIN);
        // The twig, blood along its whole length.
        vessel(&mut labels, &mut ct, [20.0, 20.0, 58.0], [20.0, 20.0, 112.0], 1.5, ARTERY);
        let (gap, far): (Vec<usize>, Vec<usize>) = {
            let mut gap = Vec::new();
            let mut far = Vec::new();
            for n in 0..labels.len() {
                let [_, _, k] = labels.coords(n);
                if labels.data()[n] == ARTERY && (62..66).contains(&k) {
                    gap.push(n);
                } else if labels.data()[n] == ARTERY && k >= 78 {
                    far.push(n);
                }
            }
            (gap, far)
        };
        for &n in &gap {
            labels.data_mut()[n] = 0;
        }
        for &n in &far {
            labels.data_mut()[n] = VEIN;
        }
        let share = labels.map(|&l| match l {
            ARTERY => 230u8,
            VEIN => 25,
            _ => 128,
        });
        let artery_share =
            |l: &LabelMap| far.iter().filter(|&&n| l.data()[n] == ARTERY).count() as f64 / far.len() as f64;

        let mut after = labels.clone();
        let r = label_trees(&ct, &mut after, &share, &TreeOptions::default());
        assert!(!r.graph.gaps.is_empty(), "the gap is joined");
        assert!(artery_share(&after) > 0.9, "the far half is artery: {:.2}", artery_share(&after));
        assert!(r.graph.adopted.iter().any(|a| a.from_class == VEIN && a.to_class == ARTERY), "{:?}", r.graph.adopted);
        // The vein's own tree is untouched, and the artery is one piece.
        assert!(after.data().iter().filter(|&&l| l == VEIN).count() > 3000);
        assert!((metrics::largest_piece_fraction(&after, ARTERY).unwrap() - 1.0).abs() < 1e-9);

        let mut kept = labels.clone();
        label_trees(&ct, &mut kept, &share, &TreeOptions { adopt: false, ..TreeOptions::default() });
        assert!(artery_share(&kept) < 0.1, "without adoption it stays vein: {:.2}", artery_share(&kept));
    }
}
