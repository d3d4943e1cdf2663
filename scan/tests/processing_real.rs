//! Masks and resampling on a real CT: the abdominal scan at 3 mm from
//! TotalSegmentator's test files (`../shared/data`, see its README), read
//! with the NIfTI reader. Its top slices hold the lung bases, its table
//! touches the patient's back, and its colon holds several 100 mL of gas:
//! the cases the mask heuristics exist for. Skipped when the file is absent.

use std::path::PathBuf;

use glam::DVec3;
use vasa_scan::Volume;
use vasa_scan::masks::{BodyMaskOptions, LungMaskOptions, Mask, body_mask, lung_mask};
use vasa_scan::resample::{resample_labels_to_grid, resample_linear};

fn scan() -> Option<Volume<i16>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ct-abdomen-3mm.nii.gz");
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return None;
    }
    Some(vasa_scan::nifti::read_ct(&path).expect("the shared test scan reads"))
}

fn ml(mask: &Mask) -> f64 {
    mask.data().iter().filter(|&&b| b).count() as f64 * mask.voxel_volume_ml()
}

/// Lowest slice index holding a mask voxel (slices run feet to head here).
fn lowest_slice(mask: &Mask) -> Option<usize> {
    (0..mask.dims()[2]).find(|&k| mask.slice_k(k).contains(&true))
}

#[test]
fn masks_of_a_real_abdomen() {
    let Some(ct) = scan() else { return };
    assert_eq!(ct.dims(), [122, 101, 112]);
    assert_eq!(ct.geometry.orientation_code(), "RAS");
    let body = body_mask(&ct, &BodyMaskOptions::default());
    let body_ml = ml(&body);
    assert!((15_000.0..35_000.0).contains(&body_ml), "body {body_ml} mL");

    // The lung bases, only in the top slices; the colon gas and the air in
    // and under the table are not lung.
    let lungs = lung_mask(&ct, &body, &LungMaskOptions::default());
    let lung_ml = ml(&lungs);
    assert!((50.0..300.0).contains(&lung_ml), "lungs {lung_ml} mL");
    assert!(lowest_slice(&lungs).unwrap() >= 95, "lung mask reaches slice {:?}", lowest_slice(&lungs));
    assert!(lungs.data().iter().zip(body.data()).all(|(l, b)| !l || *b), "lungs inside the body");

    // Without the gas test, colon gas lower down would count as lung ...
    let with_gas = lung_mask(&ct, &body, &LungMaskOptions { gas_median_hu: None, ..Default::default() });
    assert!(lowest_slice(&with_gas).unwrap() < 70 && ml(&with_gas) > lung_ml + 200.0);
    // ... and without the table opening, the table joins the body and the
    // air it encloses becomes "lung" along the whole scan.
    let with_table = body_mask(&ct, &BodyMaskOptions { table_opening_mm: 0.0, ..Default::default() });
    assert!(ml(&with_table) > body_ml);
    let table_air = lung_mask(&ct, &with_table, &LungMaskOptions::default());
    assert!(lowest_slice(&table_air).unwrap() < 50);
}

#[test]
fn masks_survive_resampling_of_a_real_scan() {
    let Some(ct) = scan() else { return };
    let body = body_mask(&ct, &BodyMaskOptions::default());
    // At 1.5 mm (8 × the voxels) the body is the same within a few percent,
    // and brought back to the 3 mm grid it lands on the same voxels.
    let fine = resample_linear(&ct, DVec3::splat(1.5));
    assert_eq!(fine.dims(), [244, 202, 224]);
    let fine_body = body_mask(&fine, &BodyMaskOptions::default());
    let (a, b) = (ml(&body), ml(&fine_body));
    assert!((a - b).abs() < 0.03 * a, "body {a} mL at 3 mm, {b} mL at 1.5 mm");
    let back = resample_labels_to_grid(&fine_body.map(|&m| m as u8), ct.dims(), &ct.geometry);
    assert!(back.same_grid(&ct));
    let agree = back.data().iter().zip(body.data()).filter(|(x, y)| (**x != 0) == **y).count();
    assert!(agree as f64 > 0.98 * ct.len() as f64, "{agree} of {} voxels agree", ct.len());
}
