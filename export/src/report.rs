//! The planning report: one self-contained HTML file for the team (images
//! inlined, no scripts, no external resources, prints cleanly) and the same
//! content as JSON for machines. It holds the study header (de-identified
//! on request), 3D renders and key slices, each class's volume and pieces,
//! and the plan's figures with every warning.
//!
//! The figures are computed by the caller ([`ReportData`]); this module only
//! lays them out, so the HTML and the JSON can never disagree.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use serde::Serialize;

use crate::{ExportError, write_file};

/// The study header, as shown (already de-identified when asked for).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudyHeader {
    /// Patient name (DICOM `Family^Given`), if known.
    pub patient_name: Option<String>,
    /// Patient ID.
    pub patient_id: Option<String>,
    /// Birth date (YYYYMMDD).
    pub birth_date: Option<String>,
    /// Sex.
    pub sex: Option<String>,
    /// Study date (YYYYMMDD).
    pub study_date: Option<String>,
    /// Study description.
    pub study_description: Option<String>,
    /// Series description.
    pub series_description: Option<String>,
    /// Modality and scanner, in words.
    pub scanner: Option<String>,
    /// Reconstruction kernel.
    pub kernel: Option<String>,
    /// The contrast agent, when one was given.
    pub contrast: Option<String>,
    /// The header was de-identified (DICOM PS3.15 basic profile).
    pub deidentified: bool,
}

/// The scan itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanFacts {
    /// Its name (file or series).
    pub name: String,
    /// Voxels along x, y, z.
    pub dims: [usize; 3],
    /// Voxel size (mm).
    pub spacing_mm: [f64; 3],
}

/// One class of the labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFigures {
    /// Class id.
    pub class: u8,
    /// Its name.
    pub name: String,
    /// Volume (mL).
    pub volume_ml: f64,
    /// 26-connected pieces.
    pub pieces: u32,
}

/// One applicator of the plan with its checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicatorFigures {
    /// 1, 2, …
    pub number: usize,
    /// Entry on the skin (patient LPS mm).
    pub entry_mm: [f64; 3],
    /// Tip (patient LPS mm).
    pub target_mm: [f64; 3],
    /// Path length from entry to tip (mm).
    pub path_mm: f64,
    /// The device setting, in words.
    pub setting: String,
    /// Where its zone size comes from.
    pub source: String,
    /// Zone length × width (mm).
    pub zone_mm: [f64; 2],
    /// The checks (`None`: could not be made, see `error`).
    pub checks: Option<vasa_plan::Report>,
    /// Why the checks could not be made.
    pub error: Option<String>,
}

/// The plan's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanFigures {
    /// The lesion, in words ("sphere 15.0 mm at (…)", "painted").
    pub lesion: String,
    /// The margin asked for (mm).
    pub margin_asked_mm: f64,
    /// The path's safety distance (mm).
    pub path_safety_mm: f64,
    /// The applicators.
    pub applicators: Vec<ApplicatorFigures>,
    /// With several applicators: the margin of all zones together (mm).
    pub combined_margin_mm: Option<f64>,
    /// Ruler measurements (mm).
    pub rulers_mm: Vec<f64>,
    /// What the zone sizes are (priors with uncertainty).
    pub zone_note: String,
}

/// Everything the report says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportData {
    /// "Vasa 0.1.0".
    pub generator: String,
    /// When it was made (UTC, ISO 8601).
    pub created_utc: String,
    /// The study header.
    pub study: StudyHeader,
    /// The scan.
    pub scan: ScanFacts,
    /// Where the labels come from (file name, or "extracted").
    pub labels: String,
    /// Per class.
    pub classes: Vec<ClassFigures>,
    /// The plan, when there is one.
    pub plan: Option<PlanFigures>,
    /// Captions of the pictures (the pictures are in the HTML only).
    pub pictures: Vec<String>,
    /// What the reader should know (e.g. why a picture is missing).
    pub notes: Vec<String>,
}

impl ReportData {
    /// Every warning of the plan, with its applicator's number.
    pub fn warnings(&self) -> Vec<String> {
        let Some(plan) = &self.plan else { return Vec::new() };
        let mut out = Vec::new();
        for a in &plan.applicators {
            if let Some(c) = &a.checks {
                out.extend(c.warnings.iter().map(|w| format!("applicator {}: {w}", a.number)));
            }
            if let Some(e) = &a.error {
                out.push(format!("applicator {}: not checked: {e}", a.number));
            }
        }
        if let Some(m) = plan.combined_margin_mm.filter(|&m| m < plan.margin_asked_mm) {
            out.push(format!(
                "all applicators together: margin {m:.1} mm is below the {:.1} mm asked for",
                plan.margin_asked_mm
            ));
        }
        out
    }
}

impl StudyHeader {
    /// The header of `m` (pass the de-identified metadata to de-identify).
    pub fn from_metadata(m: &vasa_scan::dicom::StudyMetadata, deidentified: bool) -> Self {
        let scanner: Vec<&str> = [m.modality.as_deref(), m.manufacturer.as_deref(), m.manufacturer_model.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        StudyHeader {
            patient_name: m.patient_name.clone(),
            patient_id: m.patient_id.clone(),
            birth_date: m.patient_birth_date.clone(),
            sex: m.patient_sex.clone(),
            study_date: m.study_date.clone(),
            study_description: m.study_description.clone(),
            series_description: m.series_description.clone(),
            scanner: (!scanner.is_empty()).then(|| scanner.join(" ")),
            kernel: m.convolution_kernel.clone(),
            contrast: m.contrast_agent.clone(),
            deidentified,
        }
    }
}

impl ClassFigures {
    /// Volume and pieces of every class present in `labels`.
    pub fn of(labels: &vasa_scan::LabelMap) -> Vec<ClassFigures> {
        vasa_scan::label_stats::class_stats(labels, &vasa_scan::ClassTable::default())
            .into_iter()
            .map(|s| ClassFigures { class: s.class, name: s.name, volume_ml: s.volume_ml, pieces: s.components })
            .collect()
    }
}

impl PlanFigures {
    /// The figures of `plan` checked on `labels` (each applicator's
    /// checks, and the margin of all the zones together).
    pub fn of(plan: &vasa_plan::PlanFile, labels: &vasa_scan::LabelMap) -> PlanFigures {
        use glam::DVec3;
        let lesion_class = vasa_scan::labels::LESION;
        let lesion = match (&plan.lesion, plan.lesion_painted) {
            (_, true) => "painted as the class lesion".to_string(),
            (Some(l), false) => format!("sphere {:.1} mm at {}", l.diameter_mm, point(&l.centre_mm)),
            (None, false) => "not placed (a point at each tip)".to_string(),
        };
        let mut zones = Vec::new();
        let applicators = plan
            .applicators
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (entry, target) = (DVec3::from_array(a.entry_mm), DVec3::from_array(a.target_mm));
                let (centre, diameter) =
                    plan.lesion.as_ref().map_or((target, 1.0), |l| (DVec3::from_array(l.centre_mm), l.diameter_mm));
                let input = vasa_plan::Plan {
                    entry,
                    target,
                    lesion_centre: centre,
                    lesion_diameter_mm: diameter,
                    painted_lesion: plan.lesion_painted.then_some(lesion_class),
                    zone_mm: (a.setting.length_mm, a.setting.width_mm),
                    margin_mm: plan.margin_mm,
                    path_safety_mm: plan.path_safety_mm,
                    modality: a.setting.modality,
                };
                zones.push(input.zone());
                let (checks, error) = match input.check(labels) {
                    Ok(r) => (Some(r), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                ApplicatorFigures {
                    number: i + 1,
                    entry_mm: a.entry_mm,
                    target_mm: a.target_mm,
                    path_mm: entry.distance(target),
                    setting: a.setting.describe(),
                    source: format!("{}; {}", a.setting.tissue, a.setting.source),
                    zone_mm: [a.setting.length_mm, a.setting.width_mm],
                    checks,
                    error,
                }
            })
            .collect();
        let combined_margin_mm = (zones.len() > 1)
            .then(|| match (&plan.lesion, plan.lesion_painted) {
                (_, true) => vasa_plan::lesion::painted_margin(labels, lesion_class, &zones),
                (Some(l), false) => {
                    vasa_plan::union_margin(&zones, DVec3::from_array(l.centre_mm), l.diameter_mm / 2.0)
                }
                (None, false) => None,
            })
            .flatten()
            .map(|(m, _)| m);
        PlanFigures {
            lesion,
            margin_asked_mm: plan.margin_mm,
            path_safety_mm: plan.path_safety_mm,
            applicators,
            combined_margin_mm,
            rulers_mm: plan.rulers.iter().map(|r| r.length_mm).collect(),
            zone_note: vasa_plan::ZoneTable::bundled().note,
        }
    }
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn utc(secs: u64) -> String {
    let (year, month, day) = crate::seg::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// A picture of the report: a PNG and its caption.
#[derive(Debug, Clone)]
pub struct Picture {
    /// What it shows.
    pub caption: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

/// Writes the JSON form of `data` to `path`.
pub fn write_json(path: &Path, data: &ReportData) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(data).map_err(|e| ExportError::bad(path, format!("not JSON: {e}")))?;
    write_file(path, text.as_bytes())
}

/// Writes the HTML form of `data` with `pictures` to `path`.
pub fn write_html(path: &Path, data: &ReportData, pictures: &[Picture]) -> Result<(), ExportError> {
    write_file(path, html(data, pictures).as_bytes())
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "—" for an unknown value.
fn or_dash(v: &Option<String>) -> String {
    v.as_deref().map_or("—".to_string(), esc)
}

/// A DICOM date YYYYMMDD as YYYY-MM-DD (as stored otherwise).
fn date(v: &Option<String>) -> String {
    match v.as_deref() {
        Some(d) if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
        }
        _ => or_dash(v),
    }
}

fn point(p: &[f64; 3]) -> String {
    format!("({:.1}, {:.1}, {:.1})", p[0], p[1], p[2])
}

fn mm(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |v| format!("{v:.1} mm"))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#111;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.warn{color:#a40000;font-weight:600}.ok{color:#1a6b1a;font-weight:600}.small{color:#555;font-size:.85em}\
figure{display:inline-block;margin:.4em;vertical-align:top}figure img{max-width:28em;border:1px solid #999;background:#000}\
figcaption{font-size:.85em;color:#333;max-width:28em}@media print{figure img{max-width:16em}}";

/// The report as one HTML page.
pub fn html(data: &ReportData, pictures: &[Picture]) -> String {
    let mut h = String::new();
    let title = format!("Vasa report: {}", data.scan.name);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"small\">{} · {} UTC</p>",
        esc(&title),
        esc(&data.generator),
        esc(&data.created_utc)
    );
    study_section(&mut h, data);
    classes_section(&mut h, data);
    if let Some(plan) = &data.plan {
        plan_section(&mut h, data, plan);
    }
    if !pictures.is_empty() {
        h.push_str("<h2 id=\"pictures\">Pictures</h2>");
        for p in pictures {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&p.png);
            let _ = write!(
                h,
                "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{b64}\"><figcaption>{0}</figcaption></figure>",
                esc(&p.caption)
            );
        }
    }
    if !data.notes.is_empty() {
        h.push_str("<h2>Notes</h2><ul>");
        for n in &data.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    h.push_str(
        "<p class=\"small\">Vessel labels come from an automatic extraction and may have been edited; \
         zone sizes are priors from published series, not predictions. \
         Check every figure against the images before acting on it.</p></body></html>",
    );
    h
}

fn study_section(h: &mut String, data: &ReportData) {
    let s = &data.study;
    h.push_str("<h2>Study</h2><table>");
    let rows = [
        ("Patient", or_dash(&s.patient_name)),
        ("Patient ID", or_dash(&s.patient_id)),
        ("Birth date", date(&s.birth_date)),
        ("Sex", or_dash(&s.sex)),
        ("Study date", date(&s.study_date)),
        ("Study", or_dash(&s.study_description)),
        ("Series", or_dash(&s.series_description)),
        ("Scanner", or_dash(&s.scanner)),
        ("Kernel", or_dash(&s.kernel)),
        ("Contrast", s.contrast.as_deref().map_or("none stated".to_string(), esc)),
        ("Scan", esc(&data.scan.name)),
        ("Voxels", format!("{} × {} × {}", data.scan.dims[0], data.scan.dims[1], data.scan.dims[2])),
        (
            "Voxel size",
            format!(
                "{:.2} × {:.2} × {:.2} mm",
                data.scan.spacing_mm[0], data.scan.spacing_mm[1], data.scan.spacing_mm[2]
            ),
        ),
        ("Labels", esc(&data.labels)),
    ];
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    h.push_str("</table>");
    if s.deidentified {
        h.push_str(
            "<p class=\"small\">De-identified (DICOM PS3.15 basic profile): patient name, ID and dates removed.</p>",
        );
    }
}

fn classes_section(h: &mut String, data: &ReportData) {
    h.push_str("<h2>Vessels</h2>");
    if data.classes.is_empty() {
        h.push_str("<p>No labelled voxels.</p>");
        return;
    }
    h.push_str("<table><tr><th>class</th><th>volume</th><th>pieces</th></tr>");
    for c in &data.classes {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.1} mL</td><td class=\"n\">{}</td></tr>",
            esc(&c.name),
            c.volume_ml,
            c.pieces
        );
    }
    h.push_str("</table>");
}

fn plan_section(h: &mut String, data: &ReportData, plan: &PlanFigures) {
    h.push_str("<h2>Ablation plan</h2>");
    let _ = write!(
        h,
        "<p>Lesion: {}. Margin asked for: {:.1} mm. Path safety distance: {:.1} mm.</p>",
        esc(&plan.lesion),
        plan.margin_asked_mm,
        plan.path_safety_mm
    );
    let warnings = data.warnings();
    if warnings.is_empty() {
        h.push_str("<p class=\"ok\">No warnings.</p>");
    } else {
        h.push_str("<p class=\"warn\">Warnings:</p><ul>");
        for w in &warnings {
            let _ = write!(h, "<li class=\"warn\">{}</li>", esc(w));
        }
        h.push_str("</ul>");
    }
    for a in &plan.applicators {
        let _ = write!(
            h,
            "<h3>Applicator {}</h3><table><tr><th>entry (LPS mm)</th><td>{}</td></tr><tr><th>tip (LPS mm)</th><td>{}</td></tr>\
             <tr><th>path length</th><td>{:.1} mm</td></tr><tr><th>setting</th><td>{}</td></tr>\
             <tr><th>zone</th><td>{:.0} × {:.0} mm <span class=\"small\">({})</span></td></tr>",
            a.number,
            point(&a.entry_mm),
            point(&a.target_mm),
            a.path_mm,
            esc(&a.setting),
            a.zone_mm[0],
            a.zone_mm[1],
            esc(&a.source)
        );
        if let Some(c) = &a.checks {
            let state =
                if c.covered { "<span class=\"ok\">covered</span>" } else { "<span class=\"warn\">not covered</span>" };
            let _ = write!(
                h,
                "<tr><th>margin</th><td>{:.1} mm, {state}, smallest at {}</td></tr>\
                 <tr><th>path to artery / vein / aorta</th><td>{} / {} / {}</td></tr></table>",
                c.margin_mm,
                point(&c.margin_at_mm),
                mm(c.trajectory.artery),
                mm(c.trajectory.vein),
                mm(c.trajectory.aorta)
            );
            if !c.vessels.is_empty() {
                h.push_str("<table><tr><th>vessel</th><th>from the zone</th><th>diameter</th><th>heat sink</th><th>at (LPS mm)</th></tr>");
                for v in &c.vessels {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td class=\"n\">{:.1} mm</td><td class=\"n\">{:.1} mm</td><td>{}</td><td>{}</td></tr>",
                        esc(&v.class),
                        v.distance_mm,
                        v.diameter_mm,
                        if v.heat_sink { "<span class=\"warn\">yes</span>" } else { "no" },
                        point(&v.at_mm)
                    );
                }
                h.push_str("</table>");
            }
        } else {
            h.push_str("</table>");
            if let Some(e) = &a.error {
                let _ = write!(h, "<p class=\"warn\">Not checked: {}</p>", esc(e));
            }
        }
    }
    if let Some(m) = plan.combined_margin_mm {
        let _ = write!(h, "<p>All applicators together: margin {m:.1} mm.</p>");
    }
    if !plan.rulers_mm.is_empty() {
        let list: Vec<String> = plan.rulers_mm.iter().map(|r| format!("{r:.1} mm")).collect();
        let _ = write!(h, "<p>Measurements: {}.</p>", list.join(", "));
    }
    let _ = write!(h, "<p class=\"small\">{}</p>", esc(&plan.zone_note));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> ReportData {
        ReportData {
            generator: "Vasa test".into(),
            created_utc: "2026-12-01T00:00:00Z".into(),
            study: StudyHeader {
                patient_name: Some("Doe^<Jane>".into()),
                study_date: Some("20261130".into()),
                ..Default::default()
            },
            scan: ScanFacts { name: "ct".into(), dims: [2, 3, 4], spacing_mm: [0.7, 0.7, 1.0] },
            labels: "labels.nii.gz".into(),
            classes: vec![ClassFigures { class: 1, name: "artery".into(), volume_ml: 187.46, pieces: 3 }],
            plan: Some(PlanFigures {
                lesion: "sphere 15.0 mm".into(),
                margin_asked_mm: 5.0,
                path_safety_mm: 3.0,
                applicators: vec![ApplicatorFigures {
                    number: 1,
                    entry_mm: [0.0, -60.0, 0.0],
                    target_mm: [0.0; 3],
                    path_mm: 60.0,
                    setting: "MW 100 W, 2 min".into(),
                    source: "Acta Med Okayama 2022".into(),
                    zone_mm: [28.0, 20.0],
                    checks: None,
                    error: Some("no labels".into()),
                }],
                combined_margin_mm: Some(2.0),
                rulers_mm: vec![12.34],
                zone_note: "priors".into(),
            }),
            pictures: vec!["3D".into()],
            notes: vec![],
        }
    }

    #[test]
    fn utc_dates_are_right() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_083_200 + 3_723), "2026-12-01T01:02:03Z");
    }

    #[test]
    fn the_page_escapes_text_lists_every_warning_and_inlines_pictures() {
        let d = data();
        let page = html(&d, &[Picture { caption: "3D <front>".into(), png: vec![137, 80, 78, 71] }]);
        assert!(page.contains("Doe^&lt;Jane&gt;") && !page.contains("<Jane>"), "escaped");
        assert!(page.contains("2026-11-30"));
        assert!(page.contains("187.5 mL"));
        assert!(page.contains("applicator 1: not checked: no labels"));
        assert!(page.contains("below the 5.0 mm asked for"), "the combined margin's warning");
        assert!(page.contains("data:image/png;base64,iVBORw=="), "the PNG inlined");
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"), "self-contained");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["classes"][0]["volume_ml"], 187.46);
        assert_eq!(json["plan"]["applicators"][0]["zone_mm"][0], 28.0);
    }
}
