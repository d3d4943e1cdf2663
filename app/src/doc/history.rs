//! Undo and redo of label edits: each step keeps the box it changed and
//! the voxels that were there, so the stack costs what the edits touched,
//! not whole label maps. Bounded in steps and in bytes; the oldest steps
//! go first. The label-editing issue adds the tools that make edits.

use std::collections::VecDeque;

use super::region::VoxelBox;

/// Steps kept at most.
pub const MAX_STEPS: usize = 100;

/// Voxel bytes kept at most, over all steps (256 MiB).
pub const MAX_BYTES: usize = 256 << 20;

/// One edit: layer `layer`'s voxels of `region` were `voxels` (x fastest).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The layer's id.
    pub layer: u64,
    /// Where the edit was.
    pub region: VoxelBox,
    /// The labels there on the other side of the edit.
    pub voxels: Vec<u8>,
}

/// The undo and redo stacks.
#[derive(Debug, Clone, Default)]
pub struct History {
    undo: VecDeque<Step>,
    redo: Vec<Step>,
}

impl History {
    /// Records an edit (the voxels as they were before it); forgets what
    /// could be redone, and the oldest steps beyond the bounds.
    pub fn record(&mut self, step: Step) {
        self.redo.clear();
        self.undo.push_back(step);
        while self.undo.len() > MAX_STEPS || self.bytes() > MAX_BYTES {
            self.undo.pop_front();
        }
    }

    /// The step to undo, taken off the stack.
    pub fn take_undo(&mut self) -> Option<Step> {
        self.undo.pop_back()
    }

    /// The step to redo, taken off the stack.
    pub fn take_redo(&mut self) -> Option<Step> {
        self.redo.pop()
    }

    /// Keeps the inverse of an undone step for redo.
    pub fn push_redo(&mut self, step: Step) {
        self.redo.push(step);
    }

    /// Keeps the inverse of a redone step for undo (without clearing redo).
    pub fn push_undo(&mut self, step: Step) {
        self.undo.push_back(step);
    }

    /// Steps that can be undone.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Steps that can be redone.
    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }

    /// Voxel bytes held by the undo steps.
    fn bytes(&self) -> usize {
        self.undo.iter().map(|s| s.voxels.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(layer: u64, n: usize) -> Step {
        Step { layer, region: VoxelBox::new([0; 3], [n, 1, 1]), voxels: vec![0; n] }
    }

    #[test]
    fn the_stack_is_bounded_and_a_new_edit_forgets_redo() {
        let mut h = History::default();
        for i in 0..(MAX_STEPS as u64 + 5) {
            h.record(step(i, 1));
        }
        assert_eq!(h.undo_len(), MAX_STEPS);
        let last = h.take_undo().unwrap();
        assert_eq!(last.layer, MAX_STEPS as u64 + 4);
        h.push_redo(last);
        assert_eq!(h.redo_len(), 1);
        h.record(step(0, 1));
        assert_eq!(h.redo_len(), 0);
        // One huge step pushes the others out.
        h.record(step(7, MAX_BYTES));
        assert_eq!(h.undo_len(), 1);
    }
}
