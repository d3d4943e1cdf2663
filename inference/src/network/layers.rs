//! The convolutional building blocks: a struct per layer, weights by
//! `VarBuilder` path, as candle-nn does it.

use candle_core::{Module, ModuleT, Result, Tensor};
use candle_nn::{BatchNorm, BatchNormConfig, Init, VarBuilder};

use crate::ops;

/// A 3-D convolution (PyTorch weight layout `[Cout, Cin, k, k, k]`), optional bias.
#[derive(Debug, Clone)]
pub struct Conv3d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
}

impl Conv3d {
    /// Creates (or loads) `weight` and `bias` under `vb`; He-normal initialisation.
    pub fn new(cin: usize, cout: usize, k: usize, padding: usize, bias: bool, vb: VarBuilder) -> Result<Self> {
        let fan_in = (cin * k * k * k) as f64;
        let weight =
            vb.get_with_hints((cout, cin, k, k, k), "weight", Init::Randn { mean: 0.0, stdev: (2.0 / fan_in).sqrt() })?;
        let bias = if bias { Some(vb.get_with_hints(cout, "bias", Init::Const(0.0))?) } else { None };
        Ok(Conv3d { weight, bias, stride: 1, padding })
    }
}

impl Module for Conv3d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = ops::conv3d(x, &self.weight, self.stride, self.padding)?;
        match &self.bias {
            Some(b) => y.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1, 1))?),
            None => Ok(y),
        }
    }
}

/// The 2×2×2, stride-2 transposed convolution that doubles each side in the
/// decoder (weight layout `[Cin, Cout, 2, 2, 2]`), with bias.
#[derive(Debug, Clone)]
pub struct UpConv3d {
    weight: Tensor,
    bias: Tensor,
}

impl UpConv3d {
    /// Creates (or loads) the layer under `vb`.
    pub fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<Self> {
        let fan_in = (cin * 8) as f64;
        let weight =
            vb.get_with_hints((cin, cout, 2, 2, 2), "weight", Init::Randn { mean: 0.0, stdev: (1.0 / fan_in).sqrt() })?;
        let bias = vb.get_with_hints(cout, "bias", Init::Const(0.0))?;
        Ok(UpConv3d { weight, bias })
    }
}

impl Module for UpConv3d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = ops::conv_transpose3d_2(x, &self.weight)?;
        y.broadcast_add(&self.bias.reshape((1, self.bias.dim(0)?, 1, 1, 1))?)
    }
}

/// Conv3d 3×3×3 (no bias: the batch norm has one) + BatchNorm + ReLU.
#[derive(Debug, Clone)]
pub struct ConvBnRelu {
    conv: Conv3d,
    bn: BatchNorm,
}

impl ConvBnRelu {
    /// Creates the layer under `vb` (`conv`, `bn`).
    pub fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<Self> {
        let conv = Conv3d::new(cin, cout, 3, 1, false, vb.pp("conv"))?;
        let bn = candle_nn::batch_norm(
            cout,
            BatchNormConfig { eps: 1e-5, momentum: 0.1, ..Default::default() },
            vb.pp("bn"),
        )?;
        Ok(ConvBnRelu { conv, bn })
    }
}

impl ModuleT for ConvBnRelu {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward_t(&self.conv.forward(x)?, train)?.relu()
    }
}

/// The patent's feature extraction unit: two [`ConvBnRelu`] layers.
#[derive(Debug, Clone)]
pub struct DoubleConv {
    first: ConvBnRelu,
    second: ConvBnRelu,
}

impl DoubleConv {
    /// Creates the unit under `vb` (`0`, `1`).
    pub fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<Self> {
        Ok(DoubleConv {
            first: ConvBnRelu::new(cin, cout, vb.pp("0"))?,
            second: ConvBnRelu::new(cout, cout, vb.pp("1"))?,
        })
    }
}

impl ModuleT for DoubleConv {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.second.forward_t(&self.first.forward_t(x, train)?, train)
    }
}
