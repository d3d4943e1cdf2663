//! Measurements of a phantom (or any labelled CT): volumes per class, HU
//! statistics per class, and the mean distance of one class to another via
//! an exact Euclidean distance transform. Used by `vasa phantom` to report
//! what it made and by the phantom tests.

use std::fmt;

use rayon::prelude::*;
use vasa_scan::labels::{AORTA, ARTERY, VEIN, class_counts};
use vasa_scan::{LabelMap, Volume};

use super::{AIRWAY, HEART, Phantom};

/// Volume of each class id in millilitres (index = id).
pub fn class_volumes_ml(labels: &LabelMap) -> Vec<f64> {
    let v = labels.voxel_volume_ml();
    class_counts(labels).iter().map(|&c| c as f64 * v).collect()
}

/// Mean, standard deviation and count of the CT values under `class`. With
/// `interior`, only voxels whose neighbours up to two voxels away along each
/// axis have the same class (away from partial volume and blur at the edges,
/// which also leaves out vessels thinner than five voxels).
pub fn hu_stats(ct: &Volume<i16>, labels: &LabelMap, class: u8, interior: bool) -> (f64, f64, usize) {
    let [nx, ny, nz] = labels.dims();
    let l = labels.data();
    let c = ct.data();
    let (s, s2, n) = (0..nz)
        .into_par_iter()
        .map(|k| {
            let (mut s, mut s2, mut n) = (0f64, 0f64, 0usize);
            for j in 0..ny {
                for i in 0..nx {
                    let idx = i + nx * (j + ny * k);
                    if l[idx] != class {
                        continue;
                    }
                    if interior {
                        if i < 2 || j < 2 || k < 2 || i + 2 >= nx || j + 2 >= ny || k + 2 >= nz {
                            continue;
                        }
                        let (p, q) = (nx, nx * ny);
                        let nb = [
                            idx - 1,
                            idx + 1,
                            idx - 2,
                            idx + 2,
                            idx - p,
                            idx + p,
                            idx - 2 * p,
                            idx + 2 * p,
                            idx - q,
                            idx + q,
                            idx - 2 * q,
                            idx + 2 * q,
                        ];
                        if nb.iter().any(|&q| l[q] != class) {
                            continue;
                        }
                    }
                    let v = c[idx] as f64;
                    s += v;
                    s2 += v * v;
                    n += 1;
                }
            }
            (s, s2, n)
        })
        .reduce(|| (0.0, 0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let mean = s / n as f64;
    (mean, (s2 / n as f64 - mean * mean).max(0.0).sqrt(), n)
}

/// 1-D squared distance transform (Felzenszwalb & Huttenlocher) of `f` on
/// points `step` mm apart, into `out`; `v`, `zb` are scratch.
fn edt_1d(f: &[f32], step: f32, out: &mut [f32], v: &mut [usize], zb: &mut [f32]) {
    let n = f.len();
    let mut k = 0usize;
    v[0] = 0;
    zb[0] = f32::NEG_INFINITY;
    zb[1] = f32::INFINITY;
    let pos = |q: usize| q as f32 * step;
    for q in 1..n {
        if f[q] == f32::INFINITY {
            continue;
        }
        if f[v[k]] == f32::INFINITY {
            v[k] = q;
            continue;
        }
        loop {
            let p = v[k];
            let s = ((f[q] + pos(q) * pos(q)) - (f[p] + pos(p) * pos(p))) / (2.0 * (pos(q) - pos(p)));
            if s <= zb[k] && k > 0 {
                k -= 1;
                continue;
            }
            k += 1;
            v[k] = q;
            zb[k] = s;
            zb[k + 1] = f32::INFINITY;
            break;
        }
    }
    if f[v[0]] == f32::INFINITY {
        out.fill(f32::INFINITY);
        return;
    }
    k = 0;
    for (q, o) in out.iter_mut().enumerate() {
        while zb[k + 1] < pos(q) {
            k += 1;
        }
        let d = pos(q) - pos(v[k]);
        *o = d * d + f[v[k]];
    }
}

/// Euclidean distance (mm) from every voxel to the nearest voxel of `class`
/// (0 on the class; infinity everywhere when the class is absent).
pub fn distance_to_class(labels: &LabelMap, class: u8) -> Volume<f32> {
    let [nx, ny, nz] = labels.dims();
    let sp = labels.geometry.spacing;
    let mut d: Vec<f32> = labels.data().par_iter().map(|&l| if l == class { 0.0 } else { f32::INFINITY }).collect();
    let m = nx.max(ny).max(nz);
    let scratch = || (vec![0f32; m], vec![0f32; m], vec![0usize; m], vec![0f32; m + 1]);
    // Along i and j, per slice.
    d.par_chunks_mut(nx * ny).for_each_init(scratch, |(a, b, v, z), s| {
        for row in s.chunks_mut(nx) {
            a[..nx].copy_from_slice(row);
            edt_1d(&a[..nx], sp.x as f32, row, v, z);
        }
        for i in 0..nx {
            for j in 0..ny {
                a[j] = s[i + nx * j];
            }
            edt_1d(&a[..ny], sp.y as f32, &mut b[..ny], v, z);
            for j in 0..ny {
                s[i + nx * j] = b[j];
            }
        }
    });
    // Along k: columns computed per j in parallel, then written back.
    let cols: Vec<Vec<f32>> = (0..ny)
        .into_par_iter()
        .map_init(scratch, |(a, b, v, z), j| {
            let mut out = vec![0f32; nx * nz];
            for i in 0..nx {
                for k in 0..nz {
                    a[k] = d[i + nx * (j + ny * k)];
                }
                edt_1d(&a[..nz], sp.z as f32, &mut b[..nz], v, z);
                out[i * nz..(i + 1) * nz].copy_from_slice(&b[..nz]);
            }
            out
        })
        .collect();
    for (j, col) in cols.iter().enumerate() {
        for i in 0..nx {
            for k in 0..nz {
                d[i + nx * (j + ny * k)] = col[i * nz + k].sqrt();
            }
        }
    }
    Volume::from_vec(labels.dims(), d, labels.geometry).expect("same dims")
}

/// Mean of `field` over the voxels of `class` (NaN when there are none).
pub fn mean_over_class(field: &Volume<f32>, labels: &LabelMap, class: u8) -> f64 {
    let (s, n) = field
        .data()
        .par_iter()
        .zip(labels.data().par_iter())
        .filter(|(_, l)| **l == class)
        .map(|(v, _)| (*v as f64, 1usize))
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// The figures `vasa phantom` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Volume (mL) of artery, vein, aorta, airway, heart.
    pub volumes_ml: [f64; 5],
    /// Interior mean HU of artery, vein, aorta, heart.
    pub hu_means: [f64; 4],
    /// Mean HU and 95th-percentile HU of lung parenchyma.
    pub lung_hu: (f64, f64),
    /// Mean distance (mm) of artery and vein voxels to the nearest airway voxel.
    pub airway_distance_mm: (f64, f64),
    /// The same over intrapulmonary vessel voxels only (within 3 mm of lung
    /// parenchyma), where the cue separates arteries from veins.
    pub airway_distance_intrapulmonary_mm: (f64, f64),
}

/// Mean of `field` over the voxels of `class` that lie within 3 mm of lung
/// parenchyma (`lungs` = 1): the intrapulmonary part of a vessel tree.
pub fn mean_over_class_in_lungs(field: &Volume<f32>, labels: &LabelMap, lungs: &Volume<u8>, class: u8) -> f64 {
    let near = distance_to_class(lungs, 1);
    let (s, n) = field
        .data()
        .par_iter()
        .zip(labels.data().par_iter())
        .zip(near.data().par_iter())
        .filter(|((_, l), d)| **l == class && **d < 3.0)
        .map(|((v, _), _)| (*v as f64, 1usize))
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

impl Report {
    /// Measures `ph`.
    pub fn of(ph: &Phantom) -> Report {
        let vols = class_volumes_ml(&ph.labels);
        let dt = distance_to_class(&ph.labels, AIRWAY);
        let mut lung: Vec<i16> =
            ph.ct.data().iter().zip(ph.lungs.data()).filter(|(_, m)| **m == 1).map(|(v, _)| *v).collect();
        lung.sort_unstable();
        let lung_mean = lung.iter().map(|&v| v as f64).sum::<f64>() / lung.len().max(1) as f64;
        let p95 = lung.get(lung.len() * 95 / 100).map(|&v| v as f64).unwrap_or(f64::NAN);
        Report {
            volumes_ml: [
                vols[ARTERY as usize],
                vols[VEIN as usize],
                vols[AORTA as usize],
                vols[AIRWAY as usize],
                vols[HEART as usize],
            ],
            hu_means: [ARTERY, VEIN, AORTA, HEART].map(|c| hu_stats(&ph.ct, &ph.labels, c, true).0),
            lung_hu: (lung_mean, p95),
            airway_distance_mm: (mean_over_class(&dt, &ph.labels, ARTERY), mean_over_class(&dt, &ph.labels, VEIN)),
            airway_distance_intrapulmonary_mm: (
                mean_over_class_in_lungs(&dt, &ph.labels, &ph.lungs, ARTERY),
                mean_over_class_in_lungs(&dt, &ph.labels, &ph.lungs, VEIN),
            ),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, v, ao, aw, h] = self.volumes_ml;
        writeln!(f, "volumes (mL): artery {a:.1}, vein {v:.1}, aorta {ao:.1}, airway {aw:.1}, heart {h:.1}")?;
        let [a, v, ao, h] = self.hu_means;
        writeln!(f, "mean HU (interior): artery {a:.0}, vein {v:.0}, aorta {ao:.0}, heart {h:.0}")?;
        writeln!(f, "lung parenchyma HU: mean {:.0}, 95th percentile {:.0}", self.lung_hu.0, self.lung_hu.1)?;
        write!(
            f,
            "mean distance to the nearest airway voxel: artery {:.1} mm, vein {:.1} mm (intrapulmonary: artery {:.1} mm, vein {:.1} mm)",
            self.airway_distance_mm.0,
            self.airway_distance_mm.1,
            self.airway_distance_intrapulmonary_mm.0,
            self.airway_distance_intrapulmonary_mm.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;
    use vasa_scan::Geometry;

    #[test]
    fn edt_matches_brute_force() {
        let dims = [13, 11, 9];
        let g = Geometry::axis_aligned(DVec3::new(0.7, 1.1, 2.0), DVec3::ZERO);
        let mut l = Volume::filled(dims, 0u8, g);
        let pts = [[2, 3, 1], [10, 9, 7], [6, 0, 4]];
        for [i, j, k] in pts {
            let idx = l.index(i, j, k);
            l.data_mut()[idx] = 4;
        }
        let d = distance_to_class(&l, 4);
        for idx in 0..l.len() {
            let [i, j, k] = l.coords(idx);
            let best = pts
                .iter()
                .map(|p| {
                    let dx = (p[0] as f64 - i as f64) * 0.7;
                    let dy = (p[1] as f64 - j as f64) * 1.1;
                    let dz = (p[2] as f64 - k as f64) * 2.0;
                    (dx * dx + dy * dy + dz * dz).sqrt()
                })
                .fold(f64::MAX, f64::min);
            assert!((d.data()[idx] as f64 - best).abs() < 1e-3, "at {:?}: {} vs {best}", [i, j, k], d.data()[idx]);
        }
        assert!(distance_to_class(&l, 9).data().iter().all(|v| v.is_infinite()));
    }
}
