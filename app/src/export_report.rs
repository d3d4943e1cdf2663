//! The report's content, shared by File ▸ Export and `vasa export`: 3D
//! renders of the labels when a GPU (a software one will do) is there, key
//! slices through the lesion always, and the figures.

use vasa_export::key_slices::{Rgb, SliceStyle, focus, key_slice};
use vasa_export::report::{self, ClassFigures, Picture, PlanFigures, ReportData, ScanFacts, StudyHeader};
use vasa_plan::PlanFile;
use vasa_render::{StandardView, TransferFunction, VolumeMode};
use vasa_scan::dicom::StudyMetadata;
use vasa_scan::reslice::Plane;
use vasa_scan::{LabelMap, Volume};

/// Side of the 3D renders (pixels).
const RENDER_SIDE: u32 = 640;

/// Field of the close-ups around the lesion (mm).
const CLOSE_UP_MM: f64 = 90.0;

/// What the report is about.
pub struct ReportInput<'a> {
    /// The scan.
    pub ct: &'a Volume<i16>,
    /// The labels on its grid.
    pub labels: &'a LabelMap,
    /// The study (de-identify it before, when asked).
    pub metadata: &'a StudyMetadata,
    /// True when `metadata` was de-identified (names are hidden too).
    pub deidentified: bool,
    /// The scan's name.
    pub scan_name: &'a str,
    /// Where the labels come from.
    pub labels_name: &'a str,
    /// The plan, if any.
    pub plan: Option<&'a PlanFile>,
}

/// The report's figures and pictures.
pub fn content(input: &ReportInput<'_>) -> (ReportData, Vec<Picture>) {
    let (ct, labels, plan) = (input.ct, input.labels, input.plan);
    let mut notes = Vec::new();
    let mut pictures = Vec::new();
    for (view, name) in [(StandardView::Anterior, "from the front"), (StandardView::Superior, "from above")] {
        let size = [RENDER_SIDE; 2];
        match crate::cli::render::render_rgba(
            ct,
            Some(labels),
            VolumeMode::Labels,
            TransferFunction::ct_angio(),
            view,
            size,
        ) {
            Ok((rgba, _)) => {
                let pixels: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
                let image = Rgb { width: RENDER_SIDE as usize, height: RENDER_SIDE as usize, pixels };
                pictures.push(Picture { caption: format!("3D: the labelled vessels {name}"), png: image.png() });
            }
            Err(e) => {
                notes.push(format!("3D renders left out: {e:#}"));
                break;
            }
        }
    }
    let at = focus(ct, plan);
    let through = if plan.is_some() { "through the lesion" } else { "through the scan's centre" };
    let planes = [(Plane::Axial, "axial"), (Plane::Coronal, "coronal"), (Plane::Sagittal, "sagittal")];
    for (plane, name) in planes {
        let image = key_slice(ct, Some(labels), plan, plane, at, 512, &SliceStyle::MEDIASTINUM);
        pictures.push(Picture { caption: format!("{name} slice {through} (mediastinal window)"), png: image.png() });
    }
    if plan.is_some() {
        for (plane, name) in planes {
            let image = key_slice(ct, Some(labels), plan, plane, at, 512, &SliceStyle::lung_close_up(CLOSE_UP_MM));
            let caption = format!(
                "{name} close-up, {CLOSE_UP_MM:.0} mm around the lesion (lung window): lesion, zones and paths"
            );
            pictures.push(Picture { caption, png: image.png() });
        }
    }
    let hidden = |s: &str, instead: &str| if input.deidentified { instead.to_string() } else { s.to_string() };
    let data = ReportData {
        generator: format!("Vasa {}", env!("CARGO_PKG_VERSION")),
        created_utc: report::utc_now(),
        study: StudyHeader::from_metadata(input.metadata, input.deidentified),
        scan: ScanFacts {
            name: hidden(input.scan_name, "scan"),
            dims: ct.dims(),
            spacing_mm: ct.geometry.spacing.to_array(),
        },
        labels: hidden(input.labels_name, "labels"),
        classes: ClassFigures::of(labels),
        plan: plan.map(|p| PlanFigures::of(p, labels)),
        pictures: pictures.iter().map(|p| p.caption.clone()).collect(),
        notes,
    };
    (data, pictures)
}
