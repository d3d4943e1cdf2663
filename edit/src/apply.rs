//! One edit carried out on a label map: the voxels it changes, and the
//! [`Patch`] of what was there before.

use glam::DVec3;
use vasa_scan::components::{Connectivity, label_where};
use vasa_scan::neighbourhood::for_each_neighbour_26;
use vasa_scan::{LabelMap, Volume};

use crate::error::EditError;
use crate::ops::EditOp;
use crate::patch::{Patch, bounding_box};

/// Radii up to this are accepted (mm); a slip of the finger should not
/// repaint the whole chest.
pub const MAX_RADIUS_MM: f64 = 100.0;

/// Applies `op` (not undo or redo: see [`crate::Replay`]) to `labels`, with
/// the scan `ct` for HU ranges (same grid). Returns the touched box as it
/// was before.
pub fn apply(labels: &mut LabelMap, ct: Option<&Volume<i16>>, op: &EditOp) -> Result<Patch, EditError> {
    if let Some(ct) = ct
        && !ct.same_grid(labels)
    {
        return Err(EditError::GridMismatch);
    }
    match *op {
        EditOp::Stroke { .. } => stroke(labels, ct, op, None),
        EditOp::Lasso { class, ref polygon_mm, normal, hu } => {
            let hu = hu_filter(ct, hu, "lasso")?;
            let polygon = Polygon::new(polygon_mm, normal)?;
            let (origin, n, half) = slab(labels, polygon_mm[0], normal)?;
            // The candidates: the polygon's box, half a voxel thick across the plane.
            let g = labels.geometry;
            let dims = labels.dims();
            let corners: Vec<DVec3> = polygon_mm
                .iter()
                .flat_map(|&p| [-1.0, 1.0].map(|s| g.world_to_voxel(DVec3::from_array(p) + n * (s * half))))
                .collect();
            let lo =
                [0, 1, 2].map(|a| corners.iter().map(|c| c[a]).fold(f64::INFINITY, f64::min).floor().max(0.0) as usize);
            let hi = [0, 1, 2].map(|a| {
                (corners.iter().map(|c| c[a]).fold(f64::NEG_INFINITY, f64::max).ceil().max(0.0) as usize)
                    .min(dims[a] - 1)
            });
            let mut voxels = Vec::new();
            for k in lo[2]..=hi[2] {
                for j in lo[1]..=hi[1] {
                    for i in lo[0]..=hi[0] {
                        let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                        if (p - origin).dot(n).abs() < half && polygon.contains(p) {
                            voxels.push(labels.index(i, j, k));
                        }
                    }
                }
            }
            Ok(set(labels, voxels.into_iter().filter(|&n| hu(n)), class))
        }
        EditOp::Scissors { ref polygon_mm, direction, class, eye_mm } => {
            let polygon = Polygon::new(polygon_mm, direction)?;
            let n = DVec3::from_array(direction).normalize();
            let plane = DVec3::from_array(polygon_mm[0]);
            let eye = match eye_mm {
                Some(e) if e.iter().all(|x| x.is_finite()) => Some(DVec3::from_array(e)),
                Some(e) => return Err(EditError::BadValue(format!("eye_mm {e:?} is not a point"))),
                None => None,
            };
            // Where a voxel's centre lands on the polygon's plane, if it does.
            let onto = |p: DVec3| match eye {
                None => Some(p),
                Some(e) => {
                    let d = p - e;
                    let along = d.dot(n);
                    (along > 1e-9).then(|| e + d * ((plane - e).dot(n) / along))
                }
            };
            let g = labels.geometry;
            let dims = labels.dims();
            let voxels: Vec<usize> = (0..labels.len())
                .filter(|&i| {
                    let l = labels.data()[i];
                    l != 0 && class.is_none_or(|c| c == l) && {
                        let c = [i % dims[0], (i / dims[0]) % dims[1], i / (dims[0] * dims[1])];
                        onto(g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64)))
                            .is_some_and(|q| polygon.contains(q))
                    }
                })
                .collect();
            Ok(set(labels, voxels, 0))
        }
        EditOp::Paint { class, center_mm, radius_mm, hu } => {
            check_radius(radius_mm)?;
            let hu = hu_filter(ct, hu, "paint")?;
            let voxels = within(labels, center_mm, center_mm, radius_mm, "center_mm")?;
            Ok(set(labels, voxels.into_iter().filter(|&n| hu(n)), class))
        }
        EditOp::Erase { center_mm, radius_mm } => {
            check_radius(radius_mm)?;
            let voxels = within(labels, center_mm, center_mm, radius_mm, "center_mm")?;
            Ok(set(labels, voxels, 0))
        }
        EditOp::Connect { class, from_mm, to_mm, radius_mm, hu } => {
            check_radius(radius_mm)?;
            let hu = hu_filter(ct, hu, "connect")?;
            voxel_at(labels, to_mm, "to_mm")?;
            let voxels = within(labels, from_mm, to_mm, radius_mm, "from_mm")?;
            Ok(set(labels, voxels.into_iter().filter(|&n| hu(n)), class))
        }
        EditOp::Relabel { at_mm, to, cut_normal } => relabel(labels, at_mm, to, cut_normal),
        EditOp::RemoveIslands { class, min_mm3 } => {
            if !(min_mm3.is_finite() && min_mm3 >= 0.0) {
                return Err(EditError::BadValue(format!("min_mm3 {min_mm3} must be a volume ≥ 0")));
            }
            let voxel_mm3 = labels.geometry.spacing.element_product();
            Ok(remove_pieces(labels, class, |size, _| (size as f64) * voxel_mm3 < min_mm3))
        }
        EditOp::KeepLargest { class } => Ok(remove_pieces(labels, class, |_, largest| !largest)),
        EditOp::Review { .. } => Ok(Patch::empty()),
        EditOp::Undo | EditOp::Redo => {
            Err(EditError::BadValue(format!("{} is carried out by the replay, not by apply", op.name())))
        }
    }
}

/// Carries out one segment of a stroke, `segment` from `points_mm[segment]`
/// to the next point (segment 0 of a one-point stroke: its sphere), in the
/// plane of the stroke's first point: what the app does while the pointer
/// moves. The segments one after another give the bytes of [`apply`] on
/// the whole stroke.
pub fn apply_stroke_segment(
    labels: &mut LabelMap,
    ct: Option<&Volume<i16>>,
    op: &EditOp,
    segment: usize,
) -> Result<Patch, EditError> {
    stroke(labels, ct, op, Some(segment))
}

/// Carries out a stroke (see [`EditOp::Stroke`]), or one of its segments.
fn stroke(
    labels: &mut LabelMap,
    ct: Option<&Volume<i16>>,
    op: &EditOp,
    only: Option<usize>,
) -> Result<Patch, EditError> {
    if let Some(ct) = ct
        && !ct.same_grid(labels)
    {
        return Err(EditError::GridMismatch);
    }
    let EditOp::Stroke { class, points_mm: ref points, radius_mm, hu, normal } = *op else {
        return Err(EditError::BadValue(format!("{} is not a stroke", op.name())));
    };
    check_radius(radius_mm)?;
    if points.is_empty() || points.len() > MAX_STROKE_POINTS {
        return Err(EditError::BadValue(format!(
            "a stroke has {} points; 1 to {MAX_STROKE_POINTS} are accepted",
            points.len()
        )));
    }
    let hu = hu_filter(ct, hu, "stroke")?;
    let slab = match normal {
        None => None,
        Some(n) => Some(slab(labels, points[0], n)?),
    };
    let mut segments: Vec<([f64; 3], [f64; 3])> = if points.len() == 1 {
        vec![(points[0], points[0])]
    } else {
        points.windows(2).map(|w| (w[0], w[1])).collect()
    };
    if let Some(i) = only {
        if i >= segments.len() {
            return Err(EditError::BadValue(format!("a stroke of {} points has no segment {i}", points.len())));
        }
        segments = vec![segments[i]];
    }
    let g = labels.geometry;
    let dims = labels.dims();
    let centre = |n: usize| {
        let c = [n % dims[0], (n / dims[0]) % dims[1], n / (dims[0] * dims[1])];
        g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64))
    };
    let mut voxels = Vec::new();
    for (a, b) in segments {
        if !a.iter().chain(&b).all(|x| x.is_finite()) {
            return Err(EditError::BadValue("a stroke's points must be finite".into()));
        }
        match slab {
            None => voxels.extend(capsule(labels, a, b, radius_mm)),
            Some((origin, normal, half)) => {
                // The disc brush: the segment in the plane, voxels of the
                // slab whose projection on the plane lies within the radius.
                let onto = |p: DVec3| p - normal * (p - origin).dot(normal);
                let (a, b) = (onto(DVec3::from_array(a)), onto(DVec3::from_array(b)));
                let reach = (radius_mm * radius_mm + half * half).sqrt();
                let ab = b - a;
                let len2 = ab.length_squared();
                voxels.extend(capsule(labels, a.to_array(), b.to_array(), reach).into_iter().filter(|&n| {
                    let p = centre(n);
                    let off = (p - origin).dot(normal);
                    let q = p - normal * off;
                    let t = if len2 > 0.0 { ((q - a).dot(ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
                    off.abs() < half && q.distance(a + ab * t) <= radius_mm + 1e-9
                }));
            }
        }
    }
    voxels.sort_unstable();
    voxels.dedup();
    Ok(set(labels, voxels.into_iter().filter(|&n| hu(n)), class))
}

/// A polygon seen along a direction: its corners in the plane across it.
struct Polygon {
    u: DVec3,
    v: DVec3,
    corners: Vec<(f64, f64)>,
    /// Bounding box of the corners (u, v).
    min: (f64, f64),
    max: (f64, f64),
}

impl Polygon {
    fn new(points: &[[f64; 3]], direction: [f64; 3]) -> Result<Polygon, EditError> {
        if points.len() < 3 || points.len() > MAX_STROKE_POINTS {
            return Err(EditError::BadValue(format!(
                "a polygon has {} corners; 3 to {MAX_STROKE_POINTS} are accepted",
                points.len()
            )));
        }
        if !points.iter().flatten().all(|x| x.is_finite()) {
            return Err(EditError::BadValue("a polygon's corners must be finite".into()));
        }
        let d = DVec3::from_array(direction);
        if !d.is_finite() || d.length() <= 1e-9 {
            return Err(EditError::BadValue(format!("direction {direction:?} is not a direction")));
        }
        let d = d.normalize();
        let u = d.any_orthonormal_vector();
        let v = d.cross(u);
        let corners: Vec<(f64, f64)> =
            points.iter().map(|&p| (DVec3::from_array(p).dot(u), DVec3::from_array(p).dot(v))).collect();
        let min = corners.iter().fold((f64::INFINITY, f64::INFINITY), |m, c| (m.0.min(c.0), m.1.min(c.1)));
        let max = corners.iter().fold((f64::NEG_INFINITY, f64::NEG_INFINITY), |m, c| (m.0.max(c.0), m.1.max(c.1)));
        Ok(Polygon { u, v, corners, min, max })
    }

    /// True when `p` projects inside (even–odd rule).
    fn contains(&self, p: DVec3) -> bool {
        let (x, y) = (p.dot(self.u), p.dot(self.v));
        if x < self.min.0 || x > self.max.0 || y < self.min.1 || y > self.max.1 {
            return false;
        }
        let mut inside = false;
        let n = self.corners.len();
        for i in 0..n {
            let (a, b) = (self.corners[i], self.corners[(i + 1) % n]);
            if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1) {
                inside = !inside;
            }
        }
        inside
    }
}

/// Points a stroke may have at most (a hostile log should not run for ever).
pub const MAX_STROKE_POINTS: usize = 100_000;

/// The plane of a 2D stroke: its point, unit normal and half thickness (half
/// a voxel measured along the normal, so one layer of voxels lies in it).
fn slab(labels: &LabelMap, at: [f64; 3], normal: [f64; 3]) -> Result<(DVec3, DVec3, f64), EditError> {
    let n = DVec3::from_array(normal);
    if !n.is_finite() || n.length() <= 1e-9 {
        return Err(EditError::BadValue(format!("normal {normal:?} is not a direction")));
    }
    let n = n.normalize();
    let g = &labels.geometry;
    // The normal in voxel steps along each axis; a voxel's extent along it.
    let steps = g.world_to_voxel(g.voxel_to_world(DVec3::ZERO) + n) - g.world_to_voxel(g.voxel_to_world(DVec3::ZERO));
    let half = 0.5 * (0..3).map(|a| (steps[a] * g.spacing[a]).abs() * g.spacing[a]).sum::<f64>();
    Ok((DVec3::from_array(at), n, half))
}

fn check_radius(r: f64) -> Result<(), EditError> {
    if r.is_finite() && r > 0.0 && r <= MAX_RADIUS_MM {
        Ok(())
    } else {
        Err(EditError::BadValue(format!("radius_mm {r} must be above 0 and at most {MAX_RADIUS_MM}")))
    }
}

/// A test of each voxel's HU against `hu` (always true without a range).
fn hu_filter<'a>(
    ct: Option<&'a Volume<i16>>,
    hu: Option<[i16; 2]>,
    op: &'static str,
) -> Result<Box<dyn Fn(usize) -> bool + 'a>, EditError> {
    match (hu, ct) {
        (None, _) => Ok(Box::new(|_| true)),
        (Some(_), None) => Err(EditError::NeedsScan { op }),
        (Some([lo, hi]), Some(ct)) => {
            if lo > hi {
                return Err(EditError::BadValue(format!("hu range [{lo}, {hi}] is empty")));
            }
            Ok(Box::new(move |n| (lo..=hi).contains(&ct.data()[n])))
        }
    }
}

/// The voxel whose centre is nearest `p`.
fn voxel_at(labels: &LabelMap, p: [f64; 3], what: &'static str) -> Result<usize, EditError> {
    let v = labels.geometry.world_to_voxel(DVec3::from_array(p)).round();
    let dims = labels.dims();
    if !p.iter().all(|x| x.is_finite()) || (0..3).any(|a| v[a] < 0.0 || v[a] >= dims[a] as f64) {
        return Err(EditError::OutsideScan { what, point_mm: p });
    }
    Ok(labels.index(v.x as usize, v.y as usize, v.z as usize))
}

/// Voxels whose centre lies within `r` mm of the segment `a`–`b` (a point
/// when `a == b`). `a` must lie in the scan (the click); the shape may
/// reach past the edges.
fn within(labels: &LabelMap, a: [f64; 3], b: [f64; 3], r: f64, what: &'static str) -> Result<Vec<usize>, EditError> {
    voxel_at(labels, a, what)?;
    Ok(capsule(labels, a, b, r))
}

/// Voxels whose centre lies within `r` mm of the segment `a`–`b` (finite
/// points, anywhere: the part inside the map).
fn capsule(labels: &LabelMap, a: [f64; 3], b: [f64; 3], r: f64) -> Vec<usize> {
    let g = &labels.geometry;
    let (a, b) = (DVec3::from_array(a), DVec3::from_array(b));
    let (va, vb) = (g.world_to_voxel(a), g.world_to_voxel(b));
    let dims = labels.dims();
    let reach = [0, 1, 2].map(|ax| r / g.spacing[ax] + 1.0);
    let lo = [0, 1, 2].map(|ax| (va[ax].min(vb[ax]) - reach[ax]).floor().max(0.0) as usize);
    let hi = [0, 1, 2].map(|ax| ((va[ax].max(vb[ax]) + reach[ax]).ceil().max(0.0) as usize).min(dims[ax] - 1));
    let ab = b - a;
    let len2 = ab.length_squared();
    let mut out = Vec::new();
    for k in lo[2]..=hi[2] {
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                let p = g.voxel_to_world(DVec3::new(i as f64, j as f64, k as f64));
                let t = if len2 > 0.0 { ((p - a).dot(ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
                if p.distance(a + ab * t) <= r + 1e-9 {
                    out.push(labels.index(i, j, k));
                }
            }
        }
    }
    out
}

/// Sets `voxels` to `class`; the patch covers their box.
fn set(labels: &mut LabelMap, voxels: impl IntoIterator<Item = usize>, class: u8) -> Patch {
    let voxels: Vec<usize> = voxels.into_iter().filter(|&n| labels.data()[n] != class).collect();
    let (min, size) = bounding_box(labels.dims(), voxels.iter().copied());
    let patch = Patch::capture(labels, min, size);
    for n in voxels {
        labels.data_mut()[n] = class;
    }
    patch
}

/// The piece of the class under `at` (26-connected; with a cut, only on the
/// normal's side of the plane through that voxel's centre) becomes `to`.
fn relabel(labels: &mut LabelMap, at: [f64; 3], to: u8, cut: Option<[f64; 3]>) -> Result<Patch, EditError> {
    let seed = voxel_at(labels, at, "at_mm")?;
    let class = labels.data()[seed];
    if class == 0 {
        return Err(EditError::NothingThere { point_mm: at });
    }
    if class == to {
        return Ok(Patch::empty());
    }
    let normal = match cut {
        Some(n) => {
            let n = DVec3::from_array(n);
            if n.length() <= 1e-9 || !n.is_finite() {
                return Err(EditError::BadValue(format!("cut_normal {:?} is not a direction", n.to_array())));
            }
            Some(n.normalize())
        }
        None => None,
    };
    let dims = labels.dims();
    let g = labels.geometry;
    let origin = g.voxel_to_world(DVec3::from_array(labels.coords(seed).map(|c| c as f64)));
    let distal = |n: usize| {
        normal.is_none_or(|nn| {
            let c = [n % dims[0], (n / dims[0]) % dims[1], n / (dims[0] * dims[1])];
            (g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64)) - origin).dot(nn) >= -1e-9
        })
    };
    // Breadth-first, marking visited voxels with their new class.
    let mut piece = vec![seed];
    labels.data_mut()[seed] = to;
    let mut next = 0;
    while next < piece.len() {
        let n = piece[next];
        next += 1;
        let data = labels.data_mut();
        for_each_neighbour_26(dims, n, |m| {
            if data[m] == class && distal(m) {
                data[m] = to;
                piece.push(m);
            }
        });
    }
    // The patch holds the piece as it was.
    for &n in &piece {
        labels.data_mut()[n] = class;
    }
    let (min, size) = bounding_box(dims, piece.iter().copied());
    let patch = Patch::capture(labels, min, size);
    for &n in &piece {
        labels.data_mut()[n] = to;
    }
    Ok(patch)
}

/// The cut plane's normal for relabelling only the distal part of a vessel
/// at `at_mm`: the vessel's local axis (the principal direction of its
/// voxels within `radius_mm` of the click, on the piece under it), pointing
/// to the side holding less of the piece: away from the trunk.
pub fn distal_normal(labels: &LabelMap, at_mm: [f64; 3], radius_mm: f64) -> Result<[f64; 3], EditError> {
    check_radius(radius_mm)?;
    let seed = voxel_at(labels, at_mm, "at_mm")?;
    let class = labels.data()[seed];
    if class == 0 {
        return Err(EditError::NothingThere { point_mm: at_mm });
    }
    let g = labels.geometry;
    let dims = labels.dims();
    let centre = |n: usize| {
        let c = [n % dims[0], (n / dims[0]) % dims[1], n / (dims[0] * dims[1])];
        g.voxel_to_world(DVec3::new(c[0] as f64, c[1] as f64, c[2] as f64))
    };
    // The piece near the click: breadth-first within the ball.
    let origin = centre(seed);
    let mut seen = std::collections::HashSet::from([seed]);
    let mut near = vec![seed];
    let mut next = 0;
    while next < near.len() {
        let n = near[next];
        next += 1;
        for_each_neighbour_26(dims, n, |m| {
            if labels.data()[m] == class && centre(m).distance(origin) <= radius_mm && seen.insert(m) {
                near.push(m);
            }
        });
    }
    // Principal axis of the near voxels (power iteration on the covariance).
    let mean = near.iter().map(|&n| centre(n)).sum::<DVec3>() / near.len() as f64;
    let mut cov = glam::DMat3::ZERO;
    for &n in &near {
        let d = centre(n) - mean;
        cov += glam::DMat3::from_cols(d * d.x, d * d.y, d * d.z);
    }
    let mut axis = DVec3::new(0.577, 0.577, 0.577);
    for _ in 0..64 {
        let a = cov * axis;
        if a.length() < 1e-12 {
            break; // a single voxel: any axis
        }
        axis = a.normalize();
    }
    // Distal: the side with fewer voxels of the whole piece.
    let side = |normal: DVec3| {
        // Breadth-first over the piece on the normal's side, a bit per voxel.
        let mut visited = vec![0u64; labels.len().div_ceil(64)];
        let mut mark = |n: usize| {
            let (w, b) = (n / 64, 1u64 << (n % 64));
            let new = visited[w] & b == 0;
            visited[w] |= b;
            new
        };
        mark(seed);
        let mut queue = vec![seed];
        let mut next = 0;
        while next < queue.len() {
            let n = queue[next];
            next += 1;
            for_each_neighbour_26(dims, n, |m| {
                if labels.data()[m] == class && (centre(m) - origin).dot(normal) >= -1e-9 && mark(m) {
                    queue.push(m);
                }
            });
        }
        queue.len()
    };
    let (plus, minus) = (side(axis), side(-axis));
    Ok(if plus <= minus { axis } else { -axis }.to_array())
}

/// Deletes the pieces of `class` for which `drop(size, is_largest)` holds.
fn remove_pieces(labels: &mut LabelMap, class: u8, drop: impl Fn(u64, bool) -> bool) -> Patch {
    let pieces = label_where(labels, Connectivity::TwentySix, |&l| l == class);
    let largest = pieces.largest();
    let gone: Vec<bool> =
        (0..=pieces.count() as u32).map(|id| id != 0 && drop(pieces.size(id), Some(id) == largest)).collect();
    if !gone.iter().any(|&g| g) {
        return Patch::empty();
    }
    let ids = pieces.ids();
    let voxels: Vec<usize> =
        ids.data().iter().enumerate().filter(|(_, id)| gone[**id as usize]).map(|(n, _)| n).collect();
    set(labels, voxels, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    fn map(dims: [usize; 3], spacing: [f64; 3]) -> LabelMap {
        Volume::filled(dims, 0u8, Geometry::axis_aligned(DVec3::from_array(spacing), DVec3::new(-10.0, 20.0, 5.0)))
    }

    fn count(labels: &LabelMap, class: u8) -> usize {
        labels.data().iter().filter(|&&l| l == class).count()
    }

    #[test]
    fn paint_and_erase_a_sphere_voxel_exactly() {
        let mut m = map([21, 21, 21], [1.0, 1.0, 1.0]);
        let centre = [0.0, 30.0, 15.0]; // voxel (10, 10, 10)
        let p = apply(&mut m, None, &EditOp::Paint { class: 1, center_mm: centre, radius_mm: 2.0, hu: None }).unwrap();
        // Integer points with x²+y²+z² ≤ 4: 1 + 6 + 12 + 8 + 6 = 33.
        assert_eq!(count(&m, 1), 33);
        assert_eq!(p.size, [5, 5, 5]);
        let e = apply(&mut m, None, &EditOp::Erase { center_mm: centre, radius_mm: 1.0 }).unwrap();
        assert_eq!(count(&m, 1), 33 - 7);
        // Undo by restoring the patches, newest first: back to empty.
        e.restore(&mut m);
        p.restore(&mut m);
        assert_eq!(count(&m, 1), 0);
    }

    #[test]
    fn anisotropic_spacing_and_the_hu_range_are_respected() {
        let mut m = map([21, 21, 21], [0.5, 0.5, 2.0]);
        let mut ct = Volume::filled([21, 21, 21], -800i16, m.geometry);
        for n in 0..ct.len() {
            if ct.coords(n)[0] >= 10 {
                ct.data_mut()[n] = 40;
            }
        }
        let centre = [-5.0, 25.0, 25.0]; // voxel (10, 10, 10)
        apply(&mut m, Some(&ct), &EditOp::Paint { class: 2, center_mm: centre, radius_mm: 1.0, hu: None }).unwrap();
        // 1 mm: ±2 voxels in x and y (0.5 mm), none in z (2 mm): the disc x²+y² ≤ 4 → 13.
        assert_eq!(count(&m, 2), 13);
        let mut m2 = map([21, 21, 21], [0.5, 0.5, 2.0]);
        let op = EditOp::Paint { class: 2, center_mm: centre, radius_mm: 1.0, hu: Some([-100, 100]) };
        apply(&mut m2, Some(&ct), &op).unwrap();
        assert_eq!(count(&m2, 2), 9, "only the blood side of the disc (i ≥ 10): 5 + 3 + 1");
        assert!(matches!(apply(&mut m2, None, &op), Err(EditError::NeedsScan { .. })));
    }

    #[test]
    fn relabel_changes_the_piece_and_a_cut_only_the_distal_subtree() {
        // A Y of class 1: a stem along k at (10,10), arms to ±i above k=10.
        let mut m = map([21, 21, 30], [1.0, 1.0, 1.0]);
        let at = |m: &LabelMap, i: usize, j: usize, k: usize| m.data()[m.index(i, j, k)];
        for k in 0..=10 {
            let n = m.index(10, 10, k);
            m.data_mut()[n] = 1;
        }
        for s in 1..=8 {
            for (i, k) in [(10 + s, 10 + s), (10 - s, 10 + s)] {
                let n = m.index(i, 10, k);
                m.data_mut()[n] = 1;
            }
        }
        // A separate piece of class 1 stays.
        let lone = m.index(0, 0, 0);
        m.data_mut()[lone] = 1;
        let world = |i: usize, j: usize, k: usize| [-10.0 + i as f64, 20.0 + j as f64, 5.0 + k as f64];
        let before = m.clone();
        // Cut across the right arm at (14, 10, 14), normal along the arm.
        let op = EditOp::Relabel { at_mm: world(14, 10, 14), to: 2, cut_normal: Some([1.0, 0.0, 1.0]) };
        let p = apply(&mut m, None, &op).unwrap();
        assert_eq!(count(&m, 2), 5, "voxels 14..=18 of the right arm");
        assert_eq!(at(&m, 13, 10, 13), 1);
        assert_eq!(at(&m, 6, 10, 14), 1, "the other arm is untouched");
        p.restore(&mut m);
        assert_eq!(m, before);
        // Without a cut: the whole Y, not the lone voxel.
        apply(&mut m, None, &EditOp::Relabel { at_mm: world(10, 10, 3), to: 2, cut_normal: None }).unwrap();
        assert_eq!(count(&m, 2), 11 + 16);
        assert_eq!(at(&m, 0, 0, 0), 1);
        assert!(matches!(
            apply(&mut m, None, &EditOp::Relabel { at_mm: world(5, 5, 5), to: 1, cut_normal: None }),
            Err(EditError::NothingThere { .. })
        ));
        assert!(matches!(
            apply(&mut m, None, &EditOp::Relabel { at_mm: [900.0, 0.0, 0.0], to: 1, cut_normal: None }),
            Err(EditError::OutsideScan { .. })
        ));
    }

    #[test]
    fn connect_islands_and_keep_largest() {
        let mut m = map([30, 10, 10], [1.0, 1.0, 1.0]);
        let w = |i: f64| [-10.0 + i, 25.0, 10.0];
        apply(&mut m, None, &EditOp::Connect { class: 1, from_mm: w(2.0), to_mm: w(12.0), radius_mm: 0.5, hu: None })
            .unwrap();
        assert_eq!(count(&m, 1), 11, "one voxel thick from i=2 to 12");
        apply(&mut m, None, &EditOp::Paint { class: 1, center_mm: w(20.0), radius_mm: 1.0, hu: None }).unwrap();
        assert_eq!(count(&m, 1), 11 + 7);
        // 7 mm³ piece removed below 8 mm³, kept at 7.
        let mut kept = m.clone();
        apply(&mut kept, None, &EditOp::RemoveIslands { class: 1, min_mm3: 7.0 }).unwrap();
        assert_eq!(count(&kept, 1), 18);
        apply(&mut m, None, &EditOp::RemoveIslands { class: 1, min_mm3: 8.0 }).unwrap();
        assert_eq!(count(&m, 1), 11);
        apply(&mut m, None, &EditOp::Paint { class: 1, center_mm: w(25.0), radius_mm: 1.0, hu: None }).unwrap();
        apply(&mut m, None, &EditOp::KeepLargest { class: 1 }).unwrap();
        assert_eq!(count(&m, 1), 11);
        assert!(apply(&mut m, None, &EditOp::Paint { class: 1, center_mm: w(5.0), radius_mm: 0.0, hu: None }).is_err());
        assert!(apply(&mut m, None, &EditOp::RemoveIslands { class: 1, min_mm3: f64::NAN }).is_err());
    }

    #[test]
    fn a_stroke_is_the_union_of_capsules_and_the_disc_brush_stays_in_its_slice() {
        let mut m = map([30, 30, 11], [1.0, 1.0, 1.0]);
        let w = |i: f64, j: f64, k: f64| [-10.0 + i, 20.0 + j, 5.0 + k];
        // An L: (5,5,5) → (15,5,5) → (15,15,5), radius 0 mm: the voxels on the lines.
        let points = vec![w(5.0, 5.0, 5.0), w(15.0, 5.0, 5.0), w(15.0, 15.0, 5.0)];
        let op = EditOp::Stroke { class: 2, points_mm: points.clone(), radius_mm: 0.1, hu: None, normal: None };
        apply(&mut m, None, &op).unwrap();
        assert_eq!(count(&m, 2), 21, "11 + 11 voxels sharing the corner");
        // A sphere stroke of radius 1 along the same L: the same as connects.
        let mut a = map([30, 30, 11], [1.0, 1.0, 1.0]);
        apply(
            &mut a,
            None,
            &EditOp::Stroke { class: 1, points_mm: points.clone(), radius_mm: 1.0, hu: None, normal: None },
        )
        .unwrap();
        let mut b = map([30, 30, 11], [1.0, 1.0, 1.0]);
        for pair in points.windows(2) {
            let op = EditOp::Connect { class: 1, from_mm: pair[0], to_mm: pair[1], radius_mm: 1.0, hu: None };
            apply(&mut b, None, &op).unwrap();
        }
        assert_eq!(a, b);
        // The disc brush normal to k: only slice k = 5 (r = 2: 13 voxels per disc).
        let mut d = map([30, 30, 11], [1.0, 1.0, 1.0]);
        let disc = EditOp::Stroke {
            class: 3,
            points_mm: vec![w(10.0, 10.0, 5.2)],
            radius_mm: 2.0,
            hu: None,
            normal: Some([0.0, 0.0, 1.0]),
        };
        apply(&mut d, None, &disc).unwrap();
        assert_eq!(count(&d, 3), 13);
        assert!(d.data().iter().enumerate().all(|(n, &l)| l != 3 || d.coords(n)[2] == 5));
        // Class 0 erases; a point off the map is fine, an empty or non-finite path is not.
        apply(
            &mut a,
            None,
            &EditOp::Stroke {
                class: 0,
                points_mm: vec![w(5.0, 5.0, 5.0), w(-50.0, 5.0, 5.0)],
                radius_mm: 1.5,
                hu: None,
                normal: None,
            },
        )
        .unwrap();
        assert_eq!(a.data()[a.index(5, 5, 5)], 0);
        assert_eq!(a.data()[a.index(7, 5, 5)], 1);
        for points_mm in [vec![], vec![[f64::NAN, 0.0, 0.0]]] {
            let op = EditOp::Stroke { class: 1, points_mm, radius_mm: 1.0, hu: None, normal: None };
            assert!(apply(&mut a, None, &op).is_err());
        }
        let flat = EditOp::Stroke {
            class: 1,
            points_mm: vec![w(1.0, 1.0, 1.0)],
            radius_mm: 1.0,
            hu: None,
            normal: Some([0.0; 3]),
        };
        assert!(apply(&mut a, None, &flat).is_err());
    }

    #[test]
    fn a_stroke_applied_segment_by_segment_gives_the_bytes_of_the_whole() {
        let g = Geometry::axis_aligned(DVec3::new(0.7, 0.7, 2.5), DVec3::new(-10.0, 20.0, 5.0));
        let mut ct = Volume::filled([40, 40, 12], -800i16, g);
        for n in 0..ct.len() {
            if (ct.coords(n)[0] + ct.coords(n)[1]).is_multiple_of(3) {
                ct.data_mut()[n] = 100;
            }
        }
        // A wiggly path in the plane z = 17.6 (between slices 5 and 6).
        let points: Vec<[f64; 3]> =
            (0..9).map(|t| [-5.0 + t as f64 * 1.9, 25.0 + (t % 3) as f64 * 2.3, 17.6]).collect();
        for normal in [None, Some([0.0, 0.0, 1.0]), Some([0.0, 0.3, 1.0])] {
            let op = EditOp::Stroke { class: 2, points_mm: points.clone(), radius_mm: 2.2, hu: Some([0, 200]), normal };
            let mut whole = Volume::filled([40, 40, 12], 0u8, g);
            let before = whole.clone();
            let p = apply(&mut whole, Some(&ct), &op).unwrap();
            let mut pieces = before.clone();
            let patches: Vec<Patch> =
                (0..points.len() - 1).map(|i| apply_stroke_segment(&mut pieces, Some(&ct), &op, i).unwrap()).collect();
            assert!(pieces == whole, "normal {normal:?}");
            assert!(count(&whole, 2) > 20);
            let mut undone = pieces.clone();
            Patch::combine(&pieces, &patches).restore(&mut undone);
            assert!(undone == before);
            p.restore(&mut whole);
            assert!(whole == before);
        }
        let op = EditOp::Stroke { class: 2, points_mm: points.clone(), radius_mm: 2.2, hu: None, normal: None };
        assert!(apply_stroke_segment(&mut Volume::filled([40, 40, 12], 0u8, g), None, &op, 8).is_err());
    }

    #[test]
    fn the_distal_normal_follows_the_vessel_away_from_the_trunk() {
        // A thick trunk along k (k < 12) splitting into two thin arms.
        let mut m = map([31, 11, 30], [1.0, 1.0, 1.0]);
        let mut put = |i: usize, j: usize, k: usize| {
            let n = m.index(i, j, k);
            m.data_mut()[n] = 1;
        };
        for k in 0..12 {
            for i in 13..=17 {
                for j in 3..=7 {
                    put(i, j, k);
                }
            }
        }
        for s in 0..12 {
            put(15 + s, 5, 12 + s);
            put(15 - s, 5, 12 + s);
        }
        let world = |i: usize, j: usize, k: usize| [-10.0 + i as f64, 20.0 + j as f64, 5.0 + k as f64];
        let n = DVec3::from_array(distal_normal(&m, world(21, 5, 18), 3.0).unwrap());
        let arm = DVec3::new(1.0, 0.0, 1.0).normalize();
        assert!(n.dot(arm) > 0.95, "along the right arm, outwards: {n:?}");
        // Relabelling with it changes the arm beyond the click only.
        let before = count(&m, 1);
        apply(&mut m, None, &EditOp::Relabel { at_mm: world(21, 5, 18), to: 2, cut_normal: Some(n.to_array()) })
            .unwrap();
        assert_eq!(count(&m, 2), 6, "voxels 21..=26 of the right arm");
        assert_eq!(count(&m, 1), before - 6);
        // In the trunk the distal side is towards the arms (fewer voxels).
        let t = DVec3::from_array(distal_normal(&m, world(15, 5, 9), 3.0).unwrap());
        assert!(t.z > 0.9, "{t:?}");
        assert!(distal_normal(&m, world(0, 0, 0), 3.0).is_err(), "background");
    }

    #[test]
    fn lasso_fills_in_its_slice_and_scissors_cut_through_the_volume() {
        let mut m = map([20, 20, 10], [1.0, 1.0, 2.0]);
        let w = |i: f64, j: f64, k: f64| [-10.0 + i, 20.0 + j, 5.0 + 2.0 * k];
        // A square i, j in 2.5..=7.5 of slice k = 4 (the plane at 4.2 voxels: k = 4 only): 5 × 5 voxels.
        let square = vec![w(2.5, 2.5, 4.1), w(7.5, 2.5, 4.1), w(7.5, 7.5, 4.1), w(2.5, 7.5, 4.1)];
        let op = EditOp::Lasso { class: 2, polygon_mm: square.clone(), normal: [0.0, 0.0, 1.0], hu: None };
        apply(&mut m, None, &op).unwrap();
        assert_eq!(count(&m, 2), 25);
        assert!(m.data().iter().enumerate().all(|(n, &l)| l != 2 || m.coords(n)[2] == 4));
        // A triangle (i + j ≤ 10 of the lower-left corner region): even–odd inside test.
        let tri = vec![w(-0.5, -0.5, 1.0), w(10.7, -0.5, 1.0), w(-0.5, 10.7, 1.0)];
        apply(&mut m, None, &EditOp::Lasso { class: 1, polygon_mm: tri, normal: [0.0, 0.0, 1.0], hu: None }).unwrap();
        assert_eq!(count(&m, 1), 66, "i + j ≤ 10: 11 + 10 + … + 1");
        // Lasso with class 0 erases in its slice only.
        let mut filled = m.clone();
        for k in 0..10 {
            for j in 3..=7 {
                for i in 3..=7 {
                    let n = filled.index(i, j, k);
                    filled.data_mut()[n] = 3;
                }
            }
        }
        let mut erased = filled.clone();
        apply(
            &mut erased,
            None,
            &EditOp::Lasso { class: 0, polygon_mm: square.clone(), normal: [0.0, 0.0, 1.0], hu: None },
        )
        .unwrap();
        assert_eq!(count(&filled, 3) - count(&erased, 3), 25);
        // Scissors along k: the square's column through every slice, of one class or all.
        let cut =
            EditOp::Scissors { polygon_mm: square.clone(), direction: [0.0, 0.0, 1.0], class: Some(1), eye_mm: None };
        let mut c = filled.clone();
        apply(&mut c, None, &cut).unwrap();
        assert_eq!(count(&c, 3), count(&filled, 3), "another class stays");
        // Seen in perspective from an eye above the volume, through a square
        // half as wide at half the distance: the same column, widening.
        let mut p = filled.clone();
        let eye = w(5.0, 5.0, 30.0);
        let half = vec![w(4.0, 4.0, 17.0), w(6.0, 4.0, 17.0), w(6.0, 6.0, 17.0), w(4.0, 6.0, 17.0)];
        let cone = EditOp::Scissors { polygon_mm: half, direction: [0.0, 0.0, -1.0], class: None, eye_mm: Some(eye) };
        apply(&mut p, None, &cone).unwrap();
        assert_eq!(p.data()[p.index(5, 5, 9)], 0, "in the cone");
        assert_eq!(p.data()[p.index(3, 3, 9)], 3, "outside it near the eye");
        assert_eq!(p.data()[p.index(3, 3, 0)], 0, "inside it further away");
        let cut = EditOp::Scissors { polygon_mm: square, direction: [0.0, 0.0, -3.0], class: None, eye_mm: None };
        apply(&mut c, None, &cut).unwrap();
        assert_eq!(count(&c, 3), 0, "the whole column");
        assert!(
            apply(
                &mut c,
                None,
                &EditOp::Scissors {
                    polygon_mm: vec![w(1.0, 1.0, 1.0); 2],
                    direction: [0.0, 0.0, 1.0],
                    class: None,
                    eye_mm: None
                }
            )
            .is_err()
        );
    }
}
