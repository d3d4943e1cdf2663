//! Writers of synthetic DICOM series for tests, benchmarks and fuzzing: a
//! classic CT series (one file per slice, any native transfer syntax, with
//! optional missing slices, tilt and shuffled file names) and an enhanced
//! multi-frame CT. Not part of the stable API.

use std::path::{Path, PathBuf};

use dicom_core::value::{C, DataSetSequence};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;

use crate::error::ScanError;

/// Describes a synthetic CT series. Slice `k` is at
/// `origin + k · slice_step · normal + k · drift`, where `normal` is the cross
/// product of the orientation's row and column cosines.
#[derive(Debug, Clone)]
pub struct TestSeries {
    /// Columns (image width, along i).
    pub cols: usize,
    /// Rows (image height, along j).
    pub rows: usize,
    /// Number of slice positions (including skipped ones).
    pub slices: usize,
    /// PixelSpacing as DICOM stores it: [between rows, between columns] (mm).
    pub pixel_spacing: [f64; 2],
    /// Distance between consecutive slice positions along the normal (mm);
    /// negative values make positions decrease with the slice index.
    pub slice_step: f64,
    /// ImagePositionPatient of slice 0.
    pub origin: [f64; 3],
    /// ImageOrientationPatient (row cosine, column cosine).
    pub orientation: [f64; 6],
    /// Extra per-slice displacement (mm, LPS), e.g. in-plane to mimic gantry tilt.
    pub drift: [f64; 3],
    /// Slice indices that are not written (missing slices).
    pub skip: Vec<usize>,
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUID.
    pub series_uid: String,
    /// FrameOfReferenceUID.
    pub frame_of_reference_uid: String,
    /// Modality.
    pub modality: String,
    /// SeriesDescription.
    pub description: String,
    /// TransferSyntaxUID (native ones: implicit LE, explicit LE or BE, deflated).
    pub transfer_syntax: String,
    /// RescaleSlope, RescaleIntercept.
    pub rescale: (f64, f64),
    /// SliceThickness (mm).
    pub slice_thickness: f64,
    /// Name files by a hash of the slice index, so name order is not position order.
    pub shuffle_names: bool,
    /// Stored value (before rescale) of voxel (i, j, k).
    pub value: fn(usize, usize, usize) -> i16,
}

/// The default stored value: a deterministic pattern in [-1000, 999].
pub fn default_value(i: usize, j: usize, k: usize) -> i16 {
    ((i * 3 + j * 5 + k * 7) % 2000) as i16 - 1000
}

impl Default for TestSeries {
    fn default() -> Self {
        TestSeries {
            cols: 16,
            rows: 12,
            slices: 8,
            pixel_spacing: [0.8, 0.7],
            slice_step: 2.5,
            origin: [-100.0, -80.0, 40.0],
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            drift: [0.0; 3],
            skip: Vec::new(),
            study_uid: "1.2.826.0.1.3680043.10.1001".into(),
            series_uid: "1.2.826.0.1.3680043.10.1001.1".into(),
            frame_of_reference_uid: "1.2.826.0.1.3680043.10.1001.9".into(),
            modality: "CT".into(),
            description: "synthetic".into(),
            transfer_syntax: uids::EXPLICIT_VR_LITTLE_ENDIAN.into(),
            rescale: (1.0, 0.0),
            slice_thickness: 2.5,
            shuffle_names: false,
            value: default_value,
        }
    }
}

impl TestSeries {
    /// Slice normal: row cosine × column cosine.
    pub fn normal(&self) -> [f64; 3] {
        let o = self.orientation;
        [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]]
    }

    /// ImagePositionPatient of slice `k`.
    pub fn position(&self, k: usize) -> [f64; 3] {
        let n = self.normal();
        let kf = k as f64;
        [0, 1, 2].map(|a| self.origin[a] + kf * self.slice_step * n[a] + kf * self.drift[a])
    }

    /// SOPInstanceUID of the file of slice `k` ([`write_test_series`]).
    pub fn sop_instance_uid(&self, k: usize) -> String {
        format!("{}.{}", self.series_uid, k + 1)
    }

    /// SOPInstanceUID of the one file [`write_enhanced_ct`] writes.
    pub fn enhanced_sop_instance_uid(&self) -> String {
        format!("{}.1", self.series_uid)
    }

    /// Stored samples of slice `k`, i fastest.
    pub fn slice_values(&self, k: usize) -> Vec<i16> {
        let mut v = Vec::with_capacity(self.rows * self.cols);
        for j in 0..self.rows {
            for i in 0..self.cols {
                v.push((self.value)(i, j, k));
            }
        }
        v
    }
}

/// A DS value string (at most 16 characters).
pub fn ds(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 16 {
        return s;
    }
    let mut s = format!("{v:.6}");
    while s.contains('.') && (s.ends_with('0') || s.ends_with('.')) {
        s.pop();
    }
    s
}

/// A multi-valued DS string.
pub fn ds_multi(v: &[f64]) -> String {
    v.iter().map(|x| ds(*x)).collect::<Vec<_>>().join("\\")
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, s: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(s)));
}

fn put_u16(obj: &mut InMemDicomObject, tag: Tag, v: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

/// Patient, study, series and image-pixel attributes shared by the writers.
fn base_object(spec: &TestSeries, sop_class: &str, sop_instance: &str) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put_str(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_instance);
    put_str(&mut o, tags::STUDY_DATE, VR::DA, "20240131");
    put_str(&mut o, tags::STUDY_TIME, VR::TM, "101500");
    put_str(&mut o, tags::ACCESSION_NUMBER, VR::SH, "ACC42");
    put_str(&mut o, tags::MODALITY, VR::CS, &spec.modality);
    put_str(&mut o, tags::MANUFACTURER, VR::LO, "Vasa Synthetic");
    put_str(&mut o, tags::STUDY_DESCRIPTION, VR::LO, "Synthetic study");
    put_str(&mut o, tags::SERIES_DESCRIPTION, VR::LO, &spec.description);
    put_str(&mut o, tags::PATIENT_NAME, VR::PN, "Test^Patient");
    put_str(&mut o, tags::PATIENT_ID, VR::LO, "P0001");
    put_str(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "19700101");
    put_str(&mut o, tags::PATIENT_SEX, VR::CS, "O");
    put_str(&mut o, tags::CONTRAST_BOLUS_AGENT, VR::LO, "Iohexol");
    put_str(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "ABDOMEN");
    put_str(&mut o, tags::KVP, VR::DS, "120");
    put_str(&mut o, tags::CONVOLUTION_KERNEL, VR::SH, "B30f");
    put_str(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &spec.study_uid);
    put_str(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &spec.series_uid);
    put_str(&mut o, tags::SERIES_NUMBER, VR::IS, "3");
    put_str(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, &spec.frame_of_reference_uid);
    put_u16(&mut o, tags::SAMPLES_PER_PIXEL, 1);
    put_str(&mut o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    put_u16(&mut o, tags::ROWS, spec.rows as u16);
    put_u16(&mut o, tags::COLUMNS, spec.cols as u16);
    put_u16(&mut o, tags::BITS_ALLOCATED, 16);
    put_u16(&mut o, tags::BITS_STORED, 16);
    put_u16(&mut o, tags::HIGH_BIT, 15);
    put_u16(&mut o, tags::PIXEL_REPRESENTATION, 1);
    o
}

/// The DICOM object of slice `k` of `spec` (without file meta).
pub fn slice_object(spec: &TestSeries, k: usize) -> InMemDicomObject {
    let mut o = base_object(spec, uids::CT_IMAGE_STORAGE, &spec.sop_instance_uid(k));
    put_str(&mut o, tags::INSTANCE_NUMBER, VR::IS, &(k + 1).to_string());
    put_str(&mut o, tags::IMAGE_POSITION_PATIENT, VR::DS, &ds_multi(&spec.position(k)));
    put_str(&mut o, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, &ds_multi(&spec.orientation));
    put_str(&mut o, tags::PIXEL_SPACING, VR::DS, &ds_multi(&spec.pixel_spacing));
    put_str(&mut o, tags::SLICE_THICKNESS, VR::DS, &ds(spec.slice_thickness));
    put_str(&mut o, tags::RESCALE_INTERCEPT, VR::DS, &ds(spec.rescale.1));
    put_str(&mut o, tags::RESCALE_SLOPE, VR::DS, &ds(spec.rescale.0));
    put_str(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
    o.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::I16(C::from_vec(spec.slice_values(k)))));
    o
}

/// Writes `obj` as a DICOM file (preamble, meta group) in transfer syntax `ts`.
pub fn write_object(path: &Path, obj: InMemDicomObject, ts: &str) -> Result<(), ScanError> {
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .map_err(|e| ScanError::malformed(path, format!("cannot build file meta: {e}")))?;
    file.write_to_file(path).map_err(|e| ScanError::malformed(path, format!("cannot write DICOM: {e}")))
}

/// A file name for slice `k` that does not sort by position when shuffled.
fn slice_name(spec: &TestSeries, k: usize) -> String {
    if spec.shuffle_names {
        // splitmix64 of k: a fixed pseudo-random order.
        let mut z = (k as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        format!("IM{:016x}", z ^ (z >> 31))
    } else {
        format!("slice{k:05}.dcm")
    }
}

/// Writes every slice of `spec` (except `spec.skip`) into `dir`, one file per
/// slice; returns the paths in slice order.
pub fn write_test_series(dir: &Path, spec: &TestSeries) -> Result<Vec<PathBuf>, ScanError> {
    std::fs::create_dir_all(dir).map_err(|e| ScanError::io(dir, e))?;
    let mut paths = Vec::new();
    for k in 0..spec.slices {
        if spec.skip.contains(&k) {
            continue;
        }
        let path = dir.join(slice_name(spec, k));
        write_object(&path, slice_object(spec, k), &spec.transfer_syntax)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Writes `spec` as one Enhanced CT multi-frame file: orientation, pixel
/// spacing and rescale in the Shared Functional Groups, each frame's position
/// in the Per-Frame Functional Groups. Frames are stored in reverse position
/// order (so the loader must sort them). Returns the frame order: element `f`
/// is the slice index stored as frame `f`.
pub fn write_enhanced_ct(path: &Path, spec: &TestSeries) -> Result<Vec<usize>, ScanError> {
    let order: Vec<usize> = (0..spec.slices).rev().filter(|k| !spec.skip.contains(k)).collect();
    let mut o = base_object(spec, uids::ENHANCED_CT_IMAGE_STORAGE, &spec.enhanced_sop_instance_uid());
    put_str(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_str(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, &order.len().to_string());
    let item = |elements: Vec<DataElement<InMemDicomObject>>| InMemDicomObject::from_element_iter(elements);
    let seq = |tag: Tag, items: Vec<InMemDicomObject>| DataElement::new(tag, VR::SQ, DataSetSequence::from(items));
    let shared = item(vec![
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![
                DataElement::new(tags::PIXEL_SPACING, VR::DS, PrimitiveValue::from(ds_multi(&spec.pixel_spacing))),
                DataElement::new(tags::SLICE_THICKNESS, VR::DS, PrimitiveValue::from(ds(spec.slice_thickness))),
            ])],
        ),
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![DataElement::new(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                PrimitiveValue::from(ds_multi(&spec.orientation)),
            )])],
        ),
        seq(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![item(vec![
                DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, PrimitiveValue::from(ds(spec.rescale.1))),
                DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from(ds(spec.rescale.0))),
                DataElement::new(tags::RESCALE_TYPE, VR::LO, PrimitiveValue::from("HU")),
            ])],
        ),
    ]);
    o.put(seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]));
    let per_frame: Vec<InMemDicomObject> = order
        .iter()
        .map(|&k| {
            item(vec![seq(
                tags::PLANE_POSITION_SEQUENCE,
                vec![item(vec![DataElement::new(
                    tags::IMAGE_POSITION_PATIENT,
                    VR::DS,
                    PrimitiveValue::from(ds_multi(&spec.position(k))),
                )])],
            )])
        })
        .collect();
    o.put(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame));
    let mut pixels = Vec::with_capacity(order.len() * spec.rows * spec.cols);
    for &k in &order {
        pixels.extend(spec.slice_values(k));
    }
    o.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::I16(C::from_vec(pixels))));
    write_object(path, o, &spec.transfer_syntax)?;
    Ok(order)
}
