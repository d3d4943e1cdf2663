//! Writes a 512×512×400 plain-phase chest phantom (0.68 × 0.68 × 0.8 mm) as
//! `DIR/ct.nii.gz` and `DIR/labels.nii.gz`: the full-size scan the speed and
//! memory figures are measured on. Optional: the slice count and spacing
//! (e.g. `300 1.0` for the 512×512×300 figure of the README).
//! `cargo run --release -p vasa-inference --example big_phantom -- DIR [SLICES [SLICE_MM]]`.

use glam::DVec3;
use vasa_inference::phantom::{self, PhantomOptions, Phase};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: big_phantom DIR");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let slices: usize = std::env::args().nth(2).map_or(Ok(400), |s| s.parse())?;
    let slice_mm: f64 = std::env::args().nth(3).map_or(Ok(0.8), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    let options = PhantomOptions::grid(5, Phase::Plain, [512, 512, slices], DVec3::new(0.68, 0.68, slice_mm));
    let ph = phantom::generate(&options)?;
    vasa_scan::nifti::write_nifti(&dir.join("ct.nii.gz"), &ph.ct)?;
    vasa_scan::nifti::write_nifti(&dir.join("labels.nii.gz"), &ph.labels)?;
    println!("wrote {}", dir.display());
    Ok(())
}
