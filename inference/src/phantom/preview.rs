//! A PNG montage for looking at a phantom: axial, coronal and sagittal slices
//! in a lung window (W 1500, L −600), plain on the top row and with the labels
//! overlaid on the bottom row. Radiological convention: axial with the
//! patient's right on the image left and anterior at the top; coronal and
//! sagittal with superior at the top (sagittal anterior on the left).

use std::path::Path;

use super::{AIRWAY, HEART, Phantom, PhantomError};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};

/// Overlay colour of a label (sRGB), `None` for background.
fn colour(l: u8) -> Option<[u8; 3]> {
    match l {
        ARTERY => Some([230, 40, 40]),
        VEIN => Some([40, 110, 255]),
        AORTA => Some([255, 170, 0]),
        AIRWAY => Some([40, 220, 200]),
        HEART => Some([190, 80, 200]),
        _ => None,
    }
}

fn window(hu: i16) -> u8 {
    let (lo, hi) = (-1350.0f32, 150.0f32);
    (((hu as f32 - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
}

/// The montage as RGB pixels: `(width, height, data)`, rows top to bottom.
/// Slices: axial 30 mm below the carina, coronal through the carina,
/// sagittal through the right lung; small grids are magnified (nearest
/// neighbour) to about 512 pixels per panel.
pub fn preview_rgb(ph: &Phantom) -> (usize, usize, Vec<u8>) {
    let (w, h, small) = montage(ph);
    let zoom = (512 / ph.ct.dims()[0].max(1)).clamp(1, 4);
    if zoom == 1 {
        return (w, h, small);
    }
    let (zw, zh) = (w * zoom, h * zoom);
    let mut img = vec![0u8; zw * zh * 3];
    for y in 0..zh {
        for x in 0..zw {
            let s = ((y / zoom) * w + x / zoom) * 3;
            img[(y * zw + x) * 3..][..3].copy_from_slice(&small[s..s + 3]);
        }
    }
    (zw, zh, img)
}

fn montage(ph: &Phantom) -> (usize, usize, Vec<u8>) {
    let [nx, ny, nz] = ph.ct.dims();
    let g = ph.ct.geometry;
    let carina = ph
        .trees
        .airway
        .branches
        .get(1)
        .map(|b| b.end)
        .unwrap_or(g.voxel_to_world(glam::DVec3::new(nx as f64, ny as f64, nz as f64) * 0.5));
    let clamp = |v: f64, n: usize| (v.round().max(0.0) as usize).min(n - 1);
    let at = |p: glam::DVec3| g.world_to_voxel(p);
    let k = clamp(at(carina - glam::DVec3::Z * 30.0).z, nz);
    let j = clamp(at(carina + glam::DVec3::Y * 5.0).y, ny);
    let i = clamp(at(carina - glam::DVec3::X * 70.0).x, nx);
    // Height of the reformats in in-plane pixels.
    let hz = ((nz as f64 * g.spacing.z / g.spacing.x).round() as usize).max(1);
    let gap = 4;
    let ph_h = ny.max(hz);
    let width = nx + gap + nx + gap + ny;
    let height = 2 * ph_h + gap;
    let mut img = vec![0u8; width * height * 3];
    let zrow = |r: usize| -> usize {
        nz - 1 - ((r as f64 + 0.5) * nz as f64 / hz as f64).floor().min(nz as f64 - 1.0) as usize
    };
    for row in 0..2 {
        let y0 = row * (ph_h + gap);
        let mut put = |x: usize, y: usize, hu: i16, l: u8| {
            let g = window(hu);
            let mut c = [g, g, g];
            if let (1, Some(col)) = (row, colour(l)) {
                for (ch, o) in c.iter_mut().zip(col) {
                    *ch = ((*ch as u16 + o as u16) / 2) as u8;
                }
            }
            let o = ((y0 + y) * width + x) * 3;
            img[o..o + 3].copy_from_slice(&c);
        };
        // Axial: column = i (patient left to the right of the image), row = j (anterior on top).
        for jj in 0..ny {
            for ii in 0..nx {
                let idx = ph.ct.index(ii, jj, k);
                put(ii, jj, ph.ct.data()[idx], ph.labels.data()[idx]);
            }
        }
        // Coronal: column = i, row = superior on top.
        for r in 0..hz {
            let kk = zrow(r);
            for ii in 0..nx {
                let idx = ph.ct.index(ii, j, kk);
                put(nx + gap + ii, r, ph.ct.data()[idx], ph.labels.data()[idx]);
            }
        }
        // Sagittal: column = j (anterior on the left), row = superior on top.
        for r in 0..hz {
            let kk = zrow(r);
            for jj in 0..ny {
                let idx = ph.ct.index(i, jj, kk);
                put(2 * (nx + gap) + jj, r, ph.ct.data()[idx], ph.labels.data()[idx]);
            }
        }
    }
    (width, height, img)
}

/// Writes the montage of [`preview_rgb`] to `path` as PNG, atomically
/// (temporary file in the same folder, then rename).
pub fn write_preview(ph: &Phantom, path: &Path) -> Result<(), PhantomError> {
    let (w, h, data) = preview_rgb(ph);
    vasa_scan::png::write_rgb(path, w, h, &data).map_err(|e| PhantomError::Io { path: e.path, source: e.source })
}
