//! Boxes of voxels: the part of a label map an edit touched, and the part
//! the GPU has not seen yet.

/// The voxels `min[a] ≤ v[a] < max[a]` on each axis (empty when any
/// `max[a] ≤ min[a]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VoxelBox {
    /// First voxel (inclusive).
    pub min: [usize; 3],
    /// One past the last voxel (exclusive).
    pub max: [usize; 3],
}

impl VoxelBox {
    /// The box from `min` (inclusive) to `max` (exclusive).
    pub fn new(min: [usize; 3], max: [usize; 3]) -> Self {
        VoxelBox { min, max }
    }

    /// Every voxel of a volume of `dims`.
    pub fn whole(dims: [usize; 3]) -> Self {
        VoxelBox { min: [0; 3], max: dims }
    }

    /// The single voxel `v`.
    pub fn voxel(v: [usize; 3]) -> Self {
        VoxelBox { min: v, max: [v[0] + 1, v[1] + 1, v[2] + 1] }
    }

    /// True when the box holds no voxel.
    pub fn is_empty(&self) -> bool {
        (0..3).any(|a| self.max[a] <= self.min[a])
    }

    /// Voxels along each axis.
    pub fn size(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.max[a].saturating_sub(self.min[a]))
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.size().iter().product()
    }

    /// The smallest box holding both (an empty box adds nothing).
    pub fn union(self, other: VoxelBox) -> VoxelBox {
        match (self.is_empty(), other.is_empty()) {
            (true, _) => other,
            (_, true) => self,
            _ => VoxelBox {
                min: [0, 1, 2].map(|a| self.min[a].min(other.min[a])),
                max: [0, 1, 2].map(|a| self.max[a].max(other.max[a])),
            },
        }
    }

    /// The part inside a volume of `dims`.
    pub fn clamped(self, dims: [usize; 3]) -> VoxelBox {
        VoxelBox { min: [0, 1, 2].map(|a| self.min[a].min(dims[a])), max: [0, 1, 2].map(|a| self.max[a].min(dims[a])) }
    }

    /// True when `v` is inside.
    pub fn contains(&self, v: [usize; 3]) -> bool {
        (0..3).all(|a| self.min[a] <= v[a] && v[a] < self.max[a])
    }

    /// The voxels, x fastest then y then z (the order volumes store them).
    pub fn voxels(&self) -> impl Iterator<Item = [usize; 3]> + use<> {
        let (min, max, empty) = (self.min, self.max, self.is_empty());
        (min[2]..if empty { min[2] } else { max[2] })
            .flat_map(move |k| (min[1]..max[1]).flat_map(move |j| (min[0]..max[0]).map(move |i| [i, j, k])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_grow_by_union_and_stay_inside_the_volume() {
        let a = VoxelBox::new([1, 1, 1], [3, 2, 2]);
        let b = VoxelBox::voxel([5, 0, 1]);
        let u = a.union(b);
        assert_eq!(u, VoxelBox::new([1, 0, 1], [6, 2, 2]));
        assert_eq!(u.len(), 5 * 2);
        let empty = VoxelBox::new([4, 4, 4], [4, 9, 9]);
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.union(a), a);
        assert_eq!(a.union(empty), a);
        assert_eq!(VoxelBox::new([2, 0, 0], [99, 3, 3]).clamped([4, 4, 4]), VoxelBox::new([2, 0, 0], [4, 3, 3]));
        let v: Vec<_> = a.voxels().collect();
        assert_eq!(v, vec![[1, 1, 1], [2, 1, 1]]);
        assert!(a.contains([2, 1, 1]) && !a.contains([3, 1, 1]));
        assert_eq!(empty.voxels().count(), 0);
    }
}
