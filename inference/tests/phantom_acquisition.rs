//! The phantom's acquisition: noise level and texture per kernel, edge
//! overshoot of sharp kernels, thick slices that average, fields of view,
//! CT numbers per contrast phase, dense contrast with streaks, and the same
//! bytes for any thread count. Small grids keep it quick.

use glam::DVec3;
use vasa_inference::phantom::rng::Rng;
use vasa_inference::phantom::{
    Acquisition, Fov, Intensities, Kernel, Phantom, PhantomOptions, Phase, Structure, bifurcation_z, generate, metrics,
};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

/// A small grid around the pulmonary bifurcation (the slab field re-centres
/// it there; the anatomy is the whole chest's).
fn hilum(seed: u64, phase: Phase, dims: [usize; 3], spacing: DVec3) -> PhantomOptions {
    let mut o = PhantomOptions::grid(seed, phase, dims, spacing);
    o.fov = Fov::Slab { mm: (dims[2] as f64 * spacing.z).clamp(10.0, 150.0) };
    o
}

fn with(mut o: PhantomOptions, kernel: Kernel, sigma: f64) -> PhantomOptions {
    o.kernel = kernel;
    o.noise_sigma = Some(sigma);
    o
}

/// The noise of `ph` (the difference from its noise-free twin `clean`) over
/// the body, away from clamped air: σ, neighbour correlation along i, and
/// the mean squared neighbour difference over the variance (high-frequency share).
fn noise(ph: &Phantom, clean: &Phantom) -> (f64, f64, f64) {
    let [nx, _, _] = ph.ct.dims();
    let (a, b) = (ph.ct.data(), clean.ct.data());
    let (mut s, mut s2, mut c1, mut d2, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..a.len() - 1 {
        if i % nx + 1 == nx || !(-900..2000).contains(&b[i]) || !(-900..2000).contains(&b[i + 1]) {
            continue;
        }
        let (u, v) = (a[i] as f64 - b[i] as f64, a[i + 1] as f64 - b[i + 1] as f64);
        s += u;
        s2 += u * u;
        c1 += u * v;
        d2 += (u - v) * (u - v);
        n += 1.0;
    }
    let m = s / n;
    let var = s2 / n - m * m;
    (var.sqrt(), (c1 / n - m * m) / var, d2 / n / var)
}

#[test]
fn noise_has_the_requested_sigma_and_the_kernel_texture() {
    let base = hilum(31, Phase::Plain, [160, 160, 6], DVec3::new(0.7, 0.7, 2.5));
    let clean = generate(&with(base.clone(), Kernel::Standard, 0.0)).unwrap();
    let mut hf = Vec::new();
    for (kernel, sigma) in [(Kernel::Soft, 30.0), (Kernel::Standard, 12.0), (Kernel::Sharp, 25.0)] {
        let ph = generate(&with(base.clone(), kernel, sigma)).unwrap();
        let clean_k = if kernel == Kernel::Standard {
            clean.clone()
        } else {
            generate(&with(base.clone(), kernel, 0.0)).unwrap()
        };
        let (sd, rho, share) = noise(&ph, &clean_k);
        eprintln!(
            "{kernel}: measured σ {sd:.2} HU for {sigma}, neighbour correlation {rho:.2}, high-frequency share {share:.2}"
        );
        assert!((sd - sigma).abs() < 0.2 * sigma, "{kernel}: measured σ {sd:.1} for {sigma} HU");
        assert!(rho > 0.2 || kernel == Kernel::Sharp, "{kernel}: neighbour correlation {rho:.2}");
        assert!(rho > -0.2, "{kernel}: noise should not be strongly anti-correlated ({rho:.2})");
        hf.push(share);
    }
    assert!(hf[0] < hf[1] && hf[1] < hf[2], "high-frequency share soft/standard/sharp {hf:?}");
    // The phantom reports the σ it used.
    let ph = generate(&with(base, Kernel::Standard, 12.0)).unwrap();
    assert_eq!(ph.intensities.noise_sigma, 12.0);
}

#[test]
fn sharp_kernels_overshoot_at_the_body_outline_and_soft_ones_do_not() {
    let grid = PhantomOptions::grid(32, Phase::Plain, [200, 200, 4], DVec3::new(1.9, 1.9, 5.0));
    let below_air = |kernel| {
        let ph = generate(&with(grid.clone(), kernel, 0.0)).unwrap();
        ph.ct.data().iter().filter(|&&v| v < -1005).count()
    };
    let (soft, sharp) = (below_air(Kernel::Soft), below_air(Kernel::Sharp));
    assert_eq!(soft, 0, "a soft kernel never undershoots air");
    assert!(sharp > 200, "a sharp kernel undershoots outside the skin: {sharp} voxels below −1005 HU");
}

/// Mean |a − b| over voxels where both are in the body.
fn mean_abs(a: &[f32], b: &[f32]) -> f64 {
    let (mut s, mut n) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        if *x > -900.0 && *y > -900.0 {
            s += (x - y).abs() as f64;
            n += 1.0;
        }
    }
    s / n
}

#[test]
fn a_thick_slice_averages_the_thin_ones_it_covers() {
    let spacing = |z| DVec3::new(1.1, 1.1, z);
    let thin = generate(&with(hilum(33, Phase::Ctpa, [160, 160, 25], spacing(1.0)), Kernel::Standard, 0.0)).unwrap();
    let mut o = with(hilum(33, Phase::Ctpa, [160, 160, 5], spacing(5.0)), Kernel::Standard, 0.0);
    o.thickness = Some(5.0);
    let thick = generate(&o).unwrap();
    // Same slice centres: thick slice k is thin slice 2 + 5k.
    let (zt, zn) = (thick.ct.geometry.origin.z, thin.ct.geometry.origin.z);
    assert!((zt - (zn + 2.0)).abs() < 1e-9, "thick origin {zt}, thin origin {zn}");
    let plane = 160 * 160;
    let slice = |ph: &Phantom, k: usize| -> Vec<f32> {
        ph.ct.data()[k * plane..(k + 1) * plane].iter().map(|&v| v as f32).collect()
    };
    let (mut to_mean, mut to_centre) = (0.0, 0.0);
    for k in 1..4 {
        let c = 2 + 5 * k;
        let mut avg = vec![0f32; plane];
        for kk in c - 2..=c + 2 {
            for (a, v) in avg.iter_mut().zip(slice(&thin, kk)) {
                *a += v / 5.0;
            }
        }
        to_mean += mean_abs(&slice(&thick, k), &avg) / 3.0;
        to_centre += mean_abs(&slice(&thick, k), &slice(&thin, c)) / 3.0;
    }
    assert!(to_mean < 12.0, "thick slice vs mean of the thin ones: {to_mean:.1} HU");
    assert!(to_centre > 2.0 * to_mean, "a thick slice is not the centre slice: {to_centre:.1} vs {to_mean:.1} HU");
    // Thin vessels lose contrast in thick slices.
    let lung_vessels = |ph: &Phantom| {
        let (m, _, n) = metrics::hu_stats(&ph.ct, &ph.labels, ARTERY, false);
        assert!(n > 100, "{n} artery voxels");
        m
    };
    let (a_thin, a_thick) = (lung_vessels(&thin), lung_vessels(&thick));
    assert!(a_thick < a_thin - 15.0, "artery mean {a_thick:.0} HU in 5 mm slices vs {a_thin:.0} HU in 1 mm");
}

#[test]
fn a_slab_covers_the_pulmonary_bifurcation_and_one_side_covers_one_lung() {
    let acq = |fov| Acquisition {
        pixel_mm: 0.98,
        thickness_mm: 5.0,
        spacing_mm: 5.0,
        kernel: Kernel::Standard,
        noise_sigma: 10.0,
        fov,
    };
    let o = PhantomOptions::from_acquisition(34, Phase::Ctpa, &acq(Fov::Slab { mm: 40.0 })).unwrap();
    assert_eq!(o.dims, [512, 512, 8]);
    let slab = generate(&o).unwrap();
    let g = &slab.ct.geometry;
    let (z0, z1) = (g.origin.z - 2.5, g.origin.z + 8.0 * 5.0 - 2.5);
    assert!((z1 - z0 - 40.0).abs() < 1e-9);
    let bif = bifurcation_z(&slab.trees);
    assert!(bif > z0 + 10.0 && bif < z1 - 10.0, "bifurcation at z {bif:.1} outside the slab {z0:.1}..{z1:.1}");
    let count = |ph: &Phantom, s: Structure| ph.anatomy.data().iter().filter(|&&v| v == s as u8).count();
    assert!(count(&slab, Structure::PulmonaryTrunk) > 100);

    for (fov, own, other) in [
        (Fov::Left, Structure::LungLeft, Structure::LungRight),
        (Fov::Right, Structure::LungRight, Structure::LungLeft),
    ] {
        let o = PhantomOptions::from_acquisition(34, Phase::Plain, &acq(fov)).unwrap();
        assert!(o.dims[0] < 256 && o.dims[1] > 256, "{fov}: {:?}", o.dims);
        let ph = generate(&o).unwrap();
        let (own_n, other_n) = (count(&ph, own), count(&ph, other));
        assert!(own_n > 50_000 && other_n * 8 < own_n, "{fov}: own lung {own_n} voxels, other lung {other_n}");
        // The field reaches from just across the midline to outside the body.
        let g = &ph.ct.geometry;
        let xs = [g.origin.x, g.origin.x + (o.dims[0] - 1) as f64 * g.spacing.x];
        let (inner, outer) = if fov == Fov::Left { (xs[0], xs[1]) } else { (-xs[1], -xs[0]) };
        assert!((-30.0..0.0).contains(&inner) && outer > 160.0, "{fov}: x from {:.0} to {:.0}", xs[0], xs[1]);
    }
}

/// Mean HU of a class over interior voxels.
fn mean(ph: &Phantom, class: u8) -> f64 {
    let (m, _, n) = metrics::hu_stats(&ph.ct, &ph.labels, class, true);
    assert!(n > 100, "only {n} interior voxels of class {class}");
    m
}

#[test]
fn each_phase_has_its_ct_numbers() {
    for seed in [35, 36] {
        let o = |phase| hilum(seed, phase, [150, 150, 24], DVec3::new(1.0, 1.0, 2.0));
        let plain = generate(&o(Phase::Plain)).unwrap();
        for (c, name) in [(ARTERY, "artery"), (VEIN, "vein"), (AORTA, "aorta")] {
            let m = mean(&plain, c);
            assert!((25.0..=60.0).contains(&m), "seed {seed} plain {name}: {m:.0} HU");
        }
        let ctpa = generate(&o(Phase::Ctpa)).unwrap();
        let (pa, ao) = (mean(&ctpa, ARTERY), mean(&ctpa, AORTA));
        assert!((240.0..=510.0).contains(&pa) && ao < pa - 40.0, "seed {seed} ctpa: PA {pa:.0}, aorta {ao:.0}");
        let art = generate(&o(Phase::Arterial)).unwrap();
        let (pa, ao) = (mean(&art, ARTERY), mean(&art, AORTA));
        assert!((190.0..=450.0).contains(&ao) && pa < ao, "seed {seed} arterial: PA {pa:.0}, aorta {ao:.0}");
        let ven = generate(&o(Phase::Venous)).unwrap();
        let m: Vec<f64> = [ARTERY, VEIN, AORTA].iter().map(|&c| mean(&ven, c)).collect();
        for v in &m {
            assert!((110.0..=210.0).contains(v), "seed {seed} venous: {m:?}");
        }
        let spread = m.iter().cloned().fold(f64::MIN, f64::max) - m.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread < 35.0, "seed {seed} venous pools should be about equal: {m:?}");
        // Anatomy and labels do not depend on the phase.
        assert_eq!(plain.labels.data(), ven.labels.data());
    }
}

/// First seed whose CTPA scan has dense contrast in the arm vein.
fn dense_seed() -> u64 {
    (1..100).find(|&s| Intensities::draw(Phase::Ctpa, &mut Rng::new(s).fork(3)).dense_vein).expect("some seed has it")
}

#[test]
fn dense_contrast_in_the_arm_vein_makes_streaks_and_inflow_dilutes_the_right_heart() {
    let seed = dense_seed();
    let grid = |phase| {
        with(PhantomOptions::grid(seed, phase, [128, 128, 64], DVec3::new(2.7, 2.7, 5.0)), Kernel::Standard, 0.0)
    };
    let ctpa = generate(&grid(Phase::Ctpa)).unwrap();
    let plain = generate(&grid(Phase::Plain)).unwrap();
    let [nx, ny, _] = ctpa.ct.dims();
    let plane = nx * ny;
    let (a, ct, p) = (ctpa.anatomy.data(), ctpa.ct.data(), plain.ct.data());
    let bcv = Structure::BrachiocephalicVein as u8;
    let dense: Vec<usize> = (0..a.len()).filter(|&i| a[i] == bcv && ct[i] > 800).collect();
    assert!(!dense.is_empty(), "seed {seed}: no dense contrast in the brachiocephalic vein");
    // Streaks: around the dense vein the lung (and everything else) differs
    // from the plain scan's (same anatomy, no noise) by more than a constant.
    let k_dense = dense[dense.len() / 2] / plane;
    let in_slice: Vec<usize> = dense.iter().filter(|&&i| i / plane == k_dense).map(|&i| i % plane).collect();
    let ci = in_slice.iter().map(|&i| (i % nx) as f64).sum::<f64>() / in_slice.len() as f64;
    let cj = in_slice.iter().map(|&i| (i / nx) as f64).sum::<f64>() / in_slice.len() as f64;
    let spread = |k: usize| {
        let near = |i: usize| {
            let (di, dj) = ((i % nx) as f64 - ci, (i / nx) as f64 - cj);
            let r = (di * di + dj * dj).sqrt() * 2.7;
            (15.0..80.0).contains(&r)
        };
        let d: Vec<f64> = (0..plane)
            .filter(|&i| near(i) && ctpa.lungs.data()[k * plane + i] == 1)
            .map(|i| ct[k * plane + i] as f64 - p[k * plane + i] as f64)
            .collect();
        let m = d.iter().sum::<f64>() / d.len().max(1) as f64;
        ((d.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / d.len().max(1) as f64).sqrt(), d.len())
    };
    let (streaky, n) = spread(k_dense);
    let (calm, n_calm) = spread(k_dense - 12);
    assert!(n > 50 && streaky > 5.0, "seed {seed}: lung near the dense vein varies by {streaky:.1} HU over {n} voxels");
    assert!(n_calm < 50 || calm < 0.5 * streaky, "seed {seed}: lung 60 mm below the dense vein varies by {calm:.1} HU");
    // Inflow: the inferior vena cava and right atrium are darker and less
    // uniform than opacified blood (the pulmonary trunk), away from edges.
    let interior = |i: usize, s: u8| {
        let (x, y) = (i % nx, (i / nx) % ny);
        x > 0 && y > 0 && x + 1 < nx && y + 1 < ny && [i - 1, i + 1, i - nx, i + nx].iter().all(|&j| a[j] == s)
    };
    let values = |ss: &[Structure]| {
        let mut v: Vec<f64> = (0..a.len())
            .filter(|&i| ss.iter().any(|&s| a[i] == s as u8 && interior(i, s as u8)))
            .map(|i| ct[i] as f64)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len().max(1) as f64).sqrt()
    };
    let trunk = values(&[Structure::PulmonaryTrunk]);
    let inflow = values(&[Structure::InferiorVenaCava, Structure::RightAtrium]);
    let n = inflow.len();
    assert!(n > 50, "seed {seed}: only {n} interior IVC and RA voxels");
    let (low, median) = (inflow[n / 20], inflow[n / 2]);
    assert!(
        sd(&inflow) > sd(&trunk) + 10.0 && low < median - 50.0,
        "seed {seed}: IVC and RA median {median:.0}, 5th percentile {low:.0}, σ {:.0} HU; trunk σ {:.0} HU",
        sd(&inflow),
        sd(&trunk)
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let seed = dense_seed();
    let mut o = with(hilum(seed, Phase::Ctpa, [96, 96, 8], DVec3::new(1.5, 1.5, 5.0)), Kernel::Sharp, 20.0);
    o.thickness = Some(5.0);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| generate(&o).unwrap());
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| generate(&o).unwrap());
    assert_eq!(one.ct.data(), two.ct.data());
    assert_eq!(one.labels.data(), two.labels.data());
    // A drawn acquisition is the same for the same seed, and options are checked.
    assert_eq!(PhantomOptions::drawn(5, Phase::Plain), PhantomOptions::drawn(5, Phase::Plain));
    let mut bad = o.clone();
    bad.thickness = Some(7.0);
    assert!(generate(&bad).unwrap_err().to_string().contains("thickness 7"));
    let mut bad = o;
    bad.noise_sigma = Some(f64::NAN);
    assert!(generate(&bad).unwrap_err().to_string().contains("noise"));
}
