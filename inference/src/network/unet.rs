//! The patent's 3-D U-Net: encoder units joined by max pooling, a bottleneck
//! of two conv layers and the global feature module, CBAM skips, decoder
//! units joined by transposed convolutions, a 1×1×1 head.

use candle_core::{Module, ModuleT, Result, Tensor};
use candle_nn::VarBuilder;

use super::cbam::Cbam;
use super::config::NetworkConfig;
use super::layers::{Conv3d, DoubleConv, UpConv3d};
use super::transformer::GlobalFeatureModule;
use crate::ops;

/// The network. Weight paths: `enc{i}`, `bottleneck`, `global`, `up{i}`,
/// `skip{i}`, `dec{i}`, `head`.
#[derive(Debug, Clone)]
pub struct UNet3d {
    config: NetworkConfig,
    encoders: Vec<DoubleConv>,
    bottleneck: DoubleConv,
    global: GlobalFeatureModule,
    ups: Vec<UpConv3d>,
    skips: Vec<Cbam>,
    decoders: Vec<DoubleConv>,
    head: Conv3d,
}

impl UNet3d {
    /// Builds the network described by `config`, with weights from `vb`
    /// (fresh ones when `vb` is backed by an empty `VarMap`).
    pub fn new(config: &NetworkConfig, vb: VarBuilder) -> Result<Self> {
        config.validate().map_err(candle_core::Error::msg)?;
        let l = config.levels;
        let c = |i| config.channels(i);
        let encoders = (0..l)
            .map(|i| {
                DoubleConv::new(if i == 0 { config.in_channels } else { c(i - 1) }, c(i), vb.pp(format!("enc{i}")))
            })
            .collect::<Result<_>>()?;
        let bottleneck = DoubleConv::new(c(l - 1), c(l), vb.pp("bottleneck"))?;
        let global = GlobalFeatureModule::new(
            c(l),
            config.token_dim,
            config.heads,
            config.ff_multiplier,
            config.transformer_blocks,
            config.token_grid(),
            vb.pp("global"),
        )?;
        let ups = (0..l).map(|i| UpConv3d::new(c(i + 1), c(i), vb.pp(format!("up{i}")))).collect::<Result<_>>()?;
        let skips =
            (0..l).map(|i| Cbam::new(c(i), config.cbam_reduction, vb.pp(format!("skip{i}")))).collect::<Result<_>>()?;
        let decoders =
            (0..l).map(|i| DoubleConv::new(2 * c(i), c(i), vb.pp(format!("dec{i}")))).collect::<Result<_>>()?;
        let head = Conv3d::new(c(0), config.num_classes, 1, 0, true, vb.pp("head"))?;
        Ok(UNet3d { config: config.clone(), encoders, bottleneck, global, ups, skips, decoders, head })
    }

    /// The configuration the network was built with.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }
}

impl ModuleT for UNet3d {
    /// `x`: `[N, in_channels, D, H, W]` (normalised CT), each side a multiple
    /// of 2^levels. Returns class logits `[N, num_classes, D, H, W]`.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (_, c, d, h, w) = x.dims5()?;
        if c != self.config.in_channels {
            candle_core::bail!("input has {c} channels, the network expects {}", self.config.in_channels);
        }
        self.config.check_patch([d, h, w]).map_err(candle_core::Error::msg)?;
        let mut skips = Vec::with_capacity(self.config.levels);
        let mut h = x.clone();
        for enc in &self.encoders {
            let f = enc.forward_t(&h, train)?;
            h = ops::max_pool3d_2(&f)?;
            skips.push(f);
        }
        h = self.global.forward(&self.bottleneck.forward_t(&h, train)?)?;
        for i in (0..self.config.levels).rev() {
            let up = self.ups[i].forward(&h)?;
            let skip = self.skips[i].forward(&skips[i])?;
            h = self.decoders[i].forward_t(&Tensor::cat(&[&skip, &up], 1)?, train)?;
        }
        self.head.forward(&h)
    }
}
