//! Refuse volumes too large to hold before allocating them.
//!
//! Headers are untrusted: a hostile or corrupt file can claim 65535³ voxels.
//! Every loader computes the byte count with checked arithmetic and compares
//! it with [`allocation_limit`] before it allocates anything.

use std::path::Path;

use crate::error::{Result, ScanError};

/// Largest single volume (in bytes) a loader may allocate: 80 % of the memory
/// the system reports as available, or 4 GiB when that cannot be read.
/// `VASA_MAX_VOLUME_BYTES` overrides it (useful in tests).
pub fn allocation_limit() -> u64 {
    if let Some(v) = std::env::var("VASA_MAX_VOLUME_BYTES").ok().and_then(|s| s.parse::<u64>().ok()) {
        return v;
    }
    available_memory().map(|m| m / 10 * 8).unwrap_or(4 << 30)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes, where the system has it.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Number of voxels of `dims`, checked against overflow and against the
/// allocation limit for `bytes_per_voxel` bytes each.
pub fn checked_voxel_count(path: &Path, dims: &[u64], bytes_per_voxel: u64) -> Result<usize> {
    let limit = allocation_limit();
    let voxels = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let bytes = voxels.and_then(|v| v.checked_mul(bytes_per_voxel));
    match (voxels, bytes) {
        (Some(v), Some(b)) if b <= limit && usize::try_from(v).is_ok() => Ok(v as usize),
        _ => Err(ScanError::TooLarge {
            path: path.to_path_buf(),
            dims: dims.to_vec(),
            bytes: bytes.unwrap_or(u64::MAX),
            limit,
        }),
    }
}
