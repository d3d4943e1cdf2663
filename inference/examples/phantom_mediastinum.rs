//! Mediastinal views of a phantom (or a real DICOM series) for comparing the
//! two: axial slices every 10 mm from the thyroid to the diaphragm cropped to
//! the central 200 × 160 mm, plus a coronal and a sagittal reformat through
//! the heart, in a mediastinal window (W 400, L 40), each plain on the left
//! and with the label overlay on the right (phantoms only). Radiological
//! orientation: patient right on the image left, anterior at the top.
//!
//! `cargo run --release -p vasa-inference --example phantom_mediastinum -- SEED|DICOM_DIR plain|ctpa|arterial|venous OUT_DIR`

use std::path::Path;

use glam::DVec3;
use vasa_inference::phantom::{PhantomOptions, Phase, generate};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};
use vasa_scan::{LabelMap, Volume};

/// Pixel size of the PNGs (mm).
const PX: f64 = 0.5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(src), Some(phase), Some(out)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: phantom_mediastinum SEED|DICOM_DIR plain|ctpa|arterial|venous OUT_DIR");
        std::process::exit(2);
    };
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let (ct, labels, centre) = if let Ok(seed) = src.parse::<u64>() {
        let phase: Phase = phase.parse()?;
        let t = std::time::Instant::now();
        let ph = generate(&PhantomOptions::new(seed, phase))?;
        println!("generated {:?} in {:.2} s", ph.ct.dims(), t.elapsed().as_secs_f64());
        println!("tissue HU {:?}", ph.intensities.tissue);
        let carina = ph.trees.airway.branches[1].end;
        (ph.ct, Some(ph.labels), carina)
    } else {
        let ct = vasa_scan::dicom::load_dicom(Path::new(src))?.volume;
        let (lo, hi) = world_box(&ct);
        // Guess: the carina near the middle in x, a little posterior of the
        // middle in y, and 40 mm above the middle of the stack.
        let c = 0.5 * (lo + hi);
        (ct, None, DVec3::new(c.x, c.y + 25.0, (c.z + 40.0).min(hi.z)))
    };
    write_views(&ct, labels.as_ref(), centre, out)?;
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

/// Nearest voxel index of a world point, if inside the grid.
fn voxel(ct: &Volume<i16>, p: DVec3) -> Option<usize> {
    let v = ct.geometry.world_to_voxel(p).round();
    let [nx, ny, nz] = ct.dims();
    if v.x < 0.0 || v.y < 0.0 || v.z < 0.0 || v.x >= nx as f64 || v.y >= ny as f64 || v.z >= nz as f64 {
        return None;
    }
    Some(ct.index(v.x as usize, v.y as usize, v.z as usize))
}

fn colour(l: u8) -> Option<[f32; 3]> {
    match l {
        ARTERY => Some([230.0, 40.0, 40.0]),
        VEIN => Some([40.0, 110.0, 255.0]),
        AORTA => Some([255.0, 170.0, 0.0]),
        4 => Some([40.0, 220.0, 200.0]),
        5 => Some([190.0, 80.0, 200.0]),
        _ => None,
    }
}

/// Renders a plane: pixel (c, r) at `origin + c·du + r·dv`, `w` × `h`; plain
/// on the left, label overlay on the right when there are labels.
fn panel(
    ct: &Volume<i16>,
    labels: Option<&LabelMap>,
    origin: DVec3,
    du: DVec3,
    dv: DVec3,
    w: usize,
    h: usize,
) -> (usize, usize, Vec<u8>) {
    let gap = 4;
    let width = if labels.is_some() { 2 * w + gap } else { w };
    let mut img = vec![0u8; width * h * 3];
    for r in 0..h {
        for c in 0..w {
            let idx = voxel(ct, origin + du * c as f64 + dv * r as f64);
            let hu = idx.map_or(-1000, |i| ct.data()[i]);
            let g = (((hu as f32 + 160.0) / 400.0).clamp(0.0, 1.0) * 255.0).round();
            img[(r * width + c) * 3..][..3].copy_from_slice(&[g as u8; 3]);
            if let Some(lab) = labels {
                let l = idx.map_or(0, |i| lab.data()[i]);
                let px = match colour(l) {
                    Some(col) => col.map(|k| (0.55 * g + 0.45 * k).round() as u8),
                    None => [g as u8; 3],
                };
                img[(r * width + w + gap + c) * 3..][..3].copy_from_slice(&px);
            }
        }
    }
    (width, h, img)
}

fn write_png(path: &Path, (w, h, data): (usize, usize, Vec<u8>)) -> Result<(), Box<dyn std::error::Error>> {
    vasa_scan::png::write_rgb(path, w, h, &data)?;
    Ok(())
}

fn write_views(
    ct: &Volume<i16>,
    labels: Option<&LabelMap>,
    carina: DVec3,
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let (lo, hi) = world_box(ct);
    // Central 200 × 160 mm: the mediastinum sits a little anterior of the carina.
    let (w, h) = ((200.0 / PX) as usize, (160.0 / PX) as usize);
    let x0 = carina.x - 100.0;
    let y0 = carina.y - 100.0;
    let mut z = (carina.z + 90.0).min(hi.z);
    let mut n = 0;
    while z >= (carina.z - 170.0).max(lo.z) {
        let p = panel(ct, labels, DVec3::new(x0, y0, z), DVec3::X * PX, DVec3::Y * PX, w, h);
        let dz = (z - carina.z).round() as i64;
        write_png(&out.join(format!("axial_{n:02}_c{dz:+04}.png")), p)?;
        n += 1;
        z -= 10.0;
    }
    // Reformats through the heart (about 60 mm below the carina, 10 mm left).
    let heart = carina + DVec3::new(10.0, -20.0, -60.0);
    let hz = (260.0 / PX) as usize;
    let top = carina.z + 110.0;
    let cor = DVec3::new(x0, heart.y, top);
    write_png(&out.join("coronal.png"), panel(ct, labels, cor, DVec3::X * PX, -DVec3::Z * PX, w, hz))?;
    let sag = DVec3::new(heart.x, y0, top);
    write_png(&out.join("sagittal.png"), panel(ct, labels, sag, DVec3::Y * PX, -DVec3::Z * PX, h, hz))?;
    Ok(())
}
