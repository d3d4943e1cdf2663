//! Surface meshes of label classes for the 3D view: surface nets (one vertex
//! per boundary cell, one quad per boundary voxel face) smoothed with
//! Taubin's λ|μ filter (smooths the voxel staircase without shrinking),
//! in patient millimetres (LPS).
//!
//! The volume is swept one cell layer at a time with two layers of vertex
//! indices, so memory follows the surface, not the volume: a class in a
//! 512×512×800 scan costs a few MB of index layers plus its mesh.

use std::sync::atomic::{AtomicBool, Ordering};

use glam::{DVec3, Vec3};
use rayon::prelude::*;

use crate::labels::LabelMap;

/// A triangle mesh in patient millimetres.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions (LPS mm).
    pub positions: Vec<[f32; 3]>,
    /// Unit vertex normals pointing out of the labelled region.
    pub normals: Vec<[f32; 3]>,
    /// Triangles, three indices each, counter-clockwise seen from outside.
    pub indices: Vec<u32>,
}

/// How a class surface is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceOptions {
    /// Taubin smoothing iterations (each one a λ and a μ pass); 0: none.
    pub smoothing_iterations: usize,
    /// Sample every `step`-th voxel along each axis (1: full resolution);
    /// larger steps make big scans quick to preview.
    pub step: usize,
}

impl Default for SurfaceOptions {
    fn default() -> Self {
        SurfaceOptions { smoothing_iterations: 10, step: 1 }
    }
}

impl SurfaceOptions {
    /// Full resolution up to ~40 M voxels, then a step that keeps the
    /// sampled grid around that size (the preview of a 512×512×800 scan
    /// samples every second voxel).
    pub fn for_dims(dims: [usize; 3]) -> Self {
        let n = dims.iter().product::<usize>() as f64;
        let step = (n / 40e6).cbrt().ceil().max(1.0) as usize;
        SurfaceOptions { step, ..Default::default() }
    }
}

impl Mesh {
    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }

    /// True when the mesh has no triangles.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Distance along the ray `origin + t·dir` (`dir` need not be unit; `t`
    /// is in units of `dir`) to the nearest triangle hit, if any.
    ///
    /// Runs on the calling thread (a click in the viewer must not queue
    /// behind other work on the thread pool) and skips the triangles when
    /// the ray misses the mesh's bounding box.
    pub fn ray_hit(&self, origin: Vec3, dir: Vec3) -> Option<f32> {
        let (lo, hi) = self.bounds()?;
        ray_box(origin, dir, lo, hi)?;
        self.indices
            .chunks_exact(3)
            .filter_map(|t| {
                let p = |i: u32| Vec3::from(self.positions[i as usize]);
                ray_triangle(origin, dir, p(t[0]), p(t[1]), p(t[2]))
            })
            .min_by(f32::total_cmp)
    }

    /// Smallest and largest corner of the box around the vertices.
    pub fn bounds(&self) -> Option<(Vec3, Vec3)> {
        let mut it = self.positions.iter().map(|p| Vec3::from(*p));
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), p| (lo.min(p), hi.max(p))))
    }

    /// Volume enclosed by the (closed) mesh, mm³ (divergence theorem).
    pub fn enclosed_volume(&self) -> f64 {
        self.indices
            .chunks_exact(3)
            .map(|t| {
                let p = |i: u32| DVec3::from(Vec3::from(self.positions[i as usize]));
                p(t[0]).dot(p(t[1]).cross(p(t[2]))) / 6.0
            })
            .sum()
    }

    /// Surface area, mm².
    pub fn area(&self) -> f64 {
        self.indices
            .chunks_exact(3)
            .map(|t| {
                let p = |i: u32| DVec3::from(Vec3::from(self.positions[i as usize]));
                (p(t[1]) - p(t[0])).cross(p(t[2]) - p(t[0])).length() / 2.0
            })
            .sum()
    }
}

/// Slab test: whether (and where along it) the ray meets the box.
fn ray_box(o: Vec3, d: Vec3, lo: Vec3, hi: Vec3) -> Option<f32> {
    let inv = d.recip();
    let (a, b) = ((lo - o) * inv, (hi - o) * inv);
    let (near, far) = (a.min(b).max_element(), a.max(b).min_element());
    // NaN (a ray parallel to a slab, starting on its plane) counts as a hit.
    if near.is_nan() || far.is_nan() || (near <= far && far >= 0.0) { Some(near.max(0.0)) } else { None }
}

/// Möller–Trumbore: distance to the triangle along the ray, if hit in front.
fn ray_triangle(o: Vec3, d: Vec3, a: Vec3, b: Vec3, c: Vec3) -> Option<f32> {
    let (e1, e2) = (b - a, c - a);
    let p = d.cross(e2);
    let det = e1.dot(p);
    if det.abs() < 1e-12 {
        return None;
    }
    let inv = 1.0 / det;
    let s = o - a;
    let u = s.dot(p) * inv;
    if !(0.0..=1.0).contains(&u) {
        return None;
    }
    let q = s.cross(e1);
    let v = d.dot(q) * inv;
    if v < 0.0 || u + v > 1.0 {
        return None;
    }
    let t = e2.dot(q) * inv;
    (t > 0.0).then_some(t)
}

/// The surface of the voxels labelled `class`, smoothed, in patient mm.
/// Empty when the class is absent.
pub fn class_surface(labels: &LabelMap, class: u8, options: &SurfaceOptions) -> Mesh {
    class_surface_cancellable(labels, class, options, &AtomicBool::new(false)).unwrap_or_default()
}

/// [`class_surface`] that gives up (`None`) soon after `cancel` is set:
/// it is checked once per layer of cells.
pub fn class_surface_cancellable(
    labels: &LabelMap,
    class: u8,
    options: &SurfaceOptions,
    cancel: &AtomicBool,
) -> Option<Mesh> {
    let step = options.step.max(1);
    let dims = labels.dims();
    // The sampled grid. With a step, a sample is inside when any voxel of
    // its step³ block is: thin vessels stay connected instead of breaking
    // into beads.
    let g = [dims[0].div_ceil(step), dims[1].div_ceil(step), dims[2].div_ceil(step)];
    let data = labels.data();
    let inside = |i: isize, j: isize, k: isize| -> bool {
        if i < 0 || j < 0 || k < 0 || i >= g[0] as isize || j >= g[1] as isize || k >= g[2] as isize {
            return false;
        }
        let (i0, j0, k0) = (i as usize * step, j as usize * step, k as usize * step);
        (k0..(k0 + step).min(dims[2])).any(|k| {
            (j0..(j0 + step).min(dims[1]))
                .any(|j| data[dims[0] * (j + dims[1] * k)..][i0..(i0 + step).min(dims[0])].contains(&class))
        })
    };
    // Bounding box of the class on the sampled grid.
    let Some((lo, hi)) = sampled_bounds(labels, class, step) else { return Some(Mesh::default()) };

    // Cells run from lo-1 to hi on each axis (a cell's corners are the
    // samples c..c+1), so the surface closes around the box.
    let (c0, c1) = ([lo[0] - 1, lo[1] - 1, lo[2] - 1], hi);
    let (cw, ch) = ((c1[0] - c0[0] + 1) as usize, (c1[1] - c0[1] + 1) as usize);
    let cell = |ci: isize, cj: isize| (ci - c0[0]) as usize + cw * (cj - c0[1]) as usize;
    let mut prev = vec![u32::MAX; cw * ch];
    let mut cur = vec![u32::MAX; cw * ch];
    let mut positions: Vec<DVec3> = Vec::new();
    let mut quads: Vec<[u32; 4]> = Vec::new();

    // Inside/outside of the samples of one layer over the cells' window
    // (samples c0..=c1+1 along i and j), two layers at a time: each sample
    // is looked up once per layer, not once per cell corner.
    let (mw, mh) = (cw + 1, ch + 1);
    let fill_mask = |mask: &mut Vec<bool>, k: isize| {
        mask.clear();
        for j in 0..mh as isize {
            for i in 0..mw as isize {
                mask.push(inside(c0[0] + i, c0[1] + j, k));
            }
        }
    };
    let mut lo_mask = Vec::with_capacity(mw * mh);
    let mut hi_mask = Vec::with_capacity(mw * mh);
    fill_mask(&mut hi_mask, c0[2]);

    for ck in c0[2]..=c1[2] {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        // Sample layers ck (lo) and ck+1 (hi).
        std::mem::swap(&mut lo_mask, &mut hi_mask);
        fill_mask(&mut hi_mask, ck + 1);
        let at = |i: isize, j: isize| (i - c0[0]) as usize + mw * (j - c0[1]) as usize;
        // Vertices of cell layer ck.
        cur.fill(u32::MAX);
        for cj in c0[1]..=c1[1] {
            for ci in c0[0]..=c1[0] {
                let (a, b) = (at(ci, cj), at(ci, cj + 1));
                let corners = lo_mask[a] as u8
                    | (lo_mask[a + 1] as u8) << 1
                    | (lo_mask[b] as u8) << 2
                    | (lo_mask[b + 1] as u8) << 3
                    | (hi_mask[a] as u8) << 4
                    | (hi_mask[a + 1] as u8) << 5
                    | (hi_mask[b] as u8) << 6
                    | (hi_mask[b + 1] as u8) << 7;
                if corners == 0 || corners == 0xff {
                    continue;
                }
                // Mean of the crossing edges' midpoints.
                let (mut sum, mut count) = (DVec3::ZERO, 0.0);
                for (a, b) in CELL_EDGES {
                    if (corners >> a & 1) != (corners >> b & 1) {
                        sum += (corner_offset(a) + corner_offset(b)) * 0.5;
                        count += 1.0;
                    }
                }
                cur[cell(ci, cj)] = positions.len() as u32;
                positions.push(DVec3::new(ci as f64, cj as f64, ck as f64) + sum / count);
            }
        }
        // Quads around boundary edges: z-edges between sample layers ck and
        // ck+1 (cells of layer ck), x- and y-edges in sample layer ck (cells
        // of layers ck-1 and ck).
        let k = ck;
        for j in c0[1]..=c1[1] {
            for i in c0[0]..=c1[0] {
                let here = lo_mask[at(i, j)];
                // Edge along z: cells (i-1..i, j-1..j) in layer k.
                if i > c0[0] && j > c0[1] && here != hi_mask[at(i, j)] {
                    let v = [cur[cell(i - 1, j - 1)], cur[cell(i, j - 1)], cur[cell(i, j)], cur[cell(i - 1, j)]];
                    push_quad(&mut quads, v, here);
                }
                if k > c0[2] {
                    // Edge along x: cells (j-1..j, k-1..k), axes (y, z).
                    if j > c0[1] && here != lo_mask[at(i + 1, j)] {
                        // Counter-clockwise in (y, z): (j-1,k-1), (j,k-1), (j,k), (j-1,k).
                        let v = [prev[cell(i, j - 1)], prev[cell(i, j)], cur[cell(i, j)], cur[cell(i, j - 1)]];
                        push_quad(&mut quads, v, here);
                    }
                    // Edge along y: cells (k-1..k, i-1..i); counter-clockwise in (z, x).
                    if i > c0[0] && here != lo_mask[at(i, j + 1)] {
                        let v = [prev[cell(i - 1, j)], cur[cell(i - 1, j)], cur[cell(i, j)], prev[cell(i, j)]];
                        push_quad(&mut quads, v, here);
                    }
                }
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    quads.retain(|q| q.iter().all(|&v| v != u32::MAX));

    taubin_smooth(&mut positions, &quads, options.smoothing_iterations);

    // To patient mm (sample s is voxel s·step).
    let geometry = &labels.geometry;
    let world: Vec<DVec3> = positions.par_iter().map(|p| geometry.voxel_to_world(*p * step as f64)).collect();
    // A left-handed voxel-to-world map mirrors the mesh: flip the winding.
    let flip = geometry.direction.determinant() < 0.0;
    let mut indices = Vec::with_capacity(quads.len() * 6);
    for q in &quads {
        let q = if flip { [q[0], q[3], q[2], q[1]] } else { *q };
        indices.extend_from_slice(&[q[0], q[1], q[2], q[0], q[2], q[3]]);
    }
    let normals = vertex_normals(&world, &indices);
    Some(Mesh { positions: world.iter().map(|p| p.as_vec3().to_array()).collect(), normals, indices })
}

/// The 12 edges of a cell as pairs of corner numbers (bit 0: +i, 1: +j, 2: +k).
const CELL_EDGES: [(u8, u8); 12] =
    [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)];

fn corner_offset(n: u8) -> DVec3 {
    DVec3::new((n & 1) as f64, ((n >> 1) & 1) as f64, ((n >> 2) & 1) as f64)
}

/// Adds quad `v` (counter-clockwise around the edge's axis) facing along
/// the axis when the inside is at the edge's lower end, against it otherwise.
fn push_quad(quads: &mut Vec<[u32; 4]>, v: [u32; 4], inside_low: bool) {
    quads.push(if inside_low { v } else { [v[0], v[3], v[2], v[1]] });
}

/// Inclusive bounds of `class` on the sampled grid (the blocks holding any
/// of its voxels), as signed indices.
fn sampled_bounds(labels: &LabelMap, class: u8, step: usize) -> Option<([isize; 3], [isize; 3])> {
    let dims = labels.dims();
    let slice = dims[0] * dims[1];
    let per_layer: Vec<Option<([usize; 2], [usize; 2])>> = labels
        .data()
        .par_chunks(slice.max(1))
        .map(|layer| {
            let mut b: Option<([usize; 2], [usize; 2])> = None;
            for (j, row) in layer.chunks(dims[0].max(1)).enumerate() {
                let (Some(first), Some(last)) =
                    (row.iter().position(|&l| l == class), row.iter().rposition(|&l| l == class))
                else {
                    continue;
                };
                let e = b.get_or_insert(([first, j], [last, j]));
                e.0 = [e.0[0].min(first), e.0[1].min(j)];
                e.1 = [e.1[0].max(last), e.1[1].max(j)];
            }
            b
        })
        .collect();
    let mut out: Option<([usize; 3], [usize; 3])> = None;
    for (k, b) in per_layer.iter().enumerate() {
        if let Some((lo, hi)) = b {
            let e = out.get_or_insert(([lo[0], lo[1], k], [hi[0], hi[1], k]));
            e.0 = [e.0[0].min(lo[0]), e.0[1].min(lo[1]), e.0[2]];
            e.1 = [e.1[0].max(hi[0]), e.1[1].max(hi[1]), k];
        }
    }
    out.map(|(lo, hi)| (lo.map(|v| (v / step) as isize), hi.map(|v| (v / step) as isize)))
}

/// Taubin's λ|μ smoothing over the quads' edges.
fn taubin_smooth(positions: &mut [DVec3], quads: &[[u32; 4]], iterations: usize) {
    if iterations == 0 || positions.is_empty() {
        return;
    }
    // Neighbour lists (CSR), duplicates removed.
    let n = positions.len();
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(quads.len() * 8);
    for q in quads {
        for e in 0..4 {
            let (a, b) = (q[e], q[(e + 1) % 4]);
            pairs.push((a, b));
            pairs.push((b, a));
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    let mut start = vec![0usize; n + 1];
    for &(a, _) in &pairs {
        start[a as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let neighbours: Vec<u32> = pairs.iter().map(|&(_, b)| b).collect();
    let mut next = positions.to_vec();
    for _ in 0..iterations {
        for factor in [0.5, -0.53] {
            next.par_iter_mut().enumerate().for_each(|(v, out)| {
                let nb = &neighbours[start[v]..start[v + 1]];
                let p = positions[v];
                *out = if nb.is_empty() {
                    p
                } else {
                    let mean = nb.iter().map(|&u| positions[u as usize]).sum::<DVec3>() / nb.len() as f64;
                    p + (mean - p) * factor
                };
            });
            positions.copy_from_slice(&next);
        }
    }
}

/// Area-weighted vertex normals.
fn vertex_normals(positions: &[DVec3], indices: &[u32]) -> Vec<[f32; 3]> {
    let mut acc = vec![DVec3::ZERO; positions.len()];
    for t in indices.chunks_exact(3) {
        let (a, b, c) = (positions[t[0] as usize], positions[t[1] as usize], positions[t[2] as usize]);
        let n = (b - a).cross(c - a);
        for &i in t {
            acc[i as usize] += n;
        }
    }
    acc.iter().map(|n| n.normalize_or_zero().as_vec3().to_array()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Geometry, Volume};
    use std::collections::HashMap;

    /// A ball of radius `r` mm on a grid with `spacing`.
    fn ball(r: f64, spacing: DVec3, dims: [usize; 3]) -> (LabelMap, DVec3) {
        let g = Geometry::axis_aligned(spacing, DVec3::new(-10.0, 5.0, 20.0));
        let mut l = Volume::filled(dims, 0u8, g);
        let c = g.voxel_to_world(DVec3::new(dims[0] as f64, dims[1] as f64, dims[2] as f64) / 2.0);
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    if (l.voxel_to_world([i, j, k]) - c).length() <= r {
                        let at = l.index(i, j, k);
                        l.data_mut()[at] = 2;
                    }
                }
            }
        }
        (l, c)
    }

    #[test]
    fn a_ball_gives_a_closed_outward_surface_of_the_right_size() {
        let r = 12.0;
        let (l, c) = ball(r, DVec3::new(0.8, 0.8, 1.5), [40, 40, 24]);
        let m = class_surface(&l, 2, &SurfaceOptions::default());
        assert!(m.triangle_count() > 500);
        // Closed and consistently wound: every directed edge appears once,
        // and its reverse once.
        let mut edges: HashMap<(u32, u32), i32> = HashMap::new();
        for t in m.indices.chunks_exact(3) {
            for e in 0..3 {
                *edges.entry((t[e], t[(e + 1) % 3])).or_default() += 1;
            }
        }
        for (&(a, b), &n) in &edges {
            assert_eq!(n, 1, "edge {a}-{b} used {n} times in one direction");
            assert_eq!(edges.get(&(b, a)), Some(&1), "edge {a}-{b} has no twin");
        }
        // Volume and area close to the ball's; outward (positive volume).
        let v = m.enclosed_volume();
        let v_true = 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
        assert!((v / v_true - 1.0).abs() < 0.08, "volume {v} vs {v_true}");
        let a_true = 4.0 * std::f64::consts::PI * r * r;
        assert!((m.area() / a_true - 1.0).abs() < 0.10, "area {} vs {a_true}", m.area());
        // Vertices lie near the sphere, normals point away from the centre.
        for (p, n) in m.positions.iter().zip(&m.normals) {
            let d = DVec3::from(Vec3::from(*p)) - c;
            assert!((d.length() - r).abs() < 1.6, "vertex at {} mm from the centre", d.length());
            assert!(d.normalize().dot(DVec3::from(Vec3::from(*n))) > 0.5);
        }
        // A ray from outside hits the near side of the ball.
        let origin = (c - DVec3::new(0.0, 40.0, 0.0)).as_vec3();
        let t = m.ray_hit(origin, Vec3::Y).unwrap();
        assert!((t - (40.0 - r as f32)).abs() < 1.5, "{t}");
        assert!(m.ray_hit(origin, -Vec3::Y).is_none());
    }

    #[test]
    fn mirrored_geometry_keeps_outward_winding_and_absent_classes_are_empty() {
        let (mut l, _) = ball(8.0, DVec3::splat(1.0), [24, 24, 24]);
        l.geometry.direction = glam::DMat3::from_diagonal(DVec3::new(-1.0, 1.0, 1.0));
        let m = class_surface(&l, 2, &SurfaceOptions::default());
        assert!(m.enclosed_volume() > 0.0);
        assert!(class_surface(&l, 1, &SurfaceOptions::default()).is_empty());
    }

    #[test]
    fn a_thin_vessel_stays_one_piece_at_a_coarse_step_and_building_can_be_cancelled() {
        // A straight tube one voxel wide along z at odd (i, j): sampling one
        // voxel per 2×2×2 block would miss it entirely.
        let g = Geometry::axis_aligned(DVec3::splat(0.7), DVec3::ZERO);
        let mut l = Volume::filled([20, 20, 30], 0u8, g);
        for k in 2..28 {
            let at = l.index(9, 11, k);
            l.data_mut()[at] = 1;
        }
        let m = class_surface(&l, 1, &SurfaceOptions { step: 2, smoothing_iterations: 0 });
        assert!(!m.is_empty());
        let (lo, hi) = m.bounds().unwrap();
        assert!(hi.z - lo.z > 0.7 * 24.0, "the tube keeps its length: {lo} … {hi}");
        // Cancelled: no mesh.
        let cancel = AtomicBool::new(true);
        assert!(class_surface_cancellable(&l, 1, &SurfaceOptions::default(), &cancel).is_none());
    }

    #[test]
    fn a_coarser_step_keeps_the_shape() {
        let r = 12.0;
        let (l, _) = ball(r, DVec3::splat(0.7), [48, 48, 48]);
        let fine = class_surface(&l, 2, &SurfaceOptions::default());
        let coarse = class_surface(&l, 2, &SurfaceOptions { step: 2, ..Default::default() });
        assert!(coarse.triangle_count() * 3 < fine.triangle_count());
        // Blocks touching the ball count as inside: a little larger, never smaller.
        let ratio = coarse.enclosed_volume() / fine.enclosed_volume();
        assert!((0.95..1.35).contains(&ratio), "{ratio}");
        assert_eq!(SurfaceOptions::for_dims([512, 512, 800]).step, 2);
        assert_eq!(SurfaceOptions::for_dims([200, 200, 200]).step, 1);
    }
}
