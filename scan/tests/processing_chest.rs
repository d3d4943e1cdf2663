//! A hand-built synthetic chest CT with its ground truth, shared by the mask
//! tests (`#[path]`-included) and the processing bench. Built as its own test
//! target too, where it checks that the phantom is what it claims to be.
#![allow(dead_code)]

use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::{Geometry, Volume};

/// Truth classes of the phantom, one per voxel.
pub const OUTSIDE: u8 = 0;
/// Soft tissue of the body (40 HU).
pub const TISSUE: u8 = 1;
/// Lung parenchyma (−850 HU).
pub const LUNG: u8 = 2;
/// A vessel inside the right lung (40 HU).
pub const VESSEL: u8 = 3;
/// A 10 mL gas bubble in the abdomen (−1000 HU).
pub const BUBBLE: u8 = 4;
/// Trachea above the carina (−1000 HU).
pub const TRACHEA: u8 = 5;
/// Main bronchi, carina to the lungs (−1000 HU).
pub const BRONCHUS: u8 = 6;
/// The table under the patient (200 HU), in air.
pub const TABLE: u8 = 7;

/// The lungs' ellipsoid centres (mm, LPS) and semi-axes.
pub const LUNG_CENTRES: [[f64; 3]; 2] = [[-70.0, 0.0, 40.0], [70.0, 0.0, 40.0]];
/// Semi-axes of each lung (mm).
pub const LUNG_SEMI_AXES: [f64; 3] = [50.0, 65.0, 90.0];
/// Radius of the gas bubble: 10 mL.
pub const BUBBLE_RADIUS_MM: f64 = 13.365;
/// Height (z, mm) of the carina.
pub const CARINA_Z: f64 = 115.0;

/// A synthetic chest: CT in HU and the truth class of every voxel.
pub struct Chest {
    /// The CT, HU.
    pub ct: Volume<i16>,
    /// Truth class per voxel (constants above).
    pub truth: Volume<u8>,
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: DVec3, a: DVec3, b: DVec3) -> f64 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
    (p - (a + ab * t)).length()
}

/// Deterministic noise in −1..1 from a voxel index.
fn noise(n: usize) -> f64 {
    let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// The truth class at patient position `p` (mm).
fn class_at(p: DVec3, with_trachea: bool) -> u8 {
    // Table: a plate below (posterior to) the body, separated by air.
    if p.y > 130.0 && p.y < 140.0 && p.x.abs() < 200.0 {
        return TABLE;
    }
    let body = (p.x / 150.0).powi(2) + (p.y / 105.0).powi(2);
    if body > 1.0 {
        return OUTSIDE;
    }
    let carina = DVec3::new(0.0, -20.0, CARINA_Z);
    if with_trachea {
        if segment_distance(p, DVec3::new(0.0, -20.0, 1000.0), carina) <= 9.0 && p.z >= CARINA_Z {
            return TRACHEA;
        }
        for side in [-1.0, 1.0] {
            let end = DVec3::new(45.0 * side, -10.0, 95.0);
            if segment_distance(p, carina, end) <= 6.0 {
                return BRONCHUS;
            }
        }
    }
    let right_vessel = segment_distance(p, DVec3::new(-90.0, -30.0, 0.0), DVec3::new(-50.0, 30.0, 80.0));
    if right_vessel <= 3.0 {
        return VESSEL;
    }
    for c in LUNG_CENTRES {
        let d = (p - DVec3::from(c)) / DVec3::from(LUNG_SEMI_AXES);
        if d.length_squared() <= 1.0 {
            return LUNG;
        }
    }
    if (p - DVec3::new(30.0, 20.0, -100.0)).length() <= BUBBLE_RADIUS_MM {
        return BUBBLE;
    }
    TISSUE
}

/// A chest of `dims` voxels at `spacing` (mm), centred on the patient origin,
/// axial LPS. With `with_trachea`, a trachea runs from the top of the volume
/// to the carina and two main bronchi join it to the lungs.
pub fn chest(dims: [usize; 3], spacing: DVec3, with_trachea: bool) -> Chest {
    let extent = DVec3::new(dims[0] as f64, dims[1] as f64, dims[2] as f64) * spacing;
    let origin = -0.5 * extent + 0.5 * spacing;
    let geometry = Geometry::axis_aligned(spacing, origin);
    let n = dims.iter().product();
    let mut truth = vec![0u8; n];
    let plane = dims[0] * dims[1];
    truth.par_chunks_mut(plane).enumerate().for_each(|(k, slice)| {
        for (p, t) in slice.iter_mut().enumerate() {
            let ijk = DVec3::new((p % dims[0]) as f64, (p / dims[0]) as f64, k as f64);
            *t = class_at(geometry.voxel_to_world(ijk), with_trachea);
        }
    });
    let mut ct = vec![0i16; n];
    ct.par_iter_mut().zip(truth.par_iter()).enumerate().for_each(|(i, (hu, &t))| {
        let base = match t {
            TISSUE | VESSEL => 40.0,
            LUNG => -850.0,
            TABLE => 200.0,
            _ => -1000.0,
        };
        *hu = (base + 20.0 * noise(i)).round() as i16;
    });
    Chest { ct: Volume::from_vec(dims, ct, geometry).unwrap(), truth: Volume::from_vec(dims, truth, geometry).unwrap() }
}

#[test]
fn phantom_has_the_parts_it_claims() {
    let c = chest([220, 200, 120], DVec3::new(1.5, 1.5, 2.5), true);
    let counts = vasa_scan::labels::class_counts(&c.truth);
    let ml = |class: u8| counts[class as usize] as f64 * c.truth.voxel_volume_ml();
    assert!((ml(BUBBLE) - 10.0).abs() < 1.0, "bubble {} mL", ml(BUBBLE));
    assert!(ml(LUNG) > 2000.0, "lungs {} mL", ml(LUNG));
    for class in [VESSEL, TRACHEA, BRONCHUS, TABLE] {
        assert!(counts[class as usize] > 100, "class {class} has {} voxels", counts[class as usize]);
    }
}
