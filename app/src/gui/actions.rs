//! Everything the user can ask for, as one [`Action`] type: the menus, the
//! buttons, the keyboard shortcuts, dropped files and the file dialogs'
//! answers all produce actions, and [`VasaApp::apply`] carries them out
//! after asking the [`KioskPolicy`] (a viewer on display can forbid, say,
//! opening and saving files).

use std::path::PathBuf;

use super::VasaApp;
use super::chrome::dialogs::{self, Purpose};
use super::chrome::notices::Level;
use super::chrome::series_picker::Choice;
use super::loading::Source;
use super::mpr::{PLANES, PRESETS};
use super::review::ReviewStep;
use super::tools::Tool;
use crate::doc::plan::PlanOp;

/// How far around a click the vessel's axis is measured for a relabel cut
/// (mm): a few vessel radii of a segmental artery.
const CUT_AXIS_RADIUS_MM: f64 = 4.0;

/// Something the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a scan: a file, a DICOM folder, or the sample.
    Open(Source),
    /// Open an entry of the recent list (forgotten when it no longer exists).
    OpenRecent(PathBuf),
    /// Open labels onto the open scan.
    OpenLabels(PathBuf),
    /// Ask for a file in a native dialog; its answer becomes another action.
    ChooseFile(Purpose),
    /// Save layer `layer` of document `generation` to `path`.
    SaveLabels {
        /// The layer's id.
        layer: u64,
        /// The document's generation.
        generation: u64,
        /// Where.
        path: PathBuf,
    },
    /// Capture viewport `slot` (0–3; 4: the whole window) to a PNG.
    SaveScreenshot {
        /// The viewport.
        slot: usize,
        /// Where.
        path: PathBuf,
    },
    /// Save the 3D view's transfer function to `PathBuf` (JSON).
    SaveTransferFunction(PathBuf),
    /// Load a transfer function (JSON) into the 3D view.
    OpenTransferFunction(PathBuf),
    /// Save the plan to `PathBuf` (JSON).
    SavePlan(PathBuf),
    /// Export the shown labels (and the plan) as `kind` to `path`;
    /// `replace`: the user agreed to replace the files there.
    Export {
        /// What to write.
        kind: crate::gui::exports::ExportKind,
        /// The file or folder.
        path: PathBuf,
        /// Replacing files there was agreed to.
        replace: bool,
    },
    /// De-identify what is exported (DICOM PS3.15 basic profile).
    SetDeidentify(bool),
    /// Open the plan at `PathBuf` onto the open scan (replacing the plan).
    OpenPlan(PathBuf),
    /// The series picker's answer.
    ChooseSeries(Choice),
    /// Stop opening a scan.
    CancelOpening,
    /// Extract the vessels of the open scan.
    ExtractVessels,
    /// Stop the extraction.
    CancelExtraction,
    /// Show label layer number `usize` (`None`: no labels).
    ShowLayer(Option<usize>),
    /// Window preset number `usize` of [`PRESETS`].
    WindowPreset(usize),
    /// Back to the whole volume, centred, default window.
    ResetView,
    /// Maximise viewport `usize` (0–3), or show the grid.
    SetMaximised(Option<usize>),
    /// Maximise the viewport under the pointer, or restore the grid (F).
    ToggleMaximised,
    /// Step slices of the viewport under the pointer (else the maximised
    /// one, else axial); positive: towards the plane's normal.
    StepSlices(i32),
    /// Choose what the primary button does in the slice views.
    SetTool(Tool),
    /// Step through the shown layer's branches to review (the crosshair
    /// goes to each).
    ReviewBranch(ReviewStep),
    /// Apply an edit to the shown label layer (logged, undoable).
    Edit(vasa_edit::EditOp),
    /// Continue (or start) a brush stroke on the shown layer to a point
    /// (LPS mm); the voxels change at once.
    StrokeTo {
        /// The pointer's position (LPS mm).
        point_mm: [f64; 3],
        /// The brush.
        brush: crate::doc::Brush,
    },
    /// The stroke ends (the button was released): logged, one undo step.
    EndStroke,
    /// Show the piece under `at_mm` relabelled as `to` (only beyond the
    /// click, cut across the vessel, when `cut`), not made until applied.
    PreviewRelabel {
        /// The click (LPS mm).
        at_mm: [f64; 3],
        /// The new class.
        to: u8,
        /// Only the distal part.
        cut: bool,
    },
    /// Change the plan (lesion, applicators, rulers, settings).
    Plan(crate::doc::plan::PlanOp),
    /// Move the crosshair to this patient point (LPS mm).
    GoTo([f64; 3]),
    /// Show or hide the selected applicator's path views.
    ShowPathViews(bool),
    /// Make the previewed edit (Enter).
    ApplyPreview,
    /// Drop the previewed edit, or the first point of a connect (Esc).
    CancelPreview,
    /// Decide about the branch under review (logged), then go to the next.
    ReviewDecision(vasa_edit::ReviewDecision),
    /// Undo the last label edit.
    Undo,
    /// Redo the last undone label edit.
    Redo,
    /// The editing tools' class (1 artery, 2 vein, 3 aorta).
    SetEditClass(u8),
    /// A larger (> 0) or smaller brush, 25 % per step.
    ResizeBrush(i32),
    /// Restore the session a crashed run left (its scan and labels).
    RestoreSession,
    /// Drop the session a crashed run left.
    DiscardSession,
    /// Close the window (asks first when labels are unsaved).
    Quit,
    /// Close the window, dropping unsaved labels.
    QuitDiscardingLabels,
}

/// What an action does, as a kiosk policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Reads files or replaces the scan (open, recent, labels, series).
    OpenFiles,
    /// Writes files (labels, screenshots).
    SaveFiles,
    /// Starts long computations (the extraction).
    Compute,
    /// Changes labels (edits, undo, redo).
    EditLabels,
    /// Changes the plan.
    EditPlan,
    /// Changes only what is shown (window, views, layers, tools, cancelling).
    View,
    /// Closes the window.
    Quit,
}

impl ActionKind {
    /// The kind in words, for the message when it is not allowed.
    pub fn describe(self) -> &'static str {
        match self {
            ActionKind::OpenFiles => "opening files",
            ActionKind::SaveFiles => "saving files",
            ActionKind::Compute => "extracting vessels",
            ActionKind::EditLabels => "editing labels",
            ActionKind::EditPlan => "planning",
            ActionKind::View => "changing the view",
            ActionKind::Quit => "quitting",
        }
    }
}

impl Action {
    /// What the action does, for the kiosk policy.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Open(_) | Action::OpenRecent(_) | Action::OpenLabels(_) => ActionKind::OpenFiles,
            Action::RestoreSession | Action::DiscardSession => ActionKind::OpenFiles,
            Action::ChooseSeries(Choice::Open(_)) => ActionKind::OpenFiles,
            Action::ChooseFile(p) if p.saves() => ActionKind::SaveFiles,
            Action::ChooseFile(_) => ActionKind::OpenFiles,
            Action::SaveLabels { .. } | Action::SaveScreenshot { .. } => ActionKind::SaveFiles,
            Action::SaveTransferFunction(_) | Action::SavePlan(_) | Action::Export { .. } => ActionKind::SaveFiles,
            Action::SetDeidentify(_) => ActionKind::View,
            Action::Plan(_) => ActionKind::EditPlan,
            Action::GoTo(_) | Action::ShowPathViews(_) => ActionKind::View,
            Action::OpenTransferFunction(_) | Action::OpenPlan(_) => ActionKind::OpenFiles,
            Action::ExtractVessels => ActionKind::Compute,
            Action::Edit(_) | Action::Undo | Action::Redo | Action::ReviewDecision(_) => ActionKind::EditLabels,
            Action::StrokeTo { .. }
            | Action::EndStroke
            | Action::PreviewRelabel { .. }
            | Action::ApplyPreview
            | Action::CancelPreview => ActionKind::EditLabels,
            Action::Quit | Action::QuitDiscardingLabels => ActionKind::Quit,
            Action::ChooseSeries(Choice::Cancel)
            | Action::CancelOpening
            | Action::CancelExtraction
            | Action::ShowLayer(_)
            | Action::WindowPreset(_)
            | Action::ResetView
            | Action::SetMaximised(_)
            | Action::ToggleMaximised
            | Action::StepSlices(_)
            | Action::SetTool(_)
            | Action::ReviewBranch(_)
            | Action::SetEditClass(_)
            | Action::ResizeBrush(_) => ActionKind::View,
        }
    }
}

/// Which kinds of action this viewer allows. The default allows all; a
/// kiosk (a viewer on display, a teaching station) forbids some.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KioskPolicy {
    forbidden: Vec<ActionKind>,
}

impl KioskPolicy {
    /// Everything allowed.
    pub fn allow_all() -> Self {
        KioskPolicy::default()
    }

    /// Everything but `kinds`.
    pub fn forbidding(kinds: impl IntoIterator<Item = ActionKind>) -> Self {
        KioskPolicy { forbidden: kinds.into_iter().collect() }
    }

    /// True when `action` may be carried out.
    pub fn allowed(&self, action: &Action) -> bool {
        !self.forbidden.contains(&action.kind())
    }
}

impl VasaApp {
    /// True when the kiosk policy allows `action` (menus grey out the rest).
    pub fn allows(&self, action: &Action) -> bool {
        self.kiosk.allowed(action)
    }

    /// Carries out `action`, when the kiosk policy allows it.
    pub fn apply(&mut self, action: Action) {
        if !self.allows(&action) {
            tracing::info!("not allowed here: {action:?}");
            self.notices.push(Level::Info, format!("{} is turned off here", action.kind().describe()));
            return;
        }
        let ctx = self.ctx.clone();
        if let Some(doc) = &mut self.doc {
            // A stroke ends with anything but its next point; a preview
            // is dropped by anything that is not about it or the view.
            if !matches!(action, Action::StrokeTo { .. }) {
                doc.finish_stroke();
            }
            let about_preview =
                matches!(action, Action::PreviewRelabel { .. } | Action::ApplyPreview | Action::CancelPreview);
            if !about_preview && action.kind() != ActionKind::View {
                doc.cancel_preview();
            }
        }
        match action {
            Action::Open(source) => self.open(&ctx, source),
            Action::OpenRecent(p) => {
                if p.exists() {
                    self.open(&ctx, Source::Path(p));
                } else {
                    self.notices.push(Level::Error, format!("{}: no longer exists", p.display()));
                    let _ = self.recent.remove(&p);
                }
            }
            Action::OpenLabels(p) => self.open_labels(&ctx, p),
            Action::ChooseFile(purpose) => {
                if self.dialog.is_none() {
                    self.dialog = Some(dialogs::ask(&ctx, purpose, &self.recent));
                }
            }
            Action::SaveLabels { layer, generation, path } => self.save_layer(&ctx, layer, generation, path),
            Action::SaveScreenshot { slot, path } => self.save_screenshot(&ctx, slot, path),
            Action::SaveTransferFunction(path) => {
                let Some(v) = &self.views else { return };
                match crate::gui::volume3d::save_transfer_function(&path, &v.view3d.volume.transfer) {
                    Ok(()) => {
                        self.notices.push(Level::Info, format!("saved the transfer function to {}", path.display()))
                    }
                    Err(e) => self.notices.push(Level::Error, e),
                }
            }
            Action::OpenTransferFunction(path) => match crate::gui::volume3d::load_transfer_function(&path) {
                Ok(tf) => {
                    if let Some(v) = &mut self.views {
                        v.view3d.volume.transfer = tf;
                        v.view3d.volume.tf_selected = None;
                    }
                }
                Err(e) => self.notices.push(Level::Error, e),
            },
            Action::SavePlan(path) => self.save_plan(&ctx, path),
            Action::Export { kind, path, replace } => {
                let replaced = if replace { Vec::new() } else { self.export_would_replace(kind, &path) };
                if replaced.is_empty() {
                    self.export(&ctx, kind, path);
                } else {
                    self.export_question = Some((kind, path, replaced));
                }
            }
            Action::SetDeidentify(on) => self.export_deidentified = on,
            Action::OpenPlan(path) => self.open_plan(&ctx, path),
            Action::ChooseSeries(choice) => self.choose_series(&ctx, choice),
            Action::CancelOpening => {
                if let Some(t) = self.tasks.opening() {
                    t.job.cancel();
                }
            }
            Action::ExtractVessels => self.start_extraction(&ctx),
            Action::CancelExtraction => self.cancel_extraction(),
            Action::RestoreSession => self.restore_session(&ctx),
            Action::DiscardSession => self.discard_session(),
            Action::Edit(op) => self.edit_shown_layer(op),
            Action::StrokeTo { point_mm, brush } => self.stroke_shown_layer(point_mm, brush),
            Action::EndStroke => {} // ended above
            Action::PreviewRelabel { at_mm, to, cut } => self.preview_relabel(at_mm, to, cut),
            Action::Plan(op) => {
                let added = matches!(op, PlanOp::AddApplicator { .. });
                if let Some(d) = &mut self.doc
                    && d.plan.apply(op)
                    && added
                    && let Some(v) = &mut self.views
                {
                    // A new path: show it from the probe's eye and alongside.
                    v.path_views.open = true;
                    v.path_views.depth_mm = 0.0;
                }
            }
            Action::ShowPathViews(open) => {
                if let Some(v) = &mut self.views {
                    v.path_views.open = open;
                }
            }
            Action::GoTo(p) => {
                if let (Some(v), Some(d)) = (&mut self.views, &self.doc) {
                    v.mpr.cursor = super::slice_camera::clamp_to_volume(&d.scan.ct, glam::DVec3::from_array(p));
                }
            }
            Action::ApplyPreview => {
                if let Some(d) = &mut self.doc {
                    d.commit_preview();
                }
            }
            Action::CancelPreview => {
                if let Some(d) = &mut self.doc {
                    d.cancel_preview();
                }
                if let Some(v) = &mut self.views {
                    v.mpr.connect_from = None;
                    v.mpr.polygon = None;
                    v.mpr.plan_first = None;
                }
            }
            Action::ReviewDecision(decision) => {
                let ops = (|| {
                    let layer = self.doc.as_ref()?.layers.shown_layer()?;
                    let branch = self.views.as_ref()?.review.current_branch(layer)?;
                    Some(crate::gui::review::decision_ops(layer.tree.as_deref()?, branch, decision))
                })();
                for op in ops.unwrap_or_default() {
                    self.edit_shown_layer(op);
                }
                self.apply(Action::ReviewBranch(ReviewStep::Next));
            }
            Action::Undo | Action::Redo => {
                let undo = action == Action::Undo;
                let done = self.doc.as_mut().is_some_and(|d| if undo { d.undo() } else { d.redo() });
                if !done {
                    self.notices.push(Level::Info, format!("nothing to {}", if undo { "undo" } else { "redo" }));
                }
            }
            Action::ShowLayer(i) => {
                if let Some(d) = &mut self.doc {
                    d.layers.shown = i.filter(|&i| i < d.layers.layers.len());
                }
            }
            Action::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Action::QuitDiscardingLabels => {
                self.quit_confirmed = true;
                self.asking_to_quit = false;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            view => self.apply_to_views(view),
        }
    }

    /// The actions that change only the slice views.
    fn apply_to_views(&mut self, action: Action) {
        let (Some(doc), Some(views)) = (&self.doc, &mut self.views) else { return };
        let mpr = &mut views.mpr;
        match action {
            Action::WindowPreset(n) => {
                if let Some((_, c, w)) = PRESETS.get(n) {
                    mpr.window = (*c, *w);
                }
            }
            Action::ResetView => mpr.reset(&doc.scan.ct),
            Action::SetMaximised(slot) => mpr.maximised = slot.filter(|&s| s < 4),
            Action::ToggleMaximised => mpr.toggle_maximised(mpr.maximised.or(mpr.hovered).unwrap_or(0)),
            Action::SetTool(tool) => mpr.tool = tool,
            Action::SetEditClass(c) => mpr.edit.class = c,
            Action::ResizeBrush(steps) => mpr.edit = mpr.edit.resized(steps),
            Action::ReviewBranch(step) => {
                if let Some(layer) = doc.layers.shown_layer()
                    && let Some(at) = views.review.step(layer, step)
                {
                    views.mpr.cursor = crate::gui::slice_camera::clamp_to_volume(&doc.scan.ct, at);
                }
            }
            Action::StepSlices(n) => {
                let slot = mpr.key_target();
                mpr.step(&doc.scan.ct, PLANES[slot], n as f64);
            }
            other => tracing::warn!("not a view action: {other:?}"),
        }
    }

    /// Applies `op` to the shown label layer; an edit that cannot be made
    /// (a relabel on background, a point off the scan) is a notice.
    fn edit_shown_layer(&mut self, op: vasa_edit::EditOp) {
        let Some(doc) = &mut self.doc else { return };
        let Some(layer) = doc.layers.shown_layer().map(|l| l.id) else {
            self.notices.push(Level::Info, "show a label layer to edit it (or extract the vessels)".to_string());
            return;
        };
        if let Err(e) = doc.apply_edit(layer, op) {
            self.notices.push(Level::Info, format!("edit not made: {e}"));
        }
    }

    /// Continues the brush stroke on the shown layer.
    fn stroke_shown_layer(&mut self, point_mm: [f64; 3], brush: crate::doc::Brush) {
        let Some(doc) = &mut self.doc else { return };
        let Some(layer) = doc.layers.shown_layer().map(|l| l.id) else {
            self.notices.push(Level::Info, "show a label layer to edit it (or extract the vessels)".to_string());
            return;
        };
        if let Err(e) = doc.stroke_to(layer, brush, point_mm) {
            self.notices.push(Level::Info, format!("edit not made: {e}"));
        }
    }

    /// Previews relabelling the piece at `at_mm` on the shown layer (only
    /// beyond the click when `cut`: the cut plane across the vessel there).
    fn preview_relabel(&mut self, at_mm: [f64; 3], to: u8, cut: bool) {
        let Some(doc) = &mut self.doc else { return };
        let Some(layer) = doc.layers.shown_layer() else {
            self.notices.push(Level::Info, "show a label layer to edit it (or extract the vessels)".to_string());
            return;
        };
        let id = layer.id;
        let cut_normal = if cut {
            match vasa_edit::distal_normal(&layer.labels, at_mm, CUT_AXIS_RADIUS_MM) {
                Ok(n) => Some(n),
                Err(e) => {
                    self.notices.push(Level::Info, format!("edit not made: {e}"));
                    return;
                }
            }
        } else {
            None
        };
        if let Err(e) = doc.preview_edit(id, vasa_edit::EditOp::Relabel { at_mm, to, cut_normal }) {
            self.notices.push(Level::Info, format!("edit not made: {e}"));
        }
    }

    /// The action of File ▸ Save labels: a save dialog for the layer shown now.
    pub fn save_shown_labels(&self) -> Option<Action> {
        let layer = self.doc.as_ref()?.layers.shown_layer()?;
        Some(Action::ChooseFile(Purpose::SaveLabels { layer: layer.id, generation: self.generation }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use glam::DVec3;
    use vasa_scan::{Geometry, Volume};

    use super::*;
    use crate::doc::LabelLayer;
    use crate::gui::loading::Loaded;
    use crate::settings::Recent;

    /// An app showing a small scan with one label layer, without a GPU.
    /// Polls `app`'s tasks until none runs (30 s at most).
    fn wait(app: &mut VasaApp) {
        let ctx = app.ctx.clone();
        for _ in 0..3000 {
            app.poll_tasks(&ctx);
            if app.tasks.is_idle() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("tasks did not finish");
    }

    fn app_with_a_scan() -> VasaApp {
        let ctx = egui::Context::default();
        let mut app = VasaApp::empty(&ctx, None, Recent::default());
        app.autosave_dir = None;
        let g = Geometry::axis_aligned(DVec3::new(1.0, 1.0, 2.0), DVec3::ZERO);
        let ct = Volume::filled([16, 16, 8], 0i16, g);
        let layer = LabelLayer::new("labels", Volume::filled([16, 16, 8], 1u8, g));
        let loaded = Loaded {
            ct: Arc::new(ct),
            metadata: Default::default(),
            warnings: Vec::new(),
            hu_range: Some((0, 0)),
            name: "small".into(),
            path: None,
            layer: Some(layer),
            gpu: None,
        };
        app.show_scan(&ctx, loaded);
        app
    }

    #[test]
    fn view_actions_change_the_views() {
        let mut app = app_with_a_scan();
        fn mpr(app: &VasaApp) -> &crate::gui::mpr::Mpr {
            &app.views.as_ref().unwrap().mpr
        }
        app.apply(Action::WindowPreset(0));
        assert_eq!(mpr(&app).window, (-600.0, 1500.0));
        app.apply(Action::SetMaximised(Some(2)));
        assert_eq!(mpr(&app).maximised, Some(2));
        app.apply(Action::ToggleMaximised);
        assert_eq!(mpr(&app).maximised, None);
        app.apply(Action::ToggleMaximised);
        assert_eq!(mpr(&app).maximised, Some(0), "nothing hovered: axial");
        // Maximised sagittal: the arrows step sagittal slices (1 mm along
        // the normal, −x: towards the patient's right).
        app.apply(Action::SetMaximised(Some(2)));
        let x = mpr(&app).cursor.x;
        app.apply(Action::StepSlices(1));
        assert_eq!(mpr(&app).cursor.x, x - 1.0);
        app.apply(Action::ResetView);
        assert_eq!((mpr(&app).window, mpr(&app).maximised), ((40.0, 400.0), None));
        app.apply(Action::SetTool(Tool::WindowLevel));
        assert_eq!(mpr(&app).tool, Tool::WindowLevel);
        app.apply(Action::ResetView);
        assert_eq!(mpr(&app).tool, Tool::WindowLevel, "a reset keeps the tool");
        app.apply(Action::ShowLayer(None));
        assert!(app.doc.as_ref().unwrap().layers.shown_layer().is_none());
        app.apply(Action::ShowLayer(Some(0)));
        assert!(app.doc.as_ref().unwrap().layers.shown_layer().is_some());
        // Save labels asks for a file for the shown layer of this document.
        let id = app.doc.as_ref().unwrap().layers.layers[0].id;
        let generation = app.doc.as_ref().unwrap().generation;
        assert_eq!(app.save_shown_labels(), Some(Action::ChooseFile(Purpose::SaveLabels { layer: id, generation })));
    }

    #[test]
    fn reviewing_a_branch_moves_the_crosshair_to_it() {
        use crate::gui::review::ReviewStep;
        let mut app = app_with_a_scan();
        let cursor = |app: &VasaApp| app.views.as_ref().unwrap().mpr.cursor;
        let before = cursor(&app);
        // No graph yet: nothing moves.
        app.apply(Action::ReviewBranch(ReviewStep::Next));
        assert_eq!(cursor(&app), before);
        let layer = &mut app.doc.as_mut().unwrap().layers.layers[0];
        layer.tree = crate::gui::review::tests::layer_with_tree().tree;
        app.apply(Action::ReviewBranch(ReviewStep::Next));
        assert_eq!(cursor(&app), DVec3::new(15.0, 5.0, 0.0), "the widest uncertain branch, clamped to the scan");
        app.apply(Action::ReviewBranch(ReviewStep::Next));
        assert_eq!(cursor(&app), DVec3::new(10.0, 5.0, 0.0));
        assert_eq!(Action::ReviewBranch(ReviewStep::Next).kind(), ActionKind::View);
    }

    #[test]
    fn a_brush_drag_is_one_undo_step_and_its_log_replays() {
        use vasa_edit::EditOp;
        let mut app = app_with_a_scan();
        let figures = |app: &VasaApp, c: u8| app.doc.as_ref().unwrap().layers.layers[0].figures(c).0;
        let brush = crate::doc::Brush { class: 2, radius_mm: 1.0, hu: None, normal: Some([0.0, 0.0, 1.0]) };
        for x in [3.0, 4.0, 6.0, 9.0] {
            app.apply(Action::StrokeTo { point_mm: [x, 5.0, 4.0], brush });
        }
        // Painted as it goes: x 2..=10 along y = 5, plus y = 4 and 6 over x 3..=9 (1 mm radius disc).
        let vein = figures(&app, 2);
        assert!((vein - (9.0 + 14.0) * 0.002).abs() < 1e-9, "{vein}");
        app.apply(Action::EndStroke);
        app.apply(Action::StrokeTo { point_mm: [12.0, 12.0, 4.0], brush: crate::doc::Brush { class: 0, ..brush } });
        app.apply(Action::Undo); // ends the eraser stroke and undoes it
        app.apply(Action::Undo);
        assert_eq!(figures(&app, 2), 0.0, "one undo takes the whole drag");
        app.apply(Action::Redo);
        let doc = app.doc.as_ref().unwrap();
        let layer = &doc.layers.layers[0];
        assert!(matches!(&layer.log[0], EditOp::Stroke { points_mm, .. } if points_mm.len() == 4));
        let mut replayed = layer.base.as_deref().unwrap().clone();
        vasa_edit::replay(&mut replayed, Some(&doc.scan.ct), &layer.log).unwrap();
        assert!(replayed == *layer.labels);
    }

    #[test]
    fn edits_undo_and_redo_change_the_labels_the_legend_and_the_log() {
        use vasa_edit::EditOp;
        let mut app = app_with_a_scan();
        let figures = |app: &VasaApp, c: u8| app.doc.as_ref().unwrap().layers.layers[0].figures(c);
        let (artery_before, _) = figures(&app, 1);
        // The small scan: 1 × 1 × 2 mm voxels from the origin; all artery.
        let paint = EditOp::Paint { class: 2, center_mm: [8.0, 8.0, 8.0], radius_mm: 1.0, hu: None };
        app.apply(Action::Edit(paint.clone()));
        let vein = figures(&app, 2).0;
        assert!((vein - 0.01).abs() < 1e-9, "5 voxels of 2 µL: {vein}");
        assert!((figures(&app, 1).0 - (artery_before - 0.01)).abs() < 1e-9);
        app.apply(Action::Undo);
        assert_eq!(figures(&app, 2).0, 0.0);
        app.apply(Action::Redo);
        assert!((figures(&app, 2).0 - 0.01).abs() < 1e-9);
        // The relabel tool previews: the legend shows it, Esc drops it,
        // Enter makes it.
        let preview = Action::PreviewRelabel { at_mm: [1.0, 1.0, 0.0], to: 3, cut: false };
        app.apply(preview.clone());
        assert_eq!(figures(&app, 1).0, 0.0, "shown as aorta");
        app.apply(Action::CancelPreview);
        assert!(figures(&app, 1).0 > 0.0, "dropped");
        app.apply(preview);
        app.apply(Action::ApplyPreview);
        assert_eq!(figures(&app, 1).0, 0.0, "the whole artery piece is aorta now");
        // An edit that cannot be made is a notice, not a panic.
        app.apply(Action::Edit(EditOp::Relabel { at_mm: [500.0, 0.0, 0.0], to: 1, cut_normal: None }));
        let layer = &app.doc.as_ref().unwrap().layers.layers[0];
        assert_eq!(
            layer.log,
            vec![
                paint,
                EditOp::Undo,
                EditOp::Redo,
                EditOp::Relabel { at_mm: [1.0, 1.0, 0.0], to: 3, cut_normal: None }
            ]
        );
        assert_eq!(app.doc.as_ref().unwrap().history.next_undo().unwrap().op.describe(), "relabel as aorta");
        // A kiosk can forbid editing.
        app.kiosk = KioskPolicy::forbidding([ActionKind::EditLabels]);
        app.apply(Action::Undo);
        assert_eq!(figures(&app, 1).0, 0.0, "not undone: editing is off");
    }

    #[test]
    fn exports_write_their_files_and_a_folder_export_asks_before_replacing() {
        use crate::gui::exports::ExportKind;
        let dir = tempfile::tempdir().unwrap();
        let mut app = app_with_a_scan();
        // Some vein, so there are two classes.
        app.apply(Action::Edit(vasa_edit::EditOp::Paint {
            class: 2,
            center_mm: [8.0, 8.0, 8.0],
            radius_mm: 3.0,
            hu: None,
        }));
        let seg = dir.path().join("v.dcm");
        app.apply(Action::Export { kind: ExportKind::Seg, path: seg.clone(), replace: false });
        wait(&mut app);
        let labels = app.doc.as_ref().unwrap().layers.layers[0].labels.clone();
        let back = vasa_export::seg::read_seg(&seg, &labels.geometry, labels.dims()).unwrap();
        assert_eq!(back.data(), labels.data(), "the SEG holds the shown labels");
        let stl = dir.path().join("stl");
        app.apply(Action::Export { kind: ExportKind::Stl, path: stl.clone(), replace: false });
        wait(&mut app);
        assert!(stl.join("artery.stl").is_file() && stl.join("vein.stl").is_file());
        assert!(app.export_question.is_none());
        // Again: the app asks, naming the files; nothing is written meanwhile.
        let before = std::fs::metadata(stl.join("vein.stl")).unwrap().modified().unwrap();
        app.apply(Action::Export { kind: ExportKind::Stl, path: stl.clone(), replace: false });
        wait(&mut app);
        let (_, _, files) = app.export_question.clone().expect("asked");
        assert_eq!(files.len(), 2);
        assert_eq!(std::fs::metadata(stl.join("vein.stl")).unwrap().modified().unwrap(), before);
        // Agreed: replaced.
        app.export_question = None;
        std::thread::sleep(std::time::Duration::from_millis(20));
        app.apply(Action::Export { kind: ExportKind::Stl, path: stl.clone(), replace: true });
        wait(&mut app);
        assert!(std::fs::metadata(stl.join("vein.stl")).unwrap().modified().unwrap() > before);
        // A report: the dialog asked about the page; the app asks about its JSON twin.
        let page = dir.path().join("r.html");
        std::fs::write(&page, "x").unwrap();
        assert!(app.export_would_replace(ExportKind::Report, &page).is_empty());
        std::fs::write(dir.path().join("r.json"), "x").unwrap();
        assert_eq!(app.export_would_replace(ExportKind::Report, &page), vec![dir.path().join("r.json")]);
        // The kiosk forbids exports.
        let kiosk = KioskPolicy::forbidding([ActionKind::SaveFiles]);
        assert!(!kiosk.allowed(&Action::Export { kind: ExportKind::Glb, path: "x.glb".into(), replace: true }));
    }

    #[test]
    fn a_plan_is_saved_and_opened_again_and_a_bad_file_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = app_with_a_scan();
        let target = glam::DVec3::new(4.0, 5.0, 6.0);
        app.apply(Action::Plan(PlanOp::AddApplicator { target, entry: target - glam::DVec3::Y * 40.0 }));
        app.apply(Action::Plan(PlanOp::Setting(0, 0)));
        assert!(app.doc.as_ref().unwrap().plan_unsaved());
        let path = dir.path().join("a.plan.json");
        app.apply(Action::SavePlan(path.clone()));
        wait(&mut app);
        assert!(!app.doc.as_ref().unwrap().plan_unsaved(), "saved");
        assert_eq!(vasa_plan::PlanFile::read(&path).unwrap().applicators[0].setting.time_min, 1.0);
        // Another plan replaces it; opening the file brings it back.
        app.apply(Action::Plan(PlanOp::RemoveApplicator(0)));
        app.apply(Action::OpenPlan(path.clone()));
        wait(&mut app);
        let plan = &app.doc.as_ref().unwrap().plan;
        assert_eq!((plan.applicators.len(), plan.applicators[0].target, plan.applicators[0].setting), (1, target, 0));
        assert!(!app.doc.as_ref().unwrap().plan_unsaved());
        // A broken file: an error naming it, the plan kept.
        std::fs::write(&path, "{\"format\": \"vasa-plan\", \"version\": 1").unwrap();
        app.notices.list.clear();
        app.apply(Action::OpenPlan(path.clone()));
        wait(&mut app);
        assert_eq!(app.doc.as_ref().unwrap().plan.applicators.len(), 1);
        let said: Vec<String> = app.notices.list.iter().map(|n| n.text.clone()).collect();
        assert!(said.iter().any(|t| t.contains("a.plan.json") && t.contains("not JSON")), "{said:?}");
    }

    #[test]
    fn a_session_left_by_a_crash_is_offered_and_restored_with_its_log() {
        use crate::doc::session;
        use vasa_edit::EditOp;
        let dir = tempfile::tempdir().unwrap();
        let mut app = app_with_a_scan();
        let ct_path = dir.path().join("ct.nii.gz");
        vasa_scan::nifti::write_nifti(&ct_path, &app.doc.as_ref().unwrap().scan.ct).unwrap();
        app.doc.as_mut().unwrap().scan.path = Some(ct_path.clone());
        app.autosave_dir = Some(dir.path().join("autosave"));
        let ctx = app.ctx.clone();
        // Nothing unsaved: nothing written.
        app.autosave_session(&ctx, true);
        wait(&mut app);
        assert!(session::read(&app.session_dir().unwrap()).is_none());
        let paint = EditOp::Paint { class: 2, center_mm: [8.0, 8.0, 8.0], radius_mm: 1.0, hu: None };
        app.apply(Action::Edit(paint.clone()));
        // A plan too: it is kept with the labels.
        app.apply(Action::Plan(PlanOp::PlaceLesion(glam::DVec3::new(4.0, 5.0, 6.0))));
        app.apply(Action::Plan(PlanOp::AddApplicator {
            target: glam::DVec3::new(4.0, 5.0, 6.0),
            entry: glam::DVec3::new(4.0, -50.0, 6.0),
        }));
        assert!(app.unsaved_work().contains(&"the plan".to_string()));
        app.autosave_session(&ctx, true);
        wait(&mut app);
        let edited = app.doc.as_ref().unwrap().layers.layers[0].labels.clone();
        let planned = app.doc.as_ref().unwrap().plan.to_file("x");
        // The app "crashes": dropped without its exit.
        let autosave = app.autosave_dir.clone();
        drop(app);

        let mut again = VasaApp::empty(&ctx, None, crate::settings::Recent::default());
        again.autosave_dir = autosave;
        again.offer_restore();
        let offer = again.restore_offer.clone().expect("the session is offered");
        assert_eq!(offer.scan_path.as_deref(), Some(ct_path.as_path()));
        again.apply(Action::RestoreSession);
        wait(&mut again); // opens the scan
        wait(&mut again); // then its layers
        let layers = &again.doc.as_ref().expect("the scan is open").layers.layers;
        let restored = layers.iter().find(|l| l.log == vec![paint.clone()]).expect("the edited layer with its log");
        assert!(*restored.labels == *edited && restored.unsaved);
        let doc = again.doc.as_ref().unwrap();
        let plan = doc.plan.to_file("x");
        assert_eq!((plan.lesion, plan.applicators), (planned.lesion, planned.applicators), "the plan is back");
        assert!(doc.plan_unsaved(), "a restored plan still needs saving");

        // Discarding clears it; a clean exit too.
        let mut third = VasaApp::empty(&ctx, None, crate::settings::Recent::default());
        third.autosave_dir = again.autosave_dir.clone();
        third.offer_restore();
        assert!(third.restore_offer.is_some());
        third.apply(Action::DiscardSession);
        assert!(session::read(&third.session_dir().unwrap()).is_none());
    }

    #[test]
    fn saved_edited_labels_carry_a_log_that_replays_to_their_bytes() {
        use vasa_edit::EditOp;
        let dir = tempfile::tempdir().unwrap();
        let mut app = app_with_a_scan();
        let ctx = app.ctx.clone();
        let ops = [
            EditOp::Paint { class: 2, center_mm: [8.0, 8.0, 8.0], radius_mm: 2.5, hu: None },
            EditOp::Erase { center_mm: [3.0, 3.0, 2.0], radius_mm: 1.5 },
            EditOp::Undo,
            EditOp::Relabel { at_mm: [8.0, 8.0, 8.0], to: 3, cut_normal: Some([0.0, 0.0, 1.0]) },
        ];
        for op in ops {
            app.apply(Action::Edit(op));
        }
        let (id, generation) = {
            let d = app.doc.as_ref().unwrap();
            (d.layers.layers[0].id, d.generation)
        };
        let path = dir.path().join("edited.nii.gz");
        app.apply(Action::SaveLabels { layer: id, generation, path: path.clone() });
        for _ in 0..500 {
            app.poll_tasks(&ctx);
            if app.tasks.is_idle() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let saved = vasa_scan::nifti::read_labels(&path).unwrap();
        let (base_path, log_path) = crate::gui::commands::provenance_paths(&path);
        let mut replayed = vasa_scan::nifti::read_labels(&base_path).unwrap();
        let log = vasa_edit::log::read(&log_path).unwrap();
        assert_eq!(log.len(), 4);
        let ct = app.doc.as_ref().unwrap().scan.ct.clone();
        replayed.geometry = ct.geometry;
        vasa_edit::replay(&mut replayed, Some(&ct), &log).unwrap();
        assert!(replayed.data() == saved.data(), "the log replays to the saved bytes");
        assert!(saved.data() != vasa_scan::nifti::read_labels(&base_path).unwrap().data(), "the edits did something");
    }

    #[test]
    fn the_kiosk_policy_blocks_forbidden_actions_and_allows_the_rest() {
        let everything = [
            Action::Open(Source::Sample),
            Action::OpenRecent("r".into()),
            Action::OpenLabels("l".into()),
            Action::ChooseFile(Purpose::OpenScanFile),
            Action::ChooseFile(Purpose::SaveScreenshot(0)),
            Action::SaveLabels { layer: 1, generation: 1, path: "s.nii.gz".into() },
            Action::SaveScreenshot { slot: 4, path: "w.png".into() },
            Action::ChooseSeries(Choice::Open(0)),
            Action::ExtractVessels,
            Action::WindowPreset(1),
            Action::ResetView,
            Action::Quit,
        ];
        assert!(everything.iter().all(|a| KioskPolicy::default().allowed(a)), "the default allows all");
        let kiosk = KioskPolicy::forbidding([ActionKind::OpenFiles, ActionKind::SaveFiles]);
        let allowed: Vec<bool> = everything.iter().map(|a| kiosk.allowed(a)).collect();
        assert_eq!(allowed, [false, false, false, false, false, false, false, false, true, true, true, true]);

        let mut app = app_with_a_scan();
        app.kiosk = kiosk;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("labels.nii.gz");
        let id = app.doc.as_ref().unwrap().layers.layers[0].id;
        app.apply(Action::SaveLabels { layer: id, generation: app.doc.as_ref().unwrap().generation, path: out });
        app.apply(Action::Open(Source::Sample));
        assert!(app.tasks.is_idle(), "nothing started");
        assert!(!app.is_loading());
        assert!(app.notices.list.iter().any(|n| n.text == "opening files is turned off here"));
        assert!(app.notices.list.iter().any(|n| n.text == "saving files is turned off here"));
        // What is not forbidden still works.
        app.apply(Action::WindowPreset(2));
        assert_eq!(app.views.as_ref().unwrap().mpr.window, (300.0, 700.0));
    }
}
