//! The 3D view section of the side panel: surfaces or a volume mode (MIP,
//! MinIP, volume rendering with a preset, labels over CT context), the
//! surfaces drawn with the volume or not, the CT context's opacity, a cut
//! through the crosshair facing the camera, and a clip box around the
//! crosshair.

use vasa_render::{ClipPlane, TransferFunction, VolumeMode};

use super::action_button;
use super::dialogs::Purpose;
use crate::gui::VasaApp;
use crate::gui::actions::Action;
use crate::gui::volume3d::mode_name;

/// Half the side of the clip box the "box around the crosshair" button sets (mm).
pub const CLIP_BOX_HALF_MM: f32 = 60.0;

/// Draws the section (the choices change the view's state directly: they
/// only change what is shown).
pub fn view3d_panel(ui: &mut egui::Ui, app: &mut VasaApp, actions: &mut Vec<Action>) {
    let kiosk = app.kiosk.clone();
    let Some(views) = &mut app.views else { return };
    let (volume, camera, cursor) = (&mut views.view3d.volume, views.view3d.camera, views.mpr.cursor);
    ui.separator();
    ui.heading("3D view");
    ui.horizontal_wrapped(|ui| {
        let modes =
            [None, Some(VolumeMode::Mip), Some(VolumeMode::MinIp), Some(VolumeMode::Dvr), Some(VolumeMode::Labels)];
        for m in modes {
            ui.selectable_value(&mut volume.mode, m, mode_name(m));
        }
    });
    ui.add(egui::Slider::new(&mut volume.surface_opacity, 0.05..=1.0).text("surface opacity"))
        .on_hover_text("below 1 the surfaces are translucent: what lies behind shows through, the volume included");
    if volume.mode.is_none() {
        return;
    }
    ui.checkbox(&mut volume.surfaces, "surfaces too").on_hover_text("the class surfaces, in depth with the volume");
    if matches!(volume.mode, Some(VolumeMode::Dvr | VolumeMode::Labels)) {
        egui::ComboBox::from_label("preset").selected_text(volume.transfer.name.clone()).show_ui(ui, |ui| {
            for p in TransferFunction::presets() {
                let name = p.name.clone();
                ui.selectable_value(&mut volume.transfer, p, name);
            }
        });
        let histogram = volume.ready.as_ref().map(|r| r.histogram.as_slice());
        super::transfer_editor::transfer_editor(ui, &mut volume.transfer, histogram, &mut volume.tf_selected);
        ui.horizontal(|ui| {
            let save = Action::ChooseFile(Purpose::SaveTransferFunction);
            action_button(ui, &kiosk, true, "save…", save, actions);
            let load = Action::ChooseFile(Purpose::OpenTransferFunction);
            action_button(ui, &kiosk, true, "load…", load, actions);
        });
    }
    if volume.mode == Some(VolumeMode::Labels) {
        ui.add(egui::Slider::new(&mut volume.context_opacity, 0.0..=1.0).text("CT context"));
    }
    if matches!(volume.mode, Some(VolumeMode::Mip | VolumeMode::MinIp)) {
        ui.label("grey levels: the slices' window (right-drag, 1–4)");
    }
    ui.horizontal(|ui| {
        if ui.button("cut at the crosshair").on_hover_text("removes what lies between the crosshair and you").clicked()
        {
            volume.clip_plane = Some(ClipPlane { point: cursor.as_vec3(), normal: camera.back() });
        }
        if ui.add_enabled(volume.clip_plane.is_some(), egui::Button::new("no cut")).clicked() {
            volume.clip_plane = None;
        }
    });
    ui.horizontal(|ui| {
        let h = CLIP_BOX_HALF_MM;
        if ui.button(format!("box ±{h:.0} mm at the crosshair")).clicked() {
            let c = cursor.as_vec3();
            volume.clip_box_mm = Some(([c.x - h, c.y - h, c.z - h], [c.x + h, c.y + h, c.z + h]));
        }
        if ui.add_enabled(volume.clip_box_mm.is_some(), egui::Button::new("whole volume")).clicked() {
            volume.clip_box_mm = None;
        }
    });
    if let Some((lo, hi)) = &mut volume.clip_box_mm {
        for (axis, name) in ["R–L (x)", "A–P (y)", "I–S (z)"].iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(*name);
                ui.add(egui::DragValue::new(&mut lo[axis]).speed(1.0).suffix(" mm"));
                ui.add(egui::DragValue::new(&mut hi[axis]).speed(1.0).suffix(" mm"));
            });
        }
    }
}
