//! Slice thickness: a CT slice averages the object over its slice sensitivity
//! profile (SSP), it does not sample it at the slice centre. A thick slice
//! therefore lowers the contrast of anything thinner than itself.
//!
//! The clean image is painted on sub-slices no more than [`SUB_MAX_MM`] apart
//! (a grid that contains every output slice centre) and each output slice is
//! the SSP-weighted sum of the sub-slices around it. The SSP is a box of the
//! nominal thickness smoothed by a Gaussian (the shape of a helical
//! reconstruction's profile; its FWHM is the thickness). Labels, the anatomy
//! map and the lung mask are painted once more on the output grid itself, so
//! they stay exact at the slice centres and thin vessels stay connected.
//!
//! Every output voxel is a fixed-order sum, so the result does not depend on
//! the thread count.

use rayon::prelude::*;
use vasa_scan::Geometry;

use super::anatomy::Anatomy;
use super::intensity::Intensities;
use super::raster::{self, Raster};

/// Largest distance between the sub-slices a thick slice averages (mm).
pub const SUB_MAX_MM: f64 = 1.0;

/// The sampled slice sensitivity profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Sub-slices per slice spacing (1: the output grid itself).
    pub sub: usize,
    /// Distance between sub-slices (mm).
    pub step: f64,
    /// Weights of the sub-slices at offsets `-reach..=reach` steps, summing to 1.
    pub weights: Vec<f32>,
}

/// Standard normal cumulative distribution.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

impl Profile {
    /// The profile of slices `thickness` mm thick (FWHM) every `spacing` mm;
    /// `scale` (about 1) varies the Gaussian smoothing per seed.
    pub fn new(spacing: f64, thickness: f64, scale: f64) -> Profile {
        let sub = (spacing / SUB_MAX_MM - 1e-9).ceil().max(1.0) as usize;
        let step = spacing / sub as f64;
        let sigma = (0.25 * thickness).max(0.4 * step) * scale;
        let half = 0.5 * thickness;
        let reach = ((half + 2.5 * sigma) / step).floor() as i64;
        let w = |u: f64| phi((half - u) / sigma) - phi((-half - u) / sigma);
        let raw: Vec<f64> = (-reach..=reach).map(|j| w(j as f64 * step)).collect();
        let total: f64 = raw.iter().sum();
        Profile { sub, step, weights: raw.iter().map(|v| (v / total) as f32).collect() }
    }

    /// Sub-slices on either side of the centre that carry weight.
    pub fn reach(&self) -> usize {
        self.weights.len() / 2
    }

    /// Full width at half maximum of the sampled profile (mm), for checks.
    #[cfg(test)]
    pub fn fwhm(&self) -> f64 {
        let peak = self.weights.iter().cloned().fold(0.0f32, f32::max) as f64;
        let above = self.weights.iter().filter(|&&w| w as f64 >= 0.5 * peak).count();
        above as f64 * self.step
    }
}

/// Output slices painted per batch of sub-slices (bounds the memory).
const BATCH: usize = 96;

/// Paints `anatomy` on the grid as slices with the sensitivity profile `prof`.
pub fn rasterise(
    anatomy: &Anatomy,
    ints: &Intensities,
    geometry: &Geometry,
    dims: [usize; 3],
    seed: u64,
    prof: &Profile,
) -> Raster {
    let [nx, ny, nz] = dims;
    let plane = nx * ny;
    let reach = prof.reach();
    let mut out = raster::rasterise(anatomy, ints, geometry, dims, seed);
    if prof.sub == 1 {
        if reach > 0 {
            // The sub-slices are the output slices: average neighbours (edge
            // slices repeated beyond the ends).
            let src = std::mem::take(&mut out.value);
            let mut value = vec![0f32; src.len()];
            value.par_chunks_mut(plane).enumerate().for_each(|(k, dst)| {
                for (t, &w) in prof.weights.iter().enumerate() {
                    let kk = (k + t).saturating_sub(reach).min(nz - 1);
                    for (d, s) in dst.iter_mut().zip(&src[kk * plane..(kk + 1) * plane]) {
                        *d += w * s;
                    }
                }
            });
            out.value = value;
        }
        return out;
    }
    // Sub-slices between the output slices, painted in batches.
    let q = prof.sub;
    let batch = (BATCH / q).max(1);
    let sp = geometry.spacing;
    let mut k0 = 0;
    while k0 < nz {
        let k1 = (k0 + batch).min(nz);
        let nf = (k1 - 1 - k0) * q + 1 + 2 * reach;
        let mut origin = geometry.origin;
        origin.z += k0 as f64 * sp.z - reach as f64 * prof.step;
        let fine_geo = Geometry::axis_aligned(glam::DVec3::new(sp.x, sp.y, prof.step), origin);
        let fine = raster::rasterise(anatomy, ints, &fine_geo, [nx, ny, nf], seed);
        out.value[k0 * plane..k1 * plane].par_chunks_mut(plane).enumerate().for_each(|(dk, dst)| {
            dst.fill(0.0);
            let base = dk * q;
            for (t, &w) in prof.weights.iter().enumerate() {
                let f = base + t;
                for (d, s) in dst.iter_mut().zip(&fine.value[f * plane..(f + 1) * plane]) {
                    *d += w * s;
                }
            }
        });
        k0 = k1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_normalised_and_as_wide_as_the_slice() {
        for (spacing, thickness) in [(1.0, 1.0), (1.5, 1.5), (0.625, 1.25), (2.5, 2.5), (5.0, 5.0), (3.0, 3.0)] {
            let p = Profile::new(spacing, thickness, 1.0);
            let s: f32 = p.weights.iter().sum();
            assert!((s - 1.0).abs() < 1e-5, "{spacing}/{thickness}: sum {s}");
            assert!(p.step <= SUB_MAX_MM + 1e-9);
            assert!((spacing / p.step - p.sub as f64).abs() < 1e-9);
            assert_eq!(p.weights.len() % 2, 1);
            if thickness >= 2.0 {
                assert!((p.fwhm() - thickness).abs() <= p.step + 1e-9, "{thickness}: fwhm {}", p.fwhm());
            }
        }
        // A 5 mm slice averages five or more 1 mm sub-slices.
        let p = Profile::new(5.0, 5.0, 1.0);
        assert_eq!(p.sub, 5);
        assert!(p.weights.iter().filter(|&&w| w > 0.1).count() >= 5);
    }
}
