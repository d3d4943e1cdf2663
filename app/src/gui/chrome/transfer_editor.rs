//! The transfer-function editor of the 3D view's panel: opacity (per mm)
//! over HU as a piecewise-linear curve of coloured control points, drawn
//! over the scan's HU histogram (log counts). Drag a point to move it,
//! click empty space to add one (coloured as the curve is there),
//! right-click a point to remove it; the selected point's colour, HU and
//! opacity can be set exactly. Save and load go through the file dialogs.

use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};
use vasa_render::TransferFunction;
use vasa_render::transfer_function::{ControlPoint, HU_RANGE};

/// Height of the plot (points).
const PLOT_HEIGHT: f32 = 110.0;

/// How near (points) a press must be to grab a control point.
const GRAB_RADIUS: f32 = 8.0;

/// The screen position of HU `hu` at opacity `opacity` in `rect`.
pub fn to_screen(rect: Rect, hu: f32, opacity: f32) -> Pos2 {
    let x = (hu - HU_RANGE.0) / (HU_RANGE.1 - HU_RANGE.0);
    Pos2::new(rect.left() + x * rect.width(), rect.bottom() - opacity * rect.height())
}

/// The HU and opacity at screen position `pos` of `rect` (clamped to the ranges).
pub fn from_screen(rect: Rect, pos: Pos2) -> (f32, f32) {
    let x = ((pos.x - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
    let y = ((rect.bottom() - pos.y) / rect.height().max(1.0)).clamp(0.0, 1.0);
    (HU_RANGE.0 + x * (HU_RANGE.1 - HU_RANGE.0), y)
}

/// The control point within [`GRAB_RADIUS`] of `pos`, nearest first.
pub fn point_at(tf: &TransferFunction, rect: Rect, pos: Pos2) -> Option<usize> {
    tf.points
        .iter()
        .enumerate()
        .map(|(i, p)| (i, to_screen(rect, p.hu, p.opacity).distance(pos)))
        .filter(|&(_, d)| d <= GRAB_RADIUS)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Adds a point at (`hu`, `opacity`) coloured as the curve is there;
/// returns its index (points stay sorted by HU).
pub fn insert_point(tf: &mut TransferFunction, hu: f32, opacity: f32) -> usize {
    let (rgb, _) = tf.at(hu);
    let at = tf.points.partition_point(|p| p.hu < hu);
    tf.points.insert(at, ControlPoint { hu, rgb, opacity });
    at
}

/// Moves point `i` to (`hu`, `opacity`), keeping the points sorted; returns
/// its new index.
pub fn move_point(tf: &mut TransferFunction, i: usize, hu: f32, opacity: f32) -> usize {
    let mut p = tf.points.remove(i);
    p.hu = hu.clamp(HU_RANGE.0, HU_RANGE.1);
    p.opacity = opacity.clamp(0.0, 1.0);
    let at = tf.points.partition_point(|q| q.hu < p.hu);
    tf.points.insert(at, p);
    at
}

/// Removes point `i` unless only two are left (a curve needs two ends).
pub fn remove_point(tf: &mut TransferFunction, i: usize) -> bool {
    if tf.points.len() <= 2 || i >= tf.points.len() {
        return false;
    }
    tf.points.remove(i);
    true
}

fn colour(rgb: [f32; 3], alpha: u8) -> Color32 {
    let c = rgb.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
    Color32::from_rgba_unmultiplied(c[0], c[1], c[2], alpha)
}

/// Draws the editor; `histogram`: voxel counts in equal HU bins over
/// [`HU_RANGE`]; `selected`: the point being edited. Returns true when the
/// curve changed.
pub fn transfer_editor(
    ui: &mut egui::Ui,
    tf: &mut TransferFunction,
    histogram: Option<&[u64]>,
    selected: &mut Option<usize>,
) -> bool {
    let before = tf.clone();
    let width = ui.available_width().max(100.0);
    let (response, painter) = ui.allocate_painter(Vec2::new(width, PLOT_HEIGHT), Sense::click_and_drag());
    let rect = response.rect;
    painter.rect_filled(rect, 2.0, Color32::from_gray(20));
    if let Some(h) = histogram.filter(|h| !h.is_empty()) {
        let top = h.iter().map(|&c| ((c + 1) as f32).ln()).fold(0.0f32, f32::max).max(1.0);
        let bar = rect.width() / h.len() as f32;
        for (i, &c) in h.iter().enumerate() {
            let height = ((c + 1) as f32).ln() / top * rect.height();
            let x = rect.left() + i as f32 * bar;
            painter.rect_filled(
                Rect::from_min_max(Pos2::new(x, rect.bottom() - height), Pos2::new(x + bar, rect.bottom())),
                0.0,
                Color32::from_gray(55),
            );
        }
    }
    // Input: grab, drag, add, remove.
    if let Some(pos) = response.interact_pointer_pos() {
        if response.drag_started() {
            *selected = point_at(tf, rect, pos);
        } else if response.dragged()
            && let Some(i) = *selected
            && i < tf.points.len()
        {
            let (hu, opacity) = from_screen(rect, pos);
            *selected = Some(move_point(tf, i, hu, opacity));
        }
        if response.clicked() {
            *selected = match point_at(tf, rect, pos) {
                Some(i) => Some(i),
                None => {
                    let (hu, opacity) = from_screen(rect, pos);
                    Some(insert_point(tf, hu, opacity))
                }
            };
        }
        if response.secondary_clicked()
            && let Some(i) = point_at(tf, rect, pos)
            && remove_point(tf, i)
        {
            *selected = None;
        }
    }
    // The curve, filled in its colours, and the points.
    for w in tf.points.windows(2) {
        let (a, b) = (to_screen(rect, w[0].hu, w[0].opacity), to_screen(rect, w[1].hu, w[1].opacity));
        let (fa, fb) = (Pos2::new(a.x, rect.bottom()), Pos2::new(b.x, rect.bottom()));
        let mut mesh = egui::Mesh::default();
        let (ca, cb) = (colour(w[0].rgb, 110), colour(w[1].rgb, 110));
        mesh.colored_vertex(fa, ca);
        mesh.colored_vertex(a, ca);
        mesh.colored_vertex(b, cb);
        mesh.colored_vertex(fb, cb);
        mesh.add_triangle(0, 1, 2);
        mesh.add_triangle(0, 2, 3);
        painter.add(mesh);
        painter.line_segment([a, b], Stroke::new(1.5, Color32::WHITE));
    }
    for (i, p) in tf.points.iter().enumerate() {
        let at = to_screen(rect, p.hu, p.opacity);
        painter.circle_filled(at, 4.5, colour(p.rgb, 255));
        let ring = if *selected == Some(i) { Color32::WHITE } else { Color32::from_gray(140) };
        painter.circle_stroke(at, 4.5, Stroke::new(1.5, ring));
    }
    let response = response.on_hover_text(
        "opacity per mm over HU (−1024 … 3071), the scan's histogram behind: drag a point, \
         click to add one, right-click to remove",
    );
    let _ = response;
    // The selected point, exactly.
    if let Some(i) = selected.filter(|&i| i < tf.points.len()) {
        ui.horizontal(|ui| {
            let p = &mut tf.points[i];
            ui.color_edit_button_rgb(&mut p.rgb);
            let mut hu = p.hu;
            let mut opacity = p.opacity;
            let a = ui.add(egui::DragValue::new(&mut hu).range(HU_RANGE.0..=HU_RANGE.1).speed(2.0).suffix(" HU"));
            let b = ui.add(egui::DragValue::new(&mut opacity).range(0.0..=1.0).speed(0.005).prefix("opacity "));
            if a.changed() || b.changed() {
                *selected = Some(move_point(tf, i, hu, opacity));
            }
        });
    }
    if *tf != before {
        tf.name = if before.name.ends_with("(edited)") { before.name } else { format!("{} (edited)", before.name) };
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_found_added_moved_and_removed_in_order() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(400.0, 100.0));
        let mut tf = TransferFunction::bone();
        let n = tf.points.len();
        // Screen and HU/opacity round-trip.
        let p = to_screen(rect, 400.0, 0.5);
        let (hu, op) = from_screen(rect, p);
        assert!((hu - 400.0).abs() < 0.01 && (op - 0.5).abs() < 1e-6);
        // The bone preset's 400 HU point (opacity 0.5) is found near its place.
        let i = point_at(&tf, rect, p + Vec2::new(3.0, -2.0)).expect("a point there");
        assert_eq!(tf.points[i].hu, 400.0);
        assert!(point_at(&tf, rect, to_screen(rect, 2500.0, 0.1)).is_none());
        // A new point takes the curve's colour and keeps the order.
        let j = insert_point(&mut tf, 800.0, 0.7);
        assert_eq!(tf.points.len(), n + 1);
        assert!(tf.points.windows(2).all(|w| w[0].hu <= w[1].hu));
        assert_eq!(tf.points[j].rgb, TransferFunction::bone().at(800.0).0);
        // Dragged past a neighbour, it moves in the list.
        let k = move_point(&mut tf, j, -500.0, 2.0);
        assert_eq!(tf.points[k].hu, -500.0);
        assert_eq!(tf.points[k].opacity, 1.0, "clamped");
        assert!(tf.points.windows(2).all(|w| w[0].hu <= w[1].hu));
        assert!(tf.clone().validated().is_ok());
        // Removed down to two, not below.
        while tf.points.len() > 2 {
            assert!(remove_point(&mut tf, 0));
        }
        assert!(!remove_point(&mut tf, 0));
    }
}
