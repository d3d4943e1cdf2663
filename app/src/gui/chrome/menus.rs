//! The menu bar: File (open, recent, labels, screenshots, quit), View
//! (window presets, reset, maximise) and the preset buttons beside them.

use std::path::PathBuf;

use super::action_button;
use super::dialogs::Purpose;
use crate::gui::VasaApp;
use crate::gui::actions::Action;
use crate::gui::loading::Source;
use crate::gui::mpr::PRESETS;
use crate::gui::screenshot;

/// Draws the menu bar; returns what the user picked.
pub fn menu_bar(ui: &mut egui::Ui, app: &mut VasaApp) -> Vec<Action> {
    let mut actions = Vec::new();
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| file_menu(ui, app, &mut actions));
        ui.menu_button("View", |ui| view_menu(ui, app, &mut actions));
        ui.separator();
        if let Some(v) = &app.views {
            for (n, (name, c, w)) in PRESETS.iter().enumerate() {
                let on = v.mpr.window == (*c, *w);
                if ui.selectable_label(on, format!("{} {name}", n + 1)).clicked() {
                    actions.push(Action::WindowPreset(n));
                }
            }
        }
    });
    actions
}

fn file_menu(ui: &mut egui::Ui, app: &mut VasaApp, actions: &mut Vec<Action>) {
    let kiosk = app.kiosk.clone();
    action_button(ui, &kiosk, true, "Open scan…", Action::ChooseFile(Purpose::OpenScanFile), actions);
    action_button(ui, &kiosk, true, "Open DICOM folder…", Action::ChooseFile(Purpose::OpenScanFolder), actions);
    let may_open = kiosk.allowed(&Action::Open(Source::Sample));
    ui.horizontal(|ui| {
        let field = ui.add_enabled(
            may_open,
            egui::TextEdit::singleline(&mut app.path_field).hint_text("or type a path").desired_width(260.0),
        );
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let typed = app.path_field.trim();
        if (ui.add_enabled(may_open, egui::Button::new("Open")).clicked() || enter) && !typed.is_empty() {
            actions.push(Action::Open(Source::Path(PathBuf::from(typed))));
            ui.close();
        }
    });
    ui.menu_button("Open recent", |ui| {
        if app.recent.paths.is_empty() {
            ui.label("(none yet)");
        }
        for p in &app.recent.paths {
            if action_button(ui, &kiosk, true, p.display().to_string(), Action::OpenRecent(p.clone()), actions) {
                ui.close();
            }
        }
    });
    action_button(ui, &kiosk, true, "Open the sample", Action::Open(Source::Sample), actions);
    ui.separator();
    let has_scan = app.doc.is_some();
    action_button(ui, &kiosk, has_scan, "Open labels…", Action::ChooseFile(Purpose::OpenLabels), actions);
    let save = app.save_shown_labels();
    let save_enabled = save.is_some();
    let save = save.unwrap_or(Action::ChooseFile(Purpose::SaveLabels { layer: 0, generation: 0 }));
    action_button(ui, &kiosk, save_enabled, "Save labels…", save, actions);
    action_button(ui, &kiosk, has_scan, "Open plan…", Action::ChooseFile(Purpose::OpenPlan), actions);
    action_button(ui, &kiosk, has_scan, "Save plan…", Action::ChooseFile(Purpose::SavePlan), actions);
    ui.menu_button("Export", |ui| {
        use crate::gui::exports::ExportKind;
        let has_labels = app.doc.as_ref().is_some_and(|d| d.layers.shown_layer().is_some());
        for (kind, name) in [
            (ExportKind::Seg, "DICOM SEG…"),
            (ExportKind::Stl, "STL surfaces (folder)…"),
            (ExportKind::Obj, "OBJ surfaces (folder)…"),
            (ExportKind::Glb, "glTF scene with the plan…"),
            (ExportKind::Report, "Report (HTML and JSON)…"),
        ] {
            if action_button(ui, &kiosk, has_labels, name, Action::ChooseFile(Purpose::Export(kind)), actions) {
                ui.close();
            }
        }
        let mut deidentify = app.export_deidentified;
        if ui.checkbox(&mut deidentify, "de-identify (patient name, ID, dates)").changed() {
            actions.push(Action::SetDeidentify(deidentify));
        }
    });
    ui.menu_button("Save screenshot", |ui| {
        for slot in 0..5 {
            let action = Action::ChooseFile(Purpose::SaveScreenshot(slot));
            if action_button(ui, &kiosk, has_scan, screenshot::slot_name(slot), action, actions) {
                ui.close();
            }
        }
    });
    ui.separator();
    action_button(ui, &kiosk, true, "Quit", Action::Quit, actions);
}

fn view_menu(ui: &mut egui::Ui, app: &VasaApp, actions: &mut Vec<Action>) {
    let Some(v) = &app.views else { return };
    for (n, (name, _, _)) in PRESETS.iter().enumerate() {
        if ui.button(format!("{name} window ({})", n + 1)).clicked() {
            actions.push(Action::WindowPreset(n));
        }
    }
    if ui.button("Reset view (R)").clicked() {
        actions.push(Action::ResetView);
    }
    for (slot, name) in ["Axial", "Coronal", "Sagittal", "3D"].iter().enumerate() {
        let on = v.mpr.maximised == Some(slot);
        if ui.selectable_label(on, format!("Maximise {name}")).clicked() {
            actions.push(Action::SetMaximised(if on { None } else { Some(slot) }));
        }
    }
}
