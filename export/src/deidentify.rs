//! De-identification of what Vasa writes, following the DICOM PS3.15
//! Annex E Basic Application Level Confidentiality Profile for the
//! attributes Vasa carries ([`StudyMetadata`]).
//!
//! Actions of Table E.1-1 applied by [`metadata`]:
//!
//! | attribute | action | here |
//! |---|---|---|
//! | PatientName, PatientID | Z | replaced by `ANONYMOUS` |
//! | PatientBirthDate, PatientSex | Z | emptied |
//! | StudyDate, StudyTime, AccessionNumber | Z | emptied |
//! | StudyDescription, SeriesDescription | X | removed |
//! | ContrastBolusAgent | D | replaced by `ANONYMIZED` when present |
//! | Study, Series, Frame of Reference, SOP Instance UIDs | U | replaced (see [`replace_uid`]) |
//! | BodyPartExamined | — | removed as well, to be safe |
//!
//! Kept: modality, series number, scanner make and model, kV, kernel and
//! slice thickness (not identifying under the basic profile). Pixel data is
//! not inspected (a label map has no burnt-in text).

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use vasa_scan::dicom::{SourceSlice, StudyMetadata};

/// DeidentificationMethod (0012,0063) written by [`apply`].
pub const METHOD: &str = "DICOM PS3.15 Basic Application Level Confidentiality Profile";

/// The dummy that replaces patient name and ID.
pub const ANONYMOUS: &str = "ANONYMOUS";

/// The de-identified copy of `m` (see the module table): identifying text
/// replaced or emptied, dates removed, and every UID replaced by
/// [`replace_uid`], so that references between objects de-identified the
/// same way (a SEG and its source slices, study and series) stay consistent.
pub fn metadata(m: &StudyMetadata) -> StudyMetadata {
    let uid = |u: &Option<String>| u.as_deref().map(replace_uid);
    StudyMetadata {
        patient_name: Some(ANONYMOUS.into()),
        patient_id: Some(ANONYMOUS.into()),
        patient_birth_date: None,
        patient_sex: None,
        study_date: None,
        study_time: None,
        study_description: None,
        accession_number: None,
        study_instance_uid: uid(&m.study_instance_uid),
        series_instance_uid: uid(&m.series_instance_uid),
        frame_of_reference_uid: uid(&m.frame_of_reference_uid),
        slices: m
            .slices
            .iter()
            .map(|s| SourceSlice { sop_instance_uid: replace_uid(&s.sop_instance_uid), ..s.clone() })
            .collect(),
        modality: m.modality.clone(),
        series_description: None,
        series_number: m.series_number,
        contrast_agent: m.contrast_agent.as_ref().map(|_| "ANONYMIZED".into()),
        manufacturer: m.manufacturer.clone(),
        manufacturer_model: m.manufacturer_model.clone(),
        body_part: None,
        kvp: m.kvp,
        convolution_kernel: m.convolution_kernel.clone(),
        slice_thickness: m.slice_thickness,
    }
}

/// The replacement of a UID: `2.25.` and the decimal of a 128-bit hash
/// (FNV-1a, then a bijective mix) of the original.
///
/// One-way in practice: the original is not stored and cannot be read back
/// from the replacement. Deterministic on purpose: the same original always
/// gives the same replacement (in every run and version of Vasa), which is
/// what keeps a de-identified SEG pointing at the equally de-identified
/// source. It is not keyed, so whoever holds an original UID can recompute
/// its replacement and link the two. An empty UID stays empty.
pub fn replace_uid(uid: &str) -> String {
    let uid = uid.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    if uid.is_empty() {
        return String::new();
    }
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for b in b"vasa-deidentify:".iter().chain(uid.as_bytes()) {
        h ^= u128::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    // Spread the bits (xor-shifts and an odd multiplier are bijective).
    h ^= h >> 67;
    h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    h ^= h >> 59;
    format!("2.25.{h}")
}

/// Marks `obj` as de-identified (PS3.15 E.1.1): PatientIdentityRemoved
/// `YES`, DeidentificationMethod [`METHOD`], DeidentificationMethodCodeSequence
/// DCM 113100 "Basic Application Confidentiality Profile" (CID 7050), and
/// LongitudinalTemporalInformationModified `REMOVED` (dates were removed).
pub fn apply(obj: &mut InMemDicomObject) {
    let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    obj.put(text(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"));
    obj.put(text(tags::DEIDENTIFICATION_METHOD, VR::LO, METHOD));
    let code = InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, "113100"),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM"),
        text(tags::CODE_MEANING, VR::LO, "Basic Application Confidentiality Profile"),
    ]);
    obj.put(DataElement::new(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE, VR::SQ, DataSetSequence::from(vec![code])));
    obj.put(text(tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, VR::CS, "REMOVED"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StudyMetadata {
        StudyMetadata {
            patient_name: Some("Doe^Jane".into()),
            patient_id: Some("12345".into()),
            patient_birth_date: Some("19600101".into()),
            patient_sex: Some("F".into()),
            study_date: Some("20240131".into()),
            study_time: Some("101500".into()),
            study_description: Some("CT chest Doe".into()),
            accession_number: Some("ACC1".into()),
            study_instance_uid: Some("1.2.3".into()),
            series_instance_uid: Some("1.2.3.4".into()),
            frame_of_reference_uid: Some("1.2.3.9".into()),
            slices: vec![SourceSlice {
                sop_instance_uid: "1.2.3.4.1".into(),
                sop_class_uid: "1.2".into(),
                frame_number: 1,
            }],
            modality: Some("CT".into()),
            contrast_agent: Some("Iohexol".into()),
            ..Default::default()
        }
    }

    #[test]
    fn removes_identity_and_dates() {
        let d = metadata(&sample());
        assert_eq!(d.patient_name.as_deref(), Some(ANONYMOUS));
        assert_eq!(d.patient_id.as_deref(), Some(ANONYMOUS));
        assert!(d.patient_birth_date.is_none() && d.patient_sex.is_none() && d.accession_number.is_none());
        assert!(d.study_date.is_none() && d.study_time.is_none() && d.study_description.is_none());
        assert_eq!(d.contrast_agent.as_deref(), Some("ANONYMIZED"));
        assert_eq!(d.modality.as_deref(), Some("CT"));
    }

    #[test]
    fn uids_are_replaced_consistently() {
        let a = metadata(&sample());
        let b = metadata(&sample());
        assert_eq!(a, b, "deterministic");
        let uids = [&a.study_instance_uid, &a.series_instance_uid, &a.frame_of_reference_uid];
        for u in uids {
            let u = u.as_deref().unwrap();
            assert!(u.starts_with("2.25.") && u.len() <= 64 && !u.contains("1.2.3.4"), "{u}");
        }
        assert_ne!(a.study_instance_uid, a.series_instance_uid);
        assert_eq!(a.slices[0].sop_instance_uid, replace_uid("1.2.3.4.1"));
        assert_eq!(a.slices[0].sop_class_uid, "1.2", "SOP classes are not identifying");
        assert_ne!(replace_uid("1.2.3.4.1"), replace_uid("1.2.3.4.2"));
        assert_eq!(replace_uid(""), "");
    }

    #[test]
    fn apply_marks_the_object() {
        let mut obj = InMemDicomObject::new_empty();
        apply(&mut obj);
        let get = |t| obj.get(t).unwrap().value().to_str().unwrap().trim().to_string();
        assert_eq!(get(tags::PATIENT_IDENTITY_REMOVED), "YES");
        assert_eq!(get(tags::DEIDENTIFICATION_METHOD), METHOD);
        let items = obj.get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE).unwrap().items().unwrap();
        assert_eq!(items[0].get(tags::CODE_VALUE).unwrap().value().to_str().unwrap(), "113100");
    }
}
