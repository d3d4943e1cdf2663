//! `vasa segment`: the extraction pipeline (S202–S208) from the command line.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, bail};
use vasa_inference::refine::{self, PhaseHint, RefineOptions, VESSEL_CLASSES};
use vasa_inference::segment::{Progress, SegmentOptions, Segmenter};
use vasa_scan::nifti;

use crate::error::AppError;

/// Arguments of `vasa segment`.
#[derive(Debug, clap::Args)]
pub struct SegmentArgs {
    /// The scan: a NIfTI file (.nii, .nii.gz), a DICOM file or a DICOM folder.
    pub scan: PathBuf,
    /// Where to write the final labels (NIfTI, uint8, the scan's geometry).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Also write the network's labels before refinement.
    #[arg(long)]
    pub raw: Option<PathBuf>,
    /// Also write the "AV image": the CT with every non-vessel voxel set to −1024 HU.
    #[arg(long = "av-image")]
    pub av_image: Option<PathBuf>,
    /// Model folder (config.json + model.safetensors); default: $VASA_MODEL, else the shipped model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Skip the HU refinement (S204–S208); with --no-tree too, the output
    /// is the network's labels.
    #[arg(long)]
    pub no_refine: bool,
    /// Skip the tree stage (branch-consistent artery/vein trees), to compare.
    #[arg(long)]
    pub no_tree: bool,
    /// Also write each vessel voxel's branch confidence, 0–1 (NIfTI, float32).
    #[arg(long)]
    pub confidence: Option<PathBuf>,
    /// Also write the labelled vessel graph (JSON): branches with parent,
    /// class, length, mean and minimum radius, confidence; islands; gaps joined.
    #[arg(long)]
    pub graph: Option<PathBuf>,
    /// Average with mirrored inputs (4× slower, smoother).
    #[arg(long)]
    pub mirror: bool,
    /// Overlap of neighbouring windows, 0–0.9.
    #[arg(long, default_value_t = 0.5)]
    pub overlap: f64,
    /// Remove pieces of a class smaller than this many mm³.
    #[arg(long)]
    pub min_island_mm3: Option<f64>,
    /// Contrast phase of the scan, bounding the refinement's HU ranges and
    /// its reach: auto (read from the blood under the network's labels),
    /// plain or contrast.
    #[arg(long, default_value = "auto", value_parser = parse_phase)]
    pub phase: PhaseHint,
    /// Also write a JSON report: per-class volumes and pieces, HU ranges,
    /// the self-check figures and warnings, timings.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Parses `--phase`.
pub fn parse_phase(s: &str) -> Result<PhaseHint, AppError> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(PhaseHint::Auto),
        "plain" | "native" | "non-contrast" => Ok(PhaseHint::Plain),
        "contrast" | "ctpa" | "arterial" | "venous" | "enhanced" => Ok(PhaseHint::Contrast),
        _ => Err(AppError::UnknownValue { what: "phase", value: s.to_string(), expected: "auto, plain or contrast" }),
    }
}

/// Runs `vasa segment`.
pub fn run(args: SegmentArgs) -> anyhow::Result<()> {
    if !(0.0..=0.9).contains(&args.overlap) {
        bail!("--overlap {} must be between 0 and 0.9", args.overlap);
    }
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("setting the thread count")?;
    }
    if args.no_tree && (args.confidence.is_some() || args.graph.is_some()) {
        bail!("--confidence and --graph come from the tree stage; drop --no-tree");
    }
    for out in
        [Some(&args.output), args.raw.as_ref(), args.av_image.as_ref(), args.confidence.as_ref()].into_iter().flatten()
    {
        if !nifti::is_nifti_path(out) {
            bail!("{}: output must be a .nii or .nii.gz file", out.display());
        }
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            bail!("{}: folder {} does not exist", out.display(), dir.display());
        }
    }
    for json in [args.json.as_ref(), args.graph.as_ref()].into_iter().flatten() {
        if let Some(dir) = json.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            bail!("{}: folder {} does not exist", json.display(), dir.display());
        }
    }
    let weights = args.weights.clone().unwrap_or_else(crate::settings::default_model_dir);
    if !weights.join("config.json").is_file() {
        bail!("{}: no trained model here (config.json missing); pass --weights DIR", weights.display());
    }

    let started = Instant::now();
    let t = Instant::now();
    let scan = vasa_scan::open_scan(&args.scan)?;
    let load_time = t.elapsed();
    for w in &scan.warnings {
        eprintln!("warning: {w}");
    }
    let segmenter = Segmenter::load(&weights)?;
    let options = SegmentOptions {
        overlap: args.overlap,
        mirror: args.mirror,
        refine: !args.no_refine,
        tree: !args.no_tree,
        min_island_mm3: args.min_island_mm3,
        refine_options: RefineOptions::for_phase(args.phase),
        ..SegmentOptions::default()
    };
    let reporter = Reporter::new();
    let cancel = AtomicBool::new(false);
    let result = segmenter.segment(&scan.volume, &options, &|p| reporter.report(p), &cancel);
    reporter.finish();
    let seg = result?;

    let t = Instant::now();
    nifti::write_nifti(&args.output, &seg.labels)?;
    println!("model {}", weights.display());
    if let Some(raw) = &args.raw {
        nifti::write_nifti(raw, &seg.raw)?;
    }
    if let Some(av) = &args.av_image {
        let image = refine::av_image(&scan.volume, &seg.labels, &VESSEL_CLASSES, refine::AV_BACKGROUND_HU);
        nifti::write_nifti(av, &image)?;
    }
    if let Some(tree) = &seg.tree {
        if let Some(path) = &args.confidence {
            nifti::write_nifti(path, &tree.confidence_volume())?;
        }
        if let Some(path) = &args.graph {
            let text = serde_json::to_string(&tree.graph)?;
            vasa_scan::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let write_time = t.elapsed();
    if let Some(json) = &args.json {
        write_report(json, &args.scan, &seg, started.elapsed().as_secs_f64())?;
    }

    println!("wrote {}", args.output.display());
    for s in &seg.stats {
        println!("  {:<10} {:>9.1} mL  {:>5} pieces", s.name, s.volume_ml, s.components);
    }
    if let Some(tree) = &seg.tree {
        for c in &tree.graph.classes {
            println!(
                "  tree {:<5} {:>5} branches, {:>5.1} % in the largest piece, {} islands, {} branches to review (confidence < {})",
                c.name,
                c.branches,
                c.largest_piece_fraction * 100.0,
                c.islands,
                c.to_review,
                tree.graph.review_below
            );
        }
        if !tree.graph.gaps.is_empty() {
            println!("  tree: {} gaps joined", tree.graph.gaps.len());
        }
        if !tree.graph.adopted.is_empty() {
            let ml: f64 = tree.graph.adopted.iter().map(|a| a.volume_ml).sum();
            println!(
                "  tree: {} pieces ({ml:.1} mL) took the class of the other tree they end on",
                tree.graph.adopted.len()
            );
        }
        if !tree.graph.merged_lumens.is_empty() {
            let ml: f64 = tree.graph.merged_lumens.iter().map(|m| m.volume_ml).sum();
            println!(
                "  tree: {} pieces ({ml:.1} mL) split one enhanced lumen with the other class and took its class",
                tree.graph.merged_lumens.len()
            );
        }
    }
    if seg.pieces_outside_thorax > 0 {
        println!("  removed {} vessel pieces lying wholly outside the thorax", seg.pieces_outside_thorax);
    }
    if !seg.hu_ranges.is_empty() {
        let how = if args.phase == PhaseHint::Auto { "read from the scan" } else { "as given" };
        println!("  phase: {} ({how})", seg.phase.name());
    }
    for (class, r) in &seg.hu_ranges {
        println!("  HU range of {}: {} … {}", vasa_scan::ClassTable::default().name(*class), r.lo, r.hi);
    }
    let p = &seg.plausibility;
    println!(
        "self-check: vessels over bone {:.1} %, outside the lungs' hull {:.1} %, aorta {:.0} mL (expected {:.0}–{:.0} for {:.0} mm of lung), pieces ≥ 0.05 mL: artery {} vein {} aorta {}",
        p.over_bone * 100.0,
        p.outside_lung_hull * 100.0,
        p.aorta_ml,
        p.aorta_range_ml.0,
        p.aorta_range_ml.1,
        p.lung_extent_mm,
        p.pieces[0],
        p.pieces[1],
        p.pieces[2]
    );
    if seg.warnings.is_empty() {
        println!("self-check: no warnings");
    }
    for w in &seg.warnings {
        println!("warning: {w}");
    }
    println!("timings:");
    println!("  {:<12} {:>8.2} s", "load", load_time.as_secs_f64());
    for (stage, d) in &seg.timings {
        println!("  {:<12} {:>8.2} s", stage.name(), d.as_secs_f64());
    }
    println!("  {:<12} {:>8.2} s", "write", write_time.as_secs_f64());
    println!("  {:<12} {:>8.2} s", "total", started.elapsed().as_secs_f64());
    Ok(())
}

/// The `--json` report.
#[derive(serde::Serialize)]
struct Report<'a> {
    scan: String,
    classes: &'a [vasa_scan::label_stats::ClassStats],
    hu_ranges: Vec<(u8, i16, i16)>,
    /// The contrast phase the refinement worked for: "plain", "contrast", or
    /// "unknown" (no refinement, or nothing labelled).
    phase: &'static str,
    plausibility: &'a vasa_inference::segment::selfcheck::Plausibility,
    warnings: Vec<WarningLine<'a>>,
    tree: Option<&'a [vasa_inference::tree::ClassTree]>,
    pieces_outside_thorax: usize,
    timings_s: Vec<(&'static str, f64)>,
    total_s: f64,
}

/// A warning with its sentence, as the CLI prints it.
#[derive(serde::Serialize)]
struct WarningLine<'a> {
    #[serde(flatten)]
    warning: &'a vasa_inference::segment::selfcheck::Warning,
    message: String,
}

fn write_report(
    path: &Path,
    scan: &Path,
    seg: &vasa_inference::segment::Segmentation,
    total_s: f64,
) -> anyhow::Result<()> {
    let report = Report {
        scan: scan.display().to_string(),
        classes: &seg.stats,
        hu_ranges: seg.hu_ranges.iter().map(|(c, r)| (*c, r.lo, r.hi)).collect(),
        phase: match seg.phase {
            PhaseHint::Plain => "plain",
            PhaseHint::Contrast => "contrast",
            PhaseHint::Auto => "unknown",
        },
        plausibility: &seg.plausibility,
        warnings: seg.warnings.iter().map(|w| WarningLine { warning: w, message: w.to_string() }).collect(),
        tree: seg.tree.as_ref().map(|t| t.graph.classes.as_slice()),
        pieces_outside_thorax: seg.pieces_outside_thorax,
        timings_s: seg.timings.iter().map(|(s, d)| (s.name(), d.as_secs_f64())).collect(),
        total_s,
    };
    let text = serde_json::to_string_pretty(&report)?;
    vasa_scan::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A progress bar on a terminal, plain lines when piped.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    last: Mutex<Option<(&'static str, usize)>>,
}

impl Reporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(1);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {elapsed_precise} ETA {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Reporter { bar, last: Mutex::new(None) }
    }

    fn report(&self, p: Progress) {
        let name = p.stage.name();
        if let Some(bar) = &self.bar {
            bar.set_message(name);
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            return;
        }
        // Piped: a line when a stage starts, and every tenth of the network stage.
        let Ok(mut last) = self.last.lock() else { return };
        let tenth = (p.done * 10) / p.total.max(1);
        if last.is_none_or(|(s, t)| s != name || t != tenth) {
            eprintln!("{name}: {}/{}", p.done, p.total);
            *last = Some((name, tenth));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
