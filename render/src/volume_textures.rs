//! The scan on the GPU: the CT as an `R16Sint` 3-D texture (exact HU,
//! sampled trilinearly in the shader) and the labels as an `R8Uint` one,
//! uploaded once so that scrolling and window changes cost no uploads.

use vasa_scan::{LabelMap, Volume};

/// Slices uploaded per `write_texture` call (bounds the staging memory).
const SLAB_SLICES: usize = 32;

/// Why a volume cannot go to the GPU.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UploadError {
    /// A side exceeds the device's 3-D texture limit.
    #[error("volume {dims:?} exceeds the GPU's 3-D texture limit of {limit} voxels per side")]
    TooLarge {
        /// Volume dimensions.
        dims: [usize; 3],
        /// The device limit.
        limit: u32,
    },
    /// Labels on another grid.
    #[error("labels {labels:?} do not match the scan {ct:?}")]
    GridMismatch {
        /// Scan dimensions.
        ct: [usize; 3],
        /// Label dimensions.
        labels: [usize; 3],
    },
}

/// The CT and label textures of one scan.
#[derive(Clone)]
pub struct VolumeTextures {
    /// Dimensions (i, j, k).
    pub dims: [usize; 3],
    /// CT texture view (`texture_3d<i32>`).
    pub ct_view: wgpu::TextureView,
    /// Label texture view (`texture_3d<u32>`).
    pub labels_view: wgpu::TextureView,
    labels: wgpu::Texture,
}

fn extent(dims: [usize; 3]) -> wgpu::Extent3d {
    wgpu::Extent3d { width: dims[0] as u32, height: dims[1] as u32, depth_or_array_layers: dims[2] as u32 }
}

fn texture(device: &wgpu::Device, label: &str, dims: [usize; 3], format: wgpu::TextureFormat) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: extent(dims),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D3,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

fn write_slabs(queue: &wgpu::Queue, texture: &wgpu::Texture, dims: [usize; 3], bytes: &[u8], bytes_per_voxel: usize) {
    let plane = dims[0] * dims[1] * bytes_per_voxel;
    for k0 in (0..dims[2]).step_by(SLAB_SLICES) {
        let n = SLAB_SLICES.min(dims[2] - k0);
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: 0, y: 0, z: k0 as u32 },
                aspect: wgpu::TextureAspect::All,
            },
            &bytes[k0 * plane..(k0 + n) * plane],
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some((dims[0] * bytes_per_voxel) as u32),
                rows_per_image: Some(dims[1] as u32),
            },
            extent([dims[0], dims[1], n]),
        );
    }
}

impl VolumeTextures {
    /// Uploads `ct` and `labels` (all zero when `None`).
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        ct: &Volume<i16>,
        labels: Option<&LabelMap>,
    ) -> Result<Self, UploadError> {
        let dims = ct.dims();
        let limit = device.limits().max_texture_dimension_3d;
        if dims.iter().any(|&d| d == 0 || d > limit as usize) {
            return Err(UploadError::TooLarge { dims, limit });
        }
        if let Some(l) = labels
            && l.dims() != dims
        {
            return Err(UploadError::GridMismatch { ct: dims, labels: l.dims() });
        }
        let ct_tex = texture(device, "vasa ct", dims, wgpu::TextureFormat::R16Sint);
        write_slabs(queue, &ct_tex, dims, bytemuck::cast_slice(ct.data()), 2);
        let labels_tex = texture(device, "vasa labels", dims, wgpu::TextureFormat::R8Uint);
        let out = VolumeTextures {
            dims,
            ct_view: ct_tex.create_view(&Default::default()),
            labels_view: labels_tex.create_view(&Default::default()),
            labels: labels_tex,
        };
        // wgpu zero-fills new textures: without labels there is nothing to write.
        if let Some(l) = labels {
            out.write_labels(queue, l)?;
        }
        Ok(out)
    }

    /// Replaces the labels (after a segmentation or an edit).
    pub fn write_labels(&self, queue: &wgpu::Queue, labels: &LabelMap) -> Result<(), UploadError> {
        if labels.dims() != self.dims {
            return Err(UploadError::GridMismatch { ct: self.dims, labels: labels.dims() });
        }
        write_slabs(queue, &self.labels, self.dims, labels.data(), 1);
        Ok(())
    }
}
