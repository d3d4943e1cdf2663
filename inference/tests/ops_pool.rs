//! `ops::max_pool3d_2` (CPU custom op) and `ops::max_pool3d_2_composed` against a direct
//! reference on random shapes; gradients against the reference and finite differences.

use candle_core::{DType, Device, Tensor, Var};
use proptest::prelude::*;
use vasa_inference::ops::{max_pool3d_2, max_pool3d_2_composed};

/// Distinct values in random order (a shuffled ramp), so windows have no ties and every
/// pair of values is at least `step` apart.
fn distinct_values(len: usize, seed: u64, step: f32) -> Vec<f32> {
    let mut v: Vec<f32> = (0..len).map(|i| i as f32 * step - len as f32 * step / 2.0).collect();
    let mut s = seed | 1;
    for i in (1..len).rev() {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        v.swap(i, (s >> 33) as usize % (i + 1));
    }
    v
}

/// Output and the index of each window's maximum (first maximum on ties).
fn reference(x: &[f32], [n, c, d, h, w]: [usize; 5]) -> (Vec<f32>, Vec<usize>) {
    let (od, oh, ow) = (d / 2, h / 2, w / 2);
    let mut y = Vec::new();
    let mut at = Vec::new();
    for p in 0..n * c {
        for z in 0..od {
            for yy in 0..oh {
                for xx in 0..ow {
                    let mut best = (f32::NEG_INFINITY, usize::MAX);
                    for a in 0..2 {
                        for b in 0..2 {
                            for e in 0..2 {
                                let i = ((p * d + 2 * z + a) * h + 2 * yy + b) * w + 2 * xx + e;
                                if best.1 == usize::MAX || x[i] > best.0 {
                                    best = (x[i], i);
                                }
                            }
                        }
                    }
                    y.push(best.0);
                    at.push(best.1);
                }
            }
        }
    }
    (y, at)
}

fn shape() -> impl Strategy<Value = ([usize; 5], u64)> {
    (1usize..3, 1usize..4, 1usize..5, 1usize..5, 1usize..5, any::<u64>())
        .prop_map(|(n, c, d, h, w, seed)| ([n, c, 2 * d, 2 * h, 2 * w], seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference((dims, seed) in shape()) {
        let len = dims.iter().product();
        let xv = distinct_values(len, seed, 0.01);
        let gv = distinct_values(len / 8, seed ^ 1, 0.1);
        let (y_ref, at) = reference(&xv, dims);
        let mut gx_ref = vec![0f32; len];
        for (k, &i) in at.iter().enumerate() {
            gx_ref[i] += gv[k];
        }
        let x = Var::from_vec(xv, &dims, &Device::Cpu).unwrap();
        let g = Tensor::from_vec(gv, &[dims[0], dims[1], dims[2] / 2, dims[3] / 2, dims[4] / 2], &Device::Cpu).unwrap();
        for (name, f) in [("custom", max_pool3d_2 as fn(&Tensor) -> _), ("composed", max_pool3d_2_composed)] {
            let y = f(x.as_tensor()).unwrap();
            prop_assert_eq!(y.dims(), g.dims(), "{}", name);
            prop_assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), y_ref.clone(), "{}", name);
            let grads = (y * &g).unwrap().sum_all().unwrap().backward().unwrap();
            let gx = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            prop_assert_eq!(gx, gx_ref.clone(), "{} gradient", name);
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let dims = [1, 2, 4, 6, 4];
    let len = dims.iter().product();
    let xv = distinct_values(len, 9, 0.01);
    let g = Tensor::from_vec(distinct_values(len / 8, 10, 0.1), (1, 2, 2, 3, 2), &Device::Cpu).unwrap();
    let loss = |xv: &[f32]| -> f64 {
        let x = Tensor::from_slice(xv, &dims, &Device::Cpu).unwrap();
        let y = max_pool3d_2(&x).unwrap();
        (y * &g).unwrap().to_dtype(DType::F64).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
    };
    let x = Var::from_slice(&xv, &dims, &Device::Cpu).unwrap();
    let grads = (max_pool3d_2(x.as_tensor()).unwrap() * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let gx = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    // Values are 0.01 apart: a step of 0.002 never changes which element is maximal.
    let eps = 0.002f32;
    for k in 0..len {
        let (mut p, mut m) = (xv.clone(), xv.clone());
        p[k] += eps;
        m[k] -= eps;
        let fd = (loss(&p) - loss(&m)) / (2.0 * eps as f64);
        assert!((fd - gx[k] as f64).abs() < 1e-3, "x[{k}]: fd {fd} vs {}", gx[k]);
    }
}

#[test]
fn ties_send_the_gradient_to_the_first_maximum_and_nan_propagates() {
    let mut xv = vec![1.0f32; 8];
    let x = Var::from_slice(&xv, (1, 1, 2, 2, 2), &Device::Cpu).unwrap();
    let y = max_pool3d_2(x.as_tensor()).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    let gx = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(gx, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    xv[5] = f32::NAN;
    let y = max_pool3d_2(&Tensor::from_slice(&xv, (1, 1, 2, 2, 2), &Device::Cpu).unwrap()).unwrap();
    assert!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0].is_nan());
}

#[test]
fn non_contiguous_and_other_dtypes() {
    let xv = distinct_values(2 * 3 * 4 * 6 * 8, 3, 0.01);
    let base = Tensor::from_vec(xv, (3, 2, 4, 6, 8), &Device::Cpu).unwrap();
    let x = base.transpose(0, 1).unwrap();
    let a = max_pool3d_2(&x).unwrap();
    let b = max_pool3d_2_composed(&x.contiguous().unwrap()).unwrap();
    assert_eq!(a.dims(), &[2, 3, 2, 3, 4]);
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&a), flat(&b));
    let c = max_pool3d_2(&x.to_dtype(DType::F64).unwrap()).unwrap();
    assert_eq!(c.dtype(), DType::F64);
    assert_eq!(flat(&a), flat(&c));
}

#[test]
fn bad_shapes_are_errors() {
    let dev = &Device::Cpu;
    for dims in [vec![1, 1, 4, 4], vec![1, 1, 4, 4, 3], vec![1, 1, 0, 4, 4], vec![1, 1, 5, 4, 4]] {
        let x = Tensor::zeros(dims.as_slice(), DType::F32, dev).unwrap();
        assert!(max_pool3d_2(&x).is_err(), "{dims:?}");
        assert!(max_pool3d_2_composed(&x).is_err(), "{dims:?}");
    }
}
