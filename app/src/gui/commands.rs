//! What the app's file and extraction commands do: each starts a task
//! ([`super::tasks`]) and returns at once. Actions call these after the
//! kiosk policy allowed them; the tests call them directly.

use std::path::{Path, PathBuf};

use super::VasaApp;
use super::chrome::notices::Level;
use super::chrome::series_picker::Choice;
use super::extraction;
use super::loading::{self, Opened, Source};
use super::screenshot;
use super::tasks::{Outcome, TaskKind};
use crate::error::AppError;

impl VasaApp {
    /// Starts opening `source` on a worker thread (the current scan stays
    /// on screen until the new one is ready; an opening under way is cancelled).
    pub fn open(&mut self, ctx: &egui::Context, source: Source) {
        self.picker = None;
        let gpu = self.gpu.clone();
        let s = source.clone();
        let what = format!("Opening {}", source.describe());
        self.tasks.spawn(ctx, TaskKind::Open(source), self.generation, what, move |r| {
            loading::open(&s, gpu.as_ref(), r).map(Outcome::from)
        });
    }

    /// Acts on the series picker's answer: loads the chosen series, or
    /// closes the picker.
    pub fn choose_series(&mut self, ctx: &egui::Context, choice: Choice) {
        let Some((picker, _)) = self.picker.take() else { return };
        let Choice::Open(i) = choice else { return };
        let gpu = self.gpu.clone();
        let index = picker.index;
        let root = index.root.clone();
        let what = format!("Opening {}", root.display());
        self.tasks.spawn(ctx, TaskKind::Open(Source::Path(root)), self.generation, what, move |r| {
            let series = index.series.get(i).ok_or(AppError::NoSuchSeries)?;
            let loaded = loading::open_series(&index, series, gpu.as_ref(), r)?;
            Ok(Outcome::from(Opened::Scan(Box::new(loaded))))
        });
    }

    /// Starts opening labels from `path` onto the current scan.
    pub fn open_labels(&mut self, ctx: &egui::Context, path: PathBuf) {
        let Some(doc) = &self.doc else {
            self.notices.push(Level::Error, format!("{}: open a scan first, then its labels", path.display()));
            return;
        };
        let (ct, generation) = (doc.scan.ct.clone(), doc.generation);
        let what = format!("Opening labels {}", path.display());
        self.tasks.spawn(ctx, TaskKind::Background, generation, what, move |r| {
            loading::open_labels(&path, &ct, r).map(Outcome::Labels)
        });
    }

    /// Starts saving the shown label layer to `path` (NIfTI, the scan's
    /// geometry, written atomically).
    pub fn save_labels(&mut self, ctx: &egui::Context, path: PathBuf) {
        match self.doc.as_ref().and_then(|d| d.layers.shown_layer()) {
            Some(layer) => {
                let (id, generation) = (layer.id, self.generation);
                self.save_layer(ctx, id, generation, path);
            }
            None => self.notices.push(Level::Error, "no label layer is shown: nothing to save"),
        }
    }

    /// Starts saving layer `id` of scan `generation` to `path`; refuses when
    /// that scan or layer is gone (e.g. another scan opened meanwhile).
    pub fn save_layer(&mut self, ctx: &egui::Context, id: u64, generation: u64, path: PathBuf) {
        let layer = self.doc.as_ref().filter(|d| d.generation == generation).and_then(|d| d.layers.get(id));
        let Some(layer) = layer else {
            self.notices.push(
                Level::Error,
                format!("{}: not saved: the labels it was meant for are no longer open", path.display()),
            );
            return;
        };
        let labels = layer.labels.clone();
        // Edited labels carry their provenance: the labels before the edits
        // and the edit log, which `vasa edit` replays to these bytes.
        let provenance = layer.base.clone().filter(|_| !layer.log.is_empty()).map(|b| (b, layer.log.clone()));
        self.tasks.spawn(ctx, TaskKind::Background, generation, format!("Saving {}", path.display()), move |r| {
            r.set("writing", None);
            if !vasa_scan::nifti::is_nifti_path(&path) {
                return Err(AppError::NotNiftiName(path));
            }
            vasa_scan::nifti::write_nifti(&path, &labels)?;
            if let Some((base, log)) = provenance {
                let (base_path, log_path) = provenance_paths(&path);
                vasa_scan::nifti::write_nifti(&base_path, &base)?;
                let text: String = log.iter().map(|op| vasa_edit::log::line(op) + "\n").collect();
                vasa_scan::atomic_file::write_atomically(&log_path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
            }
            Ok(Outcome::Saved { layer: id, path })
        });
    }

    /// Saves the plan to `path` (JSON) on a worker.
    pub fn save_plan(&mut self, ctx: &egui::Context, path: PathBuf) {
        let Some(doc) = &self.doc else { return };
        let (file, revision) = (doc.plan.to_file(&doc.scan.name), doc.plan.revision);
        self.tasks.spawn(ctx, TaskKind::Background, doc.generation, format!("Saving {}", path.display()), move |_| {
            file.write(&path)?;
            Ok(Outcome::PlanSaved { revision, path })
        });
    }

    /// Reads the plan at `path` on a worker; it replaces the open scan's plan.
    pub fn open_plan(&mut self, ctx: &egui::Context, path: PathBuf) {
        let Some(doc) = &self.doc else {
            self.notices.push(Level::Error, format!("{}: open a scan before its plan", path.display()));
            return;
        };
        self.tasks.spawn(ctx, TaskKind::Background, doc.generation, format!("Reading {}", path.display()), move |_| {
            let file = vasa_plan::PlanFile::read(&path)?;
            Ok(Outcome::PlanRead { file: Box::new(file), path, restored: false })
        });
    }

    /// Starts extracting vessels from the open scan with the current options.
    pub fn start_extraction(&mut self, ctx: &egui::Context) {
        let Some(doc) = &self.doc else { return };
        let (ct, options) = (doc.scan.ct.clone(), self.extract_options.clone());
        self.frame_stats.clear();
        self.tasks.spawn(ctx, TaskKind::Extraction, doc.generation, "Extracting vessels", move |r| {
            extraction::run(ct, &options, r).map(|x| Outcome::Extracted(Box::new(x)))
        });
    }

    /// Cancels the running extraction, if any.
    pub fn cancel_extraction(&self) {
        if let Some(t) = self.tasks.extraction() {
            t.job.cancel();
        }
    }

    /// Captures viewport `slot` (0–3, 4: the whole window) to `path` as PNG.
    pub fn save_screenshot(&mut self, ctx: &egui::Context, slot: usize, path: PathBuf) {
        let rect = match (slot, &self.views) {
            (4, _) => None,
            (s, Some(v)) if s < 4 && v.mpr.rects[s].is_positive() => Some(v.mpr.rects[s]),
            _ => {
                self.notices.push(Level::Error, format!("{}: that viewport is not on screen", path.display()));
                return;
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let ppp = ctx.pixels_per_point();
        ctx.request_screenshot(move |image| {
            let image = match rect {
                Some(r) => image.region(&r, Some(ppp)),
                None => (*image).clone(),
            };
            let _ = tx.send(image);
        });
        let what = format!("Screenshot {}", path.display());
        self.tasks.spawn(ctx, TaskKind::Background, self.generation, what, move |r| {
            r.set("waiting for the frame", None);
            let image = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .map_err(|_| AppError::NoScreenshot(path.clone()))?;
            screenshot::save_png(&path, &image)?;
            Ok(Outcome::Screenshot(path))
        });
        ctx.request_repaint();
    }

    /// Writes the unsaved layers of the open scan to the autosave folder
    /// before another scan replaces it, so opening a scan never throws away
    /// an extraction.
    pub(super) fn autosave_unsaved(&mut self, ctx: &egui::Context) {
        let Some(doc) = &self.doc else { return };
        let Some(dir) = self.autosave_dir.clone() else { return };
        let stem = autosave_stem(&doc.scan.name);
        for layer in doc.layers.unsaved() {
            let tag = if layer.name == extraction::RAW_LAYER { "network" } else { "vessels" };
            let path = dir.join(format!("{stem}-{tag}-{}.nii.gz", layer.id));
            let labels = layer.labels.clone();
            let dir = dir.clone();
            let what = format!("Keeping unsaved labels in {}", path.display());
            self.tasks.spawn(ctx, TaskKind::Background, doc.generation, what, move |_| {
                std::fs::create_dir_all(&dir).map_err(|source| AppError::Io { path: dir.clone(), source })?;
                vasa_scan::nifti::write_nifti(&path, &labels)?;
                Ok(Outcome::Autosaved(path))
            });
        }
    }

    /// True when `path` is a label map for the open scan (a dropped file is
    /// opened as labels then, as a scan otherwise).
    pub fn takes_as_labels(&self, path: &Path) -> bool {
        self.doc.as_ref().is_some_and(|d| loading::looks_like_labels_for(path, &d.scan.ct))
    }
}

/// Where the provenance of labels saved at `path` goes: the labels before
/// the edits (`NAME.base.nii.gz`) and the edit log (`NAME.edits.jsonl`).
pub fn provenance_paths(path: &Path) -> (PathBuf, PathBuf) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let stem = if lower.ends_with(".nii.gz") {
        &name[..name.len() - 7]
    } else if lower.ends_with(".nii") {
        &name[..name.len() - 4]
    } else {
        &name[..]
    };
    (path.with_file_name(format!("{stem}.base.nii.gz")), path.with_file_name(format!("{stem}.edits.jsonl")))
}

/// A file-name part from a scan's name: ASCII letters, digits, `-` and `.`,
/// the rest `_`, at most the last 60 characters (the file name of a long path).
fn autosave_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    // ASCII only after the mapping above: byte slicing is safe.
    let stem = stem.trim_matches('_');
    stem[stem.len().saturating_sub(60)..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_sits_beside_the_labels() {
        let (b, l) = provenance_paths(Path::new("/out/case 7.NII.GZ"));
        assert_eq!((b.to_str().unwrap(), l.to_str().unwrap()), ("/out/case 7.base.nii.gz", "/out/case 7.edits.jsonl"));
        let (b, _) = provenance_paths(Path::new("v.nii"));
        assert_eq!(b, Path::new("v.base.nii.gz"));
    }

    #[test]
    fn autosave_names_keep_the_end_of_the_scans_name_in_ascii() {
        assert_eq!(autosave_stem("/data/ct scan/é.nii.gz"), "data_ct_scan__.nii.gz");
        let long = format!("/{}/last-part", "x".repeat(100));
        let stem = autosave_stem(&long);
        assert_eq!(stem.len(), 60);
        assert!(stem.ends_with("x_last-part"));
    }
}
