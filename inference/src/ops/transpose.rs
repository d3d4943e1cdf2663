//! 2×2×2 transposed convolution with stride 2 (the decoder's upsampling).

use candle_core::{Result, Tensor, bail};

/// Transposed 3-D convolution, kernel 2×2×2, stride 2, no padding, no bias:
/// `x` `[N, Cin, D, H, W]`, `w` `[Cin, Cout, 2, 2, 2]` (PyTorch `ConvTranspose3d` layout)
/// → `[N, Cout, 2D, 2H, 2W]`, with
/// `y[n, co, 2d+a, 2h+b, 2w+c] = Σ_ci x[n, ci, d, h, w] · w[ci, co, a, b, c]`.
///
/// Because the stride equals the kernel, output windows do not overlap and the op is one
/// matrix product `wᵀ [Cout·8, Cin] · x [Cin, D·H·W]` followed by a reshape that interleaves
/// the 2×2×2 sub-voxels; candle's autograd differentiates it on every device.
pub fn conv_transpose3d_2(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let Ok([n, cin, d, h, wd]) = <[usize; 5]>::try_from(x.dims()) else {
        bail!("conv_transpose3d_2: input must be [N, Cin, D, H, W], got shape {:?}", x.dims());
    };
    let Ok([wcin, cout, ka, kb, kc]) = <[usize; 5]>::try_from(w.dims()) else {
        bail!("conv_transpose3d_2: weight must be [Cin, Cout, 2, 2, 2], got shape {:?}", w.dims());
    };
    if wcin != cin || [ka, kb, kc] != [2, 2, 2] {
        bail!(
            "conv_transpose3d_2: weight {:?} does not fit input {:?} (want [{cin}, Cout, 2, 2, 2])",
            w.dims(),
            x.dims()
        );
    }
    let wm = w.reshape((cin, cout * 8))?.t()?;
    let xm = x.reshape((n, cin, d * h * wd))?;
    let y = wm.broadcast_left(n)?.matmul(&xm)?;
    y.reshape(vec![n, cout, 2, 2, 2, d, h, wd])?.permute(vec![0, 1, 5, 2, 6, 3, 7, 4])?.reshape((
        n,
        cout,
        2 * d,
        2 * h,
        2 * wd,
    ))
}
