//! Writes axial, coronal and sagittal slices through the centre of a scan as
//! one PNG, in radiological orientation, to check loading by eye:
//! `cargo run --release -p vasa-scan --example slices_png -- <scan> <out.png> [center width]`.

use std::path::PathBuf;

use vasa_scan::reslice::{Plane, reslice, volume_center, window_to_u8};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: slices_png <scan> <out.png> [window-center window-width]");
        std::process::exit(2);
    }
    let scan = vasa_scan::open_scan(&PathBuf::from(&args[1]))?;
    let (wc, ww) = match (args.get(3), args.get(4)) {
        (Some(c), Some(w)) => (c.parse()?, w.parse()?),
        _ => (40.0, 400.0),
    };
    let v = &scan.volume;
    let c = volume_center(v);
    let ext = v.extent_mm();
    let fov = ext.max_element();
    let size = 256;
    let px = fov / size as f64;
    let tiles: Vec<Vec<i16>> = [Plane::Axial, Plane::Coronal, Plane::Sagittal]
        .iter()
        .map(|&p| reslice(v, p, c, px, [size, size], -1024))
        .collect();
    let width = size * 3;
    let mut img = vec![0u8; width * size];
    for (t, tile) in tiles.iter().enumerate() {
        for y in 0..size {
            for x in 0..size {
                img[y * width + t * size + x] = window_to_u8(tile[y * size + x], wc, ww);
            }
        }
    }
    vasa_scan::png::write_gray(std::path::Path::new(&args[2]), width, size, &img)?;
    println!("{}: {:?} voxels, orientation {}, wrote {}", args[1], v.dims(), v.geometry.orientation_code(), args[2]);
    Ok(())
}
