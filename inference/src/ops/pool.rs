//! 2×2×2 max pooling with stride 2.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, bail};

use super::cpu;

/// 2×2×2 max pooling with stride 2 of `x` `[N, C, D, H, W]` → `[N, C, D/2, H/2, W/2]`:
/// the encoder's downsampling step between U-Net levels.
///
/// Every spatial side must be even and non-zero (an error otherwise: silently dropping a
/// slice would misalign the skip connections). The gradient goes to the maximal element
/// of each window. On the CPU with f32 this is a custom op (one pass, parallel; on ties
/// the gradient goes to the first maximal element, NaN propagates); elsewhere it is
/// [`max_pool3d_2_composed`].
pub fn max_pool3d_2(x: &Tensor) -> Result<Tensor> {
    check_pool_shape(x.dims())?;
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1(MaxPool3dOp)
    } else {
        max_pool3d_2_composed(x)
    }
}

/// [`max_pool3d_2`] composed of candle reshapes and `max` reductions, for every device and
/// dtype; the gradient (candle's) goes to every element equal to the window maximum.
pub fn max_pool3d_2_composed(x: &Tensor) -> Result<Tensor> {
    let [n, c, d, h, w] = check_pool_shape(x.dims())?;
    x.reshape((n * c * d / 2, 2, h / 2, 2, w / 2, 2))?.max(5)?.max(3)?.max(1)?.reshape((n, c, d / 2, h / 2, w / 2))
}

/// Checks that `dims` is `[N, C, D, H, W]` with even, non-zero spatial sides.
fn check_pool_shape(dims: &[usize]) -> Result<[usize; 5]> {
    let Ok(d5) = <[usize; 5]>::try_from(dims) else {
        bail!("max_pool3d_2: input must be [N, C, D, H, W], got shape {dims:?}");
    };
    if d5[2..].iter().any(|&s| s == 0 || s % 2 != 0) {
        bail!("max_pool3d_2: spatial sides must be even and non-zero, got shape {dims:?}");
    }
    Ok(d5)
}

fn f32_data<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("max_pool3d_2: expected f32, got {:?}", s.dtype());
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("max_pool3d_2: expected a contiguous tensor"),
    }
}

/// The CPU forward op (f32).
struct MaxPool3dOp;

impl CustomOp1 for MaxPool3dOp {
    fn name(&self) -> &'static str {
        "vasa-max-pool3d-2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let [n, c, d, h, w] = check_pool_shape(l.dims())?;
        let y = cpu::max_pool3d_2_fwd(f32_data(s, l)?, n * c, [d, h, w]);
        Ok((CpuStorage::F32(y), Shape::from_dims(&[n, c, d / 2, h / 2, w / 2])))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.contiguous()?.apply_op2_no_bwd(&grad.contiguous()?, &MaxPool3dGradOp)?))
    }
}

/// `(x, grad_out) → grad_x` on the CPU (f32), no backward.
struct MaxPool3dGradOp;

impl CustomOp2 for MaxPool3dGradOp {
    fn name(&self) -> &'static str {
        "vasa-max-pool3d-2-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let [n, c, d, h, w] = check_pool_shape(l1.dims())?;
        if l2.dims() != [n, c, d / 2, h / 2, w / 2] {
            bail!("max_pool3d_2 backward: gradient shape {:?} does not match input {:?}", l2.dims(), l1.dims());
        }
        let g = cpu::max_pool3d_2_bwd(f32_data(s1, l1)?, f32_data(s2, l2)?, n * c, [d, h, w]);
        Ok((CpuStorage::F32(g), l1.shape().clone()))
    }
}
