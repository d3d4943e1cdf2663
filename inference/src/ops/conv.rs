//! 3-D convolution: the fast CPU custom op with its gradients, and the version
//! composed of candle `conv2d` calls that runs on every device.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, bail};

use super::cpu;
use super::geom::ConvGeom;

/// 3-D convolution without bias, PyTorch semantics (cross-correlation).
///
/// `x`: `[N, Cin, D, H, W]`; `w`: `[Cout, Cin, kd, kh, kw]` (PyTorch layout; the kernel
/// need not be cubic); the same `stride` and zero `padding` on every spatial axis.
/// Returns `[N, Cout, Do, Ho, Wo]` with `Do = (D + 2·padding − kd) / stride + 1` etc.
///
/// On the CPU with f32 tensors this is a hand-written candle custom op (tiled im2col +
/// GEMM, parallel with rayon) whose backward pass computes both gradients with the same
/// machinery ([`conv3d_backward`]). Other devices and dtypes use [`conv3d_composed`].
/// Errors (never panics) on a wrong rank, a channel mismatch, a zero stride or a kernel
/// larger than the padded input.
pub fn conv3d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let geom = ConvGeom::new(x.dims(), w.dims(), [stride; 3], [padding; 3])?;
    if use_cpu_kernels(x, w) {
        let op = Conv3dOp { stride: geom.stride, pad: geom.pad };
        x.contiguous()?.apply_op2(&w.contiguous()?, op)
    } else {
        conv3d_composed(x, w, stride, padding)
    }
}

/// Both gradients of [`conv3d`] for a given output gradient `grad_out` (`[N, Cout, Do, Ho, Wo]`):
/// returns `(grad_x, grad_w)` with the shapes of `x` and `w`.
///
/// This is what the custom op's backward pass runs; it is public so that callers (and
/// the benchmark) can run the backward pass without building an autograd graph. On the
/// CPU with f32 it uses the fast kernels; elsewhere it differentiates [`conv3d_composed`].
pub fn conv3d_backward(
    x: &Tensor,
    w: &Tensor,
    grad_out: &Tensor,
    stride: usize,
    padding: usize,
) -> Result<(Tensor, Tensor)> {
    let geom = ConvGeom::new(x.dims(), w.dims(), [stride; 3], [padding; 3])?;
    check_grad_shape(&geom, grad_out)?;
    if use_cpu_kernels(x, w) && grad_out.dtype() == DType::F32 && grad_out.device().is_cpu() {
        let grad_out = grad_out.contiguous()?;
        Ok((grad_input_cpu(&geom, w, &grad_out)?, grad_weight_cpu(&geom, x, &grad_out)?))
    } else {
        let xv = candle_core::Var::from_tensor(&x.detach())?;
        let wv = candle_core::Var::from_tensor(&w.detach())?;
        let y = conv3d_composed(xv.as_tensor(), wv.as_tensor(), stride, padding)?;
        let grads = (y * grad_out.detach())?.sum_all()?.backward()?;
        let gx = grads.get(xv.as_tensor()).cloned().map_or_else(|| xv.as_tensor().zeros_like(), Ok)?;
        let gw = grads.get(wv.as_tensor()).cloned().map_or_else(|| wv.as_tensor().zeros_like(), Ok)?;
        Ok((gx, gw))
    }
}

/// [`conv3d`] composed of candle ops: one `conv2d` per kernel depth offset over all the
/// (strided) depth slices at once, summed. Runs on every candle device and dtype that
/// candle's `conv2d` supports; gradients come from candle's autograd. It is the reference
/// the CPU custom op is tested against, and the path used on CUDA and Metal.
///
/// Padding (and, for stride > 1, cropping to the extent the output actually reads) is done
/// explicitly, so candle's `conv2d` backward never needs an output padding (it supports
/// only one for both axes).
pub fn conv3d_composed(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let g = ConvGeom::new(x.dims(), w.dims(), [stride; 3], [padding; 3])?;
    let [n, cin, _, _, _] = g.in_dims();
    let [od, oh, ow] = g.output;
    let [kd, kh, kw] = g.kernel;
    let s = stride;
    // [N, D, Cin, H, W]: a depth slice of all batch items becomes a conv2d batch.
    let mut xt = x.permute((0, 2, 1, 3, 4))?;
    // Depth: slices a + s·o for o < Do, a < kd must exist: extent s·Do + kd − 1.
    xt = pad_or_crop(&xt, 1, padding, s * od + kd - 1)?;
    let conv_pad = if s == 1 {
        padding
    } else {
        xt = pad_or_crop(&xt, 3, padding, (oh - 1) * s + kh)?;
        xt = pad_or_crop(&xt, 4, padding, (ow - 1) * s + kw)?;
        0
    };
    let (hp, wp) = (xt.dim(3)?, xt.dim(4)?);
    let mut acc: Option<Tensor> = None;
    for a in 0..kd {
        let slab = xt.narrow(1, a, s * od)?;
        let slab = if s == 1 { slab } else { slab.reshape((n, od, s, cin, hp, wp))?.narrow(2, 0, 1)?.squeeze(2)? };
        let slab = slab.reshape((n * od, cin, hp, wp))?;
        let wa = w.narrow(2, a, 1)?.squeeze(2)?.contiguous()?;
        let y = slab.conv2d(&wa, conv_pad, s, 1, 1)?;
        acc = Some(match acc {
            None => y,
            Some(t) => (t + y)?,
        });
    }
    let y = acc.expect("kernel depth is at least 1 (validated)");
    y.reshape((n, od, g.cout, oh, ow))?.permute((0, 2, 1, 3, 4))?.contiguous()
}

/// Pads `t` along `dim` with `front` zeros in front, then pads or crops the end so that
/// the dimension has length `total`.
fn pad_or_crop(t: &Tensor, dim: usize, front: usize, total: usize) -> Result<Tensor> {
    let len = t.dim(dim)? + front;
    let t = if len < total {
        t.pad_with_zeros(dim, front, total - len)?
    } else if front > 0 {
        t.pad_with_zeros(dim, front, 0)?
    } else {
        t.clone()
    };
    if len > total { t.narrow(dim, 0, total) } else { Ok(t) }
}

/// Whether the fast CPU kernels apply: both tensors f32 on the CPU.
fn use_cpu_kernels(x: &Tensor, w: &Tensor) -> bool {
    x.device().is_cpu() && w.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32
}

fn check_grad_shape(g: &ConvGeom, grad_out: &Tensor) -> Result<()> {
    if grad_out.dims() != g.out_dims() {
        bail!("conv3d backward: output gradient has shape {:?}, expected {:?}", grad_out.dims(), g.out_dims());
    }
    Ok(())
}

/// The contiguous f32 data of a CPU storage.
fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("conv3d: {what} must be f32, got {:?}", s.dtype());
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("conv3d: {what} must be contiguous"),
    }
}

/// Input gradient on the CPU. Stride 1 with `padding ≤ k − 1`: the forward kernel applied
/// to `grad_out` with the flipped, channel-transposed weight and padding `k − 1 − p`.
/// Otherwise GEMM + col2im.
fn grad_input_cpu(g: &ConvGeom, w: &Tensor, grad_out: &Tensor) -> Result<Tensor> {
    let full = g.stride == [1; 3] && (0..3).all(|a| g.pad[a] < g.kernel[a]);
    if full {
        let wf = cpu::flip_transpose_weight(&w.flatten_all()?.to_vec1::<f32>()?, g);
        let [kd, kh, kw] = g.kernel;
        let wf = Tensor::from_vec(wf, (g.cin, g.cout, kd, kh, kw), w.device())?;
        let pad = [kd - 1 - g.pad[0], kh - 1 - g.pad[1], kw - 1 - g.pad[2]];
        grad_out.apply_op2_no_bwd(&wf, &Conv3dOp { stride: [1; 3], pad })
    } else {
        grad_out.apply_op2_no_bwd(&w.contiguous()?, &GradInputOp { geom: *g })
    }
}

/// Weight gradient on the CPU.
fn grad_weight_cpu(g: &ConvGeom, x: &Tensor, grad_out: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2_no_bwd(grad_out, &GradWeightOp { geom: *g })
}

/// The forward custom op: `(x, w) → y` on the CPU (f32), with per-axis stride and padding.
#[derive(Clone, Copy, Debug)]
struct Conv3dOp {
    stride: [usize; 3],
    pad: [usize; 3],
}

impl CustomOp2 for Conv3dOp {
    fn name(&self) -> &'static str {
        "vasa-conv3d"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = ConvGeom::new(l1.dims(), l2.dims(), self.stride, self.pad)?;
        let x = f32_slice(s1, l1, "input")?;
        let w = f32_slice(s2, l2, "weight")?;
        let y = cpu::conv3d_fwd(x, w, &g);
        Ok((CpuStorage::F32(y), Shape::from_dims(&g.out_dims())))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = ConvGeom::new(x.dims(), w.dims(), self.stride, self.pad)?;
        check_grad_shape(&g, grad)?;
        let grad = grad.contiguous()?;
        let gx = if x.track_op() { Some(grad_input_cpu(&g, w, &grad)?) } else { None };
        let gw = if w.track_op() { Some(grad_weight_cpu(&g, x, &grad)?) } else { None };
        Ok((gx, gw))
    }
}

/// `(grad_out, w) → grad_x` by GEMM + col2im (any stride/padding), CPU f32, no backward.
#[derive(Clone, Copy, Debug)]
struct GradInputOp {
    geom: ConvGeom,
}

impl CustomOp2 for GradInputOp {
    fn name(&self) -> &'static str {
        "vasa-conv3d-grad-input"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = &self.geom;
        if l1.dims() != g.out_dims() || l2.dims() != g.w_dims() {
            bail!("conv3d grad-input: unexpected shapes {:?}, {:?}", l1.dims(), l2.dims());
        }
        let gout = f32_slice(s1, l1, "output gradient")?;
        let w = f32_slice(s2, l2, "weight")?;
        Ok((CpuStorage::F32(cpu::conv3d_grad_input_col2im(w, gout, g)), Shape::from_dims(&g.in_dims())))
    }
}

/// `(x, grad_out) → grad_w`, CPU f32, no backward.
#[derive(Clone, Copy, Debug)]
struct GradWeightOp {
    geom: ConvGeom,
}

impl CustomOp2 for GradWeightOp {
    fn name(&self) -> &'static str {
        "vasa-conv3d-grad-weight"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = &self.geom;
        if l1.dims() != g.in_dims() || l2.dims() != g.out_dims() {
            bail!("conv3d grad-weight: unexpected shapes {:?}, {:?}", l1.dims(), l2.dims());
        }
        let x = f32_slice(s1, l1, "input")?;
        let gout = f32_slice(s2, l2, "output gradient")?;
        Ok((CpuStorage::F32(cpu::conv3d_grad_weight(x, gout, g)), Shape::from_dims(&g.w_dims())))
    }
}
