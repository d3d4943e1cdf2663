//! Training patches: where to cut them (foreground oversampling, so thin
//! vessels are seen) and how to vary them (rotation 0–45°, scaling, noise,
//! brightness, contrast; DESIGN.md §1 step 7).

use glam::{DMat3, DQuat, DVec3};

use super::data::Prepared;
use super::randomise::{RandomiseOptions, randomise};
use crate::phantom::rng::Rng;

/// HU outside the volume.
const OUTSIDE_HU: f32 = -1000.0;

/// How patches are sampled and augmented.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentOptions {
    /// Fraction of patches centred on a vessel voxel (class picked uniformly
    /// among the classes present, then a voxel of it).
    pub foreground_fraction: f64,
    /// Probability that a patch is rotated and scaled.
    pub spatial_probability: f64,
    /// Largest rotation (degrees) about a random axis.
    pub max_rotation_deg: f64,
    /// Scale range (zoom factor).
    pub scale: (f64, f64),
    /// Largest Gaussian noise σ (HU).
    pub max_noise_hu: f64,
    /// Largest brightness shift (HU).
    pub max_brightness_hu: f64,
    /// Contrast factor range about the patch's own level.
    pub contrast: (f64, f64),
    /// Domain randomisation (intensity curve, bias, blur, sharpening,
    /// correlated noise, slabs), applied after the above.
    pub randomise: RandomiseOptions,
}

impl Default for AugmentOptions {
    fn default() -> Self {
        AugmentOptions {
            foreground_fraction: 2.0 / 3.0,
            spatial_probability: 0.7,
            max_rotation_deg: 45.0,
            scale: (0.85, 1.15),
            max_noise_hu: 25.0,
            max_brightness_hu: 30.0,
            contrast: (0.9, 1.1),
            randomise: RandomiseOptions::default(),
        }
    }
}

impl AugmentOptions {
    /// No augmentation and no oversampling: patches as they are (validation).
    pub fn none() -> Self {
        AugmentOptions {
            foreground_fraction: 0.0,
            spatial_probability: 0.0,
            max_rotation_deg: 0.0,
            scale: (1.0, 1.0),
            max_noise_hu: 0.0,
            max_brightness_hu: 0.0,
            contrast: (1.0, 1.0),
            randomise: RandomiseOptions::none(),
        }
    }
}

/// Picks a patch centre (voxel of `volume`).
pub fn pick_centre(volume: &Prepared, foreground_fraction: f64, rng: &mut Rng) -> [usize; 3] {
    let present: Vec<&Vec<u32>> = volume.foreground.iter().filter(|f| !f.is_empty()).collect();
    if !present.is_empty() && rng.unit() < foreground_fraction {
        let class = present[rng.index(present.len())];
        return volume.ct.coords(class[rng.index(class.len())] as usize);
    }
    let [nx, ny, nz] = volume.ct.dims();
    [rng.index(nx), rng.index(ny), rng.index(nz)]
}

/// Cuts one augmented patch of `size` = [D, H, W] (k, j, i) voxels centred
/// on `centre`, writing HU into `hu` and labels into `labels` (both D·H·W
/// long, i fastest).
pub fn cut_patch(
    volume: &Prepared,
    centre: [usize; 3],
    size: [usize; 3],
    options: &AugmentOptions,
    rng: &mut Rng,
    hu: &mut [f32],
    labels: &mut [u32],
) {
    cut_patch_with_context(volume, centre, size, options, rng, hu, labels, &mut []);
}

/// [`cut_patch`], also cutting the volume's context channels (a cascade's
/// coarse probabilities) into `context` (channel after channel, each
/// D·H·W; empty when the volume has none) through the same spatial
/// transform, trilinear, 0 outside the volume as the sliding window pads
/// them. Intensity changes touch the CT only, so the probabilities keep
/// their meaning; the random stream is the same as without context.
#[allow(clippy::too_many_arguments)]
pub fn cut_patch_with_context(
    volume: &Prepared,
    centre: [usize; 3],
    size: [usize; 3],
    options: &AugmentOptions,
    rng: &mut Rng,
    hu: &mut [f32],
    labels: &mut [u32],
    context: &mut [f32],
) {
    let [pd, ph, pw] = size;
    assert_eq!(hu.len(), pd * ph * pw);
    assert_eq!(labels.len(), hu.len());
    let channels = volume.context_channels();
    assert_eq!(context.len(), channels * hu.len(), "context buffer of the wrong size");
    let (pn, vn) = (hu.len(), volume.ct.len());
    let ctx: &[u8] = volume.context.as_deref().unwrap_or(&[]);
    let ct = &volume.ct;
    let lab = &volume.labels;
    let [nx, ny, nz] = ct.dims();
    let sp = ct.geometry.spacing;
    let c = DVec3::new(centre[0] as f64, centre[1] as f64, centre[2] as f64);
    let half = DVec3::new((pw as f64 - 1.0) / 2.0, (ph as f64 - 1.0) / 2.0, (pd as f64 - 1.0) / 2.0);

    if rng.unit() < options.spatial_probability {
        // Output voxel offset (mm) → source offset (mm) = R · offset / scale.
        let axis = loop {
            let v = DVec3::new(rng.sym(1.0), rng.sym(1.0), rng.sym(1.0));
            let l = v.length();
            if l > 0.1 && l <= 1.0 {
                break v / l;
            }
        };
        let angle = rng.unit() * options.max_rotation_deg.to_radians();
        let scale = rng.range(options.scale.0, options.scale.1);
        let m = DMat3::from_quat(DQuat::from_axis_angle(axis, angle)) * (1.0 / scale);
        // In voxel units: src = c + S⁻¹ · M · S · (p − half).
        let s = DMat3::from_diagonal(sp);
        let s_inv = DMat3::from_diagonal(DVec3::ONE / sp);
        let a = s_inv * m * s;
        let mut n = 0;
        for k in 0..pd {
            for j in 0..ph {
                let row = a * DVec3::new(-half.x, j as f64 - half.y, k as f64 - half.z) + c;
                let step = a.x_axis;
                for i in 0..pw {
                    let p = row + step * i as f64;
                    hu[n] = trilinear(ct.data(), [nx, ny, nz], p);
                    for c in 0..channels {
                        context[c * pn + n] = trilinear_u8(&ctx[c * vn..(c + 1) * vn], [nx, ny, nz], p);
                    }
                    let (ri, rj, rk) = (p.x.round(), p.y.round(), p.z.round());
                    labels[n] = if ri >= 0.0 && rj >= 0.0 && rk >= 0.0 {
                        lab.get(ri as usize, rj as usize, rk as usize).map_or(0, |&l| l as u32)
                    } else {
                        0
                    };
                    n += 1;
                }
            }
        }
    } else {
        let start = |c: usize, p: usize| c as i64 - (p as i64 / 2);
        let (si, sj, sk) = (start(centre[0], pw), start(centre[1], ph), start(centre[2], pd));
        let mut n = 0;
        for k in 0..pd as i64 {
            for j in 0..ph as i64 {
                for i in 0..pw as i64 {
                    let (x, y, z) = (si + i, sj + j, sk + k);
                    let inside = x >= 0 && y >= 0 && z >= 0;
                    let (v, l) = if inside {
                        match (ct.get(x as usize, y as usize, z as usize), lab.get(x as usize, y as usize, z as usize))
                        {
                            (Some(&v), Some(&l)) => (v as f32, l as u32),
                            _ => (OUTSIDE_HU, 0),
                        }
                    } else {
                        (OUTSIDE_HU, 0)
                    };
                    hu[n] = v;
                    labels[n] = l;
                    for c in 0..channels {
                        context[c * pn + n] = if inside && (x as usize) < nx && (y as usize) < ny && (z as usize) < nz {
                            ctx[c * vn + (z as usize * ny + y as usize) * nx + x as usize] as f32 / 255.0
                        } else {
                            0.0
                        };
                    }
                    n += 1;
                }
            }
        }
    }

    // Intensity: contrast about the patch mean, brightness, noise.
    let contrast = rng.range(options.contrast.0, options.contrast.1) as f32;
    let brightness = rng.sym(options.max_brightness_hu.max(1e-9)) as f32;
    let noise = (rng.unit() * options.max_noise_hu) as f32;
    if contrast != 1.0 || brightness.abs() > 1e-6 || noise > 0.0 {
        let mean = hu.iter().sum::<f32>() / hu.len() as f32;
        for v in hu.iter_mut() {
            let g = if noise > 0.0 { rng.gauss() as f32 * noise } else { 0.0 };
            *v = mean + (*v - mean) * contrast + brightness + g;
        }
    }
    randomise(hu, labels, size, &options.randomise, rng);
    if channels > 0 {
        // Slices a slab crop padded with air carry no context either, as in
        // a padded window at run time.
        let plane = ph * pw;
        for k in 0..pd {
            let slice = &hu[k * plane..(k + 1) * plane];
            if slice.iter().all(|&v| v == OUTSIDE_HU) {
                for c in 0..channels {
                    context[c * pn + k * plane..c * pn + (k + 1) * plane].fill(0.0);
                }
            }
        }
    }
}

/// Trilinear sample of a context channel (0–255 for 0–1) at voxel
/// position `p`; outside the volume reads 0.
#[inline]
fn trilinear_u8(data: &[u8], dims: [usize; 3], p: DVec3) -> f32 {
    let [nx, ny, nz] = dims;
    let (fx, fy, fz) = (p.x.floor(), p.y.floor(), p.z.floor());
    let (x0, y0, z0) = (fx as i64, fy as i64, fz as i64);
    if x0 < -1 || y0 < -1 || z0 < -1 || x0 >= nx as i64 || y0 >= ny as i64 || z0 >= nz as i64 {
        return 0.0;
    }
    let (tx, ty, tz) = ((p.x - fx) as f32, (p.y - fy) as f32, (p.z - fz) as f32);
    let at = |x: i64, y: i64, z: i64| -> f32 {
        if x < 0 || y < 0 || z < 0 || x >= nx as i64 || y >= ny as i64 || z >= nz as i64 {
            0.0
        } else {
            data[(z as usize * ny + y as usize) * nx + x as usize] as f32 / 255.0
        }
    };
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let c00 = lerp(at(x0, y0, z0), at(x0 + 1, y0, z0), tx);
    let c10 = lerp(at(x0, y0 + 1, z0), at(x0 + 1, y0 + 1, z0), tx);
    let c01 = lerp(at(x0, y0, z0 + 1), at(x0 + 1, y0, z0 + 1), tx);
    let c11 = lerp(at(x0, y0 + 1, z0 + 1), at(x0 + 1, y0 + 1, z0 + 1), tx);
    lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz)
}

/// Trilinear sample at voxel position `p`; outside the volume reads air.
#[inline]
fn trilinear(data: &[i16], dims: [usize; 3], p: DVec3) -> f32 {
    let [nx, ny, nz] = dims;
    let (fx, fy, fz) = (p.x.floor(), p.y.floor(), p.z.floor());
    let (x0, y0, z0) = (fx as i64, fy as i64, fz as i64);
    if x0 < -1 || y0 < -1 || z0 < -1 || x0 >= nx as i64 || y0 >= ny as i64 || z0 >= nz as i64 {
        return OUTSIDE_HU;
    }
    let (tx, ty, tz) = ((p.x - fx) as f32, (p.y - fy) as f32, (p.z - fz) as f32);
    let at = |x: i64, y: i64, z: i64| -> f32 {
        if x < 0 || y < 0 || z < 0 || x >= nx as i64 || y >= ny as i64 || z >= nz as i64 {
            OUTSIDE_HU
        } else {
            data[(z as usize * ny + y as usize) * nx + x as usize] as f32
        }
    };
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let c00 = lerp(at(x0, y0, z0), at(x0 + 1, y0, z0), tx);
    let c10 = lerp(at(x0, y0 + 1, z0), at(x0 + 1, y0 + 1, z0), tx);
    let c01 = lerp(at(x0, y0, z0 + 1), at(x0 + 1, y0, z0 + 1), tx);
    let c11 = lerp(at(x0, y0 + 1, z0 + 1), at(x0 + 1, y0 + 1, z0 + 1), tx);
    lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, Volume};

    fn ramp() -> Prepared {
        let dims = [20, 20, 20];
        let g = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
        let ct = Volume::from_vec(dims, (0..8000).map(|n| (n % 20) as i16 * 10).collect(), g).unwrap();
        let labels =
            Volume::from_vec(dims, (0..8000).map(|n| if n % 20 == 10 { 2u8 } else { 0 }).collect(), g).unwrap();
        let foreground = [
            vec![],
            labels.data().iter().enumerate().filter(|(_, l)| **l == 2).map(|(i, _)| i as u32).collect(),
            vec![],
        ];
        Prepared { name: "ramp".into(), ct, labels, plain: true, foreground, context: None }
    }

    #[test]
    fn plain_patch_is_a_copy() {
        let v = ramp();
        let mut rng = Rng::new(1);
        let (mut hu, mut lab) = (vec![0.0; 512], vec![0; 512]);
        cut_patch(&v, [10, 10, 10], [8, 8, 8], &AugmentOptions::none(), &mut rng, &mut hu, &mut lab);
        // Patch starts at i = 6: HU 60, 70, ...; label 2 at i = 10 (offset 4).
        assert_eq!(&hu[..8], &[60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0]);
        assert_eq!(lab[4], 2);
        assert_eq!(lab[3], 0);
        // Off the edge reads air.
        cut_patch(&v, [0, 0, 0], [8, 8, 8], &AugmentOptions::none(), &mut rng, &mut hu, &mut lab);
        assert_eq!(hu[0], OUTSIDE_HU);
    }

    #[test]
    fn rotation_keeps_labels_on_their_intensity() {
        // Labels and HU travel together through the same transform.
        let v = ramp();
        let opts = AugmentOptions {
            spatial_probability: 1.0,
            max_noise_hu: 0.0,
            max_brightness_hu: 0.0,
            contrast: (1.0, 1.0),
            randomise: RandomiseOptions::none(),
            ..Default::default()
        };
        let mut rng = Rng::new(9);
        let (mut hu, mut lab) = (vec![0.0; 512], vec![0; 512]);
        for _ in 0..10 {
            cut_patch(&v, [10, 10, 10], [8, 8, 8], &opts, &mut rng, &mut hu, &mut lab);
            let on: Vec<f32> = hu.iter().zip(&lab).filter(|(_, l)| **l == 2).map(|(h, _)| *h).collect();
            assert!(!on.is_empty());
            // Nearest-neighbour labels sit within half a voxel (≤ 5 HU + interpolation) of i = 10.
            assert!(on.iter().all(|h| (h - 100.0).abs() <= 10.0), "{on:?}");
        }
    }

    #[test]
    fn context_travels_with_the_ct_and_keeps_its_meaning() {
        // Context channel 0 = the label-2 indicator (255 on the vessel), channel 1 = 128 everywhere.
        let mut v = ramp();
        let mut ctx: Vec<u8> = v.labels.data().iter().map(|&l| if l == 2 { 255 } else { 0 }).collect();
        ctx.extend(std::iter::repeat_n(128u8, 8000));
        v.context = Some(ctx);
        assert_eq!(v.context_channels(), 2);
        let mut rng = Rng::new(4);
        let (mut hu, mut lab, mut c) = (vec![0.0; 512], vec![0; 512], vec![0.0; 1024]);
        // Full augmentation: rotation, scaling, intensity and domain randomisation.
        for _ in 0..10 {
            cut_patch_with_context(
                &v,
                [10, 10, 10],
                [8, 8, 8],
                &AugmentOptions { spatial_probability: 1.0, ..Default::default() },
                &mut rng,
                &mut hu,
                &mut lab,
                &mut c,
            );
            for n in 0..512 {
                // Labels are nearest-neighbour: on the vessel, the context is at least half on.
                if lab[n] == 2 {
                    assert!(c[n] >= 0.49, "{}", c[n]);
                }
                assert!((0.0..=1.0).contains(&c[n]));
                // The patch stays inside the volume: the constant channel stays 128/255
                // whatever the intensity changes.
                assert!((c[512 + n] - 128.0 / 255.0).abs() < 1e-6, "{}", c[512 + n]);
            }
        }
        // Without a spatial transform the context is a copy; off the edge it is 0.
        cut_patch_with_context(&v, [0, 0, 0], [8, 8, 8], &AugmentOptions::none(), &mut rng, &mut hu, &mut lab, &mut c);
        assert_eq!(c[0], 0.0);
        let last = 511; // patch voxel (7, 7, 7) = volume voxel (3, 3, 3)
        assert!((c[512 + last] - 128.0 / 255.0).abs() < 1e-6);
    }

    #[test]
    fn oversampling_hits_vessels() {
        let v = ramp();
        let mut rng = Rng::new(3);
        let hits = (0..300).filter(|_| pick_centre(&v, 2.0 / 3.0, &mut rng)[0] == 10).count();
        // 2/3 on the vessel plus 1/20 of the random rest.
        assert!((180..=240).contains(&hits), "{hits}");
    }
}
