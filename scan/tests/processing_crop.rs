//! Bounding boxes, cropping and pasting back.

use glam::{DMat3, DVec3};
use vasa_scan::crop::{BoundingBox, crop, paste, uncrop};
use vasa_scan::{Geometry, Volume};

/// An oblique geometry, so that a wrong origin shift cannot hide.
fn oblique() -> Geometry {
    let (s, c) = 0.3f64.sin_cos();
    Geometry {
        spacing: DVec3::new(0.7, 0.8, 2.5),
        origin: DVec3::new(-120.0, 35.0, 410.0),
        direction: DMat3::from_cols(DVec3::new(c, s, 0.0), DVec3::new(-s, c, 0.0), DVec3::new(0.0, 0.0, -1.0)),
    }
}

fn numbered(dims: [usize; 3]) -> Volume<i32> {
    Volume::from_vec(dims, (0..dims.iter().product::<usize>() as i32).collect(), oblique()).unwrap()
}

#[test]
fn box_of_a_mask_and_its_helpers() {
    let mut m = Volume::filled([10, 8, 6], 0u8, Geometry::default());
    for (i, j, k) in [(2, 3, 1), (7, 4, 4), (5, 1, 2)] {
        let idx = m.index(i, j, k);
        m.data_mut()[idx] = 3;
    }
    let b = BoundingBox::of_nonzero(&m);
    assert_eq!(b, BoundingBox::new([2, 1, 1], [8, 5, 5]));
    assert_eq!(b.dims(), [6, 4, 4]);
    assert_eq!(b.voxel_count(), 96);
    assert!(b.contains([7, 4, 4]) && !b.contains([8, 4, 4]));
    assert_eq!(BoundingBox::of(&m, |&v| v == 3), b);
    assert_eq!(b.padded([1, 2, 3], m.dims()), BoundingBox::new([1, 0, 0], [9, 7, 6]));
    // 1.6 mm at 0.7/0.8/2.5 mm is 3, 2 and 1 voxels.
    let g = Geometry::axis_aligned(DVec3::new(0.7, 0.8, 2.5), DVec3::ZERO);
    assert_eq!(b.padded_mm(1.6, &g, [100; 3]), BoundingBox::new([0, 0, 0], [11, 7, 6]));
    assert_eq!(b.padded_mm(1.6, &g, [100; 3]).min, [0, 0, 0]);
    let g = Geometry::axis_aligned(DVec3::splat(0.5), DVec3::ZERO);
    assert_eq!(BoundingBox::new([50; 3], [51; 3]).padded_mm(10.0, &g, [200; 3]).min, [30; 3]);

    let other = BoundingBox::new([6, 0, 0], [20, 2, 20]);
    assert_eq!(b.intersection(&other), BoundingBox::new([6, 1, 1], [8, 2, 5]));
    assert!(b.intersection(&BoundingBox::new([0, 0, 0], [2, 9, 9])).is_empty());
    assert_eq!(b.union(&BoundingBox::empty()), b);
    assert_eq!(b.union(&other), BoundingBox::new([2, 0, 0], [20, 5, 20]));
    assert_eq!(other.clamped(m.dims()), BoundingBox::new([6, 0, 0], [10, 2, 6]));

    let none = Volume::filled([4, 4, 4], false, Geometry::default());
    assert!(BoundingBox::of_mask(&none).is_empty());
    assert!(BoundingBox::of_mask(&none).padded([3; 3], [4; 3]).is_empty());
    assert_eq!(BoundingBox::empty().dims(), [0; 3]);
    assert!(BoundingBox::new([3, 0, 0], [3, 5, 5]).is_empty());
}

#[test]
fn crop_keeps_values_and_world_positions() {
    let v = numbered([13, 11, 9]);
    let b = BoundingBox::new([3, 2, 4], [10, 11, 7]);
    let c = crop(&v, &b);
    assert_eq!(c.dims(), [7, 9, 3]);
    for idx in 0..c.len() {
        let [i, j, k] = c.coords(idx);
        let src = [i + 3, j + 2, k + 4];
        assert_eq!(c.data()[idx], v.data()[v.index(src[0], src[1], src[2])]);
        let d = c.voxel_to_world([i, j, k]) - v.voxel_to_world(src);
        assert!(d.length() < 1e-9, "voxel {i},{j},{k} moved by {d:?}");
    }
    assert_eq!(c.geometry.spacing, v.geometry.spacing);
    assert_eq!(c.geometry.direction, v.geometry.direction);
}

#[test]
fn crop_clamps_and_uncrop_restores_the_grid() {
    let v = numbered([13, 11, 9]);
    let b = BoundingBox::new([8, 0, 5], [20, 4, 9]);
    let c = crop(&v, &b);
    assert_eq!(c.dims(), [5, 4, 4]);
    let full = uncrop(&c, &b, v.dims(), -1);
    assert!(full.same_grid(&v));
    let clamped = b.clamped(v.dims());
    for idx in 0..v.len() {
        let ijk = v.coords(idx);
        let expected = if clamped.contains(ijk) { v.data()[idx] } else { -1 };
        assert_eq!(full.data()[idx], expected);
    }
    // Cropping with an empty box gives an empty volume that uncrops to fill.
    let e = crop(&v, &BoundingBox::new([5, 5, 5], [5, 9, 9]));
    assert!(e.is_empty());
    let back = uncrop(&e, &BoundingBox::new([5, 5, 5], [5, 9, 9]), v.dims(), 7);
    assert!(back.data().iter().all(|&x| x == 7));
}

#[test]
fn paste_clips_to_the_target() {
    let mut target = Volume::filled([6, 5, 4], 0u8, Geometry::default());
    let part = Volume::filled([3, 3, 3], 9u8, Geometry::default());
    paste(&mut target, &part, [4, 3, 2]);
    let set = target.data().iter().filter(|&&x| x == 9).count();
    assert_eq!(set, 2 * 2 * 2);
    assert_eq!(target.get(5, 4, 3), Some(&9));
    assert_eq!(target.get(3, 4, 3), Some(&0));
    paste(&mut target, &part, [10, 0, 0]);
    assert_eq!(target.data().iter().filter(|&&x| x == 9).count(), 8);
}
