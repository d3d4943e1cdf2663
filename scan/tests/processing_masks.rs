//! Body and lung masks on hand-built synthetic chests, and the morphology
//! helpers they use.

#[path = "processing_chest.rs"]
mod chest;

use chest::*;
use glam::DVec3;
use vasa_scan::masks::{
    BodyMaskOptions, LungMaskOptions, Mask, axial_axis, body_mask, close, dilate, erode, fill_holes,
    fill_holes_per_slice, lung_mask, radius_in_voxels,
};
use vasa_scan::{Geometry, Volume};

/// Voxels where `mask` is set and the truth is one of `classes`.
fn count_in(mask: &Mask, truth: &Volume<u8>, classes: &[u8]) -> usize {
    mask.data().iter().zip(truth.data()).filter(|(m, t)| **m && classes.contains(t)).count()
}

/// Voxels of the truth in one of `classes`.
fn count_truth(truth: &Volume<u8>, classes: &[u8]) -> usize {
    truth.data().iter().filter(|t| classes.contains(t)).count()
}

const DIMS: [usize; 3] = [220, 200, 120];
const SPACING: DVec3 = DVec3::new(1.5, 1.5, 2.5);

#[test]
fn body_mask_is_the_body_with_lungs_without_table() {
    let c = chest(DIMS, SPACING, true);
    let body = body_mask(&c.ct, &BodyMaskOptions::default());
    let inside = [TISSUE, LUNG, VESSEL, BUBBLE, TRACHEA, BRONCHUS];
    // Every body voxel, lungs and airways included, and nothing else.
    assert_eq!(count_in(&body, &c.truth, &inside), count_truth(&c.truth, &inside));
    assert_eq!(count_in(&body, &c.truth, &[OUTSIDE, TABLE]), 0);
}

#[test]
fn lung_mask_holds_both_lungs_and_the_vessel_but_no_gas_or_outside_air() {
    let c = chest(DIMS, SPACING, false);
    let body = body_mask(&c.ct, &BodyMaskOptions::default());
    let lungs = lung_mask(&c.ct, &body, &LungMaskOptions::default());
    let lung_voxels = count_truth(&c.truth, &[LUNG]);
    assert_eq!(count_in(&lungs, &c.truth, &[LUNG]), lung_voxels, "every lung voxel");
    assert_eq!(count_in(&lungs, &c.truth, &[VESSEL]), count_truth(&c.truth, &[VESSEL]), "the whole vessel");
    assert_eq!(count_in(&lungs, &c.truth, &[BUBBLE]), 0, "no bowel gas");
    assert_eq!(count_in(&lungs, &c.truth, &[OUTSIDE, TABLE]), 0, "no outside air");
    let extra = count_in(&lungs, &c.truth, &[TISSUE]);
    assert!(extra * 100 < lung_voxels, "{extra} tissue voxels in a mask of {lung_voxels} lung voxels");
    // Two separate lungs.
    let pieces = vasa_scan::components::label(&lungs, vasa_scan::components::Connectivity::TwentySix);
    assert_eq!(pieces.count(), 2);
}

#[test]
fn lung_mask_drops_the_trachea() {
    let c = chest(DIMS, SPACING, true);
    let body = body_mask(&c.ct, &BodyMaskOptions::default());
    let lungs = lung_mask(&c.ct, &body, &LungMaskOptions::default());
    let lung_voxels = count_truth(&c.truth, &[LUNG]);
    assert!(count_in(&lungs, &c.truth, &[LUNG]) * 1000 >= lung_voxels * 995, "lungs kept");
    assert_eq!(count_in(&lungs, &c.truth, &[VESSEL]), count_truth(&c.truth, &[VESSEL]));
    assert_eq!(count_in(&lungs, &c.truth, &[TRACHEA]), 0, "trachea removed");
    // The bronchi are followed until they merge with a lung in a slice; the
    // oblique stretch beside the lung, in the same slices, stays.
    let in_lung = |idx: usize| {
        let p = c.truth.voxel_to_world(c.truth.coords(idx));
        LUNG_CENTRES.iter().any(|&centre| ((p - DVec3::from(centre)) / DVec3::from(LUNG_SEMI_AXES)).length() <= 1.0)
    };
    let outside_lungs: Vec<usize> =
        (0..c.truth.len()).filter(|&i| c.truth.data()[i] == BRONCHUS && !in_lung(i)).collect();
    let kept = outside_lungs.iter().filter(|&&i| lungs.data()[i]).count();
    assert!(kept * 2 < outside_lungs.len(), "{kept} of {} extrapulmonary bronchus voxels kept", outside_lungs.len());

    // Without the tracking the airway stays in (it is connected to the lungs).
    let options = LungMaskOptions { exclude_trachea: false, ..Default::default() };
    let with_airway = lung_mask(&c.ct, &body, &options);
    assert_eq!(count_in(&with_airway, &c.truth, &[TRACHEA]), count_truth(&c.truth, &[TRACHEA]));
}

#[test]
fn lung_mask_of_a_scan_without_lungs_is_empty() {
    let geometry = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
    let ct = Volume::filled([30, 30, 30], 40i16, geometry);
    let body = body_mask(&ct, &BodyMaskOptions::default());
    assert!(body.data().iter().all(|&b| b));
    let lungs = lung_mask(&ct, &body, &LungMaskOptions::default());
    assert!(lungs.data().iter().all(|&b| !b));
    let air = Volume::filled([10, 10, 10], -1000i16, geometry);
    assert!(body_mask(&air, &BodyMaskOptions::default()).data().iter().all(|&b| !b));
}

#[test]
fn axial_axis_follows_head_feet() {
    let mut g = Geometry::default();
    assert_eq!(axial_axis(&g), 2);
    // Coronal acquisition: voxel axis j runs head to feet.
    g.direction = glam::DMat3::from_cols(DVec3::X, -DVec3::Z, DVec3::Y);
    assert_eq!(axial_axis(&g), 1);
    assert_eq!(radius_in_voxels(2.0, &Geometry::axis_aligned(DVec3::new(0.7, 0.7, 2.0), DVec3::ZERO)), [3, 3, 1]);
}

/// Asserts that two masks are equal, reporting the first difference (not
/// the whole volume).
#[track_caller]
fn assert_same(a: &Mask, b: &Mask, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: dims");
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a.data()[i] != b.data()[i]).collect();
    if let Some(&first) = diff.first() {
        panic!(
            "{what}: {} voxels differ, first at {:?} ({} vs {})",
            diff.len(),
            a.coords(first),
            a.data()[first],
            b.data()[first]
        );
    }
}

fn ball(dims: [usize; 3], centre: [f64; 3], r: f64) -> Mask {
    let mut m = Volume::filled(dims, false, Geometry::default());
    for idx in 0..m.len() {
        let [i, j, k] = m.coords(idx);
        let d = DVec3::new(i as f64, j as f64, k as f64) - DVec3::from(centre);
        m.data_mut()[idx] = d.length() <= r;
    }
    m
}

/// Reference 3×3×3-box morphology, voxel by voxel.
fn reference_morph(m: &Mask, r: [usize; 3], grow: bool) -> Mask {
    let [nx, ny, nz] = m.dims();
    let mut out = m.clone();
    for idx in 0..m.len() {
        let [i, j, k] = m.coords(idx);
        let mut any = false;
        let mut all = true;
        for kk in k.saturating_sub(r[2])..=(k + r[2]).min(nz - 1) {
            for jj in j.saturating_sub(r[1])..=(j + r[1]).min(ny - 1) {
                for ii in i.saturating_sub(r[0])..=(i + r[0]).min(nx - 1) {
                    let v = m.data()[m.index(ii, jj, kk)];
                    any |= v;
                    all &= v;
                }
            }
        }
        out.data_mut()[idx] = if grow { any } else { all };
    }
    out
}

#[test]
fn morphology_matches_the_voxelwise_definition() {
    let mut m = ball([17, 13, 11], [8.0, 6.0, 5.0], 4.5);
    // Specks and a notch.
    for idx in [0usize, 100, 1000, 1500] {
        m.data_mut()[idx] = !m.data()[idx];
    }
    for r in [[1, 1, 1], [2, 1, 0], [0, 3, 2]] {
        assert_same(&dilate(&m, r), &reference_morph(&m, r, true), &format!("dilate {r:?}"));
        assert_same(&erode(&m, r), &reference_morph(&m, r, false), &format!("erode {r:?}"));
        let closed = close(&m, r);
        assert!(m.data().iter().zip(closed.data()).all(|(a, b)| !a || *b), "closing is extensive");
    }
}

#[test]
fn hole_filling_fills_enclosed_cavities_only() {
    // A hollow ball with a tunnel to the outside along k through its centre.
    let outer = ball([21, 21, 21], [10.0, 10.0, 10.0], 9.0);
    let inner = ball([21, 21, 21], [10.0, 10.0, 10.0], 5.0);
    let mut shell = outer.clone();
    for (s, &i) in shell.data_mut().iter_mut().zip(inner.data()) {
        *s &= !i;
    }
    // Closed shell: 3-D filling gives the full ball.
    assert_same(&fill_holes(&shell), &outer, "closed shell");
    let mut open = shell.clone();
    for k in 0..10 {
        let idx = open.index(10, 10, k);
        open.data_mut()[idx] = false;
    }
    // Open to the outside: nothing to fill in 3-D ...
    assert_same(&fill_holes(&open), &open, "open shell");
    // ... but in axial slices the tunnel is a hole of its slice: all filled,
    // except in slice 1, where the tunnel's one voxel is the whole ball.
    let mut expected = outer.clone();
    let tip = expected.index(10, 10, 1);
    expected.data_mut()[tip] = false;
    assert_same(&fill_holes_per_slice(&open, 2), &expected, "axial");
    // Slices across i and j: the slice through the tunnel stays open to the
    // border, every other slice is filled.
    for axis in [0, 1] {
        let f = fill_holes_per_slice(&open, axis);
        for idx in 0..f.len() {
            let ijk = f.coords(idx);
            if ijk[axis] == 10 {
                assert_eq!(f.data()[idx], open.data()[idx], "axis {axis} {ijk:?}");
            } else {
                assert_eq!(f.data()[idx], outer.data()[idx], "axis {axis} {ijk:?}");
            }
        }
    }
}

#[test]
fn a_table_touching_the_back_is_cut_off() {
    let mut c = chest(DIMS, SPACING, false);
    // A flat two-plate table whose top plate touches the back, walls at
    // the sides enclosing an air gap, all along the scan.
    let g = c.ct.geometry;
    let mut table = vec![false; c.ct.len()];
    for (idx, t) in table.iter_mut().enumerate() {
        let p = g.voxel_to_world({
            let [i, j, k] = c.ct.coords(idx);
            DVec3::new(i as f64, j as f64, k as f64)
        });
        let plate = (104.0..107.0).contains(&p.y) || (112.0..114.0).contains(&p.y);
        let wall = (104.0..114.0).contains(&p.y) && (118.0..120.0).contains(&p.x.abs());
        *t = (plate && p.x.abs() < 120.0) || wall;
    }
    for ((hu, truth), &t) in c.ct.data_mut().iter_mut().zip(c.truth.data_mut()).zip(&table) {
        if t && *truth == OUTSIDE {
            *hu = 200;
            *truth = TABLE;
        }
    }
    let inside = [TISSUE, LUNG, VESSEL, BUBBLE];
    let body = body_mask(&c.ct, &BodyMaskOptions::default());
    assert_eq!(count_in(&body, &c.truth, &inside), count_truth(&c.truth, &inside));
    // No air, and of the table only the stretch lying flush on the back
    // (an opening cannot tell a plate stacked on the body from the body).
    assert_eq!(count_in(&body, &c.truth, &[OUTSIDE]), 0);
    let table_in_body = count_in(&body, &c.truth, &[TABLE]);
    assert!(table_in_body * 20 < count_truth(&c.truth, &[TABLE]), "{table_in_body} table voxels in the body");
    // Without the opening the table and the air it encloses are "body".
    let joined = body_mask(&c.ct, &BodyMaskOptions { table_opening_mm: 0.0, ..Default::default() });
    assert!(count_in(&joined, &c.truth, &[TABLE]) > 5 * table_in_body);
    assert!(count_in(&joined, &c.truth, &[OUTSIDE]) > 10_000);
}

/// The same volume stored with slices in the opposite order (k running
/// head to feet), placed at the same patient positions.
fn flip_k<T: Copy>(v: &Volume<T>) -> Volume<T> {
    let [nx, ny, nz] = v.dims();
    let plane = nx * ny;
    let data: Vec<T> = (0..nz).rev().flat_map(|k| v.data()[k * plane..(k + 1) * plane].iter().copied()).collect();
    let mut g = v.geometry;
    g.origin = v.voxel_to_world([0, 0, nz - 1]);
    g.direction = glam::DMat3::from_cols(g.direction.col(0), g.direction.col(1), -g.direction.col(2));
    Volume::from_vec(v.dims(), data, g).unwrap()
}

#[test]
fn masks_do_not_depend_on_slice_order() {
    let c = chest(DIMS, SPACING, true);
    let body = body_mask(&c.ct, &BodyMaskOptions::default());
    let lungs = lung_mask(&c.ct, &body, &LungMaskOptions::default());
    let flipped = flip_k(&c.ct);
    assert!((flipped.voxel_to_world([3, 4, 5]) - c.ct.voxel_to_world([3, 4, DIMS[2] - 6])).length() < 1e-9);
    let body_f = body_mask(&flipped, &BodyMaskOptions::default());
    let lungs_f = lung_mask(&flipped, &body_f, &LungMaskOptions::default());
    // Flipped back, both masks match voxel for voxel (geometry aside, which
    // flip_k restores by construction).
    assert_same(&flip_k(&body_f), &body, "body");
    assert_same(&flip_k(&lungs_f), &lungs, "lungs");
}
