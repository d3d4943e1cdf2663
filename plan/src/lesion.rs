//! A lesion painted as a label class (any shape, as the surgeon outlined
//! it) rather than a sphere: its margin is the smallest distance from its
//! surface voxels to the outside of the zones. Each surface voxel is a box;
//! the distance from its centre to the outside, less the box's half-extent
//! in that direction, is the margin it leaves (exact for the box's corner
//! or face that way, within half a voxel of the true surface).

use glam::DVec3;
use vasa_scan::LabelMap;

use crate::{Zone, union_margin};

/// The voxels of `class` with a face-neighbour of another class (or the
/// volume's edge): the painted lesion's surface, in patient mm.
pub fn surface_points(labels: &LabelMap, class: u8) -> Vec<DVec3> {
    let [nx, ny, nz] = labels.dims();
    let d = labels.data();
    let at = |i: usize, j: usize, k: usize| d[i + nx * (j + ny * k)];
    let mut out = Vec::new();
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                if at(i, j, k) != class {
                    continue;
                }
                let edge = i == 0 || j == 0 || k == 0 || i + 1 == nx || j + 1 == ny || k + 1 == nz;
                let surface = edge
                    || at(i - 1, j, k) != class
                    || at(i + 1, j, k) != class
                    || at(i, j - 1, k) != class
                    || at(i, j + 1, k) != class
                    || at(i, j, k - 1) != class
                    || at(i, j, k + 1) != class;
                if surface {
                    out.push(labels.geometry.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64)));
                }
            }
        }
    }
    out
}

/// The margin (mm) the union of `zones` leaves around the painted lesion
/// of `class` in `labels`, and the zone-surface point where it is smallest;
/// negative where the lesion reaches out of the zones. `None` without
/// lesion voxels or zones.
pub fn painted_margin(labels: &LabelMap, class: u8, zones: &[Zone]) -> Option<(f64, DVec3)> {
    use rayon::prelude::*;
    let g = &labels.geometry;
    // The voxel's half-extent along patient direction u (its box's support).
    let axes = [0, 1, 2].map(|a| g.direction.col(a) * (g.spacing[a] / 2.0));
    let half = |u: DVec3| axes.iter().map(|a| a.dot(u).abs()).sum::<f64>();
    let surface = surface_points(labels, class);
    if zones.is_empty() {
        return None;
    }
    surface
        .par_iter()
        .filter_map(|&p| {
            let (m, at) = union_margin(zones, p, 0.0)?;
            let u = (at - p).try_normalize().unwrap_or(DVec3::X);
            Some((m - half(u), at))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, Volume};

    #[test]
    fn a_painted_ball_has_the_margin_of_the_sphere_within_half_a_voxel() {
        // A ball of radius 6 mm on a 0.8 × 0.8 × 1.5 mm grid, in a zone 28 × 20 mm.
        let g = Geometry { spacing: DVec3::new(0.8, 0.8, 1.5), ..Geometry::default() };
        let mut labels = Volume::filled([60, 60, 30], 0u8, g);
        let c = g.voxel_to_world(DVec3::new(30.0, 30.0, 15.0));
        let [nx, ny, _] = labels.dims();
        for (n, v) in labels.data_mut().iter_mut().enumerate() {
            let p = g.voxel_to_world(DVec3::new((n % nx) as f64, ((n / nx) % ny) as f64, (n / (nx * ny)) as f64));
            if p.distance(c) <= 6.0 {
                *v = 4;
            }
        }
        let zone = Zone::along(c - DVec3::Y * 80.0, c, 28.0, 20.0);
        let sphere = -zone.signed_distance(c).0 - 6.0; // 4 mm
        let (m, at) = painted_margin(&labels, 4, &[zone]).unwrap();
        // The voxels reach up to half a voxel (0.75 mm along z) beyond the sphere.
        assert!(m <= sphere + 0.05 && m >= sphere - 0.76, "painted {m} vs sphere {sphere}");
        assert!(zone.signed_distance(at).0.abs() < 1e-6);
        // Moved 6 mm across the zone: the margin drops by 6.
        let off = Zone::along(c - DVec3::Y * 80.0 + DVec3::X * 6.0, c + DVec3::X * 6.0, 28.0, 20.0);
        let (m2, _) = painted_margin(&labels, 4, &[off]).unwrap();
        assert!(m2 <= sphere - 6.0 + 0.05 && m2 >= sphere - 6.0 - 0.76, "{m2}");
        assert!(painted_margin(&labels, 5, &[zone]).is_none(), "no voxels of that class");
    }
}
