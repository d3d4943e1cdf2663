//! `ops::conv_transpose3d_2` against a direct reference on random shapes; gradients
//! against the reference and finite differences.

use candle_core::{DType, Device, Tensor, Var};
use proptest::prelude::*;
use vasa_inference::ops::{conv_transpose3d_2, conv3d};

fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Calls `f(y_index, x_index, w_index)` for every multiply-add of the transposed conv.
fn for_each_mac([n, cin, d, h, w]: [usize; 5], cout: usize, mut f: impl FnMut(usize, usize, usize)) {
    for b in 0..n {
        for ci in 0..cin {
            for z in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        let xi = (((b * cin + ci) * d + z) * h + y) * w + x;
                        for co in 0..cout {
                            for a in 0..2 {
                                for bb in 0..2 {
                                    for c in 0..2 {
                                        let yi = (((b * cout + co) * 2 * d + 2 * z + a) * 2 * h + 2 * y + bb) * 2 * w
                                            + 2 * x
                                            + c;
                                        let wi = (((ci * cout + co) * 2 + a) * 2 + bb) * 2 + c;
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

fn close(a: &[f32], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&a, &b)| (a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()))
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference(n in 1usize..3, cin in 1usize..5, cout in 1usize..5,
                         d in 1usize..5, h in 1usize..5, w in 1usize..5, seed in any::<u64>()) {
        let xd = [n, cin, d, h, w];
        let yd = [n, cout, 2 * d, 2 * h, 2 * w];
        let xv = rand_vec(xd.iter().product(), seed);
        let wv = rand_vec(cin * cout * 8, seed ^ 1);
        let gv = rand_vec(yd.iter().product(), seed ^ 2);
        let (mut y, mut gx, mut gw) = (vec![0f64; gv.len()], vec![0f64; xv.len()], vec![0f64; wv.len()]);
        for_each_mac(xd, cout, |yi, xi, wi| {
            y[yi] += xv[xi] as f64 * wv[wi] as f64;
            gx[xi] += gv[yi] as f64 * wv[wi] as f64;
            gw[wi] += gv[yi] as f64 * xv[xi] as f64;
        });
        let x = Var::from_vec(xv, &xd, &Device::Cpu).unwrap();
        let wt = Var::from_vec(wv, (cin, cout, 2, 2, 2), &Device::Cpu).unwrap();
        let g = Tensor::from_vec(gv, &yd, &Device::Cpu).unwrap();
        let out = conv_transpose3d_2(x.as_tensor(), wt.as_tensor()).unwrap();
        prop_assert_eq!(out.dims(), &yd);
        prop_assert!(close(&flat(&out), &y), "output");
        let grads = (out * g).unwrap().sum_all().unwrap().backward().unwrap();
        prop_assert!(close(&flat(grads.get(x.as_tensor()).unwrap()), &gx), "grad x");
        prop_assert!(close(&flat(grads.get(wt.as_tensor()).unwrap()), &gw), "grad w");
    }
}

/// The loss `Σ y·g` is linear in x and in w: central differences are exact up to rounding.
#[test]
fn gradients_match_finite_differences() {
    let (xd, wd, yd) = ([2, 3, 2, 3, 2], [3, 2, 2, 2, 2], [2, 2, 4, 6, 4]);
    let xv = rand_vec(xd.iter().product(), 1);
    let wv = rand_vec(wd.iter().product(), 2);
    let g = Tensor::from_vec(rand_vec(yd.iter().product(), 3), &yd, &Device::Cpu).unwrap();
    let loss = |xv: &[f32], wv: &[f32]| -> f64 {
        let x = Tensor::from_slice(xv, &xd, &Device::Cpu).unwrap();
        let w = Tensor::from_slice(wv, &wd, &Device::Cpu).unwrap();
        let y = conv_transpose3d_2(&x, &w).unwrap();
        (y * &g).unwrap().to_dtype(DType::F64).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
    };
    let x = Var::from_slice(&xv, &xd, &Device::Cpu).unwrap();
    let w = Var::from_slice(&wv, &wd, &Device::Cpu).unwrap();
    let grads = (conv_transpose3d_2(x.as_tensor(), w.as_tensor()).unwrap() * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let (gx, gw) = (flat(grads.get(x.as_tensor()).unwrap()), flat(grads.get(w.as_tensor()).unwrap()));
    let eps = 0.5f32;
    for k in 0..xv.len() {
        let (mut p, mut m) = (xv.clone(), xv.clone());
        p[k] += eps;
        m[k] -= eps;
        let fd = (loss(&p, &wv) - loss(&m, &wv)) / (2.0 * eps as f64);
        assert!((fd - gx[k] as f64).abs() < 1e-3 * (1.0 + fd.abs()), "x[{k}]: {fd} vs {}", gx[k]);
    }
    for k in 0..wv.len() {
        let (mut p, mut m) = (wv.clone(), wv.clone());
        p[k] += eps;
        m[k] -= eps;
        let fd = (loss(&xv, &p) - loss(&xv, &m)) / (2.0 * eps as f64);
        assert!((fd - gw[k] as f64).abs() < 1e-3 * (1.0 + fd.abs()), "w[{k}]: {fd} vs {}", gw[k]);
    }
}

/// The transposed convolution is the adjoint of the stride-2 2×2×2 convolution with the
/// same weight: ⟨T(x), y⟩ = ⟨x, C(y)⟩.
#[test]
fn is_the_adjoint_of_the_strided_conv() {
    let x = Tensor::from_vec(rand_vec(2 * 4 * 3 * 5 * 2, 4), (2, 4, 3, 5, 2), &Device::Cpu).unwrap();
    let y = Tensor::from_vec(rand_vec(2 * 3 * 6 * 10 * 4, 5), (2, 3, 6, 10, 4), &Device::Cpu).unwrap();
    let w = Tensor::from_vec(rand_vec(4 * 3 * 8, 6), (4, 3, 2, 2, 2), &Device::Cpu).unwrap();
    let dot = |a: &Tensor, b: &Tensor| (a * b).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
    let lhs = dot(&conv_transpose3d_2(&x, &w).unwrap(), &y);
    let rhs = dot(&x, &conv3d(&y, &w, 2, 0).unwrap());
    assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
}

#[test]
fn bad_shapes_are_errors() {
    let dev = &Device::Cpu;
    let z = |d: &[usize]| Tensor::zeros(d, DType::F32, dev).unwrap();
    assert!(conv_transpose3d_2(&z(&[1, 2, 3, 3]), &z(&[2, 3, 2, 2, 2])).is_err());
    assert!(conv_transpose3d_2(&z(&[1, 2, 3, 3, 3]), &z(&[3, 3, 2, 2, 2])).is_err());
    assert!(conv_transpose3d_2(&z(&[1, 2, 3, 3, 3]), &z(&[2, 3, 3, 3, 3])).is_err());
    assert!(conv_transpose3d_2(&z(&[1, 2, 3, 3, 3]), &z(&[2, 3, 2, 2])).is_err());
    assert_eq!(conv_transpose3d_2(&z(&[1, 2, 3, 4, 5]), &z(&[2, 3, 2, 2, 2])).unwrap().dims(), &[1, 3, 6, 8, 10]);
}
