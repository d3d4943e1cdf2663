//! Scans that are not a whole chest: the network's region keeps the heart
//! and the mediastinum for every field of view (the whole chest, a slab, one
//! side, the mediastinum alone), and a slab thinner than a patch is padded,
//! not refused.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use vasa_inference::phantom::{Acquisition, Fov, Kernel, Phantom, PhantomOptions, Phase, Structure, generate};
use vasa_inference::segment::{SegmentOptions, Segmenter, network_region};
use vasa_scan::LabelMap;
use vasa_scan::crop::{self, BoundingBox};
use vasa_scan::labels::{AORTA, ARTERY};
use vasa_scan::masks::Mask;

fn acquisition(fov: Fov, slice_mm: f64) -> Acquisition {
    Acquisition {
        pixel_mm: 0.98,
        thickness_mm: slice_mm,
        spacing_mm: slice_mm,
        kernel: Kernel::Standard,
        noise_sigma: 15.0,
        fov,
    }
}

fn phantom(seed: u64, phase: Phase, fov: Fov, slice_mm: f64) -> Phantom {
    generate(&PhantomOptions::from_acquisition(seed, phase, &acquisition(fov, slice_mm)).unwrap()).unwrap()
}

/// The heart and the central pulmonary vessels: what the network must see.
const CENTRAL: [Structure; 8] = [
    Structure::PulmonaryTrunk,
    Structure::PulmonaryArtery,
    Structure::PulmonaryVein,
    Structure::LeftAtrium,
    Structure::RightAtrium,
    Structure::RightVentricle,
    Structure::LeftVentricle,
    Structure::Myocardium,
];

/// Voxels of `structures` in `anatomy` that lie outside `region`, and how many there are in all.
fn outside(anatomy: &LabelMap, region: &BoundingBox, structures: &[Structure]) -> (usize, usize) {
    let [nx, ny, _] = anatomy.dims();
    let (mut out, mut all) = (0, 0);
    for (idx, &v) in anatomy.data().iter().enumerate() {
        if !structures.iter().any(|&s| s as u8 == v) {
            continue;
        }
        all += 1;
        let c = [idx % nx, (idx / nx) % ny, idx / (nx * ny)];
        if (0..3).any(|a| c[a] < region.min[a] || c[a] >= region.max_exclusive[a]) {
            out += 1;
        }
    }
    (out, all)
}

#[test]
fn the_network_region_keeps_the_heart_and_mediastinum_for_every_field_of_view() {
    for (seed, fov) in [(3, Fov::Chest), (4, Fov::Slab { mm: 40.0 }), (5, Fov::Left), (6, Fov::Right)] {
        let ph = phantom(seed, Phase::Plain, fov, 5.0);
        let (_, region) = network_region(&ph.ct);
        let (out, all) = outside(&ph.anatomy, &region, &CENTRAL);
        assert!(all > 1000, "{fov}: only {all} central voxels in the field");
        assert_eq!(
            out, 0,
            "{fov}: {out} of {all} heart and central-vessel voxels outside the network region {region:?}"
        );
        // The aorta too, wherever it runs beside the lungs (the arch and the descending part).
        let (out, all) = outside(&ph.anatomy, &region, &[Structure::Aorta]);
        assert!(out * 50 <= all, "{fov}: {out} of {all} aorta voxels outside the network region");
    }
}

#[test]
fn the_network_region_of_a_mediastinum_only_field_is_that_field() {
    // A reconstruction cropped to the mediastinum (no lung edge in view):
    // the region must not shrink to nothing or to a lung fragment.
    let ph = phantom(7, Phase::Ctpa, Fov::Slab { mm: 60.0 }, 2.5);
    let dims = ph.ct.dims();
    const MEDIASTINUM: [Structure; 7] = [
        Structure::PulmonaryTrunk,
        Structure::LeftAtrium,
        Structure::RightAtrium,
        Structure::RightVentricle,
        Structure::LeftVentricle,
        Structure::Myocardium,
        Structure::Aorta,
    ];
    let central = ph.anatomy.data().iter().map(|&v| MEDIASTINUM.iter().any(|&s| s as u8 == v)).collect();
    let heart = BoundingBox::of_mask(&Mask::from_vec(dims, central, ph.ct.geometry).unwrap());
    let field = heart.padded_mm(10.0, &ph.ct.geometry, dims);
    let (ct, anatomy) = (crop::crop(&ph.ct, &field), crop::crop(&ph.anatomy, &field));
    let (_, region) = network_region(&ct);
    let (out, all) = outside(&anatomy, &region, &CENTRAL);
    assert!(all > 1000);
    assert_eq!(out, 0, "{out} of {all} central voxels outside the region {region:?} of a {:?} field", ct.dims());
}

#[test]
fn a_ten_slice_slab_is_padded_and_segmented_on_its_own_grid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/model");
    let segmenter = Segmenter::load(&dir).expect("the shipped model loads");
    let ph = phantom(8, Phase::Ctpa, Fov::Slab { mm: 25.0 }, 2.5);
    assert_eq!(ph.ct.dims()[2], 10, "a slab of 10 slices");
    let out = segmenter
        .segment(&ph.ct, &SegmentOptions::default(), &|_| {}, &AtomicBool::new(false))
        .expect("a slab thinner than a patch is segmented, not refused");
    assert!(out.labels.same_grid(&ph.ct) && out.raw.same_grid(&ph.ct));
    // Vessels found across the slab, not only where a patch happened to sit.
    // (Per-slice completeness at the slab's ends is a matter of weights: the
    // training pads its slab crops with air as the sliding window does.)
    let [nx, ny, nz] = ph.ct.dims();
    let found = |c: u8| out.labels.data().iter().filter(|&&v| v == c).count();
    assert!(found(ARTERY) > 2000 && found(AORTA) > 2000, "artery {} aorta {}", found(ARTERY), found(AORTA));
    for k in 0..nz {
        let slice = &out.labels.data()[k * nx * ny..(k + 1) * nx * ny];
        assert!(slice.iter().filter(|&&v| v == ARTERY).count() > 50, "slice {k} has no artery");
    }
}
