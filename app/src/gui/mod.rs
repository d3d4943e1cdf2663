//! The viewer window: loads a scan off the UI thread (the bundled sample, a
//! phantom generated at start-up, when no path is given) and shows it in
//! the MPR viewer ([`mpr`]) drawn on the GPU ([`slice_paint`]).

pub mod mpr;
pub mod screenshot;
pub mod slice_paint;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use vasa_scan::{LabelMap, OpenedScan, open_scan};

/// Seed of the bundled sample phantom.
pub const SAMPLE_SEED: u64 = 1;

/// Opens the viewer window and blocks until it is closed. With `screenshot`,
/// saves the window as a PNG once the scan is drawn and closes it.
pub fn run(path: Option<PathBuf>, screenshot: Option<PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("Vasa").with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    let job = screenshot.map(screenshot::Job::new);
    let outcome = job.as_ref().map(|j| j.outcome());
    eframe::run_native(
        "Vasa",
        options,
        Box::new(move |cc| {
            let mut app = VasaApp::new(&cc.egui_ctx, path);
            app.screenshot = job;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    match outcome.map(|o| o.lock().map(|r| r.clone()).unwrap_or(None)) {
        None | Some(Some(Ok(()))) => Ok(()),
        Some(Some(Err(e))) => Err(anyhow::anyhow!(e)),
        Some(None) => Err(anyhow::anyhow!("the window closed before the screenshot was taken")),
    }
}

/// What is being loaded.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file or DICOM folder.
    Path(PathBuf),
    /// The bundled sample: a plain-phase phantom with its exact labels.
    Sample,
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Sample => format!("sample chest phantom (seed {SAMPLE_SEED})"),
        }
    }
}

/// State of the scan being shown.
enum ScanState {
    /// Loading on a worker thread.
    Loading(Source, Receiver<Result<Loaded, String>>),
    /// Loaded.
    Loaded(Box<Loaded>),
    /// Failed: the message names the file and the reason.
    Failed(String),
}

/// A loaded scan and what is computed once about it, off the UI thread.
pub struct Loaded {
    /// The scan.
    pub scan: OpenedScan,
    /// Its labels, if any (the sample comes with its exact ones).
    pub labels: Option<LabelMap>,
    /// HU range.
    pub hu_range: Option<(i16, i16)>,
    /// Name for the title and status bar.
    pub name: String,
}

fn load(source: &Source) -> Result<Loaded, String> {
    match source {
        Source::Path(p) => {
            let scan = open_scan(p).map_err(|e| e.to_string())?;
            Ok(Loaded { hu_range: scan.volume.min_max(), name: p.display().to_string(), labels: None, scan })
        }
        Source::Sample => {
            use vasa_inference::phantom::{self, PhantomOptions, Phase};
            let ph = phantom::generate(&PhantomOptions::new(SAMPLE_SEED, Phase::Plain)).map_err(|e| e.to_string())?;
            let labels = ph.labels.map(|&l| if l <= 3 { l } else { 0 });
            let scan = OpenedScan {
                volume: ph.ct,
                metadata: Default::default(),
                warnings: Vec::new(),
                path: PathBuf::from("sample"),
                format: vasa_scan::ScanFormat::Nifti,
            };
            Ok(Loaded { hu_range: scan.volume.min_max(), name: source.describe(), labels: Some(labels), scan })
        }
    }
}

/// The application.
pub struct VasaApp {
    scan: ScanState,
    mpr: Option<mpr::Mpr>,
    generation: u64,
    gpu_error: Option<String>,
    screenshot: Option<screenshot::Job>,
}

impl VasaApp {
    /// Creates the app and starts loading `path`, or the sample without one.
    pub fn new(ctx: &egui::Context, path: Option<PathBuf>) -> Self {
        let mut app = VasaApp {
            scan: ScanState::Failed(String::new()),
            mpr: None,
            generation: 0,
            gpu_error: None,
            screenshot: None,
        };
        app.start_loading(ctx, path.map_or(Source::Sample, Source::Path));
        app
    }

    /// Loads `source` on a worker thread; the UI keeps running.
    pub fn start_loading(&mut self, ctx: &egui::Context, source: Source) {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let s = source.clone();
        std::thread::spawn(move || {
            let _ = tx.send(load(&s));
            ctx.request_repaint();
        });
        self.scan = ScanState::Loading(source, rx);
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("Vasa");
            ui.separator();
            if let Some(m) = &mut self.mpr {
                for (n, (name, c, w)) in mpr::PRESETS.iter().enumerate() {
                    let on = m.window == (*c, *w);
                    if ui.selectable_label(on, format!("{} {name}", n + 1)).clicked() {
                        m.window = (*c, *w);
                    }
                }
                ui.separator();
                let table = vasa_scan::ClassTable::default();
                for class in 1..=3u8 {
                    if let Some(info) = table.get(class) {
                        let [r, g, b] = info.color;
                        ui.checkbox(&mut m.class_visible[class as usize], "");
                        ui.colored_label(egui::Color32::from_rgb(r, g, b), &info.name);
                    }
                }
                ui.checkbox(&mut m.fill_labels, "fill");
                ui.add(egui::Slider::new(&mut m.label_opacity, 0.0..=1.0).text("opacity"));
            }
        });
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| match &self.scan {
            ScanState::Loading(s, _) => {
                ui.spinner();
                ui.label(format!("Loading {} …", s.describe()));
            }
            ScanState::Failed(e) => {
                ui.colored_label(egui::Color32::LIGHT_RED, e);
            }
            ScanState::Loaded(l) => {
                let v = &l.scan.volume;
                let [x, y, z] = v.dims();
                let s = v.geometry.spacing;
                ui.label(format!(
                    "{}  {x}×{y}×{z}  {:.2}×{:.2}×{:.2} mm  {}",
                    l.name,
                    s.x,
                    s.y,
                    s.z,
                    v.geometry.orientation_code()
                ));
                if let Some((lo, hi)) = l.hu_range {
                    ui.label(format!("HU {lo}…{hi}"));
                }
                for w in &l.scan.warnings {
                    ui.colored_label(egui::Color32::YELLOW, w);
                }
                if let Some(p) = self.mpr.as_ref().and_then(|m| m.probe) {
                    ui.separator();
                    let table = vasa_scan::ClassTable::default();
                    ui.monospace(format!(
                        "voxel {} {} {}  ({:.1}, {:.1}, {:.1}) mm LPS  {} HU  {}",
                        p.voxel[0],
                        p.voxel[1],
                        p.voxel[2],
                        p.mm.x,
                        p.mm.y,
                        p.mm.z,
                        p.hu,
                        if p.label == 0 { String::new() } else { table.name(p.label) }
                    ));
                }
                if let Some(e) = &self.gpu_error {
                    ui.colored_label(egui::Color32::LIGHT_RED, e);
                }
            }
        });
    }
}

impl eframe::App for VasaApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let ScanState::Loading(_, rx) = &self.scan
            && let Ok(result) = rx.try_recv()
        {
            self.scan = match result {
                Ok(l) => {
                    self.mpr = Some(mpr::Mpr::new(&l.scan.volume));
                    self.generation += 1;
                    ScanState::Loaded(Box::new(l))
                }
                Err(e) => ScanState::Failed(e),
            };
        }
        // Upload a newly loaded scan once.
        let mut gpu_ready = false;
        if let (ScanState::Loaded(l), Some(state)) = (&self.scan, frame.wgpu_render_state()) {
            if slice_paint::uploaded_generation(state) != Some(self.generation) {
                self.gpu_error = slice_paint::upload(state, &l.scan.volume, l.labels.as_ref(), self.generation).err();
            }
            gpu_ready = self.gpu_error.is_none();
        }
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            if let (ScanState::Loaded(l), Some(m)) = (&self.scan, &mut self.mpr) {
                m.ui(ui, &l.scan.volume, l.labels.as_ref(), gpu_ready);
            }
        });
        if let Some(job) = &mut self.screenshot {
            let state = match &self.scan {
                ScanState::Loading(..) => screenshot::SceneState::Pending,
                ScanState::Loaded(_) if gpu_ready => screenshot::SceneState::Ready,
                ScanState::Loaded(_) => {
                    screenshot::SceneState::Failed(self.gpu_error.clone().unwrap_or_else(|| "no GPU".into()))
                }
                ScanState::Failed(e) => screenshot::SceneState::Failed(e.clone()),
            };
            job.frame(ui.ctx(), state);
        }
    }
}
