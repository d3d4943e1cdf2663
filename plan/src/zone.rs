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
