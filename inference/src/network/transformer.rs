//! The global feature module at the bottleneck: the deepest feature map's
//! voxels become tokens, pass pre-norm transformer blocks, and are projected
//! back to a feature map (DESIGN.md S202).

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Init, Linear, VarBuilder};

/// Layer normalisation over the last dimension, composed of differentiable
/// ops (candle-nn's fused kernel gives its weight and bias no gradient).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    /// Creates the layer (`weight` = 1, `bias` = 0) under `vb`.
    pub fn new(dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(LayerNorm {
            weight: vb.get_with_hints(dim, "weight", Init::Const(1.0))?,
            bias: vb.get_with_hints(dim, "bias", Init::Const(0.0))?,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + 1e-5)?.sqrt()?)?;
        normed.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

/// Pre-norm multi-head self-attention with residual, then pre-norm
/// feed-forward (two linear layers, GELU) with residual.
#[derive(Debug, Clone)]
pub struct TransformerBlock {
    norm1: LayerNorm,
    qkv: Linear,
    out: Linear,
    norm2: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    heads: usize,
}

impl TransformerBlock {
    /// Creates a block of width `dim` under `vb`.
    pub fn new(dim: usize, heads: usize, ff_multiplier: usize, vb: VarBuilder) -> Result<Self> {
        Ok(TransformerBlock {
            norm1: LayerNorm::new(dim, vb.pp("norm1"))?,
            qkv: candle_nn::linear(dim, 3 * dim, vb.pp("qkv"))?,
            out: candle_nn::linear(dim, dim, vb.pp("out"))?,
            norm2: LayerNorm::new(dim, vb.pp("norm2"))?,
            ff1: candle_nn::linear(dim, dim * ff_multiplier, vb.pp("ff1"))?,
            ff2: candle_nn::linear(dim * ff_multiplier, dim, vb.pp("ff2"))?,
            heads,
        })
    }

    fn attention(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let dh = d / self.heads;
        // [B, T, 3, H, dh] → three [B, H, T, dh].
        let qkv = self.qkv.forward(x)?.reshape((b, t, 3, self.heads, dh))?.permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let scores = (q.matmul(&k.t()?)? / (dh as f64).sqrt())?;
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let y = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        self.out.forward(&y)
    }
}

impl Module for TransformerBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = (x + self.attention(&self.norm1.forward(x)?)?)?;
        let ff = self.ff2.forward(&self.ff1.forward(&self.norm2.forward(&x)?)?.gelu()?)?;
        x + ff
    }
}

/// Tokens from the bottleneck feature map, a learned position embedding,
/// transformer blocks, and the projection back; added to its input so the
/// module starts close to the identity.
#[derive(Debug, Clone)]
pub struct GlobalFeatureModule {
    proj_in: Linear,
    /// `[1, token_dim, gd, gh, gw]`: one embedding per bottleneck voxel of a
    /// training patch; resized (trilinear) for other patch sizes.
    position: Tensor,
    blocks: Vec<TransformerBlock>,
    proj_out: Linear,
}

impl GlobalFeatureModule {
    /// Creates the module for `channels` feature channels on a `grid` of tokens.
    pub fn new(
        channels: usize,
        dim: usize,
        heads: usize,
        ff_multiplier: usize,
        blocks: usize,
        grid: [usize; 3],
        vb: VarBuilder,
    ) -> Result<Self> {
        let position =
            vb.get_with_hints((1, dim, grid[0], grid[1], grid[2]), "position", Init::Randn { mean: 0.0, stdev: 0.02 })?;
        let blocks = (0..blocks)
            .map(|i| TransformerBlock::new(dim, heads, ff_multiplier, vb.pp(format!("block{i}"))))
            .collect::<Result<_>>()?;
        Ok(GlobalFeatureModule {
            proj_in: candle_nn::linear(channels, dim, vb.pp("proj_in"))?,
            position,
            blocks,
            proj_out: candle_nn::linear(dim, channels, vb.pp("proj_out"))?,
        })
    }
}

impl Module for GlobalFeatureModule {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, gd, gh, gw) = x.dims5()?;
        let tokens = x.flatten_from(2)?.transpose(1, 2)?.contiguous()?; // [N, T, C]
        let pos = resize_trilinear(&self.position, [gd, gh, gw])?; // [1, dim, gd, gh, gw]
        let pos = pos.flatten_from(2)?.transpose(1, 2)?; // [1, T, dim]
        let mut t = self.proj_in.forward(&tokens)?.broadcast_add(&pos)?;
        for block in &self.blocks {
            t = block.forward(&t)?;
        }
        let back = self.proj_out.forward(&t)?.transpose(1, 2)?.reshape((n, c, gd, gh, gw))?;
        x + back
    }
}

/// Resizes a `[N, C, D, H, W]` tensor to `size` by linear interpolation along
/// each axis (align-corners), differentiably; a no-op when the size matches.
pub fn resize_trilinear(t: &Tensor, size: [usize; 3]) -> Result<Tensor> {
    let mut t = t.clone();
    for (a, &n) in size.iter().enumerate() {
        t = resize_axis(&t, a + 2, n)?;
    }
    Ok(t)
}

fn resize_axis(t: &Tensor, axis: usize, n: usize) -> Result<Tensor> {
    let m = t.dim(axis)?;
    if m == n {
        return Ok(t.clone());
    }
    let dev = t.device();
    let mut lo = Vec::with_capacity(n);
    let mut hi = Vec::with_capacity(n);
    let mut w = Vec::with_capacity(n);
    for i in 0..n {
        let x = if n == 1 { 0.0 } else { i as f64 * (m as f64 - 1.0) / (n as f64 - 1.0) };
        let l = (x.floor() as usize).min(m - 1);
        lo.push(l as u32);
        hi.push((l + 1).min(m - 1) as u32);
        w.push((x - l as f64) as f32);
    }
    let a = t.index_select(&Tensor::new(lo, dev)?, axis)?;
    let b = t.index_select(&Tensor::new(hi, dev)?, axis)?;
    let mut shape = vec![1usize; t.rank()];
    shape[axis] = n;
    let w = Tensor::new(w, dev)?.to_dtype(t.dtype())?.reshape(shape)?;
    a.broadcast_add(&(b - &a)?.broadcast_mul(&w)?)
}
