//! The network's configuration: architecture, patch, spacing and input
//! normalisation, saved as JSON next to the weights.

use serde::{Deserialize, Serialize};

/// Version of the weights format this code reads and writes. Bump it when a
/// parameter name or shape changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// Everything needed to rebuild the network and feed it correctly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Weights format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Input channels (1: CT in z-scored HU).
    pub in_channels: usize,
    /// Output classes (background, artery, vein, aorta, ...).
    pub num_classes: usize,
    /// Channels of the first encoder unit; each deeper level doubles them.
    pub base_channels: usize,
    /// Number of encoder units (and of 2×2×2 poolings before the bottleneck).
    pub levels: usize,
    /// Width of the transformer tokens in the global feature module.
    pub token_dim: usize,
    /// Attention heads (must divide `token_dim`).
    pub heads: usize,
    /// Transformer blocks in the global feature module.
    pub transformer_blocks: usize,
    /// Hidden width of the feed-forward layers, as a multiple of `token_dim`.
    pub ff_multiplier: usize,
    /// Channel reduction of the CBAM shared MLP.
    pub cbam_reduction: usize,
    /// Patch size (D, H, W) the network is trained and run on; each side a
    /// multiple of 2^levels. Fixes the learned position embedding's grid.
    pub patch_size: [usize; 3],
    /// Voxel spacing (mm, along i, j, k) scans are resampled to.
    pub target_spacing_mm: [f64; 3],
    /// HU mean subtracted before the network (dataset statistic).
    pub norm_mean: f32,
    /// HU standard deviation divided by before the network.
    pub norm_std: f32,
    /// Set for the fine stage of a coarse-to-fine cascade: the input has, after
    /// the CT, one channel per context class holding the coarse stage's
    /// probability of that class (see [`ContextConfig`]). Absent in
    /// single-stage models, so their `config.json` files stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextConfig>,
}

/// The coarse stage's output a fine stage reads as extra input channels.
///
/// The coarse stage (a complete single-stage model in the `coarse/`
/// subfolder, run at ~4 mm on the whole region) sees enough of the chest to
/// tell the aorta from the spine; its softmax probabilities of `classes`,
/// resampled (trilinear) onto the fine grid, tell the fine stage where each
/// vessel roughly is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextConfig {
    /// Classes of the coarse stage whose probabilities are fed, in channel order.
    pub classes: Vec<usize>,
}

impl ContextConfig {
    /// The cascade's usual context: artery, vein and aorta.
    pub fn vessels() -> Self {
        ContextConfig { classes: vec![1, 2, 3] }
    }
}

impl Default for NetworkConfig {
    /// The shipped default: small enough that a chest CT infers in well under a
    /// minute on two CPU cores (see the benchmark figures in the README).
    fn default() -> Self {
        NetworkConfig {
            version: FORMAT_VERSION,
            in_channels: 1,
            num_classes: 4,
            base_channels: 8,
            levels: 3,
            token_dim: 64,
            heads: 4,
            transformer_blocks: 1,
            ff_multiplier: 2,
            cbam_reduction: 4,
            patch_size: [64, 64, 64],
            target_spacing_mm: [1.5, 1.5, 1.5],
            norm_mean: -500.0,
            norm_std: 500.0,
            context: None,
        }
    }
}

impl NetworkConfig {
    /// Channels of encoder level `i` (0 = full resolution); `levels` is the bottleneck.
    pub fn channels(&self, level: usize) -> usize {
        self.base_channels << level
    }

    /// Side factor every patch side must be a multiple of.
    pub fn divisor(&self) -> usize {
        1 << self.levels
    }

    /// The bottleneck grid of a patch of the configured size.
    pub fn token_grid(&self) -> [usize; 3] {
        self.patch_size.map(|s| s / self.divisor())
    }

    /// Checks that the numbers describe a buildable network; says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != FORMAT_VERSION {
            return Err(format!("weights format version {} (this build reads version {FORMAT_VERSION})", self.version));
        }
        let positive = [
            ("in_channels", self.in_channels),
            ("num_classes", self.num_classes),
            ("base_channels", self.base_channels),
            ("levels", self.levels),
            ("token_dim", self.token_dim),
            ("heads", self.heads),
            ("ff_multiplier", self.ff_multiplier),
            ("cbam_reduction", self.cbam_reduction),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.levels > 6 || self.base_channels > 512 {
            return Err(format!("levels {} / base_channels {} out of range", self.levels, self.base_channels));
        }
        if !self.token_dim.is_multiple_of(self.heads) {
            return Err(format!("token_dim {} is not a multiple of heads {}", self.token_dim, self.heads));
        }
        self.check_patch(self.patch_size)?;
        if let Some(ctx) = &self.context {
            if ctx.classes.is_empty() {
                return Err("context.classes must name at least one class of the coarse stage".into());
            }
            if self.in_channels != 1 + ctx.classes.len() {
                return Err(format!(
                    "in_channels {} must be 1 (CT) + {} context classes = {}",
                    self.in_channels,
                    ctx.classes.len(),
                    1 + ctx.classes.len()
                ));
            }
        }
        if self.target_spacing_mm.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(format!("target_spacing_mm {:?} must be finite and positive", self.target_spacing_mm));
        }
        if !self.norm_std.is_finite() || self.norm_std <= 0.0 || !self.norm_mean.is_finite() {
            return Err(format!("normalisation mean {} / std {} invalid", self.norm_mean, self.norm_std));
        }
        Ok(())
    }

    /// Checks that a patch shape can go through the network.
    pub fn check_patch(&self, patch: [usize; 3]) -> Result<(), String> {
        let d = self.divisor();
        if patch.iter().any(|&s| s == 0 || !s.is_multiple_of(d)) {
            return Err(format!("patch {patch:?}: every side must be a positive multiple of 2^levels = {d}"));
        }
        Ok(())
    }

    /// Multiply-adds ×2 of one forward pass on a patch of `patch` voxels
    /// (convolutions, transposed convolutions and the transformer; the small
    /// element-wise terms are left out).
    pub fn forward_flops(&self, patch: [usize; 3]) -> f64 {
        let vox = |level: usize| patch.iter().map(|&s| (s >> level) as f64).product::<f64>();
        let conv = |cin: usize, cout: usize, k: usize, v: f64| 2.0 * (cin * cout * k * k * k) as f64 * v;
        let mut f = 0.0;
        for l in 0..self.levels {
            let c = self.channels(l);
            let cin = if l == 0 { self.in_channels } else { self.channels(l - 1) };
            let v = vox(l);
            f += conv(cin, c, 3, v) + conv(c, c, 3, v); // encoder
            f += conv(2 * c, c, 3, v) + conv(c, c, 3, v); // decoder
            f += conv(2, 1, 7, v); // CBAM spatial attention
            f += conv(self.channels(l + 1), c, 2, v / 8.0); // transposed conv (per output voxel /8 × 8 taps)
        }
        let cb = self.channels(self.levels);
        let vb = vox(self.levels);
        f += conv(self.channels(self.levels - 1), cb, 3, vb) + conv(cb, cb, 3, vb);
        // Transformer: projections, qkv, attention, output, feed-forward.
        let t = vb;
        let d = self.token_dim as f64;
        let per_block = 2.0 * t * d * (3.0 * d + d + 2.0 * d * self.ff_multiplier as f64) + 4.0 * t * t * d;
        f += 2.0 * 2.0 * t * d * cb as f64 + per_block * self.transformer_blocks as f64;
        f += conv(self.channels(0), self.num_classes, 1, vox(0));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_checks_patches() {
        let c = NetworkConfig::default();
        c.validate().unwrap();
        assert!(c.check_patch([64, 64, 64]).is_ok());
        assert!(c.check_patch([64, 60, 64]).unwrap_err().contains("multiple of 2^levels = 8"));
        let mut bad = c.clone();
        bad.heads = 3;
        assert!(bad.validate().unwrap_err().contains("heads"));
        bad = c.clone();
        bad.version = 99;
        assert!(bad.validate().unwrap_err().contains("version 99"));
    }

    #[test]
    fn context_is_optional_and_checked() {
        // A single-stage config (the v1 model's, as shipped before the
        // cascade) has no context field and still loads.
        let text = include_str!("../../../assets/model/coarse/config.json");
        let single: NetworkConfig = serde_json::from_str(text).unwrap();
        single.validate().unwrap();
        assert_eq!(single.context, None);
        assert!(!serde_json::to_string(&single).unwrap().contains("context"), "old files stay as they were");
        // The shipped fine stage reads the coarse stage's vessel probabilities.
        let shipped: NetworkConfig = serde_json::from_str(include_str!("../../../assets/model/config.json")).unwrap();
        assert_eq!(shipped.context, Some(ContextConfig::vessels()));

        let fine = NetworkConfig { in_channels: 4, context: Some(ContextConfig::vessels()), ..Default::default() };
        fine.validate().unwrap();
        let json = serde_json::to_string(&fine).unwrap();
        assert!(json.contains(r#""context":{"classes":[1,2,3]}"#), "{json}");
        assert_eq!(serde_json::from_str::<NetworkConfig>(&json).unwrap(), fine);
        let bad = NetworkConfig { in_channels: 1, ..fine.clone() };
        assert!(bad.validate().unwrap_err().contains("in_channels 1 must be 1 (CT) + 3"));
        let empty = NetworkConfig { context: Some(ContextConfig { classes: vec![] }), ..fine };
        assert!(empty.validate().unwrap_err().contains("at least one class"));
    }
}
