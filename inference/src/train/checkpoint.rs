//! Checkpoints: the weights, the optimiser's moments and the loop state
//! (step, random stream, records) in `run/checkpoint/`, written to a fresh
//! folder and swapped in by rename so a crash never leaves half a checkpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::log::EpochRecord;
use super::optimizer::AdamW;
use crate::network::Model;

const DIR: &str = "checkpoint";
const OLD: &str = "checkpoint.old";
const NEW: &str = "checkpoint.new";
const STATE: &str = "state.json";
const OPTIMIZER: &str = "optimizer.safetensors";

/// The training loop's position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopState {
    /// Optimiser steps done.
    pub step: usize,
    /// Position of the patch stream.
    pub rng_state: u64,
    /// Best mean validation Dice so far (NaN before the first epoch; JSON
    /// has no NaN, so it is written as `null` and read back as NaN).
    #[serde(deserialize_with = "nan_from_null")]
    pub best_dice: f64,
    /// Training seconds before this session.
    pub seconds: f64,
    /// Every epoch so far.
    pub records: Vec<EpochRecord>,
}

impl LoopState {
    /// The state of a fresh run.
    pub fn new(seed: u64) -> Self {
        LoopState {
            step: 0,
            rng_state: crate::phantom::rng::Rng::new(seed ^ 0x0074_7261_696E).state(),
            best_dice: f64::NAN,
            seconds: 0.0,
            records: Vec::new(),
        }
    }
}

/// `null` (how serde_json writes NaN) as NaN, any number as itself.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A checkpoint read back.
pub struct Resumed {
    /// The network with its weights.
    pub model: Model,
    /// The optimiser moments by name.
    pub optimizer: HashMap<String, Tensor>,
    /// The loop state.
    pub state: LoopState,
}

/// Whether `run` holds a checkpoint.
pub fn exists(run: &Path) -> bool {
    run.join(DIR).join(STATE).is_file() || run.join(OLD).join(STATE).is_file()
}

fn io(path: PathBuf, e: impl std::fmt::Display) -> TrainError {
    TrainError::Io { path, reason: e.to_string() }
}

/// Writes the checkpoint of `run`.
pub fn save(run: &Path, model: &Model, opt: &AdamW, state: &LoopState) -> Result<(), TrainError> {
    let new = run.join(NEW);
    if new.exists() {
        std::fs::remove_dir_all(&new).map_err(|e| io(new.clone(), e))?;
    }
    model.save(&new)?;
    let tensors = opt.state();
    let bytes = safetensors::tensor::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), None)
        .map_err(|e| io(new.join(OPTIMIZER), e))?;
    let opt_path = new.join(OPTIMIZER);
    vasa_scan::atomic_file::write_atomically(&opt_path, |w| std::io::Write::write_all(w, &bytes))
        .map_err(|e| io(opt_path.clone(), e))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| io(new.join(STATE), e))?;
    let state_path = new.join(STATE);
    vasa_scan::atomic_file::write_atomically(&state_path, |w| std::io::Write::write_all(w, &json))
        .map_err(|e| io(state_path.clone(), e))?;
    // Swap: current → old, new → current, drop old.
    let (dir, old) = (run.join(DIR), run.join(OLD));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(old.clone(), e))?;
    }
    if dir.exists() {
        std::fs::rename(&dir, &old).map_err(|e| io(dir.clone(), e))?;
    }
    std::fs::rename(&new, &dir).map_err(|e| io(new.clone(), e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(old.clone(), e))?;
    }
    Ok(())
}

/// Reads the checkpoint of `run` (`None` when there is none); falls back to
/// the previous one when a crash interrupted the swap.
pub fn load(run: &Path, device: &Device) -> Result<Option<Resumed>, TrainError> {
    let dir = [run.join(DIR), run.join(OLD)].into_iter().find(|d| d.join(STATE).is_file());
    let Some(dir) = dir else { return Ok(None) };
    let model = Model::load(&dir, device)?;
    let opt_path = dir.join(OPTIMIZER);
    let bytes = std::fs::read(&opt_path).map_err(|e| io(opt_path.clone(), e))?;
    let optimizer = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| io(opt_path.clone(), e))?;
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| io(state_path.clone(), e))?;
    let state: LoopState = serde_json::from_str(&text).map_err(|e| io(state_path.clone(), e))?;
    Ok(Some(Resumed { model, optimizer, state }))
}

#[cfg(test)]
mod tests {
    use super::LoopState;

    #[test]
    fn a_state_saved_before_the_first_epoch_reads_back() {
        // A checkpoint written by the minutes timer before any validation
        // holds best_dice = NaN, which JSON writes as null.
        let state = LoopState::new(3);
        let text = serde_json::to_string(&state).unwrap();
        assert!(text.contains("\"best_dice\":null"), "{text}");
        let back: LoopState = serde_json::from_str(&text).expect("reads back");
        assert!(back.best_dice.is_nan());
        assert_eq!((back.step, back.rng_state), (state.step, state.rng_state));
        let done = LoopState { best_dice: 0.61, ..state };
        let back: LoopState = serde_json::from_str(&serde_json::to_string(&done).unwrap()).unwrap();
        assert_eq!(back.best_dice, 0.61);
    }
}
