//! Conv3d speed: 32→32 channels, 3×3×3, padding 1, on a 1×32×64³ f32 tensor on the CPU
//! (2·32·32·27·64³ ≈ 14.5 GFLOP per pass; the backward pass computes both gradients,
//! twice that).
//!
//! Every figure is put next to a plain candle matrix product of the same FLOP count
//! (1728×2048 · 2048×2048, exactly 2·27·2²⁸ FLOP) measured in the same run, because
//! the development machine is shared and noisy: the ratio of medians is the figure
//! (contract: ≥ 0.5 for the custom op, forward and backward). The conv2d-composed
//! version is measured alongside. After criterion's report a summary table prints the
//! medians, GFLOP/s and ratios.
//!
//! `cargo bench -p vasa-inference --bench conv3d` (set `CONV3D_BENCH_SKIP_COMPOSED=1` to
//! skip the slow composed version; `CONV3D_BENCH_LAYERS=1` adds a table of the default
//! network's layer shapes, custom op against composed version, forward and backward,
//! plus the pooling and the transposed convolution).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, SamplingMode};
use vasa_inference::ops::{
    conv_transpose3d_2, conv3d, conv3d_backward, conv3d_composed, max_pool3d_2, max_pool3d_2_composed,
};

/// FLOP of one forward pass (and of each of the two gradients).
const FLOP: f64 = 2.0 * 32.0 * 32.0 * 27.0 * 262_144.0;

/// Per-iteration seconds of every benchmark, for the summary.
static TIMES: Mutex<BTreeMap<&'static str, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn rand_tensor(dims: &[usize], seed: u64) -> Tensor {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let len = dims.iter().product();
    let v: Vec<f32> = (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    Tensor::from_vec(v, dims, &Device::Cpu).expect("valid shape")
}

/// Runs `f` under criterion, also recording each iteration's time for the summary.
fn bench(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &'static str, f: impl Fn()) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                f();
            }
            let dt = t0.elapsed();
            TIMES.lock().expect("not poisoned").entry(name).or_default().push(dt.as_secs_f64() / iters as f64);
            dt
        })
    });
}

fn median(name: &str) -> Option<f64> {
    let times = TIMES.lock().expect("not poisoned");
    let mut v = times.get(name)?.clone();
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let x = rand_tensor(&[1, 32, 64, 64, 64], 1);
    let w = rand_tensor(&[32, 32, 3, 3, 3], 2);
    let g = rand_tensor(&[1, 32, 64, 64, 64], 3);
    let a = rand_tensor(&[1728, 2048], 4);
    let b = rand_tensor(&[2048, 2048], 5);
    let skip_composed = std::env::var_os("CONV3D_BENCH_SKIP_COMPOSED").is_some();

    let mut group = c.benchmark_group("conv3d_32x64^3");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    bench(&mut group, "matmul_peer", || {
        a.matmul(&b).expect("matmul");
    });
    bench(&mut group, "custom_fwd", || {
        conv3d(&x, &w, 1, 1).expect("conv3d");
    });
    bench(&mut group, "custom_bwd", || {
        conv3d_backward(&x, &w, &g, 1, 1).expect("conv3d backward");
    });
    let (xv, wv) = (Var::from_tensor(&x).expect("var"), Var::from_tensor(&w).expect("var"));
    bench(&mut group, "custom_fwd_bwd_autograd", || {
        let y = conv3d(xv.as_tensor(), wv.as_tensor(), 1, 1).expect("conv3d");
        (y * &g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward");
    });
    bench(&mut group, "matmul_peer_again", || {
        a.matmul(&b).expect("matmul");
    });
    if !skip_composed {
        bench(&mut group, "composed_fwd", || {
            conv3d_composed(&x, &w, 1, 1).expect("conv3d composed");
        });
        bench(&mut group, "composed_fwd_bwd_autograd", || {
            let y = conv3d_composed(xv.as_tensor(), wv.as_tensor(), 1, 1).expect("conv3d composed");
            (y * &g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward");
        });
    }
    group.finish();
    c.final_summary();
    summary();
    interleaved(&x, &w, &g, &a, &b, skip_composed);
    if std::env::var_os("CONV3D_BENCH_LAYERS").is_some() {
        layers();
    }
}

/// The headline figures, robust to a busy machine: rounds of (matmul peer, op) pairs run
/// back to back; each op's GFLOP/s is divided by its own peer's, and the median ratio of
/// the rounds is reported with the median GFLOP/s.
fn interleaved(x: &Tensor, w: &Tensor, g: &Tensor, a: &Tensor, b: &Tensor, skip_composed: bool) {
    let (xv, wv) = (Var::from_tensor(x).expect("var"), Var::from_tensor(w).expect("var"));
    let fwd_bwd = |f: fn(&Tensor, &Tensor, usize, usize) -> candle_core::Result<Tensor>| {
        let y = f(xv.as_tensor(), wv.as_tensor(), 1, 1).expect("conv3d");
        drop((y * g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward"));
    };
    type Op<'a> = (&'a str, f64, usize, Box<dyn Fn() + 'a>);
    let mut ops: Vec<Op<'_>> = vec![
        ("custom forward", 1.0, 7, Box::new(|| drop(conv3d(x, w, 1, 1).expect("conv3d")))),
        ("custom backward (dx + dw)", 2.0, 7, Box::new(|| drop(conv3d_backward(x, w, g, 1, 1).expect("backward")))),
        ("custom fwd+bwd, autograd", 3.0, 5, Box::new(|| fwd_bwd(conv3d))),
    ];
    if !skip_composed {
        ops.push(("composed forward", 1.0, 3, Box::new(|| drop(conv3d_composed(x, w, 1, 1).expect("composed")))));
        ops.push(("composed fwd+bwd, autograd", 3.0, 3, Box::new(|| fwd_bwd(conv3d_composed))));
    }
    let secs = |f: &dyn Fn()| {
        let t0 = Instant::now();
        f();
        t0.elapsed().as_secs_f64()
    };
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("\ninterleaved rounds (matmul peer right before each op; medians over rounds)");
    println!("{:<30} {:>7} {:>10} {:>10} {:>12} {:>7}", "", "rounds", "seconds", "GFLOP/s", "peer GFLOP/s", "ratio");
    let mut composed_fwd = None;
    for (name, passes, rounds, f) in &ops {
        f();
        let mut times = Vec::new();
        let mut peers = Vec::new();
        let mut ratios = Vec::new();
        for _ in 0..*rounds {
            let tp = secs(&|| drop(a.matmul(b).expect("matmul")));
            let t = secs(f.as_ref());
            times.push(t);
            peers.push(FLOP / tp / 1e9);
            ratios.push((passes * FLOP / t) / (FLOP / tp));
        }
        let t = med(times);
        if *name == "composed forward" {
            composed_fwd = Some(t);
        }
        println!(
            "{:<30} {:>7} {:>10.3} {:>10.1} {:>12.1} {:>7.2}",
            name,
            rounds,
            t,
            passes * FLOP / t / 1e9,
            med(peers),
            med(ratios)
        );
        if *name == "composed fwd+bwd, autograd"
            && let Some(f) = composed_fwd
        {
            println!(
                "{:<30} {:>7} {:>10.3} {:>10.1}",
                "composed backward (difference)",
                "",
                t - f,
                2.0 * FLOP / (t - f) / 1e9
            );
        }
    }
}

/// Median seconds of `reps` runs of `f` (after one warm-up run).
fn time(reps: usize, f: impl Fn()) -> f64 {
    f();
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The layer shapes of the default network (base 8 channels, 3 levels, 64³ patch, CBAM
/// 7×7×7 spatial attention): custom op against composed version.
fn layers() {
    println!("\nnetwork layers (median of 3; ms, GFLOP/s in brackets; custom bwd = conv3d_backward,");
    println!("composed bwd = autograd fwd+bwd of the loss Σ y·g minus fwd)");
    println!("{:<28} {:>16} {:>16} {:>16} {:>16}", "layer", "custom fwd", "composed fwd", "custom bwd", "composed bwd");
    let cases: [(&str, [usize; 5], [usize; 5], usize); 8] = [
        ("1->8 64^3", [1, 1, 64, 64, 64], [8, 1, 3, 3, 3], 1),
        ("8->8 64^3", [1, 8, 64, 64, 64], [8, 8, 3, 3, 3], 1),
        ("16->8 64^3 (decoder)", [1, 16, 64, 64, 64], [8, 16, 3, 3, 3], 1),
        ("16->16 32^3", [1, 16, 32, 32, 32], [16, 16, 3, 3, 3], 1),
        ("32->32 16^3", [1, 32, 16, 16, 16], [32, 32, 3, 3, 3], 1),
        ("64->64 8^3 (bottleneck)", [1, 64, 8, 8, 8], [64, 64, 3, 3, 3], 1),
        ("CBAM 2->1 7^3 64^3", [1, 2, 64, 64, 64], [1, 2, 7, 7, 7], 3),
        ("head 8->4 1^3 64^3", [1, 8, 64, 64, 64], [4, 8, 1, 1, 1], 0),
    ];
    for (i, (name, xd, wd, pad)) in cases.into_iter().enumerate() {
        let x = rand_tensor(&xd, 10 + i as u64);
        let w = rand_tensor(&wd, 20 + i as u64);
        let y = conv3d(&x, &w, 1, pad).expect("conv3d");
        let g = rand_tensor(y.dims(), 30 + i as u64);
        let flop = 2.0 * y.elem_count() as f64 * (wd[1] * wd[2] * wd[3] * wd[4]) as f64;
        let cf = time(3, || drop(conv3d(&x, &w, 1, pad).expect("conv3d")));
        let pf = time(3, || drop(conv3d_composed(&x, &w, 1, pad).expect("composed")));
        let cb = time(3, || drop(conv3d_backward(&x, &w, &g, 1, pad).expect("backward")));
        let (xv, wv) = (Var::from_tensor(&x).expect("var"), Var::from_tensor(&w).expect("var"));
        let pfb = time(3, || {
            let y = conv3d_composed(xv.as_tensor(), wv.as_tensor(), 1, pad).expect("composed");
            drop((y * &g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward"));
        });
        let cell = |s: f64, passes: f64| format!("{:.1} [{:.1}]", s * 1e3, passes * flop / s / 1e9);
        println!(
            "{:<28} {:>16} {:>16} {:>16} {:>16}",
            name,
            cell(cf, 1.0),
            cell(pf, 1.0),
            cell(cb, 2.0),
            cell((pfb - pf).max(1e-9), 2.0)
        );
    }
    let x = rand_tensor(&[1, 8, 64, 64, 64], 40);
    let xv = Var::from_tensor(&x).expect("var");
    let g = rand_tensor(&[1, 8, 32, 32, 32], 41);
    let fwd_bwd = |f: fn(&Tensor) -> candle_core::Result<Tensor>| {
        time(3, || {
            let y = f(xv.as_tensor()).expect("pool");
            drop((y * &g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward"));
        })
    };
    // What the loss Σ y·g and its backward cost on their own (elementwise candle ops):
    // part of every "fwd+bwd" figure below.
    let loss_only = |dims: &[usize], g: &Tensor| {
        let v = Var::from_tensor(&rand_tensor(dims, 45)).expect("var");
        time(3, || drop((v.as_tensor() * g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward")))
    };
    println!(
        "max_pool3d_2 1x8x64^3: custom fwd {:.1} ms, fwd+bwd {:.1} ms; composed fwd {:.1} ms, fwd+bwd {:.1} ms \
         (of which loss alone {:.1} ms)",
        time(3, || drop(max_pool3d_2(&x).expect("pool"))) * 1e3,
        fwd_bwd(max_pool3d_2) * 1e3,
        time(3, || drop(max_pool3d_2_composed(&x).expect("pool"))) * 1e3,
        fwd_bwd(max_pool3d_2_composed) * 1e3,
        loss_only(&[1, 8, 32, 32, 32], &g) * 1e3,
    );
    let x = rand_tensor(&[1, 16, 32, 32, 32], 42);
    let w = rand_tensor(&[16, 8, 2, 2, 2], 43);
    let g = rand_tensor(&[1, 8, 64, 64, 64], 44);
    let (xv, wv) = (Var::from_tensor(&x).expect("var"), Var::from_tensor(&w).expect("var"));
    println!(
        "conv_transpose3d_2 1x16x32^3 -> 1x8x64^3: fwd {:.1} ms, fwd+bwd {:.1} ms (of which loss alone {:.1} ms)",
        time(3, || drop(conv_transpose3d_2(&x, &w).expect("upsample"))) * 1e3,
        time(3, || {
            let y = conv_transpose3d_2(xv.as_tensor(), wv.as_tensor()).expect("upsample");
            drop((y * &g).and_then(|l| l.sum_all()).and_then(|l| l.backward()).expect("backward"));
        }) * 1e3,
        loss_only(&[1, 8, 64, 64, 64], &g) * 1e3,
    );
}

/// Prints medians, GFLOP/s and the ratio to the matmul peer (median of both peer runs).
fn summary() {
    let mut peer: Vec<f64> = ["matmul_peer", "matmul_peer_again"].iter().filter_map(|n| median(n)).collect();
    peer.sort_by(f64::total_cmp);
    let Some(&peer_s) = peer.get(peer.len() / 2) else { return };
    let peer_gf = FLOP / peer_s / 1e9;
    println!("\nconv3d 1x32x64^3, 32->32, 3x3x3 ({:.2} GFLOP per pass; medians)", FLOP / 1e9);
    println!("{:<32} {:>10} {:>10} {:>8}", "", "seconds", "GFLOP/s", "ratio");
    println!("{:<32} {:>10.3} {:>10.1} {:>8.2}", "matmul peer (same FLOP)", peer_s, peer_gf, 1.0);
    let row = |label: &str, secs: Option<f64>, passes: f64| {
        if let Some(s) = secs {
            let gf = passes * FLOP / s / 1e9;
            println!("{:<32} {:>10.3} {:>10.1} {:>8.2}", label, s, gf, gf / peer_gf);
        }
    };
    row("custom forward", median("custom_fwd"), 1.0);
    row("custom backward (dx + dw)", median("custom_bwd"), 2.0);
    row("custom fwd+bwd via autograd", median("custom_fwd_bwd_autograd"), 3.0);
    let cf = median("composed_fwd");
    row("composed forward", cf, 1.0);
    row("composed fwd+bwd via autograd", median("composed_fwd_bwd_autograd"), 3.0);
    if let (Some(f), Some(fb)) = (cf, median("composed_fwd_bwd_autograd")) {
        row("composed backward (difference)", Some(fb - f), 2.0);
    }
}
