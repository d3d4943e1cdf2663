//! Where Vasa finds and keeps things: the config folder
//! (`$VASA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/vasa`, else `~/.config/vasa`),
//! the model the extraction uses by default (shared by the viewer and
//! `vasa segment`), the autosave folder, and the recent-files list
//! (File ▸ Open recent) kept there as `recent.json`, written atomically. A
//! missing or damaged file just means an empty list.

use std::path::{Path, PathBuf};

use crate::error::AppError;

/// How many entries are kept.
pub const MAX_RECENT: usize = 10;

/// Recently opened scans, newest first.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recent {
    /// The paths, newest first, without duplicates.
    pub paths: Vec<PathBuf>,
    /// Where the list is stored (`None`: not stored, e.g. no home folder).
    pub file: Option<PathBuf>,
}

/// The folder Vasa keeps its settings in (`None`: no home folder).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VASA_CONFIG_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("vasa"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/vasa"))
}

/// Where unsaved labels go when another scan replaces theirs: `autosave/`
/// in the config folder (`None`: nowhere to keep them).
pub fn autosave_dir() -> Option<PathBuf> {
    config_dir().map(|d| d.join("autosave"))
}

/// The model used when none is named: `$VASA_MODEL` when set, else
/// `model/` beside the executable (the portable archive), else
/// `../share/vasa/model` from it (the .deb's `/usr/bin` → `/usr/share`),
/// else the shipped `assets/model/` of the source tree the binary was
/// built from.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VASA_MODEL") {
        return PathBuf::from(dir);
    }
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf));
    let installed = exe_dir.iter().flat_map(|d| [d.join("model"), d.join("../share/vasa/model")]);
    if let Some(dir) = installed.into_iter().find(|d| d.join("config.json").is_file()) {
        return dir;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/model")
}

impl Recent {
    /// Reads the list from the default place.
    pub fn load_default() -> Self {
        match config_dir() {
            Some(d) => Recent::load(&d.join("recent.json")),
            None => Recent::default(),
        }
    }

    /// Reads the list from `file` (empty when absent or unreadable).
    pub fn load(file: &Path) -> Self {
        let paths = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<PathBuf>>(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .take(MAX_RECENT)
            .collect();
        Recent { paths, file: Some(file.to_path_buf()) }
    }

    /// Puts `path` first and saves the list. Returns the save error, if any
    /// (the list in memory is updated regardless).
    pub fn add(&mut self, path: &Path) -> Result<(), AppError> {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.paths.retain(|p| *p != path);
        self.paths.insert(0, path);
        self.paths.truncate(MAX_RECENT);
        self.save()
    }

    /// Forgets `path` (e.g. it no longer exists) and saves.
    pub fn remove(&mut self, path: &Path) -> Result<(), AppError> {
        self.paths.retain(|p| p != path);
        self.save()
    }

    fn save(&self) -> Result<(), AppError> {
        let Some(file) = &self.file else { return Ok(()) };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|source| AppError::Io { path: dir.to_path_buf(), source })?;
        }
        use std::io::Write;
        let json = serde_json::to_vec_pretty(&self.paths)?;
        Ok(vasa_scan::atomic_file::write_atomically(file, |out| out.write_all(&json))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_without_duplicates_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg/recent.json");
        let mut r = Recent::load(&file);
        assert!(r.paths.is_empty());
        let a = dir.path().join("a.nii.gz");
        let b = dir.path().join("b");
        for p in [&a, &b, &a] {
            r.add(p).unwrap();
        }
        assert_eq!(r.paths, vec![a.clone(), b.clone()]);
        assert_eq!(Recent::load(&file).paths, r.paths);
        for i in 0..20 {
            r.add(&dir.path().join(format!("{i}"))).unwrap();
        }
        assert_eq!(Recent::load(&file).paths.len(), MAX_RECENT);
        // A damaged file is an empty list, not a crash.
        std::fs::write(&file, b"{ not json").unwrap();
        assert!(Recent::load(&file).paths.is_empty());
    }
}
