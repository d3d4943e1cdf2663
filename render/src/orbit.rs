//! The 3D view's camera: it orbits a target point in patient space, looks
//! at it from a distance, and pans in the screen plane. It starts anterior
//! (the patient faces the viewer, superior up, the patient's right on the
//! left of the screen, as in a radiological view).

use glam::{Vec2, Vec3};

use crate::view_builder::CameraView;

/// Vertical field of view (radians).
pub const FOV_Y: f32 = 0.5;

/// An orbiting camera in patient LPS mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    /// The point looked at (mm).
    pub target: Vec3,
    /// Rotation about the patient's superior axis (radians); 0: anterior view.
    pub yaw: f32,
    /// Elevation (radians), kept within ±89°.
    pub pitch: f32,
    /// Distance from the target (mm).
    pub distance: f32,
}

impl OrbitCamera {
    /// An anterior view of a box centred at `centre` whose largest side is `size` mm.
    pub fn framing(centre: Vec3, size: f32) -> Self {
        OrbitCamera { target: centre, yaw: 0.0, pitch: 0.0, distance: size.max(1.0) * 0.5 / (FOV_Y * 0.5).tan() * 1.15 }
    }

    /// Unit vector from the target to the eye.
    pub fn back(&self) -> Vec3 {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        Vec3::new(sy * cp, -cy * cp, sp)
    }

    /// Eye position.
    pub fn eye(&self) -> Vec3 {
        self.target + self.back() * self.distance
    }

    /// Screen right and up in patient space.
    pub fn screen_axes(&self) -> (Vec3, Vec3) {
        let forward = -self.back();
        let right = forward.cross(Vec3::Z).normalize_or(Vec3::X);
        (right, right.cross(forward))
    }

    /// Rotates by a mouse drag of `delta` points (0.01 rad per point).
    pub fn orbit(&mut self, delta: Vec2) {
        self.yaw -= delta.x * 0.01;
        self.pitch = (self.pitch + delta.y * 0.01).clamp(-1.55, 1.55);
    }

    /// Moves the target by a drag of `delta` points in a viewport `height` points tall.
    pub fn pan(&mut self, delta: Vec2, height: f32) {
        let (right, up) = self.screen_axes();
        let mm_per_point = 2.0 * self.distance * (FOV_Y * 0.5).tan() / height.max(1.0);
        self.target += (-right * delta.x + up * delta.y) * mm_per_point;
    }

    /// Zooms by `factor` (> 1: closer).
    pub fn zoom(&mut self, factor: f32) {
        self.distance = (self.distance / factor.max(1e-3)).clamp(1.0, 1e5);
    }

    /// Matrices for a viewport of `aspect` = width / height.
    pub fn view(&self, aspect: f32) -> CameraView {
        let eye = self.eye();
        let view = glam::camera::rh::view::look_at_mat4(eye, self.target, self.screen_axes().1);
        let near = (self.distance * 0.01).max(0.1);
        // wgpu's clip space: z in 0…1, y up (the DirectX convention).
        let proj =
            glam::camera::rh::proj::directx::perspective(FOV_Y, aspect.max(1e-3), near, self.distance * 10.0 + 1000.0);
        CameraView { view_proj: proj * view, eye }
    }

    /// The ray through a viewport point given in normalised device
    /// coordinates (x right, y up, both −1…1): origin and unit direction.
    pub fn ray(&self, aspect: f32, ndc: Vec2) -> (Vec3, Vec3) {
        let inv = self.view(aspect).view_proj.inverse();
        let near = inv.project_point3(ndc.extend(0.0));
        let far = inv.project_point3(ndc.extend(1.0));
        (near, (far - near).normalize_or(-self.back()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_view_is_anterior_with_the_patients_right_on_the_left() {
        let c = OrbitCamera::framing(Vec3::new(10.0, 20.0, 30.0), 300.0);
        let v = c.view(1.0);
        // Anterior is −Y in LPS: the eye is in front of the patient.
        assert!(c.eye().y < 20.0);
        // The patient's left (+X) projects to the right of the screen, superior (+Z) up.
        let left = v.view_proj.project_point3(Vec3::new(60.0, 20.0, 30.0));
        let up = v.view_proj.project_point3(Vec3::new(10.0, 20.0, 80.0));
        assert!(left.x > 0.1 && left.y.abs() < 1e-4, "{left}");
        assert!(up.y > 0.1 && up.x.abs() < 1e-4, "{up}");
        // A box of the framed size fits.
        let corner = v.view_proj.project_point3(Vec3::new(10.0 + 150.0, 20.0, 30.0 + 150.0));
        assert!(corner.x.abs() < 1.0 && corner.y.abs() < 1.0, "{corner}");
    }

    #[test]
    fn the_centre_ray_goes_through_the_target_and_orbit_keeps_the_distance() {
        let mut c = OrbitCamera::framing(Vec3::ZERO, 100.0);
        c.orbit(Vec2::new(50.0, -30.0));
        let (o, d) = c.ray(1.5, Vec2::ZERO);
        let closest = o + d * (-o).dot(d);
        assert!(closest.length() < 1e-2, "{closest}");
        assert!((c.eye().length() - c.distance).abs() < 1e-3);
        c.pitch = 0.0;
        c.orbit(Vec2::new(0.0, 1e4));
        assert!(c.pitch <= 1.55);
        let before = c.target;
        c.pan(Vec2::new(10.0, 0.0), 100.0);
        assert!((c.target - before).dot(c.screen_axes().0) < 0.0, "dragging right moves the scene right");
    }
}
