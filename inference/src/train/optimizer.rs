//! AdamW with its state in plain tensors (so checkpoints can save and
//! restore it), global gradient-norm clipping, and the learning-rate
//! schedule (linear warm-up, cosine decay).

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::VarMap;

/// AdamW settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWSettings {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
    /// Decoupled weight decay (applied to weights of rank ≥ 2 only).
    pub weight_decay: f64,
    /// Gradients are scaled down so their global L2 norm is at most this.
    pub max_grad_norm: f64,
}

impl Default for AdamWSettings {
    fn default() -> Self {
        AdamWSettings { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-4, max_grad_norm: 5.0 }
    }
}

struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// AdamW over the trainable variables of a [`VarMap`] (BatchNorm running
/// statistics excluded), in name order.
pub struct AdamW {
    slots: Vec<Slot>,
    settings: AdamWSettings,
    /// Updates done so far (for bias correction).
    pub step: u64,
}

/// Whether a variable is trained (running statistics are not).
pub fn is_trainable(name: &str) -> bool {
    !name.ends_with("running_mean") && !name.ends_with("running_var")
}

impl AdamW {
    /// An optimiser with zero moments.
    pub fn new(varmap: &VarMap, settings: AdamWSettings) -> Result<Self> {
        let vars = varmap.data().lock().map_err(|_| candle_core::Error::msg("variable map lock poisoned"))?;
        let mut names: Vec<&String> = vars.keys().filter(|n| is_trainable(n)).collect();
        names.sort();
        let mut slots = Vec::with_capacity(names.len());
        for name in names {
            let var = vars[name].clone();
            let m = var.as_tensor().zeros_like()?;
            let v = var.as_tensor().zeros_like()?;
            slots.push(Slot { name: name.clone(), var, m, v });
        }
        Ok(AdamW { slots, settings, step: 0 })
    }

    /// One update with learning rate `lr`; returns the gradients' global norm
    /// before clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<f64> {
        let s = self.settings;
        let mut sq = 0f64;
        for slot in &self.slots {
            if let Some(g) = grads.get(slot.var.as_tensor()) {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        let norm = sq.sqrt();
        let clip = if norm.is_finite() && norm > s.max_grad_norm { s.max_grad_norm / norm } else { 1.0 };
        if !norm.is_finite() {
            // A non-finite gradient would poison the moments: skip the update.
            return Ok(norm);
        }
        self.step += 1;
        let t = self.step as i32;
        let bc1 = 1.0 - s.beta1.powi(t);
        let bc2 = 1.0 - s.beta2.powi(t);
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else { continue };
            let g = (g * clip)?;
            slot.m = ((&slot.m * s.beta1)? + (&g * (1.0 - s.beta1))?)?;
            slot.v = ((&slot.v * s.beta2)? + (g.sqr()? * (1.0 - s.beta2))?)?;
            let mhat = (&slot.m / bc1)?;
            let vhat = (&slot.v / bc2)?;
            let update = (mhat / (vhat.sqrt()? + s.eps)?)?;
            let theta = slot.var.as_tensor();
            let decayed = if theta.rank() >= 2 { (theta * (1.0 - lr * s.weight_decay))? } else { theta.clone() };
            slot.var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(norm)
    }

    /// The moments by name (`m.<var>`, `v.<var>`), for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(self.slots.len() * 2);
        for s in &self.slots {
            out.push((format!("m.{}", s.name), s.m.clone()));
            out.push((format!("v.{}", s.name), s.v.clone()));
        }
        out
    }

    /// Restores moments saved by [`AdamW::state`] and the step count; every
    /// variable must be present with its shape.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, step: u64) -> Result<()> {
        for s in &mut self.slots {
            for (prefix, slot) in [("m", &mut s.m), ("v", &mut s.v)] {
                let key = format!("{prefix}.{}", s.name);
                let t =
                    tensors.get(&key).ok_or_else(|| candle_core::Error::msg(format!("optimiser state lacks {key}")))?;
                if t.dims() != slot.dims() {
                    candle_core::bail!("optimiser state {key} has shape {:?}, expected {:?}", t.dims(), slot.dims());
                }
                *slot = t.to_device(slot.device())?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Learning rate at `step` (0-based) of `total`: linear warm-up over
/// `warmup` steps to `base`, then cosine decay to `base · floor`.
pub fn learning_rate(step: usize, total: usize, warmup: usize, base: f64, floor: f64) -> f64 {
    if step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let t = ((step - warmup) as f64 / span).min(1.0);
    base * (floor + (1.0 - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::Init;

    #[test]
    fn schedule_warms_up_and_decays() {
        assert!((learning_rate(0, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-12);
        assert!((learning_rate(9, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(10, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(100, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-12);
        assert!(learning_rate(50, 100, 10, 1.0, 0.1) < learning_rate(30, 100, 10, 1.0, 0.1));
    }

    #[test]
    fn minimises_a_quadratic_and_state_round_trips() {
        let varmap = VarMap::new();
        let dev = Device::Cpu;
        let w = varmap.get((2, 2), "w", Init::Const(3.0), DType::F32, &dev).unwrap();
        let _rm = varmap.get(2, "bn.running_mean", Init::Const(0.0), DType::F32, &dev).unwrap();
        let mut opt = AdamW::new(&varmap, AdamWSettings { weight_decay: 0.0, ..Default::default() }).unwrap();
        assert_eq!(opt.state().len(), 2, "running statistics are not trained");
        for _ in 0..300 {
            let loss = w.sqr().unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            opt.step(&grads, 0.05).unwrap();
        }
        let left: f32 = w.abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert!(left < 0.1, "{left}");
        let saved: HashMap<String, Tensor> = opt.state().into_iter().collect();
        let mut other = AdamW::new(&varmap, AdamWSettings::default()).unwrap();
        other.load_state(&saved, opt.step).unwrap();
        for ((a, x), (b, y)) in opt.state().iter().zip(other.state().iter()) {
            assert_eq!(a, b);
            let d: f32 = (x - y).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
            assert_eq!(d, 0.0);
        }
        let mut missing = saved.clone();
        missing.remove("v.w");
        assert!(other.load_state(&missing, 1).unwrap_err().to_string().contains("v.w"));
    }
}
