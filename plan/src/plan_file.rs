//! A plan on disk (JSON): the lesion, the applicators with the device
//! setting each makes its zone with (the whole table entry, source
//! included, so the file alone says what was planned), the margin and path
//! safety distance asked for, and the ruler measurements. Saved beside the
//! labels, in the crash-safe session, and read by `vasa export`.
//!
//! Reading never trusts the file: size, format, version and every value are
//! checked, and errors name the file and what is wrong. Writes are atomic.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ZoneEntry;

/// The `format` field of a plan file.
pub const FORMAT: &str = "vasa-plan";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// Plan files larger than this are refused (a plan is a few kB).
pub const MAX_BYTES: u64 = 4 << 20;

/// The lesion: a sphere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LesionFile {
    /// Centre (patient LPS mm).
    pub centre_mm: [f64; 3],
    /// Diameter (mm).
    pub diameter_mm: f64,
}

/// One applicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicatorFile {
    /// Where it enters (patient LPS mm).
    pub entry_mm: [f64; 3],
    /// Its tip, the zone's centre (patient LPS mm).
    pub target_mm: [f64; 3],
    /// The device setting and the zone it makes.
    pub setting: ZoneEntry,
}

/// A ruler measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulerFile {
    /// One end (patient LPS mm).
    pub a_mm: [f64; 3],
    /// The other.
    pub b_mm: [f64; 3],
    /// Its length (mm), for readers of the file.
    pub length_mm: f64,
}

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The scan it was made on (its name), for the reader.
    #[serde(default)]
    pub scan: String,
    /// The lesion, once placed.
    pub lesion: Option<LesionFile>,
    /// The lesion is painted as the class "lesion" of the labels (then
    /// `lesion`, if any, is not used for the margin).
    #[serde(default)]
    pub lesion_painted: bool,
    /// The applicators.
    pub applicators: Vec<ApplicatorFile>,
    /// The margin to reach around the lesion (mm).
    pub margin_mm: f64,
    /// The path may not pass closer than this to a vessel (mm).
    pub path_safety_mm: f64,
    /// Ruler measurements.
    #[serde(default)]
    pub rulers: Vec<RulerFile>,
}

/// Why a plan file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Unreadable or unwritable.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a plan, or a bad value.
    #[error("{path}: {what}")]
    Bad {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
}

impl PlanFile {
    /// Reads and checks the plan at `path`.
    pub fn read(path: &Path) -> Result<PlanFile, PlanFileError> {
        let name = path.display().to_string();
        let io = |source| PlanFileError::Io { path: name.clone(), source };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_BYTES {
            return Err(PlanFileError::Bad {
                path: name,
                what: format!("{size} bytes: too big for a plan (at most {MAX_BYTES})"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        PlanFile::parse(&text, &name)
    }

    /// Parses and checks a plan (`name` for the errors).
    pub fn parse(text: &str, name: &str) -> Result<PlanFile, PlanFileError> {
        let bad = |what: String| PlanFileError::Bad { path: name.to_string(), what };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(bad(format!("not a plan file (no \"format\": \"{FORMAT}\")")));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == VERSION as u64 => {}
            Some(v) => return Err(bad(format!("plan version {v}; this build reads version {VERSION}"))),
            None => return Err(bad("no version".into())),
        }
        let plan: PlanFile = serde_json::from_value(value).map_err(|e| bad(format!("not a plan: {e}")))?;
        plan.check().map_err(bad)?;
        Ok(plan)
    }

    /// Every value finite and in range; the first that is not, in words.
    fn check(&self) -> Result<(), String> {
        let point = |p: &[f64; 3], what: &str| {
            if p.iter().all(|v| v.is_finite() && v.abs() < 1e5) {
                Ok(())
            } else {
                Err(format!("{what} {p:?} is not a point in mm"))
            }
        };
        let length = |v: f64, what: &str, max: f64| {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                Err(format!("{what} {v} mm must be above 0 and at most {max}"))
            }
        };
        if let Some(l) = &self.lesion {
            point(&l.centre_mm, "lesion centre")?;
            length(l.diameter_mm, "lesion diameter", 200.0)?;
        }
        for (i, a) in self.applicators.iter().enumerate() {
            let n = i + 1;
            point(&a.entry_mm, &format!("applicator {n} entry"))?;
            point(&a.target_mm, &format!("applicator {n} target"))?;
            if a.entry_mm == a.target_mm {
                return Err(format!("applicator {n}: entry and target are the same point"));
            }
            length(a.setting.length_mm, &format!("applicator {n} zone length"), 200.0)?;
            length(a.setting.width_mm, &format!("applicator {n} zone width"), 200.0)?;
        }
        for (i, r) in self.rulers.iter().enumerate() {
            point(&r.a_mm, &format!("ruler {} end", i + 1))?;
            point(&r.b_mm, &format!("ruler {} end", i + 1))?;
        }
        for (v, what) in [(self.margin_mm, "margin"), (self.path_safety_mm, "path safety distance")] {
            if !(v.is_finite() && (0.0..=50.0).contains(&v)) {
                return Err(format!("{what} {v} mm must be between 0 and 50"));
            }
        }
        Ok(())
    }

    /// Writes the plan to `path` atomically (pretty JSON).
    pub fn write(&self, path: &Path) -> Result<(), PlanFileError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| PlanFileError::Bad {
            path: path.display().to_string(),
            what: format!("cannot be written as JSON: {e}"),
        })?;
        vasa_scan::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes())).map_err(|e| {
            PlanFileError::Io { path: path.display().to_string(), source: std::io::Error::other(e.to_string()) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ZoneTable;

    fn plan() -> PlanFile {
        PlanFile {
            format: FORMAT.into(),
            version: VERSION,
            scan: "sample".into(),
            lesion: Some(LesionFile { centre_mm: [10.0, -20.0, 30.5], diameter_mm: 14.0 }),
            lesion_painted: false,
            applicators: vec![ApplicatorFile {
                entry_mm: [60.0, -90.0, 30.0],
                target_mm: [10.0, -20.0, 30.5],
                setting: ZoneTable::bundled().entries[1].clone(),
            }],
            margin_mm: 5.0,
            path_safety_mm: 3.0,
            rulers: vec![RulerFile { a_mm: [0.0; 3], b_mm: [3.0, 4.0, 0.0], length_mm: 5.0 }],
        }
    }

    #[test]
    fn a_plan_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("vasa-plan-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.plan.json");
        plan().write(&path).unwrap();
        assert_eq!(PlanFile::read(&path).unwrap(), plan());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"source\"") && text.contains("Acta Med Okayama"), "the setting's source travels");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_plan_files_are_refused_with_the_reason() {
        let good = serde_json::to_value(plan()).unwrap();
        let refuse = |v: serde_json::Value, says: &str| {
            let e = PlanFile::parse(&v.to_string(), "x.plan.json").unwrap_err().to_string();
            assert!(e.starts_with("x.plan.json: ") && e.contains(says), "{e}");
        };
        let mut v = good.clone();
        v["format"] = "something".into();
        refuse(v, "not a plan file");
        let mut v = good.clone();
        v["version"] = 7.into();
        refuse(v, "version 7");
        let mut v = good.clone();
        v["lesion"]["diameter_mm"] = (-3.0).into();
        refuse(v, "lesion diameter");
        let mut v = good.clone();
        v["applicators"][0]["entry_mm"] = v["applicators"][0]["target_mm"].clone();
        refuse(v, "same point");
        let mut v = good.clone();
        v["applicators"][0]["target_mm"][1] = 1e300.into();
        refuse(v, "not a point");
        let mut v = good.clone();
        v["margin_mm"] = 80.0.into();
        refuse(v, "margin");
        let mut v = good.clone();
        v["extra"] = 1.into();
        refuse(v, "unknown field");
        let e = PlanFile::parse("{\"format\":", "x.plan.json").unwrap_err().to_string();
        assert!(e.contains("not JSON"), "{e}");
        let text = good.to_string();
        for cut in [0, 10, text.len() / 2, text.len() - 1] {
            assert!(PlanFile::parse(&text[..cut], "x").is_err(), "truncated at {cut}");
        }
    }
}
