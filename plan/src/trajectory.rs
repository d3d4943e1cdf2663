//! The applicator's path from entry to target against the vessels: per
//! class, the smallest distance from the segment to the class's surface
//! (negative: the path goes through it), where, and the vessel's diameter
//! there.

use glam::DVec3;
use vasa_scan::LabelMap;

use crate::vessels::{half_voxel_along, local_diameter};

/// The path's closest approach to one class.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Approach {
    /// Distance from the segment to the class's surface (mm; negative: through it).
    pub distance_mm: f64,
    /// The class's voxel nearest the path (patient mm).
    pub at_mm: [f64; 3],
    /// The vessel's diameter there (mm).
    pub diameter_mm: f64,
}

/// Distance from `p` to the segment `a`–`b`, and the segment's nearest point.
pub fn point_segment(p: DVec3, a: DVec3, b: DVec3) -> (f64, DVec3) {
    let ab = b - a;
    let len2 = ab.length_squared();
    let t = if len2 > 0.0 { ((p - a).dot(ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let q = a + ab * t;
    (p.distance(q), q)
}

/// The closest approach of the segment `entry`–`target` to `class`, if the
/// labels hold that class.
pub fn closest_approach(labels: &LabelMap, class: u8, entry: DVec3, target: DVec3) -> Option<Approach> {
    let g = labels.geometry;
    let mut best: Option<(f64, usize)> = None;
    for (n, &l) in labels.data().iter().enumerate() {
        if l != class {
            continue;
        }
        let c = labels.coords(n);
        let p = g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64));
        let (d, q) = point_segment(p, entry, target);
        let dir = (p - q).try_normalize().unwrap_or((target - entry).any_orthonormal_vector());
        let d = d - half_voxel_along(labels, dir);
        if best.is_none_or(|(b, _)| d < b) {
            best = Some((d, n));
        }
    }
    let (d, n) = best?;
    let c = labels.coords(n);
    let at = g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64));
    Some(Approach { distance_mm: d, at_mm: at.to_array(), diameter_mm: local_diameter(labels, class, n) })
}
