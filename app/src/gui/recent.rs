//! The recent-files list (File ▸ Open recent), kept in
//! `$VASA_CONFIG_DIR` or `$XDG_CONFIG_HOME/vasa` (else `~/.config/vasa`) as
//! `recent.json`, written atomically. A missing or damaged file just means
//! an empty list.

use std::path::{Path, PathBuf};

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

/// The folder Vasa keeps its settings in.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VASA_CONFIG_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("vasa"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/vasa"))
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
    pub fn add(&mut self, path: &Path) -> Result<(), String> {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.paths.retain(|p| *p != path);
        self.paths.insert(0, path);
        self.paths.truncate(MAX_RECENT);
        self.save()
    }

    /// Forgets `path` (e.g. it no longer exists) and saves.
    pub fn remove(&mut self, path: &Path) -> Result<(), String> {
        self.paths.retain(|p| p != path);
        self.save()
    }

    fn save(&self) -> Result<(), String> {
        let Some(file) = &self.file else { return Ok(()) };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        use std::io::Write;
        let json = serde_json::to_vec_pretty(&self.paths).map_err(|e| e.to_string())?;
        vasa_scan::atomic_file::write_atomically(file, |out| out.write_all(&json))
            .map_err(|e| format!("{}: {e}", file.display()))
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
