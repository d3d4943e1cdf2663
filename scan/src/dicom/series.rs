//! From a series' frames to a volume: orientation, slice order along the
//! normal, spacing from positions, and the repairs that keep the geometry
//! honest — dropping duplicate slices, resampling irregular spacing (missing
//! slices) to a regular grid, and resampling gantry-tilted stacks onto an
//! orthogonal grid. Every repair is reported in the warnings.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use glam::{DMat3, DVec3};
use rayon::prelude::*;

use super::decode::{FrameJob, decode_file};
use super::metadata::SourceSlice;
use super::types::{FrameHeader, LoadedSeries, PixelFormat, SeriesInfo};
use crate::error::{Result, ScanError};
use crate::geometry::Geometry;
use crate::memory::checked_voxel_count;
use crate::volume::Volume;

/// Slices closer than this along the normal (mm) are duplicates.
const DUPLICATE_TOLERANCE_MM: f64 = 0.01;
/// A step deviating from the median by more than this fraction is irregular.
const IRREGULAR_FRACTION: f64 = 0.10;
/// More than this many output slices is not a plausible stack.
const MAX_SLICES: f64 = 100_000.0;

/// How the k axis of the output relates to the decoded slices.
#[derive(Debug, Clone, PartialEq)]
enum KGrid {
    /// One output slice per decoded slice, `dz` apart.
    Regular { dz: f64 },
    /// `nz` output slices `dz` apart, interpolated between decoded slices.
    Resample { dz: f64, nz: usize },
}

/// The geometry of a stack, decided from headers before any pixel is read.
#[derive(Debug, Clone)]
struct Plan {
    /// Indices into `SeriesInfo::frames`, in output order (duplicates dropped).
    order: Vec<usize>,
    /// Position of each ordered slice along the normal (mm).
    positions: Vec<f64>,
    /// In-plane offset of each slice from the first (mm along i, mm along j),
    /// when the stack is tilted.
    shifts: Option<Vec<[f64; 2]>>,
    /// Direction cosines: i (row), j (column), k (normal).
    direction: DMat3,
    /// Voxel size along i and j (mm).
    pixel_spacing: [f64; 2],
    /// Patient position of voxel (0, 0, 0).
    origin: DVec3,
    k: KGrid,
}

pub(crate) fn load(
    series: &SeriesInfo,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<LoadedSeries> {
    let Some(first) = series.frames.first() else {
        return Err(ScanError::NothingToLoad {
            path: series.files.first().cloned().unwrap_or_default(),
            reason: "the series has no frames".into(),
        });
    };
    let first_path: &Path = &first.path;
    if let Some(p) = &series.problem {
        let culprit = series
            .frames
            .iter()
            .find(|f| super::decode::transfer_syntax_problem(&f.transfer_syntax).is_some())
            .map(|f| f.path.to_path_buf())
            .unwrap_or_else(|| first_path.to_path_buf());
        return Err(ScanError::unsupported(culprit, p.clone()));
    }
    for f in &series.frames {
        if let Some(p) = super::decode::transfer_syntax_problem(&f.transfer_syntax) {
            return Err(ScanError::unsupported(f.path.to_path_buf(), p));
        }
    }
    let mut warnings = Vec::new();
    let plan = plan(&series.frames, &mut warnings)?;

    let (cols, rows) = (series.cols as usize, series.rows as usize);
    let n = plan.order.len();
    let slice_len = rows * cols;
    let count = checked_voxel_count(first_path, &[cols as u64, rows as u64, n as u64], 2)?;
    if let KGrid::Resample { nz, .. } = plan.k {
        checked_voxel_count(first_path, &[cols as u64, rows as u64, nz as u64], 2)?;
    }
    check_native_sizes(series)?;
    let mut raw = vec![0i16; count];

    // Group the frames by file so that each file is read once.
    struct FileWork<'a> {
        path: Arc<Path>,
        ts: Arc<str>,
        format: PixelFormat,
        jobs: Vec<FrameJob<'a>>,
    }
    let mut files: Vec<FileWork> = Vec::new();
    let mut by_path: HashMap<Arc<Path>, usize> = HashMap::new();
    for ((k, &fi), out) in plan.order.iter().enumerate().zip(raw.chunks_mut(slice_len.max(1))) {
        let fr: &FrameHeader = &series.frames[fi];
        let idx = *by_path.entry(fr.path.clone()).or_insert_with(|| {
            files.push(FileWork {
                path: fr.path.clone(),
                ts: fr.transfer_syntax.clone(),
                format: fr.format,
                jobs: Vec::new(),
            });
            files.len() - 1
        });
        files[idx].jobs.push(FrameJob { frame: fr.frame, slice: k, out, rescale: fr.rescale });
    }
    let done = AtomicUsize::new(0);
    let on_frame = || {
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        progress(d, n);
    };
    let cancelled = || cancel.load(Ordering::Relaxed);
    let result: Result<u64> = files
        .into_par_iter()
        .map(|w| decode_file(&w.path, &w.ts, &w.format, w.jobs, &on_frame, &cancelled))
        .try_reduce(|| 0, |a, b| Ok(a + b));
    if cancel.load(Ordering::Relaxed) {
        return Err(ScanError::Cancelled);
    }
    let clipped = result?;
    if clipped > 0 {
        warnings.push(format!(
            "{clipped} voxels fell outside the 16-bit range after RescaleSlope/RescaleIntercept and were clamped to [-32768, 32767]"
        ));
    }
    if series.frames.iter().any(|f| f.format.monochrome1) {
        warnings.push(
            "PhotometricInterpretation is MONOCHROME1 (low values shown white); values are kept as modality values (HU), \
             so the volume displays with the usual polarity"
                .into(),
        );
    }

    if let Some(shifts) = &plan.shifts {
        let pad = raw.par_iter().copied().min().unwrap_or(0);
        shift_slices(&mut raw, cols, rows, plan.pixel_spacing, shifts, pad);
    }
    let (data, nz, dz) = match plan.k {
        KGrid::Regular { dz } => (raw, n, dz),
        KGrid::Resample { dz, nz } => (resample_k(&raw, slice_len, &plan.positions, dz, nz), nz, dz),
    };
    let geometry = Geometry {
        spacing: DVec3::new(plan.pixel_spacing[0], plan.pixel_spacing[1], dz),
        origin: plan.origin,
        direction: plan.direction,
    };
    geometry.validate().map_err(|reason| ScanError::Geometry { path: first_path.to_path_buf(), reason })?;
    let volume = Volume::from_vec([cols, rows, nz], data, geometry)
        .map_err(|e| ScanError::malformed(first_path, e.to_string()))?;
    for w in &warnings {
        tracing::warn!("{}: {w}", first_path.display());
    }
    let mut metadata = series.metadata.clone();
    metadata.slices = plan
        .order
        .iter()
        .map(|&i| {
            let f = &series.frames[i];
            SourceSlice {
                sop_instance_uid: f.sop_instance_uid.to_string(),
                sop_class_uid: f.sop_class_uid.to_string(),
                frame_number: f.frame + 1,
            }
        })
        .collect();
    Ok(LoadedSeries { volume, metadata, warnings })
}

/// Refuses native files too short for the frames their header announces,
/// before the volume is allocated (a corrupt header cannot make us allocate
/// for pixels that are not there).
fn check_native_sizes(series: &SeriesInfo) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for f in &series.frames {
        if !super::decode::is_native(&f.transfer_syntax) || !seen.insert(f.path.clone()) {
            continue;
        }
        let fmt = &f.format;
        let need = (fmt.rows as u64 * fmt.cols as u64)
            .saturating_mul(fmt.bits_allocated as u64 / 8)
            .saturating_mul(fmt.frames_in_file as u64);
        let len = std::fs::metadata(&f.path).map_err(|e| ScanError::io(f.path.to_path_buf(), e))?.len();
        if len < need {
            return Err(ScanError::Truncated {
                path: f.path.to_path_buf(),
                what: format!(
                    "PixelData (7FE0,0010) needs {need} bytes for {} frame(s) of {}×{} but the file has only {len} bytes",
                    fmt.frames_in_file, fmt.cols, fmt.rows
                ),
            });
        }
    }
    Ok(())
}

/// Row and column cosines made exactly orthonormal, or an error when they are
/// too far from it to be a rounding artefact.
fn orthonormal_axes(o: [f64; 6], path: &Path, warnings: &mut Vec<String>) -> Result<(DVec3, DVec3)> {
    let r = DVec3::new(o[0], o[1], o[2]);
    let c = DVec3::new(o[3], o[4], o[5]);
    let bad = |why: String| ScanError::Geometry {
        path: path.to_path_buf(),
        reason: format!("ImageOrientationPatient (0020,0037) {o:?}: {why}"),
    };
    if !r.is_finite() || !c.is_finite() {
        return Err(bad("not finite".into()));
    }
    let (lr, lc) = (r.length(), c.length());
    if (lr - 1.0).abs() > 0.05 || (lc - 1.0).abs() > 0.05 {
        return Err(bad(format!("direction cosines are not unit vectors (lengths {lr:.4}, {lc:.4})")));
    }
    let (r, c) = (r / lr, c / lc);
    let dot = r.dot(c);
    if dot.abs() > 0.05 {
        return Err(bad(format!("row and column directions are not perpendicular (cos = {dot:.4})")));
    }
    if dot.abs() > 1e-3 || (lr - 1.0).abs() > 1e-3 || (lc - 1.0).abs() > 1e-3 {
        warnings.push(format!(
            "ImageOrientationPatient {o:?} is not exactly orthonormal (cos = {dot:.4}); it was orthonormalised"
        ));
    }
    let c = (c - r * r.dot(c)).normalize();
    Ok((r, c))
}

/// Patient coordinate (named after the axis the normal mostly follows) of
/// the point at position `s` along the normal, for messages.
fn where_along(origin: DVec3, normal: DVec3, s0: f64, s: f64) -> String {
    let p = origin + normal * (s - s0);
    let a = normal.abs();
    if a.z >= a.x && a.z >= a.y {
        format!("z = {:.2} mm", p.z)
    } else if a.y >= a.x {
        format!("y = {:.2} mm", p.y)
    } else {
        format!("x = {:.2} mm", p.x)
    }
}

/// Decides order, spacing and repairs from the headers.
fn plan(frames: &[FrameHeader], warnings: &mut Vec<String>) -> Result<Plan> {
    let first = &frames[0];
    let path: &Path = &first.path;
    let orientation = match first.orientation {
        Some(o) => o,
        None => {
            warnings.push(
                "ImageOrientationPatient (0020,0037) is missing; assuming axial slices (1\\0\\0\\0\\1\\0)".into(),
            );
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        }
    };
    let (row, col) = orthonormal_axes(orientation, path, warnings)?;
    let normal = row.cross(col).normalize();

    let pixel_spacing = match first.pixel_spacing {
        Some([between_rows, between_cols]) => {
            for (v, what) in [(between_rows, "row spacing"), (between_cols, "column spacing")] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(ScanError::Geometry {
                        path: path.to_path_buf(),
                        reason: format!("PixelSpacing (0028,0030) {what} is {v} mm (must be finite and > 0)"),
                    });
                }
            }
            if let Some(other) = frames.iter().find(|f| {
                f.pixel_spacing
                    .is_some_and(|p| (p[0] - between_rows).abs() > 1e-3 || (p[1] - between_cols).abs() > 1e-3)
            }) {
                warnings.push(format!(
                    "PixelSpacing differs between slices ({:?} in {}, {:?} in {}); using the first",
                    first.pixel_spacing.unwrap_or_default(),
                    path.display(),
                    other.pixel_spacing.unwrap_or_default(),
                    other.path.display()
                ));
            }
            // PixelSpacing[0] is between rows (along j), [1] between columns (along i).
            [between_cols, between_rows]
        }
        None => {
            warnings.push("PixelSpacing (0028,0030) is missing; assuming 1 mm pixels".into());
            [1.0, 1.0]
        }
    };

    let thickness = first.slice_thickness.filter(|t| t.is_finite() && *t > 0.0);
    let all_positioned = frames.iter().all(|f| f.position.is_some());

    // Order the frames along the normal (or by instance number without positions).
    let mut idx: Vec<usize> = (0..frames.len()).collect();
    let mut pos: Vec<DVec3>;
    if all_positioned {
        let s = |i: usize| frames[i].position.unwrap_or_default().dot(normal);
        idx.sort_by(|&a, &b| {
            s(a).total_cmp(&s(b))
                .then(frames[a].instance_number.cmp(&frames[b].instance_number))
                .then(frames[a].path.cmp(&frames[b].path))
                .then(frames[a].frame.cmp(&frames[b].frame))
        });
        pos = idx.iter().map(|&i| frames[i].position.unwrap_or_default()).collect();
    } else {
        idx.sort_by(|&a, &b| {
            frames[a]
                .instance_number
                .cmp(&frames[b].instance_number)
                .then(frames[a].path.cmp(&frames[b].path))
                .then(frames[a].frame.cmp(&frames[b].frame))
        });
        let step = first.spacing_between_slices.filter(|t| t.is_finite() && *t > 0.0).or(thickness).unwrap_or(1.0);
        let p0 = frames.iter().find_map(|f| f.position).unwrap_or_default();
        pos = (0..frames.len()).map(|k| p0 + normal * (k as f64 * step)).collect();
        if frames.len() > 1 {
            let missing = frames.iter().filter(|f| f.position.is_none()).count();
            warnings.push(format!(
                "ImagePositionPatient (0020,0032) is missing for {missing} of {} slices; slices are ordered by \
                 InstanceNumber/frame number and placed {step} mm apart (from SpacingBetweenSlices or SliceThickness)",
                frames.len()
            ));
        }
    }

    // Drop duplicate positions.
    let mut keep_idx = Vec::with_capacity(idx.len());
    let mut keep_pos: Vec<DVec3> = Vec::with_capacity(idx.len());
    let mut dups: Vec<(usize, usize)> = Vec::new();
    for (&i, &p) in idx.iter().zip(&pos) {
        if let (Some(&last_i), Some(&last_p)) = (keep_idx.last(), keep_pos.last())
            && ((p - last_p).dot(normal)).abs() < DUPLICATE_TOLERANCE_MM
        {
            dups.push((i, last_i));
            continue;
        }
        keep_idx.push(i);
        keep_pos.push(p);
    }
    if !dups.is_empty() {
        let (d, k) = dups[0];
        let describe = |i: usize| {
            let f = &frames[i];
            let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if f.format.frames_in_file > 1 { format!("{name} frame {}", f.frame + 1) } else { name }
        };
        warnings.push(format!(
            "{} slice{} had the same position as another slice and {} dropped (e.g. {} duplicates {} at {})",
            dups.len(),
            if dups.len() == 1 { "" } else { "s" },
            if dups.len() == 1 { "was" } else { "were" },
            describe(d),
            describe(k),
            where_along(
                keep_pos[0],
                normal,
                keep_pos[0].dot(normal),
                frames[k].position.unwrap_or(keep_pos[0]).dot(normal)
            ),
        ));
    }
    let idx = keep_idx;
    pos = keep_pos;
    let p0 = pos[0];
    let s: Vec<f64> = pos.iter().map(|p| p.dot(normal)).collect();
    let s0 = s[0];

    // Spacing along k.
    let k = if s.len() == 1 {
        let dz = thickness.unwrap_or(1.0);
        warnings.push(format!(
            "the series has a single slice; its thickness along k is taken as {dz} mm ({})",
            if thickness.is_some() { "SliceThickness" } else { "SliceThickness missing, assumed" }
        ));
        KGrid::Regular { dz }
    } else {
        let steps: Vec<f64> = s.windows(2).map(|w| w[1] - w[0]).collect();
        let mut sorted = steps.clone();
        sorted.sort_by(f64::total_cmp);
        let m = sorted[sorted.len() / 2];
        if !(m.is_finite() && m > 0.0) {
            return Err(ScanError::Geometry {
                path: path.to_path_buf(),
                reason: format!("slice positions do not give a usable spacing (median step {m} mm)"),
            });
        }
        let irregular: Vec<usize> =
            (0..steps.len()).filter(|&k| (steps[k] - m).abs() > IRREGULAR_FRACTION * m).collect();
        if irregular.is_empty() {
            KGrid::Regular { dz: m }
        } else {
            let span = s[s.len() - 1] - s0;
            let nz_f = (span / m).round() + 1.0;
            if !(nz_f.is_finite() && nz_f <= MAX_SLICES) {
                return Err(ScanError::Geometry {
                    path: path.to_path_buf(),
                    reason: format!(
                        "slice positions span {span:.1} mm at a median step of {m:.3} mm: {nz_f} slices is not a plausible stack"
                    ),
                });
            }
            let nz = nz_f as usize;
            let mut parts: Vec<String> = irregular
                .iter()
                .take(5)
                .map(|&k| {
                    let d = steps[k];
                    let missing = (d / m).round() as i64 - 1;
                    let note = if missing >= 1 {
                        format!(" (about {missing} slice{} missing)", if missing == 1 { "" } else { "s" })
                    } else {
                        String::new()
                    };
                    format!(
                        "between {} and {} the step is {d:.2} mm{note}",
                        where_along(p0, normal, s0, s[k]),
                        where_along(p0, normal, s0, s[k + 1])
                    )
                })
                .collect();
            if irregular.len() > 5 {
                parts.push(format!("and {} more", irregular.len() - 5));
            }
            warnings.push(format!(
                "irregular slice spacing (median step {m:.2} mm, {} of {} steps deviate by more than 10 %): {}. \
                 Resampled from {} to {nz} slices at {m:.2} mm by linear interpolation between neighbouring slices; \
                 voxels in those ranges are interpolated, not measured",
                irregular.len(),
                steps.len(),
                parts.join("; "),
                s.len()
            ));
            KGrid::Resample { dz: m, nz }
        }
    };

    // Gantry tilt: positions drifting in-plane from slice to slice.
    let offsets: Vec<[f64; 2]> = pos
        .iter()
        .map(|p| {
            let d = *p - p0;
            let inplane = d - normal * d.dot(normal);
            [inplane.dot(row), inplane.dot(col)]
        })
        .collect();
    let max_off = offsets.iter().map(|o| o[0].hypot(o[1])).fold(0.0, f64::max);
    let tol = (0.05 * pixel_spacing[0].min(pixel_spacing[1])).max(1e-3);
    let shifts = if max_off > tol {
        let fov = (pixel_spacing[0] * first.format.cols as f64).min(pixel_spacing[1] * first.format.rows as f64);
        if max_off > 0.5 * fov {
            return Err(ScanError::Geometry {
                path: path.to_path_buf(),
                reason: format!(
                    "slice positions move {max_off:.1} mm sideways within the stack (field of view {fov:.1} mm): \
                     these slices do not form one volume"
                ),
            });
        }
        let last = offsets[offsets.len() - 1];
        let span = s[s.len() - 1] - s0;
        let angle = if span > 0.0 { last[0].hypot(last[1]).atan2(span).to_degrees() } else { 0.0 };
        warnings.push(format!(
            "gantry tilt or sheared stack: slice positions drift {max_off:.2} mm in-plane over {span:.1} mm (about {angle:.1}°); \
             each slice was resampled in-plane (bilinear) onto an orthogonal grid, and voxels shifted in from outside \
             the scanned field were filled with the lowest value"
        ));
        Some(offsets)
    } else {
        None
    };

    Ok(Plan {
        order: idx,
        positions: s,
        shifts,
        direction: DMat3::from_cols(row, col, normal),
        pixel_spacing,
        origin: p0,
        k,
    })
}

/// Moves each slice by its in-plane offset so that voxel (i, j) of every
/// slice lies on the line through voxel (i, j) of the first slice along the
/// normal (bilinear interpolation; `pad` outside the slice).
fn shift_slices(data: &mut [i16], cols: usize, rows: usize, spacing: [f64; 2], shifts: &[[f64; 2]], pad: i16) {
    let slice_len = cols * rows;
    if slice_len == 0 {
        return;
    }
    data.par_chunks_mut(slice_len).zip(shifts.par_iter()).for_each(|(slice, sh)| {
        // Output voxel (i, j) samples input (i + ox, j + oy).
        let ox = -sh[0] / spacing[0];
        let oy = -sh[1] / spacing[1];
        if ox.abs() < 1e-6 && oy.abs() < 1e-6 {
            return;
        }
        let src = slice.to_vec();
        let (fx0, fy0) = (ox.floor(), oy.floor());
        let (fx, fy) = (ox - fx0, oy - fy0);
        let (dx, dy) = (fx0 as i64, fy0 as i64);
        let get = |i: i64, j: i64| -> f64 {
            if i < 0 || j < 0 || i >= cols as i64 || j >= rows as i64 {
                pad as f64
            } else {
                src[j as usize * cols + i as usize] as f64
            }
        };
        for j in 0..rows {
            let jj = j as i64 + dy;
            for i in 0..cols {
                let ii = i as i64 + dx;
                let v = (1.0 - fy) * ((1.0 - fx) * get(ii, jj) + fx * get(ii + 1, jj))
                    + fy * ((1.0 - fx) * get(ii, jj + 1) + fx * get(ii + 1, jj + 1));
                slice[j * cols + i] = v.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16;
            }
        }
    });
}

/// Linear interpolation along k from slices at `positions` (ascending) onto
/// `nz` slices `dz` apart starting at `positions[0]`.
fn resample_k(data: &[i16], slice_len: usize, positions: &[f64], dz: f64, nz: usize) -> Vec<i16> {
    let mut out = vec![0i16; slice_len * nz];
    if slice_len == 0 {
        return out;
    }
    let s0 = positions[0];
    let last = positions.len() - 1;
    out.par_chunks_mut(slice_len).enumerate().for_each(|(t, dst)| {
        let z = s0 + t as f64 * dz;
        // First slice strictly above z, minus one: the slice at or below z.
        let a = positions.partition_point(|&p| p <= z).saturating_sub(1).min(last);
        let b = (a + 1).min(last);
        let w = if b > a { ((z - positions[a]) / (positions[b] - positions[a])).clamp(0.0, 1.0) } else { 0.0 };
        let sa = &data[a * slice_len..(a + 1) * slice_len];
        let sb = &data[b * slice_len..(b + 1) * slice_len];
        if w < 1e-9 {
            dst.copy_from_slice(sa);
        } else if w > 1.0 - 1e-9 {
            dst.copy_from_slice(sb);
        } else {
            let w = w as f32;
            for ((o, &x), &y) in dst.iter_mut().zip(sa).zip(sb) {
                *o = (x as f32 + w * (y as f32 - x as f32)).round() as i16;
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resample_k_interpolates_linearly() {
        // Slices at 0, 1, 3 (one missing at 2): values 0, 10, 30.
        let data = vec![0i16, 10, 30];
        let out = resample_k(&data, 1, &[0.0, 1.0, 3.0], 1.0, 4);
        assert_eq!(out, vec![0, 10, 20, 30]);
    }

    #[test]
    fn shift_moves_content_by_whole_and_half_pixels() {
        let mut data: Vec<i16> = vec![0, 10, 20, 30, /* slice 2 */ 0, 10, 20, 30];
        shift_slices(&mut data, 4, 1, [1.0, 1.0], &[[0.0, 0.0], [-1.0, 0.0]], -5);
        assert_eq!(&data[4..], &[10, 20, 30, -5]);
        let mut data: Vec<i16> = vec![0, 10, 20, 30];
        shift_slices(&mut data, 4, 1, [2.0, 1.0], &[[1.0, 0.0]], 0);
        assert_eq!(data, vec![0, 5, 15, 25]);
    }
}
