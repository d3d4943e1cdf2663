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

    /// The view the shaders bind (`texture_3d<i32>`).
    pub fn view(&self) -> &wgpu::TextureView {
        &self.0.view
    }

    /// The texture (for copies and read-back).
    pub fn texture(&self) -> &wgpu::Texture {
        &self.0.texture
    }
}
