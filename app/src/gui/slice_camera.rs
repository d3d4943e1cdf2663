//! The slice views' camera maths: where a viewport of a given size looks
//! (its centre in patient mm and its scale), and the mapping between
//! screen points and patient positions. Pure functions of the scan, the
//! crosshair and the viewport's [`Camera`], so tools and tests use them
//! without a window.

use egui::{Pos2, Rect, Vec2};
use glam::DVec3;
use vasa_scan::Volume;
use vasa_scan::reslice::{Plane, volume_center};

use super::mpr::Camera;

/// Where a viewport of `plane` and `size` points samples: the patient point
/// at its centre (LPS mm) and its mm per point. The view fits the whole
/// volume at zoom 1, goes through `cursor` along the plane's normal and is
/// shifted by the camera's pan.
pub fn view_geometry(ct: &Volume<i16>, plane: Plane, cursor: DVec3, camera: Camera, size: Vec2) -> (DVec3, f64) {
    let (right, down) = plane.screen_axes();
    let normal = plane_normal(plane);
    let extent = ct_extent_mm(ct);
    let fit = (extent.dot(right.abs()) / size.x.max(1.0) as f64).max(extent.dot(down.abs()) / size.y.max(1.0) as f64);
    let mm_per_point = fit * 1.05 / camera.zoom;
    let vc = volume_center(ct);
    let centre = vc + normal * (cursor - vc).dot(normal) + right * camera.pan[0] + down * camera.pan[1];
    (centre, mm_per_point)
}

/// How one slice viewport maps screen points to patient positions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewMapping {
    /// The viewport on screen (points).
    pub rect: Rect,
    /// Patient point at the viewport's centre (LPS mm).
    pub centre: DVec3,
    /// Millimetres per screen point.
    pub mm_per_point: f64,
    /// Patient direction of the screen's right.
    pub right: DVec3,
    /// Patient direction of the screen's down.
    pub down: DVec3,
}

impl ViewMapping {
    /// The mapping of a viewport of `plane` drawn at `rect`.
    pub fn new(ct: &Volume<i16>, plane: Plane, cursor: DVec3, camera: Camera, rect: Rect) -> Self {
        let (centre, mm_per_point) = view_geometry(ct, plane, cursor, camera, rect.size());
        let (right, down) = plane.screen_axes();
        ViewMapping { rect, centre, mm_per_point, right, down }
    }

    /// The patient point under screen position `pos`.
    pub fn to_patient(&self, pos: Pos2) -> DVec3 {
        let d = pos - self.rect.center();
        self.centre + self.right * (d.x as f64 * self.mm_per_point) + self.down * (d.y as f64 * self.mm_per_point)
    }

    /// The screen position of patient point `p` (projected onto the plane).
    pub fn to_screen(&self, p: DVec3) -> Pos2 {
        let d = p - self.centre;
        let mm = self.mm_per_point;
        self.rect.center() + Vec2::new((d.dot(self.right) / mm) as f32, (d.dot(self.down) / mm) as f32)
    }

    /// A screen movement `delta` as a patient movement in the plane.
    pub fn delta_mm(&self, delta: Vec2) -> DVec3 {
        self.right * (delta.x as f64 * self.mm_per_point) + self.down * (delta.y as f64 * self.mm_per_point)
    }
}

/// The point of the volume nearest to `p` (a click in the black margin
/// around the image puts the crosshair on the image's edge, where stepping
/// still works).
pub fn clamp_to_volume(ct: &Volume<i16>, p: DVec3) -> DVec3 {
    let g = &ct.geometry;
    let dims = ct.dims();
    let v = g.world_to_voxel(p);
    let max = DVec3::new(dims[0] as f64 - 1.0, dims[1] as f64 - 1.0, dims[2] as f64 - 1.0).max(DVec3::ZERO);
    g.voxel_to_world(v.clamp(DVec3::ZERO, max))
}

/// The plane's normal (right × down, pointing away from the viewer).
pub fn plane_normal(plane: Plane) -> DVec3 {
    let (r, d) = plane.screen_axes();
    r.cross(d)
}

/// The volume's extent along the patient axes (mm), for fitting it in a view.
pub fn ct_extent_mm(ct: &Volume<i16>) -> DVec3 {
    let g = &ct.geometry;
    let dims = ct.dims();
    let mut e = DVec3::ZERO;
    for (a, &n) in dims.iter().enumerate() {
        e += (g.direction.col(a) * g.spacing[a] * n as f64).abs();
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    fn ct() -> Volume<i16> {
        let g = Geometry::axis_aligned(DVec3::new(0.5, 0.5, 2.0), DVec3::new(-10.0, -10.0, 0.0));
        Volume::filled([40, 40, 10], 0i16, g)
    }

    #[test]
    fn screen_and_patient_points_map_both_ways() {
        let ct = ct();
        let rect = Rect::from_min_size(Pos2::new(100.0, 50.0), Vec2::new(400.0, 300.0));
        let cursor = DVec3::new(0.0, 0.0, 6.0);
        let camera = Camera { zoom: 2.0, pan: [3.0, -1.0] };
        for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
            let m = ViewMapping::new(&ct, plane, cursor, camera, rect);
            for pos in [rect.center(), Pos2::new(130.0, 70.0), Pos2::new(480.0, 333.0)] {
                let back = m.to_screen(m.to_patient(pos));
                assert!((back - pos).length() < 1e-3, "{plane:?}: {pos:?} → {back:?}");
            }
            assert_eq!(m.to_patient(rect.center()), m.centre);
            // The view goes through the crosshair along the plane's normal.
            let n = plane_normal(plane);
            assert!((m.centre.dot(n) - cursor.dot(n)).abs() < 1e-9);
        }
        // Coronal: the screen's right is the patient's left (+x), down is inferior (−z).
        let m = ViewMapping::new(&ct, Plane::Coronal, cursor, Camera::default(), rect);
        let d = m.to_patient(rect.center() + Vec2::new(10.0, 10.0)) - m.centre;
        assert!(d.x > 0.0 && d.z < 0.0 && d.y == 0.0, "{d}");
        assert!((m.delta_mm(Vec2::new(10.0, 10.0)) - d).length() < 1e-9);
        // Zoom 1 fits the volume: 20 mm wide x, 20 mm z in a 400×300 view.
        let (_, mm) = view_geometry(&ct, Plane::Coronal, cursor, Camera::default(), rect.size());
        assert!((mm - 20.0 / 300.0 * 1.05).abs() < 1e-12, "{mm}");
    }

    #[test]
    fn a_click_outside_the_image_lands_on_its_edge() {
        let ct = ct();
        assert_eq!(clamp_to_volume(&ct, DVec3::new(-50.0, 3.0, 100.0)), DVec3::new(-10.0, 3.0, 18.0));
    }
}
