//! One renderer per kind of picture, each owning its pipelines and nothing
//! scan-specific: [`slice`] paints MPR slices straight into the UI's pass,
//! [`mesh`] draws surfaces into a [`crate::ViewBuilder`], [`volume`] casts
//! rays through the CT into the same view, stopping at the surfaces' depth.

pub mod mesh;
pub mod slice;
pub mod volume;

use crate::view_builder::Compositor;

/// The renderers of the off-screen (3D) views for one device and one UI
/// target format, built once and shared (`Arc`) by the UI thread, which
/// draws, and workers, which upload meshes.
pub struct RenderContext {
    /// Surfaces.
    pub mesh: mesh::MeshRenderer,
    /// The volume.
    pub volume: volume::VolumeRenderer,
    /// Copies finished pictures into the UI's pass.
    pub compositor: Compositor,
}

impl RenderContext {
    /// Builds the pipelines; `target_format` is that of the UI's pass.
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        RenderContext {
            mesh: mesh::MeshRenderer::new(device),
            volume: volume::VolumeRenderer::new(device),
            compositor: Compositor::new(device, target_format),
        }
    }
}
