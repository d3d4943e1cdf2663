//! Connected components of masks and label maps, in linear time.
//!
//! Every later stage needs them: the body mask keeps the largest component,
//! the lung mask drops small gas pockets, the legend counts how many pieces
//! each class has, and clean-up tools remove specks.
//!
//! # Algorithm
//!
//! Run-based union-find. Each row (fixed j, k) is split into *runs*: maximal
//! stretches of voxels along i with the same non-zero class. A run is joined
//! to the runs it touches in the rows that come before it in scan order
//! (two-pointer sweep over sorted runs, so the cost is linear in the number of
//! runs). The volume is cut into slabs of whole slices that are labelled in
//! parallel; the slabs are then stitched along their first slice, and one
//! sequential pass over the runs numbers the components.
//!
//! Unions always make the smaller run index the root, and path compression
//! only points a run at an earlier one, so `parent[r] <= r` holds throughout.
//! This makes the final numbering a single pass without `find`, and gives
//! deterministic ids: components are numbered 1, 2, … in the order of their
//! first voxel in memory (i fastest, then j, then k), whatever the number of
//! threads.
//!
//! Runs are kept instead of a per-voxel id volume, so asking for a mask of
//! some components (the common case) never allocates 4 bytes per voxel;
//! [`Components::ids`] builds the id volume on request.

use rayon::prelude::*;

use crate::geometry::Geometry;
use crate::labels::LabelMap;
use crate::volume::Volume;

/// Which neighbours of a voxel count as touching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Connectivity {
    /// Face neighbours only (6 in 3-D, 4 within a slice). The right choice
    /// for background when the foreground is 26-connected, and the most
    /// conservative one against leaks through thin diagonal contacts.
    Six,
    /// Face, edge and corner neighbours (26 in 3-D, 8 within a slice): thin
    /// oblique vessels stay in one piece. The default.
    #[default]
    TwentySix,
}

/// One stretch of voxels `start..end` along i in one row, all of `class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) class: u8,
}

/// The runs of a block of whole slices `k0..k1`.
#[derive(Debug, Clone)]
pub(crate) struct Slab {
    /// First slice of the slab.
    pub(crate) k0: usize,
    /// One past the last slice.
    pub(crate) k1: usize,
    /// Global index of the slab's first run.
    pub(crate) base: usize,
    /// Runs in scan order.
    pub(crate) runs: Vec<Run>,
    /// `runs[row_start[r]..row_start[r + 1]]` are the runs of row `r`
    /// (`r = j + ny · (k − k0)`).
    pub(crate) row_start: Vec<u32>,
}

impl Slab {
    fn row(&self, ny: usize, j: usize, k: usize) -> &[Run] {
        let r = j + ny * (k - self.k0);
        &self.runs[self.row_start[r] as usize..self.row_start[r + 1] as usize]
    }

    fn row_range(&self, ny: usize, j: usize, k: usize) -> std::ops::Range<usize> {
        let r = j + ny * (k - self.k0);
        self.row_start[r] as usize..self.row_start[r + 1] as usize
    }
}

/// Where a piece lies and how it spreads: see [`Components::shapes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PieceShape {
    /// Centre of its voxels (patient LPS, mm).
    pub centre_mm: glam::DVec3,
    /// Covariance of its points (mm²), voxels counted as uniform boxes.
    pub covariance_mm2: glam::DMat3,
}

impl PieceShape {
    /// Square root of the largest over the smallest principal variance:
    /// 1 for a ball or a cube, about L / (√3 · d) for a tube of length L and
    /// diameter d well above it.
    pub fn elongation(&self) -> f64 {
        let (lo, hi) = symmetric_eigen_extremes(self.covariance_mm2);
        if lo <= 0.0 { f64::INFINITY } else { (hi / lo).sqrt() }
    }
}

/// Smallest and largest eigenvalue of a symmetric 3×3 matrix (closed form,
/// trigonometric; Smith 1961).
fn symmetric_eigen_extremes(m: glam::DMat3) -> (f64, f64) {
    let (a, b, c) = (m.x_axis.x, m.y_axis.y, m.z_axis.z);
    let (d, e, f) = (m.y_axis.x, m.z_axis.y, m.z_axis.x); // xy, yz, xz
    let p1 = d * d + e * e + f * f;
    if p1 <= 1e-12 * (a * a + b * b + c * c).max(f64::MIN_POSITIVE) {
        return (a.min(b).min(c), a.max(b).max(c));
    }
    let q = (a + b + c) / 3.0;
    let p2 = (a - q).powi(2) + (b - q).powi(2) + (c - q).powi(2) + 2.0 * p1;
    let p = (p2 / 6.0).sqrt();
    let bm = (m - glam::DMat3::from_diagonal(glam::DVec3::splat(q))) * (1.0 / p);
    let r = (bm.determinant() / 2.0).clamp(-1.0, 1.0);
    let phi = r.acos() / 3.0;
    let hi = q + 2.0 * p * phi.cos();
    let lo = q + 2.0 * p * (phi + 2.0 * std::f64::consts::PI / 3.0).cos();
    (lo, hi)
}

/// The connected components of a mask or label map.
///
/// Component ids run from 1 to [`Components::count`], numbered in the order
/// of each component's first voxel in memory; 0 is background. Built by
/// [`label`], [`label_where`] or [`label_classes`].
#[derive(Debug, Clone)]
pub struct Components {
    dims: [usize; 3],
    geometry: Geometry,
    connectivity: Connectivity,
    slabs: Vec<Slab>,
    /// Component id of every run (global run index).
    run_ids: Vec<u32>,
    /// Voxel count per id; index 0 holds the background voxel count.
    sizes: Vec<u64>,
    /// Class (the value that was labelled) of every component; index 0 is 0.
    classes: Vec<u8>,
}

impl Components {
    /// Number of components (the largest id).
    pub fn count(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Voxel counts indexed by id: `sizes()[id]` for `id` in `1..=count()`;
    /// `sizes()[0]` is the number of background voxels.
    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// Voxel count of component `id` (0 for an id that does not exist).
    pub fn size(&self, id: u32) -> u64 {
        if id == 0 {
            return 0;
        }
        self.sizes.get(id as usize).copied().unwrap_or(0)
    }

    /// The class (mask = 1, label map = the label value) of component `id`,
    /// or 0 for background and unknown ids.
    pub fn class_of(&self, id: u32) -> u8 {
        self.classes.get(id as usize).copied().unwrap_or(0)
    }

    /// Number of components of each class value (index = class); this is
    /// what the legend shows next to every label.
    pub fn count_per_class(&self) -> [u32; 256] {
        let mut out = [0u32; 256];
        for &c in &self.classes[1..] {
            out[c as usize] += 1;
        }
        out
    }

    /// The id of the largest component (the lowest such id on ties), or
    /// `None` when there is no foreground.
    pub fn largest(&self) -> Option<u32> {
        let mut best: Option<(u32, u64)> = None;
        for (id, &s) in self.sizes.iter().enumerate().skip(1) {
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((id as u32, s));
            }
        }
        best.map(|(id, _)| id)
    }

    /// Geometry of the labelled volume.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Dimensions of the labelled volume.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Connectivity the components were computed with.
    pub fn connectivity(&self) -> Connectivity {
        self.connectivity
    }

    /// The component id of every voxel (0 = background), on the grid of the
    /// labelled volume. Costs 4 bytes per voxel; prefer [`Components::mask`]
    /// when a selection of components is all that is needed.
    pub fn ids(&self) -> Volume<u32> {
        self.paint(0u32, |id| id)
    }

    /// A mask of the voxels whose component satisfies `keep(id, size)`.
    pub fn mask<F: Fn(u32, u64) -> bool + Sync>(&self, keep: F) -> Volume<bool> {
        let keep_id: Vec<bool> = (0..self.sizes.len()).map(|id| id != 0 && keep(id as u32, self.sizes[id])).collect();
        self.paint(false, |id| keep_id[id as usize])
    }

    /// For every id (index; index 0 is 0), how many of its voxels lie where
    /// `mask` (on the labelled grid) is true: e.g. how much of each piece
    /// lies inside an organ. Walks the runs, not the volume.
    pub fn count_where(&self, mask: &Volume<bool>) -> Vec<u64> {
        assert_eq!(mask.dims(), self.dims, "count_where: mask does not match the labelled volume");
        let [nx, ny, _] = self.dims;
        let data = mask.data();
        let mut counts = vec![0u64; self.sizes.len()];
        self.for_each_run(|id, start, end, j, k| {
            let row = nx * (j + ny * k);
            counts[id as usize] += data[row + start..row + end].iter().filter(|&&m| m).count() as u64;
        });
        counts
    }

    /// For every id (index; index 0 is unused), the centre (patient mm) and
    /// covariance (mm²) of its voxels, each voxel counted as a uniform box so
    /// that a piece one slice thick still has its slice's extent. From the
    /// runs in closed form: cheap even on a whole scan.
    pub fn shapes(&self) -> Vec<PieceShape> {
        let n = self.sizes.len();
        // Sums in voxel index space: count, Σx, Σxx per axis, Σ cross terms.
        let mut s1 = vec![glam::DVec3::ZERO; n];
        let mut s2 = vec![glam::DMat3::ZERO; n];
        self.for_each_run(|id, start, end, j, k| {
            let (a, b) = (start as f64, end as f64 - 1.0);
            let m = b - a + 1.0;
            let sx = (a + b) * m / 2.0;
            // Σ i² for i in a..=b.
            let sxx = (b * (b + 1.0) * (2.0 * b + 1.0) - (a - 1.0) * a * (2.0 * a - 1.0)) / 6.0;
            let (j, k) = (j as f64, k as f64);
            let id = id as usize;
            s1[id] += glam::DVec3::new(sx, j * m, k * m);
            let c = &mut s2[id];
            c.x_axis += glam::DVec3::new(sxx, sx * j, sx * k);
            c.y_axis += glam::DVec3::new(sx * j, j * j * m, j * k * m);
            c.z_axis += glam::DVec3::new(sx * k, j * k * m, k * k * m);
        });
        let a = self.geometry.direction * glam::DMat3::from_diagonal(self.geometry.spacing);
        let within = glam::DMat3::from_diagonal(self.geometry.spacing * self.geometry.spacing / 12.0);
        (0..n)
            .map(|id| {
                let count = self.sizes[id];
                if id == 0 || count == 0 {
                    return PieceShape { centre_mm: glam::DVec3::ZERO, covariance_mm2: glam::DMat3::ZERO };
                }
                let c = count as f64;
                let mean = s1[id] / c;
                let outer = glam::DMat3::from_cols(mean * mean.x, mean * mean.y, mean * mean.z);
                let cov_voxels = s2[id] * (1.0 / c) - outer;
                let d = self.geometry.direction;
                PieceShape {
                    centre_mm: self.geometry.voxel_to_world(mean),
                    covariance_mm2: a * cov_voxels * a.transpose() + d * within * d.transpose(),
                }
            })
            .collect()
    }

    /// A mask of component `id` alone.
    pub fn mask_of(&self, id: u32) -> Volume<bool> {
        self.mask(|c, _| c == id)
    }

    /// Fills a new volume: background voxels get `background`, voxels of a
    /// run get `value(id)` of the run's component.
    fn paint<U, F>(&self, background: U, value: F) -> Volume<U>
    where
        U: Copy + Send + Sync + PartialEq,
        F: Fn(u32) -> U + Sync,
    {
        let mut data = vec![background; self.dims.iter().product()];
        self.paint_into(&mut data, |id| Some(value(id)).filter(|v| *v != background));
        Volume::from_vec(self.dims, data, self.geometry).expect("dims match the labelled volume")
    }

    /// Writes `value(id)` over the voxels of every component for which it is
    /// `Some`, into `data` laid out like the labelled volume; other voxels
    /// are left alone. Parallel over slabs.
    pub(crate) fn paint_into<U, F>(&self, data: &mut [U], value: F)
    where
        U: Copy + Send + Sync,
        F: Fn(u32) -> Option<U> + Sync,
    {
        let [nx, ny, _] = self.dims;
        let plane = nx * ny;
        assert_eq!(data.len(), plane * self.dims[2], "paint_into: buffer does not match the labelled volume");
        if plane == 0 {
            return;
        }
        // Slabs are consecutive blocks of whole slices: split the output alike.
        let mut chunks: Vec<(&Slab, &mut [U])> = Vec::with_capacity(self.slabs.len());
        let mut rest: &mut [U] = data;
        for slab in &self.slabs {
            let (head, tail) = rest.split_at_mut((slab.k1 - slab.k0) * plane);
            chunks.push((slab, head));
            rest = tail;
        }
        chunks.into_par_iter().for_each(|(slab, out)| {
            for k in slab.k0..slab.k1 {
                for j in 0..ny {
                    let range = slab.row_range(ny, j, k);
                    let row0 = nx * (j + ny * (k - slab.k0));
                    for (local, run) in slab.runs[range.clone()].iter().enumerate() {
                        if let Some(v) = value(self.run_ids[slab.base + range.start + local]) {
                            out[row0 + run.start as usize..row0 + run.end as usize].fill(v);
                        }
                    }
                }
            }
        });
    }

    /// Calls `f(id, start, end, j, k)` for every run, in scan order.
    pub(crate) fn for_each_run(&self, mut f: impl FnMut(u32, usize, usize, usize, usize)) {
        let ny = self.dims[1];
        for slab in &self.slabs {
            for k in slab.k0..slab.k1 {
                for j in 0..ny {
                    let range = slab.row_range(ny, j, k);
                    for (local, run) in slab.runs[range.clone()].iter().enumerate() {
                        let id = self.run_ids[slab.base + range.start + local];
                        f(id, run.start as usize, run.end as usize, j, k);
                    }
                }
            }
        }
    }
}

/// Connected components of the `true` voxels of a mask.
pub fn label(mask: &Volume<bool>, connectivity: Connectivity) -> Components {
    label_where(mask, connectivity, |&b| b)
}

/// Connected components of the voxels of any volume for which `inside` is
/// true, without building a mask first (e.g. `|&hu| hu > -500` on a CT).
pub fn label_where<T, F>(volume: &Volume<T>, connectivity: Connectivity, inside: F) -> Components
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    label_by_class(volume, connectivity, false, default_slab_slices(volume.dims()[2]), |v| inside(v) as u8)
}

/// Connected components of each non-zero class of a label map: two voxels
/// are in the same component when they touch and have the same label.
/// [`Components::class_of`] gives each component's label and
/// [`Components::count_per_class`] the legend's piece counts.
pub fn label_classes(labels: &LabelMap, connectivity: Connectivity) -> Components {
    label_by_class(labels, connectivity, false, default_slab_slices(labels.dims()[2]), |&v| v)
}

/// Connected components of the `true` voxels within each slice k (axial
/// slices of an ordinary series), never across slices: [`Connectivity::Six`]
/// is 4-connected in the slice, [`Connectivity::TwentySix`] 8-connected. Ids
/// and sizes are as for [`label`] (a size is an area in voxels).
pub fn label_per_slice(mask: &Volume<bool>, connectivity: Connectivity) -> Components {
    label_per_slice_where(mask, connectivity, |&b| b)
}

/// [`label_per_slice`] of the voxels for which `inside` is true.
pub fn label_per_slice_where<T, F>(volume: &Volume<T>, connectivity: Connectivity, inside: F) -> Components
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    label_by_class(volume, connectivity, true, default_slab_slices(volume.dims()[2]), |v| inside(v) as u8)
}

/// Number of connected components of every label value of a label map
/// (index = label; index 0 is always 0).
pub fn components_per_class(labels: &LabelMap, connectivity: Connectivity) -> [u32; 256] {
    label_classes(labels, connectivity).count_per_class()
}

/// The largest connected component of a mask (an empty mask stays empty).
pub fn largest_component(mask: &Volume<bool>, connectivity: Connectivity) -> Volume<bool> {
    let c = label(mask, connectivity);
    match c.largest() {
        Some(id) => c.mask_of(id),
        None => mask.map(|_| false),
    }
}

/// The mask without its components of fewer than `min_voxels` voxels.
pub fn remove_small_components(mask: &Volume<bool>, connectivity: Connectivity, min_voxels: u64) -> Volume<bool> {
    label(mask, connectivity).mask(|_, size| size >= min_voxels)
}

/// Slices per slab: about four slabs per thread, so that uneven slabs still
/// balance, with whole slices so that rows never straddle two slabs.
fn default_slab_slices(nz: usize) -> usize {
    nz.div_ceil(rayon::current_num_threads() * 4).max(1)
}

/// Labelling of a volume: components of equal non-zero `class(v)`, within
/// each slice only when `planar`, with slabs of `slab_slices` slices
/// (exposed to the unit tests to force many slabs).
pub(crate) fn label_by_class<T, F>(
    volume: &Volume<T>,
    connectivity: Connectivity,
    planar: bool,
    slab_slices: usize,
    class: F,
) -> Components
where
    T: Sync,
    F: Fn(&T) -> u8 + Sync,
{
    let data = volume.data();
    let nx = volume.dims()[0];
    label_core(volume.dims(), volume.geometry, connectivity, planar, slab_slices, |start, runs| {
        push_runs(&data[start..start + nx], |v| class(v), runs)
    })
}

/// Labelling of a voxel property given by linear index (`class(index)`),
/// for masks that are never materialised, e.g. "in the body and below
/// −400 HU" read from two volumes at once.
pub(crate) fn label_by_index<F>(
    dims: [usize; 3],
    geometry: Geometry,
    connectivity: Connectivity,
    class: F,
) -> Components
where
    F: Fn(usize) -> u8 + Sync,
{
    let nx = dims[0];
    label_core(dims, geometry, connectivity, false, default_slab_slices(dims[2]), |start, runs| {
        push_runs_by_index(start, nx, &class, runs)
    })
}

/// The labelling core; `row_runs(start, runs)` appends the runs of the row
/// whose first voxel has linear index `start`.
fn label_core<R>(
    dims: [usize; 3],
    geometry: Geometry,
    connectivity: Connectivity,
    planar: bool,
    slab_slices: usize,
    row_runs: R,
) -> Components
where
    R: Fn(usize, &mut Vec<Run>) + Sync,
{
    let [nx, ny, nz] = dims;
    let len = nx.saturating_mul(ny).saturating_mul(nz);
    assert!(
        nx <= u32::MAX as usize && len < u32::MAX as usize,
        "volume of {dims:?} voxels is too large to label with 32-bit ids"
    );
    let slab_slices = slab_slices.max(1);
    let bounds: Vec<(usize, usize)> = (0..nz).step_by(slab_slices).map(|k0| (k0, (k0 + slab_slices).min(nz))).collect();

    // 1. Runs of every slab, in parallel.
    let mut slabs: Vec<Slab> = bounds
        .par_iter()
        .map(|&(k0, k1)| {
            let mut runs = Vec::new();
            let mut row_start = Vec::with_capacity((k1 - k0) * ny + 1);
            row_start.push(0u32);
            for k in k0..k1 {
                for j in 0..ny {
                    row_runs(nx * (j + ny * k), &mut runs);
                    row_start.push(runs.len() as u32);
                }
            }
            Slab { k0, k1, base: 0, runs, row_start }
        })
        .collect();
    let mut total = 0usize;
    for s in &mut slabs {
        s.base = total;
        total += s.runs.len();
    }
    assert!(total < u32::MAX as usize, "too many runs to label");

    // 2. Union-find inside each slab, in parallel on disjoint parts of `parent`.
    let mut parent: Vec<u32> = vec![0; total];
    {
        let mut parts: Vec<(&Slab, &mut [u32])> = Vec::with_capacity(slabs.len());
        let mut rest: &mut [u32] = &mut parent;
        for s in &slabs {
            let (head, tail) = rest.split_at_mut(s.runs.len());
            parts.push((s, head));
            rest = tail;
        }
        parts.into_par_iter().for_each(|(slab, local)| {
            // Local indices (global minus `slab.base`) during the slab's own
            // unions; the order is the same, so `parent[r] <= r` carries over.
            for (i, p) in local.iter_mut().enumerate() {
                *p = i as u32;
            }
            for k in slab.k0..slab.k1 {
                for j in 0..ny {
                    let cur = slab.row_range(ny, j, k);
                    for &(dj, dk) in neighbour_rows(connectivity, planar) {
                        let (Some(nj), Some(nk)) = (j.checked_add_signed(dj), k.checked_add_signed(dk)) else {
                            continue;
                        };
                        if nj >= ny || nk < slab.k0 {
                            continue;
                        }
                        let other = slab.row_range(ny, nj, nk);
                        join_rows(&slab.runs, cur.clone(), other, connectivity, local);
                    }
                }
            }
            let base = slab.base as u32;
            for p in local.iter_mut() {
                *p += base;
            }
        });
    }

    // 3. Stitch each slab's first slice to the last slice of the slab before
    //    (not when labelling slices on their own).
    let stitched = if planar { 0 } else { slabs.len() };
    for w in 1..stitched {
        let (prev, next) = (&slabs[w - 1], &slabs[w]);
        let k = next.k0;
        for j in 0..ny {
            let cur = next.row(ny, j, k);
            if cur.is_empty() {
                continue;
            }
            for &(dj, dk) in neighbour_rows(connectivity, false) {
                if dk != -1 {
                    continue;
                }
                let Some(nj) = j.checked_add_signed(dj) else { continue };
                if nj >= ny {
                    continue;
                }
                let cur_global = next.base + next.row_range(ny, j, k).start;
                let other_range = prev.row_range(ny, nj, k - 1);
                let other = &prev.runs[other_range.clone()];
                sweep(cur, other, connectivity, |a, b| {
                    union(&mut parent, (cur_global + a) as u32, (prev.base + other_range.start + b) as u32)
                });
            }
        }
    }

    // 4. Number the components. `parent[r] <= r`, so one forward pass suffices.
    let mut run_ids = vec![0u32; total];
    let mut sizes = vec![0u64];
    let mut classes = vec![0u8];
    let mut foreground = 0u64;
    let mut r = 0usize;
    for slab in &slabs {
        for run in &slab.runs {
            let p = parent[r] as usize;
            let len = (run.end - run.start) as u64;
            foreground += len;
            if p == r {
                run_ids[r] = sizes.len() as u32;
                sizes.push(len);
                classes.push(run.class);
            } else {
                let id = run_ids[p];
                run_ids[r] = id;
                sizes[id as usize] += len;
            }
            r += 1;
        }
    }
    sizes[0] = len as u64 - foreground;

    Components { dims, geometry, connectivity, slabs, run_ids, sizes, classes }
}

/// Rows (dj, dk) before the current one in scan order that can touch it
/// (in-slice diagonals come from widening runs, see [`sweep`]).
fn neighbour_rows(connectivity: Connectivity, planar: bool) -> &'static [(isize, isize)] {
    if planar {
        return &[(-1, 0)];
    }
    match connectivity {
        Connectivity::Six => &[(-1, 0), (0, -1)],
        Connectivity::TwentySix => &[(-1, 0), (-1, -1), (0, -1), (1, -1)],
    }
}

/// Appends the runs of one row: maximal stretches of equal non-zero class.
#[inline]
fn push_runs<T, F: Fn(&T) -> u8>(row: &[T], class: F, runs: &mut Vec<Run>) {
    let mut i = 0;
    let n = row.len();
    while i < n {
        let c = class(&row[i]);
        if c == 0 {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < n && class(&row[i]) == c {
            i += 1;
        }
        runs.push(Run { start: start as u32, end: i as u32, class: c });
    }
}

/// [`push_runs`] for the row of `nx` voxels starting at linear index `start`
/// of a class given by index.
#[inline]
fn push_runs_by_index<F: Fn(usize) -> u8>(start: usize, nx: usize, class: &F, runs: &mut Vec<Run>) {
    let mut i = 0;
    while i < nx {
        let c = class(start + i);
        if c == 0 {
            i += 1;
            continue;
        }
        let first = i;
        i += 1;
        while i < nx && class(start + i) == c {
            i += 1;
        }
        runs.push(Run { start: first as u32, end: i as u32, class: c });
    }
}

/// Calls `touch(a, b)` for every pair of runs `cur[a]`, `other[b]` of the
/// same class that touch under `connectivity` (rows adjacent in j and/or k).
/// Both rows are sorted and disjoint, so a sweep with a monotone start
/// pointer costs O(runs + touching pairs).
#[inline]
fn sweep(cur: &[Run], other: &[Run], connectivity: Connectivity, mut touch: impl FnMut(usize, usize)) {
    // Under 26-connectivity, runs also touch diagonally: widen by one voxel.
    let widen = match connectivity {
        Connectivity::Six => 0,
        Connectivity::TwentySix => 1,
    };
    let mut first = 0;
    for (a, x) in cur.iter().enumerate() {
        // Runs of `other` that end before `x` (widened) can touch no later run of `cur` either.
        while first < other.len() && other[first].end + widen <= x.start {
            first += 1;
        }
        let mut b = first;
        while b < other.len() && other[b].start < x.end + widen {
            if other[b].class == x.class {
                touch(a, b);
            }
            b += 1;
        }
    }
}

/// Joins the runs of row range `cur` with those of row range `other`, both
/// indices into `runs` and into `parent` (which is local to the slab).
fn join_rows(
    runs: &[Run],
    cur: std::ops::Range<usize>,
    other: std::ops::Range<usize>,
    connectivity: Connectivity,
    parent: &mut [u32],
) {
    if cur.is_empty() || other.is_empty() {
        return;
    }
    let (c0, o0) = (cur.start, other.start);
    sweep(&runs[cur], &runs[other], connectivity, |a, b| union(parent, (c0 + a) as u32, (o0 + b) as u32));
}

/// Root of `x`, halving the path on the way (keeps `parent[r] <= r`).
#[inline]
fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        let gp = parent[p as usize];
        parent[x as usize] = gp;
        x = gp;
    }
    x
}

/// Merges the sets of `a` and `b`; the smaller root index becomes the root.
#[inline]
fn union(parent: &mut [u32], a: u32, b: u32) {
    let ra = find(parent, a);
    let rb = find(parent, b);
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(dims: [usize; 3], data: Vec<bool>) -> Volume<bool> {
        Volume::from_vec(dims, data, Geometry::default()).unwrap()
    }

    #[test]
    fn diagonal_voxels_join_only_under_26() {
        let mut m = vol([3, 3, 3], vec![false; 27]);
        let a = m.index(0, 0, 0);
        let b = m.index(1, 1, 1);
        let c = m.index(2, 2, 2);
        m.data_mut()[a] = true;
        m.data_mut()[b] = true;
        m.data_mut()[c] = true;
        for slab in 1..=3 {
            let six = label_by_class(&m, Connectivity::Six, false, slab, |&b| b as u8);
            let full = label_by_class(&m, Connectivity::TwentySix, false, slab, |&b| b as u8);
            assert_eq!(six.count(), 3);
            assert_eq!(full.count(), 1);
            assert_eq!(full.size(1), 3);
            assert_eq!(full.sizes()[0], 24);
        }
    }

    #[test]
    fn slab_size_does_not_change_the_result() {
        // A helix-like pattern that crosses every slab boundary.
        let dims = [7, 6, 11];
        let data: Vec<bool> =
            (0..dims.iter().product::<usize>()).map(|n| (n.wrapping_mul(2_654_435_761) >> 7) % 3 == 0).collect();
        let m = vol(dims, data);
        for conn in [Connectivity::Six, Connectivity::TwentySix] {
            let reference = label_by_class(&m, conn, false, 100, |&b| b as u8).ids();
            for slab in 1..6 {
                assert_eq!(label_by_class(&m, conn, false, slab, |&b| b as u8).ids(), reference);
            }
        }
    }

    #[test]
    fn classes_are_kept_apart() {
        let labels = Volume::from_vec([4, 1, 1], vec![1u8, 1, 2, 1], Geometry::default()).unwrap();
        let c = label_classes(&labels, Connectivity::TwentySix);
        assert_eq!(c.count(), 3);
        assert_eq!(c.ids().data(), &[1, 1, 2, 3]);
        let counts = c.count_per_class();
        assert_eq!((counts[1], counts[2]), (2, 1));
        assert_eq!(c.class_of(2), 2);
    }

    #[test]
    fn count_where_counts_each_piece_inside_the_mask() {
        // Two pieces on a 6×4×3 grid, the mask a box over part of each.
        let dims = [6, 4, 3];
        let mut m = vol(dims, vec![false; 72]);
        let mut inside = vol(dims, vec![false; 72]);
        for k in 0..3 {
            for i in 0..2 {
                let p = m.index(i, 1, k);
                m.data_mut()[p] = true; // piece 1: 6 voxels
            }
            let q = m.index(5, 3, k);
            m.data_mut()[q] = true; // piece 2: 3 voxels
        }
        for k in 1..3 {
            for i in 1..6 {
                for j in 0..4 {
                    let p = inside.index(i, j, k);
                    inside.data_mut()[p] = true;
                }
            }
        }
        let c = label(&m, Connectivity::TwentySix);
        assert_eq!(c.count(), 2);
        assert_eq!(c.count_where(&inside), vec![0, 2, 2]);
        assert_eq!(c.count_where(&m), vec![0, 6, 3]);
    }

    #[test]
    fn shapes_tell_a_ball_from_a_tube_in_patient_mm() {
        // Anisotropic voxels (0.5 × 0.5 × 2 mm), axes permuted: a ball of
        // radius 6 mm and a tube 40 mm long, 4 mm across, along k.
        let g = Geometry {
            spacing: glam::DVec3::new(0.5, 0.5, 2.0),
            origin: glam::DVec3::new(10.0, -5.0, 3.0),
            direction: glam::DMat3::from_cols(glam::DVec3::Y, glam::DVec3::X, glam::DVec3::NEG_Z),
        };
        let dims = [80, 40, 30];
        let mut m = Volume::from_vec(dims, vec![false; 80 * 40 * 30], g).unwrap();
        for k in 0..30 {
            for j in 0..40 {
                for i in 0..80 {
                    let ball =
                        glam::DVec3::new((i as f64 - 20.0) * 0.5, (j as f64 - 20.0) * 0.5, (k as f64 - 10.0) * 2.0);
                    let tube = glam::DVec2::new((i as f64 - 60.0) * 0.5, (j as f64 - 20.0) * 0.5);
                    let p = m.index(i, j, k);
                    m.data_mut()[p] = ball.length() <= 6.0 || (tube.length() <= 2.0 && (5..25).contains(&k));
                }
            }
        }
        let c = label(&m, Connectivity::TwentySix);
        assert_eq!(c.count(), 2);
        let shapes = c.shapes();
        // The ball (905 mm³) is larger than the tube (503 mm³).
        let (b, t) = if c.size(1) > c.size(2) { (1, 2) } else { (2, 1) };
        let (ball, tube) = (&shapes[b], &shapes[t]);
        assert!(ball.elongation() < 1.3, "ball {}", ball.elongation());
        assert!(tube.elongation() > 4.0, "tube {}", tube.elongation());
        // The ball's centre is voxel (20, 20, 10) in patient mm; its variance
        // along each axis is r²/5 = 7.2 mm² (within the grid's steps).
        let centre = g.voxel_to_world(glam::DVec3::new(20.0, 20.0, 10.0));
        assert!(ball.centre_mm.distance(centre) < 0.05, "{} vs {centre}", ball.centre_mm);
        for axis in 0..3 {
            let v = ball.covariance_mm2.col(axis)[axis];
            assert!((v - 7.2).abs() < 0.8, "axis {axis}: {v}");
        }
        // The tube runs along patient −z (voxel k): its largest variance is there.
        assert!(tube.covariance_mm2.z_axis.z > 10.0 * tube.covariance_mm2.x_axis.x);
    }

    #[test]
    fn eigen_extremes_match_a_rotated_diagonal() {
        let r = glam::DMat3::from_euler(glam::EulerRot::XYZ, 0.3, -0.7, 1.1);
        let m = r * glam::DMat3::from_diagonal(glam::DVec3::new(2.0, 9.0, 5.0)) * r.transpose();
        let (lo, hi) = symmetric_eigen_extremes(m);
        assert!((lo - 2.0).abs() < 1e-9 && (hi - 9.0).abs() < 1e-9, "{lo} {hi}");
    }
}
