//! Folder scan and series grouping: read every file's header (in parallel,
//! stopping before PixelData), skip what is not a DICOM image, and group
//! frames into series by SeriesInstanceUID, orientation and matrix size.

use std::fs;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::OpenFileOptions;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use rayon::prelude::*;

use super::error::error_chain;
use super::metadata::{StudyMetadata, int, sop_class_name, tag_name, text};
use super::multiframe;
use super::types::{DicomIndex, FrameHeader, PixelFormat, SeriesInfo, SkippedFile};
use crate::error::{Result, ScanError};
use crate::memory::checked_voxel_count;

/// Orientations whose direction cosines differ by less than this are one stack.
const ORIENTATION_TOLERANCE: f64 = 1e-3;

/// Headers of one image file.
struct ParsedFile {
    path: PathBuf,
    uid: String,
    metadata: StudyMetadata,
    frames: Vec<FrameHeader>,
    problem: Option<String>,
}

pub(crate) fn scan(root: &Path) -> Result<DicomIndex> {
    let meta = fs::metadata(root).map_err(|e| ScanError::io(root, e))?;
    let mut skipped = Vec::new();
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        collect_files(root, &mut files, &mut skipped, 0);
        files.sort();
        files
    } else {
        vec![root.to_path_buf()]
    };
    if files.is_empty() {
        let reason = if skipped.is_empty() {
            "the folder is empty: no files to load".to_string()
        } else {
            format!("no readable files; {}", skipped_summary(&skipped))
        };
        return Err(ScanError::NothingToLoad { path: root.to_path_buf(), reason });
    }

    let parsed: Vec<std::result::Result<ParsedFile, SkippedFile>> = files
        .par_iter()
        .map(|p| {
            let r = catch_unwind(AssertUnwindSafe(|| read_header(p)))
                .unwrap_or_else(|_| Err("the DICOM parser crashed on this file".to_string()));
            r.map_err(|reason| SkippedFile { path: p.clone(), reason })
        })
        .collect();

    let mut images = Vec::new();
    for r in parsed {
        match r {
            Ok(f) => images.push(f),
            Err(s) => skipped.push(s),
        }
    }
    let series = group(images);
    if series.is_empty() {
        let reason = if files.len() == 1 && !meta.is_dir() {
            format!("not a loadable DICOM image: {}", skipped.first().map(|s| s.reason.as_str()).unwrap_or("unknown"))
        } else {
            format!("no DICOM image files among {} files; {}", files.len(), skipped_summary(&skipped))
        };
        return Err(ScanError::NothingToLoad { path: root.to_path_buf(), reason });
    }
    Ok(DicomIndex { root: root.to_path_buf(), series, skipped })
}

/// "3 files skipped: a: why; b: why; ..." (at most three reasons spelled out).
pub(crate) fn skipped_summary(skipped: &[SkippedFile]) -> String {
    let mut s = format!("{} file{} skipped", skipped.len(), if skipped.len() == 1 { "" } else { "s" });
    for (n, f) in skipped.iter().take(3).enumerate() {
        let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        s.push_str(if n == 0 { ": " } else { "; " });
        s.push_str(&format!("{name}: {}", f.reason));
    }
    if skipped.len() > 3 {
        s.push_str("; ...");
    }
    s
}

/// Regular files below `dir`, recursively. Symbolic links to folders are not
/// followed (no loops); unreadable folders are reported as skipped.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, skipped: &mut Vec<SkippedFile>, depth: usize) {
    if depth > 64 {
        skipped.push(SkippedFile { path: dir.to_path_buf(), reason: "folder nested too deeply".into() });
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            skipped.push(SkippedFile { path: dir.to_path_buf(), reason: format!("cannot read folder: {e}") });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            collect_files(&path, out, skipped, depth + 1);
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
}

/// Reads the header of one file; `Err` is the reason to skip it.
fn read_header(path: &Path) -> std::result::Result<ParsedFile, String> {
    let mut head = [0u8; 132];
    let file_len = {
        let mut f = fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => return Err(format!("cannot read: {e}")),
            }
        }
        if n < 132 && !head.starts_with(b"DICM") {
            return Err(format!("not DICOM: only {n} bytes long (no DICM preamble)"));
        }
        if &head[128..132] != b"DICM" && !head.starts_with(b"DICM") {
            return Err("not DICOM: no DICM marker after the 128-byte preamble".into());
        }
        len
    };

    let obj = OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(path).map_err(|e| {
        let mut reason = format!("cannot parse DICOM header: {}", error_chain(&e));
        // Name the transfer syntax when it is the culprit.
        if let Some(ts) = read_meta_transfer_syntax(path)
            && TransferSyntaxRegistry.get(&ts).is_none()
        {
            reason = format!("unsupported transfer syntax {ts} (unknown to this reader)");
        }
        reason
    })?;
    let ts: Arc<str> = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']).into();
    let sop_class = obj.meta().media_storage_sop_class_uid().trim_end_matches(['\0', ' ']).to_string();

    let rows = int(&obj, tags::ROWS)?;
    let cols = int(&obj, tags::COLUMNS)?;
    let (Some(rows), Some(cols)) = (rows, cols) else {
        return Err(match sop_class_name(&sop_class) {
            Some(name) => format!("no image pixels: {name} object (SOP class {sop_class})"),
            None => format!("no image pixels: no Rows/Columns (SOP class {sop_class})"),
        });
    };
    if obj.get(tags::FLOAT_PIXEL_DATA).is_some() || obj.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some() {
        return Err("floating-point pixel data (FloatPixelData) is not supported".into());
    }
    let bad = |tag, v: i64| format!("{} is {v}, outside 1..=65535", tag_name(tag));
    if !(1..=65535).contains(&rows) {
        return Err(bad(tags::ROWS, rows));
    }
    if !(1..=65535).contains(&cols) {
        return Err(bad(tags::COLUMNS, cols));
    }
    let bits_allocated =
        int(&obj, tags::BITS_ALLOCATED)?.ok_or_else(|| format!("{} is missing", tag_name(tags::BITS_ALLOCATED)))?;
    let bits_stored = int(&obj, tags::BITS_STORED)?.unwrap_or(bits_allocated);
    let high_bit = int(&obj, tags::HIGH_BIT)?.unwrap_or(bits_stored.saturating_sub(1));
    let pixel_rep = int(&obj, tags::PIXEL_REPRESENTATION)?.unwrap_or(0);
    let samples = int(&obj, tags::SAMPLES_PER_PIXEL)?.unwrap_or(1);
    let photometric = text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".into());
    let frames_in_file = int(&obj, tags::NUMBER_OF_FRAMES)?.unwrap_or(1);

    let mut problem = None;
    if samples != 1 || !photometric.starts_with("MONOCHROME") {
        problem = Some(format!(
            "colour or palette images are not supported (PhotometricInterpretation {photometric}, {samples} samples per pixel)"
        ));
    } else if ![8, 16, 32].contains(&bits_allocated) {
        problem = Some(format!("{} = {bits_allocated} is not supported (8, 16 or 32)", tag_name(tags::BITS_ALLOCATED)));
    } else if bits_stored < 1
        || bits_stored > bits_allocated
        || high_bit < bits_stored.saturating_sub(1)
        || high_bit >= bits_allocated
    {
        problem = Some(format!(
            "inconsistent bit layout: BitsAllocated {bits_allocated}, BitsStored {bits_stored}, HighBit {high_bit}"
        ));
    } else if pixel_rep != 0 && pixel_rep != 1 {
        problem = Some(format!("{} = {pixel_rep} (must be 0 or 1)", tag_name(tags::PIXEL_REPRESENTATION)));
    }
    if problem.is_none() {
        problem = super::decode::transfer_syntax_problem(&ts);
    }
    if frames_in_file < 1 || frames_in_file > u32::MAX as i64 {
        return Err(format!("{} is {frames_in_file}", tag_name(tags::NUMBER_OF_FRAMES)));
    }
    // Each frame needs at least one byte of the file: refuse absurd counts
    // before allocating per-frame records.
    if frames_in_file as u64 > file_len.max(1) {
        return Err(format!(
            "{} is {frames_in_file} but the file has only {file_len} bytes",
            tag_name(tags::NUMBER_OF_FRAMES)
        ));
    }
    checked_voxel_count(path, &[cols as u64, rows as u64, frames_in_file as u64], 2).map_err(|e| e.to_string())?;

    let format = PixelFormat {
        rows: rows as u32,
        cols: cols as u32,
        frames_in_file: frames_in_file as u32,
        bits_allocated: bits_allocated.clamp(0, 64) as u16,
        bits_stored: bits_stored.clamp(0, 64) as u16,
        high_bit: high_bit.clamp(0, 64) as u16,
        signed: pixel_rep == 1,
        samples_per_pixel: samples.clamp(0, 64) as u16,
        monochrome1: photometric == "MONOCHROME1",
    };
    let geoms = multiframe::frame_geometry(&obj, frames_in_file as usize)?;
    let instance_number = int(&obj, tags::INSTANCE_NUMBER).ok().flatten();
    // The data set's UIDs, else the file meta's copies of them.
    let meta_uid = |u: &str| u.trim_end_matches(['\0', ' ']).to_string();
    let sop_instance_uid: Arc<str> = text(&obj, tags::SOP_INSTANCE_UID)
        .unwrap_or_else(|| meta_uid(obj.meta().media_storage_sop_instance_uid()))
        .into();
    let sop_class_uid: Arc<str> = text(&obj, tags::SOP_CLASS_UID).unwrap_or(sop_class).into();
    let shared_path: Arc<Path> = Arc::from(path);
    let frames = geoms
        .into_iter()
        .enumerate()
        .map(|(f, g)| FrameHeader {
            path: shared_path.clone(),
            frame: f as u32,
            position: g.position,
            orientation: g.orientation,
            pixel_spacing: g.pixel_spacing,
            slice_thickness: g.slice_thickness,
            spacing_between_slices: g.spacing_between_slices,
            rescale: g.rescale,
            instance_number,
            sop_instance_uid: sop_instance_uid.clone(),
            sop_class_uid: sop_class_uid.clone(),
            format,
            transfer_syntax: ts.clone(),
        })
        .collect();
    Ok(ParsedFile {
        path: path.to_path_buf(),
        uid: text(&obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        metadata: StudyMetadata::from_object(&obj),
        frames,
        problem,
    })
}

/// The TransferSyntaxUID of a file's meta group, for error messages when the
/// data set itself cannot be parsed.
fn read_meta_transfer_syntax(path: &Path) -> Option<String> {
    let mut f = std::io::BufReader::new(fs::File::open(path).ok()?);
    let mut pre = [0u8; 128];
    f.read_exact(&mut pre).ok()?;
    let meta = dicom_object::meta::FileMetaTable::from_reader(&mut f).ok()?;
    Some(meta.transfer_syntax().trim_end_matches(['\0', ' ']).to_string())
}

fn same_orientation(a: Option<[f64; 6]>, b: Option<[f64; 6]>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.iter().zip(&b).all(|(x, y)| (x - y).abs() < ORIENTATION_TOLERANCE),
        _ => false,
    }
}

/// Groups frames into series: same SeriesInstanceUID, same Rows/Columns, same
/// orientation (within [`ORIENTATION_TOLERANCE`]).
fn group(files: Vec<ParsedFile>) -> Vec<SeriesInfo> {
    struct Group {
        uid: String,
        rows: u32,
        cols: u32,
        orientation: Option<[f64; 6]>,
        metadata: StudyMetadata,
        frames: Vec<FrameHeader>,
        files: Vec<PathBuf>,
        problem: Option<String>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for file in files {
        for fr in file.frames {
            let found = groups.iter_mut().find(|g| {
                g.uid == file.uid
                    && g.rows == fr.format.rows
                    && g.cols == fr.format.cols
                    && same_orientation(g.orientation, fr.orientation)
            });
            let g = match found {
                Some(g) => g,
                None => {
                    groups.push(Group {
                        uid: file.uid.clone(),
                        rows: fr.format.rows,
                        cols: fr.format.cols,
                        orientation: fr.orientation,
                        metadata: file.metadata.clone(),
                        frames: Vec::new(),
                        files: Vec::new(),
                        problem: None,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if g.files.last() != Some(&file.path) {
                g.files.push(file.path.clone());
            }
            if g.problem.is_none() {
                g.problem = file.problem.clone();
            }
            g.frames.push(fr);
        }
    }
    let mut series: Vec<SeriesInfo> = groups
        .into_iter()
        .map(|g| SeriesInfo {
            modality: g.metadata.modality.clone().unwrap_or_default(),
            description: g.metadata.series_description.clone().unwrap_or_default(),
            num_frames: g.frames.len(),
            rows: g.rows,
            cols: g.cols,
            files: g.files,
            orientation: g.orientation,
            uid: g.uid,
            metadata: g.metadata,
            problem: g.problem,
            frames: g.frames,
        })
        .collect();
    series.sort_by(|a, b| {
        b.num_frames
            .cmp(&a.num_frames)
            .then(a.metadata.series_number.cmp(&b.metadata.series_number))
            .then(a.uid.cmp(&b.uid))
    });
    series
}
