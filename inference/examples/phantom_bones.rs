//! PNGs for looking at the phantom's skeleton next to a real scan: axial
//! slices every 30 mm, a coronal slice through the front of the spine and a
//! sagittal midline slice, each in a bone window (W 1800, L 400) beside a
//! mediastinal window (W 400, L 40). Radiological orientation: axial with the
//! patient's right on the image left and anterior at the top; coronal and
//! sagittal with superior at the top (sagittal anterior on the left).
//!
//! `cargo run --release -p vasa-inference --example phantom_bones -- SEED OUT_DIR`
//! or, for a real scan, `... -- DICOM_FOLDER OUT_DIR [CORONAL_Y_MM SAGITTAL_X_MM]`.

use std::path::Path;

use glam::DVec3;
use vasa_inference::phantom::{PhantomOptions, Phase, Structure, generate};
use vasa_scan::Volume;

/// Sampling step of the pictures (mm per pixel).
const PIXEL_MM: f64 = 0.7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).cloned().unwrap_or_else(|| "1".into());
    let out = Path::new(args.get(2).map(String::as_str).unwrap_or("bones"));
    std::fs::create_dir_all(out)?;
    let (ct, spine) = if let Ok(seed) = what.parse::<u64>() {
        let ph = generate(&PhantomOptions::new(seed, Phase::Plain))?;
        // Spine: the vertebra voxels' mean x and their anterior edge.
        let (mut sx, mut n, mut ys) = (0.0f64, 0.0f64, Vec::new());
        let [nx, ny, nz] = ph.anatomy.dims();
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    if ph.anatomy.data()[ph.anatomy.index(i, j, k)] == Structure::Vertebra as u8 {
                        let p = ph.anatomy.voxel_to_world([i, j, k]);
                        sx += p.x;
                        n += 1.0;
                        ys.push(p.y);
                    }
                }
            }
        }
        ys.sort_by(f64::total_cmp);
        let front = ys.get(ys.len() / 20).copied().unwrap_or(0.0);
        (ph.ct, DVec3::new(sx / n.max(1.0), front + 8.0, 0.0))
    } else {
        let loaded = vasa_scan::dicom::load_dicom(Path::new(&what))?;
        let v = loaded.volume;
        let c = v.geometry.voxel_to_world(
            DVec3::new(v.dims()[0] as f64, v.dims()[1] as f64, v.dims()[2] as f64) * 0.5 - DVec3::splat(0.5),
        );
        let y = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(c.y + 40.0);
        let x = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(c.x);
        (v, DVec3::new(x, y, 0.0))
    };
    let (lo, hi) = world_box(&ct);
    println!("box {lo:.0} .. {hi:.0}, spine x {:.1}, coronal y {:.1}", spine.x, spine.y);
    let mut z = hi.z - 10.0;
    while z > lo.z + 5.0 {
        let img = panel(&ct, (lo.x, hi.x), (lo.y, hi.y), |u, v| DVec3::new(u, v, z));
        write_pair(&img, &out.join(format!("axial_{:+04}.png", z.round() as i64)))?;
        z -= 30.0;
    }
    // Close-ups of the spine every 60 mm.
    let mut z = hi.z - 40.0;
    while z > lo.z + 5.0 {
        let c = |u: f64, v: f64| DVec3::new(spine.x + (u - spine.x) * 0.3, spine.y + 15.0 + (v - spine.y) * 0.3, z);
        let img = panel(&ct, (spine.x - 200.0, spine.x + 200.0), (spine.y - 150.0, spine.y + 200.0), c);
        write_pair(&img, &out.join(format!("spine_{:+04}.png", z.round() as i64)))?;
        z -= 60.0;
    }
    let cor = panel(&ct, (lo.x, hi.x), (-hi.z, -lo.z), |u, v| DVec3::new(u, spine.y, -v));
    write_pair(&cor, &out.join("coronal_spine.png"))?;
    let cor2 = panel(&ct, (lo.x, hi.x), (-hi.z, -lo.z), |u, v| DVec3::new(u, spine.y - 60.0, -v));
    write_pair(&cor2, &out.join("coronal_mid.png"))?;
    let sag = panel(&ct, (lo.y, hi.y), (-hi.z, -lo.z), |u, v| DVec3::new(spine.x, u, -v));
    write_pair(&sag, &out.join("sagittal_mid.png"))?;
    let sag2 = panel(&ct, (lo.y, hi.y), (-hi.z, -lo.z), |u, v| DVec3::new(spine.x - 40.0, u, -v));
    write_pair(&sag2, &out.join("sagittal_right40.png"))?;
    let sag3 = panel(&ct, (lo.y, hi.y), (-hi.z, -lo.z), |u, v| DVec3::new(spine.x - 12.0, u, -v));
    write_pair(&sag3, &out.join("sagittal_right12.png"))?;
    println!("wrote {}", out.display());
    Ok(())
}

/// World-space bounds of the volume's voxel centres.
fn world_box(v: &Volume<i16>) -> (DVec3, DVec3) {
    let d = v.dims();
    let mut lo = DVec3::splat(f64::MAX);
    let mut hi = DVec3::splat(f64::MIN);
    for c in 0..8 {
        let ijk = DVec3::new(
            if c & 1 == 0 { 0.0 } else { d[0] as f64 - 1.0 },
            if c & 2 == 0 { 0.0 } else { d[1] as f64 - 1.0 },
            if c & 4 == 0 { 0.0 } else { d[2] as f64 - 1.0 },
        );
        let p = v.geometry.voxel_to_world(ijk);
        lo = lo.min(p);
        hi = hi.max(p);
    }
    (lo, hi)
}

/// HU on a plane: `at(u, v)` gives the world point of image coordinates (mm),
/// sampled trilinearly; returns (width, height, values).
fn panel(v: &Volume<i16>, us: (f64, f64), vs: (f64, f64), at: impl Fn(f64, f64) -> DVec3) -> (usize, usize, Vec<f32>) {
    let w = ((us.1 - us.0) / PIXEL_MM) as usize;
    let h = ((vs.1 - vs.0) / PIXEL_MM) as usize;
    let d = v.dims();
    let mut img = vec![-1000.0f32; w * h];
    for r in 0..h {
        for c in 0..w {
            let q = v.geometry.world_to_voxel(at(us.0 + c as f64 * PIXEL_MM, vs.0 + r as f64 * PIXEL_MM));
            let f = q.floor();
            if f.x < 0.0 || f.y < 0.0 || f.z < 0.0 {
                continue;
            }
            let (i, j, k) = (f.x as usize, f.y as usize, f.z as usize);
            if i + 1 >= d[0] || j + 1 >= d[1] || k + 1 >= d[2] {
                continue;
            }
            let t = q - f;
            let mut acc = 0.0;
            for n in 0..8 {
                let (a, b, e) = (n & 1, (n >> 1) & 1, (n >> 2) & 1);
                let wgt = (if a == 1 { t.x } else { 1.0 - t.x })
                    * (if b == 1 { t.y } else { 1.0 - t.y })
                    * (if e == 1 { t.z } else { 1.0 - t.z });
                acc += wgt * v.data()[v.index(i + a, j + b, k + e)] as f64;
            }
            img[r * w + c] = acc as f32;
        }
    }
    (w, h, img)
}

/// Writes the panel in the bone window beside the mediastinal window.
fn write_pair(img: &(usize, usize, Vec<f32>), path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h, ref px) = *img;
    let win = |hu: f32, width: f32, level: f32| {
        (((hu - (level - width / 2.0)) / width).clamp(0.0, 1.0) * 255.0).round() as u8
    };
    let ow = 2 * w + 4;
    let mut data = vec![255u8; ow * h];
    for r in 0..h {
        for c in 0..w {
            let hu = px[r * w + c];
            data[r * ow + c] = win(hu, 1800.0, 400.0);
            data[r * ow + w + 4 + c] = win(hu, 400.0, 40.0);
        }
    }
    vasa_scan::png::write_gray(path, ow, h, &data)?;
    Ok(())
}
