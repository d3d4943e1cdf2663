//! The document: the open scan and what the user makes of it — label
//! layers, the plan, the edit history. It holds no GPU handles and no
//! viewport state, so undo, planning and export work on it alone; the
//! window ([`crate::gui`]) draws it and keeps its own copies in step by
//! each layer's revision and dirty box.

pub mod history;
pub mod layers;
pub mod plan;
pub mod region;
pub mod scan;
pub mod session;

pub use history::History;
pub use layers::{LabelLayer, Layers, SelfCheckNote};
pub use plan::Plan;
pub use region::VoxelBox;
pub use scan::Scan;

use std::sync::Arc;

use history::Step;
use vasa_edit::{EditOp, Patch};

/// The voxel box a patch covers.
fn patch_box(p: &Patch) -> VoxelBox {
    VoxelBox::new(p.min, [0, 1, 2].map(|a| p.min[a] + p.size[a]))
}

/// The brush of a stroke: what a drag of the brush or eraser paints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Brush {
    /// Class painted (0 erases).
    pub class: u8,
    /// Radius (mm).
    pub radius_mm: f64,
    /// HU range the voxels must lie in.
    pub hu: Option<[i16; 2]>,
    /// Normal of the slice painted in (the 2D disc brush); none: spheres.
    pub normal: Option<[f64; 3]>,
}

/// A stroke being drawn: applied as the pointer moves, logged and recorded
/// as one undo step when it ends.
#[derive(Debug, Clone)]
struct OpenStroke {
    layer: u64,
    brush: Brush,
    points: Vec<[f64; 3]>,
    /// What each applied segment overwrote, oldest first.
    patches: Vec<Patch>,
}

impl OpenStroke {
    fn op(&self) -> EditOp {
        let b = self.brush;
        EditOp::Stroke {
            class: b.class,
            points_mm: self.points.clone(),
            radius_mm: b.radius_mm,
            hu: b.hu,
            normal: b.normal,
        }
    }
}

/// The open scan with its labels, plan and history.
pub struct Document {
    /// The scan.
    pub scan: Scan,
    /// Its label layers.
    pub layers: Layers,
    /// The intervention plan.
    pub plan: Plan,
    /// The plan's revision last saved to (or read from) a file.
    pub plan_saved: u64,
    /// Undo and redo of label edits.
    pub history: History,
    /// Which scan this is (results of work started on another are dropped).
    pub generation: u64,
    /// The stroke being drawn, if any.
    stroke: Option<OpenStroke>,
    /// An edit shown but not made yet (the relabel preview).
    preview: Option<Step>,
}

impl Document {
    /// A document of `scan` without labels; `generation` tells it from the
    /// documents before it.
    pub fn new(scan: Scan, generation: u64) -> Self {
        Document {
            scan,
            layers: Layers::default(),
            plan: Plan::default(),
            plan_saved: 0,
            history: History::default(),
            generation,
            stroke: None,
            preview: None,
        }
    }

    /// Applies `op` to layer `layer` (with the scan for HU ranges), appends
    /// it to the layer's edit log and records it for undo. The layer's
    /// revision and dirty box follow. `Ok(false)` when there is no such layer.
    pub fn apply_edit(&mut self, layer: u64, op: EditOp) -> Result<bool, vasa_edit::EditError> {
        self.finish_stroke();
        self.cancel_preview();
        match op {
            EditOp::Undo => return Ok(self.undo()),
            EditOp::Redo => return Ok(self.redo()),
            EditOp::Review { .. } => {
                // A record for the log, not an undo step.
                let Some(l) = self.layers.get_mut(layer) else { return Ok(false) };
                l.log.push(op);
                return Ok(true);
            }
            _ => {}
        }
        let Some(l) = self.layers.get_mut(layer) else { return Ok(false) };
        if l.base.is_none() {
            l.base = Some(l.labels.clone()); // the first edit copies; this keeps the original
        }
        let labels = Arc::make_mut(&mut l.labels);
        let patch = vasa_edit::apply(labels, Some(&self.scan.ct), &op)?;
        l.mark_dirty(patch_box(&patch));
        l.update_volumes(&patch);
        l.log.push(op.clone());
        self.history.record(Step { layer, op, patch });
        Ok(true)
    }

    /// Continues the stroke on layer `layer` to `point` (LPS mm), or starts
    /// one (ending one of another layer or brush, or off the plane of a disc
    /// stroke). The voxels change at once; the stroke is logged and becomes
    /// one undo step when it ends ([`Document::finish_stroke`], or any
    /// other edit). `Ok(false)` when there is no such layer.
    pub fn stroke_to(&mut self, layer: u64, brush: Brush, point: [f64; 3]) -> Result<bool, vasa_edit::EditError> {
        let continues = self.stroke.as_ref().is_some_and(|s| {
            let coplanar = brush.normal.is_none_or(|n| {
                let n = glam::DVec3::from_array(n).normalize_or_zero();
                (glam::DVec3::from_array(point) - glam::DVec3::from_array(s.points[0])).dot(n).abs() < 1e-6
            });
            s.layer == layer && s.brush == brush && coplanar
        });
        if !continues {
            self.finish_stroke();
        }
        self.cancel_preview();
        let Some(l) = self.layers.get_mut(layer) else { return Ok(false) };
        let mut stroke =
            self.stroke.take().unwrap_or(OpenStroke { layer, brush, points: Vec::new(), patches: Vec::new() });
        if stroke.points.last() == Some(&point) {
            self.stroke = Some(stroke);
            return Ok(true);
        }
        stroke.points.push(point);
        let op = stroke.op();
        let segment = stroke.points.len().saturating_sub(2);
        if l.base.is_none() {
            l.base = Some(l.labels.clone());
        }
        let patch =
            match vasa_edit::apply_stroke_segment(Arc::make_mut(&mut l.labels), Some(&self.scan.ct), &op, segment) {
                Ok(p) => p,
                Err(e) => {
                    stroke.points.pop();
                    self.stroke = (!stroke.points.is_empty()).then_some(stroke);
                    return Err(e);
                }
            };
        l.mark_dirty(patch_box(&patch));
        l.update_volumes(&patch);
        stroke.patches.push(patch);
        self.stroke = Some(stroke);
        Ok(true)
    }

    /// Ends the stroke being drawn: logs it on its layer and records it as
    /// one undo step. Nothing when no stroke is open.
    pub fn finish_stroke(&mut self) {
        let Some(stroke) = self.stroke.take() else { return };
        let Some(l) = self.layers.get_mut(stroke.layer) else { return };
        let patch = Patch::combine(&l.labels, &stroke.patches);
        let op = stroke.op();
        l.log.push(op.clone());
        self.history.record(Step { layer: stroke.layer, op, patch });
    }

    /// Shows `op` on layer `layer` without making it: the labels change (and
    /// the views and legend with them) but nothing is logged or undoable
    /// until [`Document::commit_preview`]; [`Document::cancel_preview`] puts
    /// the voxels back. Replaces an earlier preview. `Ok(false)`: no such layer.
    pub fn preview_edit(&mut self, layer: u64, op: EditOp) -> Result<bool, vasa_edit::EditError> {
        self.finish_stroke();
        self.cancel_preview();
        if !op.is_edit() {
            return Ok(false);
        }
        let Some(l) = self.layers.get_mut(layer) else { return Ok(false) };
        let patch = vasa_edit::apply(Arc::make_mut(&mut l.labels), Some(&self.scan.ct), &op)?;
        l.mark_dirty(patch_box(&patch));
        l.update_volumes(&patch);
        self.preview = Some(Step { layer, op, patch });
        Ok(true)
    }

    /// The edit previewed now, and the voxels it changes.
    pub fn previewed(&self) -> Option<(&EditOp, u64)> {
        let p = self.preview.as_ref()?;
        let l = self.layers.get(p.layer)?;
        let (was, now) = (p.patch.class_counts(), p.patch.class_counts_in(&l.labels));
        let changed = (0..256).map(|c| was[c].abs_diff(now[c])).sum::<u64>() / 2;
        Some((&p.op, changed))
    }

    /// Makes the previewed edit: logged and undoable, as if applied now.
    /// False when nothing is previewed.
    pub fn commit_preview(&mut self) -> bool {
        let Some(step) = self.preview.take() else { return false };
        let Some(l) = self.layers.get_mut(step.layer) else { return false };
        if l.base.is_none() {
            // The labels before the preview: the base the log replays on.
            let mut base = l.labels.as_ref().clone();
            step.patch.restore(&mut base);
            l.base = Some(Arc::new(base));
        }
        l.log.push(step.op.clone());
        self.history.record(step);
        true
    }

    /// Drops the previewed edit, putting its voxels back. False when
    /// nothing is previewed.
    pub fn cancel_preview(&mut self) -> bool {
        let Some(step) = self.preview.take() else { return false };
        let Some(l) = self.layers.get_mut(step.layer) else { return false };
        let inverse = step.patch.restore(Arc::make_mut(&mut l.labels));
        l.mark_dirty(patch_box(&step.patch));
        l.update_volumes(&inverse);
        true
    }

    /// True while a stroke is being drawn.
    pub fn stroking(&self) -> bool {
        self.stroke.is_some()
    }

    /// Undoes the last edit; false when there is none (or its layer is gone:
    /// the step is dropped).
    pub fn undo(&mut self) -> bool {
        self.finish_stroke();
        self.cancel_preview();
        let Some(step) = self.history.take_undo() else { return false };
        match self.swap(step, EditOp::Undo) {
            Some(inverse) => {
                self.history.push_redo(inverse);
                true
            }
            None => false,
        }
    }

    /// Redoes the last undone edit; false when there is none.
    pub fn redo(&mut self) -> bool {
        self.finish_stroke();
        self.cancel_preview();
        let Some(step) = self.history.take_redo() else { return false };
        match self.swap(step, EditOp::Redo) {
            Some(inverse) => {
                self.history.push_undo(inverse);
                true
            }
            None => false,
        }
    }

    /// Puts a step's voxels back and logs `as_op` (undo or redo) on its
    /// layer; returns the step that reverses this.
    fn swap(&mut self, step: Step, as_op: EditOp) -> Option<Step> {
        let l = self.layers.get_mut(step.layer)?;
        let inverse = step.patch.restore(Arc::make_mut(&mut l.labels));
        l.mark_dirty(patch_box(&step.patch));
        l.update_volumes(&inverse);
        l.log.push(as_op);
        Some(Step { patch: inverse, ..step })
    }

    /// True when the plan holds something not saved to a file.
    pub fn plan_unsaved(&self) -> bool {
        !self.plan.is_empty() && self.plan.revision != self.plan_saved
    }

    /// Names of the label layers not saved yet.
    pub fn unsaved_layers(&self) -> Vec<String> {
        self.layers.unsaved().map(|l| l.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, Volume};

    fn document() -> (Document, u64) {
        let g = Geometry::default();
        let scan = Scan {
            ct: Arc::new(Volume::filled([6, 6, 6], 0i16, g)),
            metadata: Default::default(),
            warnings: Vec::new(),
            hu_range: Some((0, 0)),
            name: "t".into(),
            path: None,
        };
        let mut doc = Document::new(scan, 1);
        let layer = LabelLayer::new("labels", Volume::filled([6, 6, 6], 1u8, g));
        let id = layer.id;
        doc.layers.add(layer);
        (doc, id)
    }

    #[test]
    fn an_edit_is_undone_and_redone_with_revisions_dirty_boxes_and_a_log() {
        let (mut doc, id) = document();
        let original = doc.layers.get(id).unwrap().labels.as_ref().clone();
        // Default geometry: voxel (i, j, k) is at (i, j, k) mm.
        let paint = EditOp::Paint { class: 3, center_mm: [2.0, 3.0, 1.0], radius_mm: 1.0, hu: None };
        assert!(doc.apply_edit(id, paint.clone()).unwrap());
        let layer = doc.layers.get_mut(id).unwrap();
        assert_eq!(layer.revision(), 1);
        assert_eq!(layer.take_dirty(), Some(VoxelBox::new([1, 2, 0], [4, 5, 3])));
        assert_eq!(layer.labels.get(2, 3, 1), Some(&3));
        assert_eq!(layer.labels.data().iter().filter(|&&l| l == 3).count(), 7);
        assert_eq!(doc.unsaved_layers(), vec!["labels".to_string()]);
        assert_eq!(doc.history.next_undo().map(|s| &s.op), Some(&paint));
        let ml = |doc: &Document, c: u8| doc.layers.get(id).unwrap().figures(c).0;
        let voxel_ml = 0.001;
        assert!((ml(&doc, 3) - 7.0 * voxel_ml).abs() < 1e-12 && (ml(&doc, 1) - 209.0 * voxel_ml).abs() < 1e-12);

        assert!(doc.undo());
        let layer = doc.layers.get_mut(id).unwrap();
        assert_eq!(layer.labels.get(2, 3, 1), Some(&1), "undone");
        assert_eq!(layer.figures(3).0, 0.0, "the legend follows the undo");
        assert_eq!(layer.revision(), 2, "an undo is a change the GPU must see");
        assert!(layer.take_dirty().is_some());
        assert!(!doc.undo(), "nothing more to undo");

        assert!(doc.redo());
        assert_eq!(doc.layers.get(id).unwrap().labels.get(2, 3, 1), Some(&3), "redone");
        assert!(!doc.redo());
        let erase = EditOp::Erase { center_mm: [4.0, 4.0, 4.0], radius_mm: 1.5 };
        doc.apply_edit(id, erase).unwrap();
        assert!(doc.undo());
        assert!(doc.apply_edit(id, EditOp::Relabel { at_mm: [0.0, 0.0, 0.0], to: 2, cut_normal: None }).unwrap());
        assert!(!doc.apply_edit(id + 1000, EditOp::KeepLargest { class: 1 }).unwrap(), "no such layer");
        assert!(doc.apply_edit(id, EditOp::Relabel { at_mm: [90.0, 0.0, 0.0], to: 2, cut_normal: None }).is_err());

        // A review decision is recorded in the log, not as an undo step.
        let review = EditOp::Review { branch: 4, decision: vasa_edit::ReviewDecision::Accept, at_mm: [1.0, 1.0, 1.0] };
        let undo_before = doc.history.undo_len();
        assert!(doc.apply_edit(id, review.clone()).unwrap());
        assert_eq!(doc.history.undo_len(), undo_before);
        assert_eq!(doc.layers.get(id).unwrap().log.last(), Some(&review));

        // The layer's log replays to the same bytes.
        let layer = doc.layers.get(id).unwrap();
        assert_eq!(layer.log.len(), 7, "{:?}", layer.log);
        let mut replayed = original;
        vasa_edit::replay(&mut replayed, Some(&doc.scan.ct), &layer.log).unwrap();
        assert!(replayed == *layer.labels);
    }

    #[test]
    fn a_stroke_is_one_undo_step_and_a_preview_is_made_or_dropped() {
        let (mut doc, id) = document();
        let layer = doc.layers.get_mut(id).unwrap();
        layer.labels = Arc::new(Volume::filled([6, 6, 6], 0u8, vasa_scan::Geometry::default()));
        let original = layer.labels.as_ref().clone();
        let count =
            |doc: &Document, c: u8| doc.layers.get(id).unwrap().labels.data().iter().filter(|&&l| l == c).count();
        let brush = Brush { class: 2, radius_mm: 0.5, hu: None, normal: Some([0.0, 0.0, 1.0]) };
        // A drag along j = 1 in slice k = 2: the voxels appear as it goes.
        for i in 0..5 {
            assert!(doc.stroke_to(id, brush, [i as f64, 1.0, 2.0]).unwrap());
            assert_eq!(count(&doc, 2), i + 1);
        }
        assert!(doc.stroking());
        // Off the plane: a new stroke (the first one ends).
        doc.stroke_to(id, brush, [4.0, 4.0, 3.0]).unwrap();
        doc.finish_stroke();
        assert_eq!(count(&doc, 2), 6);
        assert_eq!(doc.history.undo_len(), 2);
        assert!(doc.undo());
        assert_eq!(count(&doc, 2), 5);
        assert!(doc.undo());
        assert_eq!(count(&doc, 2), 0, "one undo takes the whole first stroke");
        assert!(doc.redo());
        assert_eq!(count(&doc, 2), 5);
        assert_eq!(doc.layers.get(id).unwrap().figures(2).0, 0.005, "the legend follows");

        // A preview changes the voxels but not the log; cancel puts them back.
        let log_len = doc.layers.get(id).unwrap().log.len();
        let relabel = EditOp::Relabel { at_mm: [2.0, 1.0, 2.0], to: 3, cut_normal: None };
        assert!(doc.preview_edit(id, relabel.clone()).unwrap());
        assert_eq!(doc.previewed(), Some((&relabel, 5)));
        assert_eq!(count(&doc, 3), 5);
        assert!(doc.cancel_preview());
        assert_eq!((count(&doc, 3), count(&doc, 2)), (0, 5));
        assert_eq!(doc.layers.get(id).unwrap().log.len(), log_len);
        // Previewed again and applied: logged and undoable like any edit.
        doc.preview_edit(id, relabel.clone()).unwrap();
        assert!(doc.commit_preview());
        assert!(doc.previewed().is_none());
        assert_eq!(doc.history.next_undo().map(|s| &s.op), Some(&relabel));
        assert!(doc.undo());
        assert_eq!(count(&doc, 3), 0);
        assert!(doc.redo());
        // A preview left open when another edit comes is dropped.
        doc.preview_edit(id, EditOp::Relabel { at_mm: [2.0, 1.0, 2.0], to: 1, cut_normal: None }).unwrap();
        doc.apply_edit(id, EditOp::Erase { center_mm: [0.0, 1.0, 2.0], radius_mm: 0.5 }).unwrap();
        assert_eq!(count(&doc, 1), 0);
        assert_eq!(count(&doc, 3), 4);

        // The log replays to the same bytes.
        let layer = doc.layers.get(id).unwrap();
        let mut replayed = original;
        vasa_edit::replay(&mut replayed, Some(&doc.scan.ct), &layer.log).unwrap();
        assert!(replayed == *layer.labels, "{:?}", layer.log);
    }
}
