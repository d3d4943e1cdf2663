//! The per-epoch record and the run's CSV log (`log.csv`), one line per
//! epoch, appended so a resumed run keeps its history.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Optimiser steps done at its end.
    pub step: usize,
    /// Learning rate of its last step.
    pub lr: f64,
    /// Mean training loss over the epoch.
    pub train_loss: f32,
    /// Loss on the validation patches.
    pub val_loss: f32,
    /// Validation Dice of artery, vein, aorta (hard labels).
    pub dice: [f64; 3],
    /// Training seconds since the run began.
    pub seconds: f64,
}

impl EpochRecord {
    /// Mean validation Dice of the three classes.
    pub fn mean_dice(&self) -> f64 {
        self.dice.iter().sum::<f64>() / 3.0
    }
}

/// The CSV header.
pub const HEADER: &str = "epoch,step,lr,train_loss,val_loss,dice_artery,dice_vein,dice_aorta,seconds";

/// Appends `record` to the CSV at `path` (writing the header first when the
/// file is new).
pub fn append(path: &Path, record: &EpochRecord) -> std::io::Result<()> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut line = String::new();
    if new {
        line.push_str(HEADER);
        line.push('\n');
    }
    line.push_str(&format!(
        "{},{},{:.3e},{:.5},{:.5},{:.4},{:.4},{:.4},{:.1}\n",
        record.epoch,
        record.step,
        record.lr,
        record.train_loss,
        record.val_loss,
        record.dice[0],
        record.dice[1],
        record.dice[2],
        record.seconds
    ));
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_with_one_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let r = EpochRecord {
            epoch: 1,
            step: 10,
            lr: 1e-3,
            train_loss: 0.5,
            val_loss: 0.6,
            dice: [0.1, 0.2, 0.3],
            seconds: 12.0,
        };
        append(&path, &r).unwrap();
        append(&path, &EpochRecord { epoch: 2, step: 20, ..r.clone() }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], HEADER);
        assert!(lines[2].starts_with("2,20,"));
        assert!((r.mean_dice() - 0.2).abs() < 1e-12);
    }
}
