//! Resampling images (trilinear) and label maps (nearest neighbour) to a new
//! spacing or onto any other grid.
//!
//! The network runs at a fixed spacing, so every scan is resampled before
//! inference and the result is mapped back onto the scan's own grid with
//! [`resample_labels_to_grid`]; training resamples images and labels alike.
//!
//! # Conventions
//!
//! Voxel values are samples at voxel *centres*; a voxel covers the box of
//! half a spacing around its centre, so a volume of `n` voxels along an axis
//! covers continuous indices `-0.5 ..= n - 0.5`.
//!
//! * Inside that box, samples between the first (or last) centre and the
//!   box edge take the edge voxel's value (edge replication); linear
//!   interpolation is exact between centres.
//! * Outside it, a resampled voxel gets the caller's fill value.
//!
//! [`resampled_grid`] keeps the direction and the physical box: the new grid
//! has `max(1, round(extent / new_spacing))` voxels per axis at exactly the
//! requested spacing, and its first voxel centre lies half a *new* spacing
//! inside the lower edge of the original box (the original first centre minus
//! half an old spacing). Both grids share the lower box edge; the upper edges
//! differ by less than half a new spacing because of the rounding, and every
//! new centre lies inside the original box (so nothing is filled).
//!
//! All work is parallel over output rows, with per-axis tap tables when the
//! two grids are axis-aligned to each other (the usual case) and one affine
//! step per voxel otherwise.

use glam::{DMat3, DVec3};
use rayon::prelude::*;

use crate::geometry::Geometry;
use crate::labels::LabelMap;
use crate::volume::Volume;

/// Continuous-index slack when testing whether a position is inside the
/// source box; absorbs the rounding of the world round trip.
const INSIDE_TOLERANCE: f64 = 1e-4;

/// A voxel type that can be interpolated: converted to `f32` and back.
pub trait Sample: Copy + Send + Sync {
    /// The value as a float.
    fn to_f32(self) -> f32;
    /// The nearest representable value (rounded and saturated for integers).
    fn from_f32(v: f32) -> Self;
}

impl Sample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v
    }
}

/// Rounds half away from zero without a libm call (`f32::round` is one on
/// baseline x86-64); the `as` cast that follows truncates and saturates.
#[inline]
fn round_half_away(v: f32) -> f32 {
    if v >= 0.0 { v + 0.5 } else { v - 0.5 }
}

impl Sample for i16 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        round_half_away(v) as i16
    }
}

impl Sample for u16 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        round_half_away(v) as u16
    }
}

impl Sample for u8 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        round_half_away(v) as u8
    }
}

/// The grid that [`resample_linear`] and [`resample_nearest`] produce for a
/// volume of `dims` with `geometry` at `new_spacing` (mm): same direction and
/// lower box edge, `max(1, round(extent / new_spacing))` voxels per axis.
///
/// # Panics
/// When a component of `new_spacing` is not finite and positive.
pub fn resampled_grid(dims: [usize; 3], geometry: &Geometry, new_spacing: DVec3) -> ([usize; 3], Geometry) {
    assert!(
        new_spacing.is_finite() && new_spacing.min_element() > 0.0,
        "resample: spacing {new_spacing:?} must be finite and positive"
    );
    let old = geometry.spacing;
    let extent = DVec3::new(dims[0] as f64, dims[1] as f64, dims[2] as f64) * old;
    let n = (extent / new_spacing).round().max(DVec3::ONE);
    let new_dims = [n.x as usize, n.y as usize, n.z as usize];
    // First new centre, as a continuous index of the old grid: the old lower
    // edge (-0.5) plus half a new spacing, expressed in old voxels.
    let first = DVec3::splat(-0.5) + 0.5 * new_spacing / old;
    let origin = geometry.voxel_to_world(first);
    (new_dims, Geometry { spacing: new_spacing, origin, direction: geometry.direction })
}

/// Trilinear resampling of an image to `new_spacing` (mm) on the grid of
/// [`resampled_grid`]. For CT (`i16`, HU) and float images.
pub fn resample_linear<T: Sample>(image: &Volume<T>, new_spacing: DVec3) -> Volume<T> {
    let (dims, geometry) = resampled_grid(image.dims(), &image.geometry, new_spacing);
    // Every new centre is inside the old box, so the fill is never used.
    let fill = T::from_f32(0.0);
    resample_to_grid(image, dims, &geometry, fill)
}

/// Nearest-neighbour resampling to `new_spacing` (mm) on the grid of
/// [`resampled_grid`]: every output voxel copies the source voxel whose box
/// holds its centre. For label maps and masks, whose values must not blend.
pub fn resample_nearest<T: Copy + Send + Sync>(volume: &Volume<T>, new_spacing: DVec3) -> Volume<T> {
    let (dims, geometry) = resampled_grid(volume.dims(), &volume.geometry, new_spacing);
    let Some(&fill) = volume.data().first() else {
        return Volume::from_vec([0; 3], Vec::new(), geometry).expect("empty volume");
    };
    resample_nearest_to_grid(volume, dims, &geometry, fill)
}

/// A label map at `new_spacing` (mm), nearest neighbour; see [`resample_nearest`].
pub fn resample_labels(labels: &LabelMap, new_spacing: DVec3) -> LabelMap {
    resample_nearest(labels, new_spacing)
}

/// Trilinear resampling of `image` onto an arbitrary target grid: every
/// target voxel centre is mapped through patient coordinates into `image`
/// and interpolated there; centres outside `image`'s box get `fill`.
///
/// This is how a result computed on a resampled or cropped grid is brought
/// back to the scan's own grid (for label maps use
/// [`resample_labels_to_grid`]).
pub fn resample_to_grid<T: Sample>(
    image: &Volume<T>,
    target_dims: [usize; 3],
    target_geometry: &Geometry,
    fill: T,
) -> Volume<T> {
    let src = image.data();
    let [sx, sy, _] = image.dims();
    let [nx, ny, _] = target_dims;
    if nx > 0
        && let Some([tx, ty, tz]) = aligned_tables(image.dims(), &image.geometry, target_dims, target_geometry)
    {
        // Separable fast path: blend the four source rows around each target
        // row in j and k first (contiguous, vectorises), then interpolate
        // along i in the blended row.
        let mut out = vec![fill; target_dims.iter().product()];
        out.par_chunks_mut(nx).enumerate().for_each_init(
            || vec![0f32; sx],
            |blend, (r, row)| {
                let (Some(y), Some(z)) = (ty[r % ny], tz[r / ny]) else { return };
                let line = |j: usize, k: usize| &src[sx * (j + sy * k)..sx * (j + sy * k + 1)];
                let (a, b) = (line(y.i0, z.i0), line(y.i1, z.i0));
                let (c, d) = (line(y.i0, z.i1), line(y.i1, z.i1));
                for (((t, a), b), (c, d)) in blend.iter_mut().zip(a).zip(b).zip(c.iter().zip(d)) {
                    let lo = a.to_f32() + (b.to_f32() - a.to_f32()) * y.w;
                    let hi = c.to_f32() + (d.to_f32() - c.to_f32()) * y.w;
                    *t = lo + (hi - lo) * z.w;
                }
                for (o, x) in row.iter_mut().zip(&tx) {
                    if let Some(x) = x {
                        let v0 = blend[x.i0];
                        *o = T::from_f32(v0 + (blend[x.i1] - v0) * x.w);
                    }
                }
            },
        );
        return Volume::from_vec(target_dims, out, *target_geometry).expect("dims match the data");
    }
    let plane = sx * sy;
    resample_with(image.dims(), &image.geometry, target_dims, target_geometry, fill, |t| {
        let (x, y, z) = (t[0], t[1], t[2]);
        let lerp = |a: usize, b: usize, w: f32| {
            let va = src[a].to_f32();
            va + (src[b].to_f32() - va) * w
        };
        let row = |j: usize, k: usize| {
            let base = j * sx + k * plane;
            lerp(base + x.i0, base + x.i1, x.w)
        };
        let z0 = {
            let a = row(y.i0, z.i0);
            a + (row(y.i1, z.i0) - a) * y.w
        };
        let z1 = {
            let a = row(y.i0, z.i1);
            a + (row(y.i1, z.i1) - a) * y.w
        };
        T::from_f32(z0 + (z1 - z0) * z.w)
    })
}

/// Nearest-neighbour resampling of any volume onto a target grid: every
/// target voxel copies the source voxel whose box holds its centre; centres
/// outside the source box get `fill`.
pub fn resample_nearest_to_grid<T: Copy + Send + Sync>(
    volume: &Volume<T>,
    target_dims: [usize; 3],
    target_geometry: &Geometry,
    fill: T,
) -> Volume<T> {
    let src = volume.data();
    let [sx, sy, _] = volume.dims();
    resample_with(volume.dims(), &volume.geometry, target_dims, target_geometry, fill, |t| {
        src[t[0].nearest + sx * (t[1].nearest + sy * t[2].nearest)]
    })
}

/// A label map brought onto a target grid (nearest neighbour, background
/// outside the source); see [`resample_nearest_to_grid`].
pub fn resample_labels_to_grid(labels: &LabelMap, target_dims: [usize; 3], target_geometry: &Geometry) -> LabelMap {
    resample_nearest_to_grid(labels, target_dims, target_geometry, crate::labels::BACKGROUND)
}

/// Where one continuous source coordinate falls along one axis.
#[derive(Debug, Clone, Copy)]
struct Tap {
    /// Lower interpolation neighbour.
    i0: usize,
    /// Upper interpolation neighbour (equal to `i0` at the edges).
    i1: usize,
    /// Weight of `i1`.
    w: f32,
    /// The voxel whose box holds the coordinate.
    nearest: usize,
}

/// The tap of continuous index `c` on an axis of `n` voxels, or `None` when
/// `c` lies outside the box `-0.5 ..= n - 0.5`.
#[inline]
fn tap(c: f64, n: usize) -> Option<Tap> {
    if n == 0 || !(c >= -0.5 - INSIDE_TOLERANCE && c <= n as f64 - 0.5 + INSIDE_TOLERANCE) {
        return None;
    }
    let last = n - 1;
    let nearest = ((c + 0.5).floor().max(0.0) as usize).min(last);
    let c = c.clamp(0.0, last as f64);
    let i0 = (c.floor() as usize).min(last);
    if i0 == last {
        return Some(Tap { i0, i1: i0, w: 0.0, nearest });
    }
    Some(Tap { i0, i1: i0 + 1, w: (c - i0 as f64) as f32, nearest })
}

/// The affine map from target voxel index to continuous source voxel index:
/// `source = m · target + b`.
fn index_map(source: &Geometry, target: &Geometry) -> (DMat3, DVec3) {
    let to_src = DMat3::from_diagonal(source.spacing.recip()) * source.direction.transpose();
    let m = to_src * target.direction * DMat3::from_diagonal(target.spacing);
    let b = to_src * (target.origin - source.origin);
    (m, b)
}

/// Per-axis tap tables (one entry per target index along i, j and k) when
/// the target axes are parallel to the source axes, so that each source
/// coordinate depends on one target coordinate only; `None` otherwise.
fn aligned_tables(
    src_dims: [usize; 3],
    src_geometry: &Geometry,
    dims: [usize; 3],
    geometry: &Geometry,
) -> Option<[Vec<Option<Tap>>; 3]> {
    let (m, b) = index_map(src_geometry, geometry);
    let off_diagonal = [m.x_axis.y, m.x_axis.z, m.y_axis.x, m.y_axis.z, m.z_axis.x, m.z_axis.y];
    if off_diagonal.iter().any(|v| v.abs() >= 1e-9) {
        return None;
    }
    Some(std::array::from_fn(|a| (0..dims[a]).map(|t| tap(m.col(a)[a] * t as f64 + b[a], src_dims[a])).collect()))
}

/// Drives resampling: for every target voxel whose centre falls in the
/// source box, `sample([tap_i, tap_j, tap_k])`; `fill` elsewhere.
fn resample_with<T, F>(
    src_dims: [usize; 3],
    src_geometry: &Geometry,
    dims: [usize; 3],
    geometry: &Geometry,
    fill: T,
    sample: F,
) -> Volume<T>
where
    T: Copy + Send + Sync,
    F: Fn([Tap; 3]) -> T + Sync,
{
    let [nx, ny, _] = dims;
    let mut out = vec![fill; dims.iter().product()];
    let (m, b) = index_map(src_geometry, geometry);
    if nx > 0 {
        if let Some([tx, ty, tz]) = aligned_tables(src_dims, src_geometry, dims, geometry) {
            // Separable: one tap table per axis, shared by all rows.
            out.par_chunks_mut(nx).enumerate().for_each(|(r, row)| {
                let (Some(y), Some(z)) = (ty[r % ny], tz[r / ny]) else { return };
                for (o, x) in row.iter_mut().zip(&tx) {
                    if let Some(x) = *x {
                        *o = sample([x, y, z]);
                    }
                }
            });
        } else {
            let step = m.col(0);
            out.par_chunks_mut(nx).enumerate().for_each(|(r, row)| {
                let (j, k) = ((r % ny) as f64, (r / ny) as f64);
                let start = m.col(1) * j + m.col(2) * k + b;
                for (i, o) in row.iter_mut().enumerate() {
                    let p = start + step * i as f64;
                    if let (Some(x), Some(y), Some(z)) =
                        (tap(p.x, src_dims[0]), tap(p.y, src_dims[1]), tap(p.z, src_dims[2]))
                    {
                        *o = sample([x, y, z]);
                    }
                }
            });
        }
    }
    Volume::from_vec(dims, out, *geometry).expect("dims match the data")
}
