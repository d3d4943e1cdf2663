//! Contrast-bolus effects on the clean image: inflow of unopacified blood
//! into the right heart, and dense contrast in the injected arm's vein with
//! its beam-hardening streaks.
//!
//! - Inflow: in an enhanced scan, blood returning from veins the bolus has not
//!   reached (the inferior vena cava, the other arm, the head) mixes with
//!   opacified blood in the venae cavae and the right atrium in swirling
//!   streams of lower HU. A smooth 3-D noise field (hashed lattice, a few cm
//!   and a few mm) removes up to [`Intensities::inflow`] of the enhancement
//!   there, most in the inferior vena cava.
//! - Dense contrast: while the injection is still running, the brachiocephalic
//!   vein and the top of the superior vena cava hold nearly undiluted contrast
//!   (1000–2500 HU). Such dense objects harden the beam: bright and dark
//!   streaks radiate through them in the axial plane, up to ±200 HU next to
//!   the vessel and fading over about 10 cm.
//!
//! Both work from the anatomy map, so they need nothing from the anatomy
//! builder; the per-slice sums are in a fixed order (thread-count independent).

use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::Geometry;

use super::intensity::{Intensities, Tissue};
use super::rng::{Rng, mix64};
use super::structure::Structure;

/// Plain blood (HU): what unopacified inflow brings.
const PLAIN_BLOOD: f32 = 40.0;
/// How far below the top of the superior vena cava the dense contrast reaches (mm).
const DENSE_SVC_MM: f64 = 35.0;
/// Angular bins of the streak pattern.
const BINS: usize = 2048;
/// Streaks fade to nothing at this distance from the dense vessel (mm).
const STREAK_REACH_MM: f64 = 160.0;

/// Smooth value noise in [−1, 1]: trilinear interpolation of hashed lattice
/// nodes `cell` mm apart, with a smoothstep so it has no kinks.
fn value_noise(seed: u64, p: DVec3, cell: f64) -> f32 {
    let q = p / cell;
    let f = q.floor();
    let t = q - f;
    let s = t * t * (DVec3::splat(3.0) - 2.0 * t);
    let (x0, y0, z0) = (f.x as i64, f.y as i64, f.z as i64);
    let node = |dx: i64, dy: i64, dz: i64| {
        let h = mix64(
            seed ^ ((x0 + dx) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ ((y0 + dy) as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                ^ ((z0 + dz) as u64).wrapping_mul(0x1656_67B1_9E37_79F9),
        );
        (h >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    };
    let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
    let x00 = lerp(node(0, 0, 0), node(1, 0, 0), s.x);
    let x10 = lerp(node(0, 1, 0), node(1, 1, 0), s.x);
    let x01 = lerp(node(0, 0, 1), node(1, 0, 1), s.x);
    let x11 = lerp(node(0, 1, 1), node(1, 1, 1), s.x);
    lerp(lerp(x00, x10, s.y), lerp(x01, x11, s.y), s.z) as f32
}

/// Swirling mixing field in [0, 1]: about half everywhere, streams of 0 and 1.
fn mixing(seed: u64, p: DVec3) -> f32 {
    let v = 0.65 * value_noise(seed, p, 14.0) + 0.35 * value_noise(seed ^ 0x5157, p, 5.0);
    (0.5 + 1.1 * v).clamp(0.0, 1.0)
}

/// Share of the enhancement that inflow may remove, per structure.
fn inflow_weight(s: u8) -> f32 {
    match s {
        x if x == Structure::InferiorVenaCava as u8 => 1.0,
        x if x == Structure::RightAtrium as u8 => 0.8,
        x if x == Structure::SuperiorVenaCava as u8 => 0.5,
        x if x == Structure::RightVentricle as u8 => 0.3,
        x if x == Structure::BrachiocephalicVein as u8 => 0.3,
        _ => 0.0,
    }
}

/// Share of a voxel covered by blood of `blood` HU against fat, from its value
/// (the anatomy map is decided at the voxel centre; edges are partial).
#[inline]
fn cover(v: f32, blood: f32, fat: f32) -> f32 {
    if (blood - fat).abs() < 1.0 { 1.0 } else { ((v - fat) / (blood - fat)).clamp(0.0, 1.0) }
}

/// Streak pattern: brightness of the streaks through a dense vessel per
/// direction, in [−1.5, 1.5]: a dozen or two narrow lines through the vessel, each
/// bright or dark, with both ends alike.
fn streak_table(rng: &mut Rng) -> Vec<f32> {
    let mut table = vec![0f32; BINS];
    let lines = 12 + rng.index(18);
    for _ in 0..lines {
        let centre = rng.range(0.0, std::f64::consts::PI);
        let width = rng.range(0.008, 0.04);
        let amp = rng.sym(1.0);
        for (b, t) in table.iter_mut().enumerate() {
            let theta = b as f64 * std::f64::consts::TAU / BINS as f64;
            // Distance in angle to the line (both directions, period π).
            let d = (theta - centre).rem_euclid(std::f64::consts::PI);
            let d = d.min(std::f64::consts::PI - d);
            *t += (amp * libm::exp(-d * d / (2.0 * width * width))) as f32;
        }
    }
    // Typical streaks at 40 % of the amplitude, the brightest up to 150 %.
    let rms = (table.iter().map(|v| v * v).sum::<f32>() / BINS as f32).sqrt().max(1e-6);
    table.iter_mut().for_each(|v| *v = (*v * 0.4 / rms).clamp(-1.5, 1.5));
    table
}

/// Applies inflow and dense contrast (with streaks) to the clean image
/// `value` (HU, i fastest) using the anatomy map on the same grid.
pub fn apply(value: &mut [f32], anatomy: &[u8], dims: [usize; 3], geometry: &Geometry, ints: &Intensities, seed: u64) {
    let [nx, ny, nz] = dims;
    let plane = nx * ny;
    let fat = ints.of(Tissue::Fat);
    let right = ints.of(Tissue::RightHeartBlood);
    let enhancement = right - PLAIN_BLOOD;
    let mix_seed = mix64(seed ^ 0x1F10);
    let sp = geometry.spacing;
    let o = geometry.origin;
    let pos = |i: usize, j: usize, k: usize| o + DVec3::new(i as f64 * sp.x, j as f64 * sp.y, k as f64 * sp.z);

    // Top of the superior vena cava (patient z), for the dense contrast.
    let svc = Structure::SuperiorVenaCava as u8;
    let bcv = Structure::BrachiocephalicVein as u8;
    let svc_top = (0..nz).rev().find(|&k| anatomy[k * plane..(k + 1) * plane].contains(&svc)).map(|k| pos(0, 0, k).z);
    let dense = ints.of(Tissue::DenseContrast);
    let dense_on = ints.dense_vein && dense > right;
    let table = streak_table(&mut Rng::new(seed ^ 0x57EA));

    value.par_chunks_mut(plane).zip(anatomy.par_chunks(plane)).enumerate().for_each(|(k, (val, anat))| {
        // Dense voxels of this slice: count and centroid (voxel units).
        let (mut n, mut ci, mut cj) = (0.0f64, 0.0f64, 0.0f64);
        for j in 0..ny {
            for i in 0..nx {
                let idx = i + nx * j;
                let s = anat[idx];
                let w = inflow_weight(s);
                if w == 0.0 {
                    continue;
                }
                let v = val[idx];
                let c = cover(v, right, fat);
                let p = pos(i, j, k);
                if dense_on {
                    let depth = match (s, svc_top) {
                        (x, _) if x == bcv => 0.0,
                        (x, Some(top)) if x == svc => ((top - p.z) / DENSE_SVC_MM).clamp(0.0, 1.0),
                        _ => 2.0,
                    };
                    if depth <= 1.0 {
                        // Layering: the dense column thins and mixes downward.
                        let m = mixing(mix_seed ^ 0xDE, p);
                        let share = ((1.0 - depth as f32) * (0.6 + 0.8 * m)).clamp(0.0, 1.0);
                        if share > 0.0 {
                            val[idx] = v + c * share * (dense - right);
                            if share > 0.5 {
                                n += 1.0;
                                ci += i as f64;
                                cj += j as f64;
                            }
                            continue;
                        }
                    }
                }
                if ints.inflow > 0.0 && enhancement > 0.0 {
                    let m = mixing(mix_seed, p);
                    // Unopacified streams: most of the field removes little,
                    // its peaks remove up to `inflow` of the enhancement.
                    let drop = ints.inflow * w * m * m;
                    val[idx] = v - c * drop * enhancement;
                }
            }
        }
        if n == 0.0 || ints.streak_hu <= 0.0 {
            return;
        }
        // Beam-hardening streaks through the dense vessel.
        let (ci, cj) = (ci / n, cj / n);
        let area = n * sp.x * sp.y;
        let radius = (area / std::f64::consts::PI).sqrt();
        let amp = ints.streak_hu as f64 * (area / (std::f64::consts::PI * 36.0)).sqrt().clamp(0.25, 1.0);
        // The streaks turn slowly from slice to slice.
        let turn = ((k as f64 * sp.z * 0.004) * BINS as f64 / std::f64::consts::TAU) as i64;
        let reach = STREAK_REACH_MM;
        let r0 = 25.0;
        let i0 = (ci - reach / sp.x).floor().max(0.0) as usize;
        let i1 = ((ci + reach / sp.x).ceil().max(0.0) as usize).min(nx - 1);
        let j0 = (cj - reach / sp.y).floor().max(0.0) as usize;
        let j1 = ((cj + reach / sp.y).ceil().max(0.0) as usize).min(ny - 1);
        for j in j0..=j1 {
            let dy = (j as f64 - cj) * sp.y;
            for i in i0..=i1 {
                let dx = (i as f64 - ci) * sp.x;
                let r = (dx * dx + dy * dy).sqrt();
                if r <= radius || r >= reach {
                    continue;
                }
                let theta = libm::atan2(dy, dx);
                let bin = ((theta / std::f64::consts::TAU * BINS as f64).floor() as i64 + turn).rem_euclid(BINS as i64);
                let fade = r0 / (r0 + r - radius) * (1.0 - r / reach) * (1.0 - r / reach);
                let idx = i + nx * j;
                val[idx] += (amp * fade) as f32 * table[bin as usize];
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_noise_is_smooth_bounded_and_deterministic() {
        let p = DVec3::new(12.3, -40.1, 7.7);
        assert_eq!(value_noise(5, p, 10.0), value_noise(5, p, 10.0));
        assert_ne!(value_noise(5, p, 10.0), value_noise(6, p, 10.0));
        let mut prev = value_noise(5, p, 10.0);
        for t in 1..200 {
            let v = value_noise(5, p + DVec3::X * (t as f64 * 0.1), 10.0);
            assert!((-1.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.1, "jump {prev} → {v}");
            prev = v;
        }
    }

    #[test]
    fn streak_table_is_symmetric_through_the_vessel() {
        let t = streak_table(&mut Rng::new(3));
        assert_eq!(t.len(), BINS);
        assert!(t.iter().any(|&v| v > 0.5) || t.iter().any(|&v| v < -0.5));
        for b in (0..BINS / 2).step_by(37) {
            assert!((t[b] - t[b + BINS / 2]).abs() < 1e-3, "bin {b}");
        }
    }
}
