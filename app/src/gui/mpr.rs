//! The MPR viewer: axial, coronal and sagittal viewports through one
//! crosshair point, drawn on the GPU. Pointer input goes to the tools
//! ([`super::tools`]: click = crosshair, right-drag = window/level,
//! middle-drag = pan, wheel = slices, Ctrl+wheel = zoom, double-click
//! maximises); keys arrive as actions ([`super::input`]). The camera maths
//! are in [`super::slice_camera`].

use eframe::egui_wgpu;
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};
use glam::DVec3;
use vasa_render::{LabelStyle, SliceView};
use vasa_scan::reslice::{Plane, plane_sampling, volume_center};
use vasa_scan::{LabelMap, Volume};

use super::actions::Action;
use super::review;
use super::slice_camera::{ViewMapping, plane_normal, view_geometry};
use super::slice_paint::SliceCallback;
use super::tools::label_edit::EditSettings;
use super::tools::{self, SliceTarget, Tool};

/// Window presets on the number keys: name, centre, width (HU).
pub const PRESETS: [(&str, f32, f32); 4] =
    [("Lung", -600.0, 1500.0), ("Mediastinum", 40.0, 400.0), ("CT angio", 300.0, 700.0), ("Bone", 400.0, 1800.0)];

/// The three slice planes in viewport order.
pub const PLANES: [Plane; 3] = [Plane::Axial, Plane::Coronal, Plane::Sagittal];

/// Per-viewport zoom and pan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// 1 = the whole volume fits.
    pub zoom: f64,
    /// In-plane offset of the view centre (mm along the screen's right and down).
    pub pan: [f64; 2],
}

impl Default for Camera {
    fn default() -> Self {
        Camera { zoom: 1.0, pan: [0.0, 0.0] }
    }
}

/// What the pointer is over, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    /// Voxel index.
    pub voxel: [usize; 3],
    /// Patient position (LPS mm).
    pub mm: DVec3,
    /// HU of the voxel.
    pub hu: i16,
    /// Label of the voxel.
    pub label: u8,
}

impl Probe {
    /// What is at patient point `p` of `ct` (`None` outside the volume).
    pub fn at(ct: &Volume<i16>, labels: Option<&LabelMap>, p: DVec3) -> Option<Probe> {
        let q = ct.geometry.world_to_voxel(p).round();
        if q.min_element() < 0.0 {
            return None;
        }
        let voxel = [q.x as usize, q.y as usize, q.z as usize];
        let &hu = ct.get(voxel[0], voxel[1], voxel[2])?;
        let label = labels.and_then(|l| l.get(voxel[0], voxel[1], voxel[2]).copied()).unwrap_or(0);
        Some(Probe { voxel, mm: p, hu, label })
    }
}

/// The viewer's state.
pub struct Mpr {
    /// The crosshair (LPS mm).
    pub cursor: DVec3,
    /// Window centre and width (HU).
    pub window: (f32, f32),
    /// One camera per plane.
    pub cameras: [Camera; 3],
    /// A maximised viewport, if any.
    pub maximised: Option<usize>,
    /// What the pointer is over.
    pub probe: Option<Probe>,
    /// Where each viewport (axial, coronal, sagittal, 3D) was drawn last
    /// frame, in points (`Rect::NOTHING` when hidden).
    pub rects: [Rect; 4],
    /// The viewport under the pointer last frame (0–3), for keys.
    pub hovered: Option<usize>,
    /// What the primary button does (kept by [`Mpr::reset`]).
    pub tool: Tool,
    /// The editing tools' settings (kept by [`Mpr::reset`]).
    pub edit: EditSettings,
    /// What the tools asked for this frame (edits, strokes, a class), for
    /// the app to carry out.
    pub pending: Vec<Action>,
    /// The first point of a connect (LPS mm), waiting for the second click.
    pub connect_from: Option<DVec3>,
    /// The lasso or scissors polygon being drawn: its viewport and corners (LPS mm).
    pub polygon: Option<(usize, Vec<DVec3>)>,
    /// The first click of an applicator (its target) or a ruler (LPS mm).
    pub plan_first: Option<DVec3>,
    /// The applicator end being dragged.
    pub plan_drag: Option<(usize, crate::doc::plan::End)>,
}

/// How the label layer is drawn over the slices.
pub struct Overlay<'a> {
    /// The labels shown, if any (for the probe; the GPU holds its copy).
    pub labels: Option<&'a LabelMap>,
    /// Colour and opacity per class id.
    pub styles: Vec<LabelStyle>,
    /// Filled regions (false: outlines).
    pub fill: bool,
    /// Overlay opacity.
    pub opacity: f32,
    /// Centrelines of the branches to review (LPS mm), the current one flagged.
    pub review: Vec<(Vec<DVec3>, bool)>,
    /// The plan, drawn over the slices.
    pub plan: Option<&'a crate::doc::Plan>,
}

impl Mpr {
    /// A viewer centred on `ct`, mediastinal window.
    pub fn new(ct: &Volume<i16>) -> Self {
        Mpr {
            cursor: volume_center(ct),
            window: (PRESETS[1].1, PRESETS[1].2),
            cameras: [Camera::default(); 3],
            maximised: None,
            probe: None,
            rects: [Rect::NOTHING; 4],
            hovered: None,
            tool: Tool::default(),
            edit: EditSettings::default(),
            pending: Vec::new(),
            connect_from: None,
            polygon: None,
            plan_first: None,
            plan_drag: None,
        }
    }

    /// Back to the whole volume, centred, default window.
    pub fn reset(&mut self, ct: &Volume<i16>) {
        *self = Mpr { tool: self.tool, edit: self.edit, ..Mpr::new(ct) };
    }

    /// Steps the cursor `n` slices along `plane`'s normal (one voxel spacing each).
    pub fn step(&mut self, ct: &Volume<i16>, plane: Plane, n: f64) {
        let normal = plane_normal(plane);
        let g = &ct.geometry;
        // Spacing along the voxel axis closest to the normal.
        let axis = (0..3)
            .max_by(|&a, &b| g.direction.col(a).dot(normal).abs().total_cmp(&g.direction.col(b).dot(normal).abs()));
        let step = axis.map_or(1.0, |a| g.spacing[a]);
        let moved = self.cursor + normal * step * n;
        // Stay inside the volume.
        let v = g.world_to_voxel(moved);
        let dims = ct.dims();
        if (0..3).all(|a| v[a] >= -0.5 && v[a] <= dims[a] as f64 - 0.5) {
            self.cursor = moved;
        }
    }

    /// Where viewport `slot` of `size` points (pixels) samples, and its mm per point.
    fn geometry_of(&self, ct: &Volume<i16>, slot: usize, size: Vec2) -> (DVec3, f64) {
        view_geometry(ct, PLANES[slot], self.cursor, self.cameras[slot], size)
    }

    /// The screen ↔ patient mapping of viewport `slot` drawn at `rect`.
    pub fn mapping(&self, ct: &Volume<i16>, slot: usize, rect: Rect) -> ViewMapping {
        ViewMapping::new(ct, PLANES[slot], self.cursor, self.cameras[slot], rect)
    }

    /// Patient point under screen position `pos` in viewport `slot` at `rect`.
    fn to_patient(&self, ct: &Volume<i16>, slot: usize, rect: Rect, pos: Pos2) -> DVec3 {
        self.mapping(ct, slot, rect).to_patient(pos)
    }

    /// Screen position of patient point `p` in viewport `slot` at `rect`.
    fn to_screen(&self, ct: &Volume<i16>, slot: usize, rect: Rect, p: DVec3) -> Pos2 {
        self.mapping(ct, slot, rect).to_screen(p)
    }

    /// Shows the slice viewports in `ui` and sends their pointer input to
    /// the tools; returns the rectangle of the 3D viewport (empty when
    /// another one is maximised) for the caller to fill.
    pub fn ui(&mut self, ui: &mut egui::Ui, ct: &Volume<i16>, overlay: &Overlay, gpu_ready: bool) -> Rect {
        let area = ui.available_rect_before_wrap();
        ui.allocate_rect(area, Sense::hover());
        let rects = match self.maximised {
            Some(s) => {
                let mut r = [Rect::NOTHING; 4];
                r[s] = area;
                r
            }
            None => {
                let half = area.size() / 2.0;
                let cell = |c: f32, r: f32| {
                    Rect::from_min_size(area.min + Vec2::new(c * half.x, r * half.y), half).shrink(1.0)
                };
                [cell(0.0, 0.0), cell(1.0, 0.0), cell(0.0, 1.0), cell(1.0, 1.0)]
            }
        };
        self.probe = None;
        self.rects = rects;
        if !ui.rect_contains_pointer(area) {
            self.hovered = None;
        }
        for (slot, rect) in rects.into_iter().take(3).enumerate() {
            if rect.is_positive() {
                self.viewport(ui, ct, overlay, slot, rect, gpu_ready);
            }
        }
        rects[3]
    }

    /// Toggles maximising viewport `slot` (0–3).
    pub fn toggle_maximised(&mut self, slot: usize) {
        self.maximised = if self.maximised.is_some() { None } else { Some(slot) };
    }

    /// The viewport to step with the arrow keys: the one under the
    /// pointer, else the maximised one, else axial.
    pub fn key_target(&self) -> usize {
        self.hovered.or(self.maximised).filter(|&s| s < 3).unwrap_or(0)
    }

    fn viewport(
        &mut self,
        ui: &mut egui::Ui,
        ct: &Volume<i16>,
        overlay: &Overlay,
        slot: usize,
        rect: Rect,
        gpu_ready: bool,
    ) {
        let plane = PLANES[slot];
        let response = ui.interact(rect, ui.scope_id().with(("mpr", slot)), Sense::click_and_drag());
        let ppp = ui.ctx().pixels_per_point();

        // Input, to the tools.
        if response.hovered() {
            self.hovered = Some(slot);
        }
        for event in tools::pointer_events(ui, &response) {
            let tool = self.tool;
            let target = &mut SliceTarget { mpr: self, ct, labels: overlay.labels, plan: overlay.plan, slot, rect };
            tools::dispatch(tool, target, event);
        }

        // The slice, on the GPU.
        let (centre, mm) = self.geometry_of(ct, slot, rect.size());
        let size = [(rect.width() * ppp).round().max(1.0) as u32, (rect.height() * ppp).round().max(1.0) as u32];
        let sampling =
            plane_sampling(&ct.geometry, plane, centre, mm / ppp as f64, [size[0] as usize, size[1] as usize]);
        let view = SliceView {
            sampling,
            size,
            window: self.window,
            outline: !overlay.fill,
            label_opacity: if overlay.labels.is_some() { overlay.opacity } else { 0.0 },
            styles: overlay.styles.clone(),
        };
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, Color32::BLACK);
        if gpu_ready {
            painter.add(egui_wgpu::Callback::new_paint_callback(rect, SliceCallback { slot, view }));
        } else {
            painter.text(rect.center(), Align2::CENTER_CENTER, "no GPU", FontId::proportional(14.0), Color32::GRAY);
        }

        // Crosshair, orientation letters, plane name.
        let c = self.to_screen(ct, slot, rect, self.cursor);
        let colour = Color32::from_rgba_unmultiplied(90, 200, 255, 150);
        painter.line_segment([Pos2::new(rect.left(), c.y), Pos2::new(rect.right(), c.y)], Stroke::new(1.0, colour));
        painter.line_segment([Pos2::new(c.x, rect.top()), Pos2::new(c.x, rect.bottom())], Stroke::new(1.0, colour));
        let [l, r, t, b] = plane.edge_letters();
        let font = FontId::proportional(16.0);
        let letter = Color32::from_rgb(255, 200, 80);
        painter.text(rect.left_center() + Vec2::new(6.0, 0.0), Align2::LEFT_CENTER, l, font.clone(), letter);
        painter.text(rect.right_center() - Vec2::new(6.0, 0.0), Align2::RIGHT_CENTER, r, font.clone(), letter);
        painter.text(rect.center_top() + Vec2::new(0.0, 4.0), Align2::CENTER_TOP, t, font.clone(), letter);
        painter.text(rect.center_bottom() - Vec2::new(0.0, 4.0), Align2::CENTER_BOTTOM, b, font, letter);
        let name = match plane {
            Plane::Axial => "Axial",
            Plane::Coronal => "Coronal",
            Plane::Sagittal => "Sagittal",
        };
        painter.text(
            rect.left_top() + Vec2::new(6.0, 4.0),
            Align2::LEFT_TOP,
            format!("{name}  W {:.0} L {:.0}", self.window.1, self.window.0),
            FontId::proportional(12.0),
            Color32::LIGHT_GRAY,
        );

        // Branches to review near this slice.
        if !overlay.review.is_empty() {
            let mapping = self.mapping(ct, slot, rect);
            review::paint_marks(&painter, &overlay.review, self.cursor, plane_normal(plane), |p| mapping.to_screen(p));
        }

        // The editing tool: the brush's size under the pointer, a connect's
        // first point and the line to the pointer.
        let mapping = self.mapping(ct, slot, rect);
        let hover = response.hover_pos();
        if matches!(self.tool, Tool::Brush | Tool::Eraser)
            && let Some(pos) = hover
        {
            let r = (self.edit.radius_mm / mapping.mm_per_point) as f32;
            painter.circle_stroke(pos, r, Stroke::new(1.0, Color32::from_white_alpha(200)));
        }
        if self.tool == Tool::Connect
            && let Some(from) = self.connect_from
        {
            let a = mapping.to_screen(from);
            let yellow = Color32::from_rgb(255, 220, 60);
            painter.circle_filled(a, 3.0, yellow);
            if let Some(pos) = hover {
                painter.line_segment([a, pos], Stroke::new(1.0, yellow));
            }
        }

        if let Some(plan) = overlay.plan {
            let first = if self.tool.plans() { self.plan_first } else { None };
            super::plan_paint::paint(&painter, plan, &mapping, first);
        }
        if let Some((s, corners)) = &self.polygon
            && *s == slot
        {
            let points: Vec<Pos2> = corners.iter().map(|&p| mapping.to_screen(p)).collect();
            let colour = if self.tool == Tool::Scissors {
                Color32::from_rgb(255, 90, 90)
            } else {
                Color32::from_rgb(255, 220, 60)
            };
            painter.add(egui::Shape::closed_line(points, Stroke::new(1.5, colour)));
        }

        // Probe under the pointer.
        if let Some(pos) = response.hover_pos()
            && let Some(probe) = Probe::at(ct, overlay.labels, self.to_patient(ct, slot, rect, pos))
        {
            self.probe = Some(probe);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::slice_camera::clamp_to_volume;
    use vasa_scan::Geometry;

    #[test]
    fn a_click_outside_the_image_lands_on_its_edge_and_stepping_still_works() {
        let g = Geometry::axis_aligned(DVec3::new(0.5, 0.5, 2.0), DVec3::new(-10.0, -10.0, 0.0));
        let ct = Volume::filled([40, 40, 10], 0i16, g);
        let outside = DVec3::new(-50.0, 3.0, 100.0);
        let p = clamp_to_volume(&ct, outside);
        assert_eq!(p, DVec3::new(-10.0, 3.0, 18.0));
        let mut m = Mpr::new(&ct);
        m.cursor = p;
        m.step(&ct, Plane::Axial, -1.0);
        assert_eq!(m.cursor.z, 16.0, "one 2 mm slice down from the top");
        m.step(&ct, Plane::Axial, 1.0);
        m.step(&ct, Plane::Axial, 1.0);
        assert_eq!(m.cursor.z, 18.0, "no step past the last slice");
    }
}
