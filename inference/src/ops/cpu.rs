//! CPU kernels of the 3-D convolution (f32): tiled im2col feeding the `gemm`
//! crate, parallel over tiles with rayon.
//!
//! Why tiles: a full-volume im2col of a 32-channel 64³ volume with a 3×3×3
//! kernel is 27× the input (900 MB). Instead each task builds the im2col
//! matrix of a few output rows of one output depth slice, `[Cin·k³, rows·Wo]`,
//! small enough to stay in L2, multiplies it with the weight matrix
//! `[Cout, Cin·k³]` (single-threaded GEMM, one task per core) and writes the
//! result straight into the output, whose rows for one `(n, od)` slice are a
//! strided matrix the GEMM can address directly.

use std::cell::RefCell;

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use super::geom::{ConvGeom, valid_range};

/// Target size (in f32 elements) of one im2col tile: 96 K floats = 384 KiB,
/// well inside the 1–2 MiB L2 of current cores while leaving room for the
/// GEMM's own packed blocks.
const TILE_ELEMS: usize = 96 * 1024;

/// A raw output pointer shared by tasks that write disjoint regions.
#[derive(Clone, Copy)]
struct SyncPtr(*mut f32);
// SAFETY: every task writes a region no other task touches (see the callers).
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}
impl SyncPtr {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the field).
    fn get(self) -> *mut f32 {
        self.0
    }
}

thread_local! {
    /// Per-thread scratch for im2col tiles, reused across calls.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a per-thread scratch buffer of `len` floats (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            if v.len() < len {
                v.resize(len, 0.0);
            }
            f(&mut v[..len])
        }
        // Re-entered on the same thread (cannot happen today: no rayon call runs inside
        // a tile): fall back to a fresh buffer rather than panic.
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// How the output of one `(n, od)` slice is cut into tiles of whole output rows.
#[derive(Clone, Copy, Debug)]
struct Tiling {
    /// Output rows (`oh`) per tile.
    rows: usize,
    /// Tiles per `(n, od)` slice.
    per_slice: usize,
}

impl Tiling {
    fn new(g: &ConvGeom) -> Self {
        let [_, oh, ow] = g.output;
        let rows = (TILE_ELEMS / (g.kdim() * ow).max(1)).clamp(1, oh.max(1));
        Self { rows, per_slice: oh.div_ceil(rows) }
    }

    /// Tiles over the whole batch.
    fn count(&self, g: &ConvGeom) -> usize {
        g.n * g.output[0] * self.per_slice
    }

    /// `(n, od, oh0, rows)` of tile `t`.
    fn tile(&self, g: &ConvGeom, t: usize) -> (usize, usize, usize, usize) {
        let per_n = g.output[0] * self.per_slice;
        let (n, rem) = (t / per_n, t % per_n);
        let (od, k) = (rem / self.per_slice, rem % self.per_slice);
        let oh0 = k * self.rows;
        (n, od, oh0, self.rows.min(g.output[1] - oh0))
    }
}

/// Writes the im2col matrix of output rows `oh0..oh0+rows` of output depth slice `od`
/// into `col` (`[Cin·k³][rows·Wo]`, row-major). `x` is one batch item `[Cin, D, H, W]`.
fn im2col_tile(x: &[f32], g: &ConvGeom, od: usize, oh0: usize, rows: usize, col: &mut [f32]) {
    let [d, h, w] = g.input;
    let [kd, kh, kw] = g.kernel;
    let [sd, sh, sw] = g.stride;
    let [pd, ph, pw] = g.pad;
    let [_, oh, wo] = g.output;
    let t = rows * wo;
    let (hw, vol) = (h * w, g.in_vol());
    let mut r = 0;
    for ci in 0..g.cin {
        let xc = &x[ci * vol..(ci + 1) * vol];
        for a in 0..kd {
            let id = (od * sd + a) as isize - pd as isize;
            if id < 0 || id >= d as isize {
                col[r * t..(r + kh * kw) * t].fill(0.0);
                r += kh * kw;
                continue;
            }
            let xs = &xc[id as usize * hw..(id as usize + 1) * hw];
            for b in 0..kh {
                let (oh_lo, oh_hi) = valid_range(h, oh, sh, b, ph);
                for c in 0..kw {
                    let (ow_lo, ow_hi) = valid_range(w, wo, sw, c, pw);
                    let row = &mut col[r * t..(r + 1) * t];
                    for (j, dst) in row.chunks_exact_mut(wo).enumerate() {
                        let o = oh0 + j;
                        if o < oh_lo || o >= oh_hi {
                            dst.fill(0.0);
                            continue;
                        }
                        let src = &xs[(o * sh + b - ph) * w..][..w];
                        dst[..ow_lo].fill(0.0);
                        dst[ow_hi..].fill(0.0);
                        if ow_lo < ow_hi {
                            let i0 = ow_lo * sw + c - pw;
                            if sw == 1 {
                                dst[ow_lo..ow_hi].copy_from_slice(&src[i0..i0 + ow_hi - ow_lo]);
                            } else {
                                for (k, v) in dst[ow_lo..ow_hi].iter_mut().enumerate() {
                                    *v = src[i0 + k * sw];
                                }
                            }
                        }
                    }
                    r += 1;
                }
            }
        }
    }
}

/// Forward convolution: `x` `[N, Cin, D, H, W]`, `w` `[Cout, Cin·k³]`, both contiguous;
/// returns `[N, Cout, Do, Ho, Wo]` contiguous.
pub(crate) fn conv3d_fwd(x: &[f32], w: &[f32], g: &ConvGeom) -> Vec<f32> {
    let ovol = g.out_vol();
    let mut out = vec![0f32; g.n * g.cout * ovol];
    if out.is_empty() {
        return out;
    }
    let tiling = Tiling::new(g);
    let (kdim, ivol, wo) = (g.kdim(), g.in_vol(), g.output[2]);
    let outp = SyncPtr(out.as_mut_ptr());
    (0..tiling.count(g)).into_par_iter().for_each(|t| {
        let (n, od, oh0, rows) = tiling.tile(g, t);
        let cols = rows * wo;
        with_scratch(kdim * cols, |col| {
            im2col_tile(&x[n * g.cin * ivol..(n + 1) * g.cin * ivol], g, od, oh0, rows, col);
            // SAFETY: tile t writes out[n, :, od, oh0..oh0+rows, :] only: for each output
            // channel a distinct contiguous run; tiles never overlap. All pointers stay
            // within `out`, `w` and `col` for the given strides and sizes.
            unsafe {
                let dst = outp.get().add(n * g.cout * ovol + (od * g.output[1] + oh0) * wo);
                gemm(
                    g.cout,
                    cols,
                    kdim,
                    dst,
                    1,
                    ovol as isize,
                    false,
                    w.as_ptr(),
                    1,
                    kdim as isize,
                    col.as_ptr(),
                    1,
                    cols as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        });
    });
    out
}

/// Weight gradient: `Σ_tiles grad_out_tile · col_tileᵀ`, as `[Cout, Cin·k³]`.
/// `x` `[N, Cin, D, H, W]` and `gout` `[N, Cout, Do, Ho, Wo]` contiguous.
pub(crate) fn conv3d_grad_weight(x: &[f32], gout: &[f32], g: &ConvGeom) -> Vec<f32> {
    let (kdim, ivol, ovol, wo) = (g.kdim(), g.in_vol(), g.out_vol(), g.output[2]);
    let wlen = g.cout * kdim;
    let tiling = Tiling::new(g);
    let ntiles = tiling.count(g);
    // A few accumulators per thread at most: each split of the range folds into its own.
    let min_len = (ntiles / (4 * rayon::current_num_threads())).max(1);
    (0..ntiles)
        .into_par_iter()
        .with_min_len(min_len)
        .fold(
            || vec![0f32; wlen],
            |mut acc, t| {
                let (n, od, oh0, rows) = tiling.tile(g, t);
                let cols = rows * wo;
                with_scratch(kdim * cols, |col| {
                    im2col_tile(&x[n * g.cin * ivol..(n + 1) * g.cin * ivol], g, od, oh0, rows, col);
                    let go = &gout[n * g.cout * ovol + (od * g.output[1] + oh0) * wo..];
                    // SAFETY: acc is [Cout, kdim]; go addresses Cout rows of `cols` elements
                    // `ovol` apart inside gout; col is [kdim, cols] read transposed.
                    unsafe {
                        gemm(
                            g.cout,
                            kdim,
                            cols,
                            acc.as_mut_ptr(),
                            1,
                            kdim as isize,
                            true,
                            go.as_ptr(),
                            1,
                            ovol as isize,
                            col.as_ptr(),
                            cols as isize,
                            1,
                            1.0,
                            1.0,
                            false,
                            false,
                            false,
                            Parallelism::None,
                        );
                    }
                });
                acc
            },
        )
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        })
        .unwrap_or_else(|| vec![0f32; wlen])
}

/// Input gradient by GEMM + col2im, for any stride and padding: per `(n, ci)` task and
/// output depth slice, `dcol = W[:, ci]ᵀ · grad_out[n, :, od]` (`[k³, Ho·Wo]`), then
/// scatter-added into `grad_in[n, ci]`. Tasks own disjoint input channels: no races.
pub(crate) fn conv3d_grad_input_col2im(w: &[f32], gout: &[f32], g: &ConvGeom) -> Vec<f32> {
    let (kdim, k3, ivol, ovol) = (g.kdim(), g.k3(), g.in_vol(), g.out_vol());
    let mut gin = vec![0f32; g.n * g.cin * ivol];
    if gin.is_empty() {
        return gin;
    }
    let [d, h, w_] = g.input;
    let [_, oh, wo] = g.output;
    let [kd, kh, kw] = g.kernel;
    let [sd, sh, sw] = g.stride;
    let [pd, ph, pw] = g.pad;
    let plane = oh * wo;
    gin.par_chunks_mut(ivol).enumerate().for_each(|(task, gi)| {
        let (n, ci) = (task / g.cin, task % g.cin);
        with_scratch(k3 * plane, |dcol| {
            for od in 0..g.output[0] {
                // SAFETY: lhs is W[:, ci*k3..(ci+1)*k3] read transposed ([k3, Cout]); rhs is
                // grad_out[n, :, od] ([Cout, plane], rows ovol apart); dst is dcol [k3, plane].
                unsafe {
                    gemm(
                        k3,
                        plane,
                        g.cout,
                        dcol.as_mut_ptr(),
                        1,
                        plane as isize,
                        false,
                        w.as_ptr().add(ci * k3),
                        kdim as isize,
                        1,
                        gout.as_ptr().add(n * g.cout * ovol + od * plane),
                        1,
                        ovol as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
                let mut r = 0;
                for a in 0..kd {
                    let id = (od * sd + a) as isize - pd as isize;
                    if id < 0 || id >= d as isize {
                        r += kh * kw;
                        continue;
                    }
                    let gs = &mut gi[id as usize * h * w_..(id as usize + 1) * h * w_];
                    for b in 0..kh {
                        let (oh_lo, oh_hi) = valid_range(h, oh, sh, b, ph);
                        for c in 0..kw {
                            let (ow_lo, ow_hi) = valid_range(w_, wo, sw, c, pw);
                            let src = &dcol[r * plane..(r + 1) * plane];
                            for o in oh_lo..oh_hi {
                                let dst = &mut gs[(o * sh + b - ph) * w_..][..w_];
                                let s = &src[o * wo..(o + 1) * wo];
                                for ow in ow_lo..ow_hi {
                                    dst[ow * sw + c - pw] += s[ow];
                                }
                            }
                            r += 1;
                        }
                    }
                }
            }
        });
    });
    gin
}

/// The weight of the "full" convolution that computes the input gradient of a stride-1
/// convolution: `w'[ci, co, a, b, c] = w[co, ci, kd−1−a, kh−1−b, kw−1−c]`.
pub(crate) fn flip_transpose_weight(w: &[f32], g: &ConvGeom) -> Vec<f32> {
    let k3 = g.k3();
    let mut out = vec![0f32; w.len()];
    for co in 0..g.cout {
        for ci in 0..g.cin {
            let src = &w[(co * g.cin + ci) * k3..][..k3];
            let dst = &mut out[(ci * g.cout + co) * k3..][..k3];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
    out
}

/// 2×2×2 max pooling (stride 2) of `x` `[planes, D, H, W]` (even sides), contiguous.
pub(crate) fn max_pool3d_2_fwd(x: &[f32], planes: usize, [d, h, w]: [usize; 3]) -> Vec<f32> {
    let (od, oh, ow) = (d / 2, h / 2, w / 2);
    let mut out = vec![0f32; planes * od * oh * ow];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(oh * ow).enumerate().for_each(|(s, dst)| {
        let (p, z) = (s / od, s % od);
        let base = p * d * h * w + 2 * z * h * w;
        for y in 0..oh {
            let r0 = base + 2 * y * w;
            let rows = [r0, r0 + w, r0 + h * w, r0 + h * w + w];
            for (xo, v) in dst[y * ow..(y + 1) * ow].iter_mut().enumerate() {
                let mut best = f32::NEG_INFINITY;
                let mut first = true;
                for r in rows {
                    for e in [x[r + 2 * xo], x[r + 2 * xo + 1]] {
                        if first || e > best || e.is_nan() && !best.is_nan() {
                            best = e;
                            first = false;
                        }
                    }
                }
                *v = best;
            }
        }
    });
    out
}

/// Gradient of [`max_pool3d_2_fwd`]: each window's gradient goes to its first maximal
/// element (NaN counts as maximal, as in the forward pass).
pub(crate) fn max_pool3d_2_bwd(x: &[f32], gout: &[f32], planes: usize, [d, h, w]: [usize; 3]) -> Vec<f32> {
    let (od, oh, ow) = (d / 2, h / 2, w / 2);
    let mut gin = vec![0f32; planes * d * h * w];
    if gin.is_empty() {
        return gin;
    }
    // One task per pair of input depth slices (= one output depth slice).
    gin.par_chunks_mut(2 * h * w).enumerate().for_each(|(s, gi)| {
        let (p, z) = (s / od, s % od);
        let base = p * d * h * w + 2 * z * h * w;
        let go = &gout[s * oh * ow..(s + 1) * oh * ow];
        for y in 0..oh {
            let r0 = 2 * y * w;
            let rows = [r0, r0 + w, r0 + h * w, r0 + h * w + w];
            for xo in 0..ow {
                let mut best = f32::NEG_INFINITY;
                let mut at = 0;
                let mut first = true;
                for r in rows {
                    for i in [r + 2 * xo, r + 2 * xo + 1] {
                        let e = x[base + i];
                        if first || e > best || e.is_nan() && !best.is_nan() {
                            best = e;
                            at = i;
                            first = false;
                        }
                    }
                }
                gi[at] += go[y * ow + xo];
            }
        }
    });
    gin
}
