//! `ops::conv3d` (CPU custom op), `ops::conv3d_composed` and their gradients against a
//! direct six-loop reference, on random shapes; gradients also against finite differences.

use candle_core::{DType, Device, Tensor, Var};
use proptest::prelude::*;
use vasa_inference::ops::{conv3d, conv3d_backward, conv3d_composed};

/// Deterministic pseudo-random values in [-1, 1).
fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[derive(Clone, Debug)]
struct Case {
    x: [usize; 5],
    w: [usize; 5],
    stride: usize,
    pad: usize,
    seed: u64,
}

impl Case {
    fn out(&self) -> [usize; 5] {
        let o = |a: usize| (self.x[2 + a] + 2 * self.pad - self.w[2 + a]) / self.stride + 1;
        [self.x[0], self.w[0], o(0), o(1), o(2)]
    }
}

/// Random geometry: 1–2 items, 1–6 → 1–8 channels, sides 1–7, kernel sides 1–3, strides
/// 1–3, padding from the least that fits the kernel to 2 more.
fn case() -> impl Strategy<Value = Case> {
    (1usize..3, 1usize..7, 1usize..9, [1usize..8, 1usize..8, 1usize..8], [1usize..4, 1usize..4, 1usize..4], 1usize..4)
        .prop_flat_map(|(n, cin, cout, sp, k, stride)| {
            let min_pad = (0..3).map(|a| k[a].saturating_sub(sp[a]).div_ceil(2)).max().unwrap_or(0);
            (Just((n, cin, cout, sp, k, stride)), min_pad..min_pad + 3, any::<u64>())
        })
        .prop_map(|((n, cin, cout, sp, k, stride), pad, seed)| Case {
            x: [n, cin, sp[0], sp[1], sp[2]],
            w: [cout, cin, k[0], k[1], k[2]],
            stride,
            pad,
            seed,
        })
}

/// Input index for output index `o`, kernel offset `k`, or None in the padding.
fn src(o: usize, k: usize, s: usize, p: usize, len: usize) -> Option<usize> {
    let i = (o * s + k) as isize - p as isize;
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// Calls `f(y_index, x_index, w_index)` for every multiply-add of the convolution.
fn for_each_mac(c: &Case, mut f: impl FnMut(usize, usize, usize)) {
    let [n, cin, d, h, w] = c.x;
    let [cout, _, kd, kh, kw] = c.w;
    let [_, _, od, oh, ow] = c.out();
    for b in 0..n {
        for co in 0..cout {
            for z in 0..od {
                for y in 0..oh {
                    for x in 0..ow {
                        let yi = (((b * cout + co) * od + z) * oh + y) * ow + x;
                        for ci in 0..cin {
                            for a in 0..kd {
                                let Some(iz) = src(z, a, c.stride, c.pad, d) else { continue };
                                for bb in 0..kh {
                                    let Some(iy) = src(y, bb, c.stride, c.pad, h) else { continue };
                                    for cc in 0..kw {
                                        let Some(ix) = src(x, cc, c.stride, c.pad, w) else { continue };
                                        let xi = (((b * cin + ci) * d + iz) * h + iy) * w + ix;
                                        let wi = (((co * cin + ci) * kd + a) * kh + bb) * kw + cc;
                                        f(yi, xi, wi);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

struct Reference {
    y: Vec<f64>,
    gx: Vec<f64>,
    gw: Vec<f64>,
}

/// Output and both gradients of `Σ y·g` straight from the definition, in f64.
fn reference(c: &Case, x: &[f32], w: &[f32], g: &[f32]) -> Reference {
    let ylen: usize = c.out().iter().product();
    let mut r = Reference { y: vec![0.0; ylen], gx: vec![0.0; x.len()], gw: vec![0.0; w.len()] };
    for_each_mac(c, |yi, xi, wi| {
        r.y[yi] += x[xi] as f64 * w[wi] as f64;
        r.gx[xi] += g[yi] as f64 * w[wi] as f64;
        r.gw[wi] += g[yi] as f64 * x[xi] as f64;
    });
    r
}

fn inputs(c: &Case) -> (Tensor, Tensor, Tensor, Vec<f32>, Vec<f32>, Vec<f32>) {
    let xv = rand_vec(c.x.iter().product(), c.seed);
    let wv = rand_vec(c.w.iter().product(), c.seed ^ 0x5555);
    let gv = rand_vec(c.out().iter().product(), c.seed ^ 0xaaaa);
    let x = Tensor::from_vec(xv.clone(), &c.x, &Device::Cpu).unwrap();
    let w = Tensor::from_vec(wv.clone(), &c.w, &Device::Cpu).unwrap();
    let g = Tensor::from_vec(gv.clone(), &c.out(), &Device::Cpu).unwrap();
    (x, w, g, xv, wv, gv)
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// Asserts |a − b| ≤ tol·(1 + |b|) elementwise, with a message naming the first failure.
fn assert_close(what: &str, a: &[f32], b: &[f64], tol: f64) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len(), "{}: length", what);
    for (i, (&a, &b)) in a.iter().zip(b).enumerate() {
        prop_assert!((a as f64 - b).abs() <= tol * (1.0 + b.abs()), "{}: index {}: {} vs {}", what, i, a, b);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn custom_op_matches_reference(c in case()) {
        let (x, w, g, xv, wv, gv) = inputs(&c);
        let r = reference(&c, &xv, &wv, &gv);
        let y = conv3d(&x, &w, c.stride, c.pad).unwrap();
        prop_assert_eq!(y.dims(), &c.out());
        assert_close("y", &flat(&y), &r.y, 1e-5)?;
        let (gx, gw) = conv3d_backward(&x, &w, &g, c.stride, c.pad).unwrap();
        prop_assert_eq!(gx.dims(), &c.x);
        prop_assert_eq!(gw.dims(), &c.w);
        assert_close("grad x", &flat(&gx), &r.gx, 1e-5)?;
        assert_close("grad w", &flat(&gw), &r.gw, 1e-5)?;
    }

    #[test]
    fn autograd_through_custom_op_matches_reference(c in case()) {
        let (x, w, g, xv, wv, gv) = inputs(&c);
        let r = reference(&c, &xv, &wv, &gv);
        let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
        let y = conv3d(xv.as_tensor(), wv.as_tensor(), c.stride, c.pad).unwrap();
        let grads = (y * g).unwrap().sum_all().unwrap().backward().unwrap();
        assert_close("grad x", &flat(grads.get(xv.as_tensor()).unwrap()), &r.gx, 1e-5)?;
        assert_close("grad w", &flat(grads.get(wv.as_tensor()).unwrap()), &r.gw, 1e-5)?;
    }

    #[test]
    fn composed_matches_reference(c in case()) {
        let (x, w, g, xv, wv, gv) = inputs(&c);
        let r = reference(&c, &xv, &wv, &gv);
        let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
        let y = conv3d_composed(xv.as_tensor(), wv.as_tensor(), c.stride, c.pad).unwrap();
        prop_assert_eq!(y.dims(), &c.out());
        assert_close("y", &flat(&y), &r.y, 1e-5)?;
        let grads = (y * g).unwrap().sum_all().unwrap().backward().unwrap();
        assert_close("grad x", &flat(grads.get(xv.as_tensor()).unwrap()), &r.gx, 1e-5)?;
        assert_close("grad w", &flat(grads.get(wv.as_tensor()).unwrap()), &r.gw, 1e-5)?;
    }
}

/// `L(x, w) = Σ conv3d(x, w)·g` is linear in each argument, so a central difference with a
/// large step is exact up to f32 rounding: a sharp check of the hand-written backward pass.
#[test]
fn gradients_match_finite_differences() {
    for (i, c) in [
        Case { x: [2, 3, 5, 6, 4], w: [4, 3, 3, 3, 3], stride: 1, pad: 1, seed: 1 },
        Case { x: [1, 2, 7, 5, 6], w: [3, 2, 3, 2, 3], stride: 2, pad: 1, seed: 2 },
        Case { x: [1, 2, 4, 4, 4], w: [2, 2, 2, 2, 2], stride: 1, pad: 2, seed: 3 },
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, g, xv, wv, _) = inputs(&c);
        let (gx, gw) = conv3d_backward(&x, &w, &g, c.stride, c.pad).unwrap();
        let loss = |xv: &[f32], wv: &[f32]| -> f64 {
            let x = Tensor::from_slice(xv, &c.x, &Device::Cpu).unwrap();
            let w = Tensor::from_slice(wv, &c.w, &Device::Cpu).unwrap();
            let y = conv3d(&x, &w, c.stride, c.pad).unwrap();
            (y.to_dtype(DType::F64).unwrap() * g.to_dtype(DType::F64).unwrap())
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let eps = 0.5f32;
        let (gx, gw) = (flat(&gx), flat(&gw));
        for k in (0..xv.len()).step_by(7) {
            let (mut p, mut m) = (xv.clone(), xv.clone());
            p[k] += eps;
            m[k] -= eps;
            let fd = (loss(&p, &wv) - loss(&m, &wv)) / (2.0 * eps as f64);
            assert!((fd - gx[k] as f64).abs() < 1e-3 * (1.0 + fd.abs()), "case {i} x[{k}]: fd {fd} vs {}", gx[k]);
        }
        for k in 0..wv.len() {
            let (mut p, mut m) = (wv.clone(), wv.clone());
            p[k] += eps;
            m[k] -= eps;
            let fd = (loss(&xv, &p) - loss(&xv, &m)) / (2.0 * eps as f64);
            assert!((fd - gw[k] as f64).abs() < 1e-3 * (1.0 + fd.abs()), "case {i} w[{k}]: fd {fd} vs {}", gw[k]);
        }
    }
}

/// The custom op and the composed version agree on network-sized layers: tiles of several
/// output rows that straddle depth slices, several tiles per batch item with a partial
/// last one, run in parallel (many tiles) or in order with a multi-threaded GEMM (few).
#[test]
fn custom_op_matches_composed_on_larger_layers() {
    for (i, (xd, wd)) in [
        ([2, 8, 20, 24, 28], [12, 8, 3, 3, 3]),
        ([1, 5, 9, 13, 11], [7, 5, 3, 3, 3]),
        ([1, 16, 9, 13, 11], [6, 16, 3, 3, 3]),
        ([1, 2, 16, 18, 17], [1, 2, 7, 7, 7]),
    ]
    .into_iter()
    .enumerate()
    {
        let x = Tensor::from_vec(rand_vec(xd.iter().product(), 7 + i as u64), &xd, &Device::Cpu).unwrap();
        let w = Tensor::from_vec(rand_vec(wd.iter().product(), 8 + i as u64), &wd, &Device::Cpu).unwrap();
        let pad = wd[2] / 2;
        for (stride, pad) in [(1, pad), (2, pad), (1, 0)] {
            let a = flat(&conv3d(&x, &w, stride, pad).unwrap());
            let b = flat(&conv3d_composed(&x, &w, stride, pad).unwrap());
            let err = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "{xd:?} * {wd:?}, stride {stride} pad {pad}: max error {err}");
            let g = Tensor::from_vec(rand_vec(a.len(), 9), conv3d(&x, &w, stride, pad).unwrap().dims(), &Device::Cpu)
                .unwrap();
            let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
            let y = conv3d_composed(xv.as_tensor(), wv.as_tensor(), stride, pad).unwrap();
            let grads = (y * &g).unwrap().sum_all().unwrap().backward().unwrap();
            let (gx, gw) = conv3d_backward(&x, &w, &g, stride, pad).unwrap();
            for (what, a, b) in
                [("x", gx, grads.get(xv.as_tensor()).unwrap()), ("w", gw, grads.get(wv.as_tensor()).unwrap())]
            {
                let (a, b) = (flat(&a), flat(b));
                let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let err = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                assert!(err < 1e-5 * scale, "{xd:?} * {wd:?}, stride {stride} pad {pad}: grad {what} error {err}");
            }
        }
    }
}

#[test]
fn non_contiguous_inputs() {
    let base = Tensor::from_vec(rand_vec(3 * 2 * 6 * 5 * 7, 11), (3, 2, 6, 5, 7), &Device::Cpu).unwrap();
    // [2, 3, 6, 5, 7] permuted view, then a narrowed one with a start offset.
    let x = base.transpose(0, 1).unwrap().narrow(2, 1, 4).unwrap();
    assert!(!x.is_contiguous());
    let w = Tensor::from_vec(rand_vec(4 * 3 * 8, 12), (4, 3, 2, 2, 2), &Device::Cpu).unwrap().transpose(3, 4).unwrap();
    let a = flat(&conv3d(&x, &w, 1, 1).unwrap());
    let b = flat(&conv3d(&x.contiguous().unwrap(), &w.contiguous().unwrap(), 1, 1).unwrap());
    let c = flat(&conv3d_composed(&x, &w, 1, 1).unwrap());
    assert_eq!(a, b);
    let err = a.iter().zip(&c).map(|(a, c)| (a - c).abs()).fold(0.0, f32::max);
    assert!(err < 1e-5);
}

#[test]
fn only_tracked_arguments_get_gradients() {
    let x = Tensor::from_vec(rand_vec(2 * 4 * 4 * 4, 3), (1, 2, 4, 4, 4), &Device::Cpu).unwrap();
    let w =
        Var::from_tensor(&Tensor::from_vec(rand_vec(3 * 2 * 27, 4), (3, 2, 3, 3, 3), &Device::Cpu).unwrap()).unwrap();
    let grads = conv3d(&x, w.as_tensor(), 1, 1).unwrap().sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    assert_eq!(grads.get(w.as_tensor()).unwrap().dims(), &[3, 2, 3, 3, 3]);
}

#[test]
fn other_dtypes_use_the_composed_path() {
    let x = Tensor::from_vec(rand_vec(2 * 5 * 4 * 3, 5), (1, 2, 5, 4, 3), &Device::Cpu).unwrap();
    let w = Tensor::from_vec(rand_vec(2 * 2 * 27, 6), (2, 2, 3, 3, 3), &Device::Cpu).unwrap();
    let a = flat(&conv3d(&x, &w, 1, 1).unwrap());
    let b = conv3d(&x.to_dtype(DType::F64).unwrap(), &w.to_dtype(DType::F64).unwrap(), 1, 1).unwrap();
    assert_eq!(b.dtype(), DType::F64);
    let b = flat(&b.to_dtype(DType::F32).unwrap());
    let err = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err < 1e-5);
}

#[test]
fn bad_shapes_are_errors() {
    let dev = &Device::Cpu;
    let x5 = Tensor::zeros((1, 2, 4, 4, 4), DType::F32, dev).unwrap();
    let x4 = Tensor::zeros((2, 4, 4, 4), DType::F32, dev).unwrap();
    let w = Tensor::zeros((3, 2, 3, 3, 3), DType::F32, dev).unwrap();
    let w_cin = Tensor::zeros((3, 5, 3, 3, 3), DType::F32, dev).unwrap();
    let w_big = Tensor::zeros((3, 2, 7, 3, 3), DType::F32, dev).unwrap();
    let w4 = Tensor::zeros((3, 2, 3, 3), DType::F32, dev).unwrap();
    for f in [conv3d, conv3d_composed] {
        assert!(f(&x4, &w, 1, 1).is_err(), "rank 4 input");
        assert!(f(&x5, &w4, 1, 1).is_err(), "rank 4 weight");
        assert!(f(&x5, &w_cin, 1, 1).is_err(), "channel mismatch");
        assert!(f(&x5, &w_big, 1, 1).is_err(), "kernel larger than padded input");
        assert!(f(&x5, &w, 0, 1).is_err(), "zero stride");
        assert!(f(&x5, &w_big, 1, 2).is_ok(), "kernel fits once padded");
    }
    let g_bad = Tensor::zeros((1, 3, 4, 4, 5), DType::F32, dev).unwrap();
    assert!(conv3d_backward(&x5, &w, &g_bad, 1, 1).is_err(), "gradient shape");
}
