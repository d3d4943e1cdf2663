//! The labels on the GPU: an `R8Uint` 3-D texture on the scan's grid,
//! nearest-voxel lookups in the shader. Written whole when another layer is
//! shown, or only inside a [`DirtyBox`] after an edit.

use vasa_scan::LabelMap;

use super::{DirtyBox, Texture3d, UploadError};

/// The label texture of one scan.
#[derive(Clone)]
pub struct LabelTexture(Texture3d);

impl LabelTexture {
    /// An all-zero label texture of `dims`.
    pub fn new(device: &wgpu::Device, dims: [usize; 3]) -> Result<Self, UploadError> {
        Texture3d::new(device, "vasa labels", dims, wgpu::TextureFormat::R8Uint).map(LabelTexture)
    }

    /// Replaces all labels.
    pub fn update(&self, queue: &wgpu::Queue, labels: &LabelMap) -> Result<(), UploadError> {
        self.update_region(queue, labels, DirtyBox::whole(self.dims()))
    }

    /// Writes `labels` (the whole map, on the texture's grid) inside `dirty`
    /// only; the texture keeps what it held elsewhere.
    pub fn update_region(&self, queue: &wgpu::Queue, labels: &LabelMap, dirty: DirtyBox) -> Result<(), UploadError> {
        self.0.check_grid(labels.dims())?;
        self.0.write_region(queue, labels.data(), dirty)
    }

    /// Dimensions (i, j, k).
    pub fn dims(&self) -> [usize; 3] {
        self.0.dims
    }

    /// The views the shaders bind (`texture_3d<u32>`), one per slab
    /// ([`MAX_SLABS`](super::MAX_SLABS), the last repeated).
    pub fn views(&self) -> [&wgpu::TextureView; super::MAX_SLABS] {
        self.0.views()
    }

    /// Slab core size and count, for the shaders.
    pub fn slab_params(&self) -> [f32; 2] {
        self.0.slab_params()
    }

    /// The texture of slab `s` (for copies and read-back; slab 0 holds
    /// the whole volume unless it was split).
    pub fn texture(&self, s: usize) -> Option<&wgpu::Texture> {
        self.0.slabs.get(s).map(|slab| &slab.texture)
    }
}
