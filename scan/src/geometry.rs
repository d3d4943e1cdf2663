//! Where voxels are in the patient: spacing, origin and direction cosines in
//! patient LPS (x to the patient's Left, y to Posterior, z to Superior), as DICOM
//! defines them. NIfTI's RAS is converted at the file boundary, never here.

use glam::{DMat3, DMat4, DVec3};

/// Tolerance on |cos| between axes and on |norm − 1| for direction cosines.
pub const ORTHONORMAL_TOLERANCE: f64 = 1e-3;

/// The mapping from voxel indices (i, j, k) to patient LPS millimetres.
///
/// `world = origin + direction · diag(spacing) · (i, j, k)`, where the columns
/// of `direction` are the unit vectors of the i, j and k axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Voxel size along i, j, k in millimetres; always finite and positive.
    pub spacing: DVec3,
    /// Patient position (LPS, mm) of the centre of voxel (0, 0, 0).
    pub origin: DVec3,
    /// Direction cosines: column `a` is the LPS unit vector of voxel axis `a`.
    pub direction: DMat3,
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry { spacing: DVec3::ONE, origin: DVec3::ZERO, direction: DMat3::IDENTITY }
    }
}

impl Geometry {
    /// A geometry with identity direction (axial, LPS-aligned).
    pub fn axis_aligned(spacing: DVec3, origin: DVec3) -> Self {
        Geometry { spacing, origin, direction: DMat3::IDENTITY }
    }

    /// Checks that spacing is finite and positive and that the direction is
    /// orthonormal. Returns a sentence describing the first problem found.
    pub fn validate(&self) -> Result<(), String> {
        for (a, s) in self.spacing.to_array().iter().enumerate() {
            if !s.is_finite() || *s <= 0.0 {
                return Err(format!("spacing along axis {a} is {s} mm (must be finite and > 0)"));
            }
        }
        if !self.origin.is_finite() {
            return Err(format!("origin {:?} is not finite", self.origin.to_array()));
        }
        let d = self.direction;
        for a in 0..3 {
            let c = d.col(a);
            if !c.is_finite() || (c.length() - 1.0).abs() > ORTHONORMAL_TOLERANCE {
                return Err(format!("direction of axis {a} {:?} is not a unit vector", c.to_array()));
            }
        }
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let dot = d.col(a).dot(d.col(b));
            if dot.abs() > ORTHONORMAL_TOLERANCE {
                return Err(format!("axes {a} and {b} are not orthogonal (cos = {dot:.4})"));
            }
        }
        Ok(())
    }

    /// The 4×4 affine from voxel index to LPS millimetres.
    pub fn voxel_to_world_matrix(&self) -> DMat4 {
        let m = self.direction * DMat3::from_diagonal(self.spacing);
        DMat4::from_cols(m.col(0).extend(0.0), m.col(1).extend(0.0), m.col(2).extend(0.0), self.origin.extend(1.0))
    }

    /// Patient LPS position (mm) of a (possibly fractional) voxel index.
    pub fn voxel_to_world(&self, ijk: DVec3) -> DVec3 {
        self.origin + self.direction * (ijk * self.spacing)
    }

    /// Continuous voxel index of a patient LPS position (mm). Exact inverse of
    /// [`Geometry::voxel_to_world`] for an orthonormal direction.
    pub fn world_to_voxel(&self, world: DVec3) -> DVec3 {
        self.direction.transpose() * (world - self.origin) / self.spacing
    }

    /// Three letters naming where each voxel axis points, e.g. `"LPS"` for a
    /// standard axial DICOM series (i → Left, j → Posterior, k → Superior).
    pub fn orientation_code(&self) -> String {
        (0..3).map(|a| axis_letter(self.direction.col(a))).collect()
    }

    /// The in-plane axes and slice normal of a slice stack, as DICOM stores them.
    pub fn slice_normal(&self) -> DVec3 {
        self.direction.col(0).cross(self.direction.col(1))
    }
}

/// The patient direction letter (L/R, P/A, S/I) closest to a vector in LPS.
pub fn axis_letter(v: DVec3) -> char {
    let a = v.abs();
    if a.x >= a.y && a.x >= a.z {
        if v.x >= 0.0 { 'L' } else { 'R' }
    } else if a.y >= a.z {
        if v.y >= 0.0 { 'P' } else { 'A' }
    } else if v.z >= 0.0 {
        'S'
    } else {
        'I'
    }
}

/// Flips between RAS and LPS (its own inverse): negates x and y.
pub const RAS_LPS_FLIP: DMat3 =
    DMat3::from_cols(DVec3::new(-1.0, 0.0, 0.0), DVec3::new(0.0, -1.0, 0.0), DVec3::new(0.0, 0.0, 1.0));

/// Converts a 4×4 voxel→RAS affine into the equivalent voxel→LPS affine (and back).
pub fn flip_affine_ras_lps(affine: DMat4) -> DMat4 {
    let flip = DMat4::from_diagonal(glam::DVec4::new(-1.0, -1.0, 1.0, 1.0));
    flip * affine
}

/// Splits a voxel→LPS affine into a [`Geometry`]: spacing from column norms,
/// direction from normalised columns. Fails on a zero or sheared matrix.
pub fn geometry_from_affine(affine: DMat4) -> Result<Geometry, String> {
    let m = DMat3::from_mat4(affine);
    let spacing = DVec3::new(m.col(0).length(), m.col(1).length(), m.col(2).length());
    if spacing.min_element().partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !spacing.is_finite() {
        return Err(format!("affine has a zero or non-finite axis (voxel sizes {:?})", spacing.to_array()));
    }
    let direction = DMat3::from_cols(m.col(0) / spacing.x, m.col(1) / spacing.y, m.col(2) / spacing.z);
    let g = Geometry { spacing, origin: affine.col(3).truncate(), direction };
    g.validate().map(|_| g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_code_of_standard_axial_is_lps() {
        assert_eq!(Geometry::default().orientation_code(), "LPS");
        let g = Geometry { direction: RAS_LPS_FLIP, ..Default::default() };
        assert_eq!(g.orientation_code(), "RAS");
    }

    #[test]
    fn validate_rejects_bad_spacing_and_shear() {
        let mut g = Geometry::default();
        g.spacing.y = 0.0;
        assert!(g.validate().unwrap_err().contains("axis 1"));
        let mut g = Geometry::default();
        g.spacing.z = f64::NAN;
        assert!(g.validate().is_err());
        let g = Geometry {
            direction: DMat3::from_cols(DVec3::X, DVec3::new(0.5, 0.866_025_4, 0.0), DVec3::Z),
            ..Default::default()
        };
        assert!(g.validate().unwrap_err().contains("orthogonal"));
    }

    #[test]
    fn affine_round_trip() {
        let g = Geometry {
            spacing: DVec3::new(0.7, 0.8, 2.5),
            origin: DVec3::new(-100.0, 20.0, 300.0),
            direction: DMat3::from_cols(DVec3::X, DVec3::Z, -DVec3::Y),
        };
        let back = geometry_from_affine(g.voxel_to_world_matrix()).unwrap();
        assert!((back.spacing - g.spacing).abs().max_element() < 1e-12);
        assert!((back.origin - g.origin).abs().max_element() < 1e-12);
        assert_eq!(back.orientation_code(), "LSA");
    }
}
