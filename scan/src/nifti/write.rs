//! Writing volumes as NIfTI-1 (`.nii`, or `.nii.gz` when the name ends in `.gz`).

use std::io::Write;
use std::path::Path;

use super::datatype::NiftiVoxel;
use super::transform::rotation_to_quaternion;
use crate::atomic_file::write_atomically;
use crate::error::{Result, ScanError};
use crate::geometry::{RAS_LPS_FLIP, flip_affine_ras_lps};
use crate::volume::Volume;

/// Header size plus the 4-byte extension flag: where voxel data starts.
const VOX_OFFSET: usize = 352;

/// Writes `volume` to `path` atomically, little-endian, with both sform and
/// qform (code 1, scanner anatomical) set to the volume's geometry in RAS.
/// Names ending in `.gz` are gzip-compressed (fast level: CT data barely
/// compresses better at higher levels, and saving must not stall the user).
pub fn write<T: NiftiVoxel>(path: &Path, volume: &Volume<T>) -> Result<()> {
    if let Some(d) = volume.dims().iter().find(|&&d| d > i16::MAX as usize) {
        return Err(ScanError::unsupported(
            path,
            format!("NIfTI-1 cannot store a dimension of {d} voxels (max 32767)"),
        ));
    }
    let header = header_bytes(volume);
    let data: &[u8] = bytemuck::cast_slice(volume.data());
    let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    write_atomically(path, |w| {
        if gz {
            let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::new(1));
            write_le(&mut enc, &header, data, std::mem::size_of::<T>())?;
            enc.finish()?;
        } else {
            write_le(w, &header, data, std::mem::size_of::<T>())?;
        }
        Ok(())
    })
}

fn write_le(w: &mut impl Write, header: &[u8], data: &[u8], size: usize) -> std::io::Result<()> {
    w.write_all(header)?;
    if cfg!(target_endian = "little") || size == 1 {
        w.write_all(data)
    } else {
        for chunk in data.chunks(1 << 20) {
            let mut c = chunk.to_vec();
            c.chunks_exact_mut(size).for_each(|v| v.reverse());
            w.write_all(&c)?;
        }
        Ok(())
    }
}

/// The 352 bytes before the voxel data (header + empty extension flag).
fn header_bytes<T: NiftiVoxel>(volume: &Volume<T>) -> Vec<u8> {
    let g = &volume.geometry;
    let dims = volume.dims();
    let ras = flip_affine_ras_lps(g.voxel_to_world_matrix());
    let ([qb, qc, qd], qfac) = rotation_to_quaternion(RAS_LPS_FLIP * g.direction);

    let mut h = vec![0u8; VOX_OFFSET];
    let mut put = |offset: usize, bytes: &[u8]| h[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(0, &348i32.to_le_bytes());
    put(38, b"r");
    // dim: 3-D, then the sizes (NIfTI stores them as i16; larger sizes cannot be written).
    let mut dim = [1i16; 8];
    dim[0] = 3;
    for a in 0..3 {
        dim[a + 1] = i16::try_from(dims[a]).unwrap_or(i16::MAX);
    }
    for (i, d) in dim.iter().enumerate() {
        put(40 + 2 * i, &d.to_le_bytes());
    }
    put(70, &T::DATATYPE.code().to_le_bytes());
    put(72, &((T::DATATYPE.size() * 8) as i16).to_le_bytes());
    let pixdim = [qfac as f32, g.spacing.x as f32, g.spacing.y as f32, g.spacing.z as f32, 1.0, 1.0, 1.0, 1.0];
    for (i, p) in pixdim.iter().enumerate() {
        put(76 + 4 * i, &p.to_le_bytes());
    }
    put(108, &(VOX_OFFSET as f32).to_le_bytes());
    put(112, &1.0f32.to_le_bytes()); // scl_slope
    put(116, &0.0f32.to_le_bytes()); // scl_inter
    h[123] = 2 | 8; // xyzt_units: mm, s
    let descrip = b"Vasa";
    h[148..148 + descrip.len()].copy_from_slice(descrip);
    let mut put = |offset: usize, bytes: &[u8]| h[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(252, &1i16.to_le_bytes()); // qform_code: scanner anatomical
    put(254, &1i16.to_le_bytes()); // sform_code
    let t = ras.col(3);
    for (i, v) in [qb, qc, qd, t.x, t.y, t.z].iter().enumerate() {
        put(256 + 4 * i, &(*v as f32).to_le_bytes());
    }
    for row in 0..3 {
        for col in 0..4 {
            put(280 + 16 * row + 4 * col, &(ras.col(col)[row] as f32).to_le_bytes());
        }
    }
    put(344, b"n+1\0");
    h
}
