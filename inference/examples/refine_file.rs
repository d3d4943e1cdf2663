//! Runs only the refinement (S204–S208) on a scan and a first segmentation
//! saved by `vasa segment --raw`, to study the refinement without rerunning
//! the network: `refine_file CT RAW OUT [max-growth-mm]`.

use std::path::PathBuf;

use vasa_inference::refine::{self, RefineOptions};
use vasa_scan::nifti;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: refine_file CT RAW OUT [max-growth-mm]");
        std::process::exit(2);
    }
    let ct = nifti::read_ct(&PathBuf::from(&args[1]))?;
    let raw = nifti::read_labels(&PathBuf::from(&args[2]))?;
    let mut options = RefineOptions::default();
    if let Some(mm) = args.get(4) {
        options.max_growth = Some(refine::GrowthReach::uniform(mm.parse()?));
    }
    let (mut roi, _) = vasa_inference::segment::network_region(&ct);
    roi.data_mut().iter_mut().zip(raw.data()).for_each(|(r, &l)| *r = *r || l != 0);
    let r = refine::refine(&ct, &raw, &roi, &options);
    println!("phase: {}", r.phase.name());
    for (class, range) in &r.ranges {
        println!("class {class}: HU {} … {}", range.lo, range.hi);
    }
    nifti::write_nifti(&PathBuf::from(&args[3]), &r.labels)?;
    Ok(())
}
