//! Exact Euclidean distance transform in millimetres.
//!
//! Surface distances (HD95) and any "how far from the mask" question need
//! the distance of every voxel to the nearest voxel of a mask, with the
//! scan's anisotropic spacing.
//!
//! # Algorithm
//!
//! Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions"
//! (Theory of Computing 8, 2012): the squared Euclidean distance is
//! separable, `D²(i,j,k) = min over (i',j',k') of (sᵢΔi)² + (sⱼΔj)² + (sₖΔk)²`,
//! so it is three 1-D passes, each the lower envelope of parabolas
//! `(s·(p − q))² + f(q)` rooted at the samples, built and read in linear
//! time. The passes run in the order k, i, j:
//!
//! 1. along k, reading the mask, for one plane of constant j at a time, into
//!    a scratch volume laid out `[j][k][i]` (each task owns a whole plane);
//! 2. the planes are copied row by row into the output laid out like the
//!    volume (`[k][j][i]`, i fastest);
//! 3. along i and then j inside each axial slice.
//!
//! Every step is parallel with rayon over planes or slices that no other task
//! touches, and the only allocations are the two volume buffers and a few
//! line-sized scratch arrays per task. Voxels with no mask voxel anywhere
//! (an empty mask) get `f32::INFINITY`. The envelope is computed in `f64`;
//! the buffers hold `f32`.

use rayon::prelude::*;

use crate::volume::Volume;

/// Distance (mm) from the centre of every voxel to the centre of the nearest
/// `true` voxel of `mask` (0 on the mask), using the mask's spacing;
/// `f32::INFINITY` everywhere when the mask is empty.
pub fn distance_to_mask_mm(mask: &Volume<bool>) -> Volume<f32> {
    distance_where_mm(mask, |&b| b)
}

/// [`distance_to_mask_mm`] of the voxels of any volume for which `inside`
/// is true (e.g. `|&l| l == 1` on a label map), without building a mask.
pub fn distance_where_mm<T, F>(volume: &Volume<T>, inside: F) -> Volume<f32>
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    let mut d = squared_distance_where_mm2(volume, inside);
    d.data_mut().par_chunks_mut(1 << 16).for_each(|c| c.iter_mut().for_each(|v| *v = v.sqrt()));
    d
}

/// Squared distance (mm²) from every voxel to the nearest voxel for which
/// `inside` is true; `f32::INFINITY` everywhere when there is none. Cheaper
/// than [`distance_where_mm`] when only comparisons are needed.
pub fn squared_distance_where_mm2<T, F>(volume: &Volume<T>, inside: F) -> Volume<f32>
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    let [nx, ny, nz] = volume.dims();
    let geometry = volume.geometry;
    if volume.is_empty() {
        return Volume::from_vec([nx, ny, nz], Vec::new(), geometry).expect("empty volume");
    }
    let [sx, sy, sz] = geometry.spacing.to_array();
    let src = volume.data();
    let longest = nx.max(ny).max(nz);

    // 1. Along k, one plane of constant j per task, into `planes` laid out [j][k][i].
    let mut planes = vec![0f32; nx * ny * nz];
    planes.par_chunks_mut(nx * nz).enumerate().for_each_init(
        || Scratch::new(longest),
        |scratch, (j, plane)| {
            for (k, row) in plane.chunks_exact_mut(nx).enumerate() {
                let s = nx * (j + ny * k);
                for (d, v) in row.iter_mut().zip(&src[s..s + nx]) {
                    *d = if inside(v) { 0.0 } else { f32::INFINITY };
                }
            }
            for i in 0..nx {
                scratch.line(plane, i, nx, nz, sz);
            }
        },
    );

    // 2. Back to the volume's layout: row (j, k) of the output is row k of plane j.
    let mut out = vec![0f32; nx * ny * nz];
    out.par_chunks_mut(nx * ny).enumerate().for_each(|(k, slice)| {
        for (j, row) in slice.chunks_exact_mut(nx).enumerate() {
            let s = nx * (k + nz * j);
            row.copy_from_slice(&planes[s..s + nx]);
        }
    });
    drop(planes);

    // 3. Along i, then j, inside each axial slice.
    out.par_chunks_mut(nx * ny).for_each_init(
        || Scratch::new(longest),
        |scratch, slice| {
            for j in 0..ny {
                scratch.line(slice, nx * j, 1, nx, sx);
            }
            for i in 0..nx {
                scratch.line(slice, i, nx, ny, sy);
            }
        },
    );
    Volume::from_vec([nx, ny, nz], out, geometry).expect("dims match")
}

/// Line-sized work arrays of the 1-D transform, reused across lines.
struct Scratch {
    /// Input samples (squared distances so far; infinite = no site).
    f: Vec<f64>,
    /// Output samples.
    d: Vec<f64>,
    /// Sample index of the parabola of each envelope segment.
    v: Vec<usize>,
    /// Boundaries between envelope segments (mm); one more than `v`.
    z: Vec<f64>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch { f: vec![0.0; n], d: vec![0.0; n], v: vec![0; n], z: vec![0.0; n + 1] }
    }

    /// Transforms in place the `n` values `data[start + stride·p]` (spacing `s` mm).
    #[inline]
    fn line(&mut self, data: &mut [f32], start: usize, stride: usize, n: usize, s: f64) {
        for (p, f) in self.f[..n].iter_mut().enumerate() {
            *f = data[start + stride * p] as f64;
        }
        self.envelope(n, s);
        for (p, d) in self.d[..n].iter().enumerate() {
            data[start + stride * p] = *d as f32;
        }
    }

    /// `d[p] = min over q of (s·(p − q))² + f[q]` for `p, q < n`: the lower
    /// envelope of the parabolas rooted at the finite samples (infinite
    /// samples are no parabola; all infinite gives all infinite).
    #[inline]
    fn envelope(&mut self, n: usize, s: f64) {
        let (f, d, v, z) = (&self.f[..n], &mut self.d[..n], &mut self.v, &mut self.z);
        let Some(first) = f.iter().position(|x| x.is_finite()) else {
            d.fill(f64::INFINITY);
            return;
        };
        let mut k = 0usize;
        v[0] = first;
        z[0] = f64::NEG_INFINITY;
        z[1] = f64::INFINITY;
        for q in first + 1..n {
            let fq = f[q];
            if !fq.is_finite() {
                continue;
            }
            let xq = q as f64 * s;
            let hq = fq + xq * xq;
            let mut sep;
            loop {
                let p = v[k];
                let xp = p as f64 * s;
                // Where the parabolas of p and q cross (q > p, so xq > xp).
                sep = (hq - (f[p] + xp * xp)) / (2.0 * (xq - xp));
                // z[0] is −∞, so this stops at k = 0.
                if sep <= z[k] {
                    k -= 1;
                } else {
                    break;
                }
            }
            k += 1;
            v[k] = q;
            z[k] = sep;
            z[k + 1] = f64::INFINITY;
        }
        let mut k = 0usize;
        for (p, out) in d.iter_mut().enumerate() {
            let x = p as f64 * s;
            while z[k + 1] < x {
                k += 1;
            }
            let dx = x - v[k] as f64 * s;
            *out = dx * dx + f[v[k]];
        }
    }
}

#[cfg(test)]
mod tests {
    use glam::DVec3;
    use proptest::prelude::*;

    use super::*;
    use crate::geometry::Geometry;

    fn brute_force(mask: &Volume<bool>) -> Vec<f64> {
        let s = mask.geometry.spacing;
        let sites: Vec<DVec3> = (0..mask.len())
            .filter(|&n| mask.data()[n])
            .map(|n| {
                let [i, j, k] = mask.coords(n);
                DVec3::new(i as f64, j as f64, k as f64) * s
            })
            .collect();
        (0..mask.len())
            .map(|n| {
                let [i, j, k] = mask.coords(n);
                let x = DVec3::new(i as f64, j as f64, k as f64) * s;
                sites.iter().map(|y| x.distance(*y)).fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn matches_brute_force_with_anisotropic_spacing(
            nx in 1usize..9, ny in 1usize..9, nz in 1usize..9,
            density in 0.0f64..0.3,
            seed in any::<u64>(),
            sx in 0.3f64..3.0, sy in 0.3f64..3.0, sz in 0.3f64..3.0,
        ) {
            let n = nx * ny * nz;
            let mut state = seed | 1;
            let data: Vec<bool> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64 <= density
                })
                .collect();
            let geometry = Geometry::axis_aligned(DVec3::new(sx, sy, sz), DVec3::ZERO);
            let mask = Volume::from_vec([nx, ny, nz], data, geometry).unwrap();
            let fast = distance_to_mask_mm(&mask);
            let slow = brute_force(&mask);
            for (idx, (&a, &b)) in fast.data().iter().zip(&slow).enumerate() {
                if b.is_infinite() {
                    prop_assert!(a.is_infinite(), "voxel {:?}: {} vs {}", mask.coords(idx), a, b);
                } else {
                    prop_assert!((a as f64 - b).abs() <= 1e-4 * (1.0 + b), "voxel {:?}: {} vs {}", mask.coords(idx), a, b);
                }
            }
        }
    }

    #[test]
    fn single_voxel_gives_scaled_distances() {
        let g = Geometry::axis_aligned(DVec3::new(0.5, 2.0, 3.0), DVec3::ZERO);
        let mut m = Volume::filled([5, 4, 3], false, g);
        let c = m.index(2, 1, 1);
        m.data_mut()[c] = true;
        let d = distance_to_mask_mm(&m);
        assert_eq!(d.data()[c], 0.0);
        assert!((d.data()[d.index(4, 1, 1)] - 1.0).abs() < 1e-6);
        assert!((d.data()[d.index(2, 3, 1)] - 4.0).abs() < 1e-6);
        let far = d.data()[d.index(0, 3, 0)] as f64;
        assert!((far - (1.0f64 + 16.0 + 9.0).sqrt()).abs() < 1e-5);
        let sq = squared_distance_where_mm2(&m, |&b| b);
        assert!((sq.data()[sq.index(0, 3, 0)] - 26.0).abs() < 1e-4);
    }

    #[test]
    fn empty_mask_is_infinitely_far() {
        let m = Volume::filled([3, 2, 4], false, Geometry::default());
        assert!(distance_to_mask_mm(&m).data().iter().all(|d| d.is_infinite()));
        let empty = Volume::from_vec([0, 3, 3], Vec::<bool>::new(), Geometry::default()).unwrap();
        assert!(distance_to_mask_mm(&empty).is_empty());
    }
}
