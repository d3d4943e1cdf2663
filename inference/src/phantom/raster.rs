//! Paints the anatomy onto the voxel grid, one axial slice per task (rayon).
//!
//! Per slice: the analytic thorax (skin, fat, muscle, lungs, abdomen) is
//! evaluated at every voxel, then the primitives whose bounds reach the slice
//! are painted in tissue order. Each tissue's coverage (partial volume from
//! the signed distance over a one-voxel ramp, scaled for sub-voxel vessels so
//! that their integrated cross-section is right) is accumulated as a maximum
//! and composited over what lies below. Labels use the exact voxel-centre
//! test plus, for vessels, the digital centreline, which takes precedence.
//! Scratch buffers are per thread; nothing is allocated per voxel.

use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::Geometry;
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

use super::anatomy::Anatomy;
use super::body::Lattice;
use super::intensity::Intensities;
use super::rng::{Rng, gauss_from_bits, mix64};
use super::shapes::Shape;
use super::structure::Structure;
use super::{AIRWAY, HEART};

/// Output of [`rasterise`]: clean image, labels, lung mask.
pub struct Raster {
    /// HU before blur, i fastest.
    pub value: Vec<f32>,
    /// Label per voxel.
    pub labels: Vec<u8>,
    /// [`Structure`] per voxel: the structure whose surface contains the
    /// voxel centre; where a class label was set, the structure that set it.
    pub anatomy: Vec<u8>,
    /// 1 for pure lung parenchyma: inside a lung, more than a voxel (the
    /// partial-volume ramp) from its wall and from every other structure.
    pub lungs: Vec<u8>,
}

/// Precedence where labels meet (higher wins).
#[inline]
fn rank(label: u8) -> u8 {
    match label {
        AORTA => 5,
        ARTERY => 4,
        VEIN => 3,
        AIRWAY => 2,
        HEART => 1,
        _ => 0,
    }
}

/// Ramp-width-relative cross-section correction for a tube of radius `r`
/// under a linear partial-volume ramp of width `w`: 1 for `r ≥ w`, falling
/// toward 0 so that thin vessels keep their true integrated area.
#[inline]
fn thin_factor(r: f64, w: f64) -> f64 {
    if r >= w {
        return 1.0;
    }
    let raw = |r: f64| {
        if r < 0.5 * w {
            let a = r + 0.5 * w;
            3.0 * w * r * r / (a * a * a)
        } else {
            r * r / (r * r + w * w / 12.0)
        }
    };
    raw(r) / raw(w)
}

/// Voxels of the digital (26-connected) line from `a` to `b`, continuous voxel
/// coordinates, each rounded: consecutive voxels differ by at most one step
/// on every axis, and the end voxels are the ones containing `a` and `b`.
pub fn digital_line(a: DVec3, b: DVec3, mut visit: impl FnMut([i64; 3])) {
    let ra = (a + DVec3::splat(0.5)).floor();
    let rb = (b + DVec3::splat(0.5)).floor();
    let n = (rb - ra).abs().max_element() as i64;
    if n == 0 {
        visit([ra.x as i64, ra.y as i64, ra.z as i64]);
        return;
    }
    for t in 0..=n {
        let p = ra + (rb - ra) * (t as f64 / n as f64);
        let q = (p + DVec3::splat(0.5)).floor();
        visit([q.x as i64, q.y as i64, q.z as i64]);
    }
}

/// Per-thread scratch.
struct Scratch {
    cov: Vec<f32>,
    tier: Vec<u8>,
    covered: Vec<bool>,
}

/// Paints `anatomy` on the grid.
pub fn rasterise(anatomy: &Anatomy, ints: &Intensities, geometry: &Geometry, dims: [usize; 3], seed: u64) -> Raster {
    let [nx, ny, nz] = dims;
    let sp = geometry.spacing;
    let o = geometry.origin;
    let w = (sp.x * sp.y * sp.z).cbrt();
    let margin = w;

    // Bin primitives by slice (ascending index keeps the painting order).
    let mut bins: Vec<Vec<u32>> = vec![Vec::new(); nz];
    for (idx, p) in anatomy.prims.iter().enumerate() {
        let (lo, hi) = p.shape.bounds();
        let k0 = ((lo.z - margin - o.z) / sp.z).ceil().max(0.0);
        let k1 = ((hi.z + margin - o.z) / sp.z).floor().min(nz as f64 - 1.0);
        if k1 < k0 {
            continue;
        }
        for bin in &mut bins[k0 as usize..=k1 as usize] {
            bin.push(idx as u32);
        }
    }
    // Digital centrelines of vessels, bucketed by slice.
    let mut lines: Vec<Vec<(u16, u16, u8, u8)>> = vec![Vec::new(); nz];
    for p in anatomy.prims.iter().filter(|p| p.centreline) {
        if let Shape::Tube { a, b, .. } = p.shape {
            let va = geometry.world_to_voxel(a);
            let vb = geometry.world_to_voxel(b);
            digital_line(va, vb, |[i, j, k]| {
                if i >= 0 && j >= 0 && k >= 0 && (i as usize) < nx && (j as usize) < ny && (k as usize) < nz {
                    lines[k as usize].push((i as u16, j as u16, p.label, p.structure as u8));
                }
            });
        }
    }
    // Lung texture lattices in the body frame.
    let lo = DVec3::new(-200.0, -200.0, -320.0);
    let hi = DVec3::new(200.0, 220.0, 200.0);
    let mut trng = Rng::new(seed ^ 0x7E47);
    let coarse = Lattice::new(lo, hi, 14.0, &mut trng);
    let fine = Lattice::new(lo, hi, 5.0, &mut trng);
    let body = &anatomy.body;
    let (cy, _, cb) = body.cavity;

    let mut value = vec![0f32; nx * ny * nz];
    let mut labels = vec![0u8; nx * ny * nz];
    let mut lungs = vec![0u8; nx * ny * nz];
    let mut anatomy_map = vec![0u8; nx * ny * nz];
    let plane = nx * ny;
    value
        .par_chunks_mut(plane)
        .zip(labels.par_chunks_mut(plane))
        .zip(lungs.par_chunks_mut(plane))
        .zip(anatomy_map.par_chunks_mut(plane))
        .enumerate()
        .for_each_init(
            || Scratch { cov: vec![0.0; plane], tier: vec![0; plane], covered: vec![false; plane] },
            |sc, (k, (((val, lab), lung), anat))| {
                let z = o.z + k as f64 * sp.z;
                sc.tier.fill(0);
                sc.covered.fill(false);
                // --- Analytic thorax.
                let cov = |d: f64| (0.5 - d / w).clamp(0.0, 1.0) as f32;
                for j in 0..ny {
                    let y = o.y + j as f64 * sp.y;
                    for i in 0..nx {
                        let x = o.x + i as f64 * sp.x;
                        let b = body.to_body(DVec3::new(x, y, z));
                        let idx = i + nx * j;
                        let p = DVec3::new(x, y, z);
                        // Deep inside the cavity the lung or abdomen covers
                        // everything: skip the wall.
                        let d_cav = body.cavity_distance(b);
                        let (mut v, mut part, d_out) = if d_cav < -w {
                            (ints.muscle, Structure::Outside, -1.0)
                        } else {
                            body.wall.shade(b, p, ints, w, &fine)
                        };
                        if d_out < w && d_cav < w {
                            let above = body.above_diaphragm(b);
                            let d_abd = d_cav.max(above);
                            let c_abd = cov(d_abd);
                            if c_abd > 0.0 {
                                let (t, organ) = body.organs.shade(body, b, ints, w, &coarse);
                                if d_abd < 0.0 {
                                    part = organ;
                                }
                                v += c_abd * (t - v);
                            }
                            let d_lung = d_cav.max(-above);
                            let c_lung = cov(d_lung);
                            if c_lung > 0.0 {
                                let tex = 0.65 * coarse.eval(b) + 0.35 * fine.eval(b);
                                let u = (((b.y - cy) / cb + 0.2) / 1.2).clamp(0.0, 1.0) as f32;
                                let dep = ints.lung_dependent * u * u;
                                let t = ints.lung + ints.lung_texture * tex + dep;
                                let sh = anatomy.parenchyma.shade(b, t, d_cav, above, w);
                                v += c_lung * (sh.hu - v);
                                if d_lung < -w && sh.pure {
                                    lung[idx] = 1;
                                }
                                if d_lung < 0.0 {
                                    part = sh.structure.unwrap_or(if b.x < 0.0 {
                                        Structure::LungRight
                                    } else {
                                        Structure::LungLeft
                                    });
                                }
                            }
                        }
                        val[idx] = v;
                        anat[idx] = part as u8;
                    }
                }
                // --- Primitives, one tissue at a time.
                let list = &bins[k];
                let mut n = 0;
                while n < list.len() {
                    let tissue = anatomy.prims[list[n] as usize].tissue;
                    let hu = ints.of(tissue);
                    let mut rect = [usize::MAX, 0, usize::MAX, 0];
                    while n < list.len() && anatomy.prims[list[n] as usize].tissue == tissue {
                        let p = &anatomy.prims[list[n] as usize];
                        n += 1;
                        let Some([x0, x1, y0, y1]) = p.shape.xy_bounds_at(z, margin) else {
                            continue;
                        };
                        let i0 = ((x0 - o.x) / sp.x).ceil().max(0.0) as usize;
                        let i1 = ((x1 - o.x) / sp.x).floor().min(nx as f64 - 1.0);
                        let j0 = ((y0 - o.y) / sp.y).ceil().max(0.0) as usize;
                        let j1 = ((y1 - o.y) / sp.y).floor().min(ny as f64 - 1.0);
                        if i1 < 0.0 || j1 < 0.0 || i0 as f64 > i1 || j0 as f64 > j1 {
                            continue;
                        }
                        let (i1, j1) = (i1 as usize, j1 as usize);
                        rect = [rect[0].min(i0), rect[1].max(i1), rect[2].min(j0), rect[3].max(j1)];
                        let r_lab = rank(p.label);
                        for j in j0..=j1 {
                            let y = o.y + j as f64 * sp.y;
                            for i in i0..=i1 {
                                let pt = DVec3::new(o.x + i as f64 * sp.x, y, z);
                                let (d, r) = p.shape.distance(pt);
                                if d >= w {
                                    continue;
                                }
                                let idx = i + nx * j;
                                // Within a voxel of a surface: not pure parenchyma.
                                sc.covered[idx] = true;
                                if d >= 0.5 * w {
                                    continue;
                                }
                                let c = ((0.5 - d / w).min(1.0) * thin_factor(r, w)) as f32;
                                if c > sc.cov[idx] {
                                    sc.cov[idx] = c;
                                }
                                if d < 0.0 {
                                    // Equal rank: the later prim names the structure (a
                                    // heart chamber's blood over its wall).
                                    if r_lab > 0 && (sc.tier[idx] == 0 || rank(lab[idx]) <= r_lab) {
                                        lab[idx] = p.label;
                                        anat[idx] = p.structure as u8;
                                        sc.tier[idx] = 1;
                                    } else if sc.tier[idx] == 0 {
                                        anat[idx] = p.structure as u8;
                                    }
                                }
                            }
                        }
                    }
                    if rect[0] != usize::MAX {
                        for j in rect[2]..=rect[3] {
                            for i in rect[0]..=rect[1] {
                                let idx = i + nx * j;
                                let c = sc.cov[idx];
                                if c > 0.0 {
                                    val[idx] += c * (hu - val[idx]);
                                    sc.cov[idx] = 0.0;
                                }
                            }
                        }
                    }
                }
                // --- Digital centrelines win over surface tests.
                for &(i, j, l, st) in &lines[k] {
                    let idx = i as usize + nx * j as usize;
                    if sc.tier[idx] < 2 || rank(lab[idx]) < rank(l) {
                        lab[idx] = l;
                        anat[idx] = st;
                        sc.tier[idx] = 2;
                    }
                    sc.covered[idx] = true;
                }
                for (m, &c) in lung.iter_mut().zip(&sc.covered) {
                    if c {
                        *m = 0;
                    }
                }
            },
        );
    Raster { value, labels, anatomy: anatomy_map, lungs }
}

/// Standard-normal noise value of voxel `idx` for `seed` (stateless, so any
/// thread order gives the same image).
#[inline]
pub fn voxel_noise(seed: u64, idx: usize) -> f32 {
    gauss_from_bits(mix64(seed ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digital_line_is_26_connected_and_hits_ends() {
        let a = DVec3::new(0.2, 0.4, 0.0);
        let b = DVec3::new(7.7, -3.2, 2.4);
        let mut v = Vec::new();
        digital_line(a, b, |p| v.push(p));
        assert_eq!(v[0], [0, 0, 0]);
        assert_eq!(*v.last().unwrap(), [8, -3, 2]);
        for w in v.windows(2) {
            assert!((0..3).all(|c| (w[0][c] - w[1][c]).abs() <= 1), "{w:?}");
        }
    }

    #[test]
    fn thin_factor_preserves_area() {
        let w = 1.4;
        assert_eq!(thin_factor(2.0, w), 1.0);
        // Integrated coverage of a sub-voxel tube's cross-section ≈ π r² (within
        // the 8 % the ramp keeps at r = w).
        for r in [0.1, 0.3, 0.5, 0.7] {
            let mut area = 0.0;
            let h = 0.005;
            let mut rho = h / 2.0;
            while rho < r + w {
                let c = (0.5 - (rho - r) / w).clamp(0.0, 1.0) * thin_factor(r, w);
                area += 2.0 * std::f64::consts::PI * rho * c * h;
                rho += h;
            }
            let want = std::f64::consts::PI * r * r;
            assert!((area / want - 1.0).abs() < 0.1, "r {r}: {area} vs {want}");
        }
        let mut prev = 0.0;
        for i in 1..=100 {
            let f = thin_factor(i as f64 * w / 100.0, w);
            assert!(f >= prev);
            prev = f;
        }
        assert!((prev - 1.0).abs() < 1e-12);
    }
}
