//! The label-editing tools of the slice views: brush, eraser, relabel and
//! connect, and Ctrl-click to pick the class under the pointer. They do not
//! touch the labels: each click or drag step becomes an [`Action`] (points
//! in patient mm) queued on the viewer, which the app carries out on the
//! shown layer, logs and records for undo. A drag of the brush or eraser is
//! one stroke, one undo step; a relabel is previewed until applied.

use glam::DVec3;
use vasa_edit::EditOp;
use vasa_scan::LabelMap;

use super::{PointerEvent, SliceTarget, Tool};
use crate::doc::Brush;
use crate::gui::actions::Action;
use crate::gui::mpr::{Mpr, PLANES};
use crate::gui::slice_camera::plane_normal;

/// The shape of the brush and eraser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrushShape {
    /// A ball: paints the neighbouring slices too.
    #[default]
    Sphere,
    /// A disc in the slice the stroke is drawn in.
    Disc,
}

/// The editing tools' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EditSettings {
    /// Class painted, and given by relabel (1 artery, 2 vein, 3 aorta).
    pub class: u8,
    /// Brush and eraser radius (mm); also the connect tool's.
    pub radius_mm: f64,
    /// Brush or disc.
    pub shape: BrushShape,
    /// Paint only voxels in this HU range (vessel-like), when set.
    pub hu: Option<[i16; 2]>,
    /// Pieces smaller than this (mm³) go with "remove islands".
    pub island_mm3: f64,
    /// Relabel only the part of the piece beyond the click (the distal subtree).
    pub cut: bool,
}

impl Default for EditSettings {
    fn default() -> Self {
        EditSettings { class: 1, radius_mm: 3.0, shape: BrushShape::Sphere, hu: None, island_mm3: 20.0, cut: false }
    }
}

/// Smallest and largest brush radius (mm), for `[` and `]`.
pub const RADIUS_RANGE_MM: (f64, f64) = (0.5, 30.0);

impl EditSettings {
    /// A larger (`steps` > 0) or smaller brush, by 25 % per step, in range.
    pub fn resized(self, steps: i32) -> Self {
        let r = (self.radius_mm * 1.25f64.powi(steps)).clamp(RADIUS_RANGE_MM.0, RADIUS_RANGE_MM.1);
        EditSettings { radius_mm: r, ..self }
    }
}

/// Handles a primary-button event of an editing tool.
pub fn pointer(tool: Tool, target: &mut SliceTarget, event: PointerEvent) {
    let s = target.mpr.edit;
    let pos = match event {
        PointerEvent::Click(pos) => Some(pos),
        PointerEvent::Drag { pos, .. } => pos,
        PointerEvent::DragEnd { shift } => {
            match tool {
                Tool::Brush | Tool::Eraser => target.mpr.pending.push(Action::EndStroke),
                Tool::Lasso | Tool::Scissors => finish_polygon(tool, target, shift),
                _ => {}
            }
            return;
        }
        _ => None,
    };
    let Some(pos) = pos else { return };
    let p = target.mapping().to_patient(pos);
    let click = matches!(event, PointerEvent::Click(_));
    if matches!(tool, Tool::Lasso | Tool::Scissors) {
        if !click {
            // The polygon follows the pointer, a corner every 2 points on screen.
            let slot = target.slot;
            let min_mm = 2.0 * target.mapping().mm_per_point;
            let polygon = &mut target.mpr.polygon;
            if polygon.as_ref().is_none_or(|(s, _)| *s != slot) {
                *polygon = Some((slot, Vec::new()));
            }
            if let Some((_, corners)) = polygon
                && corners.last().is_none_or(|q: &DVec3| q.distance(p) >= min_mm)
            {
                corners.push(p);
            }
        }
        return;
    }
    let normal = (s.shape == BrushShape::Disc).then(|| plane_normal(PLANES[target.slot]));
    at_point(tool, target.mpr, p, click, normal);
}

/// What `tool` does at the patient point `p` (a slice view's pointer, or a
/// surface picked in 3D): a click, or a step of a drag; `normal` makes the
/// brush a disc in that plane.
pub fn at_point(tool: Tool, mpr: &mut Mpr, p: DVec3, click: bool, normal: Option<DVec3>) {
    let s = mpr.edit;
    match tool {
        Tool::Brush | Tool::Eraser => {
            let brush = Brush {
                class: if tool == Tool::Brush { s.class } else { 0 },
                radius_mm: s.radius_mm,
                hu: if tool == Tool::Brush { s.hu } else { None },
                normal: normal.map(|n| n.to_array()),
            };
            mpr.pending.push(Action::StrokeTo { point_mm: p.to_array(), brush });
            if click {
                mpr.pending.push(Action::EndStroke);
            }
        }
        Tool::Relabel if click => {
            mpr.pending.push(Action::PreviewRelabel { at_mm: p.to_array(), to: s.class, cut: s.cut });
        }
        Tool::Connect if click => match mpr.connect_from.take() {
            None => mpr.connect_from = Some(p),
            Some(from) => mpr.pending.push(Action::Edit(EditOp::Connect {
                class: s.class,
                from_mm: from.to_array(),
                to_mm: p.to_array(),
                radius_mm: s.radius_mm,
                hu: s.hu,
            })),
        },
        _ => {}
    }
}

/// The drawn polygon becomes a lasso fill (erase with `shift`) in its slice,
/// or a scissors cut through the volume along the slice's normal.
fn finish_polygon(tool: Tool, target: &mut SliceTarget, shift: bool) {
    let Some((slot, corners)) = target.mpr.polygon.take() else { return };
    if corners.len() < 3 {
        return;
    }
    let normal = plane_normal(PLANES[slot]).to_array();
    let polygon_mm: Vec<[f64; 3]> = corners.iter().map(|p| p.to_array()).collect();
    let s = target.mpr.edit;
    let op = if tool == Tool::Lasso {
        let class = if shift { 0 } else { s.class };
        EditOp::Lasso { class, polygon_mm, normal, hu: if shift { None } else { s.hu } }
    } else {
        EditOp::Scissors { polygon_mm, direction: normal, class: None, eye_mm: None }
    };
    target.mpr.pending.push(Action::Edit(op));
}

/// The class of the voxel nearest `p`, if inside `labels`.
pub fn class_at(labels: &LabelMap, p: DVec3) -> Option<u8> {
    let v = labels.geometry.world_to_voxel(p).round();
    let dims = labels.dims();
    if (0..3).any(|a| !(v[a] >= 0.0 && v[a] < dims[a] as f64)) {
        return None;
    }
    Some(labels.data()[labels.index(v.x as usize, v.y as usize, v.z as usize)])
}

/// Ctrl-click: the class under the pointer becomes the editing tools' class
/// (background leaves it as it is).
pub fn pick_class(target: &mut SliceTarget, pos: egui::Pos2) {
    let Some(labels) = target.labels else { return };
    if let Some(class) = class_at(labels, target.mapping().to_patient(pos)).filter(|&c| c != 0) {
        target.mpr.pending.push(Action::SetEditClass(class));
    }
}

#[cfg(test)]
mod tests {
    use egui::{Pos2, Rect, Vec2};
    use vasa_scan::{Geometry, Volume};

    use super::*;
    use crate::gui::tools::dispatch;

    #[test]
    fn strokes_previews_connects_and_picking_become_actions() {
        let g = Geometry::axis_aligned(DVec3::new(1.0, 1.0, 2.0), DVec3::ZERO);
        let ct = Volume::filled([40, 40, 10], 0i16, g);
        let mut labels = Volume::filled([40, 40, 10], 0u8, g);
        let centre = labels.index(20, 20, 5);
        labels.data_mut()[centre] = 2;
        let mut mpr = Mpr::new(&ct);
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 400.0));
        let send = |mpr: &mut Mpr, tool: Tool, event: PointerEvent| {
            dispatch(tool, &mut SliceTarget { mpr, ct: &ct, labels: Some(&labels), plan: None, slot: 0, rect }, event);
            std::mem::take(&mut mpr.pending)
        };
        let drag = |x: f32| PointerEvent::Drag {
            button: egui::PointerButton::Primary,
            pos: Some(rect.center() + Vec2::new(x, 0.0)),
            delta: Vec2::ZERO,
        };
        // A drag: stroke points, then its end; a disc lies in the axial plane.
        mpr.edit.shape = BrushShape::Disc;
        let a = send(&mut mpr, Tool::Brush, drag(0.0));
        let Action::StrokeTo { point_mm, brush } = a[0] else { panic!("{a:?}") };
        assert_eq!(brush.class, 1);
        assert_eq!(brush.normal.map(|n| n[2].abs()), Some(1.0));
        assert!((point_mm[0] - 19.5).abs() < 1.0 && (point_mm[1] - 19.5).abs() < 1.0, "{point_mm:?}");
        assert_eq!(send(&mut mpr, Tool::Brush, drag(30.0)).len(), 1);
        assert_eq!(send(&mut mpr, Tool::Brush, PointerEvent::DragEnd { shift: false }), vec![Action::EndStroke]);
        // A lasso drag: corners as the pointer moves, the fill at release (Shift: erase).
        for (x, y) in [(0.0, 0.0), (40.0, 0.0), (40.0, 40.0), (0.0, 40.0)] {
            let at = PointerEvent::Drag {
                button: egui::PointerButton::Primary,
                pos: Some(rect.center() + Vec2::new(x, y)),
                delta: Vec2::ZERO,
            };
            assert!(send(&mut mpr, Tool::Lasso, at).is_empty());
        }
        let a = send(&mut mpr, Tool::Lasso, PointerEvent::DragEnd { shift: true });
        assert!(
            matches!(&a[..], [Action::Edit(EditOp::Lasso { class: 0, polygon_mm, normal, .. })] if polygon_mm.len() == 4 && normal[2].abs() == 1.0),
            "{a:?}"
        );
        assert!(mpr.polygon.is_none());
        for (x, y) in [(0.0, 0.0), (40.0, 0.0), (40.0, 40.0)] {
            let at = PointerEvent::Drag {
                button: egui::PointerButton::Primary,
                pos: Some(rect.center() + Vec2::new(x, y)),
                delta: Vec2::ZERO,
            };
            send(&mut mpr, Tool::Scissors, at);
        }
        let a = send(&mut mpr, Tool::Scissors, PointerEvent::DragEnd { shift: false });
        assert!(matches!(&a[..], [Action::Edit(EditOp::Scissors { class: None, .. })]), "{a:?}");
        // The eraser paints 0; a click is a one-point stroke.
        let a = send(&mut mpr, Tool::Eraser, PointerEvent::Click(rect.center()));
        assert!(matches!(a[..], [Action::StrokeTo { brush: Brush { class: 0, .. }, .. }, Action::EndStroke]), "{a:?}");
        // Relabel previews, with the cut setting.
        mpr.edit.cut = true;
        let a = send(&mut mpr, Tool::Relabel, PointerEvent::Click(rect.center()));
        assert!(matches!(a[..], [Action::PreviewRelabel { to: 1, cut: true, .. }]), "{a:?}");
        // Connect: the first click waits, the second makes the edit.
        assert!(send(&mut mpr, Tool::Connect, PointerEvent::Click(rect.center())).is_empty());
        assert!(mpr.connect_from.is_some());
        let a = send(&mut mpr, Tool::Connect, PointerEvent::Click(rect.center() + Vec2::new(0.0, 40.0)));
        assert!(matches!(a[..], [Action::Edit(EditOp::Connect { class: 1, .. })]), "{a:?}");
        assert!(mpr.connect_from.is_none());
        // Ctrl-click on a vein voxel picks the vein, on background nothing.
        mpr.cursor.z = 10.0;
        let at = mapping_of(&mpr, &ct, rect).to_screen(labels.geometry.voxel_to_world(DVec3::new(20.0, 20.0, 5.0)));
        assert_eq!(send(&mut mpr, Tool::Navigate, PointerEvent::PickClass(at)), vec![Action::SetEditClass(2)]);
        assert!(send(&mut mpr, Tool::Brush, PointerEvent::PickClass(rect.min)).is_empty());
    }

    fn mapping_of(mpr: &Mpr, ct: &Volume<i16>, rect: Rect) -> crate::gui::slice_camera::ViewMapping {
        mpr.mapping(ct, 0, rect)
    }
}
