//! Reading `.nii` and `.nii.gz` files into volumes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use nifti::NiftiHeader;
use rayon::prelude::*;

use super::datatype::{DataType, NiftiVoxel};
use super::transform::{TransformSource, geometry_of_header};
use crate::error::{Result, ScanError};
use crate::memory::checked_voxel_count;
use crate::volume::Volume;

/// Size of a NIfTI-1 header in bytes.
const HEADER_SIZE: usize = 348;
/// Voxel data never starts later than this (guards against a hostile vox_offset).
const MAX_VOX_OFFSET: f32 = (64 << 20) as f32;

/// What a NIfTI header says about the image, for reports like `vasa info`.
#[derive(Debug, Clone)]
pub struct NiftiInfo {
    /// Voxel counts along i, j, k.
    pub dims: [usize; 3],
    /// Stored datatype.
    pub datatype: DataType,
    /// `scl_slope`, `scl_inter` as applied (1, 0 when the header says none).
    pub scaling: (f64, f64),
    /// Which transform placed the voxels.
    pub transform: TransformSource,
    /// True when the file was gzip-compressed.
    pub compressed: bool,
    /// True when the header is big-endian.
    pub big_endian: bool,
    /// The header's description field.
    pub description: String,
    /// Things the user should know (fallback transforms, clamped values, ...).
    pub warnings: Vec<String>,
}

/// An opened file positioned at the start of the voxel data.
pub(super) struct Opened {
    pub reader: Box<dyn Read>,
    pub info: NiftiInfo,
    pub geometry: crate::Geometry,
}

/// Reads only the header of `path` and returns what it says.
pub fn read_info(path: &Path) -> Result<(NiftiInfo, crate::Geometry)> {
    let o = open(path)?;
    Ok((o.info, o.geometry))
}

/// Opens `path` (gzip detected from its first bytes, not its name), parses
/// and checks the header, and skips to the voxel data.
pub(super) fn open(path: &Path) -> Result<Opened> {
    let file = File::open(path).map_err(|e| ScanError::io(path, e))?;
    let mut raw = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 2];
    let compressed = {
        use std::io::BufRead;
        let buf = raw.fill_buf().map_err(|e| ScanError::io(path, e))?;
        if buf.len() >= 2 {
            magic.copy_from_slice(&buf[..2]);
        }
        magic == [0x1f, 0x8b]
    };
    let mut reader: Box<dyn Read> =
        if compressed { Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(raw))) } else { Box::new(raw) };

    let mut bytes = [0u8; HEADER_SIZE];
    reader.read_exact(&mut bytes).map_err(|e| read_error(path, "the 348-byte header", e))?;
    let sizeof_hdr_le = i32::from_le_bytes(bytes[0..4].try_into().unwrap_or_default());
    let sizeof_hdr_be = i32::from_be_bytes(bytes[0..4].try_into().unwrap_or_default());
    if sizeof_hdr_le == 540 || sizeof_hdr_be == 540 {
        return Err(ScanError::unsupported(path, "NIfTI-2 files (sizeof_hdr 540); save it as NIfTI-1"));
    }
    if sizeof_hdr_le != 348 && sizeof_hdr_be != 348 {
        return Err(ScanError::malformed(path, "not a NIfTI-1 file (sizeof_hdr is not 348)"));
    }
    let header = NiftiHeader::from_reader(&bytes[..])
        .map_err(|e| ScanError::malformed(path, format!("not a valid NIfTI-1 header ({e})")))?;
    if &header.magic == b"ni1\0" {
        return Err(ScanError::unsupported(path, "a .hdr/.img pair (magic ni1); convert it to a single .nii"));
    }
    let big_endian = header.endianness == nifti::Endianness::Big;

    let dims = checked_dims(path, &header)?;
    let datatype = DataType::from_code(header.datatype).ok_or_else(|| {
        ScanError::unsupported(path, format!("datatype {} (Vasa reads integer and float scalars)", header.datatype))
    })?;
    if header.bitpix as usize != datatype.size() * 8 {
        return Err(ScanError::malformed(
            path,
            format!(
                "bitpix {} does not match datatype {} ({} bits)",
                header.bitpix,
                datatype.name(),
                datatype.size() * 8
            ),
        ));
    }
    let (geometry, transform, mut warnings) =
        geometry_of_header(&header).map_err(|reason| ScanError::Geometry { path: path.into(), reason })?;

    let slope = header.scl_slope as f64;
    let inter = header.scl_inter as f64;
    // The standard: slope 0 means "no scaling".
    let scaling = if slope != 0.0 && slope.is_finite() && inter.is_finite() {
        (slope, inter)
    } else {
        if slope != 0.0 {
            warnings.push(format!("ignoring non-finite scl_slope/scl_inter ({slope}, {inter})"));
        }
        (1.0, 0.0)
    };

    let vox_offset = header.vox_offset;
    if !(vox_offset.is_finite() && (HEADER_SIZE as f32..=MAX_VOX_OFFSET).contains(&vox_offset)) {
        return Err(ScanError::malformed(path, format!("vox_offset {vox_offset} is not a valid data offset")));
    }
    let skip = vox_offset as u64 - HEADER_SIZE as u64;
    let skipped = std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
        .map_err(|e| read_error(path, "header extensions", e))?;
    if skipped != skip {
        return Err(ScanError::Truncated { path: path.into(), what: "header extensions before vox_offset".into() });
    }

    let description = String::from_utf8_lossy(&header.descrip).trim_end_matches('\0').trim().to_string();
    let info = NiftiInfo { dims, datatype, scaling, transform, compressed, big_endian, description, warnings };
    Ok(Opened { reader, info, geometry })
}

/// Image dimensions from `dim[]`, refusing 4-D data with several volumes and
/// zero or negative sizes.
fn checked_dims(path: &Path, h: &NiftiHeader) -> Result<[usize; 3]> {
    // The crate stores dim as u16; the format says i16, so >32767 is negative.
    let ndim = h.dim[0] as usize;
    if !(1..=7).contains(&ndim) {
        return Err(ScanError::malformed(path, format!("dim[0] = {} (must be 1..7)", h.dim[0] as i16)));
    }
    let mut dims = [1usize; 3];
    for a in 1..=ndim {
        let d = h.dim[a] as i16;
        if d <= 0 {
            return Err(ScanError::malformed(path, format!("dim[{a}] = {d} (must be positive)")));
        }
        if a <= 3 {
            dims[a - 1] = d as usize;
        } else if d > 1 {
            return Err(ScanError::unsupported(
                path,
                format!("{ndim}-D image with {d} entries along dimension {a}; Vasa opens single 3-D volumes"),
            ));
        }
    }
    Ok(dims)
}

fn read_error(path: &Path, what: &str, e: std::io::Error) -> ScanError {
    // A corrupt gzip stream surfaces as InvalidInput/InvalidData from flate2.
    match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
            ScanError::malformed(path, format!("corrupt compressed data while reading {what} ({e})"))
        }
        _ => ScanError::from_read(path, what, e),
    }
}

/// Reads `path` as a volume of `T`, applying `scl_slope`/`scl_inter`.
///
/// Values `T` cannot represent are an error for strict types (labels) and are
/// saturated and reported in the warnings otherwise (images).
pub fn read<T: NiftiVoxel>(path: &Path) -> Result<(Volume<T>, NiftiInfo)> {
    let Opened { mut reader, info, geometry, .. } = open(path)?;
    let dims64 = info.dims.map(|d| d as u64);
    let in_size = info.datatype.size();
    let out_size = std::mem::size_of::<T>();
    // Direct path: bytes on disk are already T's native-endian values.
    let direct = info.datatype == T::DATATYPE && info.scaling == (1.0, 0.0);
    let n = checked_voxel_count(path, &dims64, if direct { out_size } else { in_size + out_size } as u64)?;
    let mut info = info;
    let data: Vec<T> = if direct {
        let mut data = vec![T::zeroed(); n];
        reader
            .read_exact(bytemuck::cast_slice_mut(&mut data))
            .map_err(|e| read_error(path, &format!("{n} voxels of image data"), e))?;
        if info.big_endian != cfg!(target_endian = "big") && in_size > 1 {
            swap_bytes_in_place(bytemuck::cast_slice_mut(&mut data), in_size);
        }
        data
    } else {
        let mut raw = vec![0u8; n * in_size];
        reader.read_exact(&mut raw).map_err(|e| read_error(path, &format!("{n} voxels of image data"), e))?;
        convert(path, &raw, &mut info)?
    };
    let volume = Volume::from_vec(info.dims, data, geometry).map_err(|e| ScanError::malformed(path, e.to_string()))?;
    Ok((volume, info))
}

/// Converts raw stored values into `T`, in parallel.
fn convert<T: NiftiVoxel>(path: &Path, raw: &[u8], info: &mut NiftiInfo) -> Result<Vec<T>> {
    const CHUNK: usize = 1 << 16;
    let dt = info.datatype;
    let size = dt.size();
    let (slope, inter) = info.scaling;
    let be = info.big_endian;
    let n = raw.len() / size;
    let mut out = vec![T::zeroed(); n];
    // Per chunk: number of unrepresentable values and the first one seen.
    let bad: Vec<(usize, Option<(usize, f64)>)> = out
        .par_chunks_mut(CHUNK)
        .zip(raw.par_chunks(CHUNK * size))
        .enumerate()
        .map(|(c, (o, r))| {
            let mut count = 0;
            let mut first = None;
            for (i, (dst, src)) in o.iter_mut().zip(r.chunks_exact(size)).enumerate() {
                let v = dt.decode(src, be) * slope + inter;
                *dst = match T::from_scaled(v) {
                    Some(x) => x,
                    None => {
                        count += 1;
                        first.get_or_insert((c * CHUNK + i, v));
                        T::saturate(v)
                    }
                };
            }
            (count, first)
        })
        .collect();
    let count: usize = bad.iter().map(|b| b.0).sum();
    if count > 0 {
        let (idx, v) = bad.iter().find_map(|b| b.1).unwrap_or((0, f64::NAN));
        let [nx, ny, _] = info.dims;
        let at = (idx % nx, (idx / nx) % ny, idx / (nx * ny));
        if T::STRICT {
            return Err(ScanError::malformed(
                path,
                format!("{count} voxels are not valid label values 0..255 (first: {v} at voxel {at:?})"),
            ));
        }
        info.warnings.push(format!(
            "{count} voxels were outside the representable range and were clamped (first: {v} at voxel {at:?})"
        ));
    }
    Ok(out)
}

fn swap_bytes_in_place(bytes: &mut [u8], size: usize) {
    bytes.par_chunks_mut(1 << 20).for_each(|c| c.chunks_exact_mut(size).for_each(|v| v.reverse()));
}
