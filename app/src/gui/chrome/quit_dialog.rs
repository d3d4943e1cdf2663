//! Quitting with unsaved labels or plan: a close of the window is held and the user
//! is asked to save them, lose them, or keep working. A kiosk policy that
//! forbids quitting holds every close.

use super::dialogs::Purpose;
use crate::gui::VasaApp;
use crate::gui::actions::Action;

/// Holds a close of the window that would lose labels (or that the kiosk
/// policy forbids) and asks; returns the user's answer.
pub fn confirm_quit(ctx: &egui::Context, app: &mut VasaApp) -> Vec<Action> {
    let mut actions = Vec::new();
    let closing = ctx.input(|i| i.viewport().close_requested());
    if closing && app.screenshot.is_none() && !app.kiosk_quit && !app.allows(&Action::Quit) {
        ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        return actions;
    }
    if closing && app.screenshot.is_none() && !app.quit_confirmed && !app.unsaved_work().is_empty() {
        ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        app.asking_to_quit = true;
    }
    if !app.asking_to_quit {
        return actions;
    }
    let unsaved = app.unsaved_work();
    let modal = egui::Modal::new(egui::Id::unique("quit with unsaved labels")).show(ctx, |ui| {
        ui.heading(if unsaved.iter().all(|n| n == "the plan") { "Plan not saved" } else { "Labels not saved" });
        for name in &unsaved {
            ui.label(format!("- {name}"));
        }
        ui.label("Quit anyway and lose them?");
        ui.horizontal(|ui| {
            if ui.button("Save labels…").clicked() {
                if let Some(d) = &app.doc
                    && let Some(i) = d.layers.layers.iter().position(|l| l.unsaved)
                {
                    let layer = d.layers.layers[i].id;
                    actions.push(Action::ShowLayer(Some(i)));
                    actions.push(Action::ChooseFile(Purpose::SaveLabels { layer, generation: d.generation }));
                }
                app.asking_to_quit = false;
            }
            if app.doc.as_ref().is_some_and(|d| d.plan_unsaved()) && ui.button("Save plan…").clicked() {
                actions.push(Action::ChooseFile(Purpose::SavePlan));
                app.asking_to_quit = false;
            }
            if ui.button("Quit without saving").clicked() {
                actions.push(Action::QuitDiscardingLabels);
            }
            if ui.button("Keep working").clicked() {
                app.asking_to_quit = false;
            }
        });
    });
    if modal.should_close() {
        app.asking_to_quit = false;
    }
    actions
}
