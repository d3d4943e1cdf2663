//! The viewer window. For now it loads the scan named on the command line off
//! the UI thread and shows what it is; the MPR and 3D views come with the
//! app issue.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use vasa_scan::{OpenedScan, open_scan};

/// Opens the viewer window and blocks until it is closed.
pub fn run(path: Option<PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("Vasa").with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native("Vasa", options, Box::new(move |cc| Ok(Box::new(VasaApp::new(&cc.egui_ctx, path)))))
        .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

/// State of the scan being shown.
enum ScanState {
    /// Nothing asked for.
    Empty,
    /// Loading on a worker thread.
    Loading(PathBuf, Receiver<Result<Loaded, String>>),
    /// Loaded.
    Loaded(Box<Loaded>),
    /// Failed: the message names the file and the reason.
    Failed(String),
}

/// A loaded scan and the facts shown about it, computed once off the UI thread.
struct Loaded {
    scan: OpenedScan,
    hu_range: Option<(i16, i16)>,
}

/// The application.
pub struct VasaApp {
    scan: ScanState,
}

impl VasaApp {
    /// Creates the app and starts loading `path`, if given.
    pub fn new(ctx: &egui::Context, path: Option<PathBuf>) -> Self {
        let mut app = VasaApp { scan: ScanState::Empty };
        if let Some(p) = path {
            app.start_loading(ctx, p);
        }
        app
    }

    /// Loads `path` on a worker thread; the UI keeps running.
    fn start_loading(&mut self, ctx: &egui::Context, path: PathBuf) {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let p = path.clone();
        std::thread::spawn(move || {
            let loaded = open_scan(&p).map(|scan| Loaded { hu_range: scan.volume.min_max(), scan });
            let _ = tx.send(loaded.map_err(|e| e.to_string()));
            ctx.request_repaint();
        });
        self.scan = ScanState::Loading(path, rx);
    }
}

impl eframe::App for VasaApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        if let ScanState::Loading(_, rx) = &self.scan
            && let Ok(result) = rx.try_recv()
        {
            self.scan = match result {
                Ok(scan) => ScanState::Loaded(Box::new(scan)),
                Err(e) => ScanState::Failed(e),
            };
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("Vasa");
            match &self.scan {
                ScanState::Empty => {
                    ui.label("No scan open. Start Vasa with a NIfTI file or a DICOM folder: vasa <path>");
                }
                ScanState::Loading(p, _) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("Loading {} …", p.display()));
                    });
                }
                ScanState::Failed(e) => {
                    ui.colored_label(egui::Color32::LIGHT_RED, e);
                }
                ScanState::Loaded(loaded) => {
                    let scan = &loaded.scan;
                    let v = &scan.volume;
                    let [x, y, z] = v.dims();
                    let s = v.geometry.spacing;
                    ui.label(format!("{}", scan.path.display()));
                    ui.label(format!(
                        "{x} × {y} × {z} voxels, {:.3} × {:.3} × {:.3} mm, {}",
                        s.x,
                        s.y,
                        s.z,
                        v.geometry.orientation_code()
                    ));
                    if let Some((lo, hi)) = loaded.hu_range {
                        ui.label(format!("HU {lo} … {hi}"));
                    }
                    for w in &scan.warnings {
                        ui.colored_label(egui::Color32::YELLOW, w);
                    }
                }
            }
        });
    }
}
