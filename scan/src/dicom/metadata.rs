//! What a viewer shows about a study ([`StudyMetadata`]) and the small helpers
//! that read typed attribute values out of a parsed DICOM header, telling an
//! absent attribute apart from one whose value cannot be read.

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use serde::Serialize;

/// Patient, study and series facts that a viewer displays next to the images.
///
/// Every field is optional because DICOM makes almost all of them optional
/// (and anonymisation removes many). Text values are trimmed of DICOM padding.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudyMetadata {
    /// PatientName (0010,0010), DICOM person-name form (`Family^Given`).
    pub patient_name: Option<String>,
    /// PatientID (0010,0020).
    pub patient_id: Option<String>,
    /// PatientBirthDate (0010,0030), `YYYYMMDD` as stored.
    pub patient_birth_date: Option<String>,
    /// PatientSex (0010,0040): `M`, `F` or `O`.
    pub patient_sex: Option<String>,
    /// StudyDate (0008,0020), `YYYYMMDD` as stored.
    pub study_date: Option<String>,
    /// StudyTime (0008,0030), `HHMMSS.frac` as stored.
    pub study_time: Option<String>,
    /// StudyDescription (0008,1030).
    pub study_description: Option<String>,
    /// AccessionNumber (0008,0050).
    pub accession_number: Option<String>,
    /// StudyInstanceUID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// SeriesInstanceUID (0020,000E).
    pub series_instance_uid: Option<String>,
    /// FrameOfReferenceUID (0020,0052): the patient coordinate system the
    /// slice positions are given in (what a derived object such as a DICOM
    /// SEG must share). Not in the JSON form, which stays as it was.
    #[serde(skip)]
    pub frame_of_reference_uid: Option<String>,
    /// The source image of every decoded slice, in slice order: sorted along
    /// the slice normal (as the volume's k), duplicates dropped. Filled by
    /// [`load_series`](super::load_series); empty in a folder scan's
    /// [`SeriesInfo`](super::SeriesInfo) and for NIfTI. One per volume slice,
    /// except when irregular spacing was resampled along k (the load then
    /// warns, and the volume has more slices than this list). Kept for
    /// references back to the source images (a DICOM SEG export); not in the
    /// JSON form.
    #[serde(skip)]
    pub slices: Vec<SourceSlice>,
    /// Modality (0008,0060), e.g. `CT`.
    pub modality: Option<String>,
    /// SeriesDescription (0008,103E).
    pub series_description: Option<String>,
    /// SeriesNumber (0020,0011).
    pub series_number: Option<i32>,
    /// ContrastBolusAgent (0018,0010): present when contrast was given.
    pub contrast_agent: Option<String>,
    /// Manufacturer (0008,0070).
    pub manufacturer: Option<String>,
    /// ManufacturerModelName (0008,1090).
    pub manufacturer_model: Option<String>,
    /// BodyPartExamined (0018,0015).
    pub body_part: Option<String>,
    /// KVP (0018,0060): peak tube voltage in kV.
    pub kvp: Option<f64>,
    /// ConvolutionKernel (0018,1210): the reconstruction kernel.
    pub convolution_kernel: Option<String>,
    /// SliceThickness (0018,0050) in mm, as stated by the scanner. This is the
    /// nominal reconstructed thickness, not the spacing between slices.
    pub slice_thickness: Option<f64>,
}

/// The DICOM image one slice of a loaded series came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceSlice {
    /// SOPInstanceUID (0008,0018) of the image (file) holding the slice.
    pub sop_instance_uid: String,
    /// SOPClassUID (0008,0016) of that image, e.g. CT Image Storage.
    pub sop_class_uid: String,
    /// Frame number of the slice within that image, from 1 (always 1 for a
    /// single-frame image).
    pub frame_number: u32,
}

impl StudyMetadata {
    /// Reads the displayed fields and the study, series and frame-of-reference
    /// UIDs from a header (missing or unreadable values stay `None`).
    pub(crate) fn from_object(obj: &InMemDicomObject) -> Self {
        StudyMetadata {
            patient_name: text(obj, tags::PATIENT_NAME),
            patient_id: text(obj, tags::PATIENT_ID),
            patient_birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
            patient_sex: text(obj, tags::PATIENT_SEX),
            study_date: text(obj, tags::STUDY_DATE),
            study_time: text(obj, tags::STUDY_TIME),
            study_description: text(obj, tags::STUDY_DESCRIPTION),
            accession_number: text(obj, tags::ACCESSION_NUMBER),
            study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
            series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
            frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
            slices: Vec::new(),
            modality: text(obj, tags::MODALITY),
            series_description: text(obj, tags::SERIES_DESCRIPTION),
            series_number: int(obj, tags::SERIES_NUMBER).ok().flatten().and_then(|v| i32::try_from(v).ok()),
            contrast_agent: text(obj, tags::CONTRAST_BOLUS_AGENT),
            manufacturer: text(obj, tags::MANUFACTURER),
            manufacturer_model: text(obj, tags::MANUFACTURER_MODEL_NAME),
            body_part: text(obj, tags::BODY_PART_EXAMINED),
            kvp: float(obj, tags::KVP).ok().flatten().filter(|v| v.is_finite()),
            convolution_kernel: text(obj, tags::CONVOLUTION_KERNEL),
            slice_thickness: float(obj, tags::SLICE_THICKNESS).ok().flatten().filter(|v| v.is_finite()),
        }
    }
}

/// `Keyword (gggg,eeee)`, the way error messages name a tag.
pub(crate) fn tag_name(tag: Tag) -> String {
    match StandardDataDictionary.by_tag(tag) {
        Some(e) => format!("{} ({:04X},{:04X})", e.alias(), tag.group(), tag.element()),
        None => format!("({:04X},{:04X})", tag.group(), tag.element()),
    }
}

/// A trimmed, non-empty text value; `None` when absent, empty or not text.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    let s = e.value().to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// All numbers of a numeric attribute (DS, IS, FD, US, ...). `Ok(None)` when
/// absent or empty, `Err` (naming the tag) when present but unreadable.
pub(crate) fn floats(obj: &InMemDicomObject, tag: Tag) -> Result<Option<Vec<f64>>, String> {
    let Some(e) = obj.get(tag) else { return Ok(None) };
    if e.value().multiplicity() == 0 {
        return Ok(None);
    }
    // Empty text values count as absent.
    if let Ok(s) = e.value().to_str()
        && s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).is_empty()
    {
        return Ok(None);
    }
    match e.value().to_multi_float64() {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(err) => {
            // A single text value holding backslash-separated numbers.
            let parsed: Option<Vec<f64>> = e.value().to_str().ok().and_then(|s| {
                s.split('\\').map(|p| p.trim_matches(|c: char| c == '\0' || c.is_whitespace()).parse().ok()).collect()
            });
            parsed.ok_or_else(|| format!("{} cannot be read as numbers: {err}", tag_name(tag))).map(Some)
        }
    }
}

/// The first number of a numeric attribute; see [`floats`].
pub(crate) fn float(obj: &InMemDicomObject, tag: Tag) -> Result<Option<f64>, String> {
    Ok(floats(obj, tag)?.and_then(|v| v.first().copied()))
}

/// An integer attribute (US, SS, UL, IS, ...); see [`floats`] for the contract.
pub(crate) fn int(obj: &InMemDicomObject, tag: Tag) -> Result<Option<i64>, String> {
    let Some(e) = obj.get(tag) else { return Ok(None) };
    if e.value().multiplicity() == 0 {
        return Ok(None);
    }
    if let Ok(s) = e.value().to_str()
        && s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).is_empty()
    {
        return Ok(None);
    }
    match e.value().to_int::<i64>() {
        Ok(v) => Ok(Some(v)),
        Err(_) => match e.value().to_float64() {
            // "512.0" in an IS is wrong but harmless.
            Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(format!("{} cannot be read as an integer", tag_name(tag))),
        },
    }
}

/// Exactly `n` finite numbers, or an error naming the tag.
pub(crate) fn fixed_floats<const N: usize>(obj: &InMemDicomObject, tag: Tag) -> Result<Option<[f64; N]>, String> {
    let Some(v) = floats(obj, tag)? else { return Ok(None) };
    if v.len() < N {
        return Err(format!("{} has {} values, expected {N}", tag_name(tag), v.len()));
    }
    let mut out = [0.0; N];
    out.copy_from_slice(&v[..N]);
    if let Some(bad) = out.iter().find(|x| !x.is_finite()) {
        return Err(format!("{} holds a non-finite value ({bad})", tag_name(tag)));
    }
    Ok(Some(out))
}

/// The name of a SOP class that holds no image pixels, for skip reasons.
pub(crate) fn sop_class_name(uid: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("1.2.840.10008.1.3.10", "Media Storage Directory (DICOMDIR)"),
        ("1.2.840.10008.5.1.4.1.1.481.3", "RT Structure Set"),
        ("1.2.840.10008.5.1.4.1.1.481.5", "RT Plan"),
        ("1.2.840.10008.5.1.4.1.1.481.8", "RT Ion Plan"),
        ("1.2.840.10008.5.1.4.1.1.481.4", "RT Beams Treatment Record"),
        ("1.2.840.10008.5.1.4.1.1.481.7", "RT Treatment Summary Record"),
        ("1.2.840.10008.5.1.4.1.1.66", "Raw Data"),
        ("1.2.840.10008.5.1.4.1.1.66.1", "Spatial Registration"),
        ("1.2.840.10008.5.1.4.1.1.66.3", "Deformable Spatial Registration"),
        ("1.2.840.10008.5.1.4.1.1.66.4", "Segmentation"),
        ("1.2.840.10008.5.1.4.1.1.66.5", "Surface Segmentation"),
        ("1.2.840.10008.5.1.4.1.1.104.1", "Encapsulated PDF"),
        ("1.2.840.10008.5.1.4.1.1.104.2", "Encapsulated CDA"),
        ("1.2.840.10008.5.1.4.1.1.88.59", "Key Object Selection"),
        ("1.2.840.10008.5.1.4.1.1.88.11", "Basic Text SR"),
        ("1.2.840.10008.5.1.4.1.1.88.22", "Enhanced SR"),
        ("1.2.840.10008.5.1.4.1.1.88.33", "Comprehensive SR"),
        ("1.2.840.10008.5.1.4.1.1.88.67", "X-Ray Radiation Dose SR"),
    ];
    if let Some((_, n)) = NAMES.iter().find(|(u, _)| *u == uid) {
        return Some(n);
    }
    if uid.starts_with("1.2.840.10008.5.1.4.1.1.88.") {
        return Some("Structured Report");
    }
    if uid.starts_with("1.2.840.10008.5.1.4.1.1.11.") {
        return Some("Presentation State");
    }
    if uid.starts_with("1.2.840.10008.5.1.4.1.1.9.") {
        return Some("Waveform");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    #[test]
    fn reads_numbers_and_reports_bad_ones() {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(tags::PIXEL_SPACING, VR::DS, PrimitiveValue::from("0.5\\0.75")));
        obj.put(DataElement::new(tags::SLICE_THICKNESS, VR::DS, PrimitiveValue::from("abc")));
        obj.put(DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, PrimitiveValue::from("1\\2")));
        assert_eq!(fixed_floats::<2>(&obj, tags::PIXEL_SPACING).unwrap(), Some([0.5, 0.75]));
        assert!(float(&obj, tags::SLICE_THICKNESS).unwrap_err().contains("SliceThickness"));
        assert!(fixed_floats::<3>(&obj, tags::IMAGE_POSITION_PATIENT).unwrap_err().contains("2 values"));
        assert_eq!(float(&obj, tags::KVP).unwrap(), None);
    }
}
