//! Geometric primitives of the phantom, in patient millimetres: tapered tubes
//! (vessels, airways, ribs), ellipsoids (heart chambers), vertical capped
//! cylinders (vertebral bodies) and rounded boxes (sternum).
//!
//! Each gives a signed distance (negative inside) that the rasteriser turns
//! into partial-volume coverage and into the exact label test ("the voxel
//! centre lies inside"). Distances are exact for tubes of constant radius,
//! cylinders and boxes, and first-order accurate near the surface for tapered
//! tubes and ellipsoids, which is all partial volume needs.

use glam::{DMat3, DVec3};

/// A solid in patient space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A tube along segment `a`–`b` whose radius goes linearly from `ra` to `rb`,
    /// with round ends (a "round cone").
    Tube {
        /// Start of the centreline.
        a: DVec3,
        /// End of the centreline.
        b: DVec3,
        /// Radius at `a` (mm).
        ra: f64,
        /// Radius at `b` (mm).
        rb: f64,
    },
    /// An ellipsoid: `inv` takes patient offsets into its own axes, `r` its semi-axes.
    Ellipsoid {
        /// Centre.
        c: DVec3,
        /// Patient → local rotation (transpose of the local axes).
        inv: DMat3,
        /// Semi-axes along the local axes (mm).
        r: DVec3,
    },
    /// A cylinder along its local z axis with flat caps.
    Cylinder {
        /// Centre.
        c: DVec3,
        /// Patient → local rotation.
        inv: DMat3,
        /// Radius (mm).
        radius: f64,
        /// Half of the height (mm).
        half_height: f64,
    },
    /// A box with rounded edges.
    RoundBox {
        /// Centre.
        c: DVec3,
        /// Patient → local rotation.
        inv: DMat3,
        /// Half extents along the local axes, rounding included (mm).
        half: DVec3,
        /// Rounding radius of the edges (mm).
        round: f64,
    },
}

impl Shape {
    /// Signed distance (mm) from `p` to the surface, negative inside, and the
    /// local radius for tubes (`f64::INFINITY` for the other shapes), which the
    /// rasteriser needs for the partial volume of sub-voxel vessels.
    #[inline]
    pub fn distance(&self, p: DVec3) -> (f64, f64) {
        match *self {
            Shape::Tube { a, b, ra, rb } => {
                let ab = b - a;
                let l2 = ab.length_squared();
                let t = if l2 > 0.0 { ((p - a).dot(ab) / l2).clamp(0.0, 1.0) } else { 0.0 };
                let r = ra + t * (rb - ra);
                ((p - (a + ab * t)).length() - r, r)
            }
            Shape::Ellipsoid { c, inv, r } => (ellipsoid_distance(inv * (p - c), r), f64::INFINITY),
            Shape::Cylinder { c, inv, radius, half_height } => {
                let q = inv * (p - c);
                let dx = (q.x * q.x + q.y * q.y).sqrt() - radius;
                let dz = q.z.abs() - half_height;
                let (ox, oz) = (dx.max(0.0), dz.max(0.0));
                let outside = (ox * ox + oz * oz).sqrt();
                (outside + dx.max(dz).min(0.0), f64::INFINITY)
            }
            Shape::RoundBox { c, inv, half, round } => {
                let q = (inv * (p - c)).abs() - half + DVec3::splat(round);
                let outside = q.max(DVec3::ZERO).length();
                (outside + q.max_element().min(0.0) - round, f64::INFINITY)
            }
        }
    }

    /// The shape grown (positive) or shrunk (negative) by `by` mm in every
    /// direction: used for fat sleeves, bone marrow inside cortex and airway
    /// lumens inside walls.
    pub fn offset(&self, by: f64) -> Shape {
        match *self {
            Shape::Tube { a, b, ra, rb } => Shape::Tube { a, b, ra: (ra + by).max(0.0), rb: (rb + by).max(0.0) },
            Shape::Ellipsoid { c, inv, r } => Shape::Ellipsoid { c, inv, r: (r + DVec3::splat(by)).max(DVec3::ZERO) },
            Shape::Cylinder { c, inv, radius, half_height } => {
                Shape::Cylinder { c, inv, radius: (radius + by).max(0.0), half_height: (half_height + by).max(0.0) }
            }
            Shape::RoundBox { c, inv, half, round } => Shape::RoundBox {
                c,
                inv,
                half: (half + DVec3::splat(by)).max(DVec3::ZERO),
                round: (round + by).max(0.0),
            },
        }
    }

    /// Axis-aligned bounds (min, max) in patient mm.
    pub fn bounds(&self) -> (DVec3, DVec3) {
        match *self {
            Shape::Tube { a, b, ra, rb } => {
                let r = DVec3::splat(ra.max(rb));
                (a.min(b) - r, a.max(b) + r)
            }
            Shape::Ellipsoid { c, inv, r } => {
                let h = rotated_half_extent(inv, r);
                (c - h, c + h)
            }
            Shape::Cylinder { c, inv, radius, half_height } => {
                let h = rotated_half_extent(inv, DVec3::new(radius, radius, half_height));
                (c - h, c + h)
            }
            Shape::RoundBox { c, inv, half, .. } => {
                let h = rotated_half_extent(inv, half);
                (c - h, c + h)
            }
        }
    }

    /// Bounds in x and y of the part of the shape within `margin` of the plane
    /// z = `z`, or `None` when it does not come that close. For oblique tubes
    /// this is much tighter than the 3-D bounds, which is what keeps slab
    /// rasterisation cheap.
    pub fn xy_bounds_at(&self, z: f64, margin: f64) -> Option<[f64; 4]> {
        match *self {
            Shape::Tube { a, b, ra, rb } => {
                let r = ra.max(rb) + margin;
                if z < a.z.min(b.z) - r || z > a.z.max(b.z) + r {
                    return None;
                }
                let dz = b.z - a.z;
                let (t0, t1) = if dz.abs() < 1e-9 {
                    (0.0, 1.0)
                } else {
                    let u = (z - r - a.z) / dz;
                    let v = (z + r - a.z) / dz;
                    (u.min(v).max(0.0), u.max(v).min(1.0))
                };
                let p = a + (b - a) * t0;
                let q = a + (b - a) * t1;
                Some([p.x.min(q.x) - r, p.x.max(q.x) + r, p.y.min(q.y) - r, p.y.max(q.y) + r])
            }
            _ => {
                let (lo, hi) = self.bounds();
                if z < lo.z - margin || z > hi.z + margin {
                    return None;
                }
                Some([lo.x - margin, hi.x + margin, lo.y - margin, hi.y + margin])
            }
        }
    }
}

/// Half extents of the axis-aligned box around a box of half extents `h`
/// whose axes are the rows of `inv`.
fn rotated_half_extent(inv: DMat3, h: DVec3) -> DVec3 {
    // Local axes in patient space are the rows of `inv` = columns of its transpose.
    let m = inv.transpose();
    DVec3::new(
        (m.row(0).abs() * h).element_sum(),
        (m.row(1).abs() * h).element_sum(),
        (m.row(2).abs() * h).element_sum(),
    )
}

/// Approximate signed distance to an axis-aligned ellipsoid (first-order
/// correct at the surface; Quílez's bound).
#[inline]
pub fn ellipsoid_distance(q: DVec3, r: DVec3) -> f64 {
    let k0 = (q / r).length();
    let k1 = (q / (r * r)).length();
    if k1 < 1e-12 { -r.min_element() } else { k0 * (k0 - 1.0) / k1 }
}

/// Shortest distance between segments `p0`–`p1` and `q0`–`q1` (closest points
/// by the usual clamped solution).
pub fn segment_distance(p0: DVec3, p1: DVec3, q0: DVec3, q1: DVec3) -> f64 {
    let d1 = p1 - p0;
    let d2 = q1 - q0;
    let r = p0 - q0;
    let a = d1.length_squared();
    let e = d2.length_squared();
    let f = d2.dot(r);
    let (s, t);
    if a <= 1e-12 && e <= 1e-12 {
        return r.length();
    }
    if a <= 1e-12 {
        s = 0.0;
        t = (f / e).clamp(0.0, 1.0);
    } else {
        let c = d1.dot(r);
        if e <= 1e-12 {
            t = 0.0;
            s = (-c / a).clamp(0.0, 1.0);
        } else {
            let b = d1.dot(d2);
            let denom = a * e - b * b;
            let mut s0 = if denom > 1e-12 { ((b * f - c * e) / denom).clamp(0.0, 1.0) } else { 0.0 };
            let mut t0 = (b * s0 + f) / e;
            if t0 < 0.0 {
                t0 = 0.0;
                s0 = (-c / a).clamp(0.0, 1.0);
            } else if t0 > 1.0 {
                t0 = 1.0;
                s0 = ((b - c) / a).clamp(0.0, 1.0);
            }
            s = s0;
            t = t0;
        }
    }
    ((p0 + d1 * s) - (q0 + d2 * t)).length()
}

/// Closest point to `p` on segment `a`–`b`.
pub fn closest_on_segment(p: DVec3, a: DVec3, b: DVec3) -> DVec3 {
    let ab = b - a;
    let l2 = ab.length_squared();
    let t = if l2 > 0.0 { ((p - a).dot(ab) / l2).clamp(0.0, 1.0) } else { 0.0 };
    a + ab * t
}

/// Rotation matrix from Euler angles (radians) about x, then y, then z,
/// built with `libm` so that it is bit-identical everywhere.
pub fn rotation_xyz(ax: f64, ay: f64, az: f64) -> DMat3 {
    let (sx, cx) = (libm::sin(ax), libm::cos(ax));
    let (sy, cy) = (libm::sin(ay), libm::cos(ay));
    let (sz, cz) = (libm::sin(az), libm::cos(az));
    let rx = DMat3::from_cols(DVec3::X, DVec3::new(0.0, cx, sx), DVec3::new(0.0, -sx, cx));
    let ry = DMat3::from_cols(DVec3::new(cy, 0.0, -sy), DVec3::Y, DVec3::new(sy, 0.0, cy));
    let rz = DMat3::from_cols(DVec3::new(cz, sz, 0.0), DVec3::new(-sz, cz, 0.0), DVec3::Z);
    rz * ry * rx
}

/// Rotation by `angle` radians about the unit `axis` (Rodrigues), with `libm`.
pub fn rotate_about(v: DVec3, axis: DVec3, angle: f64) -> DVec3 {
    let (s, c) = (libm::sin(angle), libm::cos(angle));
    v * c + axis.cross(v) * s + axis * axis.dot(v) * (1.0 - c)
}

/// Some unit vector perpendicular to unit `d`.
pub fn any_perpendicular(d: DVec3) -> DVec3 {
    let t = if d.x.abs() < 0.8 { DVec3::X } else { DVec3::Y };
    (t - d * d.dot(t)).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tube_distance_is_exact_for_cylinders() {
        let s = Shape::Tube { a: DVec3::ZERO, b: DVec3::new(0.0, 0.0, 10.0), ra: 2.0, rb: 2.0 };
        assert!((s.distance(DVec3::new(5.0, 0.0, 5.0)).0 - 3.0).abs() < 1e-12);
        assert!((s.distance(DVec3::new(0.0, 0.0, 5.0)).0 + 2.0).abs() < 1e-12);
        assert!((s.distance(DVec3::new(0.0, 0.0, -4.0)).0 - 2.0).abs() < 1e-12);
    }

    #[test]
    fn ellipsoid_and_box_signs() {
        let r = rotation_xyz(0.3, -0.2, 0.9);
        let e = Shape::Ellipsoid { c: DVec3::ONE, inv: r.transpose(), r: DVec3::new(10.0, 5.0, 3.0) };
        assert!(e.distance(DVec3::ONE).0 < 0.0);
        let surface = DVec3::ONE + r * DVec3::new(10.0, 0.0, 0.0);
        assert!(e.distance(surface).0.abs() < 1e-9);
        let (lo, hi) = e.bounds();
        assert!(surface.cmpge(lo).all() && surface.cmple(hi).all());
        let b = Shape::RoundBox { c: DVec3::ZERO, inv: DMat3::IDENTITY, half: DVec3::new(5.0, 2.0, 8.0), round: 1.0 };
        assert!((b.distance(DVec3::new(7.0, 0.0, 0.0)).0 - 2.0).abs() < 1e-12);
        assert!(b.distance(DVec3::ZERO).0 < 0.0);
    }

    #[test]
    fn slab_bounds_contain_the_tube_section() {
        let s = Shape::Tube { a: DVec3::new(-50.0, 0.0, 0.0), b: DVec3::new(50.0, 20.0, 100.0), ra: 3.0, rb: 1.0 };
        let [x0, x1, y0, y1] = s.xy_bounds_at(50.0, 1.0).unwrap();
        assert!(x1 - x0 < 20.0 && y1 - y0 < 20.0);
        for i in 0..200 {
            for j in 0..100 {
                let p = DVec3::new(-100.0 + i as f64, -40.0 + j as f64, 50.0);
                if s.distance(p).0 < 1.0 {
                    assert!(p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1);
                }
            }
        }
        assert!(s.xy_bounds_at(120.0, 1.0).is_none());
    }

    #[test]
    fn segment_distance_matches_brute_force() {
        let segs = [
            (DVec3::ZERO, DVec3::X * 10.0, DVec3::new(5.0, 3.0, -2.0), DVec3::new(5.0, 3.0, 9.0)),
            (DVec3::ZERO, DVec3::X * 10.0, DVec3::new(12.0, 1.0, 0.0), DVec3::new(20.0, 1.0, 0.0)),
            (DVec3::ZERO, DVec3::ONE, DVec3::ONE * 2.0, DVec3::ONE * 3.0),
        ];
        for (p0, p1, q0, q1) in segs {
            let mut best = f64::MAX;
            for i in 0..=200 {
                for j in 0..=200 {
                    let a = p0 + (p1 - p0) * (i as f64 / 200.0);
                    let b = q0 + (q1 - q0) * (j as f64 / 200.0);
                    best = best.min((a - b).length());
                }
            }
            assert!((segment_distance(p0, p1, q0, q1) - best).abs() < 0.05, "{best}");
        }
    }
}
