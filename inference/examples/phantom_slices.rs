//! Axial slices every 30 mm (top to bottom) plus a coronal and a sagittal
//! reformat through the centre, each in a mediastinal (W 400, L 40) and a lung
//! window (W 1500, L −600) side by side, as PNGs in radiological orientation
//! (patient right on the image left, anterior at the top): for looking at the
//! phantom's body wall next to a real scan.
//!
//! `cargo run --release -p vasa-inference --example phantom_slices -- SEED|DICOM_DIR OUT_DIR [512]`
//! (a number makes a plain phantom on the default 256² grid, or 512² with
//! 0.68 mm pixels and 1 mm slices when `512` is given; a folder loads its
//! default DICOM series).

use std::path::Path;

use glam::DVec3;
use vasa_inference::phantom::{PhantomOptions, Phase, generate};
use vasa_scan::Volume;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(src), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: phantom_slices SEED|DICOM_DIR OUT_DIR [512]");
        std::process::exit(2);
    };
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let ct = if let Ok(seed) = src.parse::<u64>() {
        let mut opts = PhantomOptions::new(seed, Phase::Plain);
        if args.get(3).map(String::as_str) == Some("512") {
            opts.dims = [512, 512, 320];
            opts.spacing = DVec3::new(0.68, 0.68, 1.0);
        }
        let t = std::time::Instant::now();
        let ph = generate(&opts)?;
        println!("generated {:?} in {:.2} s", ph.ct.dims(), t.elapsed().as_secs_f64());
        ph.ct
    } else {
        vasa_scan::dicom::load_dicom(Path::new(src))?.volume
    };
    write_slices(&ct, out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// World-space box of the voxel centres.
fn world_box(ct: &Volume<i16>) -> (DVec3, DVec3) {
    let [nx, ny, nz] = ct.dims();
    let g = ct.geometry;
    let mut lo = DVec3::splat(f64::MAX);
    let mut hi = DVec3::splat(f64::MIN);
    for c in 0..8 {
        let v = DVec3::new(
            if c & 1 == 0 { 0.0 } else { nx as f64 - 1.0 },
            if c & 2 == 0 { 0.0 } else { ny as f64 - 1.0 },
            if c & 4 == 0 { 0.0 } else { nz as f64 - 1.0 },
        );
        let w = g.voxel_to_world(v);
        lo = lo.min(w);
        hi = hi.max(w);
    }
    (lo, hi)
}

/// Nearest-voxel HU at a world point (air outside the grid).
fn sample(ct: &Volume<i16>, p: DVec3) -> i16 {
    let v = ct.geometry.world_to_voxel(p).round();
    let [nx, ny, nz] = ct.dims();
    if v.x < 0.0 || v.y < 0.0 || v.z < 0.0 || v.x >= nx as f64 || v.y >= ny as f64 || v.z >= nz as f64 {
        return -1000;
    }
    ct.data()[ct.index(v.x as usize, v.y as usize, v.z as usize)]
}

fn window(hu: i16, level: f32, width: f32) -> u8 {
    (((hu as f32 - (level - width / 2.0)) / width).clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Renders a plane: `w` × `h` pixels, pixel (c, r) at `origin + c·du + r·dv`;
/// mediastinal window on the left, lung window on the right.
fn panel(ct: &Volume<i16>, origin: DVec3, du: DVec3, dv: DVec3, w: usize, h: usize) -> (usize, usize, Vec<u8>) {
    let gap = 4;
    let width = 2 * w + gap;
    let mut img = vec![0u8; width * h];
    for r in 0..h {
        for c in 0..w {
            let hu = sample(ct, origin + du * c as f64 + dv * r as f64);
            img[r * width + c] = window(hu, 40.0, 400.0);
            img[r * width + w + gap + c] = window(hu, -600.0, 1500.0);
        }
    }
    (width, h, img)
}

fn write_png(path: &Path, (w, h, data): (usize, usize, Vec<u8>)) -> Result<(), Box<dyn std::error::Error>> {
    vasa_scan::png::write_gray(path, w, h, &data)?;
    Ok(())
}

fn write_slices(ct: &Volume<i16>, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (lo, hi) = world_box(ct);
    // 0.75 mm pixels over the in-plane extent.
    let px = 0.75;
    let (w, h) = (((hi.x - lo.x) / px) as usize + 1, ((hi.y - lo.y) / px) as usize + 1);
    let hz = ((hi.z - lo.z) / px) as usize + 1;
    let mut n = 0;
    let mut z = hi.z - 5.0;
    while z > lo.z {
        let p = panel(ct, DVec3::new(lo.x, lo.y, z), DVec3::X * px, DVec3::Y * px, w, h);
        write_png(&out.join(format!("axial_{n:02}_z{:+04}.png", z.round() as i64)), p)?;
        n += 1;
        z -= 30.0;
    }
    let c = 0.5 * (lo + hi);
    let top = DVec3::new(lo.x, c.y, hi.z);
    write_png(&out.join("coronal.png"), panel(ct, top, DVec3::X * px, -DVec3::Z * px, w, hz))?;
    let top = DVec3::new(c.x - 60.0, lo.y, hi.z);
    write_png(&out.join("sagittal_r60.png"), panel(ct, top, DVec3::Y * px, -DVec3::Z * px, h, hz))?;
    let top = DVec3::new(c.x, lo.y, hi.z);
    write_png(&out.join("sagittal_mid.png"), panel(ct, top, DVec3::Y * px, -DVec3::Z * px, h, hz))?;
    Ok(())
}
