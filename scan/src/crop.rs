//! Boxes of voxels, cropping to them and pasting back.
//!
//! Training crops every scan to the bounding box of its lungs, and inference
//! runs on the crop and pastes the result back into the full grid. Cropping
//! moves the origin so that every voxel keeps its patient position: a label
//! drawn on the crop lands on the same anatomy after [`uncrop`].

use glam::DVec3;
use rayon::prelude::*;

use crate::geometry::Geometry;
use crate::volume::Volume;

/// An axis-aligned box of voxel indices: `min[a] <= index[a] < max_exclusive[a]`.
///
/// A box with `min[a] >= max_exclusive[a]` on any axis is empty; all empty
/// boxes are equivalent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BoundingBox {
    /// First voxel inside the box along i, j, k.
    pub min: [usize; 3],
    /// One past the last voxel inside the box along i, j, k.
    pub max_exclusive: [usize; 3],
}

impl BoundingBox {
    /// The box `min..max_exclusive`.
    pub fn new(min: [usize; 3], max_exclusive: [usize; 3]) -> Self {
        BoundingBox { min, max_exclusive }
    }

    /// The box of a whole volume of `dims` voxels.
    pub fn full(dims: [usize; 3]) -> Self {
        BoundingBox { min: [0; 3], max_exclusive: dims }
    }

    /// The canonical empty box.
    pub fn empty() -> Self {
        BoundingBox::default()
    }

    /// True when the box holds no voxel.
    pub fn is_empty(&self) -> bool {
        (0..3).any(|a| self.min[a] >= self.max_exclusive[a])
    }

    /// Voxel counts along i, j, k (zeros for an empty box).
    pub fn dims(&self) -> [usize; 3] {
        if self.is_empty() {
            return [0; 3];
        }
        std::array::from_fn(|a| self.max_exclusive[a] - self.min[a])
    }

    /// Number of voxels in the box.
    pub fn voxel_count(&self) -> usize {
        self.dims().iter().product()
    }

    /// True when voxel `ijk` lies in the box.
    pub fn contains(&self, ijk: [usize; 3]) -> bool {
        (0..3).all(|a| self.min[a] <= ijk[a] && ijk[a] < self.max_exclusive[a])
    }

    /// The smallest box around the voxels of `volume` for which `inside` is
    /// true; empty when there are none.
    pub fn of<T, F>(volume: &Volume<T>, inside: F) -> Self
    where
        T: Sync,
        F: Fn(&T) -> bool + Sync,
    {
        let [nx, ny, _] = volume.dims();
        let plane = nx * ny;
        if plane == 0 {
            return BoundingBox::empty();
        }
        volume
            .data()
            .par_chunks(plane)
            .enumerate()
            .map(|(k, slice)| {
                let mut b = BoundingBox::empty();
                for (j, row) in slice.chunks_exact(nx).enumerate() {
                    let Some(first) = row.iter().position(&inside) else { continue };
                    let last = row.iter().rposition(&inside).unwrap_or(first);
                    b = b.union(&BoundingBox::new([first, j, k], [last + 1, j + 1, k + 1]));
                }
                b
            })
            .reduce(BoundingBox::empty, |a, b| a.union(&b))
    }

    /// The smallest box around the `true` voxels of a mask.
    pub fn of_mask(mask: &Volume<bool>) -> Self {
        BoundingBox::of(mask, |&b| b)
    }

    /// The smallest box around the non-zero voxels of a volume (e.g. the
    /// labelled voxels of a label map).
    pub fn of_nonzero<T: Default + PartialEq + Sync>(volume: &Volume<T>) -> Self {
        let zero = T::default();
        BoundingBox::of(volume, |v| *v != zero)
    }

    /// The box grown by `margin[a]` voxels on both sides of axis `a` and
    /// clamped to a volume of `dims`. An empty box stays empty.
    pub fn padded(&self, margin: [usize; 3], dims: [usize; 3]) -> Self {
        if self.is_empty() {
            return BoundingBox::empty();
        }
        BoundingBox {
            min: std::array::from_fn(|a| self.min[a].saturating_sub(margin[a])),
            max_exclusive: std::array::from_fn(|a| self.max_exclusive[a].saturating_add(margin[a])),
        }
        .clamped(dims)
    }

    /// The box grown by `margin_mm` millimetres on all sides (rounded up to
    /// whole voxels with the spacing of `geometry`) and clamped to `dims`.
    pub fn padded_mm(&self, margin_mm: f64, geometry: &Geometry, dims: [usize; 3]) -> Self {
        let m = DVec3::splat(margin_mm.max(0.0)) / geometry.spacing;
        // Subtract a hair so that 10 mm at 0.5 mm spacing is 20 voxels, not 21.
        let vox = |x: f64| (x - 1e-9).ceil().max(0.0) as usize;
        self.padded([vox(m.x), vox(m.y), vox(m.z)], dims)
    }

    /// The part of the box that lies inside a volume of `dims`.
    pub fn clamped(&self, dims: [usize; 3]) -> Self {
        self.intersection(&BoundingBox::full(dims))
    }

    /// The voxels in both boxes (empty when they do not overlap).
    pub fn intersection(&self, other: &BoundingBox) -> Self {
        let b = BoundingBox {
            min: std::array::from_fn(|a| self.min[a].max(other.min[a])),
            max_exclusive: std::array::from_fn(|a| self.max_exclusive[a].min(other.max_exclusive[a])),
        };
        if b.is_empty() { BoundingBox::empty() } else { b }
    }

    /// The smallest box holding both boxes (an empty box adds nothing).
    pub fn union(&self, other: &BoundingBox) -> Self {
        match (self.is_empty(), other.is_empty()) {
            (true, _) => *other,
            (_, true) => *self,
            _ => BoundingBox {
                min: std::array::from_fn(|a| self.min[a].min(other.min[a])),
                max_exclusive: std::array::from_fn(|a| self.max_exclusive[a].max(other.max_exclusive[a])),
            },
        }
    }

    /// The geometry of the box cut out of a volume with `geometry`: same
    /// spacing and direction, origin at the centre of voxel `min`.
    pub fn geometry_in(&self, geometry: &Geometry) -> Geometry {
        let min = DVec3::new(self.min[0] as f64, self.min[1] as f64, self.min[2] as f64);
        Geometry { origin: geometry.voxel_to_world(min), ..*geometry }
    }
}

/// The part of `volume` inside `bbox` (clamped to the volume first), with the
/// origin moved so that every voxel keeps its patient position.
pub fn crop<T: Copy + Send + Sync>(volume: &Volume<T>, bbox: &BoundingBox) -> Volume<T> {
    let b = bbox.clamped(volume.dims());
    let [cx, cy, cz] = b.dims();
    let geometry = b.geometry_in(&volume.geometry);
    if b.is_empty() {
        return Volume::from_vec([cx, cy, cz], Vec::new(), geometry).expect("empty volume");
    }
    let src = volume.data();
    // Any voxel value will do as a placeholder: every one is overwritten.
    let mut out = vec![src[0]; cx * cy * cz];
    out.par_chunks_mut(cx).enumerate().for_each(|(r, row)| {
        let (j, k) = (b.min[1] + r % cy, b.min[2] + r / cy);
        let start = volume.index(b.min[0], j, k);
        row.copy_from_slice(&src[start..start + cx]);
    });
    Volume::from_vec([cx, cy, cz], out, geometry).expect("dims match the box")
}

/// Writes `part` into `target` with `part`'s voxel (0, 0, 0) at `target`
/// voxel `at`; whatever falls outside `target` is dropped. Geometry is not
/// checked: `at` alone places the part.
pub fn paste<T: Copy + Send + Sync>(target: &mut Volume<T>, part: &Volume<T>, at: [usize; 3]) {
    let [px, py, pz] = part.dims();
    let dims = target.dims();
    let region = BoundingBox::new(at, [at[0] + px, at[1] + py, at[2] + pz]).clamped(dims);
    if region.is_empty() {
        return;
    }
    let [rx, ry, _] = region.dims();
    let [nx, ny, _] = dims;
    let src = part.data();
    target.data_mut().par_chunks_mut(nx * ny).enumerate().for_each(|(k, slice)| {
        if k < region.min[2] || k >= region.max_exclusive[2] {
            return;
        }
        for j in region.min[1]..region.min[1] + ry {
            let s = part.index(0, j - at[1], k - at[2]);
            let d = region.min[0] + nx * j;
            slice[d..d + rx].copy_from_slice(&src[s..s + rx]);
        }
    });
}

/// The inverse of [`crop`]: a volume of `full_dims` filled with `fill`, with
/// `cropped` pasted back at `bbox.min`. The geometry is that of the original
/// volume (the cropped origin moved back by `bbox.min` voxels).
///
/// # Panics
/// When `cropped` does not have the dimensions of `bbox` clamped to
/// `full_dims` (it was not cropped with that box from such a volume).
pub fn uncrop<T: Copy + Send + Sync>(
    cropped: &Volume<T>,
    bbox: &BoundingBox,
    full_dims: [usize; 3],
    fill: T,
) -> Volume<T> {
    let b = bbox.clamped(full_dims);
    assert_eq!(cropped.dims(), b.dims(), "uncrop: volume does not have the dimensions of the box");
    let g = cropped.geometry;
    let min = DVec3::new(b.min[0] as f64, b.min[1] as f64, b.min[2] as f64);
    let origin = g.origin - g.direction * (min * g.spacing);
    let mut full = Volume::filled(full_dims, fill, Geometry { origin, ..g });
    paste(&mut full, cropped, b.min);
    full
}
