//! `vasa plan`: checks an ablation plan on a scan's vessel labels, headless
//! — the margin around the lesion, the vessels near the zone (heat sinks),
//! the path's closest approach to each vessel class — printed as a table
//! and, with `--json`, written for other tools. Points are patient LPS mm.

use std::path::PathBuf;

use anyhow::{Context, bail};
use glam::DVec3;
use vasa_plan::{DEFAULT_MARGIN_MM, Modality, Plan};
use vasa_scan::nifti;

/// Arguments of `vasa plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The scan (NIfTI file, DICOM file or folder): the labels' grid.
    #[arg(long)]
    pub scan: PathBuf,
    /// The vessel labels on the scan's grid (1 artery, 2 vein, 3 aorta).
    #[arg(long)]
    pub labels: PathBuf,
    /// The applicator's tip and the lesion's centre, X,Y,Z in patient LPS mm.
    #[arg(long, value_parser = parse_point, allow_hyphen_values = true)]
    pub target: DVec3,
    /// Where the applicator enters (on the skin), X,Y,Z in patient LPS mm.
    #[arg(long, value_parser = parse_point, allow_hyphen_values = true)]
    pub entry: DVec3,
    /// The lesion's diameter (mm).
    #[arg(long)]
    pub lesion_diameter: f64,
    /// The ablation zone, LENGTHxWIDTH mm (length along the applicator).
    #[arg(long, value_parser = parse_zone)]
    pub zone: (f64, f64),
    /// The margin to reach around the lesion (mm).
    #[arg(long, default_value_t = DEFAULT_MARGIN_MM)]
    pub margin: f64,
    /// The path may not pass closer than this to a vessel (mm).
    #[arg(long, default_value_t = 3.0)]
    pub path_safety: f64,
    /// The device: microwave, radiofrequency or cryo.
    #[arg(long, value_parser = parse_modality, default_value = "microwave")]
    pub modality: Modality,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Parses `X,Y,Z` (mm).
pub fn parse_point(s: &str) -> Result<DVec3, String> {
    let v: Vec<f64> =
        s.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad_point(s))?;
    match v[..] {
        [x, y, z] if v.iter().all(|c| c.is_finite()) => Ok(DVec3::new(x, y, z)),
        _ => Err(bad_point(s)),
    }
}

fn bad_point(s: &str) -> String {
    format!("'{s}' is not a point: X,Y,Z in patient LPS mm, e.g. -42.5,10,-120")
}

/// Parses `LENGTHxWIDTH` (mm).
pub fn parse_zone(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("'{s}' is not a zone: LENGTHxWIDTH in mm, e.g. 28x20");
    let (l, w) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (l, w): (f64, f64) = (l.trim().parse().map_err(|_| bad())?, w.trim().parse().map_err(|_| bad())?);
    if !(l.is_finite() && w.is_finite() && l > 0.0 && w > 0.0) {
        return Err(bad());
    }
    Ok((l, w))
}

fn parse_modality(s: &str) -> Result<Modality, String> {
    match s.to_lowercase().as_str() {
        "microwave" | "mwa" => Ok(Modality::Microwave),
        "radiofrequency" | "rf" | "rfa" => Ok(Modality::Radiofrequency),
        "cryo" | "cryoablation" => Ok(Modality::Cryo),
        _ => Err(format!("'{s}' is not a modality: microwave, radiofrequency or cryo")),
    }
}

/// Runs `vasa plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    if let Some(dir) = args.json.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("folder {} does not exist", dir.display());
    }
    let scan = vasa_scan::open_scan(&args.scan)?;
    let mut labels = nifti::read_labels(&args.labels)?;
    if !scan.volume.same_grid(&labels) {
        bail!(
            "{}: not on the grid of {} ({:?} vs {:?} voxels, or spacing, origin or direction differ)",
            args.labels.display(),
            args.scan.display(),
            labels.dims(),
            scan.volume.dims()
        );
    }
    labels.geometry = scan.volume.geometry;
    let plan = Plan {
        entry: args.entry,
        target: args.target,
        lesion_centre: args.target,
        lesion_diameter_mm: args.lesion_diameter,
        painted_lesion: None,
        zone_mm: args.zone,
        margin_mm: args.margin,
        path_safety_mm: args.path_safety,
        modality: args.modality,
    };
    let report = plan.check(&labels).map_err(|e| anyhow::anyhow!("bad plan: {e}"))?;
    println!(
        "zone {:.0} × {:.0} mm, lesion {:.1} mm, margin asked {:.1} mm",
        args.zone.0, args.zone.1, args.lesion_diameter, args.margin
    );
    let m = report.margin_at_mm;
    println!(
        "margin      {:>7.1} mm  {} (smallest at {:.1}, {:.1}, {:.1})",
        report.margin_mm,
        if report.covered { "covered" } else { "NOT covered" },
        m[0],
        m[1],
        m[2]
    );
    let fmt = |d: Option<f64>| d.map_or("      —".to_string(), |d| format!("{d:>7.1} mm"));
    println!(
        "path to     artery {}  vein {}  aorta {}",
        fmt(report.trajectory.artery),
        fmt(report.trajectory.vein),
        fmt(report.trajectory.aorta)
    );
    println!("vessels within 20 mm of the zone: {}", report.vessels.len());
    if !report.vessels.is_empty() {
        println!("  class   distance  diameter  heat sink  at (LPS mm)");
        for v in &report.vessels {
            println!(
                "  {:<6} {:>7.1} mm {:>6.1} mm  {:<9}  {:.1}, {:.1}, {:.1}",
                v.class,
                v.distance_mm,
                v.diameter_mm,
                if v.heat_sink { "yes" } else { "no" },
                v.at_mm[0],
                v.at_mm[1],
                v.at_mm[2]
            );
        }
    }
    for w in &report.warnings {
        println!("warning: {w}");
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        vasa_scan::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, json.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_zones_and_modalities_parse_or_say_why_not() {
        assert_eq!(parse_point("-42.5, 10,-120"), Ok(DVec3::new(-42.5, 10.0, -120.0)));
        assert!(parse_point("1,2").unwrap_err().contains("X,Y,Z"));
        assert!(parse_point("1,2,nan").is_err());
        assert_eq!(parse_zone("28x20"), Ok((28.0, 20.0)));
        assert!(parse_zone("28").is_err() && parse_zone("0x5").is_err());
        assert_eq!(parse_modality("RF"), Ok(Modality::Radiofrequency));
        assert!(parse_modality("laser").is_err());
    }
}
