//! Shape arithmetic and validation shared by the 3-D convolution paths.

use candle_core::{Result, bail};

/// The full geometry of one 3-D convolution: input, kernel, stride, padding
/// and the output size they imply. Built only through [`ConvGeom::new`], which
/// validates everything, so the kernels can index without further checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub cin: usize,
    /// Input spatial size `[D, H, W]`.
    pub input: [usize; 3],
    /// Output channels.
    pub cout: usize,
    /// Kernel size `[kd, kh, kw]`.
    pub kernel: [usize; 3],
    /// Stride per spatial axis.
    pub stride: [usize; 3],
    /// Zero padding on both sides, per spatial axis.
    pub pad: [usize; 3],
    /// Output spatial size `[Do, Ho, Wo]`.
    pub output: [usize; 3],
}

impl ConvGeom {
    /// Validates the shapes of `x: [N, Cin, D, H, W]` and `w: [Cout, Cin, kd, kh, kw]` and
    /// derives the output size. Errors (never panics) on a wrong rank, a channel mismatch,
    /// zero-sized channels/kernel/stride, or a kernel larger than the padded input.
    pub fn new(x: &[usize], w: &[usize], stride: [usize; 3], pad: [usize; 3]) -> Result<Self> {
        if x.len() != 5 {
            bail!("conv3d: input must be [N, C, D, H, W], got shape {x:?}");
        }
        if w.len() != 5 {
            bail!("conv3d: weight must be [Cout, Cin, kd, kh, kw], got shape {w:?}");
        }
        if w[1] != x[1] {
            bail!("conv3d: weight {w:?} expects {} input channels, input {x:?} has {}", w[1], x[1]);
        }
        if w[0] == 0 || w[1] == 0 || w[2..].contains(&0) {
            bail!("conv3d: weight shape {w:?} has a zero dimension");
        }
        if stride.contains(&0) {
            bail!("conv3d: stride must be positive, got {stride:?}");
        }
        let mut output = [0; 3];
        for a in 0..3 {
            let padded = x[2 + a] + 2 * pad[a];
            if padded < w[2 + a] {
                bail!("conv3d: kernel {:?} larger than padded input (input {x:?}, padding {pad:?})", &w[2..]);
            }
            output[a] = (padded - w[2 + a]) / stride[a] + 1;
        }
        Ok(Self {
            n: x[0],
            cin: x[1],
            input: [x[2], x[3], x[4]],
            cout: w[0],
            kernel: [w[2], w[3], w[4]],
            stride,
            pad,
            output,
        })
    }

    /// Kernel volume `kd·kh·kw`.
    pub fn k3(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Rows of the im2col matrix: `Cin·kd·kh·kw` (the GEMM reduction depth).
    pub fn kdim(&self) -> usize {
        self.cin * self.k3()
    }

    /// Voxels per input volume `D·H·W`.
    pub fn in_vol(&self) -> usize {
        self.input.iter().product()
    }

    /// Voxels per output volume `Do·Ho·Wo`.
    pub fn out_vol(&self) -> usize {
        self.output.iter().product()
    }

    /// Output dims `[N, Cout, Do, Ho, Wo]`.
    pub fn out_dims(&self) -> [usize; 5] {
        [self.n, self.cout, self.output[0], self.output[1], self.output[2]]
    }

    /// Input dims `[N, Cin, D, H, W]`.
    pub fn in_dims(&self) -> [usize; 5] {
        [self.n, self.cin, self.input[0], self.input[1], self.input[2]]
    }

    /// Weight dims `[Cout, Cin, kd, kh, kw]`.
    pub fn w_dims(&self) -> [usize; 5] {
        [self.cout, self.cin, self.kernel[0], self.kernel[1], self.kernel[2]]
    }
}

/// Range of output indices `o` whose input index `o·s + k − p` lies in `[0, len)`,
/// clamped to `[0, out)`.
#[inline]
pub(crate) fn valid_range(len: usize, out: usize, s: usize, k: usize, p: usize) -> (usize, usize) {
    let lo = if p > k { (p - k).div_ceil(s) } else { 0 };
    let hi = if len + p > k { (len + p - k).div_ceil(s) } else { 0 };
    let hi = hi.min(out);
    (lo.min(hi), hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_matches_brute_force() {
        for len in 1usize..7 {
            for s in 1..4 {
                for k in 0..5 {
                    for p in 0..4 {
                        let out = (len + 2 * p).saturating_sub(k) / s + 1;
                        let (lo, hi) = valid_range(len, out, s, k, p);
                        for o in 0..out {
                            let i = (o * s + k) as isize - p as isize;
                            let inside = i >= 0 && (i as usize) < len;
                            assert_eq!(inside, o >= lo && o < hi, "len {len} s {s} k {k} p {p} o {o}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn geometry_errors() {
        assert!(ConvGeom::new(&[1, 2, 3, 3], &[1, 2, 1, 1, 1], [1; 3], [0; 3]).is_err());
        assert!(ConvGeom::new(&[1, 2, 3, 3, 3], &[1, 3, 1, 1, 1], [1; 3], [0; 3]).is_err());
        assert!(ConvGeom::new(&[1, 2, 3, 3, 3], &[1, 2, 5, 1, 1], [1; 3], [0; 3]).is_err());
        assert!(ConvGeom::new(&[1, 2, 3, 3, 3], &[1, 2, 5, 1, 1], [1; 3], [1; 3]).is_ok());
        assert!(ConvGeom::new(&[1, 2, 3, 3, 3], &[1, 2, 1, 1, 1], [0; 3], [0; 3]).is_err());
        let g = ConvGeom::new(&[2, 3, 8, 7, 6], &[4, 3, 3, 3, 2], [2, 1, 3], [1, 0, 2]).unwrap();
        assert_eq!(g.output, [4, 5, 3]);
    }
}
