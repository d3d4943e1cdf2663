//! File ▸ Export: the shown labels as a DICOM SEG, their surfaces as STL or
//! OBJ files (one per class, in a folder) or a glTF scene with the plan,
//! and the report (HTML with its JSON twin), written on a worker with the
//! same code as `vasa export`. A save dialog asks before replacing the file
//! chosen; for a folder's files, and a report's JSON twin, the app asks
//! itself, naming the files it would replace.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vasa_export::mesh_files::{self, MeshOptions};
use vasa_export::report::{self, ClassFigures, Picture, ReportData};
use vasa_export::seg::{self, SegOptions};
use vasa_scan::LabelMap;
use vasa_scan::dicom::StudyMetadata;

use super::VasaApp;
use super::chrome::notices::Level;
use super::tasks::{Outcome, TaskKind};
use crate::error::AppError;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The labels as a DICOM SEG (a file).
    Seg,
    /// One binary STL per class (a folder).
    Stl,
    /// One OBJ per class (a folder).
    Obj,
    /// The classes and the plan as one glTF binary (a file).
    Glb,
    /// The report, HTML and JSON (a file, its twin beside it).
    Report,
}

impl ExportKind {
    /// True when the export goes into a folder.
    pub fn is_folder(self) -> bool {
        matches!(self, ExportKind::Stl | ExportKind::Obj)
    }

    /// The file name a save dialog suggests.
    pub fn suggested(self) -> &'static str {
        match self {
            ExportKind::Seg => "vessels-seg.dcm",
            ExportKind::Glb => "vessels.glb",
            ExportKind::Report => "vasa-report.html",
            ExportKind::Stl | ExportKind::Obj => "",
        }
    }

    /// In words, for menus and notices.
    pub fn describe(self) -> &'static str {
        match self {
            ExportKind::Seg => "DICOM SEG",
            ExportKind::Stl => "STL surfaces",
            ExportKind::Obj => "OBJ surfaces",
            ExportKind::Glb => "glTF scene",
            ExportKind::Report => "report",
        }
    }
}

/// The files an export of `kind` into `path` writes, of the classes in `stats`.
pub fn files_written(kind: ExportKind, path: &Path, classes: &[String]) -> Vec<PathBuf> {
    match kind {
        ExportKind::Stl | ExportKind::Obj => {
            let ext = if kind == ExportKind::Stl { "stl" } else { "obj" };
            classes.iter().map(|c| path.join(format!("{}.{ext}", c.replace(' ', "-")))).collect()
        }
        ExportKind::Report => vec![path.to_path_buf(), path.with_extension("json")],
        ExportKind::Seg | ExportKind::Glb => vec![path.to_path_buf()],
    }
}

/// What an export works from (copied or shared off the document).
struct ExportInput {
    ct: Arc<vasa_scan::Volume<i16>>,
    labels: Arc<LabelMap>,
    metadata: StudyMetadata,
    scan_name: String,
    layer_name: String,
    edited: bool,
    plan: Option<vasa_plan::PlanFile>,
    deidentify: bool,
}

impl VasaApp {
    /// Files the export of `kind` into `path` would replace without the
    /// save dialog having asked (a folder's files; a report's JSON twin).
    pub fn export_would_replace(&self, kind: ExportKind, path: &Path) -> Vec<PathBuf> {
        let Some(layer) = self.doc.as_ref().and_then(|d| d.layers.shown_layer()) else { return Vec::new() };
        let classes: Vec<String> = layer.stats.iter().map(|s| s.name.clone()).collect();
        files_written(kind, path, &classes).into_iter().filter(|p| p.exists() && p != path).collect()
    }

    /// Exports the shown layer (and the plan) as `kind` to `path` on a worker.
    pub fn export(&mut self, ctx: &egui::Context, kind: ExportKind, path: PathBuf) {
        let Some(doc) = &self.doc else { return };
        let Some(layer) = doc.layers.shown_layer() else {
            self.notices.push(Level::Error, format!("{}: nothing to export: show a label layer first", path.display()));
            return;
        };
        let input = ExportInput {
            ct: doc.scan.ct.clone(),
            labels: layer.labels.clone(),
            metadata: doc.scan.metadata.clone(),
            scan_name: doc.scan.name.clone(),
            layer_name: layer.name.clone(),
            edited: !layer.log.is_empty(),
            plan: (!doc.plan.is_empty()).then(|| doc.plan.to_file(&doc.scan.name)),
            deidentify: self.export_deidentified,
        };
        let what = format!("Exporting the {} to {}", kind.describe(), path.display());
        self.tasks.spawn(ctx, TaskKind::Background, doc.generation, what, move |r| {
            r.set("writing", None);
            let summary = write(kind, &path, &input)?;
            Ok(Outcome::Exported(summary))
        });
    }
}

/// Writes the export; says what was written.
fn write(kind: ExportKind, path: &Path, input: &ExportInput) -> Result<String, AppError> {
    let bad = |e: vasa_export::ExportError| AppError::NothingShown(e.to_string());
    match kind {
        ExportKind::Seg => {
            let options =
                SegOptions { deidentify: input.deidentify, manual_edits: input.edited, ..SegOptions::default() };
            let s = seg::write_seg(path, &input.labels, &input.metadata, &options).map_err(bad)?;
            Ok(format!("exported {} segments ({} frames) to {}", s.segments.len(), s.frames, path.display()))
        }
        ExportKind::Stl | ExportKind::Obj | ExportKind::Glb => {
            let classes: Vec<u8> = ClassFigures::of(&input.labels).iter().map(|c| c.class).collect();
            let mut parts = mesh_files::class_parts(&input.labels, &classes, &MeshOptions::default());
            if kind == ExportKind::Glb {
                if let Some(plan) = &input.plan {
                    parts.extend(mesh_files::plan_parts(plan));
                }
                mesh_files::write_glb(path, &parts).map_err(bad)?;
                return Ok(format!("exported a glTF scene of {} parts to {}", parts.len(), path.display()));
            }
            let files = mesh_files::write_class_files(path, &parts, kind == ExportKind::Stl, kind == ExportKind::Obj)
                .map_err(bad)?;
            Ok(format!("exported {} surfaces to {}", files.len(), path.display()))
        }
        ExportKind::Report => {
            let (data, pictures) = report_content(input);
            report::write_html(path, &data, &pictures).map_err(bad)?;
            report::write_json(&path.with_extension("json"), &data).map_err(bad)?;
            Ok(format!("exported the report to {} (and its JSON beside it)", path.display()))
        }
    }
}

/// The report of the shown layer and the plan (as `vasa export` makes it).
fn report_content(input: &ExportInput) -> (ReportData, Vec<Picture>) {
    let metadata =
        if input.deidentify { vasa_export::deidentify::metadata(&input.metadata) } else { input.metadata.clone() };
    let labels_name = format!("{}{}", input.layer_name, if input.edited { " (edited)" } else { "" });
    crate::export_report::content(&crate::export_report::ReportInput {
        ct: &input.ct,
        labels: &input.labels,
        metadata: &metadata,
        deidentified: input.deidentify,
        scan_name: &input.scan_name,
        labels_name: &labels_name,
        plan: input.plan.as_ref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_export_names_one_file_per_class_and_a_report_its_twin() {
        let classes = vec!["artery".to_string(), "vein".to_string()];
        assert_eq!(
            files_written(ExportKind::Stl, Path::new("/x"), &classes),
            vec![PathBuf::from("/x/artery.stl"), PathBuf::from("/x/vein.stl")]
        );
        assert_eq!(
            files_written(ExportKind::Report, Path::new("/x/r.html"), &classes),
            vec![PathBuf::from("/x/r.html"), PathBuf::from("/x/r.json")]
        );
        assert!(ExportKind::Obj.is_folder() && !ExportKind::Glb.is_folder());
    }
}
