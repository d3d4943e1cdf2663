//! The status bar: the opening's progress, the background tasks, the
//! scan's facts, the GPU's trouble, and what the pointer is over.

use crate::gui::VasaApp;
use crate::gui::actions::Action;
use crate::gui::job;

/// Draws the status bar; returns what the user asked for.
pub fn status_bar(ui: &mut egui::Ui, app: &VasaApp) -> Vec<Action> {
    let mut actions = Vec::new();
    if let Some(task) = app.tasks.opening()
        && job::progress_ui(ui, &task.job)
    {
        actions.push(Action::CancelOpening);
    }
    for task in app.tasks.background() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("{}: {}", task.job.what, task.job.status().stage));
        });
    }
    let (Some(d), Some(views)) = (&app.doc, &app.views) else {
        if app.tasks.opening().is_none() && app.picker.is_none() {
            ui.label("No scan open: File > Open scan, or drop a file here.");
        }
        return actions;
    };
    ui.horizontal(|ui| {
        let v = &d.scan.ct;
        let [x, y, z] = v.dims();
        let s = v.geometry.spacing;
        ui.label(format!(
            "{}  {x}×{y}×{z}  {:.2}×{:.2}×{:.2} mm  {}",
            d.scan.name,
            s.x,
            s.y,
            s.z,
            v.geometry.orientation_code()
        ));
        if let Some((lo, hi)) = d.scan.hu_range {
            ui.label(format!("HU {lo}…{hi}"));
        }
        let m = &d.scan.metadata;
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
        if let Some(e) = &app.gpu_error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
        }
    });
    ui.horizontal(|ui| match views.mpr.probe {
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
    actions
}
