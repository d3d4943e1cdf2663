//! `candle_nn::BatchNorm` on 5-D `[N, C, D, H, W]` tensors, which the network uses as is:
//! per-channel normalisation with batch statistics in training mode (and the running
//! averages it updates), running statistics in evaluation mode, and its gradient against
//! finite differences.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{BatchNorm, ModuleT};

const DIMS: [usize; 5] = [2, 3, 3, 4, 5];
const EPS: f64 = 1e-5;

fn rand_vec(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Input with a different offset and scale per channel.
fn input() -> Vec<f64> {
    let [n, c, d, h, w] = DIMS;
    let vol = d * h * w;
    let mut v = rand_vec(n * c * vol, 1);
    for (i, x) in v.iter_mut().enumerate() {
        let ch = (i / vol) % c;
        *x = *x * (1.0 + ch as f64) + 3.0 * ch as f64 - 2.0;
    }
    v
}

/// Per-channel mean and biased variance over N, D, H, W.
fn channel_stats(x: &[f64]) -> Vec<(f64, f64)> {
    let [n, c, d, h, w] = DIMS;
    let vol = d * h * w;
    (0..c)
        .map(|ch| {
            let vals: Vec<f64> = (0..n).flat_map(|b| x[(b * c + ch) * vol..][..vol].iter().copied()).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            (mean, var)
        })
        .collect()
}

fn batch_norm(weight: &Tensor, bias: &Tensor) -> BatchNorm {
    let c = DIMS[1];
    let dev = &Device::Cpu;
    let rm = Tensor::from_vec(vec![0.5f64, -1.0, 2.0], c, dev).unwrap();
    let rv = Tensor::from_vec(vec![2.0f64, 0.5, 4.0], c, dev).unwrap();
    BatchNorm::new(c, rm, rv, weight.clone(), bias.clone(), EPS).unwrap()
}

fn affine() -> (Tensor, Tensor) {
    let dev = &Device::Cpu;
    (Tensor::new(&[1.5f64, 0.5, -2.0], dev).unwrap(), Tensor::new(&[0.25f64, -1.0, 3.0], dev).unwrap())
}

#[test]
fn training_mode_normalises_per_channel_and_updates_running_stats() {
    let [n, c, d, h, w] = DIMS;
    let vol = d * h * w;
    let xv = input();
    let x = Tensor::from_vec(xv.clone(), &DIMS, &Device::Cpu).unwrap();
    let (wt, bs) = affine();
    let bn = batch_norm(&wt, &bs);
    let y = bn.forward_t(&x, true).unwrap();
    assert_eq!(y.dims(), &DIMS);
    let yv = y.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let stats = channel_stats(&xv);
    let (wv, bv) = (wt.to_vec1::<f64>().unwrap(), bs.to_vec1::<f64>().unwrap());
    for (i, (&x, &y)) in xv.iter().zip(&yv).enumerate() {
        let ch = (i / vol) % c;
        let (mean, var) = stats[ch];
        let want = (x - mean) / (var + EPS).sqrt() * wv[ch] + bv[ch];
        assert!((y - want).abs() < 1e-9, "index {i}: {y} vs {want}");
    }
    // Normalised output: per channel, mean = bias and std = |weight|.
    for (ch, &(mean, var)) in channel_stats(&yv).iter().enumerate() {
        assert!((mean - bv[ch]).abs() < 1e-9);
        assert!((var.sqrt() - wv[ch].abs()).abs() < 1e-4);
    }
    // Running averages, momentum 0.1, unbiased variance.
    let count = (n * vol) as f64;
    let rm = bn.running_mean().to_vec1::<f64>().unwrap();
    let rv = bn.running_var().to_vec1::<f64>().unwrap();
    for (ch, &(mean, var)) in stats.iter().enumerate() {
        let (rm0, rv0) = ([0.5, -1.0, 2.0][ch], [2.0, 0.5, 4.0][ch]);
        assert!((rm[ch] - (0.9 * rm0 + 0.1 * mean)).abs() < 1e-12);
        assert!((rv[ch] - (0.9 * rv0 + 0.1 * var * count / (count - 1.0))).abs() < 1e-12);
    }
}

#[test]
fn eval_mode_uses_running_stats() {
    let [_, c, d, h, w] = DIMS;
    let vol = d * h * w;
    let xv = input();
    let x = Tensor::from_vec(xv.clone(), &DIMS, &Device::Cpu).unwrap();
    let (wt, bs) = affine();
    let bn = batch_norm(&wt, &bs);
    let y = bn.forward_t(&x, false).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let (rm, rv) = ([0.5, -1.0, 2.0], [2.0, 0.5, 4.0]);
    let (wv, bv) = (wt.to_vec1::<f64>().unwrap(), bs.to_vec1::<f64>().unwrap());
    for (i, (&x, &y)) in xv.iter().zip(&y).enumerate() {
        let ch = (i / vol) % c;
        let want = (x - rm[ch]) / (rv[ch] + EPS).sqrt() * wv[ch] + bv[ch];
        assert!((y - want).abs() < 1e-12, "index {i}: {y} vs {want}");
    }
    // Evaluation leaves the running statistics alone.
    assert_eq!(bn.running_mean().to_vec1::<f64>().unwrap(), rm);
    assert_eq!(bn.running_var().to_vec1::<f64>().unwrap(), rv);
}

#[test]
fn training_gradient_matches_finite_differences() {
    let dev = &Device::Cpu;
    let xv = input();
    let (wt, bs) = affine();
    let g = Tensor::from_vec(rand_vec(xv.len(), 7), &DIMS, dev).unwrap();
    let loss = |xv: &[f64], wv: &[f64], bv: &[f64]| -> f64 {
        let bn = batch_norm(&Tensor::new(wv, dev).unwrap(), &Tensor::new(bv, dev).unwrap());
        let y = bn.forward_t(&Tensor::from_slice(xv, &DIMS, dev).unwrap(), true).unwrap();
        (y * &g).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
    };
    let x = Var::from_vec(xv.clone(), &DIMS, dev).unwrap();
    let (wvar, bvar) = (Var::from_tensor(&wt).unwrap(), Var::from_tensor(&bs).unwrap());
    let bn = batch_norm(wvar.as_tensor(), bvar.as_tensor());
    let y = bn.forward_t(x.as_tensor(), true).unwrap();
    let grads = (y * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let get = |t: &Tensor| grads.get(t).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let (gx, gw, gb) = (get(x.as_tensor()), get(wvar.as_tensor()), get(bvar.as_tensor()));
    let (wv, bv) = (wt.to_vec1::<f64>().unwrap(), bs.to_vec1::<f64>().unwrap());
    let h = 1e-5;
    let check = |what: &str, k: usize, fd: f64, an: f64| {
        assert!((fd - an).abs() < 1e-6 * (1.0 + fd.abs()), "{what}[{k}]: finite difference {fd} vs autograd {an}");
    };
    for k in 0..xv.len() {
        let (mut p, mut m) = (xv.clone(), xv.clone());
        p[k] += h;
        m[k] -= h;
        check("x", k, (loss(&p, &wv, &bv) - loss(&m, &wv, &bv)) / (2.0 * h), gx[k]);
    }
    for k in 0..wv.len() {
        let (mut p, mut m) = (wv.clone(), wv.clone());
        p[k] += h;
        m[k] -= h;
        check("weight", k, (loss(&xv, &p, &bv) - loss(&xv, &m, &bv)) / (2.0 * h), gw[k]);
        let (mut p, mut m) = (bv.clone(), bv.clone());
        p[k] += h;
        m[k] -= h;
        check("bias", k, (loss(&xv, &wv, &p) - loss(&xv, &wv, &m)) / (2.0 * h), gb[k]);
    }
}

#[test]
fn works_in_f32_too() {
    let x = Tensor::from_vec(input(), &DIMS, &Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
    let (wt, bs) = affine();
    let bn = batch_norm(&wt, &bs);
    // Parameters and running statistics in the input's dtype, as the network keeps them.
    let bn32 = BatchNorm::new(
        3,
        bn.running_mean().to_dtype(DType::F32).unwrap(),
        bn.running_var().to_dtype(DType::F32).unwrap(),
        wt.to_dtype(DType::F32).unwrap(),
        bs.to_dtype(DType::F32).unwrap(),
        EPS,
    )
    .unwrap();
    let y = bn32.forward_t(&x, true).unwrap();
    let y64 = bn.forward_t(&x.to_dtype(DType::F64).unwrap(), true).unwrap();
    let diff = (y.to_dtype(DType::F64).unwrap() - y64).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f64>().unwrap() < 1e-4);
}
