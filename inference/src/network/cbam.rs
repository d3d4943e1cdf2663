//! CBAM (convolutional block attention module) on the skip connections:
//! channel attention, then spatial attention, as DESIGN.md S202 describes.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::layers::Conv3d;

/// Channel attention (shared MLP over global average and max pooling) followed
/// by spatial attention (7×7×7 conv over channel max and mean).
#[derive(Debug, Clone)]
pub struct Cbam {
    fc1: Linear,
    fc2: Linear,
    spatial: Conv3d,
}

impl Cbam {
    /// Creates the block for `channels` channels under `vb` (`fc1`, `fc2`, `spatial`).
    pub fn new(channels: usize, reduction: usize, vb: VarBuilder) -> Result<Self> {
        let hidden = (channels / reduction).max(4);
        Ok(Cbam {
            fc1: candle_nn::linear(channels, hidden, vb.pp("fc1"))?,
            fc2: candle_nn::linear(hidden, channels, vb.pp("fc2"))?,
            spatial: Conv3d::new(2, 1, 7, 3, true, vb.pp("spatial"))?,
        })
    }

    fn mlp(&self, v: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(v)?.relu()?)
    }
}

impl Module for Cbam {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, _, _, _) = x.dims5()?;
        // Channel attention: squeeze the spatial dimensions two ways.
        let flat = x.flatten_from(2)?;
        let avg = flat.mean(2)?;
        let max = flat.max(2)?;
        let channel = candle_nn::ops::sigmoid(&(self.mlp(&avg)? + self.mlp(&max)?)?)?;
        let x = x.broadcast_mul(&channel.reshape((n, c, 1, 1, 1))?)?;
        // Spatial attention: max and mean over channels, 7×7×7 conv.
        let pooled = Tensor::cat(&[x.max_keepdim(1)?, x.mean_keepdim(1)?], 1)?;
        let spatial = candle_nn::ops::sigmoid(&self.spatial.forward(&pooled)?)?;
        x.broadcast_mul(&spatial)
    }
}
