//! `vasa info <path>`: what a scan file or folder holds — each series, its
//! dimensions, spacing, orientation, HU range and warnings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use serde::Serialize;
use vasa_scan::dicom::{self, StudyMetadata};
use vasa_scan::{Volume, nifti, open};

/// Arguments of `vasa info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// A NIfTI file (.nii, .nii.gz), a DICOM file, or a folder of DICOM files.
    pub path: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What `vasa info` reports about one series (or the one volume of a NIfTI file).
#[derive(Debug, Serialize)]
pub struct SeriesReport {
    /// One-line description (format, datatype, or DICOM series label).
    pub label: String,
    /// Voxel counts along i, j, k (None when the series failed to load).
    pub dims: Option<[usize; 3]>,
    /// Voxel size in mm.
    pub spacing_mm: Option<[f64; 3]>,
    /// Patient LPS position of voxel (0,0,0), mm.
    pub origin_mm: Option<[f64; 3]>,
    /// Where the i, j, k axes point, e.g. "LPS".
    pub orientation: Option<String>,
    /// Smallest and largest HU.
    pub hu_range: Option<[i16; 2]>,
    /// Study facts.
    pub metadata: StudyMetadata,
    /// Repairs and assumptions made while loading.
    pub warnings: Vec<String>,
    /// Why the series could not be loaded.
    pub error: Option<String>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct InfoReport {
    /// The path asked about.
    pub path: PathBuf,
    /// "NIfTI" or "DICOM".
    pub format: &'static str,
    /// Series found.
    pub series: Vec<SeriesReport>,
    /// Files left out, with the reason (DICOM only).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Runs `vasa info`: exit 0 when every series loaded, 1 otherwise.
pub fn run(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let report = report(&args.path)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).context("encoding the report as JSON")?);
    } else {
        print!("{}", format_report(&report));
    }
    let failed = report.series.iter().filter(|s| s.error.is_some()).count();
    if failed > 0 {
        eprintln!("vasa: {}: {failed} of {} series could not be loaded", args.path.display(), report.series.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the report for a path; fails (with the file and reason) when
/// nothing in it can be read at all.
pub fn report(path: &Path) -> anyhow::Result<InfoReport> {
    if !path.exists() {
        anyhow::bail!("{}: no such file or folder", path.display());
    }
    if path.is_file() && open::looks_like_nifti(path) {
        let (ct, info) = nifti::read_ct_with_info(path)?;
        let label = format!(
            "NIfTI-1, {}{}, {}{}",
            info.datatype.name(),
            if info.compressed { ", gzip" } else { "" },
            info.transform.name(),
            if info.description.is_empty() { String::new() } else { format!(", \"{}\"", info.description) }
        );
        let series = volume_report(label, &ct, StudyMetadata::default(), info.warnings);
        return Ok(InfoReport { path: path.into(), format: "NIfTI", series: vec![series], skipped: vec![] });
    }
    let index = dicom::scan_dicom(path)?;
    let cancel = AtomicBool::new(false);
    let default_uid = index.default_series().map(|s| (s.uid.clone(), s.files.first().cloned()));
    let series = index
        .series
        .iter()
        .map(|s| {
            let mut label = s.label();
            if default_uid.as_ref() == Some(&(s.uid.clone(), s.files.first().cloned())) && index.series.len() > 1 {
                label.push_str(" [default]");
            }
            match dicom::load_series(s, &|_, _| {}, &cancel) {
                Ok(loaded) => volume_report(label, &loaded.volume, loaded.metadata, loaded.warnings),
                Err(e) => SeriesReport {
                    label,
                    dims: None,
                    spacing_mm: None,
                    origin_mm: None,
                    orientation: None,
                    hu_range: None,
                    metadata: s.metadata.clone(),
                    warnings: vec![],
                    error: Some(e.to_string()),
                },
            }
        })
        .collect();
    let skipped = index.skipped.iter().map(|s| (s.path.clone(), s.reason.clone())).collect();
    Ok(InfoReport { path: path.into(), format: "DICOM", series, skipped })
}

fn volume_report(label: String, v: &Volume<i16>, metadata: StudyMetadata, warnings: Vec<String>) -> SeriesReport {
    SeriesReport {
        label,
        dims: Some(v.dims()),
        spacing_mm: Some(v.geometry.spacing.to_array()),
        origin_mm: Some(v.geometry.origin.to_array()),
        orientation: Some(v.geometry.orientation_code()),
        hu_range: v.min_max().map(|(a, b)| [a, b]),
        metadata,
        warnings,
        error: None,
    }
}

/// The human-readable table.
pub fn format_report(r: &InfoReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let n = r.series.len();
    let _ = writeln!(s, "{} ({}, {} series{})", r.path.display(), r.format, n, skipped_note(r.skipped.len()));
    for (i, series) in r.series.iter().enumerate() {
        let _ = writeln!(s, "\nseries {}/{}: {}", i + 1, n, series.label);
        let m = &series.metadata;
        let who: Vec<&str> = [&m.patient_name, &m.patient_id, &m.study_date, &m.study_description]
            .into_iter()
            .filter_map(|x| x.as_deref())
            .filter(|x| !x.is_empty())
            .collect();
        if !who.is_empty() {
            let _ = writeln!(s, "  study        {}", who.join(" | "));
        }
        if let Some(agent) = &m.contrast_agent {
            let _ = writeln!(s, "  contrast     {agent}");
        }
        if let Some(e) = &series.error {
            let _ = writeln!(s, "  ERROR        {e}");
            continue;
        }
        if let Some([x, y, z]) = series.dims {
            let _ = writeln!(s, "  dimensions   {x} × {y} × {z}");
        }
        if let Some([x, y, z]) = series.spacing_mm {
            let _ = writeln!(s, "  spacing      {x:.4} × {y:.4} × {z:.4} mm");
        }
        if let Some(o) = &series.orientation {
            let _ = writeln!(s, "  orientation  {o}");
        }
        if let Some([x, y, z]) = series.origin_mm {
            let _ = writeln!(s, "  origin       ({x:.2}, {y:.2}, {z:.2}) mm LPS");
        }
        if let Some([lo, hi]) = series.hu_range {
            let _ = writeln!(s, "  HU range     {lo} … {hi}");
        }
        for w in &series.warnings {
            let _ = writeln!(s, "  warning      {w}");
        }
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(s, "\nskipped {} file(s):", r.skipped.len());
        for (p, why) in r.skipped.iter().take(20) {
            let _ = writeln!(s, "  {}: {why}", p.display());
        }
        if r.skipped.len() > 20 {
            let _ = writeln!(s, "  … and {} more", r.skipped.len() - 20);
        }
    }
    s
}

fn skipped_note(n: usize) -> String {
    if n == 0 { String::new() } else { format!(", {n} file(s) skipped") }
}
