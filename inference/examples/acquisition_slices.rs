//! Writes full-resolution axial slices of a phantom as a PNG, to look at the
//! acquisition (noise grain, kernel, thick slices, contrast effects): the
//! slice through the pulmonary bifurcation and the one 60 mm above it, each
//! in a mediastinal (40/400) and a lung (−600/1500) window.
//! `cargo run --release -p vasa-inference --example acquisition_slices -- OUT.png SEED PHASE KERNEL THICKNESS [NOISE]`

use glam::DVec3;
use vasa_inference::phantom::{Kernel, PhantomOptions, Phase, bifurcation_z, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: acquisition_slices OUT.png SEED PHASE KERNEL THICKNESS [NOISE]");
        std::process::exit(2);
    }
    let seed: u64 = args[2].parse()?;
    let phase: Phase = args[3].parse()?;
    let kernel: Kernel = args[4].parse()?;
    let thickness: f64 = args[5].parse()?;
    let nz = (320.0 / thickness).round() as usize;
    let mut o = PhantomOptions::grid(seed, phase, [512, 512, nz], DVec3::new(0.7, 0.7, thickness));
    o.kernel = kernel;
    o.thickness = Some(thickness);
    o.noise_sigma = args.get(6).map(|s| s.parse()).transpose()?;
    let t = std::time::Instant::now();
    let ph = generate(&o)?;
    eprintln!("generated in {:.2} s; σ {} HU", t.elapsed().as_secs_f64(), ph.intensities.noise_sigma);
    let g = ph.ct.geometry;
    let bif = bifurcation_z(&ph.trees);
    // The bifurcation, and the slice with the most dense contrast (else 60 mm higher).
    let plane = 512 * 512;
    let bcv = vasa_inference::phantom::Structure::BrachiocephalicVein as u8;
    let dense = |k: usize| {
        (k * plane..(k + 1) * plane).filter(|&i| ph.anatomy.data()[i] == bcv && ph.ct.data()[i] > 900).count()
    };
    let kd = (0..nz).max_by_key(|&k| dense(k)).filter(|&k| dense(k) > 0);
    let upper = kd.map_or(bif + 60.0, |k| g.origin.z + k as f64 * g.spacing.z);
    let ks: Vec<usize> =
        [bif, upper].iter().map(|z| (((z - g.origin.z) / g.spacing.z).round().max(0.0) as usize).min(nz - 1)).collect();
    let n = 512usize;
    let (w, h) = (2 * n, 2 * n);
    let mut grey = vec![0u8; w * h];
    // With ZOOM set: the central quarter of each slice, magnified twice.
    let zoom = std::env::var_os("ZOOM").is_some();
    for (row, &k) in ks.iter().enumerate() {
        for (col, (lo, hi)) in [(-160.0f32, 240.0f32), (-1350.0, 150.0)].into_iter().enumerate() {
            for j in 0..n {
                for i in 0..n {
                    // Radiological orientation: patient right on the image left.
                    let (si, sj) = if zoom { (n / 4 + i / 2, n / 4 + j / 2) } else { (i, j) };
                    let v = ph.ct.data()[k * plane + sj * n + si] as f32;
                    let x = col * n + i;
                    grey[(row * n + j) * w + x] = (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0) as u8;
                }
            }
        }
    }
    vasa_scan::png::write_gray(std::path::Path::new(&args[1]), w, h, &grey)?;
    Ok(())
}
