//! The slice views' fixed gestures, the same under every tool: the wheel
//! steps slices, Ctrl+wheel zooms, middle-drag pans, double-click
//! maximises the viewport (or restores the grid).

use egui::Vec2;

use super::SliceTarget;
use crate::gui::mpr::PLANES;

/// Steps one slice in the wheel's direction.
pub fn step(target: &mut SliceTarget, wheel: f32) {
    target.mpr.step(target.ct, PLANES[target.slot], wheel.signum() as f64);
}

/// Zooms by `factor` (kept between 0.25 and 40).
pub fn zoom(target: &mut SliceTarget, factor: f32) {
    let cam = &mut target.mpr.cameras[target.slot];
    cam.zoom = (cam.zoom * factor as f64).clamp(0.25, 40.0);
}

/// Pans so the image follows a drag of `delta` points.
pub fn pan(target: &mut SliceTarget, delta: Vec2) {
    let mm = target.mapping().mm_per_point;
    let cam = &mut target.mpr.cameras[target.slot];
    cam.pan[0] -= delta.x as f64 * mm;
    cam.pan[1] -= delta.y as f64 * mm;
}

/// Maximises the viewport, or restores the grid.
pub fn toggle_maximised(target: &mut SliceTarget) {
    target.mpr.toggle_maximised(target.slot);
}
