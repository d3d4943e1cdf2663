//! The app shell: [`VasaApp`] holds the document, its views, the running
//! tasks and the chrome's state, and runs each frame — take finished
//! tasks, draw the chrome and the views, apply the actions they return.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui_wgpu::RenderState;
use vasa_render::RenderContext;

use super::actions::{Action, KioskPolicy};
use super::chrome::dialogs::{self, Dialog};
use super::chrome::notices::{Level, Notices};
use super::chrome::series_picker::SeriesPicker;
use super::chrome::{menus, quit_dialog, restore_dialog, side_panel, status_bar};
use super::extraction::ExtractOptions;
use super::frame_stats::FrameStats;
use super::loading::{Loaded, Source};
use super::tasks::{Outcome, TaskKind, Tasks};
use super::views::{self, Views};
use super::{input, job, mpr, review, screenshot, view3d};
use crate::doc::{Document, LabelLayer, session};
use crate::error::AppError;
use crate::settings::{self, Recent};

/// The application.
pub struct VasaApp {
    /// The window's context (actions start tasks that wake it).
    pub(super) ctx: egui::Context,
    pub(super) gpu: Option<RenderState>,
    mesh_renderer: Option<Arc<RenderContext>>,
    /// The open document, once a scan is loaded.
    pub doc: Option<Document>,
    /// How the document is shown (there exactly when `doc` is).
    pub views: Option<Views>,
    /// Generation of the newest document.
    pub(super) generation: u64,
    /// Work on worker threads.
    pub(super) tasks: Tasks,
    pub(super) picker: Option<(SeriesPicker, PathBuf)>,
    pub(super) dialog: Option<Dialog>,
    /// Messages on screen.
    pub notices: Notices,
    /// Recently opened scans.
    pub recent: Recent,
    /// Extraction options.
    pub extract_options: ExtractOptions,
    /// UI-thread time per frame while an extraction runs (for the figure in
    /// the message that reports the result).
    pub frame_stats: FrameStats,
    pub(super) gpu_error: Option<String>,
    pub(super) path_field: String,
    pub(super) screenshot: Option<screenshot::Job>,
    /// Start an extraction as soon as the next scan is open.
    pub extract_on_open: bool,
    /// The user was asked whether to quit with unsaved labels.
    pub asking_to_quit: bool,
    /// Where unsaved labels go when another scan replaces theirs
    /// (`autosave/` in the config folder; `None`: nowhere to keep them).
    pub autosave_dir: Option<PathBuf>,
    pub(super) quit_confirmed: bool,
    /// What the user may do (everything by default).
    pub kiosk: KioskPolicy,
    /// The crash-safe autosave of the open document's unsaved layers.
    pub(super) session: SessionClock,
    /// A session left by a run that did not end cleanly, offered for restoring.
    pub restore_offer: Option<session::Session>,
    /// Exports are de-identified (File ▸ Export ▸ de-identify).
    pub export_deidentified: bool,
    /// The booth's guided loop (`vasa --kiosk`).
    pub kiosk_mode: Option<super::kiosk::Kiosk>,
    /// The booth's quit key was pressed: the close goes through.
    pub kiosk_quit: bool,
    /// The welcome panel is shown (first run).
    pub welcome: bool,
    /// The keyboard sheet (F1) is shown.
    pub keyboard_sheet: bool,
    /// What the viewer remembers between runs (applied to each scan's views).
    pub prefs: super::prefs::Prefs,
    /// A folder export that would replace these files, waiting for the user's yes.
    pub export_question: Option<(super::exports::ExportKind, PathBuf, Vec<PathBuf>)>,
    /// A session to restore once its scan is open.
    pub(super) pending_restore: Option<session::Session>,
}

/// How long edits pause before the legend's pieces are counted again and
/// the 3D surfaces rebuilt.
pub const EDITS_SETTLE: Duration = Duration::from_millis(600);

/// When the session was last autosaved, and what.
#[derive(Debug)]
pub(super) struct SessionClock {
    /// Last save (or the app's start).
    pub last: Instant,
    /// (layer id, revision) of the layers in that save.
    pub saved: Vec<(u64, u64)>,
    /// Generation of the last save.
    pub generation: u64,
}

/// Autosave interval.
pub const AUTOSAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl VasaApp {
    /// Creates the app and starts opening `path`, or the sample without one.
    /// `gpu` is eframe's render state (`None`: slices cannot be drawn).
    pub fn new(ctx: &egui::Context, gpu: Option<RenderState>, path: Option<PathBuf>, recent: Recent) -> Self {
        let mut app = VasaApp::empty(ctx, gpu, recent);
        app.offer_restore();
        app.open(ctx, path.map_or(Source::Sample, Source::Path));
        app
    }

    /// The app with nothing open, and nothing being opened.
    pub fn empty(ctx: &egui::Context, gpu: Option<RenderState>, recent: Recent) -> Self {
        let mesh_renderer = gpu.as_ref().map(|g| Arc::new(RenderContext::new(&g.device, g.target_format)));
        VasaApp {
            ctx: ctx.clone(),
            gpu,
            mesh_renderer,
            doc: None,
            views: None,
            generation: 0,
            tasks: Tasks::default(),
            picker: None,
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
            autosave_dir: settings::autosave_dir(),
            quit_confirmed: false,
            kiosk: KioskPolicy::allow_all(),
            session: SessionClock { last: Instant::now(), saved: Vec::new(), generation: 0 },
            restore_offer: None,
            export_deidentified: false,
            kiosk_mode: None,
            kiosk_quit: false,
            welcome: false,
            keyboard_sheet: false,
            prefs: Default::default(),
            export_question: None,
            pending_restore: None,
        }
    }

    /// Offers the session a crashed run left in the autosave folder, if any.
    pub fn offer_restore(&mut self) {
        self.restore_offer = self.session_dir().and_then(|d| session::read(&d));
    }

    /// True while a `--screenshot` run is under way (no questions asked).
    pub fn screenshot_pending(&self) -> bool {
        self.screenshot.is_some()
    }

    /// The folder of the crash-safe session autosave.
    pub fn session_dir(&self) -> Option<PathBuf> {
        self.autosave_dir.as_ref().map(|d| d.join("session"))
    }

    /// Writes the open document's unsaved layers (labels and edit logs) to
    /// the session folder on a worker, when `now` or when the interval has
    /// passed and they changed since the last save.
    pub(super) fn autosave_session(&mut self, ctx: &egui::Context, now: bool) {
        if self.screenshot.is_some() || self.restore_offer.is_some() {
            return; // a screenshot run, or a crashed session not yet answered for
        }
        if let Some(doc) = &mut self.doc {
            // Labels and log must agree: not in the middle of a stroke or
            // with a preview shown (quitting ends and drops them).
            if now {
                doc.finish_stroke();
                doc.cancel_preview();
            } else if doc.stroking() || doc.previewed().is_some() {
                return;
            }
        }
        let (Some(dir), Some(doc)) = (self.session_dir(), &self.doc) else { return };
        let mut state: Vec<(u64, u64)> = doc.layers.unsaved().map(|l| (l.id, l.revision())).collect();
        // The plan counts as an entry of its own once it changed since saved.
        if doc.plan.revision != doc.plan_saved {
            state.push((u64::MAX, doc.plan.revision));
        }
        if state.is_empty() || state == self.session.saved || (!now && self.session.last.elapsed() < AUTOSAVE_EVERY) {
            return;
        }
        let layers: Vec<session::LayerToSave> = doc
            .layers
            .unsaved()
            .map(|l| session::LayerToSave { name: l.name.clone(), labels: l.labels.clone(), log: l.log.clone() })
            .collect();
        self.session.generation += 1;
        self.session.last = Instant::now();
        self.session.saved = state;
        let (generation, path, name) = (self.session.generation, doc.scan.path.clone(), doc.scan.name.clone());
        let plan = (!doc.plan.is_empty() && doc.plan.revision != doc.plan_saved).then(|| doc.plan.to_file(&name));
        let what = format!("Autosaving labels in {}", dir.display());
        self.tasks.spawn(ctx, TaskKind::Background, doc.generation, what, move |_| {
            session::write(&dir, path.as_deref(), &name, &layers, plan.as_ref(), generation)?;
            Ok(Outcome::SessionSaved(dir))
        });
    }

    /// Restores the offered session: opens its scan, and its layers once it is open.
    pub(super) fn restore_session(&mut self, ctx: &egui::Context) {
        let Some(s) = self.restore_offer.take() else { return };
        let source = s.scan_path.clone().map_or(Source::Sample, Source::Path);
        self.pending_restore = Some(s);
        self.open(ctx, source);
    }

    /// Drops the offered session.
    pub(super) fn discard_session(&mut self) {
        if self.restore_offer.take().is_some()
            && let Some(dir) = self.session_dir()
        {
            session::clear(&dir);
        }
    }

    /// Loads the layers of the session being restored onto the scan just opened.
    fn load_restored_layers(&mut self, ctx: &egui::Context) {
        let (Some(s), Some(dir)) = (self.pending_restore.take(), self.session_dir()) else { return };
        let Some(ct) = self.doc.as_ref().map(|d| d.scan.ct.clone()) else { return };
        if let Some(name) = &s.plan {
            let path = dir.join(name);
            self.tasks.spawn(ctx, TaskKind::Background, self.generation, "Restoring the plan", move |_| {
                let file = vasa_plan::PlanFile::read(&path)?;
                Ok(Outcome::PlanRead { file: Box::new(file), path, restored: true })
            });
        }
        for layer in s.layers {
            let (dir, ct) = (dir.clone(), ct.clone());
            let what = format!("Restoring {}", layer.name);
            self.tasks.spawn(ctx, TaskKind::Background, self.generation, what, move |_| {
                let (labels, log) = session::load_layer(&dir, &layer)?;
                if !labels.same_grid(&*ct) {
                    let why = format!("{:?} voxels vs the scan's {:?}", labels.dims(), ct.dims());
                    return Err(AppError::OffGrid { path: dir.join(&layer.labels), why });
                }
                let mut l = LabelLayer::new(&layer.name, labels);
                l.log = log;
                l.unsaved = true;
                Ok(Outcome::Labels(l))
            });
        }
    }

    /// True while a scan is being opened.
    pub fn is_loading(&self) -> bool {
        self.tasks.opening().is_some()
    }

    /// True while an extraction runs.
    pub fn is_extracting(&self) -> bool {
        self.tasks.extraction().is_some()
    }

    /// True while any task (opening, extraction, label upload, saving,
    /// surfaces) runs.
    pub fn is_busy(&self) -> bool {
        !self.tasks.is_idle() || self.views.as_ref().is_some_and(|v| v.view3d.is_building())
    }

    /// The series picker's folder, when one is on screen.
    pub fn picking_series(&self) -> Option<&Path> {
        self.picker.as_ref().map(|(_, p)| p.as_path())
    }

    /// What is not saved yet: the label layers by name, and "the plan".
    pub fn unsaved_work(&self) -> Vec<String> {
        let Some(d) = &self.doc else { return Vec::new() };
        let mut names = d.unsaved_layers();
        if d.plan_unsaved() {
            names.push("the plan".into());
        }
        names
    }

    /// Replaces the document with a freshly loaded scan (the unsaved labels
    /// of the old one go to the autosave folder).
    pub(super) fn show_scan(&mut self, ctx: &egui::Context, loaded: Loaded) {
        self.tasks.cancel_where(|k| matches!(k, TaskKind::Extraction | TaskKind::LabelUpload));
        self.autosave_unsaved(ctx);
        self.generation += 1;
        let (scan, layer, uploaded) = loaded.into_parts();
        let (textures, gpu_error) = views::install_textures(self.gpu.as_ref(), uploaded, self.generation);
        self.gpu_error = gpu_error;
        for w in &scan.warnings {
            self.notices.push(Level::Warning, w.clone());
        }
        if let Some(p) = &scan.path
            && let Err(e) = self.recent.add(p)
        {
            tracing::warn!("recent files not saved: {e}");
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Title(format!("Vasa — {}", scan.name)));
        if self.pending_restore.is_some()
            && self.pending_restore.as_ref().and_then(|s| s.scan_path.clone()) != scan.path
        {
            self.pending_restore = None; // another scan came first
        }
        let mut doc = Document::new(scan, self.generation);
        // A layer that came with the scan is already on the GPU.
        let gpu_labels = layer.as_ref().map_or(0, |l| l.id);
        if let Some(l) = layer {
            doc.layers.add(l);
        }
        let mut views = Views::new(&doc.scan.ct, textures, gpu_labels, self.mesh_renderer.clone());
        // The tool stays the user's choice from one scan to the next.
        views.mpr.tool = self.views.as_ref().map(|v| v.mpr.tool).unwrap_or_default();
        self.views = Some(views);
        self.apply_prefs_to_views();
        self.doc = Some(doc);
        // The previous scan's buffers were just freed.
        crate::memory::give_back();
        self.session.saved.clear();
        self.load_restored_layers(ctx);
        if std::mem::take(&mut self.extract_on_open) {
            self.start_extraction(ctx);
        }
    }

    /// Adds `layer` to the open document and shows it.
    pub(super) fn add_layer(&mut self, layer: LabelLayer) {
        if let Some(d) = &mut self.doc {
            d.layers.add(layer);
        }
    }

    pub(crate) fn apply_all(&mut self, actions: Vec<Action>) {
        for a in actions {
            self.apply(a);
        }
    }

    /// Takes the file dialog's answer, as an action.
    fn poll_dialog(&mut self) {
        if let Some(d) = &self.dialog
            && let Some(answer) = d.job.finished().map(|r| r.ok().flatten())
        {
            let purpose = d.purpose;
            self.dialog = None;
            if let Some(path) = answer {
                self.apply(dialogs::action_for(purpose, path));
            }
        }
    }

    /// Takes a file dropped on the window, as an action.
    fn take_dropped_file(&mut self, ctx: &egui::Context) {
        if let Some(p) = input::dropped_file(ctx) {
            let as_labels = self.takes_as_labels(&p);
            self.apply(input::open_dropped(p, as_labels));
        }
    }

    /// Keeps the GPU's copy of the shown labels and the 3D surfaces in step
    /// with the document.
    fn sync_views(&mut self, ctx: &egui::Context) {
        let (Some(doc), Some(views)) = (&mut self.doc, &mut self.views) else { return };
        let generation = doc.generation;
        views.sync_gpu_labels(ctx, self.gpu.as_ref(), doc.layers.shown_layer_mut(), &mut self.tasks, generation);
        views.view3d.poll(self.gpu.as_ref());
        views.view3d.volume.poll();
        let shown = doc.layers.shown_layer().map(|l| (&l.labels, l.id, l.revision()));
        views.view3d.volume.ensure(ctx, self.gpu.as_ref(), &doc.scan.ct, shown);
        views.plan_checks.update(ctx, &doc.plan, shown);
        let settled = !doc.stroking() && doc.previewed().is_none();
        views.view3d.follow(ctx, doc.layers.shown_layer(), self.gpu.as_ref().map(|g| &g.device), settled);
        // The legend's pieces, recounted once the edits pause.
        if let Some(layer) = doc.layers.shown_layer() {
            if layer.needs_count(EDITS_SETTLE) && settled && !self.tasks.counting_pieces() {
                let (labels, id, revision) = (layer.labels.clone(), layer.id, layer.revision());
                self.tasks.spawn(ctx, TaskKind::CountPieces, generation, "counting pieces", move |_| {
                    let stats = vasa_inference::segment::class_stats(&labels, &vasa_scan::ClassTable::default());
                    Ok(Outcome::PiecesCounted { layer: id, revision, stats })
                });
            } else if !layer.pieces_current() {
                ctx.request_repaint_after(EDITS_SETTLE);
            }
        }
    }

    /// The document's views in the central panel.
    fn central_panel(&mut self, ui: &mut egui::Ui, gpu_ready: bool) {
        match (&self.doc, &mut self.views) {
            (Some(d), Some(v)) => {
                let shown = d.layers.shown_layer();
                let overlay = mpr::Overlay {
                    labels: shown.map(|l| l.labels.as_ref()),
                    styles: v.styles.label_styles(),
                    fill: v.styles.fill,
                    opacity: v.styles.opacity,
                    review: review::marks(shown, &v.review),
                    plan: Some(&d.plan),
                };
                let rect3d = v.mpr.ui(ui, &d.scan.ct, &overlay, gpu_ready);
                if rect3d.is_positive() {
                    let scene = view3d::Scene3d {
                        layers: &v.styles,
                        labels: overlay.labels,
                        label_texture: v.label_texture(),
                        ct: &d.scan.ct,
                        shown: shown.map_or((0, 0), |l| (l.id, l.revision())),
                        plan: Some(&d.plan),
                    };
                    v.view3d.ui(ui, rect3d, scene, &mut v.mpr, gpu_ready);
                }
            }
            _ => {
                ui.centered_and_justified(|ui| {
                    if self.tasks.opening().is_some() {
                        ui.spinner();
                    } else {
                        ui.label("Open a scan: File > Open scan, File > Open DICOM folder, or drop a file here.");
                    }
                });
            }
        }
    }

    /// Tells a pending `--screenshot` how far the scene is.
    fn screenshot_frame(&mut self, ctx: &egui::Context, gpu_ready: bool) {
        let busy = self.is_busy();
        let Some(job) = &mut self.screenshot else { return };
        let state = match (&self.doc, self.tasks.opening()) {
            (_, Some(_)) => screenshot::SceneState::Pending,
            // A kiosk's first frame with the scan (its tour keeps it busy),
            // once the window fills the screen.
            (Some(_), None) if busy && self.kiosk_mode.is_none() => screenshot::SceneState::Pending,
            (Some(_), None)
                if self.kiosk_mode.as_ref().is_some_and(|k| k.created.elapsed() < super::kiosk::FILL_WAIT)
                    && !super::kiosk::fills_screen(ctx) =>
            {
                screenshot::SceneState::Pending
            }
            (Some(_), None) if gpu_ready => screenshot::SceneState::Ready,
            (Some(_), None) => screenshot::SceneState::Failed(self.gpu_error.clone().unwrap_or_default()),
            (None, None) => screenshot::SceneState::Failed(
                self.notices.errors().last().map_or("nothing was opened".into(), |n| n.text.clone()),
            ),
        };
        let rect = job.viewport.and_then(|slot| self.views.as_ref().map(|v| v.mpr.rects[slot.min(3)]));
        job.frame(ctx, state, rect);
    }
}

/// The viewer goes (the window closes, a test ends): its workers are told to
/// stop and joined, so none is still busy while the process exits.
impl Drop for VasaApp {
    fn drop(&mut self) {
        let left = super::job::stop_workers(&self.ctx, std::time::Duration::from_secs(10));
        if left > 0 {
            tracing::warn!("{left} worker(s) still running as the viewer closes");
        }
    }
}

impl eframe::App for VasaApp {
    /// Remembers the settings (eframe calls it now and then and at exit).
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.kiosk_mode.is_none() && self.screenshot.is_none() {
            let prefs = self.prefs();
            self.prefs = prefs.clone();
            eframe::set_value(storage, super::prefs::KEY, &prefs);
        }
    }

    /// A clean exit: the crash-safe session is not needed any more (unsaved
    /// labels were saved, or the user chose to drop them).
    fn on_exit(&mut self) {
        if self.screenshot.is_none()
            && self.restore_offer.is_none()
            && let Some(dir) = self.session_dir()
        {
            session::clear(&dir);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.poll_tasks(&ctx);
        self.poll_dialog();
        self.kiosk_frame(&ctx);
        let answer = quit_dialog::confirm_quit(&ctx, self);
        self.apply_all(answer);
        let answer = restore_dialog::restore_dialog(&ctx, self);
        self.apply_all(answer);
        let answer = super::chrome::export_question::export_question(&ctx, self);
        self.apply_all(answer);
        super::chrome::help::help_windows(&ctx, self);
        self.autosave_session(&ctx, false);
        self.take_dropped_file(&ctx);
        self.sync_views(&ctx);
        if self.is_busy() {
            // Keep progress and ETA moving even between worker reports.
            ctx.request_repaint_after(job::REDRAW_WHILE_BUSY);
        }

        let picked = egui::Panel::top("menu").show(ui, |ui| menus::menu_bar(ui, self)).inner;
        self.apply_all(picked);
        if !self.notices.list.is_empty() {
            egui::Panel::top("notices").show(ui, |ui| self.notices.ui(ui));
        }
        let asked = egui::Panel::bottom("status").show(ui, |ui| status_bar::status_bar(ui, self)).inner;
        self.apply_all(asked);
        let asked = egui::Panel::right("side")
            .default_size(300.0)
            .show(ui, |ui| egui::ScrollArea::vertical().show(ui, |ui| side_panel::side_panel(ui, self)).inner)
            .inner;
        self.apply_all(asked);
        let probe_before = self.views.as_ref().and_then(|v| v.mpr.probe);
        let gpu_ready = self.gpu_error.is_none() && self.views.as_ref().is_some_and(|v| v.on_gpu());
        if self.doc.is_some() {
            let keys = input::shortcuts(&ctx);
            self.apply_all(keys);
        }
        egui::CentralPanel::default().show(ui, |ui| self.central_panel(ui, gpu_ready));
        if let Some(k) = &self.kiosk_mode {
            let mut text = k.caption();
            // The plan's figures and warnings, where visitors look.
            if k.phase == super::kiosk::Phase::Tour(super::kiosk::Step::Plan)
                && let Some(Ok(r)) = self.views.as_ref().and_then(|v| v.plan_checks.reports.first())
            {
                text.push_str(&format!(
                    "\nMargin {:.1} mm ({})",
                    r.margin_mm,
                    if r.covered { "covered" } else { "not covered" }
                ));
                for w in r.warnings.iter().take(2) {
                    text.push_str(&format!("\nWarning: {w}"));
                }
            }
            super::chrome::kiosk_caption::caption(&ctx, &text);
        }
        if let (Some(doc), Some(views)) = (&self.doc, &mut self.views) {
            let labels = doc.layers.shown_layer().map(|l| (&*l.labels, l.id, l.revision()));
            let scene = super::path_views::PathScene {
                ct: &doc.scan.ct,
                labels,
                styles: &views.styles,
                window: views.mpr.window,
                plan: &doc.plan,
            };
            views.path_views.window(&ctx, scene);
        }
        // Edits the tools made in the slice views this frame.
        let edits: Vec<Action> = self.views.as_mut().map(|v| v.mpr.pending.drain(..).collect()).unwrap_or_default();
        if !edits.is_empty() {
            // The panels were laid out before these: show their effect next frame.
            ctx.request_repaint();
        }
        self.apply_all(edits);
        // The status bar was laid out before the views found what the
        // pointer is over: show a change in the next frame.
        if self.views.as_ref().and_then(|v| v.mpr.probe) != probe_before {
            ctx.request_repaint();
        }
        let choice = self.picker.as_mut().and_then(|(p, _)| p.ui(&ctx));
        if let Some(choice) = choice {
            self.apply(Action::ChooseSeries(choice));
        }
        self.screenshot_frame(&ctx, gpu_ready);
        if self.is_extracting() {
            self.frame_stats.record(started.elapsed(), started);
        }
    }
}
