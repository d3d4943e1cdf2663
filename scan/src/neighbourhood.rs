//! The 3×3×3 neighbourhood of a voxel, written once: the offsets of its 27
//! positions, the 26 neighbours (centre left out), and the linear indices of
//! the in-bounds neighbours of a voxel of a volume stored x fastest.
//!
//! Positions are numbered x fastest: `b = (dx+1) + 3(dy+1) + 9(dz+1)`, so
//! the centre is 13 and a 27-bit word can hold a whole neighbourhood (the
//! skeleton's bit-parallel tests rely on that numbering).

/// Position of the centre voxel in the 3×3×3 block.
pub const CENTRE: u32 = 13;

/// Offset `[dx, dy, dz]` of position `b` (0..27) of the 3×3×3 block.
#[inline]
pub const fn offset(b: u32) -> [i32; 3] {
    [(b % 3) as i32 - 1, ((b / 3) % 3) as i32 - 1, (b / 9) as i32 - 1]
}

/// Offsets of the 26 neighbours, x fastest, then y, then z.
pub const OFFSETS_26: [[i32; 3]; 26] = {
    let mut n = [[0; 3]; 26];
    let (mut b, mut idx) = (0, 0);
    while b < 27 {
        if b != CENTRE {
            n[idx] = offset(b);
            idx += 1;
        }
        b += 1;
    }
    n
};

/// Linear index of voxel `[i, j, k]` moved by `o`, or `None` when that
/// falls outside `dims`.
#[inline]
fn step(dims: [usize; 3], [i, j, k]: [usize; 3], o: [i32; 3]) -> Option<usize> {
    let a = i.checked_add_signed(o[0] as isize).filter(|&a| a < dims[0])?;
    let b = j.checked_add_signed(o[1] as isize).filter(|&b| b < dims[1])?;
    let c = k.checked_add_signed(o[2] as isize).filter(|&c| c < dims[2])?;
    Some(a + dims[0] * (b + dims[1] * c))
}

/// Linear indices of the in-bounds 26-neighbours of voxel `[i, j, k]` of a
/// volume of `dims` (x fastest), in [`OFFSETS_26`] order. For searches that
/// stop at the first hit.
#[inline]
pub fn neighbours_26(dims: [usize; 3], ijk: [usize; 3]) -> impl Iterator<Item = usize> {
    OFFSETS_26.into_iter().filter_map(move |o| step(dims, ijk, o))
}

/// Calls `f` with the linear index of every in-bounds 26-neighbour of the
/// voxel at linear index `idx` of a volume of `dims` (x fastest), in
/// [`OFFSETS_26`] order. A plain loop over a constant table: cheap enough
/// for the inner loop of a region growing.
#[inline]
pub fn for_each_neighbour_26(dims: [usize; 3], idx: usize, mut f: impl FnMut(usize)) {
    let [nx, ny, nz] = dims;
    let (i, j, k) = ((idx % nx) as i32, ((idx / nx) % ny) as i32, (idx / (nx * ny)) as i32);
    for [dx, dy, dz] in OFFSETS_26 {
        let (a, b, c) = (i + dx, j + dy, k + dz);
        if a >= 0 && b >= 0 && c >= 0 && (a as usize) < nx && (b as usize) < ny && (c as usize) < nz {
            f(a as usize + nx * (b as usize + ny * c as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_the_26_distinct_neighbours_x_fastest() {
        let mut v = OFFSETS_26.to_vec();
        assert!(v.iter().all(|o| o.iter().all(|d| (-1..=1).contains(d)) && *o != [0, 0, 0]));
        assert_eq!(v[0], [-1, -1, -1]);
        assert_eq!(v[1], [0, -1, -1]);
        assert_eq!(v[25], [1, 1, 1]);
        v.sort();
        v.dedup();
        assert_eq!(v.len(), 26);
        assert_eq!(offset(CENTRE), [0, 0, 0]);
        for b in 0..27 {
            let o = offset(b);
            assert_eq!((o[0] + 1) + 3 * (o[1] + 1) + 9 * (o[2] + 1), b as i32);
        }
    }

    #[test]
    fn both_walks_agree_and_stay_in_bounds() {
        let dims = [4, 3, 5];
        let n = dims.iter().product::<usize>();
        for idx in 0..n {
            let ijk = [idx % 4, (idx / 4) % 3, idx / 12];
            let a: Vec<usize> = neighbours_26(dims, ijk).collect();
            let mut b = Vec::new();
            for_each_neighbour_26(dims, idx, |m| b.push(m));
            assert_eq!(a, b);
            assert!(a.iter().all(|&m| m < n && m != idx));
            // Neighbours inside the volume: 3 per axis, 2 on a face.
            let per_axis = |c: usize, d: usize| if c == 0 || c == d - 1 { 2 } else { 3 };
            let expected = per_axis(ijk[0], 4) * per_axis(ijk[1], 3) * per_axis(ijk[2], 5) - 1;
            assert_eq!(a.len(), expected, "voxel {ijk:?}");
        }
    }
}
