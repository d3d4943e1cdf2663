//! Command-line interface: one file per subcommand.

pub mod edit;
pub mod eval;
pub mod export;
pub mod info;
pub mod phantom;
pub mod plan;
pub mod render;
pub mod segment;
pub mod synth_plain;
pub mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vasa: a planning viewer for thoracic CT.
#[derive(Debug, Parser)]
#[command(name = "vasa", version, about)]
pub struct Cli {
    /// Scan to open in the viewer (NIfTI file, DICOM file or folder).
    /// Without it the viewer opens the bundled sample.
    pub path: Option<PathBuf>,
    /// Open the viewer, save a PNG of the window once the scan is drawn, and
    /// quit (exit status 1 if the scan could not be shown).
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// With --screenshot: capture one viewport only (axial, coronal,
    /// sagittal or 3d) instead of the whole window.
    #[arg(long, value_name = "VIEW", requires = "screenshot", value_parser = parse_viewport)]
    pub viewport: Option<usize>,
    /// Extract the vessels as soon as the scan is open (with --screenshot,
    /// the picture is taken when the extraction has finished).
    #[arg(long)]
    pub extract: bool,
    /// Kiosk mode for a booth: fullscreen, a guided loop over the bundled
    /// sample (extraction, 3D tree, classes, a planned ablation), free
    /// exploration on a touch, back to the loop after a minute idle; no file
    /// dialogs; Ctrl+Alt+Q quits.
    #[arg(long)]
    pub kiosk: bool,
    /// With --kiosk: seconds without input before the loop resumes.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "kiosk")]
    pub kiosk_idle: u64,
    /// With --kiosk: run the steps this many times faster (soak tests).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, requires = "kiosk")]
    pub kiosk_speed: f64,
    /// With --kiosk: quit after this many loops, printing the resident
    /// memory of each and its slope (soak tests).
    #[arg(long, value_name = "N", requires = "kiosk")]
    pub kiosk_loops: Option<u64>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the series, dimensions, spacing, orientation and HU range of a scan.
    Info(info::InfoArgs),
    /// Generate a synthetic chest CT with exact vessel labels.
    Phantom(phantom::PhantomArgs),
    /// Extract pulmonary arteries, veins and the aorta (S202–S208).
    Segment(segment::SegmentArgs),
    /// Compare predicted labels with the truth: Dice, clDice, HD95, volume difference.
    Eval(eval::EvalArgs),
    /// Train the network (phantoms and/or labelled scans), with checkpoints and resume.
    Train(train::TrainArgs),
    /// Synthesise the plain (non-contrast) scan of a labelled enhanced CT.
    SynthPlain(synth_plain::SynthPlainArgs),
    /// Replay an edit log (JSON lines: paint, erase, relabel, connect, remove_islands, undo…) on labels.
    Edit(edit::EditArgs),
    /// Check an ablation plan: margin, vessels near the zone (heat sinks), the path's distance to each vessel class.
    Plan(plan::PlanArgs),
    /// Render a scan (and its labels) off-screen: MIP, MinIP, volume rendering or labels, from a standard view.
    Render(render::RenderArgs),
    /// Export labels (NIfTI, DICOM SEG), surfaces (STL, OBJ, glTF) and the report (HTML and JSON).
    Export(export::ExportArgs),
}

/// Runs what the command line asked for.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Info(a)) => info::run(a),
        Some(Command::Phantom(a)) => phantom::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Segment(a)) => segment::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Eval(a)) => eval::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Train(a)) => train::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::SynthPlain(a)) => synth_plain::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Edit(a)) => edit::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Render(a)) => render::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Plan(a)) => plan::run(a).map(|_| ExitCode::SUCCESS),
        Some(Command::Export(a)) => export::run(a).map(|_| ExitCode::SUCCESS),
        None => {
            let start = crate::gui::StartOptions {
                path: cli.path,
                screenshot: cli.screenshot,
                screenshot_viewport: cli.viewport,
                extract: cli.extract,
                kiosk: cli.kiosk.then_some(crate::gui::KioskOptions {
                    idle_s: cli.kiosk_idle,
                    speed: cli.kiosk_speed,
                    loops: cli.kiosk_loops,
                }),
            };
            crate::gui::run(start).map(|_| ExitCode::SUCCESS)
        }
    }
}

/// Parses `--viewport`: the viewport's slot (0 axial … 3 3D).
pub fn parse_viewport(s: &str) -> Result<usize, crate::error::AppError> {
    ["axial", "coronal", "sagittal", "3d"].iter().position(|v| v.eq_ignore_ascii_case(s)).ok_or_else(|| {
        crate::error::AppError::UnknownValue {
            what: "viewport",
            value: s.to_string(),
            expected: "axial, coronal, sagittal or 3d",
        }
    })
}

/// An error and its chain of causes on one line, without repeating a cause
/// that the message already contains.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if line.contains(&s) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&s);
    }
    line
}
