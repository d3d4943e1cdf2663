//! Ablation planning geometry, with no GUI (the app and `vasa plan` share
//! it): a lesion (a sphere), an applicator from an entry point on the skin
//! to a target, the ablation zone (a spheroid along the applicator, from a
//! device table), and the checks a surgeon makes before a lung ablation —
//! the margin around the lesion, the vessels near the zone (heat sinks),
//! and how close the path passes each vessel class. Points are patient LPS mm.

pub mod lesion;
pub mod plan_file;
pub mod trajectory;
pub mod union;
pub mod vessels;
pub mod zone;
pub mod zone_table;

use glam::DVec3;
use serde::Serialize;
use vasa_scan::LabelMap;

pub use plan_file::{PlanFile, PlanFileError};
pub use trajectory::{Approach, closest_approach};
pub use union::union_margin;
pub use vessels::{HEAT_SINK_MM, VesselNear, vessels_near};
pub use zone::Zone;
pub use zone_table::{ZoneEntry, ZoneTable};

/// The margin a lung ablation should reach around the lesion (mm): a
/// margin ≥ 5 mm gave 88.9 % one-year local control against 35.7 % below.
pub const DEFAULT_MARGIN_MM: f64 = 5.0;

/// Vessels this near the zone (mm) are reported.
pub const REPORT_WITHIN_MM: f64 = 20.0;

/// Heat sinks this near the zone (mm) are warned about.
pub const HEAT_SINK_WARN_MM: f64 = 10.0;

/// Vessels this wide (mm) or wider must not be crossed by the path.
pub const CROSSING_MM: f64 = 2.0;

/// How the zone is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Microwave (the least affected by heat sinks).
    #[default]
    Microwave,
    /// Radiofrequency (heat sinks matter most).
    Radiofrequency,
    /// Cryoablation.
    Cryo,
}

/// A plan to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Where the applicator enters (on the skin).
    pub entry: DVec3,
    /// Its tip: the zone's centre.
    pub target: DVec3,
    /// The lesion's centre (usually the target).
    pub lesion_centre: DVec3,
    /// The lesion's diameter (mm), a sphere around its centre.
    pub lesion_diameter_mm: f64,
    /// The lesion painted as this class of the labels instead (its margin
    /// then comes from its voxels; the sphere is not used).
    pub painted_lesion: Option<u8>,
    /// The zone's length along the applicator and width across it (mm).
    pub zone_mm: (f64, f64),
    /// The margin to reach around the lesion (mm).
    pub margin_mm: f64,
    /// The path may not pass closer than this to a vessel (mm).
    pub path_safety_mm: f64,
    /// The device.
    pub modality: Modality,
}

/// The path's closest approach to each class (mm; `None`: class absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trajectory {
    /// Pulmonary arteries.
    pub artery: Option<f64>,
    /// Pulmonary veins.
    pub vein: Option<f64>,
    /// The aorta.
    pub aorta: Option<f64>,
}

/// One vessel in the report (`vasa plan --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedVessel {
    /// "artery", "vein" or "aorta".
    pub class: String,
    /// From the zone's surface (mm; negative inside).
    pub distance_mm: f64,
    /// Local diameter (mm).
    pub diameter_mm: f64,
    /// Wide enough to carry heat away (≥ 3 mm).
    pub heat_sink: bool,
    /// Its voxel nearest the zone (patient mm).
    pub at_mm: [f64; 3],
}

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Smallest distance from the lesion's surface to the zone's (mm;
    /// negative: the lesion reaches out of the zone).
    pub margin_mm: f64,
    /// The zone covers the lesion with the margin asked for.
    pub covered: bool,
    /// Where the margin is smallest: the zone's surface point (patient mm).
    pub margin_at_mm: [f64; 3],
    /// The vessel pieces within 20 mm of the zone, nearest first.
    pub vessels: Vec<ReportedVessel>,
    /// The path's closest approach to each class.
    pub trajectory: Trajectory,
    /// What needs the surgeon's attention, one sentence each.
    pub warnings: Vec<String>,
}

/// Why a plan cannot be checked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// A length out of range or not a number.
    #[error("{0}")]
    BadValue(String),
}

fn class_name(c: u8) -> &'static str {
    match c {
        1 => "artery",
        2 => "vein",
        3 => "aorta",
        _ => "vessel",
    }
}

impl Plan {
    /// The zone of this plan.
    pub fn zone(&self) -> Zone {
        Zone::along(self.entry, self.target, self.zone_mm.0, self.zone_mm.1)
    }

    fn validate(&self) -> Result<(), PlanError> {
        let finite = |v: DVec3| v.is_finite();
        if !finite(self.entry) || !finite(self.target) || !finite(self.lesion_centre) {
            return Err(PlanError::BadValue("entry and target must be finite points".into()));
        }
        if self.entry.distance(self.target) < 1e-6 {
            return Err(PlanError::BadValue("entry and target are the same point: no applicator direction".into()));
        }
        let positive = |v: f64, what: &str, max: f64| {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                Err(PlanError::BadValue(format!("{what} {v} mm must be above 0 and at most {max} mm")))
            }
        };
        positive(self.lesion_diameter_mm, "lesion diameter", 200.0)?;
        positive(self.zone_mm.0, "zone length", 300.0)?;
        positive(self.zone_mm.1, "zone width", 300.0)?;
        let non_negative = |v: f64| v.is_finite() && v >= 0.0;
        if !(non_negative(self.margin_mm) && non_negative(self.path_safety_mm)) {
            return Err(PlanError::BadValue("margin and path safety distance must be ≥ 0 mm".into()));
        }
        Ok(())
    }

    /// Runs the checks on `labels` (1 artery, 2 vein, 3 aorta).
    pub fn check(&self, labels: &LabelMap) -> Result<Report, PlanError> {
        self.validate()?;
        let zone = self.zone();
        // Margin: from the lesion's surface to the zone's, smallest where
        // the lesion's centre is nearest the zone's surface.
        let (margin, foot) = match self.painted_lesion {
            Some(class) => lesion::painted_margin(labels, class, &[zone])
                .ok_or_else(|| PlanError::BadValue("the painted lesion has no voxels in these labels".into()))?,
            None => {
                let (d, foot) = zone.signed_distance(self.lesion_centre);
                (-d - self.lesion_diameter_mm / 2.0, foot)
            }
        };
        let covered = margin >= self.margin_mm;
        let mut warnings = Vec::new();
        if margin < 0.0 {
            warnings.push(format!("the zone does not cover the lesion: it reaches {:.1} mm beyond it", -margin));
        } else if !covered {
            warnings.push(format!("margin {margin:.1} mm is below the {:.1} mm asked for", self.margin_mm));
        }
        // Vessels near the zone.
        let near = vessels_near(labels, &zone, REPORT_WITHIN_MM, &[1, 2, 3]);
        for v in near.iter().filter(|v| v.heat_sink && v.distance_mm <= HEAT_SINK_WARN_MM) {
            let place = if v.distance_mm < 0.0 {
                "inside the zone".to_string()
            } else {
                format!("{:.1} mm from the zone", v.distance_mm)
            };
            let effect = match self.modality {
                Modality::Radiofrequency => "radiofrequency ablation next to it is likely incomplete",
                Modality::Microwave => "expect a smaller zone on its side",
                Modality::Cryo => "it warms the ice ball on its side",
            };
            warnings.push(format!("heat sink: {} {:.1} mm wide {place}; {effect}", class_name(v.class), v.diameter_mm));
        }
        // The path.
        let approach = |c: u8| closest_approach(labels, c, self.entry, self.target);
        let (artery, vein, aorta) = (approach(1), approach(2), approach(3));
        for (c, a) in [(1u8, &artery), (2, &vein), (3, &aorta)] {
            let Some(a) = a else { continue };
            if a.distance_mm < 0.0 && (a.diameter_mm >= CROSSING_MM || c == 3) {
                warnings.push(format!("the path crosses the {} ({:.1} mm wide)", class_name(c), a.diameter_mm));
            } else if a.distance_mm < self.path_safety_mm {
                warnings.push(format!(
                    "the path passes {:.1} mm from the {} (safety distance {:.1} mm)",
                    a.distance_mm,
                    class_name(c),
                    self.path_safety_mm
                ));
            }
        }
        Ok(Report {
            margin_mm: margin,
            covered,
            margin_at_mm: foot.to_array(),
            vessels: near
                .into_iter()
                .map(|v| ReportedVessel {
                    class: class_name(v.class).into(),
                    distance_mm: v.distance_mm,
                    diameter_mm: v.diameter_mm,
                    heat_sink: v.heat_sink,
                    at_mm: v.at_mm,
                })
                .collect(),
            trajectory: Trajectory {
                artery: artery.map(|a| a.distance_mm),
                vein: vein.map(|a| a.distance_mm),
                aorta: aorta.map(|a| a.distance_mm),
            },
            warnings,
        })
    }
}
