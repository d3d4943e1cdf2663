//! The planning tools of the slice views: the lesion (a click places its
//! centre), the applicator (a click on the target, a click on the entry;
//! dragging an existing end moves it) and the ruler (two clicks). Each
//! asks for a [`PlanOp`] queued on the viewer.

use glam::DVec3;

use super::{PointerEvent, SliceTarget, Tool};
use crate::doc::plan::{End, PlanOp};
use crate::gui::actions::Action;

/// How near (points) a press must be to grab an applicator's end.
const GRAB_POINTS: f32 = 8.0;

/// Handles a primary-button event of a planning tool.
pub fn pointer(tool: Tool, target: &mut SliceTarget, event: PointerEvent) {
    let mapping = target.mapping();
    match event {
        PointerEvent::Click(pos) => {
            let p = mapping.to_patient(pos);
            target.mpr.plan_drag = None;
            let op = match tool {
                Tool::Lesion => Some(PlanOp::PlaceLesion(p)),
                Tool::Applicator => match target.mpr.plan_first.take() {
                    None => {
                        target.mpr.plan_first = Some(p);
                        None
                    }
                    Some(t) => Some(PlanOp::AddApplicator { target: t, entry: p }),
                },
                Tool::Ruler => match target.mpr.plan_first.take() {
                    None => {
                        target.mpr.plan_first = Some(p);
                        None
                    }
                    Some(a) => Some(PlanOp::AddRuler(a, p)),
                },
                _ => None,
            };
            if let Some(op) = op {
                target.mpr.pending.push(Action::Plan(op));
            }
        }
        PointerEvent::DragStart(press) if tool == Tool::Applicator => {
            // The applicator end under the press, if any.
            target.mpr.plan_drag = target.plan.and_then(|plan| {
                plan.applicators
                    .iter()
                    .enumerate()
                    .flat_map(|(i, a)| [(i, End::Entry, a.entry), (i, End::Target, a.target)])
                    .map(|(i, end, p): (usize, End, DVec3)| (i, end, mapping.to_screen(p).distance(press)))
                    .filter(|&(_, _, d)| d <= GRAB_POINTS)
                    .min_by(|a, b| a.2.total_cmp(&b.2))
                    .map(|(i, end, _)| (i, end))
            });
        }
        PointerEvent::Drag { pos: Some(pos), .. } if tool == Tool::Applicator => {
            if let Some((i, end)) = target.mpr.plan_drag {
                target.mpr.pending.push(Action::Plan(PlanOp::MoveEnd(i, end, mapping.to_patient(pos))));
            }
        }
        PointerEvent::DragEnd { .. } => target.mpr.plan_drag = None,
        _ => {}
    }
}
