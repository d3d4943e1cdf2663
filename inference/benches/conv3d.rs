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
//! skip the slow composed version).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, SamplingMode};
use vasa_inference::ops::{conv3d, conv3d_backward, conv3d_composed};

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
