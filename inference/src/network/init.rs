//! Seeded, machine-independent weight initialisation.
//!
//! candle's CPU random generator cannot be seeded, so the layers are built
//! with candle's initialisers and then every randomly initialised tensor is
//! redrawn here from a stream keyed by (seed, tensor name): the same seed gives
//! the same network everywhere, and adding a layer does not shift the others.
//! The distributions match the layers' own hints:
//! - 3-D conv weights `[Cout, Cin, k, k, k]`: He normal, σ = √(2 / (Cin·k³));
//! - transposed conv weights (`up*.weight`, `[Cin, Cout, 2, 2, 2]`): σ = √(1 / (Cin·8));
//! - linear weights `[out, in]`: He normal, σ = √(2 / in); linear biases: U(±1/√in);
//! - the position embedding: σ = 0.02;
//! - norms and conv biases keep their constant initial values.

use candle_core::{Device, Result, Tensor};
use candle_nn::VarMap;

/// Redraws the random parameters of `varmap` from `seed`.
pub fn seeded_init(varmap: &VarMap, seed: u64, device: &Device) -> Result<()> {
    let vars = varmap.data().lock().map_err(|_| candle_core::Error::msg("variable map lock poisoned"))?;
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    // Fan-in of each linear layer, to size its bias.
    let linear_in = |layer: &str| vars.get(&format!("{layer}.weight")).and_then(|w| w.dims().get(1).copied());
    for name in names {
        let var = &vars[name];
        let dims = var.dims().to_vec();
        let n: usize = dims.iter().product();
        let mut rng = SplitMix64::new(seed ^ fnv1a(name.as_bytes()));
        let values: Option<Vec<f32>> = if name.ends_with(".position") {
            Some(rng.normals(n, 0.02))
        } else if name.ends_with(".weight") && dims.len() == 5 {
            let layer = name.rsplit('.').nth(1).unwrap_or("");
            let receptive: usize = dims[2..].iter().product();
            let std = if layer.starts_with("up") {
                (1.0 / (dims[0] * receptive) as f64).sqrt()
            } else {
                (2.0 / (dims[1] * receptive) as f64).sqrt()
            };
            Some(rng.normals(n, std))
        } else if name.ends_with(".weight") && dims.len() == 2 {
            Some(rng.normals(n, (2.0 / dims[1] as f64).sqrt()))
        } else if name.ends_with(".bias") && dims.len() == 1 {
            let layer = &name[..name.len() - ".bias".len()];
            // Only linear layers have random biases (their weight is rank 2).
            match vars.get(&format!("{layer}.weight")).map(|w| w.dims().len()) {
                Some(2) => {
                    let bound = 1.0 / (linear_in(layer).unwrap_or(1) as f64).sqrt();
                    Some((0..n).map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32).collect())
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some(v) = values {
            var.set(&Tensor::from_vec(v, dims, device)?)?;
        }
    }
    Ok(())
}

/// FNV-1a hash of a name: a stable per-tensor stream key.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// SplitMix64: tiny, fast, and the same on every machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` normal samples of standard deviation `std` (Box–Muller).
    fn normals(&mut self, n: usize, std: f64) -> Vec<f32> {
        let mut out = Vec::with_capacity(n + 1);
        while out.len() < n {
            let u1 = self.uniform().max(1e-300);
            let u2 = self.uniform();
            let r = (-2.0 * u1.ln()).sqrt() * std;
            let t = std::f64::consts::TAU * u2;
            out.push((r * t.cos()) as f32);
            out.push((r * t.sin()) as f32);
        }
        out.truncate(n);
        out
    }
}
