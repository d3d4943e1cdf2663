//! `vasa eval`: predicted label maps against the truth — Dice, clDice, HD95
//! and volume difference per class (1 artery, 2 vein, 3 aorta), for one pair
//! of NIfTI files or for two folders paired by file name.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;
use vasa_scan::metrics::{self, ClassMean, ClassMetrics};
use vasa_scan::{atomic_file, nifti};

/// Arguments of `vasa eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Predicted labels: a NIfTI file (.nii, .nii.gz) or a folder of them.
    #[arg(long)]
    pub pred: PathBuf,
    /// True labels: a NIfTI file, or a folder whose files are paired with
    /// the predictions by identical file name.
    #[arg(long)]
    pub truth: PathBuf,
    /// Also write the per-case and mean metrics to this JSON file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The metrics of one pair of files.
#[derive(Debug, Serialize)]
pub struct CaseReport {
    /// Case name: the file name without `.nii` / `.nii.gz`.
    pub case: String,
    /// The predicted label file.
    pub pred: PathBuf,
    /// The true label file.
    pub truth: PathBuf,
    /// One entry per evaluated class.
    pub classes: Vec<ClassMetrics>,
}

/// Everything `vasa eval` reports (also its JSON).
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// `--pred` as given.
    pub pred: PathBuf,
    /// `--truth` as given.
    pub truth: PathBuf,
    /// Per case, in file-name order.
    pub cases: Vec<CaseReport>,
    /// Mean per class over the cases (for one pair, that pair's values).
    pub mean: Vec<ClassMean>,
    /// Files without a partner in the other folder.
    pub warnings: Vec<String>,
}

/// Runs `vasa eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(json) = &args.json
        && let Some(dir) = json.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("{}: folder {} does not exist", json.display(), dir.display());
    }
    let (pairs, warnings) = pairs(&args.pred, &args.truth)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let folders = args.pred.is_dir();
    let mut cases = Vec::with_capacity(pairs.len());
    for (case, pred, truth) in pairs {
        cases.push(evaluate(case, pred, truth)?);
    }
    let per_case: Vec<metrics::LabelComparison> =
        cases.iter().map(|c| metrics::LabelComparison { classes: c.classes.clone() }).collect();
    let report =
        EvalReport { pred: args.pred, truth: args.truth, mean: metrics::mean_per_class(&per_case), cases, warnings };
    print!("{}", format_table(&report, folders));
    if let Some(json) = &args.json {
        let text = serde_json::to_string_pretty(&report).context("encoding the metrics as JSON")?;
        atomic_file::write_atomically(json, |w| {
            use std::io::Write;
            w.write_all(text.as_bytes())?;
            w.write_all(b"\n")
        })?;
        println!("wrote {}", json.display());
    }
    println!("{} case(s) in {:.2} s", report.cases.len(), started.elapsed().as_secs_f64());
    Ok(())
}

/// One case to evaluate: its name, the prediction and the truth.
type Pair = (String, PathBuf, PathBuf);

/// The pairs found, and warnings about files left unpaired.
type Pairing = (Vec<Pair>, Vec<String>);

/// The pairs to evaluate and warnings about unpaired files. Two files make
/// one pair; two folders are paired by file name (NIfTI files only, not
/// recursive).
fn pairs(pred: &Path, truth: &Path) -> anyhow::Result<Pairing> {
    for p in [pred, truth] {
        if !p.exists() {
            bail!("{}: no such file or folder", p.display());
        }
    }
    match (pred.is_dir(), truth.is_dir()) {
        (false, false) => {
            for p in [pred, truth] {
                if !nifti::is_nifti_path(p) {
                    bail!("{}: not a NIfTI label file (.nii or .nii.gz)", p.display());
                }
            }
            Ok((vec![(case_name(pred), pred.into(), truth.into())], Vec::new()))
        }
        (true, true) => {
            let preds = nifti_files(pred)?;
            let truths = nifti_files(truth)?;
            let mut warnings = Vec::new();
            let mut out = Vec::new();
            for t in &truths {
                match preds.iter().find(|p| p.file_name() == t.file_name()) {
                    Some(p) => out.push((case_name(t), p.clone(), t.clone())),
                    None => {
                        warnings.push(format!("{}: no prediction with this name in {}", t.display(), pred.display()))
                    }
                }
            }
            for p in preds.iter().filter(|p| !truths.iter().any(|t| t.file_name() == p.file_name())) {
                warnings.push(format!("{}: no truth with this name in {}", p.display(), truth.display()));
            }
            if out.is_empty() {
                bail!(
                    "{} and {}: no label file name is in both folders ({} predictions, {} truths)",
                    pred.display(),
                    truth.display(),
                    preds.len(),
                    truths.len()
                );
            }
            Ok((out, warnings))
        }
        (true, false) => bail!("{}: --pred is a folder but --truth {} is a file", pred.display(), truth.display()),
        (false, true) => bail!("{}: --pred is a file but --truth {} is a folder", pred.display(), truth.display()),
    }
}

/// The NIfTI files directly in `dir`, sorted by name.
fn nifti_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}: cannot list the folder", dir.display()))? {
        let path = entry.with_context(|| format!("{}: cannot list the folder", dir.display()))?.path();
        if path.is_file() && nifti::is_nifti_path(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// File name without `.nii` / `.nii.gz`.
fn case_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let cut = if lower.ends_with(".nii.gz") {
        name.len() - 7
    } else if lower.ends_with(".nii") {
        name.len() - 4
    } else {
        name.len()
    };
    name[..cut].to_string()
}

/// Reads one pair (both files at once) and compares it.
fn evaluate(case: String, pred: PathBuf, truth: PathBuf) -> anyhow::Result<CaseReport> {
    let (p, t) = rayon::join(|| nifti::read_labels(&pred), || nifti::read_labels(&truth));
    let (p, t) = (p?, t?);
    let comparison =
        metrics::compare_labels(&p, &t).with_context(|| format!("{} against {}", pred.display(), truth.display()))?;
    Ok(CaseReport { case, pred, truth, classes: comparison.classes })
}

/// The table: one row per case and class, then (for folders) the means.
pub fn format_table(report: &EvalReport, with_mean: bool) -> String {
    let width = report.cases.iter().map(|c| c.case.chars().count()).chain([8]).max().unwrap_or(8);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<width$}  {:<8} {:>7} {:>7} {:>8} {:>9} {:>8} {:>9} {:>8} {:>8}",
        "case", "class", "Dice", "clDice", "HD95 mm", "ΔV mL", "ΔV %", "branches", "largest", "→other"
    );
    for case in &report.cases {
        for m in &case.classes {
            row(
                &mut s,
                width,
                &case.case,
                &m.name,
                [m.dice, m.cl_dice, m.volume_diff_ml],
                m.hd95_mm,
                m.volume_diff_percent,
                [m.branch_detection, m.largest_piece_fraction, m.called_other],
            );
        }
    }
    if with_mean {
        let label = format!("mean ({})", report.cases.len());
        let width = width.max(label.chars().count());
        let _ = writeln!(s);
        for m in &report.mean {
            row(
                &mut s,
                width,
                &label,
                &m.name,
                [m.dice, m.cl_dice, m.volume_diff_ml],
                m.hd95_mm,
                m.volume_diff_percent,
                [m.branch_detection, m.largest_piece_fraction, m.called_other],
            );
        }
    }
    s
}

/// A number with `decimals`, or `n/a`.
fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_else(|| "n/a".into())
}

/// One table row: case, class, Dice, clDice, HD95, ΔV mL, ΔV %, and the
/// tree figures (branch detection, largest piece, called the other class).
#[allow(clippy::too_many_arguments)]
fn row(
    s: &mut String,
    width: usize,
    case: &str,
    class: &str,
    [dice, cl_dice, dv_ml]: [f64; 3],
    hd95: Option<f64>,
    dv_percent: Option<f64>,
    [branches, largest, other]: [Option<f64>; 3],
) {
    let _ = writeln!(
        s,
        "{case:<width$}  {class:<8} {dice:>7.4} {cl_dice:>7.4} {:>8} {dv_ml:>9.2} {:>8} {:>9} {:>8} {:>8}",
        opt(hd95, 2),
        opt(dv_percent, 1),
        opt(branches, 3),
        opt(largest, 3),
        opt(other, 3)
    );
}
