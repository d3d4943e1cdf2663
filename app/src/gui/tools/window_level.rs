//! Window/level by dragging: down raises the level (2 HU per point), right
//! widens the window (4 HU per point, at least 1 HU). The right button
//! always does this; the primary button does it when this tool is active.

use egui::Vec2;

use super::{PointerEvent, SliceTarget};

/// Handles a primary-button event (drags only: a click changes nothing).
pub fn pointer(target: &mut SliceTarget, event: PointerEvent) {
    if let PointerEvent::Drag { delta, .. } = event {
        drag(target, delta);
    }
}

/// Changes the window by a drag of `delta` points.
pub fn drag(target: &mut SliceTarget, delta: Vec2) {
    let window = &mut target.mpr.window;
    window.0 += delta.y * 2.0;
    window.1 = (window.1 + delta.x * 4.0).max(1.0);
}
