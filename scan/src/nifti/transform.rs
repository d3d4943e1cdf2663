//! Which NIfTI transform places the voxels, and conversions between NIfTI's
//! quaternion form and a rotation matrix (after `nifti1_io.c`).
//!
//! Precedence follows nibabel and ITK: the sform when its code is non-zero and
//! it splits into orthonormal directions × spacing; otherwise the qform when
//! its code is non-zero; otherwise (both codes 0, "Analyze" style) pixdim
//! spacing with identity RAS axes. A sheared sform with no qform is refused:
//! Vasa would have to distort the image to show it.

use glam::{DMat3, DMat4, DVec3, DVec4};
use nifti::NiftiHeader;

use crate::geometry::{Geometry, flip_affine_ras_lps, geometry_from_affine};

/// Which header field the geometry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformSource {
    /// `srow_x/y/z` (sform_code > 0).
    Sform,
    /// The quaternion fields (qform_code > 0).
    Qform,
    /// Neither code set: pixdim only, identity RAS axes.
    PixdimOnly,
}

impl TransformSource {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            TransformSource::Sform => "sform",
            TransformSource::Qform => "qform",
            TransformSource::PixdimOnly => "pixdim (no sform/qform)",
        }
    }
}

/// The voxel→RAS affine of the sform rows.
pub fn sform_affine(h: &NiftiHeader) -> DMat4 {
    let r = |row: [f32; 4]| DVec4::new(row[0] as f64, row[1] as f64, row[2] as f64, row[3] as f64);
    DMat4::from_cols_array_2d(&[
        r(h.srow_x).to_array(),
        r(h.srow_y).to_array(),
        r(h.srow_z).to_array(),
        [0.0, 0.0, 0.0, 1.0],
    ])
    .transpose()
}

/// The voxel→RAS affine of the qform (quaternion, offsets, pixdim and qfac).
/// Fails on zero or non-finite pixdim.
pub fn qform_affine(h: &NiftiHeader) -> Result<DMat4, String> {
    let spacing = pixdim_spacing(h)?;
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let r = quaternion_to_rotation(h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
    let m = DMat3::from_cols(r.col(0) * spacing.x, r.col(1) * spacing.y, r.col(2) * (qfac * spacing.z));
    let t = DVec3::new(h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64);
    Ok(DMat4::from_cols(m.col(0).extend(0.0), m.col(1).extend(0.0), m.col(2).extend(0.0), t.extend(1.0)))
}

/// pixdim[1..=3] as spacing; errors name the bad entry.
fn pixdim_spacing(h: &NiftiHeader) -> Result<DVec3, String> {
    let mut s = [0.0f64; 3];
    for (a, out) in s.iter_mut().enumerate() {
        let v = h.pixdim[a + 1] as f64;
        if !v.is_finite() || v == 0.0 {
            return Err(format!("pixdim[{}] = {v} is not a usable voxel size", a + 1));
        }
        // nifti1_io takes the magnitude; the sign of axis 3 lives in qfac.
        *out = v.abs();
    }
    Ok(DVec3::from_array(s))
}

/// Rotation matrix of the unit quaternion (a, b, c, d), a = √(1 − b² − c² − d²),
/// as `nifti_quatern_to_mat44` computes it.
pub fn quaternion_to_rotation(b: f64, c: f64, d: f64) -> DMat3 {
    let (mut a, mut b, mut c, mut d) = (1.0 - (b * b + c * c + d * d), b, c, d);
    if a < 1e-7 {
        // Special case: a 180° rotation; renormalise (b, c, d).
        let n = 1.0 / (b * b + c * c + d * d).sqrt();
        b *= n;
        c *= n;
        d *= n;
        a = 0.0;
    } else {
        a = a.sqrt();
    }
    // Rows of the matrix as nifti1_io writes them.
    let rows = [
        [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
        [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
        [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ];
    DMat3::from_cols_array_2d(&rows).transpose()
}

/// Quaternion (b, c, d) and qfac of an orthonormal matrix, as
/// `nifti_mat44_to_quatern` computes them (qfac = −1 for a left-handed frame,
/// whose third column is negated first).
pub fn rotation_to_quaternion(m: DMat3) -> ([f64; 3], f64) {
    let mut m = m;
    let qfac = if m.determinant() < 0.0 {
        m = DMat3::from_cols(m.col(0), m.col(1), -m.col(2));
        -1.0
    } else {
        1.0
    };
    // r(row, col)
    let r = |i: usize, j: usize| m.col(j)[i];
    let (r11, r12, r13) = (r(0, 0), r(0, 1), r(0, 2));
    let (r21, r22, r23) = (r(1, 0), r(1, 1), r(1, 2));
    let (r31, r32, r33) = (r(2, 0), r(2, 1), r(2, 2));
    let trace = r11 + r22 + r33 + 1.0;
    let (mut a, mut b, mut c, mut d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r32 - r23) / a;
        c = 0.25 * (r13 - r31) / a;
        d = 0.25 * (r21 - r12) / a;
    } else {
        let xd = 1.0 + r11 - (r22 + r33);
        let yd = 1.0 + r22 - (r11 + r33);
        let zd = 1.0 + r33 - (r11 + r22);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r12 + r21) / b;
            d = 0.25 * (r13 + r31) / b;
            a = 0.25 * (r32 - r23) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r12 + r21) / c;
            d = 0.25 * (r23 + r32) / c;
            a = 0.25 * (r13 - r31) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r13 + r31) / d;
            c = 0.25 * (r23 + r32) / d;
            a = 0.25 * (r21 - r12) / d;
        }
        if a < 0.0 {
            b = -b;
            c = -c;
            d = -d;
            a = -a;
        }
    }
    let _ = a;
    ([b, c, d], qfac)
}

/// Chooses the transform by the precedence above and returns the LPS
/// geometry, where it came from, and warnings worth showing the user.
pub fn geometry_of_header(h: &NiftiHeader) -> Result<(Geometry, TransformSource, Vec<String>), String> {
    let mut warnings = Vec::new();
    if h.sform_code > 0 {
        match geometry_from_affine(flip_affine_ras_lps(sform_affine(h))) {
            Ok(g) => return Ok((g, TransformSource::Sform, warnings)),
            Err(why) if h.qform_code > 0 => {
                warnings.push(format!("sform unusable ({why}); using the qform instead"));
            }
            Err(why) => return Err(format!("sform cannot be used ({why}) and there is no qform")),
        }
    }
    if h.qform_code > 0 {
        let a = qform_affine(h)?;
        let g = geometry_from_affine(flip_affine_ras_lps(a)).map_err(|e| format!("qform: {e}"))?;
        return Ok((g, TransformSource::Qform, warnings));
    }
    warnings.push("neither sform nor qform is set: assuming RAS axes at the origin".to_string());
    let spacing = pixdim_spacing(h)?;
    let a = DMat4::from_diagonal(spacing.extend(1.0));
    let g = geometry_from_affine(flip_affine_ras_lps(a))?;
    Ok((g, TransformSource::PixdimOnly, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: DMat3, b: DMat3) -> bool {
        (0..3).all(|c| (a.col(c) - b.col(c)).abs().max_element() < 1e-9)
    }

    #[test]
    fn quaternion_round_trips_rotations_and_reflections() {
        let rots = [
            DMat3::IDENTITY,
            DMat3::from_rotation_z(2.0),
            DMat3::from_rotation_x(3.1),
            DMat3::from_rotation_y(std::f64::consts::PI),
            DMat3::from_euler(glam::EulerRot::XYZ, 0.3, -1.2, 2.9),
        ];
        for r in rots {
            for flip in [false, true] {
                let m = if flip { DMat3::from_cols(r.col(0), r.col(1), -r.col(2)) } else { r };
                let ([b, c, d], qfac) = rotation_to_quaternion(m);
                let back = quaternion_to_rotation(b, c, d);
                let back = DMat3::from_cols(back.col(0), back.col(1), back.col(2) * qfac);
                assert!(approx(back, m), "{m:?} -> {back:?}");
            }
        }
    }
}
