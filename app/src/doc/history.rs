//! Undo and redo of label edits: each step keeps the edit and the box it
//! changed as it was on the other side of the edit, run-length coded
//! ([`Patch`]), so the stack costs what the edits touched, compressed, not
//! whole label maps. Bounded in steps and in bytes; the oldest steps go
//! first.

use std::collections::VecDeque;

use vasa_edit::{EditOp, Patch};

/// Steps kept at most.
pub const MAX_STEPS: usize = 1000;

/// Bytes the steps may hold at most (512 MiB).
pub const MAX_BYTES: usize = 512 << 20;

/// One edit of layer `layer`: the op, and the voxels of the box it touched
/// as they are on the other side of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The layer's id.
    pub layer: u64,
    /// The edit.
    pub op: EditOp,
    /// The touched box before the edit (on the undo stack) or after it (redo).
    pub patch: Patch,
}

/// The undo and redo stacks.
#[derive(Debug, Clone)]
pub struct History {
    undo: VecDeque<Step>,
    redo: Vec<Step>,
    /// Bytes the steps may hold.
    max_bytes: usize,
}

impl Default for History {
    fn default() -> Self {
        History::with_limit(MAX_BYTES)
    }
}

impl History {
    /// Empty stacks holding at most `max_bytes`.
    pub fn with_limit(max_bytes: usize) -> Self {
        History { undo: VecDeque::new(), redo: Vec::new(), max_bytes }
    }

    /// The bound on the bytes the steps hold (shown to the user).
    pub fn limit(&self) -> usize {
        self.max_bytes
    }

    /// Records an edit (the voxels as they were before it); forgets what
    /// could be redone, and the oldest steps beyond the bounds.
    pub fn record(&mut self, step: Step) {
        self.redo.clear();
        self.undo.push_back(step);
        while self.undo.len() > MAX_STEPS || (self.undo.len() > 1 && self.bytes() > self.max_bytes) {
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

    /// Bytes the steps hold (undo and redo).
    pub fn bytes(&self) -> usize {
        self.undo.iter().chain(&self.redo).map(|s| s.patch.bytes()).sum()
    }

    /// The edit an undo would revert.
    pub fn next_undo(&self) -> Option<&Step> {
        self.undo.back()
    }

    /// The edit a redo would re-apply.
    pub fn next_redo(&self) -> Option<&Step> {
        self.redo.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use vasa_scan::{Geometry, Volume};

    /// A step whose patch holds `n` runs (alternating labels).
    fn step(layer: u64, n: usize) -> Step {
        let m = Volume::from_vec([n, 1, 1], (0..n).map(|i| (i % 2) as u8).collect(), Geometry::default()).unwrap();
        Step { layer, op: EditOp::Undo, patch: Patch::capture(&m, [0; 3], [n, 1, 1]) }
    }

    #[test]
    fn the_stack_is_bounded_and_a_new_edit_forgets_redo() {
        let mut h = History::with_limit(1 << 20);
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
        // One huge step pushes the others out (but stays itself).
        h.record(step(7, 200_000));
        assert_eq!(h.undo_len(), 1);
        assert!(h.bytes() > h.limit());
    }
}
