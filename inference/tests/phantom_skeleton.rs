//! The phantom's skeleton, checked on the maps it writes: every bone is there
//! with an adult size and in its place, vertebral bodies grow down the spine,
//! the canal is round and ~16 mm, ribs run obliquely (several cross-sections
//! per side in one axial slice) outside the lungs, cortex is brighter than
//! marrow, and no bone runs through a vessel.

use std::sync::OnceLock;

use glam::DVec3;
use vasa_inference::phantom::{Phantom, PhantomOptions, Phase, Structure, generate};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

const SEEDS: [u64; 2] = [5, 12];

fn phantoms() -> &'static Vec<Phantom> {
    static P: OnceLock<Vec<Phantom>> = OnceLock::new();
    P.get_or_init(|| SEEDS.iter().map(|&s| generate(&PhantomOptions::new(s, Phase::Plain)).unwrap()).collect())
}

const BONES: [Structure; 5] =
    [Structure::Vertebra, Structure::Rib, Structure::Sternum, Structure::Clavicle, Structure::Scapula];

fn is(ph: &Phantom, i: usize, j: usize, k: usize, s: Structure) -> bool {
    ph.anatomy.data()[ph.anatomy.index(i, j, k)] == s as u8
}

fn is_bone(v: u8) -> bool {
    BONES.iter().any(|b| *b as u8 == v)
}

fn is_lung(v: u8) -> bool {
    v == Structure::LungRight as u8 || v == Structure::LungLeft as u8
}

/// Patient positions (mm) of the voxels of `s`.
fn points(ph: &Phantom, s: Structure) -> Vec<DVec3> {
    let [nx, ny, nz] = ph.anatomy.dims();
    let mut out = Vec::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                if is(ph, i, j, k, s) {
                    out.push(ph.anatomy.voxel_to_world([i, j, k]));
                }
            }
        }
    }
    out
}

fn centroid(p: &[DVec3]) -> DVec3 {
    p.iter().copied().sum::<DVec3>() / p.len().max(1) as f64
}

fn voxel_ml(ph: &Phantom) -> f64 {
    ph.anatomy.voxel_volume_ml()
}

/// Midline x: the spinal canal's mean x.
fn midline(ph: &Phantom) -> f64 {
    centroid(&points(ph, Structure::SpinalCanal)).x
}

#[test]
fn every_bone_is_present_with_an_adult_volume() {
    // (structure, min mL, max mL) for the part inside the scanned box.
    let want = [
        (Structure::Vertebra, 150.0, 700.0),
        (Structure::Disc, 8.0, 80.0),
        (Structure::SpinalCanal, 20.0, 120.0),
        (Structure::Rib, 150.0, 800.0),
        (Structure::CostalCartilage, 20.0, 200.0),
        (Structure::Sternum, 25.0, 150.0),
        (Structure::Clavicle, 10.0, 100.0),
        (Structure::Scapula, 30.0, 300.0),
    ];
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        for (s, lo, hi) in want {
            let ml = points(ph, s).len() as f64 * voxel_ml(ph);
            assert!((lo..=hi).contains(&ml), "seed {seed}: {} is {ml:.1} mL, want {lo}–{hi}", s.name());
        }
    }
}

/// Per axial slice: canal centre and radius, and the width of the vertebral
/// body in front of it (None where the slice holds no body).
fn body_widths(ph: &Phantom) -> Vec<(f64, f64, f64)> {
    let [nx, ny, nz] = ph.anatomy.dims();
    let sp = ph.anatomy.geometry.spacing;
    let mut out = Vec::new();
    for k in 0..nz {
        let mut canal = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                if is(ph, i, j, k, Structure::SpinalCanal) {
                    canal.push(DVec3::new(i as f64, j as f64, 0.0));
                }
            }
        }
        if canal.len() < 20 {
            continue;
        }
        let c = centroid(&canal);
        let rc = (canal.len() as f64 * sp.x * sp.y / std::f64::consts::PI).sqrt();
        let front = c.y - (rc + 3.0) / sp.y;
        let (mut lo, mut hi, mut n) = (f64::MAX, f64::MIN, 0);
        for j in 0..(front.max(0.0) as usize) {
            for i in 0..nx {
                if is(ph, i, j, k, Structure::Vertebra) && (i as f64 - c.x).abs() * sp.x < 40.0 {
                    lo = lo.min(i as f64);
                    hi = hi.max(i as f64);
                    n += 1;
                }
            }
        }
        if n > 60 {
            out.push((ph.anatomy.voxel_to_world([0, 0, k]).z, rc, (hi - lo + 1.0) * sp.x));
        }
    }
    out
}

#[test]
fn vertebral_bodies_widen_down_the_spine_and_the_canal_is_adult_sized() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let w = body_widths(ph);
        assert!(w.len() > 60, "seed {seed}: only {} slices with a vertebral body", w.len());
        let third = w.len() / 3;
        // Slices run from the bottom up: the first third is lower thoracic.
        let mean = |s: &[(f64, f64, f64)]| s.iter().map(|x| x.2).sum::<f64>() / s.len() as f64;
        let (low, high) = (mean(&w[..third]), mean(&w[w.len() - third..]));
        assert!(low > high + 5.0, "seed {seed}: lower bodies {low:.1} mm wide, upper {high:.1} mm");
        assert!((24.0..36.0).contains(&high) && (32.0..52.0).contains(&low), "seed {seed}: {high:.1}, {low:.1}");
        let mut d: Vec<f64> = w.iter().map(|x| 2.0 * x.1).collect();
        d.sort_by(f64::total_cmp);
        let median = d[d.len() / 2];
        assert!((12.0..20.0).contains(&median), "seed {seed}: canal diameter {median:.1} mm");
    }
}

#[test]
fn sternum_clavicles_and_scapulae_are_in_place() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let mid = midline(ph);
        let spine = centroid(&points(ph, Structure::Vertebra));
        let lung: Vec<DVec3> =
            points(ph, Structure::LungRight).into_iter().chain(points(ph, Structure::LungLeft)).collect();
        let apex = lung.iter().map(|p| p.z).fold(f64::MIN, f64::max);
        let lung_c = centroid(&lung);
        let st = centroid(&points(ph, Structure::Sternum));
        // The front's midline: halfway between the two sides' costal cartilages
        // (the body is turned a few degrees in the scanner).
        let cart = points(ph, Structure::CostalCartilage);
        let side_c = |sgn: f64| centroid(&cart.iter().copied().filter(|p| (p.x - mid) * sgn > 0.0).collect::<Vec<_>>());
        let front = 0.5 * (side_c(-1.0).x + side_c(1.0).x);
        assert!((st.x - front).abs() < 8.0, "seed {seed}: sternum at x {:.1}, midline {front:.1}", st.x);
        assert!(st.y < spine.y - 90.0, "seed {seed}: sternum y {:.1}, spine {:.1}", st.y, spine.y);
        for (name, s) in [("clavicle", Structure::Clavicle), ("scapula", Structure::Scapula)] {
            let pts = points(ph, s);
            for side in [-1.0, 1.0] {
                let half: Vec<DVec3> = pts.iter().copied().filter(|p| (p.x - mid) * side > 0.0).collect();
                assert!(half.len() > 200, "seed {seed}: {name} on side {side} has {} voxels", half.len());
                let c = centroid(&half);
                let lateral = (c.x - mid) * side;
                if s == Structure::Clavicle {
                    assert!(
                        c.z > apex - 70.0 && c.z < apex + 30.0,
                        "seed {seed}: clavicle z {:.1}, apex {apex:.1}",
                        c.z
                    );
                    assert!(c.y < spine.y - 30.0, "seed {seed}: clavicle y {:.1}, spine {:.1}", c.y, spine.y);
                    assert!((40.0..140.0).contains(&lateral), "seed {seed}: clavicle {lateral:.1} mm lateral");
                } else {
                    assert!(c.y > lung_c.y, "seed {seed}: scapula y {:.1}, lungs {:.1}", c.y, lung_c.y);
                    assert!((60.0..150.0).contains(&lateral), "seed {seed}: scapula {lateral:.1} mm lateral");
                }
            }
        }
    }
}

#[test]
fn scapulae_lie_outside_the_ribs() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let [nx, ny, nz] = ph.anatomy.dims();
        let (mut near, mut n) = (0, 0);
        for k in 0..nz {
            for j in 2..ny - 2 {
                for i in 2..nx - 2 {
                    if !is(ph, i, j, k, Structure::Scapula) {
                        continue;
                    }
                    n += 1;
                    let a = |i: usize, j: usize| ph.anatomy.data()[ph.anatomy.index(i, j, k)];
                    if [a(i - 2, j), a(i + 2, j), a(i, j - 2), a(i, j + 2)].into_iter().any(is_lung) {
                        near += 1;
                    }
                }
            }
        }
        assert!(n > 0 && near == 0, "seed {seed}: {near} of {n} scapula voxels touch the lung");
    }
}

/// 8-connected components of `s` in slice `k` on each side of `mid` (voxel x).
fn components_per_side(ph: &Phantom, k: usize, s: Structure, mid: f64) -> [usize; 2] {
    let [nx, ny, _] = ph.anatomy.dims();
    let mut seen = vec![false; nx * ny];
    let mut count = [0; 2];
    for j in 0..ny {
        for i in 0..nx {
            if seen[i + nx * j] || !is(ph, i, j, k, s) {
                continue;
            }
            count[usize::from(i as f64 > mid)] += 1;
            let mut stack = vec![(i, j)];
            seen[i + nx * j] = true;
            while let Some((x, y)) = stack.pop() {
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (u, v) = (x as i64 + dx, y as i64 + dy);
                        if u < 0 || v < 0 || u >= nx as i64 || v >= ny as i64 {
                            continue;
                        }
                        let (u, v) = (u as usize, v as usize);
                        if !seen[u + nx * v] && is(ph, u, v, k, s) {
                            seen[u + nx * v] = true;
                            stack.push((u, v));
                        }
                    }
                }
            }
        }
    }
    count
}

#[test]
fn a_mid_thoracic_slice_cuts_several_ribs_per_side() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let lung: Vec<DVec3> =
            points(ph, Structure::LungRight).into_iter().chain(points(ph, Structure::LungLeft)).collect();
        let (lo, hi) = lung.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.z), b.max(p.z)));
        let g = ph.anatomy.geometry;
        let mid = g.world_to_voxel(DVec3::new(midline(ph), 0.0, 0.0)).x;
        // Near each of three heights, one slice (within ±6 mm) must cut at least four ribs per side.
        for f in [0.4, 0.5, 0.6] {
            let z = lo + (hi - lo) * f;
            let k0 = g.world_to_voxel(DVec3::new(0.0, 0.0, z)).z.round() as i64;
            let dk = (6.0 / g.spacing.z).round() as i64;
            let best = (k0 - dk..=k0 + dk)
                .map(|k| components_per_side(ph, k as usize, Structure::Rib, mid))
                .max_by_key(|c| c[0].min(c[1]))
                .unwrap();
            let [r, l] = best;
            assert!(r >= 4 && l >= 4, "seed {seed}: near z {z:.0}: {r} rib sections on the right, {l} on the left");
        }
    }
}

#[test]
fn ribs_lie_outside_the_lungs() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let [nx, ny, nz] = ph.anatomy.dims();
        let g = ph.anatomy.geometry;
        let lung: Vec<DVec3> =
            points(ph, Structure::LungRight).into_iter().chain(points(ph, Structure::LungLeft)).collect();
        let c = centroid(&lung);
        let mid = midline(ph);
        let (mut inside, mut n) = (0, 0);
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    if !is(ph, i, j, k, Structure::Rib) {
                        continue;
                    }
                    let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                    if (p.x - mid).abs() < 45.0 {
                        continue; // heads and necks lie beside the spine
                    }
                    n += 1;
                    // 8 mm further out from the chest's axis: never lung.
                    let out = (DVec3::new(p.x - mid, p.y - c.y, 0.0)).normalize() * 8.0;
                    let q = g.world_to_voxel(p + out).round();
                    if q.x < 0.0 || q.y < 0.0 || q.x >= nx as f64 || q.y >= ny as f64 {
                        continue;
                    }
                    let v = ph.anatomy.data()[ph.anatomy.index(q.x as usize, q.y as usize, k)];
                    if is_lung(v) {
                        inside += 1;
                    }
                }
            }
        }
        assert!(n > 1000 && inside * 200 < n, "seed {seed}: {inside} of {n} rib voxels have lung outside them");
    }
}

#[test]
fn cortex_is_brighter_than_marrow() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let [nx, ny, nz] = ph.anatomy.dims();
        for s in [Structure::Vertebra, Structure::Sternum] {
            let (mut edge, mut ne, mut core, mut nc) = (0.0, 0, 0.0, 0);
            for k in 2..nz - 2 {
                for j in 2..ny - 2 {
                    for i in 2..nx - 2 {
                        if !is(ph, i, j, k, s) {
                            continue;
                        }
                        let hu = ph.ct.data()[ph.ct.index(i, j, k)] as f64;
                        let n1 = [(1, 0), (0, 1)]
                            .iter()
                            .all(|&(a, b)| is(ph, i - a, j - b, k, s) && is(ph, i + a, j + b, k, s));
                        let n2 = [(2, 0), (0, 2)]
                            .iter()
                            .all(|&(a, b)| is(ph, i - a, j - b, k, s) && is(ph, i + a, j + b, k, s));
                        if !n1 {
                            edge += hu;
                            ne += 1;
                        } else if n2 && is(ph, i, j, k - 2, s) && is(ph, i, j, k + 2, s) {
                            core += hu;
                            nc += 1;
                        }
                    }
                }
            }
            let (edge, core) = (edge / ne.max(1) as f64, core / nc.max(1) as f64);
            assert!(nc > 100 && ne > 100, "seed {seed}: {}: {ne} edge, {nc} core voxels", s.name());
            assert!(edge > core + 80.0, "seed {seed}: {} edge {edge:.0} HU, core {core:.0} HU", s.name());
            if s == Structure::Vertebra {
                assert!((120.0..450.0).contains(&core), "seed {seed}: vertebral marrow {core:.0} HU");
            }
        }
    }
}

#[test]
fn no_bone_runs_through_a_vessel() {
    for (seed, ph) in SEEDS.iter().zip(phantoms()) {
        let [nx, ny, nz] = ph.anatomy.dims();
        let lab = ph.labels.data();
        let an = ph.anatomy.data();
        let mut through = 0;
        for k in 2..nz - 2 {
            for j in 2..ny - 2 {
                for i in 2..nx - 2 {
                    let idx = ph.labels.index(i, j, k);
                    if ![ARTERY, VEIN, AORTA].contains(&lab[idx]) {
                        continue;
                    }
                    // The same bone on both sides of a vessel voxel (in plane; along
                    // the spine too) means the vessel cuts through it.
                    for (a, b, c) in [(1usize, 0usize, 0usize), (0, 1, 0), (0, 0, 1)] {
                        let lo = an[ph.anatomy.index(i - a, j - b, k - c)];
                        let hi = an[ph.anatomy.index(i + a, j + b, k + c)];
                        let axial_ok = c == 0 || lo == Structure::Vertebra as u8;
                        if is_bone(lo) && lo == hi && axial_ok {
                            if through < 6 {
                                eprintln!(
                                    "vessel {} at {:?} between {lo} and {hi} (structure {})",
                                    lab[idx],
                                    ph.labels.voxel_to_world([i, j, k]),
                                    an[idx]
                                );
                            }
                            through += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(through, 0, "seed {seed}: {through} vessel voxels have bone on both sides");
    }
}
