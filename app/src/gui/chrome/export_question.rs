//! Before an export into a folder replaces files there: the files are named
//! and the user replaces them or keeps them.

use crate::gui::VasaApp;
use crate::gui::actions::Action;

/// Asks about the pending folder export, if any; returns the answer.
pub fn export_question(ctx: &egui::Context, app: &mut VasaApp) -> Vec<Action> {
    let mut actions = Vec::new();
    let Some((kind, path, files)) = app.export_question.clone() else { return actions };
    let modal = egui::Modal::new(egui::Id::unique("replace exported files")).show(ctx, |ui| {
        ui.heading("Replace files?");
        ui.label(format!("Exporting the {} to {} replaces:", kind.describe(), path.display()));
        for f in files.iter().take(8) {
            ui.label(format!(
                "- {}",
                f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into())
            ));
        }
        ui.horizontal(|ui| {
            if ui.button("Replace").clicked() {
                actions.push(Action::Export { kind, path: path.clone(), replace: true });
                app.export_question = None;
            }
            if ui.button("Cancel").clicked() {
                app.export_question = None;
            }
        });
    });
    if modal.should_close() {
        app.export_question = None;
    }
    actions
}
