//! Per-frame geometry and rescale of one file. For a classic single-frame
//! image these come from the top-level attributes; an enhanced multi-frame
//! image (Enhanced CT and friends) keeps them in functional groups: the
//! Shared Functional Groups hold what all frames have in common, the
//! Per-Frame Functional Groups what differs (at least each frame's
//! ImagePositionPatient in PlanePositionSequence).

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use glam::DVec3;

use super::metadata::{fixed_floats, float, tag_name};

/// Geometry and rescale of one frame.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrameGeometry {
    pub position: Option<DVec3>,
    pub orientation: Option<[f64; 6]>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    pub spacing_between_slices: Option<f64>,
    pub rescale: (f64, f64),
}

/// Overrides the fields of `g` with what `obj` holds at its top level.
fn read_plain(obj: &InMemDicomObject, g: &mut FrameGeometry) -> Result<(), String> {
    if let Some(p) = fixed_floats::<3>(obj, tags::IMAGE_POSITION_PATIENT)? {
        g.position = Some(DVec3::from_array(p));
    }
    if let Some(o) = fixed_floats::<6>(obj, tags::IMAGE_ORIENTATION_PATIENT)? {
        g.orientation = Some(o);
    }
    if let Some(s) = fixed_floats::<2>(obj, tags::PIXEL_SPACING)? {
        g.pixel_spacing = Some(s);
    }
    if let Some(t) = float(obj, tags::SLICE_THICKNESS)? {
        g.slice_thickness = Some(t);
    }
    if let Some(t) = float(obj, tags::SPACING_BETWEEN_SLICES)? {
        g.spacing_between_slices = Some(t);
    }
    if let Some(s) = float(obj, tags::RESCALE_SLOPE)? {
        g.rescale.0 = s;
    }
    if let Some(i) = float(obj, tags::RESCALE_INTERCEPT)? {
        g.rescale.1 = i;
    }
    Ok(())
}

/// The first item of sequence `tag` in `obj`, if any.
fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

/// Overrides the fields of `g` with one functional-groups item.
fn read_groups(item: &InMemDicomObject, g: &mut FrameGeometry) -> Result<(), String> {
    for seq in [
        tags::PLANE_POSITION_SEQUENCE,
        tags::PLANE_ORIENTATION_SEQUENCE,
        tags::PIXEL_MEASURES_SEQUENCE,
        tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
    ] {
        if let Some(inner) = first_item(item, seq) {
            read_plain(inner, g).map_err(|e| format!("{} > {e}", tag_name(seq)))?;
        }
    }
    Ok(())
}

/// Geometry and rescale of each of the `n` frames of `obj`.
pub(crate) fn frame_geometry(obj: &InMemDicomObject, n: usize) -> Result<Vec<FrameGeometry>, String> {
    let mut base = FrameGeometry { rescale: (1.0, 0.0), ..Default::default() };
    read_plain(obj, &mut base)?;
    if let Some(shared) = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE) {
        read_groups(shared, &mut base)
            .map_err(|e| format!("{} > {e}", tag_name(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)))?;
    }
    let per_frame = obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items());
    let mut out = Vec::with_capacity(n);
    match per_frame {
        Some(items) if !items.is_empty() => {
            if items.len() < n {
                return Err(format!(
                    "{} has {} items but NumberOfFrames is {n}",
                    tag_name(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE),
                    items.len()
                ));
            }
            for (f, item) in items.iter().take(n).enumerate() {
                let mut g = base.clone();
                read_groups(item, &mut g).map_err(|e| {
                    format!(
                        "{} item {} (frame {}) > {e}",
                        tag_name(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE),
                        f + 1,
                        f + 1
                    )
                })?;
                out.push(g);
            }
        }
        _ => {
            // Classic image, or a multi-frame image without per-frame groups:
            // all frames share the top-level values; positions of frames past
            // the first are unknown (the stack is then ordered by frame number
            // and spaced by SpacingBetweenSlices).
            for f in 0..n {
                let mut g = base.clone();
                if f > 0 {
                    g.position = None;
                }
                out.push(g);
            }
        }
    }
    Ok(out)
}
