//! The phantom's per-structure map (`anatomy.nii.gz`): every structure of a
//! whole chest is there with a plausible volume, the coarse classes of
//! `labels.nii.gz` agree with it voxel for voxel (so no two labels overlap),
//! and the lung findings drawn per seed (effusion, emphysema, nodules)
//! appear where and as they should.

use std::sync::OnceLock;

use vasa_inference::phantom::{Phantom, PhantomOptions, Phase, Structure, findings, generate};

fn phantom() -> &'static Phantom {
    static P: OnceLock<Phantom> = OnceLock::new();
    P.get_or_init(|| generate(&PhantomOptions::new(11, Phase::Plain)).expect("default options are valid"))
}

/// Volume (mL) of each structure value.
fn volumes(ph: &Phantom) -> [f64; 256] {
    let mut n = [0u64; 256];
    for &v in ph.anatomy.data() {
        n[v as usize] += 1;
    }
    let ml = ph.anatomy.voxel_volume_ml();
    n.map(|c| c as f64 * ml)
}

/// Mean CT number over one structure's voxels.
fn mean_hu(ph: &Phantom, s: Structure) -> f64 {
    let (mut sum, mut n) = (0.0, 0u64);
    for (&a, &h) in ph.anatomy.data().iter().zip(ph.ct.data()) {
        if a == s as u8 {
            sum += h as f64;
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

#[test]
fn the_class_map_is_the_structure_map_coarsened() {
    let ph = phantom();
    assert!(ph.anatomy.same_grid(&ph.labels));
    for (n, (&a, &l)) in ph.anatomy.data().iter().zip(ph.labels.data()).enumerate() {
        let s = Structure::from_u8(a).unwrap_or_else(|| panic!("voxel {n}: unknown structure value {a}"));
        assert_eq!(
            s.class(),
            l,
            "voxel {n} ({:?}): structure {} has class {}, label {l}",
            ph.anatomy.coords(n),
            s.name(),
            s.class()
        );
    }
}

#[test]
fn every_structure_of_a_whole_chest_is_there_with_a_plausible_volume() {
    let v = volumes(phantom());
    let ranges: &[(Structure, f64, f64)] = &[
        (Structure::Skin, 50.0, 2000.0),
        (Structure::SubcutaneousFat, 300.0, 12000.0),
        (Structure::Vertebra, 60.0, 800.0),
        (Structure::Disc, 5.0, 200.0),
        (Structure::SpinalCanal, 10.0, 200.0),
        (Structure::Rib, 60.0, 1200.0),
        (Structure::CostalCartilage, 5.0, 300.0),
        (Structure::Sternum, 10.0, 200.0),
        (Structure::Clavicle, 5.0, 150.0),
        (Structure::Scapula, 20.0, 500.0),
        (Structure::LungRight, 1200.0, 4500.0),
        (Structure::LungLeft, 1000.0, 4000.0),
        (Structure::Trachea, 5.0, 100.0),
        (Structure::Bronchus, 10.0, 400.0),
        (Structure::PulmonaryTrunk, 8.0, 80.0),
        (Structure::PulmonaryArtery, 20.0, 400.0),
        (Structure::PulmonaryVein, 20.0, 400.0),
        (Structure::LeftAtrium, 15.0, 150.0),
        (Structure::Aorta, 50.0, 350.0),
        (Structure::ArchBranch, 2.0, 60.0),
        (Structure::SuperiorVenaCava, 5.0, 80.0),
        (Structure::InferiorVenaCava, 5.0, 120.0),
        (Structure::RightAtrium, 20.0, 200.0),
        (Structure::RightVentricle, 20.0, 250.0),
        (Structure::LeftVentricle, 20.0, 250.0),
        (Structure::Myocardium, 60.0, 400.0),
        (Structure::MediastinalFat, 20.0, 1500.0),
        (Structure::Oesophagus, 3.0, 80.0),
        (Structure::Liver, 100.0, 2500.0),
    ];
    for &(s, lo, hi) in ranges {
        let ml = v[s as usize];
        assert!((lo..=hi).contains(&ml), "{}: {ml:.1} mL outside {lo}–{hi} mL", s.name());
    }
}

#[test]
fn blood_and_tissues_have_their_plain_ct_numbers() {
    let ph = phantom();
    for (s, lo, hi) in [
        (Structure::Aorta, 25.0, 60.0),
        (Structure::PulmonaryTrunk, 25.0, 60.0),
        (Structure::SubcutaneousFat, -130.0, -60.0),
        (Structure::LungRight, -900.0, -700.0),
        (Structure::Liver, 35.0, 80.0),
    ] {
        let m = mean_hu(ph, s);
        assert!((lo..=hi).contains(&m), "{}: mean {m:.0} HU outside {lo}–{hi}", s.name());
    }
}

/// The first seed in 1..200 whose findings satisfy `want`.
fn seed_with(want: impl Fn(&vasa_inference::phantom::Findings) -> bool) -> u64 {
    (1..200).find(|&s| want(&findings(s))).expect("some seed has the finding")
}

#[test]
fn a_pleural_effusion_is_fluid_at_the_back_of_the_lung_base() {
    let seed = seed_with(|f| f.effusion_mm.iter().any(|&e| e > 20.0));
    let ph = generate(&PhantomOptions::new(seed, Phase::Plain)).unwrap();
    assert_eq!(ph.findings, findings(seed));
    let fluid_ml = volumes(&ph)[Structure::Effusion as usize];
    assert!(fluid_ml > 20.0, "seed {seed}: {fluid_ml:.1} mL of effusion");
    let hu = mean_hu(&ph, Structure::Effusion);
    assert!((-40.0..60.0).contains(&hu), "seed {seed}: effusion at {hu:.0} HU");
    // Dependent: the fluid's centroid lies behind the lungs' centroid.
    let centroid_y = |s: &[Structure]| {
        let (mut sum, mut n) = (0.0, 0.0);
        for (i, &a) in ph.anatomy.data().iter().enumerate() {
            if s.iter().any(|&x| x as u8 == a) {
                sum += ph.anatomy.geometry.voxel_to_world(ph.anatomy.coords(i).map(|c| c as f64).into()).y;
                n += 1.0;
            }
        }
        sum / n
    };
    let fluid = centroid_y(&[Structure::Effusion]);
    let lung = centroid_y(&[Structure::LungLeft, Structure::LungRight]);
    assert!(fluid > lung + 20.0, "effusion centroid y {fluid:.0} mm, lungs {lung:.0} mm (LPS: +y posterior)");
}

#[test]
fn emphysema_lowers_the_lung_and_nodules_appear_in_some_seeds() {
    let low_share = |ph: &Phantom| {
        let lung = [Structure::LungLeft as u8, Structure::LungRight as u8];
        let (mut low, mut n) = (0u64, 0u64);
        for (&a, &h) in ph.anatomy.data().iter().zip(ph.ct.data()) {
            if lung.contains(&a) {
                n += 1;
                low += u64::from(h < -950);
            }
        }
        low as f64 / n as f64
    };
    let sick = seed_with(|f| f.emphysema > 0.4);
    let healthy = seed_with(|f| f.emphysema == 0.0 && f.effusion_mm == [0.0; 2]);
    let (a, b) = (
        low_share(&generate(&PhantomOptions::new(sick, Phase::Plain)).unwrap()),
        low_share(&generate(&PhantomOptions::new(healthy, Phase::Plain)).unwrap()),
    );
    assert!(a > b + 0.03, "lung below −950 HU: {a:.3} with emphysema (seed {sick}), {b:.3} without (seed {healthy})");

    let with_nodules = (1..=6u64)
        .filter(|&s| {
            let ph = generate(&PhantomOptions::new(s, Phase::Plain)).unwrap();
            ph.anatomy.data().contains(&(Structure::Nodule as u8))
        })
        .count();
    assert!((1..=5).contains(&with_nodules), "{with_nodules} of 6 seeds have nodules");
}
