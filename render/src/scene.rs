//! A 3D view's picture of surfaces and a volume together, in depth: the
//! volume's rays stop at the opaque surfaces, and where translucent
//! surfaces are, the rays are split around them, so what lies in front of
//! a translucent surface covers it and what lies behind shows through it:
//!
//! 1. the opaque surfaces (depth written);
//! 2. the front depth: the nearest surface, translucent ones included;
//! 3. the volume behind the translucent surfaces (front depth → opaque depth);
//! 4. the translucent surfaces, far to near, over that;
//! 5. the volume in front of every surface (eye → front depth).
//!
//! Exact for the nearest translucent surface of each pixel; a second one
//! behind it is blended over the volume between them without splitting it.

use crate::renderer::mesh::{MeshDraw, MeshRenderer};
use crate::renderer::volume::{VolumeDraw, VolumeRenderer};
use crate::view_builder::{CameraView, ViewBuilder};

/// Draws `meshes` and, when given, the volume of `volume` (its draw
/// updated for this camera with `stop_at_depth`) into `view`.
pub fn draw(
    queue: &wgpu::Queue,
    encoder: &mut wgpu::CommandEncoder,
    view: &ViewBuilder,
    camera: &CameraView,
    mesh_renderer: &MeshRenderer,
    meshes: &[MeshDraw<'_>],
    volume: Option<(&VolumeRenderer, &VolumeDraw)>,
) {
    let Some((volume_renderer, draw)) = volume else {
        mesh_renderer.render(queue, encoder, view, camera, meshes);
        return;
    };
    if !meshes.iter().any(MeshDraw::is_translucent) {
        mesh_renderer.render(queue, encoder, view, camera, meshes);
        volume_renderer.render(encoder, view, draw);
        return;
    }
    mesh_renderer.render_opaque(queue, encoder, view, camera, meshes);
    mesh_renderer.render_front_depth(encoder, view, meshes);
    volume_renderer.render_behind(encoder, view, draw);
    mesh_renderer.render_translucent(encoder, view, camera, meshes);
    volume_renderer.render_in_front(encoder, view, draw);
}
