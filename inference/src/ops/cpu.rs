//! CPU kernels of the 3-D convolution (f32): tiled im2col feeding the `gemm`
//! crate, parallel over tiles with rayon.
//!
//! Why tiles: a full-volume im2col of a 32-channel 64³ volume with a 3×3×3
//! kernel is 27× the input (900 MB). Instead each task builds the im2col
//! matrix of a run of whole output rows, `[Cin·k³, rows·Wo]`, small enough to
//! stay in L2, multiplies it with the weight matrix `[Cout, Cin·k³]`
//! (single-threaded GEMM, tiles spread over the cores) and writes the result
//! straight into the output, where those columns of each output channel are
//! one contiguous run: a strided matrix the GEMM addresses directly. Layers
//! with too few tiles to feed every core (deep, small layers) run the tiles in
//! order with a multi-threaded GEMM instead.

use std::cell::RefCell;

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use super::geom::{ConvGeom, valid_range};

/// Target size (in f32 elements) of one im2col tile: 96 K floats = 384 KiB,
/// well inside the 1–2 MiB L2 of current cores while leaving room for the
/// GEMM's own packed blocks.
const TILE_ELEMS: usize = 96 * 1024;

/// Fewest output columns per tile: below this the GEMM degenerates into matrix-vector
/// work that streams the whole weight matrix per tile (deep layers: huge `Cin·k³`, tiny
/// planes), so such tiles take more columns even if they outgrow L2.
const MIN_COLS: usize = 256;

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

/// How the output of one batch item is cut into tiles of whole output rows: row `q` is
/// `(od, oh) = (q / Ho, q % Ho)`, so a tile's output columns are one contiguous run of
/// the flattened `Do·Ho·Wo` output (rows of deep, small layers span depth slices).
#[derive(Clone, Copy, Debug)]
struct Tiling {
    /// Output rows per tile.
    rows: usize,
    /// Tiles per batch item.
    per_item: usize,
}

impl Tiling {
    fn new(g: &ConvGeom) -> Self {
        let [od, oh, ow] = g.output;
        let total = (od * oh).max(1);
        let ow = ow.max(1);
        let min_rows = MIN_COLS.div_ceil(ow);
        let rows = (TILE_ELEMS / (g.kdim() * ow)).max(min_rows).clamp(1, total);
        Self { rows, per_item: total.div_ceil(rows) }
    }

    /// Tiles over the whole batch.
    fn count(&self, g: &ConvGeom) -> usize {
        g.n * self.per_item
    }

    /// `(n, q0, rows)` of tile `t`.
    fn tile(&self, g: &ConvGeom, t: usize) -> (usize, usize, usize) {
        let (n, k) = (t / self.per_item, t % self.per_item);
        let q0 = k * self.rows;
        (n, q0, self.rows.min(g.output[0] * g.output[1] - q0))
    }

    /// Whether to run tiles in parallel with single-threaded GEMMs (enough tiles to keep
    /// every thread busy), or one after the other with a multi-threaded GEMM each.
    fn parallel_tiles(&self, g: &ConvGeom) -> bool {
        self.count(g) >= 2 * rayon::current_num_threads()
    }
}

/// GEMM parallelism inside one tile.
fn inner_parallelism(parallel_tiles: bool) -> Parallelism {
    let threads = rayon::current_num_threads();
    if parallel_tiles || threads < 2 { Parallelism::None } else { Parallelism::Rayon(threads) }
}

/// Writes the im2col matrix of output rows `q0..q0+rows` (row `q` = `(od, oh)`) into `col`
/// (`[Cin·k³][rows·Wo]`, row-major). `x` is one batch item `[Cin, D, H, W]`.
fn im2col_tile(x: &[f32], g: &ConvGeom, q0: usize, rows: usize, col: &mut [f32]) {
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
            let (od_lo, od_hi) = valid_range(d, g.output[0], sd, a, pd);
            for b in 0..kh {
                let (oh_lo, oh_hi) = valid_range(h, oh, sh, b, ph);
                for c in 0..kw {
                    let (ow_lo, ow_hi) = valid_range(w, wo, sw, c, pw);
                    let row = &mut col[r * t..(r + 1) * t];
                    for (j, dst) in row.chunks_exact_mut(wo).enumerate() {
                        let (z, y) = ((q0 + j) / oh, (q0 + j) % oh);
                        if z < od_lo || z >= od_hi || y < oh_lo || y >= oh_hi || ow_lo >= ow_hi {
                            dst.fill(0.0);
                            continue;
                        }
                        let src = &xc[(z * sd + a - pd) * hw + (y * sh + b - ph) * w..][..w];
                        dst[..ow_lo].fill(0.0);
                        dst[ow_hi..].fill(0.0);
                        let i0 = ow_lo * sw + c - pw;
                        if sw == 1 {
                            dst[ow_lo..ow_hi].copy_from_slice(&src[i0..i0 + ow_hi - ow_lo]);
                        } else {
                            for (k, v) in dst[ow_lo..ow_hi].iter_mut().enumerate() {
                                *v = src[i0 + k * sw];
                            }
                        }
                    }
                    r += 1;
                }
            }
        }
    }
}

/// Transposes a row-major `[rows, cols]` matrix into a new row-major `[cols, rows]` one.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for (r, row) in m.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

// GEMM orientation. The `gemm` crate computes column-major blocks with an mr×nr = 16×6
// microkernel (AVX2/FMA) and transposes any problem whose destination is row-major. With
// the output channels (a multiple of 8, often 32) as the transposed problem's n, the
// last nr panel is a narrow remainder; so both products below keep Cout as m (two full
// 16-row panels for 32 channels) by giving the GEMM column-major destinations and
// operands (`[T, Cout]` tile results, `Wᵀ`), and transpose the small results back.
// Measured: about 10 % faster on the 32-channel benchmark layer.

/// Forward convolution: `x` `[N, Cin, D, H, W]`, `w` `[Cout, Cin·k³]`, both contiguous;
/// returns `[N, Cout, Do, Ho, Wo]` contiguous.
pub(crate) fn conv3d_fwd(x: &[f32], w: &[f32], g: &ConvGeom) -> Vec<f32> {
    let ovol = g.out_vol();
    let mut out = vec![0f32; g.n * g.cout * ovol];
    if out.is_empty() {
        return out;
    }
    let tiling = Tiling::new(g);
    let (kdim, ivol, wo, cout) = (g.kdim(), g.in_vol(), g.output[2], g.cout);
    let par = tiling.parallel_tiles(g);
    let inner = inner_parallelism(par);
    // Wᵀ, `[Cin·k³, Cout]`: W as a column-major `[Cout, Cin·k³]` operand.
    let wt = transpose(w, cout, kdim);
    let outp = SyncPtr(out.as_mut_ptr());
    let run = |t: usize| {
        let (n, q0, rows) = tiling.tile(g, t);
        let cols = rows * wo;
        with_scratch((kdim + cout) * cols, |buf| {
            let (col, res) = buf.split_at_mut(kdim * cols);
            im2col_tile(&x[n * g.cin * ivol..(n + 1) * g.cin * ivol], g, q0, rows, col);
            // res (column-major [Cout, cols]) = W · col.
            // SAFETY: res is cout·cols floats, wt kdim·cout, col kdim·cols, all addressed
            // within bounds by these sizes and strides.
            unsafe {
                gemm(
                    cout,
                    cols,
                    kdim,
                    res.as_mut_ptr(),
                    cout as isize,
                    1,
                    false,
                    wt.as_ptr(),
                    cout as isize,
                    1,
                    col.as_ptr(),
                    1,
                    cols as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    inner,
                );
            }
            for co in 0..cout {
                // SAFETY: tile t alone writes out[n, co, q0·Wo..(q0+rows)·Wo] (tiles cover
                // disjoint runs of output columns), which lies inside `out`.
                let dst =
                    unsafe { std::slice::from_raw_parts_mut(outp.get().add((n * cout + co) * ovol + q0 * wo), cols) };
                for (d, r) in dst.iter_mut().zip(res[co..].iter().step_by(cout)) {
                    *d = *r;
                }
            }
        });
    };
    if par {
        (0..tiling.count(g)).into_par_iter().for_each(run);
    } else {
        (0..tiling.count(g)).for_each(run);
    }
    out
}

/// Weight gradient: `Σ_tiles grad_out_tile · col_tileᵀ`, as `[Cout, Cin·k³]`.
/// `x` `[N, Cin, D, H, W]` and `gout` `[N, Cout, Do, Ho, Wo]` contiguous.
pub(crate) fn conv3d_grad_weight(x: &[f32], gout: &[f32], g: &ConvGeom) -> Vec<f32> {
    let (kdim, ivol, ovol, wo, cout) = (g.kdim(), g.in_vol(), g.out_vol(), g.output[2], g.cout);
    let wlen = cout * kdim;
    let tiling = Tiling::new(g);
    let ntiles = tiling.count(g);
    let par = tiling.parallel_tiles(g);
    let inner = inner_parallelism(par);
    // Accumulators are column-major [Cout, kdim] (= row-major [kdim, Cout]).
    let accumulate = |acc: &mut [f32], t: usize| {
        let (n, q0, rows) = tiling.tile(g, t);
        let cols = rows * wo;
        with_scratch(kdim * cols, |col| {
            im2col_tile(&x[n * g.cin * ivol..(n + 1) * g.cin * ivol], g, q0, rows, col);
            let go = &gout[n * cout * ovol + q0 * wo..];
            // acc += go · colᵀ.
            // SAFETY: acc is kdim·cout floats; go addresses Cout rows of `cols` elements
            // `ovol` apart inside gout; col is [kdim, cols] read transposed.
            unsafe {
                gemm(
                    cout,
                    kdim,
                    cols,
                    acc.as_mut_ptr(),
                    cout as isize,
                    1,
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
                    inner,
                );
            }
        });
    };
    let acc = if par {
        // A few accumulators per thread at most: each split of the range folds into its own.
        let min_len = (ntiles / (4 * rayon::current_num_threads())).max(1);
        (0..ntiles)
            .into_par_iter()
            .with_min_len(min_len)
            .fold(
                || vec![0f32; wlen],
                |mut acc, t| {
                    accumulate(&mut acc, t);
                    acc
                },
            )
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            })
            .unwrap_or_else(|| vec![0f32; wlen])
    } else {
        let mut acc = vec![0f32; wlen];
        (0..ntiles).for_each(|t| accumulate(&mut acc, t));
        acc
    };
    transpose(&acc, kdim, cout)
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

/// Whether `e` replaces the running maximum `best`: larger, or NaN (NaN propagates; the
/// first NaN or the first of equal maxima wins).
#[inline(always)]
fn beats(e: f32, best: f32) -> bool {
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let not_le = !(e <= best);
    not_le && !best.is_nan()
}

/// Index (0..8, in z, y, x order) and value of the maximum of one 2×2×2 window given as
/// its four pairs of adjacent values (rows `(z, y)` = (0,0), (0,1), (1,0), (1,1)).
#[inline(always)]
fn window_max(pairs: [&[f32]; 4]) -> (usize, f32) {
    let mut best = pairs[0][0];
    let mut at = 0;
    for (k, p) in pairs.iter().enumerate() {
        for (e, &v) in p[..2].iter().enumerate() {
            if beats(v, best) {
                best = v;
                at = 2 * k + e;
            }
        }
    }
    (at, best)
}

/// The four input rows of output row `y` of the output depth slice starting at `base`,
/// cut into the column pairs of the windows.
#[inline(always)]
fn window_pairs(x: &[f32], base: usize, y: usize, h: usize, w: usize) -> impl Iterator<Item = [&[f32]; 4]> {
    let r0 = base + 2 * y * w;
    let row = |o: usize| x[r0 + o..r0 + o + w].chunks_exact(2);
    row(0).zip(row(w)).zip(row(h * w)).zip(row(h * w + w)).map(|(((a, b), c), d)| [a, b, c, d])
}

/// 2×2×2 max pooling (stride 2) of `x` `[planes, D, H, W]` (even sides), contiguous.
pub(crate) fn max_pool3d_2_fwd(x: &[f32], planes: usize, [d, h, w]: [usize; 3]) -> Vec<f32> {
    let (od, oh, ow) = (d / 2, h / 2, w / 2);
    let mut out = vec![0f32; planes * od * oh * ow];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(oh * ow).enumerate().for_each(|(s, dst)| {
        let base = (s / od) * d * h * w + 2 * (s % od) * h * w;
        for (y, dst) in dst.chunks_exact_mut(ow).enumerate() {
            for (v, pairs) in dst.iter_mut().zip(window_pairs(x, base, y, h, w)) {
                *v = window_max(pairs).1;
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
        let base = (s / od) * d * h * w + 2 * (s % od) * h * w;
        let go = &gout[s * oh * ow..(s + 1) * oh * ow];
        for (y, go) in go.chunks_exact(ow).enumerate() {
            for (xo, (&gv, pairs)) in go.iter().zip(window_pairs(x, base, y, h, w)).enumerate() {
                let k = window_max(pairs).0;
                let (z, yy, e) = (k / 4, (k / 2) % 2, k % 2);
                gi[z * h * w + (2 * y + yy) * w + 2 * xo + e] += gv;
            }
        }
    });
    gin
}
