//! Native file dialogs (rfd), run on a worker thread so the window keeps
//! drawing while one is open. Each dialog says what its answer is for, and
//! its answer becomes an action ([`action_for`]).

use std::path::{Path, PathBuf};

use crate::gui::actions::Action;
use crate::gui::job::Job;
use crate::gui::loading::Source;
use crate::gui::screenshot;
use crate::settings::Recent;

/// What a chosen path will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Open a NIfTI scan or a DICOM file.
    OpenScanFile,
    /// Open a DICOM folder.
    OpenScanFolder,
    /// Open a label map onto the current scan.
    OpenLabels,
    /// Save label layer `layer` (its id) of scan `generation`: the layer
    /// shown when the dialog opened, whatever is shown when it answers.
    SaveLabels {
        /// The layer's id.
        layer: u64,
        /// The scan's generation.
        generation: u64,
    },
    /// Save a screenshot of viewport `usize` (0–3; 4 = the whole window).
    SaveScreenshot(usize),
    /// Save the 3D view's transfer function (JSON).
    SaveTransferFunction,
    /// Load a transfer function (JSON) into the 3D view.
    OpenTransferFunction,
    /// Save the plan (JSON).
    SavePlan,
    /// Open a plan (JSON) onto the open scan.
    OpenPlan,
    /// Export the shown labels (and the plan) as this.
    Export(crate::gui::exports::ExportKind),
}

impl Purpose {
    /// True when the chosen file will be written.
    pub fn saves(self) -> bool {
        matches!(
            self,
            Purpose::SaveLabels { .. }
                | Purpose::SaveScreenshot(_)
                | Purpose::SaveTransferFunction
                | Purpose::SavePlan
                | Purpose::Export(_)
        )
    }
}

/// A dialog on screen and what its answer is for.
pub struct Dialog {
    /// What the chosen path is for.
    pub purpose: Purpose,
    /// The dialog, answering the chosen path (`None`: cancelled).
    pub job: Job<Option<PathBuf>>,
}

const NIFTI: &[&str] = &["nii.gz", "nii", "gz"];

/// Opens the dialog for `purpose`, in the folder of the newest recent
/// file, suggesting a file name when it saves.
pub fn ask(ctx: &egui::Context, purpose: Purpose, recent: &Recent) -> Dialog {
    let start = recent.paths.first().and_then(|p| p.parent().map(Path::to_path_buf));
    let suggested = match purpose {
        Purpose::SaveLabels { .. } => "labels.nii.gz".to_string(),
        Purpose::SaveScreenshot(slot) => format!("vasa-{}.png", screenshot::slot_name(slot)),
        Purpose::SaveTransferFunction => "transfer-function.json".to_string(),
        Purpose::SavePlan => "ablation.plan.json".to_string(),
        Purpose::Export(kind) => kind.suggested().to_string(),
        _ => String::new(),
    };
    open(ctx, purpose, start, suggested)
}

/// What to do with `path`, chosen for `purpose`.
pub fn action_for(purpose: Purpose, path: PathBuf) -> Action {
    match purpose {
        Purpose::OpenScanFile | Purpose::OpenScanFolder => Action::Open(Source::Path(path)),
        Purpose::OpenLabels => Action::OpenLabels(path),
        Purpose::SaveLabels { layer, generation } => Action::SaveLabels { layer, generation, path },
        Purpose::SaveScreenshot(slot) => Action::SaveScreenshot { slot, path },
        Purpose::SaveTransferFunction => Action::SaveTransferFunction(path),
        Purpose::OpenTransferFunction => Action::OpenTransferFunction(path),
        Purpose::SavePlan => Action::SavePlan(path),
        Purpose::OpenPlan => Action::OpenPlan(path),
        Purpose::Export(kind) => Action::Export { kind, path, replace: false },
    }
}

/// Opens the dialog for `purpose`; `suggested` names the file to save.
pub fn open(ctx: &egui::Context, purpose: Purpose, start_dir: Option<PathBuf>, suggested: String) -> Dialog {
    let job = Job::spawn(ctx, "file dialog", move |_| {
        let mut d = rfd::FileDialog::new();
        if let Some(dir) = start_dir.filter(|d| d.is_dir()) {
            d = d.set_directory(dir);
        }
        match purpose {
            Purpose::OpenScanFile => d
                .set_title("Open scan (NIfTI or DICOM file)")
                .add_filter("NIfTI", NIFTI)
                .add_filter("DICOM", &["dcm", "DCM", "ima", "IMA"])
                .add_filter("all files", &["*"])
                .pick_file(),
            Purpose::OpenScanFolder => d.set_title("Open DICOM folder").pick_folder(),
            Purpose::OpenLabels => d.set_title("Open labels (NIfTI)").add_filter("NIfTI", NIFTI).pick_file(),
            Purpose::SaveLabels { .. } => {
                d.set_title("Save labels (NIfTI)").add_filter("NIfTI", NIFTI).set_file_name(suggested).save_file()
            }
            Purpose::SaveScreenshot(_) => {
                d.set_title("Save screenshot (PNG)").add_filter("PNG", &["png"]).set_file_name(suggested).save_file()
            }
            Purpose::SaveTransferFunction => d
                .set_title("Save transfer function (JSON)")
                .add_filter("JSON", &["json"])
                .set_file_name(suggested)
                .save_file(),
            Purpose::OpenTransferFunction => {
                d.set_title("Load transfer function (JSON)").add_filter("JSON", &["json"]).pick_file()
            }
            Purpose::SavePlan => {
                d.set_title("Save plan (JSON)").add_filter("plan", &["json"]).set_file_name(suggested).save_file()
            }
            Purpose::OpenPlan => d.set_title("Open plan (JSON)").add_filter("plan", &["json"]).pick_file(),
            Purpose::Export(kind) if kind.is_folder() => {
                d.set_title(format!("Export {}: choose a folder", kind.describe())).pick_folder()
            }
            Purpose::Export(kind) => {
                let (filter, ext): (&str, &[&str]) = match kind {
                    crate::gui::exports::ExportKind::Seg => ("DICOM", &["dcm"]),
                    crate::gui::exports::ExportKind::Glb => ("glTF binary", &["glb"]),
                    _ => ("HTML", &["html"]),
                };
                d.set_title(format!("Export {}", kind.describe()))
                    .add_filter(filter, ext)
                    .set_file_name(suggested)
                    .save_file()
            }
        }
    });
    Dialog { purpose, job }
}
