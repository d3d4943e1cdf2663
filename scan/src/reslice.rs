//! Standard radiological view planes sampled from a volume on the CPU, in
//! patient space: previews, thumbnails, PNG exports and orientation tests.
//! (The viewer draws slices on the GPU; this is the reference it must match.)
//!
//! Conventions, as a radiologist reads them:
//! - axial: seen from the feet — patient Right on the image left, Anterior at the top;
//! - coronal: seen from the front — patient Right on the image left, Superior at the top;
//! - sagittal: seen from the patient's left — Anterior on the image left, Superior at the top.

use glam::DVec3;
use rayon::prelude::*;

use crate::volume::Volume;

/// A standard view plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// Transverse plane (normal S–I).
    Axial,
    /// Frontal plane (normal A–P).
    Coronal,
    /// Lateral plane (normal L–R).
    Sagittal,
}

impl Plane {
    /// LPS unit vectors of the image's right-pointing and down-pointing axes.
    pub fn screen_axes(self) -> (DVec3, DVec3) {
        match self {
            Plane::Axial => (DVec3::X, DVec3::Y),
            Plane::Coronal => (DVec3::X, -DVec3::Z),
            Plane::Sagittal => (DVec3::Y, -DVec3::Z),
        }
    }

    /// Patient direction letters at the image's left, right, top and bottom edges.
    pub fn edge_letters(self) -> [char; 4] {
        match self {
            Plane::Axial => ['R', 'L', 'A', 'P'],
            Plane::Coronal => ['R', 'L', 'S', 'I'],
            Plane::Sagittal => ['A', 'P', 'S', 'I'],
        }
    }
}

/// Samples `plane` through the patient point `center` (LPS mm) into a
/// `width × height` image with square pixels of `pixel_mm`, trilinear,
/// row-major from the top-left; points outside the volume get `outside`.
pub fn reslice(
    volume: &Volume<i16>,
    plane: Plane,
    center: DVec3,
    pixel_mm: f64,
    [width, height]: [usize; 2],
    outside: i16,
) -> Vec<i16> {
    let PlaneSampling { origin, du, dv } = plane_sampling(&volume.geometry, plane, center, pixel_mm, [width, height]);
    let mut out = vec![outside; width * height];
    out.par_chunks_mut(width.max(1)).enumerate().for_each(|(v, row)| {
        for (u, px) in row.iter_mut().enumerate() {
            let p = origin + du * u as f64 + dv * v as f64;
            if let Some(x) = trilinear(volume, p) {
                *px = x.round() as i16;
            }
        }
    });
    out
}

/// Where an image of a plane samples the volume, in continuous voxel
/// coordinates: pixel (u, v) (0-based, from the top-left) sits at
/// `origin + du·u + dv·v`. Shared by the CPU [`reslice`] and the GPU slice
/// renderer so both show exactly the same thing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneSampling {
    /// Voxel position of pixel (0, 0).
    pub origin: DVec3,
    /// Voxel step per pixel to the right.
    pub du: DVec3,
    /// Voxel step per pixel down.
    pub dv: DVec3,
}

/// The sampling of `plane` through `center` (LPS mm) with square pixels of
/// `pixel_mm` on a `width × height` image, for a volume of `geometry`.
pub fn plane_sampling(
    geometry: &crate::Geometry,
    plane: Plane,
    center: DVec3,
    pixel_mm: f64,
    [width, height]: [usize; 2],
) -> PlaneSampling {
    let (right, down) = plane.screen_axes();
    let to_voxel = |w: DVec3| geometry.world_to_voxel(w);
    let origin = to_voxel(
        center - right * (pixel_mm * (width as f64 - 1.0) / 2.0) - down * (pixel_mm * (height as f64 - 1.0) / 2.0),
    );
    let du = to_voxel(center + right * pixel_mm) - to_voxel(center);
    let dv = to_voxel(center + down * pixel_mm) - to_voxel(center);
    PlaneSampling { origin, du, dv }
}

/// Trilinear value at continuous voxel position `p`, or `None` outside the
/// volume (half a voxel beyond the edge centres is still inside, clamped).
pub fn trilinear(volume: &Volume<i16>, p: DVec3) -> Option<f64> {
    let [nx, ny, nz] = volume.dims();
    let n = [nx, ny, nz];
    let mut i0 = [0usize; 3];
    let mut f = [0.0f64; 3];
    for a in 0..3 {
        let x = p[a];
        if !(x >= -0.5 && x <= n[a] as f64 - 0.5) {
            return None;
        }
        let x = x.clamp(0.0, (n[a] - 1) as f64);
        let b = (x.floor() as usize).min(n[a].saturating_sub(2));
        i0[a] = b;
        f[a] = if n[a] > 1 { x - b as f64 } else { 0.0 };
    }
    let d = volume.data();
    let at = |i: usize, j: usize, k: usize| {
        let (i, j, k) = ((i0[0] + i).min(nx - 1), (i0[1] + j).min(ny - 1), (i0[2] + k).min(nz - 1));
        d[i + nx * (j + ny * k)] as f64
    };
    let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
    let c00 = lerp(at(0, 0, 0), at(1, 0, 0), f[0]);
    let c10 = lerp(at(0, 1, 0), at(1, 1, 0), f[0]);
    let c01 = lerp(at(0, 0, 1), at(1, 0, 1), f[0]);
    let c11 = lerp(at(0, 1, 1), at(1, 1, 1), f[0]);
    Some(lerp(lerp(c00, c10, f[1]), lerp(c01, c11, f[1]), f[2]))
}

/// Maps HU to an 8-bit grey level with a window `center`/`width` (as on a
/// CT console: lung −600/1500, mediastinum 40/400).
pub fn window_to_u8(hu: i16, center: f64, width: f64) -> u8 {
    let t = (hu as f64 - (center - width / 2.0)) / width.max(1.0);
    (t.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// The patient point at the centre of the volume's voxel grid.
pub fn volume_center(volume: &Volume<i16>) -> DVec3 {
    let [nx, ny, nz] = volume.dims();
    volume.geometry.voxel_to_world(DVec3::new(
        (nx as f64 - 1.0) / 2.0,
        (ny as f64 - 1.0) / 2.0,
        (nz as f64 - 1.0) / 2.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Geometry;
    use glam::DMat3;

    /// A marker in the patient's left-anterior-superior corner appears where
    /// a radiologist expects it, whatever order the voxels are stored in.
    #[test]
    fn marker_lands_on_the_radiological_side_for_any_storage_order() {
        let n = 21;
        for direction in
            [DMat3::IDENTITY, crate::geometry::RAS_LPS_FLIP, DMat3::from_cols(DVec3::Y, DVec3::Z, DVec3::X)]
        {
            let g = Geometry { spacing: DVec3::ONE, origin: DVec3::ZERO, direction };
            let mut v = Volume::filled([n, n, n], 0i16, g);
            // Patient point 8 mm left, 8 mm anterior, 8 mm superior of the centre.
            let c = volume_center(&v);
            let marker = c + DVec3::new(8.0, -8.0, 8.0);
            let ijk = g.world_to_voxel(marker).round();
            let idx = v.index(ijk.x as usize, ijk.y as usize, ijk.z as usize);
            v.data_mut()[idx] = 1000;
            let find = |plane: Plane, through: DVec3| {
                let img = reslice(&v, plane, through, 1.0, [21, 21], -1);
                let at = img.iter().position(|&x| x == 1000).expect("marker visible");
                (at % 21, at / 21)
            };
            // Axial: left of patient → image right (u > 10); anterior → top (v < 10).
            assert_eq!(find(Plane::Axial, DVec3::new(c.x, c.y, marker.z)), (18, 2), "{direction:?}");
            // Coronal: left → right; superior → top.
            assert_eq!(find(Plane::Coronal, DVec3::new(c.x, marker.y, c.z)), (18, 2));
            // Sagittal: anterior → image left; superior → top.
            assert_eq!(find(Plane::Sagittal, DVec3::new(marker.x, c.y, c.z)), (2, 2));
        }
    }

    #[test]
    fn window_maps_edges() {
        assert_eq!(window_to_u8(-1000, 40.0, 400.0), 0);
        assert_eq!(window_to_u8(240, 40.0, 400.0), 255);
        assert_eq!(window_to_u8(40, 40.0, 400.0), 128);
    }
}
