//! The plan over the 3D view: each applicator's path (entry to tip, the
//! selected one bright), the lesion as three great circles and each zone as
//! its three principal ellipses, projected with the view's camera and drawn
//! on top (a wireframe never hides the vessels it is planned against).

use egui::{Color32, Painter, Pos2, Rect, Shape, Stroke};
use glam::{DVec3, Mat4};

use crate::doc::Plan;

const LESION: Color32 = Color32::from_rgb(255, 120, 200);
const ZONE: Color32 = Color32::from_rgb(255, 200, 60);
const PATH: Color32 = Color32::from_rgb(120, 255, 140);

/// Points along each closed outline.
const SEGMENTS: usize = 48;

/// Clip-space position of patient point `p`.
fn clip(view_proj: &Mat4, p: DVec3) -> glam::Vec4 {
    *view_proj * p.as_vec3().extend(1.0)
}

/// Screen position of a clip-space point in front of the camera.
fn screen(rect: Rect, c: glam::Vec4) -> Pos2 {
    let ndc = c.truncate() / c.w;
    rect.center() + egui::vec2(ndc.x * rect.width() / 2.0, -ndc.y * rect.height() / 2.0)
}

/// The screen segment of patient segment `a`–`b`, cut where it passes
/// behind the camera (`None` when wholly behind).
pub fn project_segment(view_proj: &Mat4, rect: Rect, a: DVec3, b: DVec3) -> Option<[Pos2; 2]> {
    const NEAR_W: f32 = 1e-3;
    let (mut ca, mut cb) = (clip(view_proj, a), clip(view_proj, b));
    if ca.w < NEAR_W && cb.w < NEAR_W {
        return None;
    }
    if ca.w < NEAR_W {
        ca = ca + (cb - ca) * ((NEAR_W - ca.w) / (cb.w - ca.w));
    } else if cb.w < NEAR_W {
        cb = cb + (ca - cb) * ((NEAR_W - cb.w) / (ca.w - cb.w));
    }
    Some([screen(rect, ca), screen(rect, cb)])
}

/// Draws the closed loop `points` (patient mm).
fn loop_3d(painter: &Painter, view_proj: &Mat4, rect: Rect, points: &[DVec3], stroke: Stroke) {
    for (i, &a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        if let Some(s) = project_segment(view_proj, rect, a, b) {
            painter.add(Shape::line_segment(s, stroke));
        }
    }
}

/// The ellipse around `c` with semi-axes `u` and `v` (vectors).
fn ellipse(c: DVec3, u: DVec3, v: DVec3) -> Vec<DVec3> {
    (0..SEGMENTS)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / SEGMENTS as f64;
            c + u * t.cos() + v * t.sin()
        })
        .collect()
}

/// Draws `plan` over the 3D view in `rect` seen through `view_proj`.
pub fn paint(painter: &Painter, rect: Rect, view_proj: &Mat4, plan: &Plan) {
    if let Some(l) = plan.lesion.filter(|_| !plan.lesion_painted) {
        let r = l.diameter_mm / 2.0;
        let stroke = Stroke::new(1.5, LESION);
        for (u, v) in [(DVec3::X, DVec3::Y), (DVec3::Y, DVec3::Z), (DVec3::Z, DVec3::X)] {
            loop_3d(painter, view_proj, rect, &ellipse(l.centre, u * r, v * r), stroke);
        }
    }
    for (i, a) in plan.applicators.iter().enumerate() {
        let selected = plan.selected == Some(i);
        if let Some(zone) = plan.zone(i) {
            let (p, q) = zone.axis.any_orthonormal_pair();
            let (half_l, half_w) = (zone.length_mm / 2.0, zone.width_mm / 2.0);
            let stroke = Stroke::new(if selected { 1.5 } else { 1.0 }, ZONE);
            for (u, v) in [(zone.axis * half_l, p * half_w), (zone.axis * half_l, q * half_w), (p * half_w, q * half_w)]
            {
                loop_3d(painter, view_proj, rect, &ellipse(zone.centre, u, v), stroke);
            }
        }
        let colour = if selected { PATH } else { PATH.gamma_multiply(0.6) };
        if let Some([e, t]) = project_segment(view_proj, rect, a.entry, a.target) {
            painter.line_segment([e, t], Stroke::new(if selected { 2.5 } else { 1.5 }, colour));
            painter.circle_filled(e, 4.0, colour);
            painter.circle_stroke(t, 4.0, Stroke::new(1.5, colour));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    #[test]
    fn a_segment_behind_the_camera_is_cut_at_it() {
        // Camera at the origin looking down −z (right-handed look-at).
        let proj = glam::camera::rh::proj::directx::perspective(1.0, 1.0, 0.1, 1000.0);
        let view = glam::camera::rh::view::look_at_mat4(Vec3::ZERO, -Vec3::Z, Vec3::Y);
        let vp = proj * view;
        let rect = Rect::from_min_size(Pos2::ZERO, egui::vec2(200.0, 200.0));
        // In front: its midpoint on the axis lands at the centre.
        let [a, b] = project_segment(&vp, rect, DVec3::new(-10.0, 0.0, -50.0), DVec3::new(10.0, 0.0, -50.0)).unwrap();
        assert!(((a.x + b.x) / 2.0 - 100.0).abs() < 1e-3 && a.x < b.x && (a.y - 100.0).abs() < 1e-3);
        // Wholly behind: nothing.
        assert!(project_segment(&vp, rect, DVec3::new(0.0, 0.0, 5.0), DVec3::new(1.0, 0.0, 9.0)).is_none());
        // Through the camera plane: the front end stays where it projects.
        let [front, _] = project_segment(&vp, rect, DVec3::new(10.0, 0.0, -50.0), DVec3::new(10.0, 0.0, 50.0)).unwrap();
        assert!(front.x > 100.0 && front.is_finite());
    }
}
