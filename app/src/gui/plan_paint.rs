//! The plan over a slice view: the lesion's and each zone's outline where
//! the slice cuts them (exact plane sections), the applicators (the
//! selected one bright; their ends as handles), the rulers with their
//! lengths, and the first click of a tool waiting for its second.

use egui::{Align2, Color32, FontId, Painter, Pos2, Shape, Stroke};
use glam::DVec3;
use vasa_plan::zone::sphere_section;

use super::slice_camera::ViewMapping;
use crate::doc::Plan;

const LESION: Color32 = Color32::from_rgb(255, 120, 200);
const ZONE: Color32 = Color32::from_rgb(255, 200, 60);
const PATH: Color32 = Color32::from_rgb(120, 255, 140);
const RULER: Color32 = Color32::from_rgb(140, 220, 255);

/// Draws `plan` in the slice view of `mapping`; `first`: a tool's first click.
pub fn paint(painter: &Painter, plan: &Plan, mapping: &ViewMapping, first: Option<DVec3>) {
    let (o, e1, e2) = (mapping.centre, mapping.right, mapping.down);
    let outline = |points: Vec<DVec3>, colour: Color32, width: f32| {
        if points.len() > 2 {
            let screen: Vec<Pos2> = points.iter().map(|&p| mapping.to_screen(p)).collect();
            painter.add(Shape::closed_line(screen, Stroke::new(width, colour)));
        }
    };
    if let Some(l) = plan.lesion.filter(|_| !plan.lesion_painted) {
        outline(sphere_section(l.centre, l.diameter_mm / 2.0, o, e1, e2, 64), LESION, 1.5);
        painter.circle_filled(mapping.to_screen(l.centre), 2.0, LESION);
    }
    for (i, a) in plan.applicators.iter().enumerate() {
        let selected = plan.selected == Some(i);
        if let Some(zone) = plan.zone(i) {
            outline(zone.section(o, e1, e2, 64), ZONE, if selected { 2.0 } else { 1.0 });
        }
        let (t, e) = (mapping.to_screen(a.target), mapping.to_screen(a.entry));
        let width = if selected { 2.0 } else { 1.2 };
        painter.line_segment([e, t], Stroke::new(width, PATH.gamma_multiply(if selected { 1.0 } else { 0.6 })));
        painter.circle_stroke(t, 4.0, Stroke::new(1.5, PATH));
        painter.circle_filled(e, 4.0, PATH);
        painter.text(
            e + egui::vec2(6.0, -6.0),
            Align2::LEFT_BOTTOM,
            format!("{}", i + 1),
            FontId::proportional(12.0),
            PATH,
        );
    }
    for r in &plan.rulers {
        let (a, b) = (mapping.to_screen(r.a), mapping.to_screen(r.b));
        painter.line_segment([a, b], Stroke::new(1.5, RULER));
        for p in [a, b] {
            painter.circle_filled(p, 2.5, RULER);
        }
        let mid = a + (b - a) / 2.0;
        painter.text(
            mid + egui::vec2(4.0, -4.0),
            Align2::LEFT_BOTTOM,
            format!("{:.1} mm", r.length_mm()),
            FontId::proportional(12.0),
            RULER,
        );
    }
    if let Some(p) = first {
        painter.circle_stroke(mapping.to_screen(p), 5.0, Stroke::new(1.5, Color32::WHITE));
    }
}
