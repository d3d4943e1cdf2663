//! Generates one phantom, prints what it measured and writes its preview PNG:
//! `cargo run --release -p vasa-inference --example phantom_preview -- SEED PHASE OUT.png [SLICE_MM]`.

use std::time::Instant;

use vasa_inference::phantom::{PhantomOptions, Phase, generate, metrics::Report, write_preview};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let phase: Phase = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(Phase::Plain);
    let out = args.get(3).cloned().unwrap_or_else(|| "phantom.png".into());
    let slice: f64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1.5);
    let opts = PhantomOptions::with_slice_spacing(seed, phase, slice)?;
    let t = Instant::now();
    let ph = generate(&opts)?;
    println!("generated {:?} in {:.2} s", ph.ct.dims(), t.elapsed().as_secs_f64());
    println!(
        "trees: {} airway, {} artery, {} vein branches; {} bronchi without artery",
        ph.trees.airway.branches.len(),
        ph.trees.artery.branches.len(),
        ph.trees.vein.branches.len(),
        ph.arteries_dropped
    );
    println!("{}", Report::of(&ph));
    write_preview(&ph, std::path::Path::new(&out))?;
    println!("wrote {out}");
    Ok(())
}
