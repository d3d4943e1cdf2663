//! The viewer window. [`VasaApp`] owns the open scan and its label layers
//! and runs everything slow on worker threads ([`job`]): opening
//! ([`loading`]), extracting vessels ([`extraction`]), label uploads,
//! saving, file dialogs ([`dialogs`]). The slices are drawn on the GPU
//! ([`mpr`], [`slice_paint`]); the UI thread only reacts and paints.

pub mod dialogs;
pub mod extraction;
pub mod frame_stats;
pub mod job;
pub mod layers;
pub mod loading;
pub mod mpr;
pub mod notices;
pub mod screenshot;
pub mod series_picker;
pub mod slice_camera;
pub mod slice_paint;
pub mod tools;
pub mod view3d;

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use eframe::egui_wgpu::RenderState;
use vasa_render::{RenderContext, ScanTextures};

use crate::settings::Recent;
use dialogs::{Dialog, Purpose};
use extraction::{ExtractOptions, Extracted};
use job::Job;
use layers::{LabelLayer, Layers};
use loading::Opened;
pub use loading::{Loaded, SAMPLE_SEED, Source};
use notices::{Level, Notices};
use series_picker::{Choice, SeriesPicker};

/// How the viewer starts (from the command line).
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Scan to open; the bundled sample without one.
    pub path: Option<PathBuf>,
    /// Save a PNG once everything is drawn, then quit.
    pub screenshot: Option<PathBuf>,
    /// Capture only this viewport (0 axial … 3 3D) in the screenshot.
    pub screenshot_viewport: Option<usize>,
    /// Extract the vessels as soon as the scan is open.
    pub extract: bool,
}

/// Opens the viewer window and blocks until it is closed. With a
/// screenshot asked for, saves it once everything is drawn and closes.
pub fn run(start: StartOptions) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Vasa")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let job = start.screenshot.map(|p| screenshot::Job::new(p, start.screenshot_viewport));
    let outcome = job.as_ref().map(|j| j.outcome());
    let (path, extract) = (start.path, start.extract);
    eframe::run_native(
        "Vasa",
        options,
        Box::new(move |cc| {
            let mut app = VasaApp::new(&cc.egui_ctx, cc.wgpu_render_state.clone(), path, Recent::load_default());
            app.screenshot = job;
            app.extract_on_open = extract;
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

/// The open scan with everything shown over it.
pub struct Document {
    /// The scan.
    pub loaded: Loaded,
    /// Its label layers.
    pub layers: Layers,
    /// The slice viewer's state.
    pub mpr: mpr::Mpr,
    /// The 3D viewport's state.
    pub view3d: view3d::View3d,
    /// Which scan this is (results of jobs started on another are dropped).
    pub generation: u64,
    /// The GPU copy, to write labels into from a worker.
    textures: Option<ScanTextures>,
    /// Id of the layer whose labels the GPU holds (0: none).
    gpu_labels: u64,
}

/// The application.
pub struct VasaApp {
    gpu: Option<RenderState>,
    render_context: Option<Arc<RenderContext>>,
    /// The open scan, once loaded.
    pub doc: Option<Document>,
    generation: u64,
    loading: Option<(Source, Job<Result<Opened, String>>)>,
    picker: Option<(SeriesPicker, PathBuf)>,
    extraction: Option<(u64, Job<Result<Extracted, String>>)>,
    label_upload: Option<Job<Result<u64, String>>>,
    side_jobs: Vec<Job<Result<SideResult, String>>>,
    dialog: Option<Dialog>,
    /// Messages on screen.
    pub notices: Notices,
    /// Recently opened scans.
    pub recent: Recent,
    /// Extraction options.
    pub extract_options: ExtractOptions,
    /// UI-thread time per frame while an extraction runs (for the figure in
    /// the message that reports the result).
    pub frame_stats: frame_stats::FrameStats,
    gpu_error: Option<String>,
    path_field: String,
    screenshot: Option<screenshot::Job>,
    /// Start an extraction as soon as the next scan is open.
    pub extract_on_open: bool,
    /// The user was asked whether to quit with unsaved labels.
    pub asking_to_quit: bool,
    /// Where unsaved labels go when another scan replaces theirs
    /// (`autosave/` in the config folder; `None`: nowhere to keep them).
    pub autosave_dir: Option<PathBuf>,
    quit_confirmed: bool,
}

/// Results of the small jobs (opening labels, saving, screenshots).
enum SideResult {
    /// Labels opened for scan `generation`.
    Labels(u64, LabelLayer),
    /// Layer `id` saved to the path.
    Saved(u64, PathBuf),
    /// A screenshot written.
    Screenshot(PathBuf),
    /// Unsaved labels of a scan that was closed, kept at this path.
    Autosaved(PathBuf),
}

impl VasaApp {
    /// Creates the app and starts opening `path`, or the sample without one.
    /// `gpu` is eframe's render state (`None`: slices cannot be drawn).
    pub fn new(ctx: &egui::Context, gpu: Option<RenderState>, path: Option<PathBuf>, recent: Recent) -> Self {
        let render_context = gpu.as_ref().map(|g| Arc::new(RenderContext::new(&g.device, g.target_format)));
        let mut app = VasaApp {
            gpu,
            render_context,
            doc: None,
            generation: 0,
            loading: None,
            picker: None,
            extraction: None,
            label_upload: None,
            side_jobs: Vec::new(),
            dialog: None,
            notices: Notices::default(),
            recent,
            extract_options: ExtractOptions::default(),
            frame_stats: Default::default(),
            gpu_error: None,
            path_field: String::new(),
            screenshot: None,
            extract_on_open: false,
            asking_to_quit: false,
            autosave_dir: crate::settings::autosave_dir(),
            quit_confirmed: false,
        };
        app.open(ctx, path.map_or(Source::Sample, Source::Path));
        app
    }

    /// Starts opening `source` on a worker thread (the current scan stays
    /// on screen until the new one is ready).
    pub fn open(&mut self, ctx: &egui::Context, source: Source) {
        if let Some((_, old)) = self.loading.take() {
            old.cancel();
        }
        self.picker = None;
        let gpu = self.gpu.clone();
        let s = source.clone();
        let job =
            Job::spawn(ctx, format!("Opening {}", source.describe()), move |r| loading::open(&s, gpu.as_ref(), r));
        self.loading = Some((source, job));
    }

    /// Starts opening labels from `path` onto the current scan.
    pub fn open_labels(&mut self, ctx: &egui::Context, path: PathBuf) {
        let Some(doc) = &self.doc else {
            self.notices.push(Level::Error, format!("{}: open a scan first, then its labels", path.display()));
            return;
        };
        let (ct, generation) = (doc.loaded.ct.clone(), doc.generation);
        self.side_jobs.push(Job::spawn(ctx, format!("Opening labels {}", path.display()), move |r| {
            loading::open_labels(&path, &ct, r).map(|l| SideResult::Labels(generation, l))
        }));
    }

    /// Starts saving the shown label layer to `path` (NIfTI, the scan's
    /// geometry, written atomically).
    pub fn save_labels(&mut self, ctx: &egui::Context, path: PathBuf) {
        match self.doc.as_ref().and_then(|d| d.layers.shown_layer()) {
            Some(layer) => {
                let (id, generation) = (layer.id, self.generation);
                self.save_layer(ctx, id, generation, path);
            }
            None => self.notices.push(Level::Error, "no label layer is shown: nothing to save"),
        }
    }

    /// Starts saving layer `id` of scan `generation` to `path`; refuses when
    /// that scan or layer is gone (e.g. another scan opened meanwhile).
    pub fn save_layer(&mut self, ctx: &egui::Context, id: u64, generation: u64, path: PathBuf) {
        let layer = self
            .doc
            .as_ref()
            .filter(|d| d.generation == generation)
            .and_then(|d| d.layers.layers.iter().find(|l| l.id == id));
        let Some(layer) = layer else {
            self.notices.push(
                Level::Error,
                format!("{}: not saved: the labels it was meant for are no longer open", path.display()),
            );
            return;
        };
        let labels = layer.labels.clone();
        self.side_jobs.push(Job::spawn(ctx, format!("Saving {}", path.display()), move |r| {
            r.set("writing", None);
            if !vasa_scan::nifti::is_nifti_path(&path) {
                return Err(format!("{}: labels are saved as NIfTI: name the file .nii or .nii.gz", path.display()));
            }
            vasa_scan::nifti::write_nifti(&path, &labels).map_err(|e| e.to_string())?;
            Ok(SideResult::Saved(id, path))
        }));
    }

    /// Starts extracting vessels from the open scan with the current options.
    pub fn start_extraction(&mut self, ctx: &egui::Context) {
        let Some(doc) = &self.doc else { return };
        if let Some((_, old)) = self.extraction.take() {
            old.cancel();
        }
        let (ct, options) = (doc.loaded.ct.clone(), self.extract_options.clone());
        self.frame_stats.clear();
        let job = Job::spawn(ctx, "Extracting vessels", move |r| extraction::run(ct, &options, r));
        self.extraction = Some((doc.generation, job));
    }

    /// Cancels the running extraction, if any.
    pub fn cancel_extraction(&self) {
        if let Some((_, j)) = &self.extraction {
            j.cancel();
        }
    }

    /// True while a scan is being opened.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// True while an extraction runs.
    pub fn is_extracting(&self) -> bool {
        self.extraction.is_some()
    }

    /// True while any job (loading, extraction, label upload, saving) runs.
    pub fn is_busy(&self) -> bool {
        self.loading.is_some()
            || self.extraction.is_some()
            || self.label_upload.is_some()
            || !self.side_jobs.is_empty()
            || self.doc.as_ref().is_some_and(|d| d.view3d.is_building())
    }

    /// The series picker's folder, when one is on screen.
    pub fn picking_series(&self) -> Option<&Path> {
        self.picker.as_ref().map(|(_, p)| p.as_path())
    }

    /// Takes finished jobs' results.
    fn poll_jobs(&mut self, ctx: &egui::Context) {
        if let Some((source, job)) = &self.loading
            && let Some(result) = job.outcome()
        {
            let (source, cancelled) = (source.clone(), job.is_cancelling());
            self.loading = None;
            match result {
                // Cancelled after the work was done: the user still said no.
                Ok(_) if cancelled => self.notices.push(Level::Info, format!("stopped opening {}", source.describe())),
                Ok(Opened::Scan(l)) => self.show_scan(ctx, *l, &source),
                Ok(Opened::ChooseSeries { index, thumbnails }) => {
                    let root = index.root.clone();
                    self.picker = Some((SeriesPicker::new(index, thumbnails), root));
                }
                Ok(Opened::Labels(l)) => self.add_layer(l),
                Err(_) if cancelled => self.notices.push(Level::Info, format!("stopped opening {}", source.describe())),
                Err(e) => {
                    // `--extract` was for the scan that failed, not the next one.
                    self.extract_on_open = false;
                    self.notices.push(Level::Error, e);
                }
            }
        }
        if let Some((generation, job)) = &self.extraction
            && let Some(result) = job.outcome()
        {
            let generation = *generation;
            self.extraction = None;
            match result {
                Ok(x) if self.doc.as_ref().is_some_and(|d| d.generation == generation) => {
                    let total: f64 = x.timings.iter().map(|(_, d)| d.as_secs_f64()).sum();
                    let mut text = format!("vessels extracted in {total:.1} s");
                    if let Some(f) = self.frame_stats.summary() {
                        text.push_str(&format!(
                            "; meanwhile {} frames, UI work median {:.1} ms (max {:.1} ms), longest gap between frames {:.0} ms",
                            f.frames, f.median_ms, f.max_ms, f.max_gap_ms
                        ));
                    }
                    tracing::info!("{text}");
                    self.notices.push(Level::Info, text);
                    self.add_layer(x.raw);
                    self.add_layer(x.vessels);
                }
                Ok(_) => {}
                Err(e) if e == "cancelled" => self.notices.push(Level::Info, "extraction cancelled"),
                Err(e) => self.notices.push(Level::Error, format!("extraction failed: {e}")),
            }
        }
        if let Some(job) = &self.label_upload
            && let Some(result) = job.outcome()
        {
            self.label_upload = None;
            match result {
                Ok(id) => {
                    if let Some(d) = &mut self.doc {
                        d.gpu_labels = id;
                    }
                }
                Err(e) => self.gpu_error = Some(e),
            }
        }
        let mut i = 0;
        while i < self.side_jobs.len() {
            let job = &self.side_jobs[i];
            let Some(result) = job.outcome() else {
                i += 1;
                continue;
            };
            self.side_jobs.remove(i);
            match result {
                Ok(SideResult::Labels(generation, layer)) => {
                    if self.doc.as_ref().is_some_and(|d| d.generation == generation) {
                        self.add_layer(layer);
                    }
                }
                Ok(SideResult::Saved(id, path)) => {
                    if let Some(l) = self.doc.as_mut().and_then(|d| d.layers.layers.iter_mut().find(|l| l.id == id)) {
                        l.unsaved = false;
                    }
                    self.notices.push(Level::Info, format!("saved labels to {}", path.display()));
                }
                Ok(SideResult::Autosaved(path)) => {
                    self.notices.push(
                        Level::Warning,
                        format!("unsaved labels of the previous scan kept in {}", path.display()),
                    );
                }
                Ok(SideResult::Screenshot(path)) => {
                    self.notices.push(Level::Info, format!("saved screenshot {}", path.display()));
                }
                Err(e) => self.notices.push(Level::Error, e),
            }
        }
        if let Some(d) = &self.dialog
            && let Some(answer) = d.job.finished().map(|r| r.ok().flatten())
        {
            let purpose = d.purpose;
            self.dialog = None;
            if let Some(path) = answer {
                self.use_path(ctx, purpose, path);
            }
        }
    }

    /// Acts on the series picker's answer: loads the chosen series, or
    /// closes the picker.
    pub fn choose_series(&mut self, ctx: &egui::Context, choice: Choice) {
        let Some((picker, _)) = self.picker.take() else { return };
        let Choice::Open(i) = choice else { return };
        let gpu = self.gpu.clone();
        let index = picker.index;
        let root = index.root.clone();
        let job = Job::spawn(ctx, format!("Opening {}", root.display()), move |r| {
            let series = index.series.get(i).ok_or("no such series")?;
            loading::open_series(&index, series, gpu.as_ref(), r).map(|l| Opened::Scan(Box::new(l)))
        });
        self.loading = Some((Source::Path(root), job));
    }

    fn use_path(&mut self, ctx: &egui::Context, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::OpenScanFile | Purpose::OpenScanFolder => self.open(ctx, Source::Path(path)),
            Purpose::OpenLabels => self.open_labels(ctx, path),
            Purpose::SaveLabels { layer, generation } => self.save_layer(ctx, layer, generation, path),
            Purpose::SaveScreenshot(slot) => self.save_screenshot(ctx, slot, path),
        }
    }

    fn show_scan(&mut self, ctx: &egui::Context, mut loaded: Loaded, source: &Source) {
        if let Some((_, j)) = self.extraction.take() {
            j.cancel();
        }
        self.autosave_unsaved(ctx);
        self.label_upload = None;
        self.generation += 1;
        self.gpu_error = None;
        let mut textures = None;
        match loaded.gpu.take() {
            Some(Ok(t)) => {
                if let Some(state) = &self.gpu {
                    slice_paint::install(state, t.clone(), self.generation);
                }
                textures = Some(t);
            }
            Some(Err(e)) => {
                if let Some(state) = &self.gpu {
                    slice_paint::remove(state);
                    view3d::remove_gpu(state);
                }
                self.gpu_error = Some(format!("cannot show the scan on the GPU: {e}"));
            }
            None => self.gpu_error = Some("no GPU: slices cannot be drawn".into()),
        }
        for w in &loaded.warnings {
            self.notices.push(Level::Warning, w.clone());
        }
        if let Source::Path(p) = source
            && let Err(e) = self.recent.add(loaded.path.as_deref().unwrap_or(p))
        {
            tracing::warn!("recent files not saved: {e}");
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Title(format!("Vasa — {}", loaded.name)));
        let mut layers = Layers::default();
        // A layer that came with the scan is already on the GPU.
        let gpu_labels = loaded.layer.as_ref().map_or(0, |l| l.id);
        if let Some(l) = loaded.layer.take() {
            layers.add(l);
        }
        let mpr = mpr::Mpr::new(&loaded.ct);
        let view3d = view3d::View3d::new(&loaded.ct, self.render_context.clone());
        self.doc = Some(Document { loaded, layers, mpr, view3d, generation: self.generation, textures, gpu_labels });
        if std::mem::take(&mut self.extract_on_open) {
            self.start_extraction(ctx);
        }
    }

    fn add_layer(&mut self, layer: LabelLayer) {
        if let Some(d) = &mut self.doc {
            d.layers.add(layer);
        }
    }

    /// Sends the shown layer's labels to the GPU when they changed.
    fn sync_gpu_labels(&mut self, ctx: &egui::Context) {
        let (Some(doc), Some(state)) = (&self.doc, &self.gpu) else { return };
        let (Some(layer), Some(textures)) = (doc.layers.shown_layer(), &doc.textures) else { return };
        if layer.id == doc.gpu_labels || self.label_upload.is_some() {
            return;
        }
        let (labels, id, textures, queue) = (layer.labels.clone(), layer.id, textures.clone(), state.queue.clone());
        self.label_upload = Some(Job::spawn(ctx, "labels to the GPU", move |_| {
            textures.update_labels(&queue, &labels).map_err(|e| e.to_string())?;
            Ok(id)
        }));
    }

    /// The save dialog for the layer shown now.
    fn open_save_dialog(&mut self, ctx: &egui::Context) {
        if let Some(layer) = self.doc.as_ref().and_then(|d| d.layers.shown_layer()) {
            let purpose = Purpose::SaveLabels { layer: layer.id, generation: self.generation };
            self.open_dialog(ctx, purpose);
        }
    }

    fn open_dialog(&mut self, ctx: &egui::Context, purpose: Purpose) {
        if self.dialog.is_some() {
            return;
        }
        let start = self.recent.paths.first().and_then(|p| p.parent().map(Path::to_path_buf));
        let suggested = match purpose {
            Purpose::SaveLabels { .. } => "labels.nii.gz".to_string(),
            Purpose::SaveScreenshot(slot) => format!("vasa-{}.png", screenshot::slot_name(slot)),
            _ => String::new(),
        };
        self.dialog = Some(dialogs::open(ctx, purpose, start, suggested));
    }

    /// Captures viewport `slot` (0–3, 4: the whole window) to `path` as PNG.
    pub fn save_screenshot(&mut self, ctx: &egui::Context, slot: usize, path: PathBuf) {
        let rect = match (slot, &self.doc) {
            (4, _) => None,
            (s, Some(d)) if s < 4 && d.mpr.rects[s].is_positive() => Some(d.mpr.rects[s]),
            _ => {
                self.notices.push(Level::Error, format!("{}: that viewport is not on screen", path.display()));
                return;
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let ppp = ctx.pixels_per_point();
        ctx.request_screenshot(move |image| {
            let image = match rect {
                Some(r) => image.region(&r, Some(ppp)),
                None => (*image).clone(),
            };
            let _ = tx.send(image);
        });
        self.side_jobs.push(Job::spawn(ctx, format!("Screenshot {}", path.display()), move |r| {
            r.set("waiting for the frame", None);
            let image = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .map_err(|_| format!("{}: the window did not deliver a screenshot", path.display()))?;
            screenshot::save_png(&path, &image)?;
            Ok(SideResult::Screenshot(path))
        }));
        ctx.request_repaint();
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open scan…").clicked() {
                    self.open_dialog(&ctx, Purpose::OpenScanFile);
                }
                if ui.button("Open DICOM folder…").clicked() {
                    self.open_dialog(&ctx, Purpose::OpenScanFolder);
                }
                ui.horizontal(|ui| {
                    let field = ui.add(
                        egui::TextEdit::singleline(&mut self.path_field)
                            .hint_text("or type a path")
                            .desired_width(260.0),
                    );
                    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.button("Open").clicked() || enter) && !self.path_field.trim().is_empty() {
                        let p = PathBuf::from(self.path_field.trim());
                        self.open(&ctx, Source::Path(p));
                        ui.close();
                    }
                });
                ui.menu_button("Open recent", |ui| {
                    if self.recent.paths.is_empty() {
                        ui.label("(none yet)");
                    }
                    for p in self.recent.paths.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            if p.exists() {
                                self.open(&ctx, Source::Path(p));
                            } else {
                                self.notices.push(Level::Error, format!("{}: no longer exists", p.display()));
                                let _ = self.recent.remove(&p);
                            }
                            ui.close();
                        }
                    }
                });
                if ui.button("Open the sample").clicked() {
                    self.open(&ctx, Source::Sample);
                }
                ui.separator();
                let has_scan = self.doc.is_some();
                if ui.add_enabled(has_scan, egui::Button::new("Open labels…")).clicked() {
                    self.open_dialog(&ctx, Purpose::OpenLabels);
                }
                let has_layer = self.doc.as_ref().is_some_and(|d| d.layers.shown_layer().is_some());
                if ui.add_enabled(has_layer, egui::Button::new("Save labels…")).clicked() {
                    self.open_save_dialog(&ctx);
                }
                ui.menu_button("Save screenshot", |ui| {
                    for slot in 0..5 {
                        if ui.add_enabled(has_scan, egui::Button::new(screenshot::slot_name(slot))).clicked() {
                            self.open_dialog(&ctx, Purpose::SaveScreenshot(slot));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                if ui.button("Quit").clicked() {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                if let Some(d) = &mut self.doc {
                    for (n, (name, c, w)) in mpr::PRESETS.iter().enumerate() {
                        if ui.button(format!("{name} window ({})", n + 1)).clicked() {
                            d.mpr.window = (*c, *w);
                        }
                    }
                    if ui.button("Reset view (R)").clicked() {
                        d.mpr.reset(&d.loaded.ct);
                    }
                    for (slot, name) in ["Axial", "Coronal", "Sagittal", "3D"].iter().enumerate() {
                        let on = d.mpr.maximised == Some(slot);
                        if ui.selectable_label(on, format!("Maximise {name}")).clicked() {
                            d.mpr.maximised = if on { None } else { Some(slot) };
                        }
                    }
                }
            });
            ui.separator();
            if let Some(d) = &mut self.doc {
                for (n, (name, c, w)) in mpr::PRESETS.iter().enumerate() {
                    let on = d.mpr.window == (*c, *w);
                    if ui.selectable_label(on, format!("{} {name}", n + 1)).clicked() {
                        d.mpr.window = (*c, *w);
                    }
                }
            }
        });
    }

    fn side_panel(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.heading("Vessel extraction");
        let running = self.extraction.is_some();
        ui.add_enabled_ui(!running, |ui| self.extract_options.ui(ui));
        match &self.extraction {
            Some((_, job)) => {
                if job::progress_ui(ui, job) {
                    job.cancel();
                }
            }
            None => {
                let button = ui.add_enabled(self.doc.is_some(), egui::Button::new("Extract vessels"));
                if button.clicked() {
                    self.start_extraction(&ctx);
                }
            }
        }
        ui.separator();
        if let Some(d) = &mut self.doc {
            d.layers.legend_ui(ui);
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        if let Some((_, job)) = &self.loading
            && job::progress_ui(ui, job)
        {
            job.cancel();
        }
        for job in &self.side_jobs {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("{}: {}", job.what, job.status().stage));
            });
        }
        let Some(d) = &self.doc else {
            if self.loading.is_none() && self.picker.is_none() {
                ui.label("No scan open: File > Open scan, or drop a file here.");
            }
            return;
        };
        ui.horizontal(|ui| {
            let v = &d.loaded.ct;
            let [x, y, z] = v.dims();
            let s = v.geometry.spacing;
            ui.label(format!(
                "{}  {x}×{y}×{z}  {:.2}×{:.2}×{:.2} mm  {}",
                d.loaded.name,
                s.x,
                s.y,
                s.z,
                v.geometry.orientation_code()
            ));
            if let Some((lo, hi)) = d.loaded.hu_range {
                ui.label(format!("HU {lo}…{hi}"));
            }
            let m = &d.loaded.metadata;
            let facts: Vec<String> = [&m.modality, &m.study_date, &m.series_description, &m.patient_id]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect();
            if !facts.is_empty() {
                ui.separator();
                ui.label(facts.join("  "));
            }
            if let Some(e) = &self.gpu_error {
                ui.colored_label(egui::Color32::LIGHT_RED, e);
            }
        });
        ui.horizontal(|ui| match d.mpr.probe {
            Some(p) => {
                let table = vasa_scan::ClassTable::default();
                ui.monospace(format!(
                    "voxel {} {} {}   ({:.1}, {:.1}, {:.1}) mm LPS   {} HU   {}",
                    p.voxel[0],
                    p.voxel[1],
                    p.voxel[2],
                    p.mm.x,
                    p.mm.y,
                    p.mm.z,
                    p.hu,
                    if p.label == 0 { "—".to_string() } else { table.name(p.label) }
                ));
            }
            None => {
                ui.monospace("point at a slice for voxel, position, HU and label");
            }
        });
    }

    /// Writes the unsaved layers of the open scan to the autosave folder
    /// (`autosave/` in the config folder) before another scan replaces it,
    /// so opening a scan never throws away an extraction.
    fn autosave_unsaved(&mut self, ctx: &egui::Context) {
        let Some(doc) = &self.doc else { return };
        let Some(dir) = self.autosave_dir.clone() else { return };
        let stem: String = doc
            .loaded
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        // ASCII only after the mapping above: byte slicing is safe. Keep the end
        // (the file name) of a long path.
        let stem = stem.trim_matches('_');
        let stem = &stem[stem.len().saturating_sub(60)..];
        for layer in doc.layers.layers.iter().filter(|l| l.unsaved) {
            let tag = if layer.name == extraction::RAW_LAYER { "network" } else { "vessels" };
            let path = dir.join(format!("{stem}-{tag}-{}.nii.gz", layer.id));
            let labels = layer.labels.clone();
            let dir = dir.clone();
            self.side_jobs.push(Job::spawn(ctx, format!("Keeping unsaved labels in {}", path.display()), move |_| {
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                vasa_scan::nifti::write_nifti(&path, &labels).map_err(|e| e.to_string())?;
                Ok(SideResult::Autosaved(path))
            }));
        }
    }

    /// Names of the label layers not saved yet.
    pub fn unsaved_layers(&self) -> Vec<String> {
        self.doc.iter().flat_map(|d| d.layers.layers.iter().filter(|l| l.unsaved).map(|l| l.name.clone())).collect()
    }

    /// Holds a close of the window while labels are unsaved, and asks.
    fn confirm_quit(&mut self, ctx: &egui::Context) {
        let closing = ctx.input(|i| i.viewport().close_requested());
        if closing && self.screenshot.is_none() && !self.quit_confirmed && !self.unsaved_layers().is_empty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.asking_to_quit = true;
        }
        if !self.asking_to_quit {
            return;
        }
        let unsaved = self.unsaved_layers();
        let modal = egui::Modal::new(egui::Id::unique("quit with unsaved labels")).show(ctx, |ui| {
            ui.heading("Labels not saved");
            for name in &unsaved {
                ui.label(format!("- {name}"));
            }
            ui.label("Quit anyway and lose them?");
            ui.horizontal(|ui| {
                if ui.button("Save labels…").clicked() {
                    if let Some(d) = &mut self.doc {
                        d.layers.shown = d.layers.layers.iter().position(|l| l.unsaved);
                    }
                    self.asking_to_quit = false;
                    self.open_save_dialog(ctx);
                }
                if ui.button("Quit without saving").clicked() {
                    self.quit_confirmed = true;
                    self.asking_to_quit = false;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
                if ui.button("Keep working").clicked() {
                    self.asking_to_quit = false;
                }
            });
        });
        if modal.should_close() {
            self.asking_to_quit = false;
        }
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).filter(|p| !p.as_os_str().is_empty()).collect()
        });
        // Only the first: opening several scans at once means nothing.
        if let Some(p) = dropped.into_iter().next() {
            if self.doc.as_ref().is_some_and(|d| loading::looks_like_labels_for(&p, &d.loaded.ct)) {
                self.open_labels(ctx, p);
            } else {
                self.open(ctx, Source::Path(p));
            }
        }
    }
}

impl eframe::App for VasaApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.poll_jobs(&ctx);
        self.confirm_quit(&ctx);
        self.dropped_files(&ctx);
        self.sync_gpu_labels(&ctx);
        if let Some(d) = &mut self.doc {
            d.view3d.poll(self.gpu.as_ref());
            d.view3d.follow(&ctx, d.layers.shown_layer(), self.gpu.as_ref().map(|g| &g.device));
        }
        if self.is_busy() {
            // Keep progress and ETA moving even between worker reports.
            ctx.request_repaint_after(job::REDRAW_WHILE_BUSY);
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        if !self.notices.list.is_empty() {
            egui::Panel::top("notices").show(ui, |ui| self.notices.ui(ui));
        }
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::right("side")
            .default_size(300.0)
            .show(ui, |ui| egui::ScrollArea::vertical().show(ui, |ui| self.side_panel(ui)));
        let probe_before = self.doc.as_ref().and_then(|d| d.mpr.probe);
        let gpu_ready = self.gpu_error.is_none() && self.doc.as_ref().is_some_and(|d| d.textures.is_some());
        egui::CentralPanel::default().show(ui, |ui| match &mut self.doc {
            Some(d) => {
                let shown = d.layers.shown_layer();
                let overlay = mpr::Overlay {
                    labels: shown.map(|l| l.labels.as_ref()),
                    styles: d.layers.label_styles(),
                    fill: d.layers.fill,
                    opacity: d.layers.opacity,
                };
                let rect3d = d.mpr.ui(ui, &d.loaded.ct, &overlay, gpu_ready);
                if rect3d.is_positive() {
                    d.view3d.ui(ui, rect3d, &d.layers, &mut d.mpr, gpu_ready);
                }
            }
            None => {
                ui.centered_and_justified(|ui| {
                    if self.loading.is_some() {
                        ui.spinner();
                    } else {
                        ui.label("Open a scan: File > Open scan, File > Open DICOM folder, or drop a file here.");
                    }
                });
            }
        });
        // The status bar was laid out before the views found what the
        // pointer is over: show a change in the next frame.
        if self.doc.as_ref().and_then(|d| d.mpr.probe) != probe_before {
            ctx.request_repaint();
        }
        let choice = self.picker.as_mut().and_then(|(p, _)| p.ui(&ctx));
        if let Some(choice) = choice {
            self.choose_series(&ctx, choice);
        }

        let busy = self.is_busy();
        if let Some(job) = &mut self.screenshot {
            let state = match (&self.doc, &self.loading) {
                (_, Some(_)) => screenshot::SceneState::Pending,
                (Some(_), None) if busy => screenshot::SceneState::Pending,
                (Some(_), None) if gpu_ready => screenshot::SceneState::Ready,
                (Some(_), None) => screenshot::SceneState::Failed(self.gpu_error.clone().unwrap_or_default()),
                (None, None) => screenshot::SceneState::Failed(
                    self.notices.errors().last().map_or("nothing was opened".into(), |n| n.text.clone()),
                ),
            };
            let rect = job.viewport.and_then(|slot| self.doc.as_ref().map(|d| d.mpr.rects[slot.min(3)]));
            job.frame(&ctx, state, rect);
        }
        if self.extraction.is_some() {
            self.frame_stats.record(started.elapsed(), started);
        }
    }
}
