//! Curve skeletons of 3-D masks by topology-preserving thinning.
//!
//! The centreline Dice (clDice) of a vessel segmentation compares the
//! skeleton of each mask with the other mask; the skeleton must keep the
//! tree's branches and loops and nothing more.
//!
//! # Algorithm
//!
//! Directional sequential thinning of a 26-connected foreground (with a
//! 6-connected background). One *cycle* is six subiterations, one per face
//! direction (+k, −k, +j, −j, +i, −i). In the subiteration of direction `d`:
//!
//! 1. the *candidates* are found in parallel: foreground voxels whose face
//!    neighbour in direction `d` is background (border voxels), that are
//!    *simple points* and are not *curve end points*;
//! 2. the candidates are deleted one after the other in scan order, each
//!    one re-checked first if a neighbour of it was deleted in this
//!    subiteration (deleting simple points one at a time never changes the
//!    topology; deleting two neighbours at once could).
//!
//! Cycles repeat until one deletes nothing. A voxel p is *simple* when
//! (Bertrand & Malandain, 1994) the foreground in its 26-neighbourhood
//! without p, `N26*(p)`, is exactly one 26-connected component, and the
//! background in its 18-neighbourhood without p, `N18*(p)`, has exactly one
//! 6-connected component that is 6-adjacent to p. A *curve end point* has
//! exactly one foreground 26-neighbour; keeping end points keeps the
//! branches (a solid ball thins to a short segment or a point, a cylinder
//! to its axis, a torus to a loop).
//!
//! The 3×3×3 neighbourhood is a 27-bit word and both component counts are
//! bit-parallel flood fills with constant adjacency tables. The work is
//! done inside the mask's bounding box (plus one voxel of background), on
//! the list of foreground voxels, which shrinks as the mask thins.

use rayon::prelude::*;

use crate::crop::BoundingBox;
// Bit `b` of a 27-bit neighbourhood word is position `b` of the 3×3×3
// block: `(dx+1) + 3(dy+1) + 9(dz+1)`, the centre is bit 13.
use crate::neighbourhood::{CENTRE, offset as offsets};
use crate::volume::Volume;

/// All 26 neighbours (the centre bit cleared).
const N26: u32 = ((1 << 27) - 1) & !(1 << CENTRE);

/// The 18 neighbours: all but the centre and the 8 corners.
const N18: u32 = {
    let mut m = 0u32;
    let mut b = 0;
    while b < 27 {
        let o = offsets(b);
        let nonzero = (o[0] != 0) as u32 + (o[1] != 0) as u32 + (o[2] != 0) as u32;
        if nonzero == 1 || nonzero == 2 {
            m |= 1 << b;
        }
        b += 1;
    }
    m
};

/// The 6 face neighbours.
const N6: u32 = (1 << 4) | (1 << 10) | (1 << 12) | (1 << 14) | (1 << 16) | (1 << 22);

/// `ADJ26[b]`: the neighbourhood bits 26-adjacent to bit `b` (centre excluded).
const ADJ26: [u32; 27] = adjacency(false);

/// `ADJ6[b]`: the neighbourhood bits 6-adjacent to bit `b` (centre excluded).
const ADJ6: [u32; 27] = adjacency(true);

const fn adjacency(six: bool) -> [u32; 27] {
    let mut t = [0u32; 27];
    let mut a = 0;
    while a < 27 {
        let oa = offsets(a);
        let mut b = 0;
        while b < 27 {
            let ob = offsets(b);
            let d = [(oa[0] - ob[0]).abs(), (oa[1] - ob[1]).abs(), (oa[2] - ob[2]).abs()];
            let touching = if six { d[0] + d[1] + d[2] == 1 } else { a != b && d[0] <= 1 && d[1] <= 1 && d[2] <= 1 };
            if touching && b != CENTRE {
                t[a as usize] |= 1 << b;
            }
            b += 1;
        }
        a += 1;
    }
    t
}

/// The bits of `set` connected to the bits of `seed` through `adjacency`.
#[inline]
fn flood(set: u32, seed: u32, adjacency: &[u32; 27]) -> u32 {
    let mut comp = seed & set;
    let mut frontier = comp;
    while frontier != 0 {
        let mut grown = 0u32;
        let mut f = frontier;
        while f != 0 {
            grown |= adjacency[f.trailing_zeros() as usize];
            f &= f - 1;
        }
        frontier = grown & set & !comp;
        comp |= frontier;
    }
    comp
}

/// Number of 26-connected components formed by the foreground neighbours
/// of the centre of the 3×3×3 neighbourhood `n` (centre ignored): 1 at a
/// curve's end, 2 along it, 3 or more at a bifurcation. Unlike the plain
/// neighbour count, a staircase step of a thin curve counts as 2.
#[inline]
pub fn neighbour_components_26(n: u32) -> u32 {
    let mut rest = n & N26;
    let mut count = 0;
    while rest != 0 {
        let comp = flood(rest, rest & rest.wrapping_neg(), &ADJ26);
        rest &= !comp;
        count += 1;
    }
    count
}

/// True when the centre of the 3×3×3 neighbourhood `n` is a simple point of
/// a 26-connected foreground with a 6-connected background. Bit
/// `(dx+1) + 3(dy+1) + 9(dz+1)` of `n` is set when the neighbour at offset
/// (dx, dy, dz) is foreground; the centre bit (13) is ignored.
#[inline]
pub fn is_simple(n: u32) -> bool {
    let fg = n & N26;
    if fg == 0 {
        return false;
    }
    // Exactly one 26-component of foreground in N26*(p).
    if flood(fg, fg & fg.wrapping_neg(), &ADJ26) != fg {
        return false;
    }
    // Exactly one 6-component of background in N18*(p) that touches p by a face.
    let bg = !n & N18;
    let faces = bg & N6;
    if faces == 0 {
        return false;
    }
    flood(bg, faces & faces.wrapping_neg(), &ADJ6) & faces == faces
}

/// True when the centre of `n` may be deleted: simple and not a curve end
/// point (exactly one foreground 26-neighbour).
#[inline]
fn deletable(n: u32) -> bool {
    (n & N26).count_ones() != 1 && is_simple(n)
}

/// The curve skeleton of `mask` (26-connected foreground): a subset of the
/// mask with the same connected components and holes, one voxel thin.
pub fn skeletonize(mask: &Volume<bool>) -> Volume<bool> {
    let mut out = Volume::filled(mask.dims(), false, mask.geometry);
    for n in skeleton_voxels_where(mask, |&b| b) {
        out.data_mut()[n] = true;
    }
    out
}

/// Linear indices (ascending) of the curve skeleton of the voxels of
/// `volume` for which `inside` is true, e.g. `|&l| l == 1` on a label map.
pub fn skeleton_voxels_where<T, F>(volume: &Volume<T>, inside: F) -> Vec<usize>
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    let bbox = BoundingBox::of(volume, &inside);
    if bbox.is_empty() {
        return Vec::new();
    }
    // The box with one voxel of background on every side: no bounds checks.
    let [bx, by, bz] = bbox.dims();
    let (px, py, pz) = (bx + 2, by + 2, bz + 2);
    assert!(px * py * pz < u32::MAX as usize, "mask of {:?} voxels is too large to thin", bbox.dims());
    let mut buf = vec![0u8; px * py * pz];
    let src = volume.data();
    buf.par_chunks_mut(px * py).enumerate().for_each(|(c, slice)| {
        if c == 0 || c == pz - 1 {
            return;
        }
        for b in 1..py - 1 {
            let s = volume.index(bbox.min[0], bbox.min[1] + b - 1, bbox.min[2] + c - 1);
            for (d, v) in slice[px * b + 1..px * b + 1 + bx].iter_mut().zip(&src[s..s + bx]) {
                *d = inside(v) as u8;
            }
        }
    });

    let (sx, sy) = (px as isize, (px * py) as isize);
    let offset: [isize; 27] = std::array::from_fn(|b| {
        let o = offsets(b as u32);
        o[0] as isize + sx * o[1] as isize + sy * o[2] as isize
    });
    let word = |buf: &[u8], p: usize| -> u32 {
        let mut n = 0u32;
        for (b, &o) in offset.iter().enumerate() {
            n |= ((buf[p.wrapping_add_signed(o)] == FG) as u32) << b;
        }
        n
    };
    let directions = [sy, -sy, sx, -sx, 1, -1];

    let mut foreground: Vec<u32> = (0..buf.len() as u32).filter(|&p| buf[p as usize] == FG).collect();
    let mut deleted: Vec<u32> = Vec::new();
    loop {
        let mut changed = false;
        for &dir in &directions {
            let candidates: Vec<u32> = foreground
                .par_iter()
                .copied()
                .filter(|&p| {
                    let p = p as usize;
                    buf[p.wrapping_add_signed(dir)] != FG && deletable(word(&buf, p))
                })
                .collect();
            for p in candidates {
                let p = p as usize;
                let touched = offset.iter().any(|&o| buf[p.wrapping_add_signed(o)] == DELETED);
                if !touched || deletable(word(&buf, p)) {
                    buf[p] = DELETED;
                    deleted.push(p as u32);
                }
            }
            if !deleted.is_empty() {
                changed = true;
                for &p in &deleted {
                    buf[p as usize] = 0;
                }
                deleted.clear();
                foreground.retain(|&p| buf[p as usize] == FG);
            }
        }
        if !changed {
            break;
        }
    }

    foreground
        .into_iter()
        .map(|p| {
            let p = p as usize;
            let (a, b, c) = (p % px, (p / px) % py, p / (px * py));
            volume.index(bbox.min[0] + a - 1, bbox.min[1] + b - 1, bbox.min[2] + c - 1)
        })
        .collect()
}

/// Foreground in the thinning buffer.
const FG: u8 = 1;
/// Deleted in the current subiteration (background from now on).
const DELETED: u8 = 2;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::components::{Connectivity, label};
    use crate::geometry::Geometry;

    fn shape(dims: [usize; 3], mut inside: impl FnMut(f64, f64, f64) -> bool) -> Volume<bool> {
        let mut m = Volume::filled(dims, false, Geometry::default());
        for n in 0..m.len() {
            let [i, j, k] = m.coords(n);
            m.data_mut()[n] = inside(i as f64, j as f64, k as f64);
        }
        m
    }

    /// Euler characteristic of the union of the closed voxel cubes
    /// (vertices − edges + faces − cubes).
    fn euler(mask: &Volume<bool>) -> i64 {
        let mut cells = HashSet::new();
        for n in 0..mask.len() {
            if !mask.data()[n] {
                continue;
            }
            let [i, j, k] = mask.coords(n);
            for a in 0..3 {
                for b in 0..3 {
                    for c in 0..3 {
                        cells.insert([2 * i + a, 2 * j + b, 2 * k + c]);
                    }
                }
            }
        }
        cells.iter().map(|c| if c.iter().filter(|&&x| x % 2 == 1).count() % 2 == 0 { 1 } else { -1 }).sum()
    }

    /// Foreground 26-neighbours of every voxel of the mask.
    fn neighbour_counts(mask: &Volume<bool>) -> Vec<usize> {
        let [nx, ny, nz] = mask.dims();
        (0..mask.len())
            .filter(|&n| mask.data()[n])
            .map(|n| {
                let [i, j, k] = mask.coords(n);
                let mut c = 0;
                for b in 0..27u32 {
                    let o = offsets(b);
                    if b == CENTRE {
                        continue;
                    }
                    let (x, y, z) = (i as i64 + o[0] as i64, j as i64 + o[1] as i64, k as i64 + o[2] as i64);
                    if (0..nx as i64).contains(&x)
                        && (0..ny as i64).contains(&y)
                        && (0..nz as i64).contains(&z)
                        && mask.data()[mask.index(x as usize, y as usize, z as usize)]
                    {
                        c += 1;
                    }
                }
                c
            })
            .collect()
    }

    fn subset(a: &Volume<bool>, b: &Volume<bool>) -> bool {
        a.data().iter().zip(b.data()).all(|(&x, &y)| !x || y)
    }

    fn background_components(mask: &Volume<bool>) -> usize {
        // Padded by one voxel so that the outside is one component.
        let [nx, ny, nz] = mask.dims();
        let mut p = Volume::filled([nx + 2, ny + 2, nz + 2], true, Geometry::default());
        for n in 0..mask.len() {
            let [i, j, k] = mask.coords(n);
            let q = p.index(i + 1, j + 1, k + 1);
            p.data_mut()[q] = !mask.data()[n];
        }
        label(&p, Connectivity::Six).count()
    }

    #[test]
    fn tables_have_the_right_sizes() {
        assert_eq!(N18.count_ones(), 18);
        assert_eq!(N6.count_ones(), 6);
        assert_eq!(N6 & !N18, 0);
        assert_eq!(ADJ26[CENTRE as usize].count_ones(), 26);
        assert_eq!(ADJ26[0].count_ones(), 6); // a corner touches 7 cube voxels, one the centre
        assert_eq!(ADJ6[4].count_ones(), 4); // a face neighbour: 4 edge neighbours (centre excluded)
        assert!(!is_simple(0)); // isolated point
        assert!(!is_simple(N26)); // interior point
        assert!(is_simple(1 << 4)); // tip of a line
        assert!(!is_simple((1 << 4) | (1 << 22))); // middle of a line
    }

    #[test]
    fn cylinder_thins_to_its_axis() {
        let (r, z0, z1) = (5.0, 5.0, 44.0);
        let m =
            shape([21, 21, 50], |i, j, k| (i - 10.0).powi(2) + (j - 10.0).powi(2) <= r * r && (z0..=z1).contains(&k));
        let s = skeletonize(&m);
        assert!(subset(&s, &m));
        let voxels: Vec<[usize; 3]> = (0..s.len()).filter(|&n| s.data()[n]).map(|n| s.coords(n)).collect();
        assert!(voxels.iter().all(|v| v[0].abs_diff(10) <= 1 && v[1].abs_diff(10) <= 1), "{voxels:?}");
        // One voxel per slice over a stretch close to the cylinder's length.
        let ks: HashSet<usize> = voxels.iter().map(|v| v[2]).collect();
        assert_eq!(ks.len(), voxels.len(), "{voxels:?}");
        let length = voxels.len() as f64;
        let full = z1 - z0 + 1.0;
        assert!(
            length >= full - 2.0 * r - 2.0 && length <= full,
            "skeleton of {length} voxels for a cylinder of {full}"
        );
        let counts = neighbour_counts(&s);
        assert_eq!(counts.iter().filter(|&&c| c == 1).count(), 2, "{counts:?}");
        assert!(counts.iter().all(|&c| c == 1 || c == 2));
    }

    #[test]
    fn ball_thins_to_one_piece() {
        let m = shape([17, 17, 17], |i, j, k| (i - 8.0).powi(2) + (j - 8.0).powi(2) + (k - 8.0).powi(2) <= 36.0);
        let s = skeletonize(&m);
        assert!(subset(&s, &m));
        assert!(s.data().iter().any(|&b| b));
        assert_eq!(label(&s, Connectivity::TwentySix).count(), 1);
        assert_eq!(euler(&s), 1);
        assert!(s.data().iter().filter(|&&b| b).count() < 10);
    }

    #[test]
    fn torus_thins_to_one_loop() {
        let (big, small) = (9.0, 3.5);
        let m = shape([29, 29, 13], |i, j, k| {
            let rho = ((i - 14.0).powi(2) + (j - 14.0).powi(2)).sqrt();
            (rho - big).powi(2) + (k - 6.0).powi(2) <= small * small
        });
        assert_eq!(euler(&m), 0);
        let s = skeletonize(&m);
        assert!(subset(&s, &m));
        assert_eq!(label(&s, Connectivity::TwentySix).count(), 1);
        assert_eq!(euler(&s), 0);
        assert_eq!(background_components(&s), 1);
        let counts = neighbour_counts(&s);
        assert!(counts.iter().all(|&c| c >= 2), "end points in a loop: {counts:?}");
        // Thin: far fewer voxels than the torus, about its centre circle's length.
        let n = counts.len() as f64;
        assert!(n < 2.0 * std::f64::consts::TAU * big, "{n} voxels");
    }

    #[test]
    fn skeleton_indices_are_those_of_the_volume() {
        let labels =
            Volume::from_vec([4, 3, 3], (0..36).map(|n| (n == 17) as u8 * 2).collect(), Geometry::default()).unwrap();
        assert_eq!(skeleton_voxels_where(&labels, |&l| l == 2), vec![17]);
        assert!(skeleton_voxels_where(&labels, |&l| l == 1).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn thinning_keeps_components_holes_and_euler_characteristic(
            dims in prop::array::uniform3(2usize..10),
            density in 0.2f64..0.8,
            seed in any::<u64>(),
        ) {
            let mut state = seed | 1;
            let m = shape(dims, |_, _, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 <= density
            });
            let s = skeletonize(&m);
            prop_assert!(subset(&s, &m));
            prop_assert_eq!(label(&s, Connectivity::TwentySix).count(), label(&m, Connectivity::TwentySix).count());
            prop_assert_eq!(background_components(&s), background_components(&m));
            prop_assert_eq!(euler(&s), euler(&m));
        }
    }
}
