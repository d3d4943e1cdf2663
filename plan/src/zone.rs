//! The ablation zone: a spheroid (an ellipsoid of revolution) centred on
//! the applicator's tip, its long axis along the applicator, and the exact
//! signed distance of a point to its surface (negative inside). The
//! spheroid reduces to an ellipse in the plane through its axis and the
//! point, where the distance is found by bisection on the foot point's
//! parameter (robust for every point, on the axis included).

use glam::DVec3;

/// An ablation zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone {
    /// Centre (patient mm): the applicator's target.
    pub centre: DVec3,
    /// Unit vector of the long axis (along the applicator).
    pub axis: DVec3,
    /// Length along the axis (mm): twice the half-length.
    pub length_mm: f64,
    /// Width across the axis (mm).
    pub width_mm: f64,
}

impl Zone {
    /// The zone of an applicator from `entry` to `target`, `length` × `width` mm.
    pub fn along(entry: DVec3, target: DVec3, length_mm: f64, width_mm: f64) -> Zone {
        let axis = (target - entry).try_normalize().unwrap_or(DVec3::Z);
        Zone { centre: target, axis, length_mm, width_mm }
    }

    /// Signed distance (mm) from `p` to the surface (negative inside), and
    /// the nearest surface point.
    pub fn signed_distance(&self, p: DVec3) -> (f64, DVec3) {
        let (a, b) = (self.length_mm / 2.0, self.width_mm / 2.0);
        let d = p - self.centre;
        let z = d.dot(self.axis);
        let radial = d - self.axis * z;
        let r = radial.length();
        let across = if r > 1e-12 { radial / r } else { self.axis.any_orthonormal_vector() };
        let (dist, (fz, fr)) = ellipse_distance(a, b, z, r);
        let foot = self.centre + self.axis * fz + across * fr;
        let inside = (z / a).powi(2) + (r / b).powi(2) < 1.0;
        (if inside { -dist } else { dist }, foot)
    }

    /// True when `p` lies inside (or on) the zone.
    pub fn contains(&self, p: DVec3) -> bool {
        self.signed_distance(p).0 <= 0.0
    }

    /// A box (min, max, patient mm) holding the zone grown by `reach` mm.
    pub fn bounds(&self, reach: f64) -> (DVec3, DVec3) {
        let r = self.length_mm.max(self.width_mm) / 2.0 + reach;
        (self.centre - DVec3::splat(r), self.centre + DVec3::splat(r))
    }
}

/// The outline (`n` points, patient mm) where the ellipsoid
/// (x − c)ᵀ M (x − c) = 1 meets the plane through `origin` spanned by the
/// orthonormal `e1`, `e2`; empty when they do not meet. In the plane the
/// quadric is the conic wᵀKw + 2gᵀw + h = 1 (w in plane coordinates), an
/// ellipse around −K⁻¹g with axes along K's eigenvectors.
pub fn quadric_section(c: DVec3, m: glam::DMat3, origin: DVec3, e1: DVec3, e2: DVec3, n: usize) -> Vec<DVec3> {
    let y = origin - c;
    let (k11, k12, k22) = (e1.dot(m * e1), e1.dot(m * e2), e2.dot(m * e2));
    let (g1, g2) = (e1.dot(m * y), e2.dot(m * y));
    let h = y.dot(m * y);
    let det = k11 * k22 - k12 * k12;
    if det <= 1e-18 {
        return Vec::new();
    }
    // Centre w0 = −K⁻¹g; the level there: R = 1 − h + gᵀK⁻¹g.
    let w0 = (-(k22 * g1 - k12 * g2) / det, -(-k12 * g1 + k11 * g2) / det);
    let r = 1.0 - h - (g1 * w0.0 + g2 * w0.1);
    if r <= 0.0 {
        return Vec::new();
    }
    // Eigen-decomposition of the 2×2 symmetric K.
    let tr = k11 + k22;
    let disc = ((k11 - k22) * (k11 - k22) / 4.0 + k12 * k12).sqrt();
    let (l1, l2) = (tr / 2.0 + disc, tr / 2.0 - disc);
    let v1 = if k12.abs() > 1e-15 {
        (l1 - k22, k12)
    } else if k11 >= k22 {
        (1.0, 0.0)
    } else {
        (0.0, 1.0)
    };
    let len = (v1.0 * v1.0 + v1.1 * v1.1).sqrt();
    let v1 = (v1.0 / len, v1.1 / len);
    let v2 = (-v1.1, v1.0);
    let (a1, a2) = ((r / l1).sqrt(), (r / l2).sqrt());
    (0..n)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            let (p, q) = (a1 * t.cos(), a2 * t.sin());
            let w = (w0.0 + p * v1.0 + q * v2.0, w0.1 + p * v1.1 + q * v2.1);
            origin + e1 * w.0 + e2 * w.1
        })
        .collect()
}

impl Zone {
    /// The zone's matrix M: (x − c)ᵀ M (x − c) = 1 on its surface.
    pub fn quadric(&self) -> glam::DMat3 {
        let (a, b) = (self.length_mm / 2.0, self.width_mm / 2.0);
        let uu = glam::DMat3::from_cols(self.axis * self.axis.x, self.axis * self.axis.y, self.axis * self.axis.z);
        uu * (1.0 / (a * a)) + (glam::DMat3::IDENTITY - uu) * (1.0 / (b * b))
    }

    /// The zone's outline in the plane through `origin` spanned by `e1`, `e2`.
    pub fn section(&self, origin: DVec3, e1: DVec3, e2: DVec3, n: usize) -> Vec<DVec3> {
        quadric_section(self.centre, self.quadric(), origin, e1, e2, n)
    }
}

/// The outline of the sphere of `radius` around `c` in the plane through
/// `origin` spanned by `e1`, `e2`.
pub fn sphere_section(c: DVec3, radius: f64, origin: DVec3, e1: DVec3, e2: DVec3, n: usize) -> Vec<DVec3> {
    quadric_section(c, glam::DMat3::IDENTITY * (1.0 / (radius * radius)), origin, e1, e2, n)
}

/// Distance from (x, y) to the ellipse x²/a² + y²/b² = 1 and the nearest
/// point on it (in the point's quadrant). The foot point (a cos t, b sin t)
/// is found over t in [0, π/2] for |x|, |y| (symmetry gives the rest): a
/// coarse scan brackets the nearest one (a point inside, near the centre,
/// has several stationary feet), a golden-section search refines it.
pub fn ellipse_distance(a: f64, b: f64, x: f64, y: f64) -> (f64, (f64, f64)) {
    let (px, py) = (x.abs(), y.abs());
    let dist = |t: f64| (a * t.cos() - px).hypot(b * t.sin() - py);
    let quarter = std::f64::consts::FRAC_PI_2;
    let steps = 64;
    let coarse = (0..=steps)
        .map(|i| quarter * i as f64 / steps as f64)
        .min_by(|&s, &t| dist(s).total_cmp(&dist(t)))
        .unwrap_or(0.0);
    let (mut lo, mut hi) = ((coarse - quarter / steps as f64).max(0.0), (coarse + quarter / steps as f64).min(quarter));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..100 {
        let (c, d) = (hi - g * (hi - lo), lo + g * (hi - lo));
        if dist(c) < dist(d) {
            hi = d;
        } else {
            lo = c;
        }
    }
    let t = (lo + hi) / 2.0;
    let sign = |v: f64| if v < 0.0 { -1.0 } else { 1.0 };
    (dist(t), (sign(x) * a * t.cos(), sign(y) * b * t.sin()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_lie_on_the_surface_and_in_the_plane() {
        let axis = DVec3::new(1.0, 2.0, -0.5).normalize();
        let z = Zone { centre: DVec3::new(1.0, 2.0, 3.0), axis, length_mm: 28.0, width_mm: 20.0 };
        let (e1, e2) = (DVec3::X, DVec3::Y);
        for height in [3.0, 6.0, -2.0] {
            let origin = DVec3::new(0.0, 0.0, height);
            let outline = z.section(origin, e1, e2, 32);
            assert_eq!(outline.len(), 32);
            for p in outline {
                assert!((p.z - height).abs() < 1e-9);
                assert!(z.signed_distance(p).0.abs() < 1e-6, "{p}");
            }
        }
        assert!(z.section(DVec3::new(0.0, 0.0, 40.0), e1, e2, 32).is_empty(), "the plane misses it");
        let circle = sphere_section(DVec3::new(0.0, 0.0, 3.0), 5.0, DVec3::ZERO, e1, e2, 16);
        assert!(circle.iter().all(|p| (p.length() - 4.0).abs() < 1e-9), "radius √(25 − 9)");
    }

    #[test]
    fn distances_to_a_sphere_are_exact() {
        let z = Zone { centre: DVec3::new(10.0, -5.0, 3.0), axis: DVec3::Z, length_mm: 20.0, width_mm: 20.0 };
        for p in [DVec3::new(10.0, -5.0, 3.0), DVec3::new(13.0, -1.0, 3.0), DVec3::new(40.0, 20.0, -7.0)] {
            let r = (p - z.centre).length();
            let (d, foot) = z.signed_distance(p);
            assert!((d - (r - 10.0)).abs() < 1e-9, "{p}: {d} vs {}", r - 10.0);
            assert!(((foot - z.centre).length() - 10.0).abs() < 1e-9);
        }
    }

    #[test]
    fn distances_to_a_spheroid_match_a_dense_search() {
        let axis = DVec3::new(1.0, 2.0, -0.5).normalize();
        let z = Zone { centre: DVec3::new(1.0, 2.0, 3.0), axis, length_mm: 28.0, width_mm: 20.0 };
        // Ends of the axes.
        assert!((z.signed_distance(z.centre).0 + 10.0).abs() < 1e-9, "the centre is a half-width inside");
        assert!((z.signed_distance(z.centre + axis * 20.0).0 - 6.0).abs() < 1e-9);
        // Against a dense sampling of the surface.
        let u = axis.any_orthonormal_vector();
        let v = axis.cross(u);
        let surface: Vec<DVec3> = (0..400)
            .flat_map(|i| (0..200).map(move |j| (i, j)))
            .map(|(i, j)| {
                let th = std::f64::consts::PI * i as f64 / 399.0;
                let ph = std::f64::consts::TAU * j as f64 / 200.0;
                z.centre + axis * 14.0 * th.cos() + (u * ph.cos() + v * ph.sin()) * 10.0 * th.sin()
            })
            .collect();
        for p in [
            DVec3::new(30.0, 0.0, 0.0),
            DVec3::new(3.0, 4.0, 2.0),
            DVec3::new(1.5, 2.5, 3.5),
            DVec3::new(-20.0, 9.0, 12.0),
        ] {
            let brute = surface.iter().map(|s| s.distance(p)).fold(f64::INFINITY, f64::min);
            let (d, foot) = z.signed_distance(p);
            assert!((d.abs() - brute).abs() < 0.2, "{p}: {d} vs {brute}");
            assert!(d.abs() <= brute + 1e-6, "never more than the sampled surface");
            assert!((foot.distance(p) - d.abs()).abs() < 1e-9);
        }
    }
}
