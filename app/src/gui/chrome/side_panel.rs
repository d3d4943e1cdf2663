//! The side panel: the extraction's options, its button or progress, and
//! the label legend.

use super::action_button;
use crate::gui::VasaApp;
use crate::gui::actions::Action;
use crate::gui::{job, review};

/// Draws the side panel; returns what the user asked for.
pub fn side_panel(ui: &mut egui::Ui, app: &mut VasaApp) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.heading("Vessel extraction");
    let running = app.tasks.extraction().is_some();
    ui.add_enabled_ui(!running, |ui| app.extract_options.ui(ui));
    match app.tasks.extraction() {
        Some(task) => {
            if job::progress_ui(ui, &task.job) {
                actions.push(Action::CancelExtraction);
            }
        }
        None => {
            let has_scan = app.doc.is_some();
            action_button(ui, &app.kiosk, has_scan, "Extract vessels", Action::ExtractVessels, &mut actions);
        }
    }
    ui.separator();
    if let (Some(d), Some(v)) = (&mut app.doc, &mut app.views) {
        v.styles.legend_ui(ui, &mut d.layers, &mut actions);
        if let Some(layer) = d.layers.shown_layer() {
            review::review_ui(ui, layer, &v.review, &app.kiosk, &mut actions);
        }
    }
    super::edit_panel::edit_panel(ui, app, &mut actions);
    super::plan_panel::plan_panel(ui, app, &mut actions);
    super::view3d_panel::view3d_panel(ui, app, &mut actions);
    actions
}
