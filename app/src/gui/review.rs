//! Review of uncertain branches: the tree stage lists the branches whose
//! class the network was unsure of (confidence below the threshold), widest
//! first. The legend shows the list; the surgeon steps through it, the
//! crosshair jumps to each branch, and the slice views mark the branches
//! to review, the current one brighter.

use egui::{Color32, Pos2, Stroke};
use glam::DVec3;
use vasa_edit::{EditOp, ReviewDecision};
use vasa_inference::tree::TreeGraph;

use super::actions::Action;
use super::actions::KioskPolicy;
use crate::doc::LabelLayer;

/// A move through the review list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStep {
    /// The next branch (from the start when none is current).
    Next,
    /// The previous branch (from the end when none is current).
    Previous,
    /// Entry `usize` of the list.
    At(usize),
}

/// Where the review stands: the layer reviewed and the position in its list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Review {
    /// Id of the layer whose list `position` refers to.
    layer: u64,
    /// Position in the layer's review list.
    position: Option<usize>,
}

impl Review {
    /// The current position in `layer`'s review list.
    pub fn position(&self, layer: &LabelLayer) -> Option<usize> {
        self.position.filter(|_| self.layer == layer.id)
    }

    /// Moves through `layer`'s review list; returns where the branch now
    /// current lies (its middle, LPS mm), or `None` when there is nothing
    /// to review.
    pub fn step(&mut self, layer: &LabelLayer, step: ReviewStep) -> Option<DVec3> {
        let graph = layer.tree.as_deref()?;
        let list = graph.review_list();
        if list.is_empty() {
            return None;
        }
        let n = list.len();
        let current = self.position(layer);
        let next = match step {
            ReviewStep::Next => current.map_or(0, |p| (p + 1) % n),
            ReviewStep::Previous => current.map_or(n - 1, |p| (p + n - 1) % n),
            ReviewStep::At(i) => i.min(n - 1),
        };
        *self = Review { layer: layer.id, position: Some(next) };
        Some(graph.branches[list[next]].middle_mm())
    }

    /// The branch under review in `layer` (its id in the graph), if any.
    pub fn current_branch(&self, layer: &LabelLayer) -> Option<usize> {
        let graph = layer.tree.as_deref()?;
        graph.review_list().get(self.position(layer)?).copied()
    }
}

/// The edits of a review decision on `branch`: the record, then for a
/// switch or a delete a relabel of the branch and what lies beyond it (the
/// piece distal to a plane across the branch's proximal end, the end
/// nearer its parent).
pub fn decision_ops(graph: &TreeGraph, branch: usize, decision: ReviewDecision) -> Vec<EditOp> {
    let b = &graph.branches[branch];
    let record = EditOp::Review { branch, decision, at_mm: b.middle_mm().to_array() };
    let to = match decision {
        ReviewDecision::Accept => return vec![record],
        ReviewDecision::Switch => {
            if b.class == vasa_scan::labels::ARTERY {
                vasa_scan::labels::VEIN
            } else {
                vasa_scan::labels::ARTERY
            }
        }
        ReviewDecision::Delete => 0,
    };
    let points: Vec<DVec3> = b.points_mm.iter().map(|p| DVec3::from_array(*p)).collect();
    let (Some(&first), Some(&last)) = (points.first(), points.last()) else { return vec![record] };
    let near_parent = |p: DVec3| {
        b.parent.map_or(0.0, |q| {
            graph.branches[q].points_mm.iter().map(|x| DVec3::from_array(*x).distance(p)).fold(f64::INFINITY, f64::min)
        })
    };
    let reversed = b.parent.is_some() && near_parent(last) < near_parent(first);
    let (start, next) = if reversed {
        (last, points.get(points.len().wrapping_sub(2)).copied().unwrap_or(first))
    } else {
        (first, points.get(1).copied().unwrap_or(last))
    };
    let normal = (next - start).normalize_or_zero();
    let cut_normal = (normal != DVec3::ZERO).then_some(normal.to_array());
    vec![record, EditOp::Relabel { at_mm: start.to_array(), to, cut_normal }]
}

/// One line of the list: class, radius, length, confidence.
fn describe(graph: &TreeGraph, branch: usize) -> String {
    let b = &graph.branches[branch];
    let island = if b.island { ", island" } else { "" };
    format!(
        "{} · r {:.1} mm · {:.0} mm · confidence {:.2}{island}",
        b.class_name, b.mean_radius_mm, b.length_mm, b.confidence
    )
}

/// The review section of the legend for the shown `layer`; pushes what the
/// user asked for onto `actions`.
pub fn review_ui(
    ui: &mut egui::Ui,
    layer: &LabelLayer,
    review: &Review,
    kiosk: &KioskPolicy,
    actions: &mut Vec<Action>,
) {
    let Some(graph) = layer.tree.as_deref() else { return };
    ui.separator();
    ui.label(egui::RichText::new("Vessel trees").strong());
    for c in &graph.classes {
        ui.label(format!(
            "{}: {} branches, {:.1} % in one tree, {} islands",
            c.name,
            c.branches,
            c.largest_piece_fraction * 100.0,
            c.islands
        ));
    }
    let list = graph.review_list();
    if list.is_empty() {
        ui.label(format!("No branch to review (every confidence is at least {:.2}).", graph.review_below));
        return;
    }
    let colour = ui.visuals().warn_fg_color;
    ui.label(
        egui::RichText::new(format!("Branches to review: {} (confidence < {:.2})", list.len(), graph.review_below))
            .color(colour),
    )
    .on_hover_text("the network was unsure whether these are artery or vein; widest first");
    let position = review.position(layer);
    let allowed = kiosk.allowed(&Action::ReviewBranch(ReviewStep::Next));
    ui.horizontal(|ui| {
        if ui.add_enabled(allowed, egui::Button::new("< previous")).clicked() {
            actions.push(Action::ReviewBranch(ReviewStep::Previous));
        }
        ui.label(match position {
            Some(p) => format!("{} of {}", p + 1, list.len()),
            None => format!("– of {}", list.len()),
        });
        if ui.add_enabled(allowed, egui::Button::new("next >")).clicked() {
            actions.push(Action::ReviewBranch(ReviewStep::Next));
        }
    });
    if let Some(b) = review.current_branch(layer) {
        let other = if graph.branches[b].class == vasa_scan::labels::ARTERY { "vein" } else { "artery" };
        ui.horizontal(|ui| {
            for (decision, text) in [
                (ReviewDecision::Accept, "accept".to_string()),
                (ReviewDecision::Switch, format!("make it {other}")),
                (ReviewDecision::Delete, "delete".to_string()),
            ] {
                let action = Action::ReviewDecision(decision);
                if ui.add_enabled(kiosk.allowed(&action), egui::Button::new(text)).clicked() {
                    actions.push(action);
                }
            }
        });
    }
    egui::ScrollArea::vertical().max_height(160.0).id_salt("review list").show(ui, |ui| {
        for (i, &b) in list.iter().enumerate() {
            let selected = position == Some(i);
            if ui.add_enabled(allowed, egui::Button::selectable(selected, describe(graph, b))).clicked() {
                actions.push(Action::ReviewBranch(ReviewStep::At(i)));
            }
        }
    });
}

/// The centrelines (LPS mm) of the branches to review, the current one
/// flagged, for the slice views to mark.
pub fn marks(layer: Option<&LabelLayer>, review: &Review) -> Vec<(Vec<DVec3>, bool)> {
    let Some(layer) = layer else { return Vec::new() };
    let Some(graph) = layer.tree.as_deref() else { return Vec::new() };
    let current = review.position(layer);
    graph
        .review_list()
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let points = graph.branches[b].points_mm.iter().map(|p| DVec3::from_array(*p)).collect();
            (points, current == Some(i))
        })
        .collect()
}

/// How far from the slice plane (mm) a centreline is still drawn on it.
pub const MARK_SLAB_MM: f64 = 2.5;

/// Draws `marks` on a slice through `origin` with unit `normal`, mapped to
/// the screen by `to_screen`.
pub fn paint_marks(
    painter: &egui::Painter,
    marks: &[(Vec<DVec3>, bool)],
    origin: DVec3,
    normal: DVec3,
    to_screen: impl Fn(DVec3) -> Pos2,
) {
    let near = |p: DVec3| (p - origin).dot(normal).abs() <= MARK_SLAB_MM;
    for (points, current) in marks {
        let stroke = if *current {
            Stroke::new(3.0, Color32::from_rgb(255, 140, 0))
        } else {
            Stroke::new(1.5, Color32::from_rgba_unmultiplied(255, 220, 0, 170))
        };
        for pair in points.windows(2) {
            if near(pair[0]) && near(pair[1]) {
                painter.line_segment([to_screen(pair[0]), to_screen(pair[1])], stroke);
            }
        }
        if points.len() == 1 && near(points[0]) {
            painter.circle_stroke(to_screen(points[0]), 3.0, stroke);
        }
        if *current
            && let Some(&m) = points.get(points.len() / 2)
            && near(m)
        {
            painter.circle_stroke(to_screen(m), 8.0, stroke);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use vasa_inference::tree::{BranchReport, TreeGraph};
    use vasa_scan::{Geometry, Volume};

    fn branch(id: usize, radius: f64, confidence: f64, at: f64) -> BranchReport {
        BranchReport {
            id,
            parent: None,
            class: 1,
            class_name: "artery".into(),
            length_mm: 10.0,
            mean_radius_mm: radius,
            min_radius_mm: radius,
            confidence,
            voxels: 10,
            island: false,
            points_mm: vec![[at, 0.0, 0.0], [at, 5.0, 0.0], [at, 10.0, 0.0]],
        }
    }

    pub(crate) fn layer_with_tree() -> LabelLayer {
        let mut layer = LabelLayer::new("vessels", Volume::filled([4, 4, 4], 1u8, Geometry::default()));
        layer.tree = Some(Arc::new(TreeGraph {
            classes: vec![],
            branches: vec![branch(0, 1.0, 0.2, 10.0), branch(1, 3.0, 0.9, 20.0), branch(2, 2.0, 0.4, 30.0)],
            islands: vec![],
            gaps: vec![],
            adopted: vec![],
            merged_lumens: vec![],
            review_below: 0.5,
        }));
        layer
    }

    #[test]
    fn stepping_goes_widest_first_and_wraps() {
        let layer = layer_with_tree();
        let mut r = Review::default();
        // Branches 2 (r 2.0) then 0 (r 1.0) are to review; 1 is confident.
        assert_eq!(r.step(&layer, ReviewStep::Next), Some(DVec3::new(30.0, 5.0, 0.0)));
        assert_eq!(r.position(&layer), Some(0));
        assert_eq!(r.step(&layer, ReviewStep::Next), Some(DVec3::new(10.0, 5.0, 0.0)));
        assert_eq!(r.step(&layer, ReviewStep::Next), Some(DVec3::new(30.0, 5.0, 0.0)), "wraps");
        assert_eq!(r.step(&layer, ReviewStep::Previous), Some(DVec3::new(10.0, 5.0, 0.0)));
        assert_eq!(r.step(&layer, ReviewStep::At(7)), Some(DVec3::new(10.0, 5.0, 0.0)), "clamped");
        // Another layer starts afresh; a layer without a graph has nothing.
        let other = layer_with_tree();
        assert_eq!(r.position(&other), None);
        let plain = LabelLayer::new("plain", Volume::filled([2, 2, 2], 0u8, Geometry::default()));
        assert_eq!(r.step(&plain, ReviewStep::Next), None);
        let m = marks(Some(&layer), &r);
        assert_eq!(m.len(), 2);
        assert_eq!(m.iter().filter(|(_, current)| *current).count(), 1);
        assert!(m[1].1, "the current branch is flagged");
    }

    #[test]
    fn a_switch_relabels_distal_to_the_branchs_proximal_end() {
        let mut layer = layer_with_tree();
        let mut graph = (*layer.tree.take().unwrap()).clone();
        // Branch 0 hangs from branch 1 by its last point (10, 10, 0): the
        // cut is there, pointing back along the branch.
        graph.branches[1].points_mm = vec![[10.0, 10.0, 0.0], [20.0, 10.0, 0.0]];
        graph.branches[0].parent = Some(1);
        let ops = decision_ops(&graph, 0, ReviewDecision::Switch);
        assert_eq!(ops.len(), 2);
        assert!(matches!(ops[0], EditOp::Review { branch: 0, decision: ReviewDecision::Switch, .. }));
        let EditOp::Relabel { at_mm, to, cut_normal: Some(n) } = ops[1] else { panic!("{ops:?}") };
        assert_eq!((at_mm, to), ([10.0, 10.0, 0.0], 2));
        assert!((n[1] + 1.0).abs() < 1e-9, "{n:?}");
        assert_eq!(decision_ops(&graph, 0, ReviewDecision::Accept).len(), 1);
        let delete = decision_ops(&graph, 2, ReviewDecision::Delete);
        assert!(matches!(delete[1], EditOp::Relabel { to: 0, at_mm: [30.0, 0.0, 0.0], .. }), "{delete:?}");
    }

    #[test]
    fn the_legend_lists_the_branches_to_review_and_steps_through_them() {
        use egui_kittest::kittest::Queryable;
        let state = (layer_with_tree(), Review::default(), Vec::<Action>::new());
        let mut h = egui_kittest::Harness::new_ui_state(
            |ui, (layer, review, actions): &mut (LabelLayer, Review, Vec<Action>)| {
                review_ui(ui, layer, review, &KioskPolicy::allow_all(), actions)
            },
            state,
        );
        h.run();
        h.get_by_label_contains("Branches to review: 2");
        h.get_by_label_contains("r 2.0 mm");
        assert!(h.query_by_label_contains("r 3.0 mm").is_none(), "a confident branch is not listed");
        h.get_by_label("next >").click();
        h.run();
        h.get_by_label_contains("r 1.0 mm").click();
        h.run();
        assert_eq!(h.state().2, vec![Action::ReviewBranch(ReviewStep::Next), Action::ReviewBranch(ReviewStep::At(1))]);
    }
}
