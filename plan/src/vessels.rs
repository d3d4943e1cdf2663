//! The vessels around an ablation zone: each artery, vein and aorta piece
//! (26-connected) near the zone, with its distance from the zone's surface
//! (negative inside), where that is, and the vessel's local diameter there
//! from the distance transform. Pieces of 3 mm or more are heat sinks: the
//! blood flow carries the heat away and spares the tissue next to them.

use glam::DVec3;
use vasa_scan::LabelMap;
use vasa_scan::components::{Connectivity, label_where};
use vasa_scan::distance::distance_where_mm;

use crate::zone::Zone;

/// Vessels this wide or wider are heat sinks (mm).
pub const HEAT_SINK_MM: f64 = 3.0;

/// One vessel piece near the zone.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VesselNear {
    /// Its class (1 artery, 2 vein, 3 aorta).
    pub class: u8,
    /// Distance from the zone's surface to the vessel's (mm; negative: it
    /// reaches into the zone).
    pub distance_mm: f64,
    /// The vessel's diameter there (mm).
    pub diameter_mm: f64,
    /// Wide enough to carry heat away.
    pub heat_sink: bool,
    /// The vessel voxel nearest the zone (patient mm).
    pub at_mm: [f64; 3],
}

/// Half a voxel measured along `n` (unit): the distance from a boundary
/// voxel's centre to the surface between it and its neighbour that way.
pub fn half_voxel_along(labels: &LabelMap, n: DVec3) -> f64 {
    let g = &labels.geometry;
    let o = g.voxel_to_world(DVec3::ZERO);
    let steps = g.world_to_voxel(o + n) - g.world_to_voxel(o);
    // The unit vector's components along the voxel axes (mm), each axis
    // contributing its share of a voxel's extent.
    let c = steps * g.spacing;
    let len = c.length().max(1e-12);
    0.5 * (0..3).map(|a| (c[a] / len).abs() * g.spacing[a]).sum::<f64>()
}

/// Local diameter (mm) of the `class` vessel through voxel `at` (an index).
/// The distance transform finds the vessel's axis near `at` (its voxel
/// farthest from the outside, within reach) and a first radius; the
/// diameter then comes from the vessel's volume inside a ball on that axis:
/// a cylinder of radius r cut by a ball of radius ρ on its axis holds
/// 4π/3 · (ρ³ − (ρ² − r²)^{3/2}), solved for r. Counting voxels averages the
/// grid's steps out, where the transform alone is a voxel off either way.
pub fn local_diameter(labels: &LabelMap, class: u8, at: usize) -> f64 {
    let g = labels.geometry;
    let dims = labels.dims();
    let s = g.spacing.min_element();
    let c = labels.coords(at);
    let world = |p: [usize; 3], geo: &vasa_scan::Geometry| {
        geo.voxel_to_world(DVec3::new(p[0] as f64, p[1] as f64, p[2] as f64))
    };
    let centre = world(c, &g);
    let mut reach_mm = 4.0;
    for _ in 0..6 {
        // A crop around `at`: the reach, then a ball of up to three radii around the axis.
        let margin = reach_mm * 4.0 + 4.0;
        let lo = [0, 1, 2].map(|a| c[a].saturating_sub((margin / g.spacing[a]).ceil() as usize));
        let hi = [0, 1, 2].map(|a| (c[a] + (margin / g.spacing[a]).ceil() as usize + 1).min(dims[a]));
        let size = [0, 1, 2].map(|a| hi[a] - lo[a]);
        let mut data = Vec::with_capacity(size.iter().product());
        for k in lo[2]..hi[2] {
            for j in lo[1]..hi[1] {
                let row = labels.index(lo[0], j, k);
                data.extend_from_slice(&labels.data()[row..row + size[0]]);
            }
        }
        let mut cg = g;
        cg.origin = world(lo, &g);
        let Ok(crop) = vasa_scan::Volume::from_vec(size, data, cg) else { return 0.0 };
        let dt = distance_where_mm(&crop, |&l| l != class);
        let mut best = (0.0f64, centre);
        for (n, &d) in dt.data().iter().enumerate() {
            if crop.data()[n] == class && d.is_finite() && (d as f64) > best.0 {
                let w = world(crop.coords(n), &cg);
                if w.distance(centre) <= reach_mm {
                    best = (d as f64, w);
                }
            }
        }
        if best.0 + s >= reach_mm && reach_mm < 60.0 {
            reach_mm = best.0 * 1.5 + 2.0 * s; // the axis may lie farther: reach again
            continue;
        }
        // The vessel's volume in a ball on its axis.
        let (first, axis) = best;
        let rho = (3.0 * first).max(3.0 * s).min(margin - reach_mm);
        let voxel = g.spacing.element_product();
        let inside = crop
            .data()
            .iter()
            .enumerate()
            .filter(|&(n, &l)| l == class && world(crop.coords(n), &cg).distance(axis) <= rho)
            .count() as f64
            * voxel;
        let ball = |r: f64| 4.0 / 3.0 * std::f64::consts::PI * (rho.powi(3) - (rho * rho - r * r).max(0.0).powf(1.5));
        let (mut a, mut b) = (0.0, rho);
        for _ in 0..60 {
            let m = (a + b) / 2.0;
            if ball(m) < inside { a = m } else { b = m }
        }
        return (a + b).max(s);
    }
    s
}

/// The pieces of `classes` within `within_mm` of the zone's surface (inside
/// it included), nearest first.
pub fn vessels_near(labels: &LabelMap, zone: &Zone, within_mm: f64, classes: &[u8]) -> Vec<VesselNear> {
    let g = labels.geometry;
    let dims = labels.dims();
    let (lo_mm, hi_mm) = zone.bounds(within_mm + 2.0 * g.spacing.max_element());
    let corners: Vec<DVec3> = (0..8)
        .map(|c| {
            let p = DVec3::new(
                if c & 1 == 0 { lo_mm.x } else { hi_mm.x },
                if c & 2 == 0 { lo_mm.y } else { hi_mm.y },
                if c & 4 == 0 { lo_mm.z } else { hi_mm.z },
            );
            g.world_to_voxel(p)
        })
        .collect();
    let lo = [0, 1, 2].map(|a| corners.iter().map(|c| c[a]).fold(f64::INFINITY, f64::min).floor().max(0.0) as usize);
    let hi = [0, 1, 2].map(|a| {
        (corners.iter().map(|c| c[a]).fold(f64::NEG_INFINITY, f64::max).ceil().max(0.0) as usize + 1).min(dims[a])
    });
    let mut out = Vec::new();
    for &class in classes {
        let pieces = label_where(labels, Connectivity::TwentySix, |&l| l == class);
        let ids = pieces.ids();
        // Per piece: the nearest voxel and its signed surface distance.
        let mut nearest: std::collections::HashMap<u32, (f64, usize)> = std::collections::HashMap::new();
        for k in lo[2]..hi[2] {
            for j in lo[1]..hi[1] {
                for i in lo[0]..hi[0] {
                    let n = labels.index(i, j, k);
                    if labels.data()[n] != class {
                        continue;
                    }
                    let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                    let (d, foot) = zone.signed_distance(p);
                    let dir = (p - foot).try_normalize().unwrap_or(zone.axis);
                    // From the voxel's centre to the vessel's wall facing the zone.
                    let d = d - half_voxel_along(labels, dir);
                    let id = ids.data()[n];
                    let e = nearest.entry(id).or_insert((f64::INFINITY, n));
                    if d < e.0 {
                        *e = (d, n);
                    }
                }
            }
        }
        for (_, (d, n)) in nearest {
            if d > within_mm {
                continue;
            }
            let diameter = local_diameter(labels, class, n);
            let c = labels.coords(n);
            let at = g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64));
            out.push(VesselNear {
                class,
                distance_mm: d,
                diameter_mm: diameter,
                heat_sink: diameter >= HEAT_SINK_MM,
                at_mm: at.to_array(),
            });
        }
    }
    out.sort_by(|a, b| a.distance_mm.total_cmp(&b.distance_mm));
    out
}
