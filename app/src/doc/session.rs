//! Crash-safe autosave of a document's unsaved label layers: every minute
//! and before the app goes, the labels (NIfTI) and each layer's edit log
//! (JSON lines) are written to a session folder; after a crash the next
//! start finds the folder and offers to restore.
//!
//! A save never damages the one before it: its files carry a new
//! generation number, the manifest naming them is replaced atomically last,
//! and only then are the older generation's files removed. A kill at any
//! moment leaves either the old manifest with its files or the new one
//! with its files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vasa_edit::EditOp;
use vasa_scan::LabelMap;

use crate::error::AppError;

/// The manifest's file name in the session folder.
pub const MANIFEST: &str = "session.json";

/// One layer of a saved session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionLayer {
    /// The layer's name in the legend.
    pub name: String,
    /// Its labels (file name in the session folder).
    pub labels: String,
    /// Its edit log (file name in the session folder).
    pub log: String,
}

/// What a session folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Format version.
    pub version: u32,
    /// The scan's file or folder (to open it again), when it came from one.
    pub scan_path: Option<PathBuf>,
    /// The scan's name, for the question.
    pub scan_name: String,
    /// When it was written (seconds since 1970).
    pub saved_unix_s: u64,
    /// Generation of the files it names.
    pub generation: u64,
    /// The layers.
    pub layers: Vec<SessionLayer>,
    /// The plan (file name in the session folder), when there is one.
    #[serde(default)]
    pub plan: Option<String>,
}

/// A layer to save: its name, labels and log.
pub struct LayerToSave {
    /// Name in the legend.
    pub name: String,
    /// The labels (shared with the document: no copy).
    pub labels: Arc<LabelMap>,
    /// The edit log.
    pub log: Vec<EditOp>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Io { path: path.to_path_buf(), source }
}

/// Writes `layers` of the scan (`scan_path`, `scan_name`) to the session
/// folder `dir` as generation `generation` (higher than the last one).
pub fn write(
    dir: &Path,
    scan_path: Option<&Path>,
    scan_name: &str,
    layers: &[LayerToSave],
    plan: Option<&vasa_plan::PlanFile>,
    generation: u64,
) -> Result<Session, AppError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut entries = Vec::new();
    for (n, layer) in layers.iter().enumerate() {
        let labels = format!("layer{n}-g{generation}.nii.gz");
        let log = format!("layer{n}-g{generation}.jsonl");
        vasa_scan::nifti::write_nifti(&dir.join(&labels), &layer.labels)?;
        let text: String = layer.log.iter().map(|op| vasa_edit::log::line(op) + "\n").collect();
        let log_path = dir.join(&log);
        vasa_scan::atomic_file::write_atomically(&log_path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
        entries.push(SessionLayer { name: layer.name.clone(), labels, log });
    }
    let plan_name = match plan {
        Some(plan) => {
            let name = format!("plan-g{generation}.json");
            plan.write(&dir.join(&name))?;
            Some(name)
        }
        None => None,
    };
    let saved_unix_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let session = Session {
        version: 1,
        scan_path: scan_path.map(Path::to_path_buf),
        scan_name: scan_name.to_string(),
        saved_unix_s,
        generation,
        layers: entries,
        plan: plan_name,
    };
    let text = serde_json::to_string_pretty(&session).expect("a session always serialises");
    let manifest = dir.join(MANIFEST);
    vasa_scan::atomic_file::write_atomically(&manifest, |w| std::io::Write::write_all(w, text.as_bytes()))?;
    // The new generation is in force: the files of older ones can go.
    let mut keep: Vec<&str> = session.layers.iter().flat_map(|l| [l.labels.as_str(), l.log.as_str()]).collect();
    keep.extend(session.plan.as_deref());
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if (name.starts_with("layer") || name.starts_with("plan-")) && !keep.contains(&name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(session)
}

/// The session saved in `dir`, when there is one whose files are all there.
pub fn read(dir: &Path) -> Option<Session> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    let session: Session = serde_json::from_str(&text).ok()?;
    let complete = session.layers.iter().all(|l| dir.join(&l.labels).is_file() && dir.join(&l.log).is_file())
        && session.plan.as_ref().is_none_or(|p| dir.join(p).is_file());
    (complete && (!session.layers.is_empty() || session.plan.is_some())).then_some(session)
}

/// Reads one saved layer: its labels and its log.
pub fn load_layer(dir: &Path, layer: &SessionLayer) -> Result<(LabelMap, Vec<EditOp>), AppError> {
    let labels = vasa_scan::nifti::read_labels(&dir.join(&layer.labels))?;
    let log = vasa_edit::log::read(&dir.join(&layer.log))?;
    Ok((labels, log))
}

/// Removes the session (a clean exit, or the user declined to restore).
pub fn clear(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use vasa_scan::{Geometry, Volume};

    use super::*;

    fn layer(value: u8, ops: usize) -> LayerToSave {
        let op = EditOp::Erase { center_mm: [1.0, 1.0, 1.0], radius_mm: 1.0 };
        LayerToSave {
            name: format!("layer {value}"),
            labels: Arc::new(Volume::filled([8, 8, 8], value, Geometry::default())),
            log: vec![op; ops],
        }
    }

    #[test]
    fn a_session_round_trips_and_a_kill_during_a_save_leaves_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("session");
        assert!(read(&d).is_none());
        write(&d, Some(Path::new("/scans/ct.nii.gz")), "ct", &[layer(1, 2), layer(2, 0)], None, 1).unwrap();
        let s = read(&d).unwrap();
        assert_eq!((s.generation, s.layers.len()), (1, 2));
        assert_eq!(s.scan_path.as_deref(), Some(Path::new("/scans/ct.nii.gz")));
        let (labels, log) = load_layer(&d, &s.layers[0]).unwrap();
        assert_eq!((labels.data()[0], log.len()), (1, 2));

        // A save killed after writing generation 2's labels, before its
        // manifest: generation 1 is still whole.
        vasa_scan::nifti::write_nifti(&d.join("layer0-g2.nii.gz"), &layer(7, 0).labels).unwrap();
        std::fs::write(d.join(".session.json.tmp"), "{ half a manif").unwrap();
        let s = read(&d).unwrap();
        assert_eq!(s.generation, 1);
        assert_eq!(load_layer(&d, &s.layers[0]).unwrap().0.data()[0], 1);

        // The next complete save takes over and sweeps the old files.
        write(&d, None, "ct", &[layer(3, 1)], None, 3).unwrap();
        let s = read(&d).unwrap();
        assert_eq!((s.generation, s.layers.len()), (3, 1));
        assert_eq!(load_layer(&d, &s.layers[0]).unwrap().0.data()[0], 3);
        assert!(!d.join("layer0-g1.nii.gz").exists() && !d.join("layer1-g1.jsonl").exists());

        // A manifest naming a missing file is no session; clear removes all.
        std::fs::remove_file(d.join("layer0-g3.jsonl")).unwrap();
        assert!(read(&d).is_none());
        clear(&d);
        assert!(!d.exists());
    }

    #[test]
    fn a_plan_alone_makes_a_session_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("session");
        let mut plan = crate::doc::Plan::default();
        plan.apply(crate::doc::plan::PlanOp::PlaceLesion(glam::DVec3::new(1.0, 2.0, 3.0)));
        let file = plan.to_file("ct");
        write(&d, None, "ct", &[], Some(&file), 1).unwrap();
        let s = read(&d).expect("a plan is worth restoring");
        assert_eq!(vasa_plan::PlanFile::read(&d.join(s.plan.as_deref().unwrap())).unwrap(), file);
        // The next generation sweeps the old plan file; without a plan, none.
        write(&d, None, "ct", &[layer(1, 0)], None, 2).unwrap();
        let s = read(&d).unwrap();
        assert!(s.plan.is_none());
        assert!(!d.join("plan-g1.json").exists());
        // A manifest naming a missing plan is no session.
        write(&d, None, "ct", &[], Some(&file), 3).unwrap();
        std::fs::remove_file(d.join("plan-g3.json")).unwrap();
        assert!(read(&d).is_none());
    }
}
