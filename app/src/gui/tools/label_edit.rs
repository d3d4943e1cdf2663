//! The label-editing tools of the slice views: brush, eraser and relabel.
//! They do not touch the labels: each click or drag step becomes an
//! [`EditOp`] (points in patient mm) queued on the viewer, which the app
//! applies to the shown layer as an action, logs and records for undo.

use vasa_edit::EditOp;

use super::{PointerEvent, SliceTarget, Tool};

/// The editing tools' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EditSettings {
    /// Class painted, and given by relabel (1 artery, 2 vein, 3 aorta).
    pub class: u8,
    /// Brush and eraser radius (mm).
    pub radius_mm: f64,
    /// Paint only voxels in this HU range (vessel-like), when set.
    pub hu: Option<[i16; 2]>,
    /// Pieces smaller than this (mm³) go with "remove islands".
    pub island_mm3: f64,
}

impl Default for EditSettings {
    fn default() -> Self {
        EditSettings { class: 1, radius_mm: 3.0, hu: None, island_mm3: 20.0 }
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
    let pos = match event {
        PointerEvent::Click(pos) => Some(pos),
        PointerEvent::Drag { pos, .. } if tool != Tool::Relabel => pos,
        _ => None,
    };
    let Some(pos) = pos else { return };
    let p = target.mapping().to_patient(pos).to_array();
    let s = target.mpr.edit;
    let op = match tool {
        Tool::Brush => EditOp::Paint { class: s.class, center_mm: p, radius_mm: s.radius_mm, hu: s.hu },
        Tool::Eraser => EditOp::Erase { center_mm: p, radius_mm: s.radius_mm },
        Tool::Relabel => EditOp::Relabel { at_mm: p, to: s.class, cut_normal: None },
        Tool::Navigate | Tool::WindowLevel => return,
    };
    target.mpr.pending_edits.push(op);
}
