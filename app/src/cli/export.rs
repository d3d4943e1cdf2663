//! `vasa export`: what the surgeon takes away, headless — the labels as
//! NIfTI and DICOM SEG, the class surfaces as STL, OBJ and glTF (with the
//! plan in the scene), and the report (HTML, with its JSON twin). Every
//! file is written atomically; an existing file is kept unless `--force`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use vasa_export::mesh_files::{self, MeshOptions};
use vasa_export::report::{self, ClassFigures, Picture, ReportData};
use vasa_export::seg::{self, SegOptions};
use vasa_plan::PlanFile;
use vasa_scan::{LabelMap, nifti};

/// Arguments of `vasa export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The scan (NIfTI file, DICOM file or folder): the labels' grid, and
    /// the series a DICOM SEG refers to.
    #[arg(long)]
    pub scan: PathBuf,
    /// The labels on the scan's grid: NIfTI (uint8) or a DICOM SEG.
    #[arg(long)]
    pub labels: PathBuf,
    /// Write the labels as NIfTI here (.nii or .nii.gz).
    #[arg(long)]
    pub nifti: Option<PathBuf>,
    /// Write the labels as a DICOM SEG here (one segment per class).
    #[arg(long)]
    pub seg: Option<PathBuf>,
    /// Write one binary STL per class into this folder (artery.stl, …).
    #[arg(long)]
    pub stl: Option<PathBuf>,
    /// Write one OBJ per class into this folder (artery.obj, …).
    #[arg(long)]
    pub obj: Option<PathBuf>,
    /// Write the whole scene as glTF 2.0 binary here (.glb): the classes,
    /// and the plan when there is one.
    #[arg(long)]
    pub glb: Option<PathBuf>,
    /// Write the report here (.html), and its JSON twin beside it (.json).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The plan (saved from the viewer, JSON) for the report and the scene.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Remove or replace patient name, ID and dates (DICOM PS3.15 basic
    /// profile) in the SEG and the report.
    #[arg(long)]
    pub deidentify: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
    /// Smoothing iterations of the surfaces (Taubin; 0: the voxel surface).
    #[arg(long, default_value_t = 10)]
    pub smoothing: usize,
    /// Keep this fraction of the surfaces' triangles (e.g. 0.25).
    #[arg(long)]
    pub decimate: Option<f32>,
}

/// Refuses to replace `path` without `--force`.
fn check_new(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!("{}: exists; pass --force to overwrite it", path.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("{}: folder {} does not exist", path.display(), dir.display());
    }
    Ok(())
}

/// Where the report's JSON twin goes: `F.html` → `F.json`.
pub fn json_twin(report: &Path) -> PathBuf {
    report.with_extension("json")
}

/// Reads labels (NIfTI or DICOM SEG) onto the scan's grid.
fn read_labels(path: &Path, ct: &vasa_scan::Volume<i16>, scan: &Path) -> anyhow::Result<LabelMap> {
    if seg::is_seg(path) {
        return Ok(seg::read_seg(path, &ct.geometry, ct.dims())?);
    }
    let mut l = nifti::read_labels(path)?;
    if !ct.same_grid(&l) {
        bail!(
            "{}: not on the grid of {} ({:?} vs {:?} voxels, or spacing, origin or direction differ)",
            path.display(),
            scan.display(),
            l.dims(),
            ct.dims()
        );
    }
    l.geometry = ct.geometry;
    Ok(l)
}

/// Runs `vasa export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let asked = [&args.nifti, &args.seg, &args.stl, &args.obj, &args.glb, &args.report];
    if asked.iter().all(|a| a.is_none()) {
        bail!("nothing to export: name at least one of --nifti, --seg, --stl, --obj, --glb, --report");
    }
    // Names first: a wrong one stops the export before anything is written.
    if let Some(p) = &args.nifti
        && !nifti::is_nifti_path(p)
    {
        bail!("{}: --nifti must name a .nii or .nii.gz file", p.display());
    }
    if let Some(p) = &args.glb
        && p.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() != Some("glb")
    {
        bail!("{}: --glb must name a .glb file", p.display());
    }
    if let Some(p) = &args.report
        && !matches!(p.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref(), Some("html" | "htm"))
    {
        bail!("{}: --report must name an .html file", p.display());
    }
    for p in [&args.nifti, &args.seg, &args.glb, &args.report].into_iter().flatten() {
        check_new(p, args.force)?;
    }
    if let Some(r) = &args.report {
        check_new(&json_twin(r), args.force)?;
    }
    for dir in [&args.stl, &args.obj].into_iter().flatten() {
        if dir.exists() && !dir.is_dir() {
            bail!("{}: not a folder", dir.display());
        }
    }

    let scan = vasa_scan::open_scan(&args.scan)?;
    let ct = scan.volume;
    let labels = read_labels(&args.labels, &ct, &args.scan)?;
    let plan = match &args.plan {
        Some(p) => Some(PlanFile::read(p)?),
        None => None,
    };
    let metadata =
        if args.deidentify { vasa_export::deidentify::metadata(&scan.metadata) } else { scan.metadata.clone() };
    let mut written: Vec<String> = Vec::new();

    if let Some(p) = &args.nifti {
        nifti::write_nifti(p, &labels)?;
        written.push(format!("{} (NIfTI labels)", p.display()));
    }
    if let Some(p) = &args.seg {
        let options = SegOptions { deidentify: args.deidentify, ..SegOptions::default() };
        let s = seg::write_seg(p, &labels, &scan.metadata, &options)?;
        let names: Vec<&str> = s.segments.iter().map(|(_, n)| n.as_str()).collect();
        written.push(format!(
            "{} (DICOM SEG: {} segments [{}], {} frames{})",
            p.display(),
            s.segments.len(),
            names.join(", "),
            s.frames,
            if s.references_source { ", referencing the source slices" } else { ", fresh UIDs" }
        ));
    }
    let wants_meshes = args.stl.is_some() || args.obj.is_some() || args.glb.is_some();
    if wants_meshes {
        let options = MeshOptions { smoothing_iterations: args.smoothing, decimate: args.decimate, step: 1 };
        let classes: Vec<u8> = ClassFigures::of(&labels).iter().map(|c| c.class).collect();
        let parts = mesh_files::class_parts(&labels, &classes, &options);
        for (dir, stl) in [(&args.stl, true), (&args.obj, false)] {
            let Some(dir) = dir else { continue };
            for part in &parts {
                let name = part.name.replace(' ', "-");
                check_new(&dir.join(format!("{name}.{}", if stl { "stl" } else { "obj" })), args.force)
                    .or_else(|e| if dir.is_dir() { Err(e) } else { Ok(()) })?;
            }
            let files = mesh_files::write_class_files(dir, &parts, stl, !stl)?;
            written.extend(files.iter().map(|f| format!("{} ({})", f.display(), if stl { "STL" } else { "OBJ" })));
        }
        if let Some(p) = &args.glb {
            let mut scene = parts;
            if let Some(plan) = &plan {
                scene.extend(mesh_files::plan_parts(plan));
            }
            mesh_files::write_glb(p, &scene)?;
            written.push(format!("{} (glTF scene, {} parts)", p.display(), scene.len()));
        }
    }
    if let Some(p) = &args.report {
        let (data, pictures) = report_content(&args, &ct, &labels, &metadata, plan.as_ref());
        report::write_html(p, &data, &pictures)?;
        let twin = json_twin(p);
        report::write_json(&twin, &data)?;
        written.push(format!("{} (report, {} pictures)", p.display(), pictures.len()));
        written.push(format!("{} (report as JSON)", twin.display()));
        for w in data.warnings() {
            println!("warning: {w}");
        }
    }
    for w in &written {
        println!("wrote {w}");
    }
    println!("exported in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The report's figures and pictures.
fn report_content(
    args: &ExportArgs,
    ct: &vasa_scan::Volume<i16>,
    labels: &LabelMap,
    metadata: &vasa_scan::dicom::StudyMetadata,
    plan: Option<&PlanFile>,
) -> (ReportData, Vec<Picture>) {
    let file_name =
        |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    crate::export_report::content(&crate::export_report::ReportInput {
        ct,
        labels,
        metadata,
        deidentified: args.deidentify,
        scan_name: &file_name(&args.scan),
        labels_name: &file_name(&args.labels),
        plan,
    })
}
