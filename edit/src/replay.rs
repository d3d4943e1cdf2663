//! A sequence of edits with undo and redo: what the app does as the user
//! edits, and what `vasa edit` does with a log. Each applied edit keeps its
//! [`Patch`]; an undo restores it (keeping the inverse for redo).

use vasa_scan::{LabelMap, Volume};

use crate::apply::apply;
use crate::error::EditError;
use crate::ops::EditOp;
use crate::patch::Patch;

/// Edits applied so far, for undo and redo.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Applied edits, oldest first: the op and the voxels it overwrote.
    done: Vec<(EditOp, Patch)>,
    /// Undone edits, most recently undone last: the op and the voxels the
    /// undo overwrote.
    undone: Vec<(EditOp, Patch)>,
}

impl Replay {
    /// Carries out `op` on `labels` (with the scan `ct` for HU ranges).
    /// An edit clears what could be redone.
    pub fn step(&mut self, labels: &mut LabelMap, ct: Option<&Volume<i16>>, op: &EditOp) -> Result<(), EditError> {
        match op {
            EditOp::Undo => {
                let (op, patch) = self.done.pop().ok_or(EditError::NothingTo("undo"))?;
                let inverse = patch.restore(labels);
                self.undone.push((op, inverse));
            }
            EditOp::Redo => {
                let (op, patch) = self.undone.pop().ok_or(EditError::NothingTo("redo"))?;
                let inverse = patch.restore(labels);
                self.done.push((op, inverse));
            }
            EditOp::Review { .. } => {} // a record, not an undo step
            edit => {
                let patch = apply(labels, ct, edit)?;
                self.done.push((edit.clone(), patch));
                self.undone.clear();
            }
        }
        Ok(())
    }

    /// The edit an undo would revert.
    pub fn next_undo(&self) -> Option<&EditOp> {
        self.done.last().map(|(op, _)| op)
    }

    /// The edit a redo would re-apply.
    pub fn next_redo(&self) -> Option<&EditOp> {
        self.undone.last().map(|(op, _)| op)
    }

    /// Bytes the kept patches hold.
    pub fn bytes(&self) -> usize {
        self.done.iter().chain(&self.undone).map(|(_, p)| p.bytes()).sum()
    }

    /// Forgets the oldest edits (they can no longer be undone) until the
    /// patches hold at most `max_bytes`.
    pub fn trim(&mut self, max_bytes: usize) {
        let mut excess = self.bytes().saturating_sub(max_bytes);
        let mut drop = 0;
        while excess > 0 && drop < self.done.len() {
            excess = excess.saturating_sub(self.done[drop].1.bytes());
            drop += 1;
        }
        self.done.drain(..drop);
    }
}

/// Replays `ops` on `labels` (with the scan `ct` for HU ranges); the error
/// names the op's position (1-based).
pub fn replay(labels: &mut LabelMap, ct: Option<&Volume<i16>>, ops: &[EditOp]) -> Result<Replay, (usize, EditError)> {
    let mut r = Replay::default();
    for (n, op) in ops.iter().enumerate() {
        r.step(labels, ct, op).map_err(|e| (n + 1, e))?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use glam::DVec3;
    use proptest::prelude::*;
    use vasa_scan::Geometry;

    use super::*;

    fn map() -> LabelMap {
        let mut m = Volume::filled([24, 20, 16], 0u8, Geometry::axis_aligned(DVec3::new(1.0, 0.8, 1.5), DVec3::ZERO));
        for n in 0..m.len() {
            let c = m.coords(n);
            if (c[0] as i64 - 12).pow(2) + (c[1] as i64 - 10).pow(2) <= 9 {
                m.data_mut()[n] = 1;
            }
        }
        m
    }

    fn op_strategy() -> impl Strategy<Value = EditOp> {
        let point = (0.0..23.0f64, 0.0..15.0f64, 0.0..22.0f64).prop_map(|(x, y, z)| [x, y, z]);
        prop_oneof![
            (1u8..4, point.clone(), 0.5..4.0f64).prop_map(|(class, c, r)| EditOp::Paint {
                class,
                center_mm: c,
                radius_mm: r,
                hu: None
            }),
            (point.clone(), 0.5..4.0f64).prop_map(|(c, r)| EditOp::Erase { center_mm: c, radius_mm: r }),
            (0u8..4, 0.0..30.0f64).prop_map(|(class, v)| EditOp::RemoveIslands { class, min_mm3: v }),
            (point.clone(), point, 0.5..2.0f64).prop_map(|(a, b, r)| EditOp::Connect {
                class: 2,
                from_mm: a,
                to_mm: b,
                radius_mm: r,
                hu: None
            }),
            Just(EditOp::Undo),
            Just(EditOp::Redo),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Undoing every applied edit gives back the original bytes; redoing
        /// them all gives back the edited bytes.
        #[test]
        fn undo_and_redo_round_trip(ops in prop::collection::vec(op_strategy(), 1..12)) {
            let original = map();
            let mut m = original.clone();
            let mut r = Replay::default();
            for op in &ops {
                let _ = r.step(&mut m, None, op); // an undo with nothing to undo is refused, harmlessly
            }
            let edited = m.clone();
            let mut undos = 0;
            while r.next_undo().is_some() {
                r.step(&mut m, None, &EditOp::Undo).unwrap();
                undos += 1;
            }
            prop_assert!(m == original);
            for _ in 0..undos {
                r.step(&mut m, None, &EditOp::Redo).unwrap();
            }
            prop_assert!(m == edited);
        }
    }

    #[test]
    fn undo_and_redo_follow_the_stack_and_an_edit_clears_redo() {
        let mut m = map();
        let paint = EditOp::Paint { class: 3, center_mm: [5.0, 5.0, 5.0], radius_mm: 2.0, hu: None };
        let erase = EditOp::Erase { center_mm: [12.0, 8.0, 6.0], radius_mm: 3.0 };
        let original = m.clone();
        let r = replay(&mut m, None, &[paint.clone(), erase.clone(), EditOp::Undo]).unwrap();
        assert_eq!(r.next_undo(), Some(&paint));
        assert_eq!(r.next_redo(), Some(&erase));
        let mut only_paint = original.clone();
        apply(&mut only_paint, None, &paint).unwrap();
        assert!(m == only_paint);
        let err = replay(&mut original.clone(), None, &[paint.clone(), EditOp::Undo, EditOp::Undo]).unwrap_err();
        assert_eq!(err.0, 3);
        let mut m = original.clone();
        let r = replay(&mut m, None, &[paint.clone(), EditOp::Undo, erase.clone()]).unwrap();
        assert_eq!(r.next_redo(), None, "a new edit clears redo");
        let mut r = r;
        r.trim(0);
        assert_eq!(r.next_undo(), None);
    }
}
