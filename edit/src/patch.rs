//! The voxels of a box of a label map, run-length coded: what an edit
//! overwrote, kept for undo. Label maps are long runs of one value, so a
//! patch costs a small fraction of the box it covers.

use vasa_scan::LabelMap;

/// A box of voxels (`min`, `size`, x fastest) and their labels as runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patch {
    /// First voxel of the box.
    pub min: [usize; 3],
    /// Voxels along each axis (all zero: an empty patch).
    pub size: [usize; 3],
    /// (run length, label), in box order.
    runs: Vec<(u32, u8)>,
}

impl Patch {
    /// A patch that covers nothing (an edit that changed nothing).
    pub fn empty() -> Self {
        Patch::default()
    }

    /// True when the patch covers no voxel.
    pub fn is_empty(&self) -> bool {
        self.size.contains(&0)
    }

    /// The labels of the box `min`, `size` (clipped to the map).
    pub fn capture(labels: &LabelMap, min: [usize; 3], size: [usize; 3]) -> Self {
        let dims = labels.dims();
        let min = [0, 1, 2].map(|a| min[a].min(dims[a]));
        let size = [0, 1, 2].map(|a| size[a].min(dims[a] - min[a]));
        let mut runs: Vec<(u32, u8)> = Vec::new();
        if size.contains(&0) {
            return Patch { min, size: [0; 3], runs };
        }
        for k in min[2]..min[2] + size[2] {
            for j in min[1]..min[1] + size[1] {
                let start = labels.index(min[0], j, k);
                for &v in &labels.data()[start..start + size[0]] {
                    match runs.last_mut() {
                        Some((n, last)) if *last == v && *n < u32::MAX => *n += 1,
                        _ => runs.push((1, v)),
                    }
                }
            }
        }
        Patch { min, size, runs }
    }

    /// Writes the patch into `labels`; returns what was there (its inverse).
    pub fn restore(&self, labels: &mut LabelMap) -> Patch {
        let before = Patch::capture(labels, self.min, self.size);
        if self.is_empty() {
            return before;
        }
        let mut values = self.runs.iter().flat_map(|&(n, v)| std::iter::repeat_n(v, n as usize));
        for k in self.min[2]..self.min[2] + self.size[2] {
            for j in self.min[1]..self.min[1] + self.size[1] {
                let start = labels.index(self.min[0], j, k);
                for slot in &mut labels.data_mut()[start..start + self.size[0]] {
                    *slot = values.next().expect("a patch holds one label per voxel of its box");
                }
            }
        }
        before
    }

    /// Bytes the patch holds (for the history's bound).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.runs.len() * std::mem::size_of::<(u32, u8)>()
    }

    /// Voxels of each label in the patch.
    pub fn class_counts(&self) -> [u64; 256] {
        let mut c = [0u64; 256];
        for &(n, v) in &self.runs {
            c[v as usize] += n as u64;
        }
        c
    }

    /// Voxels of each label in the patch's box of `labels` now.
    pub fn class_counts_in(&self, labels: &LabelMap) -> [u64; 256] {
        let mut c = [0u64; 256];
        if self.is_empty() {
            return c;
        }
        for k in self.min[2]..self.min[2] + self.size[2] {
            for j in self.min[1]..self.min[1] + self.size[1] {
                let start = labels.index(self.min[0], j, k);
                for &v in &labels.data()[start..start + self.size[0]] {
                    c[v as usize] += 1;
                }
            }
        }
        c
    }

    /// One patch for edits applied one after another to `labels` (now
    /// after all of them), `patches` being what each overwrote, oldest
    /// first: their joint box as it was before the first. A stroke applied
    /// piece by piece while the pointer moves becomes one undo step.
    pub fn combine(labels: &LabelMap, patches: &[Patch]) -> Patch {
        let boxes: Vec<&Patch> = patches.iter().filter(|p| !p.is_empty()).collect();
        if boxes.is_empty() {
            return Patch::empty();
        }
        let min = [0, 1, 2].map(|a| boxes.iter().map(|p| p.min[a]).min().unwrap_or(0));
        let max = [0, 1, 2].map(|a| boxes.iter().map(|p| p.min[a] + p.size[a]).max().unwrap_or(0));
        let size = [0, 1, 2].map(|a| max[a] - min[a]);
        // The joint box now, then each patch written back, newest first.
        let mut data = Vec::with_capacity(size.iter().product());
        for k in min[2]..max[2] {
            for j in min[1]..max[1] {
                let start = labels.index(min[0], j, k);
                data.extend_from_slice(&labels.data()[start..start + size[0]]);
            }
        }
        for p in boxes.iter().rev() {
            let mut values = p.runs.iter().flat_map(|&(n, v)| std::iter::repeat_n(v, n as usize));
            for k in p.min[2]..p.min[2] + p.size[2] {
                for j in p.min[1]..p.min[1] + p.size[1] {
                    let row = ((k - min[2]) * size[1] + (j - min[1])) * size[0] + (p.min[0] - min[0]);
                    for slot in &mut data[row..row + p.size[0]] {
                        *slot = values.next().unwrap_or(*slot);
                    }
                }
            }
        }
        let mut runs: Vec<(u32, u8)> = Vec::new();
        for v in data {
            match runs.last_mut() {
                Some((n, last)) if *last == v && *n < u32::MAX => *n += 1,
                _ => runs.push((1, v)),
            }
        }
        Patch { min, size, runs }
    }

    /// Voxels the box covers.
    pub fn voxels(&self) -> usize {
        self.size.iter().product()
    }
}

/// The smallest box holding the voxels of `indices` (linear, x fastest) of
/// a map of `dims`: (min, size); size all zero when there are none.
pub fn bounding_box(dims: [usize; 3], indices: impl IntoIterator<Item = usize>) -> ([usize; 3], [usize; 3]) {
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    let mut any = false;
    for n in indices {
        let v = [n % dims[0], (n / dims[0]) % dims[1], n / (dims[0] * dims[1])];
        for a in 0..3 {
            lo[a] = lo[a].min(v[a]);
            hi[a] = hi[a].max(v[a]);
        }
        any = true;
    }
    if !any {
        return ([0; 3], [0; 3]);
    }
    (lo, [0, 1, 2].map(|a| hi[a] - lo[a] + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, Volume};

    #[test]
    fn a_patch_round_trips_and_is_small_for_runs() {
        let mut m = Volume::filled([40, 30, 20], 0u8, Geometry::default());
        for n in 0..m.len() {
            if n % 97 < 40 {
                m.data_mut()[n] = (n % 3) as u8 + 1;
            }
        }
        let original = m.clone();
        let p = Patch::capture(&m, [5, 6, 7], [20, 10, 8]);
        assert_eq!(p.voxels(), 1600);
        for v in m.data_mut() {
            *v = 9;
        }
        let inverse = p.restore(&mut m);
        assert!(inverse.runs.len() == 1, "all 9 inside the box");
        assert_eq!(inverse.class_counts()[9], 1600);
        assert_eq!(p.class_counts().iter().sum::<u64>(), 1600);
        assert_eq!(p.class_counts_in(&m), p.class_counts(), "restored");
        let inside = |n: usize| {
            let c = original.coords(n);
            (5..25).contains(&c[0]) && (6..16).contains(&c[1]) && (7..15).contains(&c[2])
        };
        for n in 0..m.len() {
            assert_eq!(m.data()[n], if inside(n) { original.data()[n] } else { 9 });
        }
        // Uniform boxes cost one run.
        let flat = Patch::capture(&Volume::filled([64, 64, 64], 2u8, Geometry::default()), [0; 3], [64; 3]);
        assert!(flat.bytes() < 100, "{}", flat.bytes());
        // Clipped to the map; an empty box is empty.
        let clipped = Patch::capture(&m, [35, 25, 15], [20, 20, 20]);
        assert_eq!(clipped.size, [5, 5, 5]);
        assert!(Patch::capture(&m, [40, 0, 0], [3, 3, 3]).is_empty());
        assert_eq!(bounding_box([10, 10, 10], [11, 235]), ([1, 1, 0], [5, 3, 3]));
    }

    #[test]
    fn combined_patches_undo_a_sequence_of_edits_in_one_step() {
        let mut m = Volume::filled([20, 20, 10], 0u8, Geometry::default());
        for n in (0..m.len()).step_by(7) {
            m.data_mut()[n] = 2;
        }
        let before = m.clone();
        // Three overlapping edits, each keeping what it overwrote.
        let mut patches = Vec::new();
        for (min, size, v) in [([2, 2, 2], [6, 6, 3], 1u8), ([5, 4, 3], [8, 3, 4], 3), ([1, 1, 1], [3, 3, 3], 0)] {
            patches.push(Patch::capture(&m, min, size));
            for k in min[2]..min[2] + size[2] {
                for j in min[1]..min[1] + size[1] {
                    for i in min[0]..min[0] + size[0] {
                        let n = m.index(i, j, k);
                        m.data_mut()[n] = v;
                    }
                }
            }
        }
        patches.insert(1, Patch::empty());
        let after = m.clone();
        let joint = Patch::combine(&m, &patches);
        assert_eq!((joint.min, joint.size), ([1, 1, 1], [12, 7, 6]));
        let inverse = joint.restore(&mut m);
        assert_eq!(m, before, "one restore undoes all three");
        inverse.restore(&mut m);
        assert_eq!(m, after, "and its inverse redoes them");
        assert!(Patch::combine(&m, &[Patch::empty()]).is_empty());
    }
}
