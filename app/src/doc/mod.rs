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
pub use layers::{LabelLayer, Layers};
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

/// The open scan with its labels, plan and history.
pub struct Document {
    /// The scan.
    pub scan: Scan,
    /// Its label layers.
    pub layers: Layers,
    /// The intervention plan.
    pub plan: Plan,
    /// Undo and redo of label edits.
    pub history: History,
    /// Which scan this is (results of work started on another are dropped).
    pub generation: u64,
}

impl Document {
    /// A document of `scan` without labels; `generation` tells it from the
    /// documents before it.
    pub fn new(scan: Scan, generation: u64) -> Self {
        Document { scan, layers: Layers::default(), plan: Plan::default(), history: History::default(), generation }
    }

    /// Applies `op` to layer `layer` (with the scan for HU ranges), appends
    /// it to the layer's edit log and records it for undo. The layer's
    /// revision and dirty box follow. `Ok(false)` when there is no such layer.
    pub fn apply_edit(&mut self, layer: u64, op: EditOp) -> Result<bool, vasa_edit::EditError> {
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

    /// Undoes the last edit; false when there is none (or its layer is gone:
    /// the step is dropped).
    pub fn undo(&mut self) -> bool {
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
}
