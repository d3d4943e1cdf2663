//! Domain randomisation of training patches, aimed at the gap between the
//! phantom and real scans: a random monotone intensity curve (tissues keep
//! their order but not their exact HU), a smooth bias field, resolution loss
//! (thick slices, soft kernels), edge enhancement (sharp kernels), correlated
//! noise, and crops down to a few slices (a slab, padded with air as
//! `vasa segment` pads it). Never a left–right flip: sidedness is anatomy.
//!
//! Works on a patch laid out [D, H, W] = (k, j, i), i fastest, in HU.

use crate::phantom::rng::Rng;

/// HU of the padding outside a slab (what the sliding window pads with).
const PAD_HU: f32 = -1000.0;

/// How strongly patches are randomised; every part has its own probability.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomiseOptions {
    /// Probability of a random monotone intensity curve.
    pub curve_probability: f64,
    /// Slope range of each curve segment.
    pub curve_slope: (f64, f64),
    /// Probability of a smooth bias field, and its largest amplitude (HU).
    pub bias_probability: f64,
    /// Largest bias amplitude (HU) at the patch's edge.
    pub max_bias_hu: f64,
    /// Probability of resolution loss (Gaussian blur, stronger along z).
    pub blur_probability: f64,
    /// Largest blur σ (voxels) along z and in-plane.
    pub max_blur: (f64, f64),
    /// Probability of edge enhancement (a sharp kernel).
    pub sharpen_probability: f64,
    /// Probability of added correlated noise, and its largest σ (HU).
    pub noise_probability: f64,
    /// Largest σ (HU) of the added correlated noise.
    pub max_noise_hu: f64,
    /// Probability that only a slab of a few slices is kept.
    pub slab_probability: f64,
    /// Fewest and most slices a slab keeps.
    pub slab_slices: (usize, usize),
}

impl Default for RandomiseOptions {
    fn default() -> Self {
        RandomiseOptions {
            curve_probability: 0.5,
            curve_slope: (0.8, 1.25),
            bias_probability: 0.3,
            max_bias_hu: 25.0,
            blur_probability: 0.25,
            max_blur: (2.0, 0.8),
            sharpen_probability: 0.2,
            noise_probability: 0.3,
            max_noise_hu: 25.0,
            slab_probability: 0.1,
            slab_slices: (3, 24),
        }
    }
}

impl RandomiseOptions {
    /// Nothing randomised (validation, tests).
    pub fn none() -> Self {
        RandomiseOptions {
            curve_probability: 0.0,
            bias_probability: 0.0,
            blur_probability: 0.0,
            sharpen_probability: 0.0,
            noise_probability: 0.0,
            slab_probability: 0.0,
            ..Default::default()
        }
    }
}

/// Knots (HU) of the monotone curve: air, lung, fat, soft tissue and blood,
/// enhanced blood, bone.
const KNOTS: [f32; 8] = [-1100.0, -900.0, -500.0, -150.0, -50.0, 100.0, 400.0, 3100.0];

/// A random monotone piecewise-linear HU → HU map, anchored near 0 HU so
/// that air stays air and blood stays near blood.
#[derive(Debug, Clone)]
pub struct Curve {
    out: [f32; 8],
}

impl Curve {
    /// Draws a curve: each segment's slope in `slope`, 0 HU moved by ±15 HU.
    pub fn draw(slope: (f64, f64), rng: &mut Rng) -> Curve {
        let mut out = [0f32; 8];
        // Anchor at the knot -50 HU (index 4) and walk both ways.
        out[4] = -50.0 + rng.sym(15.0) as f32;
        for i in 5..8 {
            out[i] = out[i - 1] + (KNOTS[i] - KNOTS[i - 1]) * rng.range(slope.0, slope.1) as f32;
        }
        for i in (0..4).rev() {
            out[i] = out[i + 1] - (KNOTS[i + 1] - KNOTS[i]) * rng.range(slope.0, slope.1) as f32;
        }
        Curve { out }
    }

    /// Maps one value (extrapolating the end segments).
    #[inline]
    pub fn map(&self, v: f32) -> f32 {
        let i = KNOTS[1..7].iter().take_while(|&&k| v > k).count();
        let t = (v - KNOTS[i]) / (KNOTS[i + 1] - KNOTS[i]);
        self.out[i] + t * (self.out[i + 1] - self.out[i])
    }
}

/// Randomises one patch of `size` = [D, H, W] in place.
pub fn randomise(hu: &mut [f32], labels: &mut [u32], size: [usize; 3], options: &RandomiseOptions, rng: &mut Rng) {
    let [d, h, w] = size;
    debug_assert_eq!(hu.len(), d * h * w);
    if rng.unit() < options.curve_probability {
        let curve = Curve::draw(options.curve_slope, rng);
        hu.iter_mut().for_each(|v| *v = curve.map(*v));
    }
    if rng.unit() < options.blur_probability {
        let sz = rng.range(0.3, options.max_blur.0.max(0.3));
        let sxy = rng.unit() * options.max_blur.1;
        blur(hu, size, [sz, sxy, sxy]);
    }
    if rng.unit() < options.sharpen_probability {
        let amount = rng.range(0.3, 1.0) as f32;
        let mut smooth = hu.to_vec();
        blur(&mut smooth, size, [0.0, 1.0, 1.0]);
        hu.iter_mut().zip(&smooth).for_each(|(v, s)| *v += amount * (*v - s));
    }
    if rng.unit() < options.noise_probability {
        let sigma = rng.unit() * options.max_noise_hu;
        let grain = rng.range(0.0, 1.2);
        let mut noise: Vec<f32> = (0..hu.len()).map(|_| rng.gauss() as f32).collect();
        if grain > 0.05 {
            blur(&mut noise, size, [grain * 0.5, grain, grain]);
        }
        let sd = (noise.iter().map(|n| n * n).sum::<f32>() / noise.len() as f32).sqrt().max(1e-6);
        let k = sigma as f32 / sd;
        hu.iter_mut().zip(&noise).for_each(|(v, n)| *v += k * n);
    }
    if rng.unit() < options.bias_probability {
        let a = options.max_bias_hu;
        let c: [f64; 6] = std::array::from_fn(|_| rng.sym(a / 2.0));
        let half = |n: usize| (n as f64 - 1.0).max(1.0) / 2.0;
        for k in 0..d {
            let z = k as f64 / half(d) - 1.0;
            for j in 0..h {
                let y = j as f64 / half(h) - 1.0;
                let row = &mut hu[(k * h + j) * w..][..w];
                for (i, v) in row.iter_mut().enumerate() {
                    let x = i as f64 / half(w) - 1.0;
                    *v += (c[0] * x + c[1] * y + c[2] * z + c[3] * x * x + c[4] * y * y + c[5] * x * y) as f32;
                }
            }
        }
    }
    if d > options.slab_slices.0 && rng.unit() < options.slab_probability {
        let most = options.slab_slices.1.min(d - 1).max(options.slab_slices.0);
        let n = options.slab_slices.0 + rng.index(most - options.slab_slices.0 + 1);
        // The slab covers the patch centre, so the sampled vessel stays in.
        let lo_min = (d / 2 + 1).saturating_sub(n);
        let lo_max = (d / 2).min(d - n);
        let lo = lo_min + rng.index(lo_max - lo_min + 1);
        let plane = h * w;
        for k in (0..lo).chain(lo + n..d) {
            hu[k * plane..][..plane].fill(PAD_HU);
            labels[k * plane..][..plane].fill(0);
        }
    }
}

/// Separable Gaussian blur with σ (voxels) per axis [z, y, x]; σ below 0.05
/// leaves that axis alone. Edges repeat the border value.
pub fn blur(v: &mut [f32], size: [usize; 3], sigma: [f64; 3]) {
    let [d, h, w] = size;
    let strides = [h * w, w, 1];
    let lens = [d, h, w];
    let mut line = Vec::new();
    for axis in 0..3 {
        let s = sigma[axis];
        if s < 0.05 || lens[axis] < 2 {
            continue;
        }
        let r = (2.5 * s).ceil() as i64;
        let mut k: Vec<f32> = (-r..=r).map(|t| libm::exp(-(t * t) as f64 / (2.0 * s * s)) as f32).collect();
        let sum: f32 = k.iter().sum();
        k.iter_mut().for_each(|x| *x /= sum);
        let n = lens[axis];
        let stride = strides[axis];
        // Every line along `axis`: its start index.
        let starts: Vec<usize> = (0..v.len()).filter(|&i| (i / stride) % n == 0).collect();
        for start in starts {
            line.clear();
            line.extend((0..n).map(|t| v[start + t * stride]));
            for t in 0..n {
                let mut acc = 0.0;
                for (q, &kw) in k.iter().enumerate() {
                    let src = (t as i64 + q as i64 - r).clamp(0, n as i64 - 1) as usize;
                    acc += kw * line[src];
                }
                v[start + t * stride] = acc;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_is_monotone_and_keeps_air_and_blood_near_home() {
        for seed in 0..50 {
            let c = Curve::draw((0.8, 1.25), &mut Rng::new(seed));
            let mut prev = f32::MIN;
            for v in (-1200..3200).step_by(7) {
                let m = c.map(v as f32);
                assert!(m > prev, "seed {seed}: not increasing at {v}");
                prev = m;
            }
            assert!((c.map(40.0) - 40.0).abs() < 40.0, "seed {seed}: blood at {}", c.map(40.0));
            assert!((c.map(-1000.0) + 1000.0).abs() < 300.0, "seed {seed}: air at {}", c.map(-1000.0));
        }
    }

    #[test]
    fn blur_keeps_the_mean_and_lowers_white_noise() {
        let size = [8, 16, 16];
        let mut rng = Rng::new(4);
        let mut v: Vec<f32> = (0..8 * 16 * 16).map(|_| rng.gauss() as f32 * 10.0 + 50.0).collect();
        let var = |v: &[f32]| {
            let m = v.iter().sum::<f32>() / v.len() as f32;
            (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len() as f32)
        };
        let (m0, v0) = var(&v);
        blur(&mut v, size, [1.0, 1.0, 1.0]);
        let (m1, v1) = var(&v);
        assert!((m0 - m1).abs() < 1.0);
        assert!(v1 < 0.2 * v0, "{v1} vs {v0}");
    }

    #[test]
    fn slab_keeps_a_few_slices_around_the_centre_and_pads_with_air() {
        let size = [32, 4, 4];
        let opts = RandomiseOptions { slab_probability: 1.0, ..RandomiseOptions::none() };
        for seed in 0..30 {
            let mut hu = vec![40.0; 32 * 16];
            let mut lab = vec![1u32; 32 * 16];
            randomise(&mut hu, &mut lab, size, &opts, &mut Rng::new(seed));
            let kept: Vec<usize> = (0..32).filter(|k| hu[k * 16] == 40.0).collect();
            assert!((3..=24).contains(&kept.len()), "{kept:?}");
            assert!(kept.contains(&16), "seed {seed}: centre slice dropped: {kept:?}");
            assert!(kept.windows(2).all(|w| w[1] == w[0] + 1), "{kept:?}");
            for k in 0..32 {
                let pad = !kept.contains(&k);
                assert_eq!(hu[k * 16] == PAD_HU, pad);
                assert_eq!(lab[k * 16] == 0, pad);
            }
        }
    }

    #[test]
    fn nothing_changes_when_switched_off() {
        let size = [4, 4, 4];
        let mut hu: Vec<f32> = (0..64).map(|i| i as f32 * 10.0 - 300.0).collect();
        let before = hu.clone();
        let mut lab = vec![2u32; 64];
        randomise(&mut hu, &mut lab, size, &RandomiseOptions::none(), &mut Rng::new(1));
        assert_eq!(hu, before);
        assert!(lab.iter().all(|&l| l == 2));
    }
}
