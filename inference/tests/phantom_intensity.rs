//! CT numbers of the phantom per contrast phase, and the acquisition effects.

use vasa_inference::phantom::{HEART, Phantom, PhantomOptions, Phase, generate, metrics};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

fn make(seed: u64, phase: Phase) -> Phantom {
    // 2 mm slices keep these tests quick; the HU do not depend on spacing.
    generate(&PhantomOptions::with_slice_spacing(seed, phase, 2.0).unwrap()).unwrap()
}

fn mean(ph: &Phantom, class: u8) -> f64 {
    let (m, _, n) = metrics::hu_stats(&ph.ct, &ph.labels, class, true);
    assert!(n > 200, "only {n} interior voxels of class {class}");
    m
}

fn check_lung(ph: &Phantom, what: &str) {
    let vals: Vec<i16> = ph.ct.data().iter().zip(ph.lungs.data()).filter(|(_, m)| **m == 1).map(|(v, _)| *v).collect();
    let m = vals.iter().map(|&v| v as f64).sum::<f64>() / vals.len() as f64;
    let above = vals.iter().filter(|&&v| v > -700).count() as f64 / vals.len() as f64;
    assert!(m < -750.0, "{what}: lung mean {m:.0} HU");
    assert!(above < 0.1, "{what}: {:.1} % of lung voxels above -700 HU", 100.0 * above);
}

#[test]
fn plain_scan_has_blood_at_30_to_55_hu_everywhere() {
    for seed in [1, 2] {
        let ph = make(seed, Phase::Plain);
        for (c, name) in [(ARTERY, "artery"), (VEIN, "vein"), (AORTA, "aorta"), (HEART, "heart")] {
            let m = mean(&ph, c);
            assert!((25.0..=60.0).contains(&m), "seed {seed} plain {name}: {m:.1} HU");
        }
        let (a, v) = (mean(&ph, ARTERY), mean(&ph, VEIN));
        assert!((a - v).abs() < 8.0, "plain: artery {a:.1} and vein {v:.1} HU should match");
        check_lung(&ph, "plain");
    }
}

#[test]
fn ctpa_lights_up_the_pulmonary_arteries() {
    for seed in [1, 3] {
        let ph = make(seed, Phase::Ctpa);
        let (a, v, ao) = (mean(&ph, ARTERY), mean(&ph, VEIN), mean(&ph, AORTA));
        assert!((240.0..=510.0).contains(&a), "seed {seed}: artery {a:.0} HU");
        assert!(
            v < a - 40.0 && ao < a - 40.0,
            "seed {seed}: vein {v:.0} and aorta {ao:.0} should be below artery {a:.0}"
        );
        assert!(v > 120.0 && ao > 120.0, "seed {seed}: vein {v:.0}, aorta {ao:.0} should still be enhanced");
        check_lung(&ph, "ctpa");
    }
}

#[test]
fn arterial_phase_lights_up_the_aorta() {
    for seed in [1, 4] {
        let ph = make(seed, Phase::Arterial);
        let (a, ao) = (mean(&ph, ARTERY), mean(&ph, AORTA));
        assert!((190.0..=450.0).contains(&ao), "seed {seed}: aorta {ao:.0} HU");
        assert!((140.0..=400.0).contains(&a), "seed {seed}: artery {a:.0} HU");
        assert!(a < ao, "seed {seed}: artery {a:.0} should be below aorta {ao:.0}");
        check_lung(&ph, "arterial");
    }
}

#[test]
fn noise_is_within_10_to_40_hu_and_spatially_correlated() {
    let ph = make(5, Phase::Plain);
    // Inside the aorta (uniform blood) the spread is the noise.
    let (_, sd, _) = metrics::hu_stats(&ph.ct, &ph.labels, AORTA, true);
    assert!((8.0..=42.0).contains(&sd), "noise σ {sd:.1} HU");
    assert!(
        (sd - ph.intensities.noise_sigma as f64).abs() < 0.25 * ph.intensities.noise_sigma as f64 + 2.0,
        "measured σ {sd:.1} vs drawn {}",
        ph.intensities.noise_sigma
    );
    // Neighbouring voxels inside the aorta are positively correlated.
    let [nx, _, _] = ph.ct.dims();
    let (mut sxy, mut sxx, mut n) = (0.0, 0.0, 0.0);
    let (m, _, _) = metrics::hu_stats(&ph.ct, &ph.labels, AORTA, true);
    let l = ph.labels.data();
    for i in 0..ph.ct.len() - 2 {
        if l[i] == AORTA && l[i + 1] == AORTA && l[i + 2] == AORTA && i % nx + 2 < nx {
            let a = ph.ct.data()[i] as f64 - m;
            let b = ph.ct.data()[i + 1] as f64 - m;
            sxy += a * b;
            sxx += a * a;
            n += 1.0;
        }
    }
    let rho = sxy / sxx;
    assert!(n > 1000.0 && rho > 0.2, "neighbour correlation {rho:.2} over {n} pairs");
}
