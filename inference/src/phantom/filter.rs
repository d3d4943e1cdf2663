//! The reconstruction kernel's look: in-plane point spread (soft to sharp,
//! with edge overshoot for sharp kernels), noise with the texture of filtered
//! back projection, and rounding to int16 HU.
//!
//! Real CT noise is not white: its noise power spectrum (NPS) is near zero at
//! DC (the ramp filter), peaks at mid frequencies and falls off with the
//! kernel's apodisation, so neighbouring voxels are correlated and the grain
//! is coarse for soft kernels and fine for sharp ones. Here each slice's
//! noise is white noise filtered by a difference of Gaussians
//! `G_a − c·G_a∗G_b` (band-pass: little DC, a mid-frequency peak), scaled by
//! the filter's exact energy so that σ in a uniform region is the requested
//! one. The image itself is blurred by the kernel's Gaussian point spread;
//! a sharp kernel adds an unsharp mask, whose negative side lobes overshoot
//! at edges as lung and bone kernels do. Widths are in mm, so the texture does
//! not change with the pixel size (down to a floor of a fraction of a pixel:
//! a coarse grid band-limits the reconstruction). The noise power peaks near
//! 0.14, 0.2 and 0.35 mm⁻¹ for the soft, standard and sharp kernels.
//!
//! One slice per task, stateless per-voxel random numbers and fixed-order
//! sums: the same bytes for any thread count.

use rayon::prelude::*;

use super::acquisition::Kernel;
use super::raster::voxel_noise;

/// What a kernel does to the image and the noise (widths in mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Texture {
    /// Gaussian σ of the point spread.
    pub psf_mm: f64,
    /// Gaussian σ of the unsharp mask's blur (sharp kernels).
    pub unsharp_mm: f64,
    /// Gain of the unsharp mask (0: none).
    pub unsharp_gain: f32,
    /// Noise filter: σ of the fine Gaussian.
    pub noise_a_mm: f64,
    /// Noise filter: σ of the extra blur of the subtracted low-pass part.
    pub noise_b_mm: f64,
    /// Noise filter: weight of the subtracted low-pass part (DC suppression).
    pub noise_c: f32,
    /// Least widths of the two noise Gaussians in pixels: on a coarse grid
    /// the reconstruction is band-limited by the pixels themselves.
    pub noise_floor_px: (f64, f64),
}

impl Texture {
    /// The texture of `kernel`; `scale` (about 1) varies the point spread per seed.
    pub fn of(kernel: Kernel, scale: f64) -> Texture {
        match kernel {
            Kernel::Soft => Texture {
                psf_mm: 0.8 * scale,
                unsharp_mm: 0.0,
                unsharp_gain: 0.0,
                noise_a_mm: 0.9,
                noise_b_mm: 1.6,
                noise_c: 0.65,
                noise_floor_px: (0.95, 1.4),
            },
            Kernel::Standard => Texture {
                psf_mm: 0.55 * scale,
                unsharp_mm: 0.0,
                unsharp_gain: 0.0,
                noise_a_mm: 0.6,
                noise_b_mm: 1.1,
                noise_c: 0.7,
                noise_floor_px: (0.85, 1.3),
            },
            Kernel::Sharp => Texture {
                psf_mm: 0.35 * scale,
                unsharp_mm: 1.1,
                unsharp_gain: 0.7,
                noise_a_mm: 0.35,
                noise_b_mm: 0.8,
                noise_c: 0.75,
                noise_floor_px: (0.4, 0.8),
            },
        }
    }
}

/// Normalised Gaussian kernel of standard deviation `sigma` voxels, radius
/// ⌈3σ⌉; a single tap when `sigma` is negligible.
pub fn gaussian(sigma: f64) -> Vec<f32> {
    if sigma < 0.15 {
        return vec![1.0];
    }
    let r = (3.0 * sigma).ceil() as i64;
    let k: Vec<f64> = (-r..=r).map(|x| libm::exp(-((x * x) as f64) / (2.0 * sigma * sigma))).collect();
    let s: f64 = k.iter().sum();
    k.iter().map(|v| (v / s) as f32).collect()
}

/// Full convolution of two odd kernels (odd, centred).
fn convolve_kernels(a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// Σ a·b of two centred odd kernels (the shorter one zero-padded).
fn dot_centred(a: &[f32], b: &[f32]) -> f64 {
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let off = (l.len() - s.len()) / 2;
    s.iter().zip(&l[off..]).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// Convolves each row of the `nx`-wide plane `src` with `k` into `dst`
/// (edges clamped).
fn rows(src: &[f32], dst: &mut [f32], nx: usize, k: &[f32]) {
    let r = k.len() / 2;
    for (s, d) in src.chunks(nx).zip(dst.chunks_mut(nx)) {
        for (i, out) in d.iter_mut().enumerate() {
            let mut acc = 0.0;
            if i >= r && i + r < nx {
                for (t, &w) in k.iter().enumerate() {
                    acc += w * s[i + t - r];
                }
            } else {
                for (t, &w) in k.iter().enumerate() {
                    acc += w * s[(i + t).saturating_sub(r).min(nx - 1)];
                }
            }
            *out = acc;
        }
    }
}

/// Convolves each column of the `nx`-wide plane `src` with `k` into `dst`
/// (edges clamped); whole rows at a time so the inner loop vectorises.
fn cols(src: &[f32], dst: &mut [f32], nx: usize, k: &[f32]) {
    let ny = src.len() / nx;
    let r = k.len() / 2;
    for (j, d) in dst.chunks_mut(nx).enumerate() {
        d.fill(0.0);
        for (t, &w) in k.iter().enumerate() {
            let jj = (j + t).saturating_sub(r).min(ny - 1);
            for (o, s) in d.iter_mut().zip(&src[jj * nx..(jj + 1) * nx]) {
                *o += w * s;
            }
        }
    }
}

/// Separable blur of a plane: rows with `kx`, then columns with `ky`.
fn blur(src: &[f32], dst: &mut [f32], tmp: &mut [f32], nx: usize, kx: &[f32], ky: &[f32]) {
    rows(src, tmp, nx, kx);
    cols(tmp, dst, nx, ky);
}

/// The in-plane noise filter of one texture on a pixel grid: the fine
/// Gaussian, the wide one (fine ∗ extra) per axis, and the scale that gives
/// unit σ.
struct NoiseFilter {
    ax: Vec<f32>,
    ay: Vec<f32>,
    bx: Vec<f32>,
    by: Vec<f32>,
    c: f32,
    gain: f32,
}

impl NoiseFilter {
    fn new(tex: &Texture, pixel: [f64; 2]) -> Self {
        let (fa, fb) = tex.noise_floor_px;
        let ax = gaussian((tex.noise_a_mm / pixel[0]).max(fa));
        let ay = gaussian((tex.noise_a_mm / pixel[1]).max(fa));
        let bx = gaussian((tex.noise_b_mm / pixel[0]).max(fb));
        let by = gaussian((tex.noise_b_mm / pixel[1]).max(fb));
        let (abx, aby) = (convolve_kernels(&ax, &bx), convolve_kernels(&ay, &by));
        let c = tex.noise_c as f64;
        // Energy of h = a⊗a − c·(a∗b)⊗(a∗b), which is what white noise of
        // unit variance becomes (exact away from the edges).
        let e = dot_centred(&ax, &ax) * dot_centred(&ay, &ay)
            - 2.0 * c * dot_centred(&ax, &abx) * dot_centred(&ay, &aby)
            + c * c * dot_centred(&abx, &abx) * dot_centred(&aby, &aby);
        NoiseFilter { ax, ay, bx, by, c: tex.noise_c, gain: (1.0 / e.sqrt()) as f32 }
    }
}

/// Weights (unit energy) mixing the white noise of neighbouring slices:
/// slices thicker than their spacing overlap, share projection data, and so
/// share noise. One weight when slices do not overlap.
pub fn z_mixing(spacing: f64, thickness: f64) -> Vec<f32> {
    if thickness <= 1.2 * spacing {
        return vec![1.0];
    }
    let reach = ((0.5 * thickness + 0.5 * spacing) / spacing).floor() as i64;
    let w: Vec<f64> = (-reach..=reach)
        .map(|j| ((0.5 * thickness + 0.5 * spacing - (j as f64 * spacing).abs()) / spacing).clamp(0.0, 1.0))
        .collect();
    let e = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    w.iter().map(|v| (v / e) as f32).collect()
}

/// Applies the kernel's point spread, adds noise of standard deviation
/// `sigma` HU with the kernel's texture and rounds the clean image `value`
/// (HU, i fastest) to int16 HU. `pixel` is the in-plane spacing (mm);
/// `z_mix` mixes the white noise of neighbouring slices ([`z_mixing`]).
pub fn finish(
    value: Vec<f32>,
    dims: [usize; 3],
    pixel: [f64; 2],
    tex: &Texture,
    sigma: f32,
    z_mix: &[f32],
    seed: u64,
) -> Vec<i16> {
    let [nx, ny, nz] = dims;
    let reach = z_mix.len() / 2;
    let plane = nx * ny;
    let px = gaussian(tex.psf_mm / pixel[0]);
    let py = gaussian(tex.psf_mm / pixel[1]);
    let ux = gaussian(tex.unsharp_mm / pixel[0]);
    let uy = gaussian(tex.unsharp_mm / pixel[1]);
    let noise = NoiseFilter::new(tex, pixel);
    let scale = sigma * noise.gain;
    let mut out = vec![0i16; value.len()];
    out.par_chunks_mut(plane).zip(value.par_chunks(plane)).enumerate().for_each_init(
        || [vec![0f32; plane], vec![0f32; plane], vec![0f32; plane], vec![0f32; plane]],
        |[img, tmp, a, b], (k, (dst, src))| {
            blur(src, img, tmp, nx, &px, &py);
            if tex.unsharp_gain > 0.0 {
                // img + g·(img − blur(img)): negative side lobes, edge overshoot.
                blur(img, a, tmp, nx, &ux, &uy);
                let g = tex.unsharp_gain;
                for (v, l) in img.iter_mut().zip(a.iter()) {
                    *v += g * (*v - l);
                }
            }
            if scale > 0.0 {
                if z_mix.len() == 1 {
                    for (i, w) in b.iter_mut().enumerate() {
                        *w = voxel_noise(seed, k * plane + i);
                    }
                } else {
                    // Slices beyond the ends get their own white noise.
                    b.fill(0.0);
                    for (t, &m) in z_mix.iter().enumerate() {
                        let kk = (k + t) as i64 - reach as i64;
                        let stream = if (0..nz as i64).contains(&kk) { seed } else { seed ^ 0xE0D5 };
                        let base = kk.rem_euclid(nz as i64 + 64) as usize * plane;
                        for (i, w) in b.iter_mut().enumerate() {
                            *w += m * voxel_noise(stream, base + i);
                        }
                    }
                }
                blur(b, a, tmp, nx, &noise.ax, &noise.ay);
                blur(a, b, tmp, nx, &noise.bx, &noise.by);
                let c = noise.c;
                for ((v, n1), n2) in img.iter_mut().zip(a.iter()).zip(b.iter()) {
                    *v += scale * (n1 - c * n2);
                }
            }
            for (d, v) in dst.iter_mut().zip(img.iter()) {
                *d = v.round().clamp(-1024.0, 3071.0) as i16;
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_is_normalised_and_symmetric() {
        let k = gaussian(0.7);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(k.len(), 7);
        assert_eq!(k[0], k[6]);
        assert!(k[3] > k[2] && k[2] > k[1] && k[1] > k[0]);
        assert_eq!(gaussian(0.01), vec![1.0]);
    }

    /// Noise of a flat image: σ, neighbour correlation and the share of
    /// power above half the Nyquist frequency (a difference-based proxy).
    fn noise_stats(kernel: Kernel, pixel: f64, sigma: f32) -> (f64, f64, f64) {
        let n = 128;
        let tex = Texture::of(kernel, 1.0);
        let ct = finish(vec![40.0; n * n * 4], [n, n, 4], [pixel, pixel], &tex, sigma, &[1.0], 9);
        let (mut s, mut s2, mut c1, mut d2, mut m) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for k in 0..4 {
            for j in 16..n - 16 {
                for i in 16..n - 16 {
                    let v = ct[k * n * n + j * n + i] as f64 - 40.0;
                    let r = ct[k * n * n + j * n + i + 1] as f64 - 40.0;
                    s += v;
                    s2 += v * v;
                    c1 += v * r;
                    d2 += (v - r) * (v - r);
                    m += 1.0;
                }
            }
        }
        let var = s2 / m - (s / m) * (s / m);
        (var.sqrt(), c1 / m / var, d2 / m / var)
    }

    #[test]
    fn noise_has_the_requested_sigma_and_a_kernel_texture() {
        for pixel in [0.6, 0.98, 1.37] {
            let mut prev_hf = 0.0;
            for kernel in Kernel::ALL {
                let (sd, rho, hf) = noise_stats(kernel, pixel, 20.0);
                assert!((sd - 20.0).abs() < 2.0, "{kernel} at {pixel} mm: σ {sd:.2}");
                if kernel == Kernel::Standard {
                    assert!(rho > 0.2, "{kernel} at {pixel} mm: neighbour correlation {rho:.2}");
                }
                assert!(hf > prev_hf, "{kernel} at {pixel} mm: high-frequency share {hf:.2} ≤ {prev_hf:.2}");
                prev_hf = hf;
            }
        }
        // σ = 0 is a noise-free image.
        let tex = Texture::of(Kernel::Sharp, 1.0);
        let ct = finish(vec![40.0; 64 * 64 * 2], [64, 64, 2], [0.7, 0.7], &tex, 0.0, &[1.0], 9);
        assert!(ct.iter().all(|&v| v == 40));
    }

    #[test]
    fn overlapping_slices_share_noise() {
        assert_eq!(z_mixing(1.0, 1.0), vec![1.0]);
        let w = z_mixing(0.625, 1.25);
        assert_eq!(w.len(), 3);
        assert!((w.iter().map(|v| v * v).sum::<f32>() - 1.0).abs() < 1e-6);
        // Neighbouring slices' noise correlation: Σ w_j w_{j+1}.
        let rho: f32 = w.windows(2).map(|p| p[0] * p[1]).sum();
        assert!((0.4..0.8).contains(&rho), "{rho}");
        // The noise still has the requested σ.
        let n = 96;
        let tex = Texture::of(Kernel::Standard, 1.0);
        let ct = finish(vec![0.0; n * n * 6], [n, n, 6], [0.7, 0.7], &tex, 20.0, &w, 3);
        let inner: Vec<f64> = (0..ct.len()).filter(|i| (8..n - 8).contains(&(i % n))).map(|i| ct[i] as f64).collect();
        let sd = (inner.iter().map(|v| v * v).sum::<f64>() / inner.len() as f64).sqrt();
        assert!((sd - 20.0).abs() < 2.0, "σ {sd:.1}");
    }

    #[test]
    fn sharp_kernels_overshoot_at_edges_and_soft_ones_do_not() {
        let n = 64;
        let step: Vec<f32> = (0..n * n * 2).map(|i| if i % n < n / 2 { -100.0 } else { 300.0 }).collect();
        for kernel in Kernel::ALL {
            let tex = Texture::of(kernel, 1.0);
            let ct = finish(step.clone(), [n, n, 2], [0.7, 0.7], &tex, 0.0, &[1.0], 1);
            let row = &ct[n * 10..n * 11];
            let (lo, hi) = (*row.iter().min().unwrap(), *row.iter().max().unwrap());
            if kernel == Kernel::Sharp {
                assert!(hi >= 330 && lo <= -130, "sharp: {lo}..{hi}");
            } else {
                assert!(hi <= 301 && lo >= -101, "{kernel}: {lo}..{hi}");
            }
        }
    }
}
