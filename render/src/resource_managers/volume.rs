//! The CT on the GPU: an `R16Sint` 3-D texture holding exact HU (the slice
//! shader interpolates trilinearly itself), uploaded once per scan so that
//! scrolling and window changes cost no uploads.

use vasa_scan::Volume;

use super::{DirtyBox, Texture3d, UploadError};

/// The CT texture of one scan.
#[derive(Clone)]
pub struct VolumeTexture(Texture3d);

impl VolumeTexture {
    /// Uploads `ct`; fails when a side exceeds the device's 3-D texture limit.
    pub fn upload(device: &wgpu::Device, queue: &wgpu::Queue, ct: &Volume<i16>) -> Result<Self, UploadError> {
        let tex = Texture3d::new(device, "vasa ct", ct.dims(), wgpu::TextureFormat::R16Sint)?;
        tex.write_region(queue, bytemuck::cast_slice(ct.data()), DirtyBox::whole(ct.dims()))?;
        Ok(VolumeTexture(tex))
    }

    /// Rewrites the voxels of `dirty` from `ct` (same grid), leaving the rest.
    pub fn update_region(&self, queue: &wgpu::Queue, ct: &Volume<i16>, dirty: DirtyBox) -> Result<(), UploadError> {
        self.0.check_grid(ct.dims())?;
        self.0.write_region(queue, bytemuck::cast_slice(ct.data()), dirty)
    }

    /// Dimensions (i, j, k).
    pub fn dims(&self) -> [usize; 3] {
        self.0.dims
    }

    /// The views the shaders bind (`texture_3d<i32>`), one per slab
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
