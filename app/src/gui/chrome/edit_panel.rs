//! The label-editing section of the side panel: the tool, the class it
//! paints or gives, the brush radius and HU limit, and undo/redo buttons
//! that say what they will undo, with the memory the history holds.

use super::action_button;
use crate::gui::VasaApp;
use crate::gui::actions::Action;
use crate::gui::tools::Tool;

/// HU range of the "vessel HU only" brush option: blood, plain or enhanced,
/// and its partial volume in lung; not aerated lung, not bone.
pub const VESSEL_HU: [i16; 2] = [-400, 600];

/// Draws the section; pushes what the user asked for onto `actions`.
pub fn edit_panel(ui: &mut egui::Ui, app: &mut VasaApp, actions: &mut Vec<Action>) {
    let (Some(doc), Some(views)) = (&app.doc, &mut app.views) else { return };
    ui.separator();
    ui.heading("Edit labels");
    let mpr = &mut views.mpr;
    ui.horizontal_wrapped(|ui| {
        for (tool, key) in Tool::ALL.into_iter().filter(|(t, _)| !t.plans()) {
            let text = format!("{} ({key})", tool.name());
            if ui.selectable_label(mpr.tool == tool, text).on_hover_text(tool.help()).clicked() {
                actions.push(Action::SetTool(tool));
            }
        }
    });
    let table = vasa_scan::ClassTable::default();
    ui.horizontal(|ui| {
        ui.label("class");
        for c in 1..=4u8 {
            if ui.selectable_label(mpr.edit.class == c, table.name(c)).clicked() {
                actions.push(Action::SetEditClass(c));
            }
        }
    });
    ui.add(egui::Slider::new(&mut mpr.edit.radius_mm, 0.5..=30.0).logarithmic(true).text("brush radius mm ([ ])"));
    ui.horizontal(|ui| {
        use crate::gui::tools::label_edit::BrushShape;
        ui.label("brush");
        ui.selectable_value(&mut mpr.edit.shape, BrushShape::Sphere, "sphere")
            .on_hover_text("a ball: paints the neighbouring slices too");
        ui.selectable_value(&mut mpr.edit.shape, BrushShape::Disc, "disc in slice")
            .on_hover_text("paints only the slice the stroke is drawn in");
    });
    let mut vessel_only = mpr.edit.hu.is_some();
    ui.checkbox(&mut vessel_only, format!("paint only {} … {} HU", VESSEL_HU[0], VESSEL_HU[1]))
        .on_hover_text("the brush lands only on vessel-like voxels");
    mpr.edit.hu = vessel_only.then_some(VESSEL_HU);
    ui.checkbox(&mut mpr.edit.cut, "relabel only beyond the click")
        .on_hover_text("cuts across the vessel at the click: the distal subtree changes, the trunk stays");
    if mpr.tool == Tool::Connect {
        ui.label(match mpr.connect_from {
            None => "connect: click the first point",
            Some(_) => "connect: click the second point (Esc drops the first)",
        });
    }
    if let Some((op, voxels)) = doc.previewed() {
        let ml = voxels as f64 * doc.scan.ct.geometry.spacing.element_product() / 1000.0;
        ui.group(|ui| {
            ui.label(format!("Preview: {} ({voxels} voxels, {ml:.2} mL)", op.describe()));
            ui.horizontal(|ui| {
                action_button(ui, &app.kiosk, true, "Apply (Enter)".to_string(), Action::ApplyPreview, actions);
                action_button(ui, &app.kiosk, true, "Cancel (Esc)".to_string(), Action::CancelPreview, actions);
            });
        });
    }
    ui.horizontal(|ui| {
        let class = mpr.edit.class;
        let min_mm3 = mpr.edit.island_mm3;
        let remove = Action::Edit(vasa_edit::EditOp::RemoveIslands { class, min_mm3 });
        action_button(ui, &app.kiosk, true, format!("remove {} islands", table.name(class)), remove, actions);
        ui.add(egui::DragValue::new(&mut mpr.edit.island_mm3).range(0.0..=10_000.0).suffix(" mm³").prefix("< "));
    });
    let keep = Action::Edit(vasa_edit::EditOp::KeepLargest { class: mpr.edit.class });
    action_button(
        ui,
        &app.kiosk,
        true,
        format!("keep the largest {} piece", table.name(mpr.edit.class)),
        keep,
        actions,
    );
    let undo = doc.history.next_undo().map(|s| format!("Undo {}", s.op.describe()));
    let redo = doc.history.next_redo().map(|s| format!("Redo {}", s.op.describe()));
    ui.horizontal(|ui| {
        let enabled = undo.is_some();
        action_button(ui, &app.kiosk, enabled, undo.unwrap_or_else(|| "Undo".into()), Action::Undo, actions);
        let enabled = redo.is_some();
        action_button(ui, &app.kiosk, enabled, redo.unwrap_or_else(|| "Redo".into()), Action::Redo, actions);
    });
    ui.label(format!(
        "history {:.1} of {} MiB",
        doc.history.bytes() as f64 / (1 << 20) as f64,
        doc.history.limit() >> 20
    ))
    .on_hover_text("what undo keeps (the touched voxels, compressed); the oldest edits go first");
}
