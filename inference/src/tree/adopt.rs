//! Adoption: a piece cut off from its own class's tree, that ends on the
//! other class's tree, is a branch of that tree the network gave the wrong
//! class ("arteries connect to the pulmonary trunk, veins to the left
//! atrium"; a branch's class continues into its children).
//!
//! On held-out phantoms this is the commonest error the branch labelling
//! leaves: a side branch of an artery called vein with confidence, as a
//! whole, and so kept as a vessel merely touching the artery. Of the voxels
//! in such pieces (vein pieces touching the artery's main tree, artery
//! pieces touching the vein's), none was of the piece's own class.
//!
//! That figure cannot speak for real scans: the phantom's arteries and
//! veins never touch, while on CT they do wherever they cross or run side
//! by side. A piece is therefore adopted only where it *ends* on the other
//! tree: beyond its contact it has one arm, or two that diverge
//! like the branches of a fork (at most [`MAX_FORK_ANGLE_DEG`] apart). A
//! vessel that crosses the other tree leaves the contact on both sides, in
//! opposite directions, and keeps its class.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use glam::DVec3;
use vasa_scan::components::{Connectivity, label_classes};
use vasa_scan::labels::{ARTERY, VEIN};
use vasa_scan::neighbourhood::for_each_neighbour_26;
use vasa_scan::vessel_graph::VesselGraph;
use vasa_scan::{LabelMap, Volume};

/// The arms of a piece are looked for this far from its contact (mm, along
/// the piece), over [`ARM_WIDTH_MM`].
pub const ARM_FROM_MM: f64 = 3.0;
/// Width of the shell in which the arms are counted (mm).
pub const ARM_WIDTH_MM: f64 = 3.0;
/// Two arms at most this far apart (degrees, seen from the contact) are the
/// branches of a fork; wider apart, the piece runs through the contact.
pub const MAX_FORK_ANGLE_DEG: f64 = 120.0;
/// Groups of fewer shell voxels than this are noise, not arms.
const MIN_ARM_VOXELS: usize = 3;
/// Pieces smaller than this (mm³; a 1 mm wide vessel 6 mm long) are too
/// small to show where they run, and stay.
pub const MIN_PIECE_MM3: f64 = 20.0;

/// One piece that took the other class.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    /// The network's class.
    pub from_class: u8,
    /// The class of the tree it ends on.
    pub to_class: u8,
    /// Its size (voxels).
    pub voxels: u64,
    /// The middle of its contact with that tree (world mm, LPS).
    pub at_mm: DVec3,
}

/// Relabels, in `labels` and in `class_of` (per branch of `graph`), every
/// artery or vein piece apart from its class's main piece that ends on the
/// other class's main piece. `main_branch` holds, per class, the root
/// branch of its main tree.
pub fn adopt_pieces(
    labels: &mut LabelMap,
    graph: &VesselGraph,
    class_of: &mut [u8],
    main_branch: &[(u8, usize)],
) -> Vec<Adoption> {
    let components = label_classes(labels, Connectivity::TwentySix);
    let ids = components.ids();
    let main_of = |class: u8| -> Option<u32> {
        let &(_, b) = main_branch.iter().find(|m| m.0 == class)?;
        let id = ids.data()[graph.branches[b].middle()];
        (id != 0 && components.class_of(id) == class).then_some(id)
    };
    let mains = [(ARTERY, main_of(ARTERY)), (VEIN, main_of(VEIN))];
    let main_of_class = |c: u8| mains.iter().find(|m| m.0 == c).and_then(|m| m.1);
    let is_main = |id: u32| mains.iter().any(|m| m.1 == Some(id));
    let other = |c: u8| if c == ARTERY { VEIN } else { ARTERY };

    // The contact of every candidate piece with the other class's main piece.
    let dims = labels.dims();
    let voxel_mm3 = labels.geometry.spacing.element_product();
    let mut contacts: HashMap<u32, Vec<usize>> = HashMap::new();
    for (v, &id) in ids.data().iter().enumerate() {
        if id == 0 || is_main(id) {
            continue;
        }
        let class = components.class_of(id);
        if class != ARTERY && class != VEIN {
            continue;
        }
        let (Some(own_main), Some(target)) = (main_of_class(class), main_of_class(other(class))) else { continue };
        // Never a piece as large as its own class's main piece, nor a crumb.
        let size = components.size(id);
        if size >= components.size(own_main) || (size as f64) * voxel_mm3 < MIN_PIECE_MM3 {
            continue;
        }
        let mut touches = false;
        for_each_neighbour_26(dims, v, |w| touches |= ids.data()[w] == target);
        if touches {
            contacts.entry(id).or_default().push(v);
        }
    }

    let mut adopted: Vec<(u32, Adoption)> = contacts
        .iter()
        .filter_map(|(&id, contact)| {
            let arms = arms_beyond_contact(&ids, id, contact, ARM_FROM_MM, ARM_WIDTH_MM);
            // A stub with no arm says nothing of where it runs: it stays.
            let ends_here = match arms.as_slice() {
                [_] => true,
                [a, b] => a.angle_between(*b).to_degrees() <= MAX_FORK_ANGLE_DEG,
                _ => false,
            };
            let from = components.class_of(id);
            let at_mm = contact.iter().map(|&v| world(&ids, v)).sum::<DVec3>() / contact.len() as f64;
            ends_here
                .then(|| (id, Adoption { from_class: from, to_class: other(from), voxels: components.size(id), at_mm }))
        })
        .collect();
    adopted.sort_by_key(|(id, a)| (Reverse(a.voxels), *id));
    let take: HashSet<u32> = adopted.iter().map(|(id, _)| *id).collect();
    for (l, id) in labels.data_mut().iter_mut().zip(ids.data()) {
        if take.contains(id) {
            *l = other(*l);
        }
    }
    for (b, branch) in graph.branches.iter().enumerate() {
        if take.contains(&ids.data()[branch.middle()]) {
            class_of[b] = labels.data()[branch.middle()];
        }
    }
    adopted.into_iter().map(|(_, a)| a).collect()
}

fn world<T>(v: &Volume<T>, index: usize) -> DVec3 {
    let [i, j, k] = v.coords(index);
    v.geometry.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64))
}

/// The arms of piece `id` (its voxels in `ids`) beyond its `contact`
/// voxels: the connected groups of its voxels whose distance from the
/// contact, along the piece, lies between `from_mm` and `from_mm +
/// width_mm`. Each arm is given as the direction (world mm) from the
/// contact's middle to the arm's. None: a stub; one: the piece ends at the
/// contact; two or more: it forks there or runs through it.
pub fn arms_beyond_contact(ids: &Volume<u32>, id: u32, contact: &[usize], from_mm: f64, width_mm: f64) -> Vec<DVec3> {
    let dims = ids.dims();
    let spacing = ids.geometry.spacing;
    let step_um = |a: usize, b: usize| {
        let (ca, cb) = (ids.coords(a), ids.coords(b));
        let d = DVec3::from_array([0, 1, 2].map(|x| (ca[x] as f64 - cb[x] as f64) * spacing[x]));
        (d.length() * 1000.0) as u64
    };
    // Distance along the piece from the contact (Dijkstra over its voxels, µm).
    let limit = ((from_mm + width_mm) * 1000.0) as u64;
    let mut dist: HashMap<usize, u64> = contact.iter().map(|&v| (v, 0)).collect();
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = contact.iter().map(|&v| Reverse((0, v))).collect();
    while let Some(Reverse((d, v))) = heap.pop() {
        if dist.get(&v).is_some_and(|&x| x < d) {
            continue;
        }
        for_each_neighbour_26(dims, v, |w| {
            if ids.data()[w] != id {
                return;
            }
            let nd = d + step_um(v, w);
            if nd <= limit && dist.get(&w).is_none_or(|&x| nd < x) {
                dist.insert(w, nd);
                heap.push(Reverse((nd, w)));
            }
        });
    }
    let from = (from_mm * 1000.0) as u64;
    let shell: HashSet<usize> = dist.iter().filter(|&(_, &d)| d >= from).map(|(&v, _)| v).collect();
    let centre = contact.iter().map(|&v| world(ids, v)).sum::<DVec3>() / contact.len() as f64;
    let mut seen = HashSet::new();
    let mut arms = Vec::new();
    let mut starts: Vec<usize> = shell.iter().copied().collect();
    starts.sort_unstable();
    for s in starts {
        if !seen.insert(s) {
            continue;
        }
        let (mut stack, mut size, mut sum) = (vec![s], 0usize, DVec3::ZERO);
        while let Some(v) = stack.pop() {
            size += 1;
            sum += world(ids, v);
            for_each_neighbour_26(dims, v, |w| {
                if shell.contains(&w) && seen.insert(w) {
                    stack.push(w);
                }
            });
        }
        if size >= MIN_ARM_VOXELS {
            arms.push(sum / size as f64 - centre);
        }
    }
    arms
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;
    use vasa_scan::vessel_graph;

    /// Paints a tube of `class` and radius `r` (voxels) from `a` to `b`.
    fn tube(labels: &mut LabelMap, a: [f64; 3], b: [f64; 3], r: f64, class: u8) {
        crate::tree::test_vessels::tube(labels, a, b, r, class);
    }

    /// Runs the adoption with the widest branch of each class as its root.
    fn run(labels: &mut LabelMap) -> Vec<Adoption> {
        let mask = labels.map(|&l| l == ARTERY || l == VEIN);
        let graph = vessel_graph::build(&mask);
        let mut class: Vec<u8> = graph.branches.iter().map(|b| labels.data()[b.middle()]).collect();
        let mains: Vec<(u8, usize)> = [ARTERY, VEIN]
            .iter()
            .filter_map(|&c| {
                (0..graph.branches.len())
                    .filter(|&b| class[b] == c)
                    .max_by(|&a, &b| graph.branches[a].max_radius_mm().total_cmp(&graph.branches[b].max_radius_mm()))
                    .map(|b| (c, b))
            })
            .collect();
        let adopted = adopt_pieces(labels, &graph, &mut class, &mains);
        for (b, br) in graph.branches.iter().enumerate() {
            assert_eq!(class[b], labels.data()[br.middle()], "branch classes follow the labels");
        }
        adopted
    }

    /// 1 mm voxels: an artery trunk along k and a vein trunk beside it.
    fn trunks() -> LabelMap {
        let mut labels = Volume::filled([60, 60, 80], 0u8, Geometry::default());
        tube(&mut labels, [15.0, 30.0, 2.0], [15.0, 30.0, 77.0], 4.0, ARTERY);
        tube(&mut labels, [48.0, 30.0, 2.0], [48.0, 30.0, 77.0], 4.0, VEIN);
        labels
    }

    #[test]
    fn a_branch_ending_on_the_other_tree_takes_its_class() {
        let mut labels = trunks();
        // A side branch leaving the artery, called vein: it ends on the artery.
        tube(&mut labels, [19.0, 30.0, 40.0], [30.0, 45.0, 50.0], 1.5, VEIN);
        // A forked one: its stem was lost, its two children touch the artery.
        tube(&mut labels, [19.0, 30.0, 20.0], [28.0, 22.0, 12.0], 1.5, VEIN);
        tube(&mut labels, [19.0, 30.0, 20.0], [28.0, 22.0, 28.0], 1.5, VEIN);
        let adopted = run(&mut labels);
        assert_eq!(adopted.len(), 2, "{adopted:?}");
        assert!(adopted.iter().all(|a| a.from_class == VEIN && a.to_class == ARTERY));
        assert_eq!(labels.data()[labels.index(28, 43, 49)], ARTERY);
        assert_eq!(labels.data()[labels.index(27, 23, 13)], ARTERY);
        assert_eq!(labels.data()[labels.index(48, 30, 40)], VEIN, "the vein trunk keeps its class");
        // Its place: at the artery's wall.
        assert!(adopted.iter().any(|a| a.at_mm.distance(DVec3::new(19.5, 30.5, 40.5)) < 3.0), "{adopted:?}");
    }

    #[test]
    fn a_vessel_crossing_the_other_tree_keeps_its_class() {
        let mut labels = trunks();
        // A vein piece passing over the artery (touching it) on its way.
        tube(&mut labels, [20.0, 10.0, 40.0], [20.0, 50.0, 40.0], 1.5, VEIN);
        // An artery piece in contact with nothing.
        tube(&mut labels, [32.0, 10.0, 60.0], [32.0, 20.0, 70.0], 1.5, ARTERY);
        let before = labels.clone();
        assert!(run(&mut labels).is_empty());
        assert_eq!(labels.data(), before.data());
    }

    #[test]
    fn arms_count_what_leaves_the_contact() {
        let mut labels = Volume::filled([40, 20, 20], 0u8, Geometry::default());
        tube(&mut labels, [2.0, 10.0, 10.0], [37.0, 10.0, 10.0], 1.5, 1);
        let ids = labels.map(|&l| l as u32);
        let contact_at = |i: usize| -> Vec<usize> {
            (0..ids.len()).filter(|&n| ids.data()[n] == 1 && ids.coords(n)[0] == i).collect()
        };
        // Touched at its end: one arm, pointing along it.
        let arms = arms_beyond_contact(&ids, 1, &contact_at(2), 3.0, 3.0);
        assert_eq!(arms.len(), 1, "{arms:?}");
        assert!(arms[0].x > 3.0 && arms[0].x < 7.0, "{arms:?}");
        // Touched in its middle: two arms, opposite.
        let arms = arms_beyond_contact(&ids, 1, &contact_at(20), 3.0, 3.0);
        assert_eq!(arms.len(), 2, "{arms:?}");
        assert!(arms[0].angle_between(arms[1]).to_degrees() > 170.0);
        // Touched at its other end: one arm, pointing back along it.
        let arms = arms_beyond_contact(&ids, 1, &contact_at(37), 3.0, 3.0);
        assert!(arms.len() == 1 && arms[0].x < -3.0, "{arms:?}");
        // A stub shorter than the shell's start: no arm.
        assert!(arms_beyond_contact(&ids, 1, &contact_at(20), 30.0, 3.0).is_empty());
    }
}
