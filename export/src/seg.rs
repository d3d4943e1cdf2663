//! The labels as a DICOM Segmentation (SEG), and a SEG read back onto a scan.
//!
//! [`write_seg`] stores one binary segment per class present in the label
//! map (artery, vein, aorta, lesion, and any user class), each with its
//! SNOMED CT property codes and its display colour, in a multi-frame SEG
//! whose frames lie on the scan's slices. When the scan came from DICOM the
//! SEG joins the source study (same StudyInstanceUID and frame of reference)
//! and every frame names the source image of its slice, so that a PACS or
//! viewer (3D Slicer, OHIF, highdicom) shows it over the CT. Labels of a
//! NIfTI scan get fresh UIDs.
//!
//! [`read_seg`] is the way back: it rebuilds a label map on a scan's grid and
//! refuses a SEG whose frames are not on that grid, that is not binary, or
//! that is malformed, always naming the file and the reason.
//!
//! Codes used (checked against the DICOM PS3.16 context groups named):
//! category SCT 123037004 "Anatomical Structure" (vessels)
//! and SCT 49755003 "Morphologically Altered Structure" (lesion); types SCT
//! 81040000 "Pulmonary artery" (CID 12290), SCT 122972007 "Pulmonary vein"
//! (CID 12283), SCT 15825003 "Aorta" (CID 7152), SCT 4147007 "Mass" (CID
//! 7151 / 12301); derivation DCM 113076 "Segmentation" (CID 7203); purpose of
//! reference DCM 121322 "Source image for image processing operation" (CID
//! 7202). User classes (ids 5 and up) have no standard code: they use the
//! private coding scheme `99VASA` with the class id as code value.

use std::hash::{BuildHasher, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use dicom_core::value::{C, DataSetSequence};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::dicom::{SourceSlice, StudyMetadata};
use vasa_scan::{ClassTable, Geometry, LabelMap};

use crate::deidentify;
use crate::error::{ExportError, write_file};

/// SOP Class UID of Segmentation Storage (PS3.4): what [`is_seg`] looks for.
pub const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";

/// The private coding scheme of classes that have no standard code.
const VASA_SCHEME: &str = "99VASA";

/// Class id of a lesion (painted by hand; coded as a mass).
const LESION: u8 = vasa_scan::labels::LESION;

/// How [`write_seg`] writes a SEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegOptions {
    /// Apply the DICOM PS3.15 basic de-identification profile
    /// ([`deidentify`]) to what is written.
    pub deidentify: bool,
    /// SeriesDescription of the SEG series (default "Vasa vessels").
    pub series_description: String,
    /// SegmentAlgorithmName of the vessel segments, e.g.
    /// "Vasa 0.1 network + HU refinement".
    pub algorithm: String,
    /// True when a person edited the labels: SegmentAlgorithmType is then
    /// SEMIAUTOMATIC instead of AUTOMATIC.
    pub manual_edits: bool,
}

impl Default for SegOptions {
    fn default() -> Self {
        SegOptions {
            deidentify: false,
            series_description: "Vasa vessels".into(),
            algorithm: format!("Vasa {}", env!("CARGO_PKG_VERSION")),
            manual_edits: false,
        }
    }
}

/// What [`write_seg`] wrote, for the user and for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegSummary {
    /// (class id, segment label) of every segment, in segment-number order
    /// (segment number = position + 1).
    pub segments: Vec<(u8, String)>,
    /// Number of frames written (one per segment and slice holding it).
    pub frames: usize,
    /// SeriesInstanceUID of the new SEG series.
    pub series_instance_uid: String,
    /// SOPInstanceUID of the SEG.
    pub sop_instance_uid: String,
    /// True when every frame names its source image (the scan came from
    /// DICOM with one source image per slice).
    pub references_source: bool,
}

/// A coded concept (PS3.3 Code Sequence Macro).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Code {
    value: String,
    scheme: &'static str,
    meaning: String,
}

/// A code from three strings.
fn code(value: &str, scheme: &'static str, meaning: &str) -> Code {
    Code { value: value.into(), scheme, meaning: meaning.into() }
}

/// SegmentedPropertyCategory and SegmentedPropertyType codes of a class.
///
/// | class | category | type |
/// |---|---|---|
/// | 1 artery | SCT 123037004 Anatomical Structure | SCT 81040000 Pulmonary artery |
/// | 2 vein | SCT 123037004 Anatomical Structure | SCT 122972007 Pulmonary vein |
/// | 3 aorta | SCT 123037004 Anatomical Structure | SCT 15825003 Aorta |
/// | 4 lesion | SCT 49755003 Morphologically Altered Structure | SCT 4147007 Mass |
/// | n ≥ 5 | 99VASA user-class | 99VASA n "class n" |
fn class_codes(class: u8) -> (Code, Code) {
    let anatomy = code("123037004", "SCT", "Anatomical Structure");
    match class {
        1 => (anatomy, code("81040000", "SCT", "Pulmonary artery")),
        2 => (anatomy, code("122972007", "SCT", "Pulmonary vein")),
        3 => (anatomy, code("15825003", "SCT", "Aorta")),
        LESION => (code("49755003", "SCT", "Morphologically Altered Structure"), code("4147007", "SCT", "Mass")),
        n => (
            code("user-class", VASA_SCHEME, "Vasa user class"),
            code(&n.to_string(), VASA_SCHEME, &format!("class {n}")),
        ),
    }
}

/// The class a segment's property type code stands for, if Vasa knows it.
/// Accepts the codes Vasa writes and the common, more specific SNOMED CT
/// codes of the same structures (left/right vessels, parts of the aorta).
fn class_of_code(scheme: &str, value: &str) -> Option<u8> {
    if scheme == VASA_SCHEME {
        return value.parse::<u8>().ok().filter(|&c| c != 0);
    }
    if scheme != "SCT" && scheme != "SRT" {
        return None;
    }
    match value {
        // Pulmonary artery, trunk, left, right.
        "81040000" | "45341000" | "50408007" | "78480002" | "T-44000" => Some(1),
        // Pulmonary vein, great vessel, left, right.
        "122972007" | "430757002" | "27706005" | "91539005" | "T-48581" => Some(2),
        // Aorta, thoracic, ascending, arch, descending.
        "15825003" | "113262008" | "54247002" | "57034009" | "32672002" | "T-42000" => Some(3),
        // Mass, nodule, lesion, neoplasm.
        "4147007" | "27925004" | "52988006" | "108369006" => Some(LESION),
        _ => None,
    }
}

/// The class a segment label names ("artery", "Pulmonary vein", ...), for
/// SEGs whose codes Vasa does not know.
fn class_of_label(label: &str) -> Option<u8> {
    let l = label.to_ascii_lowercase();
    if l.contains("aort") {
        Some(3)
    } else if l.contains("arter") {
        Some(1)
    } else if l.contains("vein") || l.contains("venous") {
        Some(2)
    } else if l.contains("lesion") || l.contains("mass") || l.contains("tumo") || l.contains("nodule") {
        Some(LESION)
    } else {
        None
    }
}

/// RecommendedDisplayCIELabValue of an sRGB colour: sRGB → linear → XYZ
/// (D65) → CIELab, scaled as DICOM stores it (L* 0..100 and a*, b*
/// −128..127 onto 0..65535).
pub(crate) fn srgb_to_dicom_lab(rgb: [u8; 3]) -> [u16; 3] {
    let lin = rgb.map(|c| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    });
    let [r, g, b] = lin;
    let x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    let z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
    let f = |t: f64| {
        let d = 6.0 / 29.0;
        if t > d * d * d { t.cbrt() } else { t / (3.0 * d * d) + 4.0 / 29.0 }
    };
    let (fx, fy, fz) = (f(x / 0.95047), f(y), f(z / 1.08883));
    let (l, a, bb) = (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz));
    let scale = |v: f64, lo: f64, hi: f64| ((v - lo) / (hi - lo) * 65535.0).round().clamp(0.0, 65535.0) as u16;
    [scale(l, 0.0, 100.0), scale(a, -128.0, 127.0), scale(bb, -128.0, 127.0)]
}

/// A fresh UID: `2.25.` and a 128-bit random number in decimal (PS3.5
/// B.2), from the standard library's randomly keyed hasher fed with the
/// time, the process id and a counter.
pub fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(count);
        h.write_u64(salt);
        h.finish()
    };
    let n = (u128::from(half(1)) << 64) | u128::from(half(2));
    format!("2.25.{n}")
}

/// True when `path` is a DICOM file (preamble and `DICM`) whose SOP class is
/// Segmentation Storage. Reads the file meta group only.
pub fn is_seg(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut r = std::io::BufReader::new(file).take(1 << 16);
    let mut preamble = [0u8; 128];
    if r.read_exact(&mut preamble).is_err() {
        return false;
    }
    let meta = catch_unwind(AssertUnwindSafe(|| dicom_object::FileMetaTable::from_reader(&mut r)));
    matches!(meta, Ok(Ok(m)) if m.media_storage_sop_class_uid() == SEGMENTATION_STORAGE)
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Writes `labels` as a DICOM SEG at `path` (atomically): one binary segment
/// per class present, one frame per segment and slice holding it.
///
/// `metadata` is the scan's: with DICOM source slices (one per volume slice)
/// every frame references its source image; without them (NIfTI, or a
/// series resampled along k) frames reference nothing, but the study, the
/// frame of reference and (when known) the source series still are. With
/// [`SegOptions::deidentify`] the metadata goes through
/// [`deidentify::metadata`] first and the object through
/// [`deidentify::apply`]. Fails, naming the file, on an empty label map, a
/// grid DICOM cannot hold, or a write error.
pub fn write_seg(
    path: &Path,
    labels: &LabelMap,
    metadata: &StudyMetadata,
    options: &SegOptions,
) -> Result<SegSummary, ExportError> {
    check_grid(labels).map_err(|what| ExportError::bad(path, what))?;
    let metadata = if options.deidentify { deidentify::metadata(metadata) } else { metadata.clone() };
    let segments = segments_present(labels);
    if segments.is_empty() {
        return Err(ExportError::bad(path, "the label map holds no labelled voxel: there is nothing to export"));
    }
    let frames: Vec<Frame> = segments
        .iter()
        .enumerate()
        .flat_map(|(s, seg)| seg.slices.iter().map(move |&k| Frame { segment: s as u16 + 1, class: seg.class, k }))
        .collect();
    let sources = per_slice_sources(&metadata, labels.dims()[2]);
    let uids = SegUids {
        study: metadata.study_instance_uid.clone().unwrap_or_else(new_uid),
        series: new_uid(),
        instance: new_uid(),
        frame_of_reference: metadata.frame_of_reference_uid.clone().unwrap_or_else(new_uid),
        dimension_organization: new_uid(),
    };

    let mut obj = InMemDicomObject::new_empty();
    put_patient_and_study(&mut obj, &metadata, &uids);
    put_series_and_equipment(&mut obj, &uids, options);
    put_image(&mut obj, labels, frames.len(), options.deidentify);
    put_segments(&mut obj, &segments, options);
    put_dimensions(&mut obj, &uids.dimension_organization);
    obj.put(seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared_groups(&labels.geometry)]));
    let multi_frame = multi_frame_instances(&metadata.slices);
    let per_frame = frames
        .iter()
        .map(|f| {
            let source = sources.map(|s| &s[f.k]);
            frame_groups(f, labels, source.map(|s| (s, multi_frame.contains(s.sop_instance_uid.as_str()))))
        })
        .collect();
    obj.put(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame));
    if let Some(series) = referenced_series(&metadata) {
        obj.put(seq(tags::REFERENCED_SERIES_SEQUENCE, vec![series]));
    }
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(C::from_vec(pack_frames(labels, &frames)))));
    if options.deidentify {
        deidentify::apply(&mut obj);
    }

    let bytes = encode(obj).map_err(|what| ExportError::bad(path, what))?;
    write_file(path, &bytes)?;
    Ok(SegSummary {
        segments: segments.iter().map(|s| (s.class, s.label.clone())).collect(),
        frames: frames.len(),
        series_instance_uid: uids.series,
        sop_instance_uid: uids.instance,
        references_source: sources.is_some(),
    })
}

/// The UIDs of one SEG.
struct SegUids {
    study: String,
    series: String,
    instance: String,
    frame_of_reference: String,
    dimension_organization: String,
}

/// One segment to write: its class, label and the slices holding it.
struct Segment {
    class: u8,
    label: String,
    slices: Vec<usize>,
}

/// One frame: segment number (from 1), its class and its slice.
struct Frame {
    segment: u16,
    class: u8,
    k: usize,
}

/// Refuses a label map a SEG cannot hold (DICOM Rows/Columns are 16-bit)
/// or whose geometry is not a valid patient grid.
fn check_grid(labels: &LabelMap) -> Result<(), String> {
    let [nx, ny, nz] = labels.dims();
    if nx == 0 || ny == 0 || nz == 0 {
        return Err(format!("the label map is empty ({nx}×{ny}×{nz} voxels)"));
    }
    if nx > usize::from(u16::MAX) || ny > usize::from(u16::MAX) {
        return Err(format!("slices of {nx}×{ny} voxels exceed DICOM's 65535 rows or columns"));
    }
    labels.geometry.validate().map_err(|e| format!("the label map's geometry cannot be written: {e}"))
}

/// The classes present in the label map (ascending id, background
/// excluded), each with the slices that hold at least one of its voxels.
fn segments_present(labels: &LabelMap) -> Vec<Segment> {
    let nz = labels.dims()[2];
    let per_slice: Vec<[bool; 256]> = (0..nz)
        .into_par_iter()
        .map(|k| {
            let mut seen = [false; 256];
            labels.slice_k(k).iter().for_each(|&v| seen[usize::from(v)] = true);
            seen
        })
        .collect();
    let table = ClassTable::default();
    (1..=255u8)
        .filter_map(|class| {
            let slices: Vec<usize> = (0..nz).filter(|&k| per_slice[k][usize::from(class)]).collect();
            (!slices.is_empty()).then(|| Segment { class, label: table.name(class), slices })
        })
        .collect()
}

/// The source image of every slice, when there is exactly one per slice.
fn per_slice_sources(metadata: &StudyMetadata, nz: usize) -> Option<&[SourceSlice]> {
    let s = &metadata.slices;
    (s.len() == nz && s.iter().all(|x| !x.sop_instance_uid.is_empty() && !x.sop_class_uid.is_empty()))
        .then_some(s.as_slice())
}

/// Patient, General Study and Frame of Reference modules (Type 2 attributes
/// written empty when unknown).
fn put_patient_and_study(obj: &mut InMemDicomObject, m: &StudyMetadata, uids: &SegUids) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    obj.put(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    obj.put(text(tags::SOP_CLASS_UID, VR::UI, SEGMENTATION_STORAGE));
    obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, &uids.instance));
    obj.put(text(tags::PATIENT_NAME, VR::PN, &opt(&m.patient_name)));
    obj.put(text(tags::PATIENT_ID, VR::LO, &opt(&m.patient_id)));
    obj.put(text(tags::PATIENT_BIRTH_DATE, VR::DA, &opt(&m.patient_birth_date)));
    obj.put(text(tags::PATIENT_SEX, VR::CS, &opt(&m.patient_sex)));
    obj.put(text(tags::STUDY_INSTANCE_UID, VR::UI, &uids.study));
    obj.put(text(tags::STUDY_DATE, VR::DA, &opt(&m.study_date)));
    obj.put(text(tags::STUDY_TIME, VR::TM, &opt(&m.study_time)));
    obj.put(text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""));
    obj.put(text(tags::STUDY_ID, VR::SH, ""));
    obj.put(text(tags::ACCESSION_NUMBER, VR::SH, &opt(&m.accession_number)));
    if let Some(d) = &m.study_description {
        obj.put(text(tags::STUDY_DESCRIPTION, VR::LO, d));
    }
    obj.put(text(tags::FRAME_OF_REFERENCE_UID, VR::UI, &uids.frame_of_reference));
    obj.put(text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""));
}

/// Segmentation Series and Enhanced General Equipment modules: the SEG
/// series, and Vasa as the equipment that made it.
fn put_series_and_equipment(obj: &mut InMemDicomObject, uids: &SegUids, options: &SegOptions) {
    obj.put(text(tags::MODALITY, VR::CS, "SEG"));
    obj.put(text(tags::SERIES_INSTANCE_UID, VR::UI, &uids.series));
    obj.put(text(tags::SERIES_NUMBER, VR::IS, "1000"));
    obj.put(text(tags::SERIES_DESCRIPTION, VR::LO, &options.series_description));
    obj.put(text(tags::MANUFACTURER, VR::LO, "Vasa"));
    obj.put(text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "Vasa"));
    obj.put(text(tags::DEVICE_SERIAL_NUMBER, VR::LO, "0"));
    obj.put(text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")));
}

/// General Image, Image Pixel, Segmentation Image and Multi-frame modules
/// (everything about the pixels except the segments and frames).
fn put_image(obj: &mut InMemDicomObject, labels: &LabelMap, frames: usize, deidentify: bool) {
    let [nx, ny, _] = labels.dims();
    let (date, time) = content_date_time(deidentify);
    obj.put(text(tags::INSTANCE_NUMBER, VR::IS, "1"));
    obj.put(text(tags::CONTENT_DATE, VR::DA, &date));
    obj.put(text(tags::CONTENT_TIME, VR::TM, &time));
    if !deidentify {
        obj.put(text(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0000"));
    }
    obj.put(text(tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY"));
    obj.put(text(tags::CONTENT_LABEL, VR::CS, "VESSELS"));
    obj.put(text(tags::CONTENT_DESCRIPTION, VR::LO, "Pulmonary vessels and aorta"));
    obj.put(text(tags::CONTENT_CREATOR_NAME, VR::PN, ""));
    obj.put(text(tags::SEGMENTATION_TYPE, VR::CS, "BINARY"));
    obj.put(text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"));
    obj.put(us(tags::SAMPLES_PER_PIXEL, &[1]));
    obj.put(text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"));
    obj.put(us(tags::ROWS, &[ny as u16]));
    obj.put(us(tags::COLUMNS, &[nx as u16]));
    obj.put(us(tags::BITS_ALLOCATED, &[1]));
    obj.put(us(tags::BITS_STORED, &[1]));
    obj.put(us(tags::HIGH_BIT, &[0]));
    obj.put(us(tags::PIXEL_REPRESENTATION, &[0]));
    obj.put(text(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string()));
}

/// ContentDate and ContentTime (now, in UTC), or the PS3.15 dummy values
/// (Type 1, so replaced rather than removed) when de-identifying.
fn content_date_time(deidentify: bool) -> (String, String) {
    if deidentify {
        return ("19000101".into(), "000000".into());
    }
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    (format!("{y:04}{m:02}{d:02}"), format!("{:02}{:02}{:02}", s / 3600, s % 3600 / 60, s % 60))
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// SegmentSequence: number, label, algorithm, codes and colour of every
/// segment. The lesion and user classes are painted by hand (MANUAL).
fn put_segments(obj: &mut InMemDicomObject, segments: &[Segment], options: &SegOptions) {
    let table = ClassTable::default();
    let items = segments
        .iter()
        .enumerate()
        .map(|(s, seg)| {
            let (category, property) = class_codes(seg.class);
            let colour = table.get(seg.class).map(|c| c.color).unwrap_or([128, 128, 128]);
            let manual = seg.class >= LESION;
            let algorithm_type = match (manual, options.manual_edits) {
                (true, _) => "MANUAL",
                (false, true) => "SEMIAUTOMATIC",
                (false, false) => "AUTOMATIC",
            };
            let mut e = vec![
                us(tags::SEGMENT_NUMBER, &[s as u16 + 1]),
                text(tags::SEGMENT_LABEL, VR::LO, &seg.label),
                text(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, algorithm_type),
                seq(tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE, vec![code_item(&category)]),
                seq(tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![code_item(&property)]),
                us(tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE, &srgb_to_dicom_lab(colour)),
            ];
            if !manual {
                e.push(text(tags::SEGMENT_ALGORITHM_NAME, VR::LO, &options.algorithm));
            }
            item(e)
        })
        .collect();
    obj.put(seq(tags::SEGMENT_SEQUENCE, items));
}

/// Multi-frame Dimension module: frames are indexed by segment number, then
/// by slice position.
fn put_dimensions(obj: &mut InMemDicomObject, organization: &str) {
    obj.put(seq(
        tags::DIMENSION_ORGANIZATION_SEQUENCE,
        vec![item(vec![text(tags::DIMENSION_ORGANIZATION_UID, VR::UI, organization)])],
    ));
    let index = |pointer: Tag, group: Tag, label: &str| {
        item(vec![
            text(tags::DIMENSION_ORGANIZATION_UID, VR::UI, organization),
            DataElement::new(tags::DIMENSION_INDEX_POINTER, VR::AT, PrimitiveValue::Tags(C::from_vec(vec![pointer]))),
            DataElement::new(tags::FUNCTIONAL_GROUP_POINTER, VR::AT, PrimitiveValue::Tags(C::from_vec(vec![group]))),
            text(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label),
        ])
    };
    obj.put(seq(
        tags::DIMENSION_INDEX_SEQUENCE,
        vec![
            index(tags::REFERENCED_SEGMENT_NUMBER, tags::SEGMENT_IDENTIFICATION_SEQUENCE, "Segment Number"),
            index(tags::IMAGE_POSITION_PATIENT, tags::PLANE_POSITION_SEQUENCE, "Image Position Patient"),
        ],
    ));
}

/// The Shared Functional Groups item: pixel measures and plane orientation,
/// the same for every frame.
fn shared_groups(g: &Geometry) -> InMemDicomObject {
    let (c0, c1) = (g.direction.col(0), g.direction.col(1));
    item(vec![
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![
                ds(tags::PIXEL_SPACING, &[g.spacing.y, g.spacing.x]),
                ds(tags::SLICE_THICKNESS, &[g.spacing.z]),
                ds(tags::SPACING_BETWEEN_SLICES, &[g.spacing.z]),
            ])],
        ),
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![ds(tags::IMAGE_ORIENTATION_PATIENT, &[c0.x, c0.y, c0.z, c1.x, c1.y, c1.z])])],
        ),
    ])
}

/// The source instances that hold more than one slice (multi-frame images,
/// whose frames are referenced by number).
fn multi_frame_instances(slices: &[SourceSlice]) -> std::collections::HashSet<&str> {
    let mut seen = std::collections::HashSet::new();
    let mut multi: std::collections::HashSet<&str> = slices
        .iter()
        .filter(|s| !seen.insert(s.sop_instance_uid.as_str()))
        .map(|s| s.sop_instance_uid.as_str())
        .collect();
    multi.extend(slices.iter().filter(|s| s.frame_number > 1).map(|s| s.sop_instance_uid.as_str()));
    multi
}

/// One Per-Frame Functional Groups item: dimension indices, position,
/// segment, and (when known) the source image of the slice, with whether
/// that image is multi-frame.
fn frame_groups(frame: &Frame, labels: &LabelMap, source: Option<(&SourceSlice, bool)>) -> InMemDicomObject {
    let p = labels.voxel_to_world([0, 0, frame.k]);
    let index = vec![u32::from(frame.segment), frame.k as u32 + 1];
    let mut e = vec![
        seq(
            tags::FRAME_CONTENT_SEQUENCE,
            vec![item(vec![DataElement::new(
                tags::DIMENSION_INDEX_VALUES,
                VR::UL,
                PrimitiveValue::U32(C::from_vec(index)),
            )])],
        ),
        seq(tags::PLANE_POSITION_SEQUENCE, vec![item(vec![ds(tags::IMAGE_POSITION_PATIENT, &[p.x, p.y, p.z])])]),
        seq(
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            vec![item(vec![us(tags::REFERENCED_SEGMENT_NUMBER, &[frame.segment])])],
        ),
    ];
    if let Some((source, multi_frame)) = source {
        e.push(seq(tags::DERIVATION_IMAGE_SEQUENCE, vec![derivation_item(source, multi_frame)]));
    }
    item(e) // the data set keeps its elements in tag order
}

/// A DerivationImageSequence item: the source image (and, in a multi-frame
/// image, the frame) of a slice, why it is referenced, and how the frame was
/// derived.
fn derivation_item(source: &SourceSlice, multi_frame: bool) -> InMemDicomObject {
    let mut s = vec![
        text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, &source.sop_class_uid),
        text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, &source.sop_instance_uid),
        text(tags::SPATIAL_LOCATIONS_PRESERVED, VR::CS, "YES"),
        seq(
            tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
            vec![code_item(&code("121322", "DCM", "Source image for image processing operation"))],
        ),
    ];
    if multi_frame {
        s.push(text(tags::REFERENCED_FRAME_NUMBER, VR::IS, &source.frame_number.max(1).to_string()));
    }
    item(vec![
        seq(tags::SOURCE_IMAGE_SEQUENCE, vec![item(s)]),
        seq(tags::DERIVATION_CODE_SEQUENCE, vec![code_item(&code("113076", "DCM", "Segmentation"))]),
    ])
}

/// The ReferencedSeriesSequence item (Common Instance Reference module): the
/// source series and its instances, when both are known.
fn referenced_series(m: &StudyMetadata) -> Option<InMemDicomObject> {
    let series = m.series_instance_uid.as_ref()?;
    let mut seen = std::collections::HashSet::new();
    let instances: Vec<InMemDicomObject> = m
        .slices
        .iter()
        .filter(|s| !s.sop_instance_uid.is_empty() && seen.insert(s.sop_instance_uid.as_str()))
        .map(|s| {
            item(vec![
                text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, &s.sop_class_uid),
                text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, &s.sop_instance_uid),
            ])
        })
        .collect();
    (!instances.is_empty()).then(|| {
        item(vec![seq(tags::REFERENCED_INSTANCE_SEQUENCE, instances), text(tags::SERIES_INSTANCE_UID, VR::UI, series)])
    })
}

/// The pixel data: each frame's rows × columns bits (row-major, least
/// significant bit first), frames back to back without padding between
/// them, the whole padded to an even length.
fn pack_frames(labels: &LabelMap, frames: &[Frame]) -> Vec<u8> {
    let per_frame = labels.dims()[0] * labels.dims()[1];
    let bits = per_frame * frames.len();
    let mut out = vec![0u8; bits.div_ceil(8).next_multiple_of(2)];
    for (f, frame) in frames.iter().enumerate() {
        let base = f * per_frame;
        for (p, _) in labels.slice_k(frame.k).iter().enumerate().filter(|(_, v)| **v == frame.class) {
            let bit = base + p;
            out[bit / 8] |= 1 << (bit % 8);
        }
    }
    out
}

/// The SEG as file bytes: preamble, file meta (Explicit VR Little Endian)
/// and data set.
fn encode(obj: InMemDicomObject) -> Result<Vec<u8>, String> {
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|e| format!("cannot build the DICOM file meta: {e}"))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).map_err(|e| format!("cannot encode the DICOM SEG: {e}"))?;
    Ok(bytes)
}

/// A text element (trailing padding is added by the encoder).
fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A US element with one or more values.
fn us(tag: Tag, values: &[u16]) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::U16(C::from_slice(values)))
}

/// A DS element with one or more values.
fn ds(tag: Tag, values: &[f64]) -> DataElement<InMemDicomObject> {
    let s: Vec<String> = values.iter().map(|&v| ds_string(v)).collect();
    DataElement::new(tag, VR::DS, PrimitiveValue::from(s.join("\\")))
}

/// A decimal string of at most 16 characters (the DS limit) keeping as many
/// digits as fit.
fn ds_string(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0"
    let s = format!("{v}");
    if s.len() <= 16 {
        return s;
    }
    for decimals in (0..=15).rev() {
        let mut s = format!("{v:.decimals$}");
        if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        if s.len() <= 16 {
            return if s == "-0" { "0".into() } else { s };
        }
    }
    (0..=9).rev().map(|p| format!("{v:.p$e}")).find(|s| s.len() <= 16).unwrap_or_else(|| "0".into())
}

/// A sequence element.
fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// A sequence item (or any data set) from elements.
fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// A Code Sequence Macro item.
fn code_item_parts(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    item(vec![
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// A Code Sequence Macro item of a [`Code`].
fn code_item(c: &Code) -> InMemDicomObject {
    code_item_parts(&c.value, c.scheme, &c.meaning)
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Reads the DICOM SEG at `path` as a label map on the scan grid `grid` ×
/// `dims`: each segment becomes the class its property type code (or, for
/// codes Vasa does not know, its label) stands for; where segments overlap
/// the later frame wins.
///
/// Refuses, with an error naming the file and the reason, a file that is
/// not a SEG, a SEG that is not BINARY (fractional, label-map), a SEG whose
/// frames are not on the grid (other size, orientation or pixel spacing, a
/// position more than 1/4 voxel off a slice, or outside the scan), a
/// segment whose class is unknown, and a malformed file (missing
/// attributes, short pixel data). Never panics on hostile input.
pub fn read_seg(path: &Path, grid: &Geometry, dims: [usize; 3]) -> Result<LabelMap, ExportError> {
    let size = std::fs::metadata(path).map_err(|e| ExportError::io(path, e))?.len();
    if size > MAX_SEG_BYTES {
        return Err(ExportError::bad(path, format!("{size} bytes is more than a SEG Vasa reads (4 GiB)")));
    }
    let bytes = std::fs::read(path).map_err(|e| ExportError::io(path, e))?;
    let file = parse(&bytes).map_err(|what| ExportError::bad(path, what))?;
    let rebuilt = catch_unwind(AssertUnwindSafe(|| rebuild(&file, grid, dims)))
        .unwrap_or_else(|_| Err("the SEG reader crashed on this file".into()));
    rebuilt.map_err(|what| ExportError::bad(path, what))
}

/// The largest SEG file [`read_seg`] reads (a 512 × 512 × 1000 scan with
/// four classes on every slice needs 128 MiB).
const MAX_SEG_BYTES: u64 = 4 << 30;

/// Parses file bytes (preamble, meta, data set), refusing what is not DICOM
/// and, before the parser sees them, lengths the file cannot hold.
fn parse(bytes: &[u8]) -> Result<FileDicomObject<InMemDicomObject>, String> {
    if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
        return Err("not a DICOM file (no DICM marker after the 128-byte preamble)".into());
    }
    length_check::check_lengths(bytes)?;
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        OpenFileOptions::new().read_preamble(ReadPreamble::Always).from_reader(bytes)
    }));
    match parsed {
        Ok(Ok(file)) => Ok(file),
        Ok(Err(e)) => Err(format!("cannot parse the DICOM file: {}", error_chain(&e))),
        Err(_) => Err("the DICOM parser crashed on this file".into()),
    }
}

/// An error and its causes, joined by ": ".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The frames of a SEG, read and checked, ready to paint.
struct SegFrame {
    class: u8,
    k: usize,
}

/// Rebuilds the label map from a parsed SEG (see [`read_seg`]).
fn rebuild(file: &FileDicomObject<InMemDicomObject>, grid: &Geometry, dims: [usize; 3]) -> Result<LabelMap, String> {
    let obj: &InMemDicomObject = file;
    check_is_binary_seg(obj, file.meta().media_storage_sop_class_uid())?;
    let [nx, ny, _] = dims;
    let (rows, cols) = (required_uint(obj, tags::ROWS, "Rows")?, required_uint(obj, tags::COLUMNS, "Columns")?);
    if (rows, cols) != (ny as u64, nx as u64) {
        return Err(format!("the SEG's frames are {cols}×{rows} pixels but the scan's slices are {nx}×{ny}"));
    }
    let classes = segment_classes(obj)?;
    let frames = read_frames(obj, &classes, grid, dims)?;
    let bits = pixel_bits(obj, frames.len(), nx * ny)?;
    let mut labels = LabelMap::filled(dims, 0, *grid);
    let slice_len = nx * ny;
    for (f, frame) in frames.iter().enumerate() {
        let slice = &mut labels.data_mut()[frame.k * slice_len..(frame.k + 1) * slice_len];
        for (p, v) in slice.iter_mut().enumerate() {
            let bit = f * slice_len + p;
            if bits[bit / 8] >> (bit % 8) & 1 == 1 {
                *v = frame.class;
            }
        }
    }
    Ok(labels)
}

/// Refuses what is not a binary SEG: another SOP class, a fractional or
/// label-map segmentation, or pixels that are not 1 bit.
fn check_is_binary_seg(obj: &InMemDicomObject, meta_class: &str) -> Result<(), String> {
    let class = get_text(obj, tags::SOP_CLASS_UID).unwrap_or_else(|| meta_class.to_string());
    if class != SEGMENTATION_STORAGE {
        let what = if class == uids::LABEL_MAP_SEGMENTATION_STORAGE { " (a label-map segmentation)" } else { "" };
        return Err(format!("not a binary DICOM SEG: its SOP class is {class}{what}, not {SEGMENTATION_STORAGE}"));
    }
    let kind = get_text(obj, tags::SEGMENTATION_TYPE).unwrap_or_default();
    if kind != "BINARY" {
        return Err(format!("not a binary SEG: SegmentationType is {kind:?}; only BINARY segmentations are read"));
    }
    let bits = required_uint(obj, tags::BITS_ALLOCATED, "BitsAllocated")?;
    if bits != 1 {
        return Err(format!("a binary SEG must have BitsAllocated 1, this one has {bits}"));
    }
    Ok(())
}

/// The class of every segment number, from SegmentSequence.
fn segment_classes(obj: &InMemDicomObject) -> Result<std::collections::HashMap<u64, u8>, String> {
    let items = get_items(obj, tags::SEGMENT_SEQUENCE).ok_or("SegmentSequence (0062,0002) is missing or empty")?;
    let mut classes = std::collections::HashMap::new();
    for (i, seg) in items.iter().enumerate() {
        let number = required_uint(seg, tags::SEGMENT_NUMBER, "SegmentNumber")
            .map_err(|e| format!("segment item {}: {e}", i + 1))?;
        let label = get_text(seg, tags::SEGMENT_LABEL).unwrap_or_default();
        let by_code =
            get_items(seg, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE).and_then(|c| c.first()).and_then(|c| {
                class_of_code(&get_text(c, tags::CODING_SCHEME_DESIGNATOR)?, &get_text(c, tags::CODE_VALUE)?)
            });
        let class = by_code.or_else(|| class_of_label(&label)).ok_or_else(|| {
            format!("segment {number} ({label:?}) is of a structure Vasa has no class for (not artery, vein, aorta or lesion)")
        })?;
        if classes.insert(number, class).is_some() {
            return Err(format!("segment number {number} appears twice in SegmentSequence"));
        }
    }
    Ok(classes)
}

/// Every frame's class and slice, checking each frame's orientation, pixel
/// spacing and position against the grid.
fn read_frames(
    obj: &InMemDicomObject,
    classes: &std::collections::HashMap<u64, u8>,
    grid: &Geometry,
    dims: [usize; 3],
) -> Result<Vec<SegFrame>, String> {
    let n = required_uint(obj, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?;
    let per_frame = get_items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).unwrap_or(&[]);
    if per_frame.len() as u64 != n {
        return Err(format!(
            "NumberOfFrames is {n} but PerFrameFunctionalGroupsSequence (5200,9230) has {} items",
            per_frame.len()
        ));
    }
    let shared = get_items(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|s| s.first());
    per_frame
        .iter()
        .enumerate()
        .map(|(f, frame)| read_frame(frame, shared, classes, grid, dims).map_err(|e| format!("frame {}: {e}", f + 1)))
        .collect()
}

/// One frame's class and slice (see [`read_frames`]).
fn read_frame(
    frame: &InMemDicomObject,
    shared: Option<&InMemDicomObject>,
    classes: &std::collections::HashMap<u64, u8>,
    grid: &Geometry,
    dims: [usize; 3],
) -> Result<SegFrame, String> {
    let group = |seq: Tag| {
        get_items(frame, seq).and_then(|s| s.first()).or_else(|| shared.and_then(|s| get_items(s, seq)?.first()))
    };
    let orientation = group(tags::PLANE_ORIENTATION_SEQUENCE)
        .and_then(|g| fixed_floats::<6>(g, tags::IMAGE_ORIENTATION_PATIENT))
        .ok_or("no readable ImageOrientationPatient (0020,0037)")?;
    check_orientation(orientation, grid, dims)?;
    let spacing = group(tags::PIXEL_MEASURES_SEQUENCE)
        .and_then(|g| fixed_floats::<2>(g, tags::PIXEL_SPACING))
        .ok_or("no readable PixelSpacing (0028,0030)")?;
    check_pixel_spacing(spacing, grid, dims)?;
    let position = group(tags::PLANE_POSITION_SEQUENCE)
        .and_then(|g| fixed_floats::<3>(g, tags::IMAGE_POSITION_PATIENT))
        .ok_or("no readable ImagePositionPatient (0020,0032)")?;
    let k = slice_of_position(position, grid, dims[2])?;
    let segment = group(tags::SEGMENT_IDENTIFICATION_SEQUENCE)
        .ok_or("no SegmentIdentificationSequence (0062,000A)")
        .and_then(|g| {
            required_uint(g, tags::REFERENCED_SEGMENT_NUMBER, "ReferencedSegmentNumber")
                .map_err(|_| "no ReferencedSegmentNumber (0062,000B)")
        })?;
    let class = *classes.get(&segment).ok_or_else(|| format!("segment {segment} is not in SegmentSequence"))?;
    Ok(SegFrame { class, k })
}

/// Refuses an ImageOrientationPatient whose row or column direction differs
/// from the grid's i or j axis by more than would move the far edge of a
/// slice by 1/4 voxel.
fn check_orientation(iop: [f64; 6], grid: &Geometry, dims: [usize; 3]) -> Result<(), String> {
    let row = DVec3::new(iop[0], iop[1], iop[2]);
    let col = DVec3::new(iop[3], iop[4], iop[5]);
    let tolerance = 0.25 / dims[0].max(dims[1]).max(1) as f64;
    let off = |v: DVec3, axis: DVec3| (v.normalize_or_zero() - axis).length();
    if off(row, grid.direction.col(0)) > tolerance || off(col, grid.direction.col(1)) > tolerance {
        let d = grid.direction;
        return Err(format!(
            "its orientation {iop:?} differs from the scan's ({:?}): the SEG is not on this scan's grid",
            [d.col(0).x, d.col(0).y, d.col(0).z, d.col(1).x, d.col(1).y, d.col(1).z]
        ));
    }
    Ok(())
}

/// Refuses a PixelSpacing ([between rows, between columns]) that differs
/// from the grid's by more than 1/4 voxel over the whole slice.
fn check_pixel_spacing(spacing: [f64; 2], grid: &Geometry, dims: [usize; 3]) -> Result<(), String> {
    let [row, col] = spacing;
    let ok = |seg: f64, scan: f64, n: usize| (seg - scan).abs() * n.max(1) as f64 <= 0.25 * scan;
    if !(ok(col, grid.spacing.x, dims[0]) && ok(row, grid.spacing.y, dims[1])) {
        return Err(format!(
            "its pixel spacing {col} × {row} mm differs from the scan's {} × {} mm: the SEG is not on this scan's grid",
            grid.spacing.x, grid.spacing.y
        ));
    }
    Ok(())
}

/// The slice a frame position lies on: the frame's first pixel must be
/// within 1/4 voxel of voxel (0, 0, k) of the grid, with k inside the scan.
fn slice_of_position(ipp: [f64; 3], grid: &Geometry, nz: usize) -> Result<usize, String> {
    let v = grid.world_to_voxel(DVec3::from_array(ipp));
    let k = v.z.round();
    let off = DVec3::new(v.x, v.y, v.z - k).abs();
    if !off.is_finite() || off.max_element() > 0.25 {
        return Err(format!(
            "its first pixel at {ipp:?} mm falls at voxel ({:.2}, {:.2}, {:.2}) of the scan, more than 1/4 voxel \
             off the grid: the SEG is not on this scan's grid",
            v.x, v.y, v.z
        ));
    }
    if k < 0.0 || k >= nz as f64 {
        return Err(format!("its position {ipp:?} mm is slice {k} of the scan, which has slices 0..{}", nz));
    }
    Ok(k as usize)
}

/// The packed pixel bits of `frames` frames of `per_frame` pixels, refusing
/// pixel data that is missing, compressed or too short.
fn pixel_bits(obj: &InMemDicomObject, frames: usize, per_frame: usize) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    let element = obj.get(tags::PIXEL_DATA).ok_or("PixelData (7FE0,0010) is missing")?;
    let bytes = element
        .value()
        .to_bytes()
        .map_err(|_| "PixelData is compressed (encapsulated); only uncompressed SEGs are read".to_string())?;
    let needed = frames.checked_mul(per_frame).map(|b| b.div_ceil(8)).ok_or("the frame count is absurdly large")?;
    if bytes.len() < needed {
        return Err(format!(
            "PixelData is too short: {} bytes for {frames} frames of {per_frame} one-bit pixels (needs {needed})",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// A trimmed, non-empty text value.
fn get_text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.value().to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// The items of a sequence, when present and not empty.
fn get_items(obj: &InMemDicomObject, tag: Tag) -> Option<&[InMemDicomObject]> {
    obj.get(tag)?.items().filter(|i| !i.is_empty())
}

/// A non-negative integer attribute (US, UL, IS), or an error naming it.
fn required_uint(obj: &InMemDicomObject, tag: Tag, name: &str) -> Result<u64, String> {
    let e = obj.get(tag).ok_or_else(|| format!("{name} is missing"))?;
    if let Ok(v) = e.value().to_int::<u64>() {
        return Ok(v);
    }
    let s = e.value().to_str().map_err(|_| format!("{name} is not a number"))?;
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .parse()
        .map_err(|_| format!("{name} is not a non-negative integer ({s:?})"))
}

/// Exactly `N` finite numbers of a DS attribute.
fn fixed_floats<const N: usize>(obj: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    let e = obj.get(tag)?;
    let values: Vec<f64> = match e.value().to_multi_float64() {
        Ok(v) => v,
        Err(_) => {
            let s = e.value().to_str().ok()?;
            s.split('\\')
                .map(|p| p.trim_matches(|c: char| c == '\0' || c.is_whitespace()).parse().ok())
                .collect::<Option<_>>()?
        }
    };
    let out: [f64; N] = values.get(..N)?.try_into().ok()?;
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// A byte-level walk of a DICOM file's element headers, run before the
/// parser: see [`check_lengths`](length_check::check_lengths).
mod length_check {
    use dicom_core::{Tag, VR};
    use dicom_dictionary_std::{tags, uids};

    /// The value length that marks an undefined length (sequences, items,
    /// encapsulated pixel data).
    const UNDEFINED_LENGTH: usize = 0xFFFF_FFFF;

    /// Item (FFFE,E000), Item Delimitation Item (FFFE,E00D) and Sequence
    /// Delimitation Item (FFFE,E0DD) tags.
    const ITEM: Tag = Tag(0xFFFE, 0xE000);
    const ITEM_DELIMITER: Tag = Tag(0xFFFE, 0xE00D);
    const SEQUENCE_DELIMITER: Tag = Tag(0xFFFE, 0xE0DD);

    /// How deep sequences may nest before a file is called hostile.
    const MAX_DEPTH: usize = 32;

    /// Walks the element headers of a DICOM file (meta group, then the data set
    /// in Explicit or Implicit VR Little Endian) and refuses any defined length
    /// that runs past its container. The parser allocates a value's declared
    /// length before reading it, so without this a few corrupt bytes could cost
    /// up to 4 GiB of memory. Deflated and big-endian data sets are left to the
    /// parser.
    pub(super) fn check_lengths(bytes: &[u8]) -> Result<(), String> {
        let mut walker = LengthWalker { bytes, explicit: true };
        let mut p = 132;
        let mut transfer_syntax = String::new();
        while p + 8 <= bytes.len() && u16_at(bytes, p) == 0x0002 {
            let h = walker.header(p, bytes.len())?;
            let end = value_end(p, &h, bytes.len())?;
            if h.tag == tags::TRANSFER_SYNTAX_UID {
                transfer_syntax = String::from_utf8_lossy(&bytes[p + h.size..end]).trim_end_matches(['\0', ' ']).into();
            }
            p = end;
        }
        match transfer_syntax.as_str() {
            uids::IMPLICIT_VR_LITTLE_ENDIAN => walker.explicit = false,
            // Explicit VR Big Endian (retired) and deflated data sets.
            "1.2.840.10008.1.2.2" | uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => return Ok(()),
            _ => {}
        }
        match walker.elements(p, bytes.len(), 0)? {
            (_, true) => Err("an item delimiter stands outside any sequence".into()),
            (_, false) => Ok(()),
        }
    }

    /// See [`check_lengths`].
    #[derive(Clone, Copy)]
    struct LengthWalker<'a> {
        bytes: &'a [u8],
        explicit: bool,
    }

    /// An element header: tag, VR facts that matter for nesting, header size
    /// and value length.
    struct Header {
        tag: Tag,
        /// Holds a sequence of items (VR SQ, or by the dictionary when implicit).
        sequence: bool,
        /// VR UN (explicit): undefined-length content is implicit VR.
        unknown: bool,
        size: usize,
        len: usize,
    }

    /// A little-endian u16 at `p` (the caller checked the bounds).
    fn u16_at(b: &[u8], p: usize) -> u16 {
        u16::from_le_bytes([b[p], b[p + 1]])
    }

    /// A little-endian u32 at `p` (the caller checked the bounds), as usize.
    fn u32_at(b: &[u8], p: usize) -> usize {
        u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize
    }

    /// True when the standard dictionary says `tag` is a sequence (for
    /// Implicit VR, where the file does not say).
    fn is_sequence_tag(tag: Tag) -> bool {
        use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
        dicom_dictionary_std::StandardDataDictionary.by_tag(tag).is_some_and(|e| e.vr() == VirtualVr::Exact(VR::SQ))
    }

    /// Where the value of the element at `p` ends, refusing a length that runs
    /// past `end`.
    fn value_end(p: usize, h: &Header, end: usize) -> Result<usize, String> {
        (p + h.size).checked_add(h.len).filter(|&e| e <= end).ok_or_else(|| {
            format!(
                "element ({:04X},{:04X}) at byte {p} declares {} bytes, more than its container holds (the file is \
                 truncated or corrupt)",
                h.tag.group(),
                h.tag.element(),
                h.len
            )
        })
    }

    impl LengthWalker<'_> {
        /// The header of the element at `p`, which must lie before `end`.
        fn header(&self, p: usize, end: usize) -> Result<Header, String> {
            let b = self.bytes;
            let truncated = || format!("the element header at byte {p} runs past the end of its container");
            if p.checked_add(8).is_none_or(|e| e > end) {
                return Err(truncated());
            }
            let tag = Tag(u16_at(b, p), u16_at(b, p + 2));
            if tag.group() == 0xFFFE || !self.explicit {
                let sequence = tag.group() != 0xFFFE && is_sequence_tag(tag);
                return Ok(Header { tag, sequence, unknown: false, size: 8, len: u32_at(b, p + 4) });
            }
            // PS3.5 7.1.2: these VRs have a 16-bit length; all others (and, as
            // the parser reads them, unknown VRs, taken as UN) a 32-bit one.
            let vr = VR::from_binary([b[p + 4], b[p + 5]]);
            let short = matches!(
                vr,
                Some(
                    VR::AE
                        | VR::AS
                        | VR::AT
                        | VR::CS
                        | VR::DA
                        | VR::DS
                        | VR::DT
                        | VR::FL
                        | VR::FD
                        | VR::IS
                        | VR::LO
                        | VR::LT
                        | VR::PN
                        | VR::SH
                        | VR::SL
                        | VR::SS
                        | VR::ST
                        | VR::TM
                        | VR::UI
                        | VR::UL
                        | VR::US
                )
            );
            if short {
                return Ok(Header {
                    tag,
                    sequence: false,
                    unknown: false,
                    size: 8,
                    len: usize::from(u16_at(b, p + 6)),
                });
            }
            if p + 12 > end {
                return Err(truncated());
            }
            let (sequence, unknown) = (vr == Some(VR::SQ), vr.is_none_or(|vr| vr == VR::UN));
            Ok(Header { tag, sequence, unknown, size: 12, len: u32_at(b, p + 8) })
        }

        /// Walks the data set elements from `p` up to `end`, or through an item
        /// delimiter. Returns where it stopped and whether a delimiter ended it.
        fn elements(&self, mut p: usize, end: usize, depth: usize) -> Result<(usize, bool), String> {
            while p < end {
                let h = self.header(p, end)?;
                if h.tag == ITEM_DELIMITER {
                    return Ok((p + 8, true));
                }
                if h.tag.group() == 0xFFFE {
                    return Err(format!("an item tag where a data element should be, at byte {p}"));
                }
                let start = p + h.size;
                p = if h.len != UNDEFINED_LENGTH {
                    let stop = value_end(p, &h, end)?;
                    if h.sequence {
                        self.items(start, stop, depth + 1, false)?;
                    }
                    stop
                } else if h.tag == tags::PIXEL_DATA {
                    self.fragments(start, end)?
                } else if !self.explicit || h.sequence {
                    self.items(start, end, depth + 1, true)?
                } else if h.unknown {
                    LengthWalker { explicit: false, ..*self }.items(start, end, depth + 1, true)?
                } else {
                    return Err(format!(
                        "element ({:04X},{:04X}) at byte {p} has an undefined length but is not a sequence",
                        h.tag.group(),
                        h.tag.element()
                    ));
                };
            }
            Ok((p, false))
        }

        /// Walks the items of a sequence from `p`: up to `end`, or (`delimited`)
        /// through the sequence delimiter. Returns where it stopped.
        fn items(&self, mut p: usize, end: usize, depth: usize, delimited: bool) -> Result<usize, String> {
            if depth > MAX_DEPTH {
                return Err(format!("sequences nest more than {MAX_DEPTH} deep"));
            }
            while p < end {
                let h = self.header(p, end)?;
                if h.tag == SEQUENCE_DELIMITER {
                    return Ok(p + 8);
                }
                if h.tag != ITEM {
                    return Err(format!("a sequence holds something other than an item at byte {p}"));
                }
                p = if h.len == UNDEFINED_LENGTH {
                    match self.elements(p + 8, end, depth)? {
                        (q, true) => q,
                        (_, false) => return Err("a sequence item runs past the end of its container".into()),
                    }
                } else {
                    let stop = value_end(p, &h, end)?;
                    self.elements(p + 8, stop, depth)?;
                    stop
                };
            }
            if delimited {
                return Err("a sequence runs past the end of its container".into());
            }
            Ok(p)
        }

        /// Walks encapsulated pixel data fragments through the sequence delimiter.
        fn fragments(&self, mut p: usize, end: usize) -> Result<usize, String> {
            while p < end {
                let h = self.header(p, end)?;
                if h.tag == SEQUENCE_DELIMITER {
                    return Ok(p + 8);
                }
                if h.tag != ITEM {
                    return Err(format!("encapsulated pixel data holds something other than a fragment at byte {p}"));
                }
                p = value_end(p, &h, end)?;
            }
            Err("encapsulated pixel data runs past the end of the file".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cielab_of_known_colours() {
        // White: L* 100, a* = b* = 0 (0 maps to 128/255 of the range).
        let w = srgb_to_dicom_lab([255, 255, 255]);
        assert_eq!(w[0], 65535);
        assert!((i32::from(w[1]) - 32896).abs() <= 2 && (i32::from(w[2]) - 32896).abs() <= 2, "{w:?}");
        // Pure sRGB red is L* 53.24, a* 80.09, b* 67.20.
        let r = srgb_to_dicom_lab([255, 0, 0]);
        let expect = [53.24 / 100.0 * 65535.0, (80.09 + 128.0) / 255.0 * 65535.0, (67.20 + 128.0) / 255.0 * 65535.0];
        for (got, want) in r.iter().zip(expect) {
            assert!((f64::from(*got) - want).abs() < 30.0, "{r:?} vs {expect:?}");
        }
        assert_eq!(srgb_to_dicom_lab([0, 0, 0])[0], 0);
    }

    #[test]
    fn decimal_strings_fit_sixteen_characters() {
        for v in [0.0, -0.0, 1.5, -123.456_789_012_345_68, 0.906_307_787_036_65, 1e-17, 1e20, -1e-300, 65535.123456789]
        {
            let s = ds_string(v);
            assert!(s.len() <= 16, "{v} -> {s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - v).abs() <= 1e-9 * v.abs().max(1.0), "{v} -> {s}");
        }
        assert_eq!(ds_string(-0.0), "0");
    }

    #[test]
    fn uids_are_fresh_and_valid() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
        for u in [&a, &b] {
            assert!(u.starts_with("2.25.") && u.len() <= 64, "{u}");
            let n = &u[5..];
            assert!(n.chars().all(|c| c.is_ascii_digit()) && (n == "0" || !n.starts_with('0')), "{u}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn codes_map_back_to_their_classes() {
        for class in 1..=6u8 {
            let (_, t) = class_codes(class);
            assert_eq!(class_of_code(t.scheme, &t.value), Some(class));
        }
        assert_eq!(class_of_label("Left pulmonary artery"), Some(1));
        assert_eq!(class_of_label("Thoracic aorta"), Some(3));
        assert_eq!(class_of_label("liver"), None);
    }

    #[test]
    fn frames_are_packed_back_to_back() {
        // 3×3 slices: 9 bits per frame, so frame 2 starts inside byte 1.
        let mut labels = LabelMap::filled([3, 3, 2], 0, Geometry::default());
        labels.data_mut()[0] = 1; // frame 0 (class 1, k 0), bit 0
        labels.data_mut()[9 + 8] = 2; // frame 1 (class 2, k 1), bit 9 + 8 = 17
        let frames = [Frame { segment: 1, class: 1, k: 0 }, Frame { segment: 2, class: 2, k: 1 }];
        let bytes = pack_frames(&labels, &frames);
        assert_eq!(bytes, vec![0b0000_0001, 0, 0b0000_0010, 0]);
    }
}
