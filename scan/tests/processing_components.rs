//! Connected components against a plain breadth-first flood fill.

use std::collections::VecDeque;

use proptest::prelude::*;
use vasa_scan::components::{
    Connectivity, components_per_class, label, label_classes, label_per_slice, label_where, largest_component,
    remove_small_components,
};
use vasa_scan::{Geometry, Volume};

/// Reference labelling: ids in order of first voxel, BFS over voxels of equal
/// non-zero class. Returns (ids, sizes with sizes[0] = background count).
fn reference(data: &[u8], dims: [usize; 3], conn: Connectivity) -> (Vec<u32>, Vec<u64>) {
    reference_with(data, dims, conn, false)
}

/// [`reference`], within each slice k only when `planar`.
fn reference_with(data: &[u8], dims: [usize; 3], conn: Connectivity, planar: bool) -> (Vec<u32>, Vec<u64>) {
    let [nx, ny, nz] = dims;
    let mut ids = vec![0u32; data.len()];
    let mut sizes = vec![data.iter().filter(|&&v| v == 0).count() as u64];
    let mut queue = VecDeque::new();
    for start in 0..data.len() {
        if data[start] == 0 || ids[start] != 0 {
            continue;
        }
        let id = sizes.len() as u32;
        sizes.push(0);
        ids[start] = id;
        queue.push_back(start);
        while let Some(p) = queue.pop_front() {
            sizes[id as usize] += 1;
            let (i, j, k) = ((p % nx) as i64, ((p / nx) % ny) as i64, (p / (nx * ny)) as i64);
            for dk in -1i64..=1 {
                for dj in -1i64..=1 {
                    for di in -1i64..=1 {
                        let manhattan = di.abs() + dj.abs() + dk.abs();
                        if manhattan == 0 || (conn == Connectivity::Six && manhattan > 1) || (planar && dk != 0) {
                            continue;
                        }
                        let (a, b, c) = (i + di, j + dj, k + dk);
                        if a < 0 || b < 0 || c < 0 || a >= nx as i64 || b >= ny as i64 || c >= nz as i64 {
                            continue;
                        }
                        let q = a as usize + nx * (b as usize + ny * c as usize);
                        if ids[q] == 0 && data[q] == data[start] {
                            ids[q] = id;
                            queue.push_back(q);
                        }
                    }
                }
            }
        }
    }
    (ids, sizes)
}

/// Random small volumes of classes `0..classes`, mostly background at low
/// density and mostly foreground at high density.
fn volumes(classes: u8) -> impl Strategy<Value = ([usize; 3], Vec<u8>)> {
    (1usize..10, 1usize..10, 1usize..14, 0.05f64..0.95).prop_flat_map(move |(x, y, z, density)| {
        let voxel = (prop::bool::weighted(density), 1..classes.max(2)).prop_map(|(on, c)| if on { c } else { 0 });
        (Just([x, y, z]), prop::collection::vec(voxel, x * y * z))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn binary_labelling_matches_flood_fill((dims, data) in volumes(2)) {
        let mask = Volume::from_vec(dims, data.iter().map(|&v| v != 0).collect(), Geometry::default()).unwrap();
        for conn in [Connectivity::Six, Connectivity::TwentySix] {
            let (ref_ids, ref_sizes) = reference(&data, dims, conn);
            let c = label(&mask, conn);
            prop_assert_eq!(c.count(), ref_sizes.len() - 1);
            prop_assert_eq!(c.sizes(), &ref_sizes[..]);
            // Same numbering (first voxel order), hence the same partition.
            let ids = c.ids();
            prop_assert_eq!(ids.data(), &ref_ids[..]);
        }
    }

    #[test]
    fn class_labelling_matches_flood_fill((dims, data) in volumes(4)) {
        let labels = Volume::from_vec(dims, data.clone(), Geometry::default()).unwrap();
        for conn in [Connectivity::Six, Connectivity::TwentySix] {
            let (ref_ids, ref_sizes) = reference(&data, dims, conn);
            let c = label_classes(&labels, conn);
            let ids = c.ids();
            prop_assert_eq!(ids.data(), &ref_ids[..]);
            prop_assert_eq!(c.sizes(), &ref_sizes[..]);
            let mut per_class = [0u32; 256];
            for (p, &id) in ref_ids.iter().enumerate() {
                if id != 0 && ref_ids[..p].iter().all(|&q| q != id) {
                    per_class[data[p] as usize] += 1;
                    prop_assert_eq!(c.class_of(id), data[p]);
                }
            }
            prop_assert_eq!(components_per_class(&labels, conn), per_class);
        }
    }

    #[test]
    fn per_slice_labelling_matches_flood_fill_in_slices((dims, data) in volumes(2)) {
        let mask = Volume::from_vec(dims, data.iter().map(|&v| v != 0).collect(), Geometry::default()).unwrap();
        for conn in [Connectivity::Six, Connectivity::TwentySix] {
            let (ref_ids, ref_sizes) = reference_with(&data, dims, conn, true);
            let c = label_per_slice(&mask, conn);
            let ids = c.ids();
            prop_assert_eq!(ids.data(), &ref_ids[..]);
            prop_assert_eq!(c.sizes(), &ref_sizes[..]);
        }
    }

    #[test]
    fn size_filters_agree_with_sizes((dims, data) in volumes(2), min in 1u64..6) {
        let mask = Volume::from_vec(dims, data.iter().map(|&v| v != 0).collect(), Geometry::default()).unwrap();
        let (ref_ids, ref_sizes) = reference(&data, dims, Connectivity::TwentySix);
        let kept = remove_small_components(&mask, Connectivity::TwentySix, min);
        for (p, &id) in ref_ids.iter().enumerate() {
            prop_assert_eq!(kept.data()[p], id != 0 && ref_sizes[id as usize] >= min);
        }
        let largest = largest_component(&mask, Connectivity::TwentySix);
        let biggest = ref_sizes.iter().skip(1).copied().max().unwrap_or(0);
        prop_assert_eq!(largest.data().iter().filter(|&&b| b).count() as u64, biggest);
    }
}

#[test]
fn large_volume_with_many_slabs_matches_flood_fill() {
    // Big enough that every thread gets several slabs of several slices.
    let dims = [61, 47, 83];
    let data: Vec<u8> = (0..dims.iter().product::<usize>())
        .map(|n| {
            let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            (h % 100 < 45) as u8
        })
        .collect();
    for conn in [Connectivity::Six, Connectivity::TwentySix] {
        let (ref_ids, ref_sizes) = reference(&data, dims, conn);
        let v = Volume::from_vec(dims, data.clone(), Geometry::default()).unwrap();
        let c = label_where(&v, conn, |&x| x != 0);
        assert_eq!(c.sizes(), &ref_sizes[..]);
        assert_eq!(c.ids().data(), &ref_ids[..]);
    }
}

#[test]
fn empty_and_full_volumes() {
    let g = Geometry::default();
    let empty = Volume::filled([4, 5, 6], false, g);
    let c = label(&empty, Connectivity::TwentySix);
    assert_eq!(c.count(), 0);
    assert_eq!(c.largest(), None);
    assert_eq!(c.sizes(), &[120]);
    assert_eq!(largest_component(&empty, Connectivity::Six), empty);
    let full = Volume::filled([4, 5, 6], true, g);
    let c = label(&full, Connectivity::Six);
    assert_eq!((c.count(), c.size(1), c.largest()), (1, 120, Some(1)));
    assert_eq!(c.mask_of(1), full);
    let none = Volume::filled([0, 3, 3], true, g);
    assert_eq!(label(&none, Connectivity::Six).count(), 0);
}
