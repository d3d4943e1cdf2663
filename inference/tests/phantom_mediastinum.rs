//! The mediastinum of the phantom: each structure present with an adult
//! size, the great vessels and the heart chambers in their real places
//! relative to each other, vessels standing out against fat on a plain scan,
//! and the coarse classes agreeing with the fine anatomy map.

use std::sync::OnceLock;

use glam::DVec3;
use vasa_inference::phantom::{Phantom, PhantomOptions, Phase, Structure, generate};

const SEEDS: [u64; 3] = [1, 2, 3];

fn phantom(i: usize) -> &'static Phantom {
    static CELLS: [OnceLock<Phantom>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    CELLS[i].get_or_init(|| generate(&PhantomOptions::new(SEEDS[i], Phase::Plain)).unwrap())
}

/// The carina (end of the trachea), patient mm.
fn carina(ph: &Phantom) -> DVec3 {
    ph.trees.airway.branches[1].end
}

/// World positions of the voxels of `s` that pass `keep`.
fn voxels(ph: &Phantom, s: Structure, keep: impl Fn(DVec3) -> bool) -> Vec<DVec3> {
    let [nx, ny, nz] = ph.anatomy.dims();
    let g = ph.anatomy.geometry;
    let data = ph.anatomy.data();
    let mut out = Vec::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                if data[i + nx * (j + ny * k)] == s as u8 {
                    let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                    if keep(p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

fn centroid(v: &[DVec3]) -> DVec3 {
    v.iter().copied().sum::<DVec3>() / v.len().max(1) as f64
}

fn volume_ml(ph: &Phantom, n: usize) -> f64 {
    n as f64 * ph.anatomy.voxel_volume_ml()
}

/// Structure at a world point (nearest voxel), `None` outside the grid.
fn structure_at(ph: &Phantom, p: DVec3) -> Option<u8> {
    let v = ph.anatomy.geometry.world_to_voxel(p).round();
    let [nx, ny, nz] = ph.anatomy.dims();
    if v.min_element() < 0.0 || v.x >= nx as f64 || v.y >= ny as f64 || v.z >= nz as f64 {
        return None;
    }
    Some(ph.anatomy.data()[ph.anatomy.index(v.x as usize, v.y as usize, v.z as usize)])
}

/// Thickness (mm) of the run of myocardium met going from `from` along
/// `dir` after leaving the chamber `chamber`.
fn wall_along(ph: &Phantom, chamber: Structure, from: DVec3, dir: DVec3) -> f64 {
    let step = 0.25;
    let mut t = 0.0;
    while structure_at(ph, from + dir * t) == Some(chamber as u8) && t < 150.0 {
        t += step;
    }
    let start = t;
    while structure_at(ph, from + dir * t) == Some(Structure::Myocardium as u8) && t < 150.0 {
        t += step;
    }
    t - start
}

#[test]
fn great_vessels_and_airways_have_adult_sizes() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let t = &ph.trees;
        let d = |tree: &vasa_inference::phantom::Tree, k: usize| 2.0 * tree.branches[k].radius;
        let checks = [
            ("ascending aorta", d(&t.aorta, 1), 25.0, 35.0),
            ("aortic arch", d(&t.aorta, 4), 22.0, 31.0),
            ("descending aorta", d(&t.aorta, 7), 20.0, 26.0),
            ("pulmonary trunk", d(&t.artery, 0), 22.0, 29.0),
            ("right pulmonary artery", d(&t.artery, 2), 15.0, 20.0),
            ("left pulmonary artery", d(&t.artery, 4), 15.0, 20.0),
            ("trachea", d(&t.airway, 0), 15.0, 22.0),
            ("right main bronchus", d(&t.airway, 2), 10.0, 15.5),
            ("left main bronchus", d(&t.airway, 3), 10.0, 15.5),
        ];
        for (name, v, lo, hi) in checks {
            assert!((lo..=hi).contains(&v), "seed {}: {name} {v:.1} mm outside {lo}–{hi} mm", seed);
        }
        let trunk = t.artery.branches[0].start.distance(t.artery.branches[1].end);
        assert!((35.0..=60.0).contains(&trunk), "seed {}: pulmonary trunk {trunk:.0} mm long", seed);
    }
}

#[test]
fn every_mediastinal_structure_is_present_with_a_plausible_volume() {
    let want = [
        (Structure::LeftVentricle, 50.0, 220.0),
        (Structure::RightVentricle, 35.0, 200.0),
        (Structure::RightAtrium, 30.0, 150.0),
        (Structure::LeftAtrium, 20.0, 120.0),
        (Structure::Myocardium, 80.0, 350.0),
        (Structure::PericardialFat, 10.0, 400.0),
        (Structure::MediastinalFat, 50.0, 800.0),
        (Structure::PulmonaryTrunk, 8.0, 60.0),
        (Structure::Aorta, 80.0, 400.0),
        (Structure::ArchBranch, 3.0, 60.0),
        (Structure::SuperiorVenaCava, 8.0, 60.0),
        (Structure::BrachiocephalicVein, 3.0, 40.0),
        (Structure::Azygos, 0.8, 20.0),
        (Structure::InferiorVenaCava, 10.0, 120.0),
        (Structure::Oesophagus, 5.0, 100.0),
        (Structure::Thymus, 2.0, 80.0),
        (Structure::LymphNode, 0.1, 5.0),
        (Structure::Thyroid, 1.0, 40.0),
        (Structure::NeckVein, 1.0, 40.0),
        (Structure::Trachea, 10.0, 80.0),
    ];
    let ph = phantom(0);
    let mut counts = [0usize; 256];
    for &a in ph.anatomy.data() {
        counts[a as usize] += 1;
    }
    for (s, lo, hi) in want {
        let ml = volume_ml(ph, counts[s as usize]);
        assert!((lo..=hi).contains(&ml), "{}: {ml:.1} mL outside {lo}–{hi} mL", s.name());
    }
}

#[test]
fn superior_vena_cava_has_an_adult_diameter_and_lies_right_of_the_ascending_aorta() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let c = carina(ph);
        let band = |p: DVec3| (c.z - 25.0..=c.z + 15.0).contains(&p.z);
        let svc = voxels(ph, Structure::SuperiorVenaCava, band);
        let asc = voxels(ph, Structure::Aorta, |p| band(p) && p.y < c.y - 15.0);
        assert!(!svc.is_empty() && !asc.is_empty(), "seed {}: SVC or ascending aorta missing", seed);
        let (s, a) = (centroid(&svc), centroid(&asc));
        assert!(s.x < a.x - 10.0, "seed {}: SVC x {:.0} not right of the aorta x {:.0}", seed, s.x, a.x);
        // Equivalent diameter from the area per slice.
        let slices = (40.0 / ph.anatomy.geometry.spacing.z).round();
        let area = svc.len() as f64 / slices * ph.anatomy.geometry.spacing.x * ph.anatomy.geometry.spacing.y;
        let d = 2.0 * (area / std::f64::consts::PI).sqrt();
        assert!((14.0..=24.0).contains(&d), "seed {}: SVC diameter {d:.1} mm", seed);
    }
}

#[test]
fn right_pulmonary_artery_passes_behind_the_ascending_aorta_and_the_svc() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let c = carina(ph);
        let rpa = voxels(ph, Structure::PulmonaryArtery, |p| {
            (c.x - 25.0..c.x).contains(&p.x) && (c.z - 45.0..c.z - 5.0).contains(&p.z)
        });
        assert!(rpa.len() > 50, "seed {}: right pulmonary artery missing", seed);
        let zc = centroid(&rpa).z;
        let band = |p: DVec3| (zc - 8.0..=zc + 8.0).contains(&p.z);
        let asc = voxels(ph, Structure::Aorta, |p| band(p) && p.y < c.y - 15.0);
        let svc = voxels(ph, Structure::SuperiorVenaCava, band);
        let (r, a, s) = (centroid(&rpa), centroid(&asc), centroid(&svc));
        assert!(r.y > a.y + 10.0, "seed {}: RPA y {:.0} not behind the aorta y {:.0}", seed, r.y, a.y);
        assert!(r.y > s.y + 5.0, "seed {}: RPA y {:.0} not behind the SVC y {:.0}", seed, r.y, s.y);
        // And in front of the right main bronchus.
        let rmb = &ph.trees.airway.branches[2];
        assert!(r.y < rmb.end.y, "seed {}: RPA not in front of the right main bronchus", seed);
    }
}

#[test]
fn descending_aorta_lies_left_of_and_in_front_of_the_spine() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let c = carina(ph);
        let band = |p: DVec3| (c.z - 90.0..=c.z - 40.0).contains(&p.z);
        let desc = voxels(ph, Structure::Aorta, |p| band(p) && p.y > c.y + 20.0);
        let spine = voxels(ph, Structure::Vertebra, |p| band(p) && (p.x - c.x).abs() < 25.0);
        let (d, v) = (centroid(&desc), centroid(&spine));
        assert!(d.x > v.x + 10.0, "seed {}: descending aorta x {:.0}, spine x {:.0}", seed, d.x, v.x);
        assert!(d.y < v.y, "seed {}: descending aorta y {:.0}, spine y {:.0}", seed, d.y, v.y);
    }
}

#[test]
fn azygos_arches_over_the_right_main_bronchus_into_the_svc() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let az = voxels(ph, Structure::Azygos, |_| true);
        assert!(!az.is_empty(), "seed {}: no azygos", seed);
        let rmb = &ph.trees.airway.branches[2];
        // The arch: the azygos voxels in front of the spine's front, above the bronchus.
        let top = az.iter().copied().fold(DVec3::splat(f64::MIN), |m, p| if p.z > m.z { p } else { m });
        assert!(top.z > rmb.start.z.max(rmb.end.z), "seed {}: azygos top z {:.0} below the bronchus", seed, top.z);
        assert!(top.x < rmb.start.x, "seed {}: azygos arch not on the right", seed);
        // It reaches the SVC: some azygos voxel touches an SVC voxel.
        let g = ph.anatomy.geometry;
        let touches = az.iter().any(|&p| {
            let v = g.world_to_voxel(p).round();
            (-1..=1).any(|dk| {
                (-1..=1).any(|dj| {
                    (-1..=1).any(|di| {
                        let q = g.voxel_to_world(v + DVec3::new(di as f64, dj as f64, dk as f64));
                        structure_at(ph, q) == Some(Structure::SuperiorVenaCava as u8)
                    })
                })
            })
        });
        assert!(touches, "seed {}: azygos does not reach the SVC", seed);
    }
}

#[test]
fn left_brachiocephalic_vein_crosses_in_front_of_the_arch_branches() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let c = carina(ph);
        let g = ph.anatomy.geometry;
        let mut slices = 0;
        let nz = ph.anatomy.dims()[2];
        for k in 0..nz {
            let z = g.voxel_to_world(DVec3::new(0.0, 0.0, k as f64)).z;
            let band = |p: DVec3| (p.z - z).abs() < 0.1 && (c.x - 5.0..c.x + 25.0).contains(&p.x);
            let bcv = voxels_in_slice(ph, k, Structure::BrachiocephalicVein, band);
            let art = voxels_in_slice(ph, k, Structure::ArchBranch, band);
            if bcv.len() < 5 || art.len() < 5 {
                continue;
            }
            slices += 1;
            let (v, a) = (centroid(&bcv), centroid(&art));
            assert!(
                v.y < a.y,
                "seed {}: at z {z:.0} the vein (y {:.0}) is behind the arteries (y {:.0})",
                seed,
                v.y,
                a.y
            );
        }
        assert!(slices >= 2, "seed {}: the left brachiocephalic vein never crosses the arch branches", seed);
    }
}

fn voxels_in_slice(ph: &Phantom, k: usize, s: Structure, keep: impl Fn(DVec3) -> bool) -> Vec<DVec3> {
    let [nx, ny, _] = ph.anatomy.dims();
    let g = ph.anatomy.geometry;
    let data = ph.anatomy.data();
    let mut out = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            if data[i + nx * (j + ny * k)] == s as u8 {
                let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                if keep(p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

#[test]
fn left_atrium_is_the_most_posterior_chamber_and_lv_wall_is_thicker_than_rv_wall() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let c = carina(ph);
        let la = centroid(&voxels(ph, Structure::LeftAtrium, |_| true));
        assert!(la.z < c.z, "seed {}: left atrium above the carina", seed);
        let mut chambers = Vec::new();
        for s in [Structure::RightAtrium, Structure::RightVentricle, Structure::LeftVentricle] {
            let m = centroid(&voxels(ph, s, |_| true));
            assert!(
                la.y > m.y + 10.0,
                "seed {}: {} (y {:.0}) behind the left atrium (y {:.0})",
                seed,
                s.name(),
                m.y,
                la.y
            );
            chambers.push(m);
        }
        let (rv, lv) = (chambers[1], chambers[2]);
        assert!(rv.y < lv.y && rv.y < chambers[0].y, "seed {}: right ventricle not the most anterior", seed);
        // Left ventricle's lateral wall against the right ventricle's anterior wall.
        let lv_wall = wall_along(ph, Structure::LeftVentricle, lv, DVec3::X);
        let rv_wall = wall_along(ph, Structure::RightVentricle, rv, -DVec3::Y);
        assert!((7.0..=16.0).contains(&lv_wall), "seed {}: LV wall {lv_wall:.1} mm", seed);
        assert!(rv_wall < lv_wall - 3.0, "seed {}: RV wall {rv_wall:.1} mm vs LV {lv_wall:.1} mm", seed);
    }
}

#[test]
fn ascending_aorta_stands_out_against_fat_on_a_plain_scan() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let c = carina(ph);
        let [nx, ny, nz] = ph.ct.dims();
        let g = ph.ct.geometry;
        let (mut lumen, mut shell) = (Vec::new(), Vec::new());
        for k in 0..nz {
            let z = g.voxel_to_world(DVec3::new(0.0, 0.0, k as f64)).z;
            if !(c.z - 30.0..=c.z - 5.0).contains(&z) {
                continue;
            }
            let asc = voxels_in_slice(ph, k, Structure::Aorta, |p| p.y < c.y - 15.0);
            if asc.len() < 20 {
                continue;
            }
            let m = centroid(&asc);
            let r = (asc.len() as f64 * g.spacing.x * g.spacing.y / std::f64::consts::PI).sqrt();
            for j in 0..ny {
                for i in 0..nx {
                    let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                    let d = (p - m).truncate().length();
                    let idx = i + nx * (j + ny * k);
                    if d < r - 3.0 {
                        lumen.push(ph.ct.data()[idx] as f64);
                    } else if (r + 2.0..=r + 4.0).contains(&d) && ph.labels.data()[idx] == 0 {
                        shell.push(ph.ct.data()[idx] as f64);
                    }
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let (l, s) = (mean(&lumen), mean(&shell));
        assert!(lumen.len() > 100 && shell.len() > 100, "seed {}: too few voxels", seed);
        assert!((30.0..=55.0).contains(&l), "seed {}: aortic lumen {l:.0} HU", seed);
        assert!(s < -30.0, "seed {}: 2–4 mm around the aorta {s:.0} HU, not fat", seed);
    }
}

#[test]
fn coarse_labels_agree_with_the_anatomy_map_everywhere() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let mut bad = 0usize;
        let mut first = None;
        for (n, (&a, &l)) in ph.anatomy.data().iter().zip(ph.labels.data()).enumerate() {
            let s = Structure::from_u8(a).expect("a known structure");
            if s.class() != l {
                bad += 1;
                first.get_or_insert((n, s, l));
            }
        }
        assert_eq!(bad, 0, "seed {}: {bad} voxels disagree, first {first:?}", seed);
    }
}

#[test]
fn heart_and_caval_voxels_hold_blood_or_wall_not_air() {
    for (i, &seed) in SEEDS.iter().enumerate() {
        let ph = phantom(i);
        let g = ph.ct.geometry;
        let [nx, ny, _] = ph.ct.dims();
        let bad: Vec<(u8, DVec3, i16)> = (0..ph.ct.len())
            // Air or lung would read below -800. A wall voxel at the pleural
            // surface holds partial volume with the lung (about -400) plus
            // noise and a sharp kernel's undershoot, so -700 is the bound.
            .filter(|&n| ph.labels.data()[n] == vasa_inference::phantom::HEART && ph.ct.data()[n] < -700)
            .map(|n| {
                let v = DVec3::new((n % nx) as f64, ((n / nx) % ny) as f64, (n / (nx * ny)) as f64);
                (ph.anatomy.data()[n], g.voxel_to_world(v) - carina(ph), ph.ct.data()[n])
            })
            .collect();
        assert!(
            bad.is_empty(),
            "seed {}: {} heart-class voxels below -700 HU, e.g. {:?}",
            seed,
            bad.len(),
            &bad[..bad.len().min(5)]
        );
    }
}
