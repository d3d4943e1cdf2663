//! A 3-D array of voxels with its patient geometry.

use glam::DVec3;

use crate::geometry::Geometry;

/// A 3-D image: `dims[0] × dims[1] × dims[2]` voxels stored with i fastest,
/// then j, then k (x-fastest, like NIfTI and a stack of DICOM slices), plus
/// the [`Geometry`] that places every voxel in patient LPS.
///
/// CT images are `Volume<i16>` in Hounsfield units; label maps are
/// [`crate::LabelMap`] (`Volume<u8>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Volume<T> {
    dims: [usize; 3],
    data: Vec<T>,
    /// Voxel-to-patient mapping.
    pub geometry: Geometry,
}

/// Error returned by [`Volume::from_vec`] when the data length does not match.
#[derive(Debug, thiserror::Error)]
#[error("volume data has {len} voxels but dimensions {dims:?} need {expected}")]
pub struct ShapeError {
    /// Requested dimensions.
    pub dims: [usize; 3],
    /// Length of the data given.
    pub len: usize,
    /// Product of the dimensions (saturated).
    pub expected: usize,
}

impl<T> Volume<T> {
    /// Wraps `data` (i fastest) as a volume; fails if the length is not the
    /// product of `dims`.
    pub fn from_vec(dims: [usize; 3], data: Vec<T>, geometry: Geometry) -> Result<Self, ShapeError> {
        let expected = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(ShapeError { dims, len: data.len(), expected });
        }
        Ok(Volume { dims, data, geometry })
    }

    /// Voxel counts along i, j, k.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Total number of voxels.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the volume has no voxels.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All voxels, i fastest.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// All voxels, mutable, i fastest.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Takes the voxel buffer out of the volume.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }

    /// Linear index of voxel (i, j, k). Panics in debug builds when out of range.
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        debug_assert!(i < self.dims[0] && j < self.dims[1] && k < self.dims[2]);
        i + self.dims[0] * (j + self.dims[1] * k)
    }

    /// Voxel (i, j, k) inverse of [`Volume::index`].
    #[inline]
    pub fn coords(&self, index: usize) -> [usize; 3] {
        let [nx, ny, _] = self.dims;
        [index % nx, (index / nx) % ny, index / (nx * ny)]
    }

    /// Reference to voxel (i, j, k), or `None` outside the volume.
    #[inline]
    pub fn get(&self, i: usize, j: usize, k: usize) -> Option<&T> {
        (i < self.dims[0] && j < self.dims[1] && k < self.dims[2]).then(|| &self.data[self.index(i, j, k)])
    }

    /// Voxels of axial slice `k` (all i, j), i fastest.
    pub fn slice_k(&self, k: usize) -> &[T] {
        let n = self.dims[0] * self.dims[1];
        &self.data[k * n..(k + 1) * n]
    }

    /// Patient LPS position (mm) of the centre of voxel (i, j, k).
    pub fn voxel_to_world(&self, ijk: [usize; 3]) -> DVec3 {
        self.geometry.voxel_to_world(DVec3::new(ijk[0] as f64, ijk[1] as f64, ijk[2] as f64))
    }

    /// Physical size of the volume along each voxel axis, in mm.
    pub fn extent_mm(&self) -> DVec3 {
        DVec3::new(self.dims[0] as f64, self.dims[1] as f64, self.dims[2] as f64) * self.geometry.spacing
    }

    /// Volume of one voxel in millilitres.
    pub fn voxel_volume_ml(&self) -> f64 {
        self.geometry.spacing.element_product() / 1000.0
    }

    /// True when `other` has the same dimensions and (within 1e-4 mm / 1e-4) the same geometry.
    pub fn same_grid<U>(&self, other: &Volume<U>) -> bool {
        let a = &self.geometry;
        let b = &other.geometry;
        self.dims == other.dims
            && (a.spacing - b.spacing).abs().max_element() < 1e-4
            && (a.origin - b.origin).abs().max_element() < 1e-3
            && (0..3).all(|c| (a.direction.col(c) - b.direction.col(c)).abs().max_element() < 1e-4)
    }

    /// A new volume on the same grid whose voxels are `f` of this one's.
    pub fn map<U: Send, F: Fn(&T) -> U + Sync + Send>(&self, f: F) -> Volume<U>
    where
        T: Sync,
    {
        use rayon::prelude::*;
        Volume { dims: self.dims, data: self.data.par_iter().map(f).collect(), geometry: self.geometry }
    }
}

impl<T: Clone> Volume<T> {
    /// A volume of `dims` filled with `value`.
    pub fn filled(dims: [usize; 3], value: T, geometry: Geometry) -> Self {
        let n = dims.iter().product();
        Volume { dims, data: vec![value; n], geometry }
    }
}

impl<T: Copy + PartialOrd> Volume<T> {
    /// Smallest and largest voxel value, or `None` for an empty volume.
    pub fn min_max(&self) -> Option<(T, T)>
    where
        T: Send + Sync,
    {
        use rayon::prelude::*;
        self.data
            .par_chunks(1 << 16)
            .map(|c| {
                let mut lo = c[0];
                let mut hi = c[0];
                for &v in c {
                    if v < lo {
                        lo = v;
                    }
                    if v > hi {
                        hi = v;
                    }
                }
                (lo, hi)
            })
            .reduce_with(|a, b| (if b.0 < a.0 { b.0 } else { a.0 }, if b.1 > a.1 { b.1 } else { a.1 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_coords_round_trip() {
        let v = Volume::filled([3, 4, 5], 0u8, Geometry::default());
        for idx in 0..v.len() {
            let [i, j, k] = v.coords(idx);
            assert_eq!(v.index(i, j, k), idx);
        }
        assert!(v.get(3, 0, 0).is_none());
    }

    #[test]
    fn from_vec_checks_length() {
        assert!(Volume::from_vec([2, 2, 2], vec![0i16; 7], Geometry::default()).is_err());
        assert!(Volume::from_vec([usize::MAX, 2, 2], vec![0i16; 7], Geometry::default()).is_err());
    }

    #[test]
    fn min_max_finds_extremes() {
        let data: Vec<i16> = (0..100_000).map(|i| ((i * 7919) % 4001) as i16 - 1024).collect();
        let v = Volume::from_vec([100, 100, 10], data, Geometry::default()).unwrap();
        assert_eq!(v.min_max(), Some((-1024, 2976)));
    }
}
