//! Prints the report of several seeds: `cargo run --release -p vasa-inference --example phantom_seeds -- FIRST COUNT`.

use vasa_inference::phantom::{PhantomOptions, Phase, generate, metrics::Report};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let first: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let count: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(5);
    for seed in first..first + count {
        let ph = generate(&PhantomOptions::new(seed, Phase::Plain))?;
        println!("seed {seed}:\n{}", Report::of(&ph));
    }
    Ok(())
}
