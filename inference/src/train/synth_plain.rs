//! Plain-scan synthesis (DESIGN.md §1 "Training", claim 6): turn a labelled
//! contrast-enhanced CT into the plain (non-contrast) scan it would have been.
//!
//! Per vessel class, the region's mean HU and its window width (the spread of
//! its HU values) give an **enhancement factor** f = (mean + 1000) / (plain
//! level + 1000), computed on attenuation (HU + 1000) so that air (−1000) and
//! lung stay where they are. The region's local signal is divided by f; the
//! rest of the enhanced tissue (heart chambers and vessels without a label,
//! the bright rims around labelled vessels; never bone) by one uniform
//! factor. Only the
//! smooth part of the image is scaled: the difference to a 3×3×3 local mean
//! (noise and fine texture) is kept as it was, so the synthesised scan has the
//! original's noise.

use rayon::prelude::*;
use vasa_scan::neighbourhood::neighbours_26;
use vasa_scan::{LabelMap, Volume};

pub use crate::refine::hu_range::core_mask;

/// Typical unenhanced blood (HU): where the synthesised vessels land.
pub const PLAIN_BLOOD_HU: f32 = 40.0;

/// How to synthesise a plain scan.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Mean HU the vessel regions are brought down to.
    pub plain_level_hu: f32,
    /// Unlabelled voxels at or above this HU that touch the labelled vessels
    /// (through voxels also above it) count as "remaining enhanced tissue".
    /// Unenhanced soft tissue and blood never exceed it.
    pub enhanced_threshold_hu: f32,
    /// Classes treated as vessels (artery, vein, aorta).
    pub classes: Vec<u8>,
    /// Window width, in standard deviations of a region's HU, kept when
    /// measuring its mean (rejects partial-volume rims and outliers).
    pub window_sigmas: f32,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            plain_level_hu: PLAIN_BLOOD_HU,
            enhanced_threshold_hu: 110.0,
            classes: vec![1, 2, 3],
            window_sigmas: 2.0,
        }
    }
}

/// What the synthesis measured and did, per class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassFactor {
    /// Label value.
    pub class: u8,
    /// Labelled voxels.
    pub voxels: usize,
    /// Mean HU inside the class's window before synthesis.
    pub mean_hu: f32,
    /// Window width (HU) the mean was taken over.
    pub window_width_hu: f32,
    /// Attenuation divisor applied (1 = left alone).
    pub factor: f32,
}

/// A synthesised plain scan and the factors that made it.
#[derive(Debug, Clone)]
pub struct SynthPlain {
    /// The plain scan, on the input's grid.
    pub ct: Volume<i16>,
    /// Per vessel class: mean, window and factor.
    pub factors: Vec<ClassFactor>,
    /// The uniform factor applied to the remaining enhanced tissue (from its
    /// own mean HU, so it lands at the plain level too).
    pub rest_factor: f32,
    /// Voxels counted as remaining enhanced tissue.
    pub rest_voxels: usize,
}

/// Why a plain scan could not be synthesised.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SynthError {
    /// CT and labels are not on the same grid.
    #[error("the labels' grid {labels:?} differs from the scan's {ct:?}")]
    GridMismatch {
        /// Scan dimensions.
        ct: [usize; 3],
        /// Label dimensions.
        labels: [usize; 3],
    },
    /// No vessel class has a voxel.
    #[error("the labels hold no artery, vein or aorta voxel")]
    NoVessels,
}

/// Synthesises the plain scan of an enhanced `ct` whose vessels are `labels`.
pub fn synthesize_plain(ct: &Volume<i16>, labels: &LabelMap, options: &SynthOptions) -> Result<SynthPlain, SynthError> {
    if !ct.same_grid(labels) {
        return Err(SynthError::GridMismatch { ct: ct.dims(), labels: labels.dims() });
    }
    let target = options.plain_level_hu + 1000.0;
    let mut class_of = [usize::MAX; 256];
    for (n, &c) in options.classes.iter().enumerate() {
        class_of[c as usize] = n;
    }

    // Per class: mean and spread of the core (voxels whose six neighbours
    // share the label: free of partial volume), then the mean inside the window.
    let n = options.classes.len();
    let core = core_mask(labels);
    let counts = moments(ct, labels, &class_of, n, None, None);
    let sums = moments(ct, labels, &class_of, n, None, Some(&core));
    let sums: Vec<(f64, f64, f64)> =
        sums.into_iter().zip(&counts).map(|(c, all)| if c.0 >= 8.0 { c } else { *all }).collect();
    let mut factors = Vec::with_capacity(n);
    let windows: Vec<(f64, f64)> = sums
        .iter()
        .map(|&(cnt, s, s2)| {
            let c = cnt.max(1.0);
            let mean = s / c;
            let sd = (s2 / c - mean * mean).max(0.0).sqrt();
            let half = options.window_sigmas as f64 * sd.max(1.0);
            (mean - half, mean + half)
        })
        .collect();
    let inside = moments(ct, labels, &class_of, n, Some(&windows), Some(&core));
    for (idx, &class) in options.classes.iter().enumerate() {
        let voxels = counts[idx].0 as usize;
        let (cnt, s, _) = inside[idx];
        let mean = if cnt > 0.0 { (s / cnt) as f32 } else { options.plain_level_hu };
        let factor = ((mean + 1000.0) / target).max(1.0);
        let (lo, hi) = windows[idx];
        factors.push(ClassFactor { class, voxels, mean_hu: mean, window_width_hu: (hi - lo) as f32, factor });
    }
    let total: usize = factors.iter().map(|f| f.voxels).sum();
    if total == 0 {
        return Err(SynthError::NoVessels);
    }
    // Remaining enhanced tissue: bright voxels connected to the labelled
    // vessels, never bone (anything inside a shell brighter than every vessel).
    let upper = factors
        .iter()
        .filter(|f| f.voxels > 0)
        .map(|f| f.mean_hu + f.window_width_hu)
        .fold(f32::MIN, f32::max)
        .max(options.enhanced_threshold_hu);
    let bone = bone_mask(ct, CORTEX_HU);
    let rest = enhanced_rest(ct, labels, &class_of, &bone, options.enhanced_threshold_hu, upper);
    drop(bone);
    let (rest_voxels, rest_sum) = rest
        .par_iter()
        .zip(ct.data().par_iter())
        .filter(|(r, _)| **r)
        .map(|(_, &h)| (1usize, h as f64))
        .reduce(|| (0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    // One uniform factor for the rest, from its own mean.
    let rest_factor =
        if rest_voxels > 0 { (((rest_sum / rest_voxels as f64) as f32 + 1000.0) / target).max(1.0) } else { 1.0 };

    // Divide the local signal, keep the detail.
    let smooth = box_mean_3(ct);
    let class_factor: Vec<f32> = factors.iter().map(|f| f.factor).collect();
    let mut out = ct.clone();
    out.data_mut().par_iter_mut().enumerate().for_each(|(i, v)| {
        let c = class_of[labels.data()[i] as usize];
        let f = if c != usize::MAX {
            class_factor[c]
        } else if rest[i] {
            rest_factor
        } else {
            return;
        };
        if f <= 1.0 {
            return;
        }
        let a = *v as f32 + 1000.0;
        let s = smooth[i] + 1000.0;
        let lowered = s / f + (a - s) - 1000.0;
        *v = lowered.round().clamp(-1024.0, 3071.0) as i16;
    });
    Ok(SynthPlain { ct: out, factors, rest_factor, rest_voxels })
}

/// (count, sum, sum of squares) of HU per class index, optionally only
/// inside each class's (lo, hi) window.
fn moments(
    ct: &Volume<i16>,
    labels: &LabelMap,
    class_of: &[usize; 256],
    n: usize,
    windows: Option<&[(f64, f64)]>,
    core: Option<&[bool]>,
) -> Vec<(f64, f64, f64)> {
    const CHUNK: usize = 1 << 16;
    ct.data()
        .par_chunks(CHUNK)
        .zip(labels.data().par_chunks(CHUNK))
        .enumerate()
        .fold(
            || vec![(0.0, 0.0, 0.0); n],
            |mut acc, (chunk, (hu, lab))| {
                for (o, (&h, &l)) in hu.iter().zip(lab).enumerate() {
                    let c = class_of[l as usize];
                    if c == usize::MAX || core.is_some_and(|m| !m[chunk * CHUNK + o]) {
                        continue;
                    }
                    let h = h as f64;
                    if let Some(w) = windows
                        && !(w[c].0..=w[c].1).contains(&h)
                    {
                        continue;
                    }
                    let e = &mut acc[c];
                    e.0 += 1.0;
                    e.1 += h;
                    e.2 += h * h;
                }
                acc
            },
        )
        .reduce(
            || vec![(0.0, 0.0, 0.0); n],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    x.0 += y.0;
                    x.1 += y.1;
                    x.2 += y.2;
                }
                a
            },
        )
}

/// Mean HU of the core (see [`core_mask`]) of the voxels of `classes`, or of
/// all their voxels when the core is empty; `None` without such voxels.
pub fn vessel_core_mean(ct: &Volume<i16>, labels: &LabelMap, classes: &[u8]) -> Option<f64> {
    let core = core_mask(labels);
    let mean_where = |use_core: bool| {
        let (n, s) = (0..ct.len())
            .into_par_iter()
            .filter(|&i| classes.contains(&labels.data()[i]) && (!use_core || core[i]))
            .map(|i| (1u64, ct.data()[i] as f64))
            .reduce(|| (0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        (n > 0).then(|| s / n as f64)
    };
    mean_where(true).or_else(|| mean_where(false))
}

/// Cortical bone after the scanner's blur: a thin cortex reads well below
/// its true 700–1500 HU, as low as contrast-filled blood (a 1 mm vertebral
/// cortex on 1.4 mm voxels reads 330–450 HU: at 400 HU its shell broke and
/// the marrow it encloses was lowered as if it were blood).
const CORTEX_HU: f32 = 330.0;

/// Bone: thin dense shells (voxels above `hu` that an opening by a 5-voxel
/// box removes, and not next to what it keeps: cortex, not a contrast-filled
/// blood pool), gaps of a voxel
/// closed, with what they enclose in any axis-aligned slice (cancellous bone
/// is as bright as contrast-filled blood), grown by a voxel.
fn bone_mask(ct: &Volume<i16>, hu: f32) -> vasa_scan::masks::Mask {
    use vasa_scan::masks;
    let dense = ct.map(|&h| h as f32 > hu);
    // Thick dense regions (blood pools) and two voxels around them: their
    // blurred rims would otherwise pass for a shell.
    let thick = masks::dilate(&masks::erode(&dense, [2, 2, 2]), [4, 4, 4]);
    let mut shells = dense;
    shells.data_mut().par_iter_mut().zip(thick.data().par_iter()).for_each(|(s, &t)| *s &= !t);
    drop(thick);
    let shells = masks::close(&shells, [1, 1, 1]);
    // A rib cut along its length is open in its axial slice but closed in a
    // coronal or sagittal one: fill along every axis.
    let mut filled = masks::fill_holes_per_slice(&shells, 0);
    for axis in [1, 2] {
        let f = masks::fill_holes_per_slice(&shells, axis);
        filled.data_mut().par_iter_mut().zip(f.data().par_iter()).for_each(|(a, &b)| *a |= b);
    }
    masks::dilate(&filled, [1, 1, 1])
}

/// Unlabelled voxels in [lo, hi] HU outside `bone`, 26-connected to a
/// labelled vessel voxel through such voxels.
fn enhanced_rest(
    ct: &Volume<i16>,
    labels: &LabelMap,
    class_of: &[usize; 256],
    bone: &vasa_scan::masks::Mask,
    lo: f32,
    hi: f32,
) -> Vec<bool> {
    let bright = |i: usize| {
        let h = ct.data()[i] as f32;
        h >= lo && h <= hi && !bone.data()[i] && class_of[labels.data()[i] as usize] == usize::MAX
    };
    let mut rest = vec![false; ct.len()];
    let mut queue: Vec<usize> = Vec::new();
    // Seeds: bright unlabelled neighbours of labelled voxels.
    for idx in 0..ct.len() {
        if class_of[labels.data()[idx] as usize] != usize::MAX {
            queue.push(idx);
        }
    }
    let mut head = 0;
    while head < queue.len() {
        let idx = queue[head];
        head += 1;
        for m in neighbours_26(ct.dims(), ct.coords(idx)) {
            if !rest[m] && bright(m) {
                rest[m] = true;
                queue.push(m);
            }
        }
    }
    rest
}

/// 3×3×3 mean of the HU (edges replicate), separable.
fn box_mean_3(ct: &Volume<i16>) -> Vec<f32> {
    let [nx, ny, nz] = ct.dims();
    let mut a: Vec<f32> = ct.data().par_iter().map(|&v| v as f32).collect();
    let mut b = vec![0.0f32; a.len()];
    let plane = nx * ny;
    // Along i.
    b.par_chunks_mut(nx).zip(a.par_chunks(nx)).for_each(|(o, row)| {
        for i in 0..nx {
            let l = row[i.saturating_sub(1)];
            let r = row[(i + 1).min(nx - 1)];
            o[i] = (l + row[i] + r) / 3.0;
        }
    });
    // Along j.
    a.par_chunks_mut(plane).zip(b.par_chunks(plane)).for_each(|(o, sl)| {
        for j in 0..ny {
            let (jm, jp) = (j.saturating_sub(1), (j + 1).min(ny - 1));
            for i in 0..nx {
                o[j * nx + i] = (sl[jm * nx + i] + sl[j * nx + i] + sl[jp * nx + i]) / 3.0;
            }
        }
    });
    // Along k.
    b.par_chunks_mut(plane).enumerate().for_each(|(k, o)| {
        let (km, kp) = (k.saturating_sub(1), (k + 1).min(nz - 1));
        for p in 0..plane {
            o[p] = (a[km * plane + p] + a[k * plane + p] + a[kp * plane + p]) / 3.0;
        }
    });
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phantom::Phase;
    use crate::testing::coarse_phantom;

    #[allow(clippy::type_complexity)]
    fn mean_sd(values: impl Iterator<Item = f64>) -> (f64, f64) {
        let v: Vec<f64> = values.collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        (m, sd)
    }

    #[test]
    fn arterial_phantom_becomes_plain() {
        let p = coarse_phantom(3, Phase::Ctpa);
        let s = synthesize_plain(&p.ct, &p.labels, &SynthOptions::default()).unwrap();
        for f in &s.factors {
            assert!(f.voxels > 0, "{f:?}");
            assert!(f.factor > 1.05, "class {} was enhanced: {f:?}", f.class);
            let mean = vessel_core_mean(&s.ct, &p.labels, &[f.class]).unwrap();
            assert!((30.0..=60.0).contains(&mean), "class {} mean {mean} HU after synthesis", f.class);
            let before = vessel_core_mean(&p.ct, &p.labels, &[f.class]).unwrap();
            assert!(before > 100.0, "class {} core mean {before} HU before", f.class);
        }
        // Lung and air do not move (labelled voxels are scaled by design,
        // even a sub-voxel vessel's that is mostly air).
        let mut lung = 0;
        for (((&a, &b), &l), &c) in p.ct.data().iter().zip(s.ct.data()).zip(p.lungs.data()).zip(p.labels.data()) {
            if (l != 0 || a < -900) && c == 0 {
                assert_eq!(a, b);
                lung += 1;
            }
        }
        assert!(lung > 10_000);
        assert!(s.rest_voxels > 0, "the enhanced heart chambers count as remaining tissue");
    }

    #[test]
    fn synthesised_plain_is_close_to_the_native_plain_phantom() {
        // Same seed, same anatomy: per structure, the synthesised scan's mean
        // must be near the native plain scan's; bone must not move.
        use crate::phantom::{self, PhantomOptions};
        for seed in [5, 6] {
            compare_with_native(
                &phantom::generate(&PhantomOptions::new(seed, Phase::Ctpa)).unwrap(),
                &phantom::generate(&PhantomOptions::new(seed, Phase::Plain)).unwrap(),
            );
        }
    }

    fn compare_with_native(a: &crate::phantom::Phantom, p: &crate::phantom::Phantom) {
        assert_eq!(a.labels.data(), p.labels.data(), "same anatomy");
        let s = synthesize_plain(&a.ct, &a.labels, &SynthOptions::default()).unwrap();
        let core = core_mask(&a.labels);
        let mean = |x: &Volume<i16>, pick: &dyn Fn(usize) -> bool| {
            let (n, sum) =
                (0..x.len()).filter(|&i| pick(i)).fold((0usize, 0f64), |(n, s), i| (n + 1, s + x.data()[i] as f64));
            sum / n.max(1) as f64
        };
        // Vessel cores land near the native plain scan.
        for class in [1u8, 2, 3] {
            let pick = |i: usize| a.labels.data()[i] == class && core[i];
            let (enh, syn, nat) = (mean(&a.ct, &pick), mean(&s.ct, &pick), mean(&p.ct, &pick));
            eprintln!("class {class}: enhanced {enh:.0}, synthesised {syn:.0}, native plain {nat:.0} HU");
            assert!((syn - nat).abs() < 30.0, "class {class}: synthesised {syn:.0} vs native {nat:.0} HU");
        }
        // The heart and venae cavae hold unopacified inflow and, in some
        // seeds, undiluted contrast from the arm: one uniform factor cannot
        // flatten that (nor can it on a real CTPA), but it must take most of
        // the enhancement away.
        let pick = |i: usize| a.labels.data()[i] == 5 && core[i];
        let (enh, syn, nat) = (mean(&a.ct, &pick), mean(&s.ct, &pick), mean(&p.ct, &pick));
        eprintln!("class 5: enhanced {enh:.0}, synthesised {syn:.0}, native plain {nat:.0} HU");
        assert!(
            (syn - nat).abs() < 0.25 * (enh - nat).abs(),
            "heart: enhanced {enh:.0}, synthesised {syn:.0} vs native {nat:.0} HU"
        );
        // Bone: bright in the native plain scan, far from vessels and heart.
        let near = vasa_scan::masks::dilate(&a.labels.map(|&l| l != 0 && l != 4), [3, 3, 3]);
        let bone = |i: usize| p.ct.data()[i] > 250 && !near.data()[i];
        let (enh, syn, nat) = (mean(&a.ct, &bone), mean(&s.ct, &bone), mean(&p.ct, &bone));
        eprintln!("bone: enhanced {enh:.0}, synthesised {syn:.0}, native plain {nat:.0} HU");
        assert!((syn - enh).abs() < 5.0, "bone must not be lowered: {enh:.0} → {syn:.0} HU");
    }

    #[test]
    fn noise_is_kept() {
        // A flat enhanced cube with known noise inside a labelled region.
        let dims = [24, 24, 24];
        let geometry = vasa_scan::Geometry::axis_aligned(glam::DVec3::ONE, glam::DVec3::ZERO);
        let mut state = 12345u64;
        let mut noise = || {
            // Sum of 4 uniforms: roughly Gaussian, σ ≈ 20 HU.
            let mut s = 0.0;
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s += (state % 10_000) as f64 / 10_000.0 - 0.5;
            }
            s * 20.0 / (4.0f64 / 12.0).sqrt()
        };
        let data: Vec<i16> = (0..24 * 24 * 24).map(|_| (350.0 + noise()).round() as i16).collect();
        let ct = Volume::from_vec(dims, data, geometry).unwrap();
        let labels = Volume::filled(dims, 1u8, geometry);
        let s = synthesize_plain(&ct, &labels, &SynthOptions::default()).unwrap();
        let inner = |v: &Volume<i16>| {
            let mut out = Vec::new();
            for k in 2..22 {
                for j in 2..22 {
                    for i in 2..22 {
                        out.push(*v.get(i, j, k).unwrap() as f64);
                    }
                }
            }
            out
        };
        let (m0, sd0) = mean_sd(inner(&ct).into_iter());
        let (m1, sd1) = mean_sd(inner(&s.ct).into_iter());
        assert!((m0 - 350.0).abs() < 3.0);
        assert!((30.0..=60.0).contains(&m1), "mean {m1}");
        assert!((sd1 / sd0 - 1.0).abs() < 0.2, "noise σ {sd0} → {sd1}");
    }

    #[test]
    fn errors_are_named() {
        let p = coarse_phantom(3, Phase::Ctpa);
        let small = Volume::filled([4, 4, 4], 0u8, p.ct.geometry);
        assert!(matches!(
            synthesize_plain(&p.ct, &small, &SynthOptions::default()),
            Err(SynthError::GridMismatch { .. })
        ));
        let empty = Volume::filled(p.ct.dims(), 0u8, p.ct.geometry);
        assert_eq!(synthesize_plain(&p.ct, &empty, &SynthOptions::default()).unwrap_err(), SynthError::NoVessels);
    }
}
