//! Acquisition effects: correlated noise, about one voxel of blur (the
//! scanner's point spread), white noise, rounding to int16 HU.
//!
//! Correlated noise is white noise added before the blur (so it takes the
//! blur's texture), scaled so that its standard deviation after the blur is
//! the requested share of σ; uncorrelated noise is added after. The blur is a
//! separable Gaussian: in place along i and j per slice, then along k fused
//! with the final noise and rounding, so the whole step needs one extra slice
//! buffer per thread and no second volume.

use rayon::prelude::*;

use super::intensity::Intensities;
use super::raster::voxel_noise;

/// Normalised Gaussian kernel of standard deviation `sigma` voxels, radius 2.
pub fn kernel(sigma: f32) -> [f32; 5] {
    let mut k = [0f32; 5];
    for (t, v) in k.iter_mut().enumerate() {
        let x = t as f32 - 2.0;
        *v = libm::expf(-x * x / (2.0 * sigma * sigma));
    }
    let s: f32 = k.iter().sum();
    k.map(|v| v / s)
}

fn convolve_line(line: &mut [f32], tmp: &mut [f32], k: &[f32; 5]) {
    let n = line.len();
    tmp[..n].copy_from_slice(line);
    for (i, out) in line.iter_mut().enumerate() {
        let mut acc = 0.0;
        for (t, &w) in k.iter().enumerate() {
            let j = (i + t).saturating_sub(2).min(n - 1);
            acc += w * tmp[j];
        }
        *out = acc;
    }
}

/// Blurs, adds noise and rounds the clean image `value` to HU.
pub fn finish(mut value: Vec<f32>, dims: [usize; 3], ints: &Intensities, seed: u64) -> Vec<i16> {
    let [nx, ny, nz] = dims;
    let plane = nx * ny;
    let kx = kernel(ints.blur_sigma[0]);
    let kz = kernel(ints.blur_sigma[1]);
    let energy = |k: &[f32; 5]| k.iter().map(|v| v * v).sum::<f32>();
    let gain = (energy(&kx) * energy(&kx) * energy(&kz)).sqrt();
    let corr = ints.noise_sigma * ints.noise_correlated.sqrt() / gain;
    let white = ints.noise_sigma * (1.0 - ints.noise_correlated).sqrt();
    let seed_c = seed ^ 0xC0EE;
    let seed_w = seed ^ 0x3417E;

    value.par_chunks_mut(plane).enumerate().for_each_init(
        || (vec![0f32; nx.max(ny)], vec![0f32; ny]),
        |(tmp, col), (k, s)| {
            for (i, v) in s.iter_mut().enumerate() {
                *v += corr * voxel_noise(seed_c, k * plane + i);
            }
            for row in s.chunks_mut(nx) {
                convolve_line(row, tmp, &kx);
            }
            for i in 0..nx {
                for j in 0..ny {
                    col[j] = s[i + nx * j];
                }
                convolve_line(col, tmp, &kx);
                for j in 0..ny {
                    s[i + nx * j] = col[j];
                }
            }
        },
    );
    let mut out = vec![0i16; plane * nz];
    out.par_chunks_mut(plane).enumerate().for_each(|(k, o)| {
        for (i, dst) in o.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (t, &w) in kz.iter().enumerate() {
                let kk = (k + t).saturating_sub(2).min(nz - 1);
                acc += w * value[kk * plane + i];
            }
            acc += white * voxel_noise(seed_w, k * plane + i);
            *dst = acc.round().clamp(-1024.0, 3071.0) as i16;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = kernel(0.7);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(k[0], k[4]);
        assert!(k[2] > k[1] && k[1] > k[0]);
    }
}
