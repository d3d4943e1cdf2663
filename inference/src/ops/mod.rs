//! 3-D tensor operations for candle, which (in 0.11) has no 3-D convolution:
//! [`conv3d`], [`max_pool3d_2`] and [`conv_transpose3d_2`] on `[N, C, D, H, W]`
//! tensors, differentiable, on every candle device.
//!
//! On the CPU with f32 the convolution and the pooling are hand-written candle
//! custom ops (tiled im2col feeding the `gemm` crate, parallel with rayon; see
//! `cpu.rs`) with hand-written backward passes. On other devices or dtypes the
//! same functions fall back to versions composed of candle ops
//! ([`conv3d_composed`], [`max_pool3d_2_composed`]), which also serve as the
//! reference the custom ops are tested against.
//!
//! Batch normalisation over 5-D tensors needs nothing here:
//! `candle_nn::BatchNorm` flattens every non-channel dimension (tested in
//! `tests/ops_batch_norm.rs`).

mod conv;
mod cpu;
mod geom;
mod pool;
mod transpose;

pub use conv::{conv3d, conv3d_backward, conv3d_composed};
pub use pool::{max_pool3d_2, max_pool3d_2_composed};
pub use transpose::conv_transpose3d_2;
