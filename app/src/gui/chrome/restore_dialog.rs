//! After a crash: the session autosave of the last run is offered back
//! (its scan and unsaved label layers, with their edit logs), or dropped.

use crate::gui::VasaApp;
use crate::gui::actions::Action;

/// Asks whether to restore the session left by a run that did not end
/// cleanly; returns the answer.
pub fn restore_dialog(ctx: &egui::Context, app: &VasaApp) -> Vec<Action> {
    let mut actions = Vec::new();
    let Some(s) = &app.restore_offer else { return actions };
    if app.screenshot_pending() {
        return actions;
    }
    let age_min = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(s.saved_unix_s)
        / 60;
    egui::Modal::new(egui::Id::unique("restore the last session")).show(ctx, |ui| {
        ui.heading("Restore unsaved labels?");
        ui.label(format!("Vasa did not close cleanly. Autosaved {age_min} min ago, for {}:", s.scan_name));
        for l in &s.layers {
            ui.label(format!("- {}", l.name));
        }
        ui.horizontal(|ui| {
            if ui.button("Restore").clicked() {
                actions.push(Action::RestoreSession);
            }
            if ui.button("Discard").clicked() {
                actions.push(Action::DiscardSession);
            }
        });
    });
    actions
}
