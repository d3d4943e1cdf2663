//! The margin several applicators reach together: their zones overlap into
//! one ablated region (the union of the spheroids), and the lesion must sit
//! inside it with the margin. For a sphere of radius r around c inside the
//! union the margin is dist(c, outside of the union) − r.
//!
//! That distance is found along rays from c: the nearest outside point q
//! is reached by a segment lying wholly inside the union (every nearer point
//! is inside), so q is where some ray first leaves the union, and each
//! ray's first exit is exact (the zones are convex: along a ray each one is
//! an interval, found in closed form). Rays go out in a Fibonacci spiral of
//! directions, then finer spirals around the best ones, so the result
//! overestimates by well under 0.05 mm for lesions up to several cm.

use glam::DVec3;

use crate::Zone;

/// Directions in the first, coarse spiral.
const COARSE_RAYS: usize = 4000;
/// Best coarse directions refined.
const REFINED: usize = 12;
/// Directions per refinement cone.
const CONE_RAYS: usize = 400;

/// The smallest signed distance (mm) from a sphere of `radius` around
/// `centre` to the surface of the union of `zones`, positive when the
/// sphere lies inside it (the combined margin), and the surface point
/// where it is smallest. Outside every zone it is −(distance from the
/// centre to the nearest zone) − `radius`, as for one zone. `None` without
/// zones.
pub fn union_margin(zones: &[Zone], centre: DVec3, radius: f64) -> Option<(f64, DVec3)> {
    let nearest = zones.iter().map(|z| z.signed_distance(centre)).min_by(|a, b| a.0.total_cmp(&b.0))?;
    if nearest.0 > 0.0 {
        return Some((-nearest.0 - radius, nearest.1));
    }
    let exit = |dir: DVec3| first_exit(zones, centre, dir);
    let mut best: Vec<(f64, DVec3)> = fibonacci(COARSE_RAYS).map(|d| (exit(d), d)).collect();
    best.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Spiral spacing (radians) of the coarse directions; cones twice that.
    let spacing = (4.0 * std::f64::consts::PI / COARSE_RAYS as f64).sqrt();
    let mut min = best[0];
    for &(_, around) in best.iter().take(REFINED) {
        for d in cone(around, 2.0 * spacing, CONE_RAYS) {
            let t = exit(d);
            if t < min.0 {
                min = (t, d);
            }
        }
    }
    Some((min.0 - radius, centre + min.1 * min.0))
}

/// How far along the ray `centre + t·dir` (t ≥ 0, `dir` unit) the point
/// first leaves the union of `zones` (`centre` inside it).
fn first_exit(zones: &[Zone], centre: DVec3, dir: DVec3) -> f64 {
    let mut spans: Vec<(f64, f64)> = zones.iter().filter_map(|z| ray_span(z, centre, dir)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut reach = 0.0;
    for (t0, t1) in spans {
        if t0 > reach + 1e-9 {
            break; // a gap: the ray is outside between reach and t0
        }
        reach = f64::max(reach, t1);
    }
    reach
}

/// The interval (t0, t1) of the line `o + t·dir` inside `zone`, if it meets it.
fn ray_span(zone: &Zone, o: DVec3, dir: DVec3) -> Option<(f64, f64)> {
    let m = zone.quadric();
    let d = o - zone.centre;
    let a = dir.dot(m * dir);
    let b = 2.0 * d.dot(m * dir);
    let c = d.dot(m * d) - 1.0;
    let disc = b * b - 4.0 * a * c;
    if a <= 0.0 || disc < 0.0 {
        return None;
    }
    let s = disc.sqrt();
    Some(((-b - s) / (2.0 * a), (-b + s) / (2.0 * a)))
}

/// `n` nearly even unit directions (a Fibonacci spiral on the sphere).
fn fibonacci(n: usize) -> impl Iterator<Item = DVec3> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n).map(move |i| {
        let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
        let r = (1.0 - z * z).sqrt();
        let phi = golden * i as f64;
        DVec3::new(r * phi.cos(), r * phi.sin(), z)
    })
}

/// `n` unit directions spread evenly over the cone of half-angle `angle`
/// around `axis` (a spiral in the cone's cap), `axis` itself first.
fn cone(axis: DVec3, angle: f64, n: usize) -> impl Iterator<Item = DVec3> {
    let (u, v) = axis.any_orthonormal_pair();
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let cap = 1.0 - angle.cos();
    (0..n).map(move |i| {
        let z = 1.0 - cap * i as f64 / n as f64;
        let r = (1.0 - z * z).max(0.0).sqrt();
        let phi = golden * i as f64;
        axis * z + u * (r * phi.cos()) + v * (r * phi.sin())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sphere(c: DVec3, d: f64) -> Zone {
        Zone { centre: c, axis: DVec3::Z, length_mm: d, width_mm: d }
    }

    #[test]
    fn one_zone_gives_the_single_zone_margin() {
        let zone = Zone::along(DVec3::new(0.0, -80.0, 0.0), DVec3::ZERO, 28.0, 20.0);
        for (c, r) in [(DVec3::ZERO, 3.0), (DVec3::new(2.0, 1.0, -1.0), 2.5), (DVec3::new(0.0, 6.0, 0.0), 1.0)] {
            let single = -zone.signed_distance(c).0 - r;
            let (m, at) = union_margin(&[zone], c, r).unwrap();
            assert!(m >= single - 1e-9 && m - single < 0.05, "{c}: union {m} single {single}");
            assert!(zone.signed_distance(at).0.abs() < 1e-6, "the margin's place is on the surface");
        }
        // Outside the zone: negative, the single zone's figure.
        let (m, _) = union_margin(&[zone], DVec3::new(30.0, 0.0, 0.0), 2.0).unwrap();
        assert!((m - (-(30.0 - 10.0) - 2.0)).abs() < 1e-6, "{m}");
        assert!(union_margin(&[], DVec3::ZERO, 1.0).is_none());
    }

    #[test]
    fn two_overlapping_spheres_reach_the_crease_where_they_meet() {
        // Spheres of radius 10 at x = ±6: they meet on the circle x = 0,
        // radius 8. From a centre at the origin the nearest outside point is
        // on that crease, 8 mm away; a lesion of radius 3 has a 5 mm margin.
        let zones = [sphere(DVec3::new(-6.0, 0.0, 0.0), 20.0), sphere(DVec3::new(6.0, 0.0, 0.0), 20.0)];
        let (m, at) = union_margin(&zones, DVec3::ZERO, 3.0).unwrap();
        assert!((m - 5.0).abs() < 0.05, "{m}");
        assert!(at.x.abs() < 0.2 && (at.length() - 8.0).abs() < 0.05, "{at}");
        // Either sphere alone gives less: from the origin to its far side is 4 mm.
        assert!((-zones[0].signed_distance(DVec3::ZERO).0 - 3.0 - 1.0).abs() < 1e-9);
        // A centre off to one side, inside both: each sphere's nearest
        // surface point lies inside the other, so the crease is still the
        // nearest outside, √(1² + 8²) mm away.
        let c = DVec3::new(1.0, 0.0, 0.0);
        let (m, _) = union_margin(&zones, c, 0.0).unwrap();
        assert!((m - 65f64.sqrt()).abs() < 0.05, "{m}");
    }

    #[test]
    fn separate_zones_leave_the_gap_between_them() {
        // Two spheres not touching: from inside the first, the ray towards
        // the second leaves the union at the first's surface.
        let zones = [sphere(DVec3::ZERO, 20.0), sphere(DVec3::new(25.0, 0.0, 0.0), 20.0)];
        let (m, _) = union_margin(&zones, DVec3::new(4.0, 0.0, 0.0), 1.0).unwrap();
        assert!((m - (10.0 - 4.0 - 1.0)).abs() < 0.05, "{m}");
    }
}
