//! The navigate tool: a click or a drag puts the crosshair under the pointer
//! (on the image's edge when the pointer is in the margin around it).

use super::{PointerEvent, SliceTarget};
use crate::gui::slice_camera::clamp_to_volume;

/// Handles a primary-button event.
pub fn pointer(target: &mut SliceTarget, event: PointerEvent) {
    let pos = match event {
        PointerEvent::Click(pos) => Some(pos),
        PointerEvent::Drag { pos, .. } => pos,
        _ => None,
    };
    if let Some(pos) = pos {
        let p = target.mapping().to_patient(pos);
        target.mpr.cursor = clamp_to_volume(target.ct, p);
    }
}
