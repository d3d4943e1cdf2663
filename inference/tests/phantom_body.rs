//! The body wall, arms, table and upper abdomen of the phantom, checked on
//! its anatomy map (`anatomy.nii.gz`) and CT: a torso outline flatter at the
//! back than an ellipse, fat and muscle layers of adult sizes with fat planes
//! between the muscles, arms down in some seeds and raised in others with the
//! humeral heads at the scapulae, the table under the back, and liver,
//! stomach gas and spleen where they belong.

use std::sync::OnceLock;

use glam::DVec3;
use vasa_inference::phantom::{Phantom, PhantomOptions, Phase, Structure, generate};

/// Seeds covering arms down and raised.
const SEEDS: [u64; 3] = [1, 2, 3];

fn phantoms() -> &'static Vec<Phantom> {
    static P: OnceLock<Vec<Phantom>> = OnceLock::new();
    P.get_or_init(|| SEEDS.iter().map(|&s| generate(&PhantomOptions::new(s, Phase::Plain)).unwrap()).collect())
}

/// World positions and CT values of every voxel of `st`.
fn voxels(ph: &Phantom, st: Structure) -> Vec<(DVec3, f64)> {
    let [nx, ny, _] = ph.ct.dims();
    ph.anatomy
        .data()
        .iter()
        .enumerate()
        .filter(|&(_, &a)| a == st as u8)
        .map(|(idx, _)| {
            let (i, j, k) = (idx % nx, (idx / nx) % ny, idx / (nx * ny));
            (ph.ct.voxel_to_world([i, j, k]), ph.ct.data()[idx] as f64)
        })
        .collect()
}

fn mean_hu(v: &[(DVec3, f64)]) -> f64 {
    v.iter().map(|p| p.1).sum::<f64>() / v.len().max(1) as f64
}

fn centroid(v: &[(DVec3, f64)]) -> DVec3 {
    v.iter().map(|p| p.0).sum::<DVec3>() / v.len().max(1) as f64
}

fn is_torso(a: u8) -> bool {
    a != Structure::Outside as u8 && a != Structure::Table as u8 && a != Structure::Arm as u8
}

/// Slice index nearest to patient z.
fn slice_at(ph: &Phantom, z: f64) -> usize {
    let g = ph.ct.geometry;
    (((z - g.origin.z) / g.spacing.z).round().max(0.0) as usize).min(ph.ct.dims()[2] - 1)
}

#[test]
fn the_back_is_flatter_than_an_ellipse() {
    for (ph, seed) in phantoms().iter().zip(SEEDS) {
        let [nx, ny, _] = ph.ct.dims();
        let k = slice_at(ph, -70.0);
        let sl = &ph.anatomy.data()[k * nx * ny..(k + 1) * nx * ny];
        // Posterior-most torso row per column, and the torso's extent.
        let back: Vec<Option<usize>> = (0..nx)
            .map(|i| (0..ny).rev().find(|&j| is_torso(sl[i + nx * j]) && is_torso(sl[i + nx * j.max(1) - nx])))
            .collect();
        let front: Vec<Option<usize>> = (0..nx).map(|i| (0..ny).find(|&j| is_torso(sl[i + nx * j]))).collect();
        let cols: Vec<usize> = (0..nx).filter(|&i| back[i].is_some()).collect();
        let (i0, i1) = (cols[0] as f64, *cols.last().unwrap() as f64);
        let px = ph.ct.geometry.spacing.x;
        let ic = 0.5 * (i0 + i1);
        let half = 0.5 * (i1 - i0) * px;
        let j_back = back.iter().flatten().copied().max().unwrap() as f64;
        let j_front = front.iter().flatten().copied().min().unwrap() as f64;
        let semi_b = 0.5 * (j_back - j_front) * px;
        // An ellipse filling the same box would be this far in from its
        // deepest point 60 mm off the midline.
        let x = 60.0;
        let ellipse_drop = semi_b * (1.0 - (1.0 - (x / half) * (x / half)).sqrt());
        // The back at ±60 mm (mean of both sides, so that a tilt cancels)
        // against the deepest point between them.
        let (il, ir) = ((ic - x / px).round() as usize, (ic + x / px).round() as usize);
        let deepest = (il..=ir).filter_map(|i| back[i]).max().unwrap() as f64;
        let drop = (deepest - 0.5 * (back[il].unwrap() + back[ir].unwrap()) as f64) * px;
        assert!(
            drop < 0.75 * ellipse_drop,
            "seed {seed}: back drops {drop} mm at 60 mm from the midline (ellipse {ellipse_drop})"
        );
    }
}

#[test]
fn subcutaneous_fat_and_muscles_have_adult_sizes() {
    for (ph, seed) in phantoms().iter().zip(SEEDS) {
        let [nx, ny, _] = ph.ct.dims();
        let px = ph.ct.geometry.spacing.y;
        let k = slice_at(ph, -40.0);
        let sl = &ph.anatomy.data()[k * nx * ny..(k + 1) * nx * ny];
        // Anterior subcutaneous fat, on the midline column of the torso.
        let cols: Vec<usize> = (0..nx).filter(|&i| (0..ny).any(|j| is_torso(sl[i + nx * j]))).collect();
        let i = (cols[0] + cols[cols.len() - 1]) / 2;
        let fat = (0..ny)
            .skip_while(|&j| !is_torso(sl[i + nx * j]))
            .take_while(|&j| {
                let a = sl[i + nx * j];
                a == Structure::Skin as u8 || a == Structure::SubcutaneousFat as u8 || a == Structure::Breast as u8
            })
            .count() as f64
            * px;
        assert!((2.0..=60.0).contains(&fat), "seed {seed}: anterior fat and skin {fat} mm");
        let fat_hu = mean_hu(&voxels(ph, Structure::SubcutaneousFat));
        assert!((-125.0..=-60.0).contains(&fat_hu), "seed {seed}: subcutaneous fat {fat_hu} HU");
        // Muscles: sizes and CT numbers.
        let vox_ml = ph.ct.voxel_volume_ml();
        for (st, lo_ml) in
            [(Structure::Pectoral, 60.0), (Structure::Paraspinal, 150.0), (Structure::ShoulderMuscle, 100.0)]
        {
            let v = voxels(ph, st);
            let ml = v.len() as f64 * vox_ml;
            assert!(ml > lo_ml, "seed {seed}: {st:?} {ml} mL");
            let hu = mean_hu(&v);
            assert!((20.0..=70.0).contains(&hu), "seed {seed}: {st:?} {hu} HU");
        }
        // Erector spinae on both sides of the midline, behind the cavity.
        let para = voxels(ph, Structure::Paraspinal);
        let lung = centroid(&voxels(ph, Structure::LungRight));
        for side in [-1.0, 1.0] {
            let n = para.iter().filter(|p| p.0.x * side > 5.0 && p.0.y > lung.y + 40.0).count();
            assert!(n as f64 * vox_ml > 60.0, "seed {seed}: paraspinal side {side}: {n} voxels");
        }
        // Fat planes: thin bands darker than the muscles they separate.
        let planes = voxels(ph, Structure::IntermuscularFat);
        let hu = mean_hu(&planes);
        assert!(planes.len() as f64 * vox_ml > 10.0, "seed {seed}: fat planes {} voxels", planes.len());
        assert!(hu < mean_hu(&voxels(ph, Structure::Pectoral)) - 50.0, "seed {seed}: fat planes {hu} HU");
    }
}

#[test]
fn arms_are_down_in_some_seeds_and_raised_in_others_with_heads_at_the_scapulae() {
    let mut down = 0;
    for (ph, seed) in phantoms().iter().zip(SEEDS) {
        let hum = voxels(ph, Structure::Humerus);
        assert!(!hum.is_empty(), "seed {seed}: no humerus");
        let top = hum.iter().map(|p| p.0.z).fold(f64::MIN, f64::max);
        // Heads: the top 45 mm of each humerus, about 45–50 mm across.
        let scap = voxels(ph, Structure::Scapula);
        for side in [-1.0, 1.0] {
            let head: Vec<_> = hum.iter().filter(|p| p.0.x * side > 0.0 && p.0.z > top - 45.0).copied().collect();
            assert!(head.len() > 50, "seed {seed}: no humeral head on side {side}");
            let c = centroid(&head);
            let near = scap.iter().filter(|p| p.0.x * side > 0.0).map(|p| (p.0 - c).length()).fold(f64::MAX, f64::min);
            assert!(near < 45.0, "seed {seed}: humeral head {near} mm from the scapula");
        }
        if hum.iter().any(|p| p.0.z < top - 85.0) {
            down += 1;
            // The arm's soft tissue beside the torso.
            assert!(!voxels(ph, Structure::Arm).is_empty(), "seed {seed}: arms down without soft tissue");
        }
    }
    assert!(down > 0 && down < SEEDS.len(), "arms down in {down} of {} seeds", SEEDS.len());
}

#[test]
fn the_table_lies_under_the_back_with_a_foam_core_and_no_labels() {
    for (ph, seed) in phantoms().iter().zip(SEEDS) {
        let [nx, ny, nz] = ph.ct.dims();
        let a = ph.anatomy.data();
        let mut table = 0;
        let mut foam = Vec::new();
        for k in (0..nz).step_by(8) {
            for i in 0..nx {
                let col = |j: usize| a[i + nx * (j + ny * k)];
                let body_max = (0..ny).rev().find(|&j| is_torso(col(j)));
                let Some(t0) = (0..ny).find(|&j| col(j) == Structure::Table as u8) else { continue };
                table += 1;
                if let Some(b) = body_max {
                    assert!(b < t0, "seed {seed}: body voxel at row {b} behind the table top {t0}");
                }
                for j in t0..ny {
                    let idx = i + nx * (j + ny * k);
                    assert_eq!(ph.labels.data()[idx], 0, "seed {seed}: a label on the table");
                    if col(j) == Structure::Table as u8 && j > t0 + 3 {
                        foam.push(ph.ct.data()[idx] as f64);
                    }
                }
            }
        }
        assert!(table > 100, "seed {seed}: table seen in {table} columns");
        if !foam.is_empty() {
            foam.sort_by(f64::total_cmp);
            let median = foam[foam.len() / 2];
            assert!((-950.0..=-600.0).contains(&median), "seed {seed}: table foam {median} HU");
        }
    }
}

#[test]
fn liver_stomach_and_spleen_lie_under_their_domes() {
    for (ph, seed) in phantoms().iter().zip(SEEDS) {
        let liver = voxels(ph, Structure::Liver);
        let stomach = voxels(ph, Structure::Stomach);
        let spleen = voxels(ph, Structure::Spleen);
        let (cl, cs, cp) = (centroid(&liver), centroid(&stomach), centroid(&spleen));
        assert!(cl.x < -20.0, "seed {seed}: liver centroid {cl}");
        assert!(cs.x > 10.0, "seed {seed}: stomach centroid {cs}");
        assert!(cp.x > 30.0 && cp.y > cs.y + 10.0, "seed {seed}: spleen {cp} vs stomach {cs}");
        // All below the lungs' bases on their side.
        let lung_r = voxels(ph, Structure::LungRight);
        assert!(cl.z < centroid(&lung_r).z - 60.0, "seed {seed}: liver not under the right lung");
        // Gas at the top of the stomach.
        let gas: Vec<_> = stomach.iter().filter(|p| p.1 < -800.0).collect();
        assert!(gas.len() > 50, "seed {seed}: {} gas voxels in the stomach", gas.len());
        let low = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::MAX, f64::min);
        let (gas_low, st_low) = (low(&mut gas.iter().map(|p| p.0.z)), low(&mut stomach.iter().map(|p| p.0.z)));
        assert!(gas_low > st_low + 10.0, "seed {seed}: stomach gas down to {gas_low}, stomach to {st_low}");
        // Plain CT numbers.
        let hl = mean_hu(&liver);
        assert!((40.0..=75.0).contains(&hl), "seed {seed}: liver {hl} HU");
        let hs = mean_hu(&spleen);
        assert!((30.0..=60.0).contains(&hs), "seed {seed}: spleen {hs} HU");
        for st in [Structure::Liver, Structure::Stomach, Structure::Spleen] {
            let idx: Vec<usize> =
                ph.anatomy.data().iter().enumerate().filter(|&(_, &a)| a == st as u8).map(|(i, _)| i).collect();
            assert!(idx.iter().all(|&i| ph.labels.data()[i] == 0), "seed {seed}: {st:?} carries a label");
        }
    }
}
