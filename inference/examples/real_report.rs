//! Overlay and reference scores of one extraction on a real scan, for
//! `scripts/eval-real.sh`:
//! `cargo run --release -p vasa-inference --example real_report -- SCAN LABELS OUT.png [REFERENCE]`.
//!
//! Writes a PNG: five axial slices spread over the lungs' height and one
//! coronal slice, mediastinal window, labels overlaid (artery red, vein blue,
//! aorta orange), radiological orientation; with a reference, a second row
//! shows the reference on the same slices. With a reference of the central
//! vessels (1 pulmonary artery, 3 aorta; see ../shared/data/README.md),
//! prints one JSON line: aorta Dice, pulmonary-artery recall, and the share
//! of the reference pulmonary artery labelled vein or aorta.

use std::path::Path;

use glam::DVec3;
use vasa_scan::labels::{AORTA, ARTERY, VEIN};
use vasa_scan::reslice::{Plane, reslice, window_to_u8};
use vasa_scan::{LabelMap, Volume};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: real_report SCAN LABELS OUT.png [REFERENCE]".into());
    }
    let scan = vasa_scan::open_scan(Path::new(&args[0]))?.volume;
    let labels = vasa_scan::nifti::read_labels(Path::new(&args[1]))?;
    if !scan.same_grid(&labels) {
        return Err(format!("{}: labels are not on the scan's grid", args[1]).into());
    }
    let reference = match args.get(3) {
        Some(r) => {
            let reference = vasa_scan::nifti::read_labels(Path::new(r))?;
            if !reference.same_grid(&labels) {
                return Err(format!("{r}: reference is not on the scan's grid").into());
            }
            Some(reference)
        }
        None => None,
    };
    let rows: Vec<&LabelMap> = std::iter::once(&labels).chain(reference.as_ref()).collect();
    write_overlay(&scan, &rows, Path::new(&args[2]))?;
    if let Some(reference) = &reference {
        let (mut inter, mut pred_a, mut ref_a, mut pa, mut pa_found, mut pa_other) = (0u64, 0u64, 0u64, 0u64, 0, 0);
        for (&p, &t) in labels.data().iter().zip(reference.data()) {
            pred_a += u64::from(p == AORTA);
            ref_a += u64::from(t == AORTA);
            inter += u64::from(p == AORTA && t == AORTA);
            if t == ARTERY {
                pa += 1;
                pa_found += u64::from(p == ARTERY);
                pa_other += u64::from(p == VEIN || p == AORTA);
            }
        }
        let ratio = |a: u64, b: u64| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
        println!(
            "{{\"aorta_dice\": {:.3}, \"pa_recall\": {:.3}, \"pa_other\": {:.3}}}",
            ratio(2 * inter, pred_a + ref_a),
            ratio(pa_found, pa),
            ratio(pa_other, pa)
        );
    }
    Ok(())
}

/// Colour of a label over the grey image.
fn colour(l: u8) -> Option<[u8; 3]> {
    match l {
        ARTERY => Some([230, 40, 40]),
        VEIN => Some([40, 110, 255]),
        AORTA => Some([255, 170, 0]),
        _ => None,
    }
}

/// Nearest label at patient point `p`.
fn label_at(labels: &LabelMap, p: DVec3) -> u8 {
    let v = labels.geometry.world_to_voxel(p).round();
    if v.min_element() < 0.0 {
        return 0;
    }
    labels.get(v.x as usize, v.y as usize, v.z as usize).copied().unwrap_or(0)
}

/// One row of panels per label map in `rows`, all on the same slices.
fn write_overlay(ct: &Volume<i16>, rows: &[&LabelMap], out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let [nx, ny, nz] = ct.dims();
    let g = ct.geometry;
    let corners: Vec<DVec3> = (0..8)
        .map(|c| {
            g.voxel_to_world(DVec3::new(
                if c & 1 == 1 { nx as f64 - 1.0 } else { 0.0 },
                if c & 2 == 2 { ny as f64 - 1.0 } else { 0.0 },
                if c & 4 == 4 { nz as f64 - 1.0 } else { 0.0 },
            ))
        })
        .collect();
    let lo = corners.iter().fold(DVec3::splat(f64::INFINITY), |a, &b| a.min(b));
    let hi = corners.iter().fold(DVec3::splat(f64::NEG_INFINITY), |a, &b| a.max(b));
    let centre = (lo + hi) * 0.5;
    let (px, side) = (1.0, 360usize);
    let panels: Vec<(Plane, DVec3)> = (0..5)
        .map(|t| {
            let z = lo.z + (hi.z - lo.z) * (0.1 + 0.8 * t as f64 / 4.0);
            (Plane::Axial, DVec3::new(centre.x, centre.y, z))
        })
        .chain(std::iter::once((Plane::Coronal, centre)))
        .collect();
    let gap = 4;
    let width = panels.len() * (side + gap) - gap;
    let height = rows.len() * (side + gap) - gap;
    let mut img = vec![0u8; width * height * 3];
    for (n, (plane, c)) in panels.iter().enumerate() {
        let hu = reslice(ct, *plane, *c, px, [side, side], -1024);
        let (right, down) = plane.screen_axes();
        for (row, labels) in rows.iter().enumerate() {
            for v in 0..side {
                for u in 0..side {
                    let grey = window_to_u8(hu[v * side + u], 40.0, 400.0);
                    let p = *c
                        + right * ((u as f64 - (side as f64 - 1.0) / 2.0) * px)
                        + down * ((v as f64 - (side as f64 - 1.0) / 2.0) * px);
                    let mut rgb = [grey; 3];
                    if let Some(col) = colour(label_at(labels, p)) {
                        for (ch, o) in rgb.iter_mut().zip(col) {
                            *ch = ((*ch as u16 + o as u16) / 2) as u8;
                        }
                    }
                    let o = ((row * (side + gap) + v) * width + n * (side + gap) + u) * 3;
                    img[o..o + 3].copy_from_slice(&rgb);
                }
            }
        }
    }
    vasa_scan::png::write_rgb(out, width, height, &img)?;
    Ok(())
}
