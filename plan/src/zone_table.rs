//! The device table: ablation zone sizes per device setting (power × time →
//! length × width), read from an editable JSON file (`assets/ablation-zones.json`
//! ships with lung figures). Each entry names its tissue and its source: the
//! sizes are priors with uncertainty, not predictions.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Modality;

/// The shipped table (in-vivo swine-lung microwave figures).
pub const BUNDLED: &str = include_str!("../../assets/ablation-zones.json");

/// One device setting and the zone it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneEntry {
    /// The device, in words.
    pub device: String,
    /// How it ablates.
    pub modality: Modality,
    /// Power (W).
    pub power_w: f64,
    /// Time (min).
    pub time_min: f64,
    /// Zone length along the applicator (mm).
    pub length_mm: f64,
    /// Zone width across it (mm).
    pub width_mm: f64,
    /// Where the figures were measured (e.g. in-vivo swine lung).
    pub tissue: String,
    /// The publication or chart they come from.
    pub source: String,
}

impl ZoneEntry {
    /// "microwave, 100 W, 2 min: 28 × 20 mm".
    pub fn describe(&self) -> String {
        format!("{}, {} min: {:.0} × {:.0} mm", self.device, self.time_min, self.length_mm, self.width_mm)
    }
}

/// The table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneTable {
    /// What the figures are (a prior with uncertainty) and where to add more.
    pub note: String,
    /// The settings.
    pub entries: Vec<ZoneEntry>,
}

/// Why a table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ZoneTableError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a table, or a bad entry.
    #[error("{path}: {what}")]
    Bad {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
}

impl ZoneTable {
    /// The shipped table.
    pub fn bundled() -> ZoneTable {
        ZoneTable::parse(BUNDLED, "assets/ablation-zones.json").expect("the shipped table is valid")
    }

    /// Reads a table from `path`.
    pub fn load(path: &Path) -> Result<ZoneTable, ZoneTableError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ZoneTableError::Io { path: path.display().to_string(), source })?;
        ZoneTable::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a table (`name` for the errors).
    pub fn parse(text: &str, name: &str) -> Result<ZoneTable, ZoneTableError> {
        let bad = |what: String| ZoneTableError::Bad { path: name.to_string(), what };
        let table: ZoneTable = serde_json::from_str(text).map_err(|e| bad(format!("not a zone table: {e}")))?;
        if table.entries.is_empty() {
            return Err(bad("no entries".into()));
        }
        for (i, e) in table.entries.iter().enumerate() {
            let ok = |v: f64, max: f64| v.is_finite() && v > 0.0 && v <= max;
            if !(ok(e.power_w, 1000.0) && ok(e.time_min, 120.0) && ok(e.length_mm, 200.0) && ok(e.width_mm, 200.0)) {
                return Err(bad(format!(
                    "entry {}: power, time, length and width must be positive and plausible",
                    i + 1
                )));
            }
            if e.source.trim().is_empty() {
                return Err(bad(format!("entry {}: every entry must cite its source", i + 1)));
            }
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_holds_the_lung_figures_and_bad_tables_are_refused() {
        let t = ZoneTable::bundled();
        let sizes: Vec<(f64, f64, f64)> = t.entries.iter().map(|e| (e.time_min, e.length_mm, e.width_mm)).collect();
        assert_eq!(sizes, vec![(1.0, 22.0, 14.0), (2.0, 28.0, 20.0), (3.0, 29.0, 21.0)]);
        assert!(t.entries.iter().all(|e| e.power_w == 100.0 && e.modality == Modality::Microwave));
        assert!(t.note.contains("Ruiter"));
        let mut j: serde_json::Value = serde_json::from_str(BUNDLED).unwrap();
        j["entries"][0]["source"] = "".into();
        let e = ZoneTable::parse(&j.to_string(), "t.json").unwrap_err().to_string();
        assert!(e.contains("t.json") && e.contains("source"), "{e}");
        assert!(ZoneTable::parse("{}", "t.json").is_err());
    }
}
