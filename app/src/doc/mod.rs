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

pub use history::History;
pub use layers::{LabelLayer, Layers};
pub use plan::Plan;
pub use region::VoxelBox;
pub use scan::Scan;

use history::Step;

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

    /// Edits layer `layer` inside `region` (see [`LabelLayer::edit`]) and
    /// records the step for undo. False when there is no such layer.
    pub fn edit_layer(&mut self, layer: u64, region: VoxelBox, paint: impl FnMut([usize; 3], &mut u8)) -> bool {
        let Some(l) = self.layers.get_mut(layer) else { return false };
        let region = region.clamped(l.labels.dims());
        let before = l.read(region);
        l.edit(region, paint);
        self.history.record(Step { layer, region, voxels: before });
        true
    }

    /// Undoes the last edit; false when there is none (or its layer is gone:
    /// the step is dropped).
    pub fn undo(&mut self) -> bool {
        let Some(step) = self.history.take_undo() else { return false };
        match self.swap(step) {
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
        match self.swap(step) {
            Some(inverse) => {
                self.history.push_undo(inverse);
                true
            }
            None => false,
        }
    }

    /// Puts a step's voxels back; returns the step that reverses this.
    fn swap(&mut self, step: Step) -> Option<Step> {
        let l = self.layers.get_mut(step.layer)?;
        let now = l.read(step.region);
        l.write(step.region, &step.voxels);
        Some(Step { voxels: now, ..step })
    }

    /// Names of the label layers not saved yet.
    pub fn unsaved_layers(&self) -> Vec<String> {
        self.layers.unsaved().map(|l| l.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
    fn an_edit_is_undone_and_redone_with_revisions_and_dirty_boxes() {
        let (mut doc, id) = document();
        let region = VoxelBox::new([1, 1, 1], [3, 4, 2]);
        assert!(doc.edit_layer(id, region, |_, l| *l = 3));
        let layer = doc.layers.get_mut(id).unwrap();
        assert_eq!(layer.revision(), 1);
        assert_eq!(layer.take_dirty(), Some(region));
        assert_eq!(layer.labels.get(2, 3, 1), Some(&3));
        assert_eq!(doc.unsaved_layers(), vec!["labels".to_string()]);

        assert!(doc.undo());
        let layer = doc.layers.get_mut(id).unwrap();
        assert_eq!(layer.labels.get(2, 3, 1), Some(&1), "undone");
        assert_eq!(layer.revision(), 2, "an undo is a change the GPU must see");
        assert_eq!(layer.take_dirty(), Some(region));
        assert!(!doc.undo(), "nothing more to undo");

        assert!(doc.redo());
        assert_eq!(doc.layers.get(id).unwrap().labels.get(2, 3, 1), Some(&3), "redone");
        assert!(!doc.redo());
        assert!(doc.undo());
        assert_eq!(doc.layers.get(id).unwrap().labels.data().iter().filter(|&&l| l != 1).count(), 0);
        assert!(!doc.edit_layer(id + 1000, region, |_, l| *l = 0), "no such layer");
    }
}
