//! The scan's textures on the GPU, with one owner: [`ScanTextures`] holds
//! the CT ([`VolumeTexture`], `R16Sint`, exact HU) and the labels
//! ([`LabelTexture`], `R8Uint`). Both are written whole when a scan or a
//! label layer arrives, or only inside a [`DirtyBox`] after an edit, so that
//! painting a few voxels uploads those voxels and not the whole volume.
//!
//! The handles are cheap to clone (wgpu resources are reference counted): a
//! worker thread can write labels while the UI thread draws with them.

mod labels;
pub mod ray_volume;
mod volume;

pub use labels::LabelTexture;
pub use ray_volume::RayVolume;
pub use volume::VolumeTexture;

use vasa_scan::{LabelMap, Volume};

/// Slices written per `write_texture` call (bounds wgpu's staging memory).
const SLAB_SLICES: usize = 32;

/// A box of voxels `min ≤ (i, j, k) < max`: what changed since the last upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirtyBox {
    /// First voxel inside.
    pub min: [usize; 3],
    /// One past the last voxel inside, per axis.
    pub max: [usize; 3],
}

impl DirtyBox {
    /// The box from `min` (inclusive) to `max` (exclusive).
    pub fn new(min: [usize; 3], max: [usize; 3]) -> Self {
        DirtyBox { min, max }
    }

    /// The whole volume of `dims`.
    pub fn whole(dims: [usize; 3]) -> Self {
        DirtyBox { min: [0; 3], max: dims }
    }

    /// Voxel `(i, j, k)` alone.
    pub fn voxel(v: [usize; 3]) -> Self {
        DirtyBox { min: v, max: v.map(|x| x + 1) }
    }

    /// True when the box holds no voxel.
    pub fn is_empty(&self) -> bool {
        (0..3).any(|a| self.max[a] <= self.min[a])
    }

    /// Voxels along each axis.
    pub fn size(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.max[a].saturating_sub(self.min[a]))
    }

    /// The smallest box holding both (an empty box adds nothing).
    pub fn union(self, other: DirtyBox) -> DirtyBox {
        match (self.is_empty(), other.is_empty()) {
            (true, _) => other,
            (_, true) => self,
            _ => DirtyBox {
                min: [0, 1, 2].map(|a| self.min[a].min(other.min[a])),
                max: [0, 1, 2].map(|a| self.max[a].max(other.max[a])),
            },
        }
    }

    /// True when the box lies inside a volume of `dims`.
    pub fn fits(&self, dims: [usize; 3]) -> bool {
        (0..3).all(|a| self.max[a] <= dims[a])
    }
}

/// Why a volume or a region of it cannot go to the GPU.
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
    /// Labels (or a CT) on another grid than the texture's.
    #[error("labels {labels:?} do not match the scan {ct:?}")]
    GridMismatch {
        /// Texture dimensions.
        ct: [usize; 3],
        /// Dimensions of what was to be written.
        labels: [usize; 3],
    },
    /// A dirty box reaching outside the volume.
    #[error("region {region:?} lies outside the volume {dims:?}")]
    OutsideVolume {
        /// The region asked for.
        region: DirtyBox,
        /// Volume dimensions.
        dims: [usize; 3],
    },
}

/// The CT and label textures of one scan.
#[derive(Clone)]
pub struct ScanTextures {
    /// The CT in HU.
    pub volume: VolumeTexture,
    /// The labels shown over it (zero where none).
    pub labels: LabelTexture,
}

impl ScanTextures {
    /// Uploads `ct` and `labels` (all zero when `None`).
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        ct: &Volume<i16>,
        labels: Option<&LabelMap>,
    ) -> Result<Self, UploadError> {
        if let Some(l) = labels
            && l.dims() != ct.dims()
        {
            return Err(UploadError::GridMismatch { ct: ct.dims(), labels: l.dims() });
        }
        let volume = VolumeTexture::upload(device, queue, ct)?;
        let labels_tex = LabelTexture::new(device, ct.dims())?;
        // wgpu zero-fills new textures: without labels there is nothing to write.
        if let Some(l) = labels {
            labels_tex.update(queue, l)?;
        }
        Ok(ScanTextures { volume, labels: labels_tex })
    }

    /// Dimensions (i, j, k).
    pub fn dims(&self) -> [usize; 3] {
        self.volume.dims()
    }

    /// Replaces all labels (another layer shown, a new segmentation).
    pub fn update_labels(&self, queue: &wgpu::Queue, labels: &LabelMap) -> Result<(), UploadError> {
        self.labels.update(queue, labels)
    }

    /// Writes the labels inside `dirty` only (after an edit there); the
    /// rest of the texture keeps what it held.
    pub fn update_labels_region(
        &self,
        queue: &wgpu::Queue,
        labels: &LabelMap,
        dirty: DirtyBox,
    ) -> Result<(), UploadError> {
        self.labels.update_region(queue, labels, dirty)
    }
}

/// Most slabs one volume is split into (the shaders bind this many
/// textures per volume): with the usual limit of 2048 slices per texture,
/// scans of up to 8188 slices.
pub const MAX_SLABS: usize = 4;

/// A test's override of the slices one texture may hold (0: the device's limit).
static MAX_SLICES_OVERRIDE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Makes every 3-D texture created after this call hold at most `slices`
/// slices (`None`: the device's limit), so tests and benchmarks can split
/// small volumes into slabs. Process-wide.
pub fn set_max_slab_slices(slices: Option<usize>) {
    MAX_SLICES_OVERRIDE.store(slices.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

/// How a volume of `nz` slices is split for textures of at most `limit`
/// slices: the core size `S` (slab `s` holds slices `s·S ..`, plus one more
/// above for trilinear filtering across the border) and the slab count.
pub fn slab_split(nz: usize, limit: usize) -> (usize, usize) {
    if nz <= limit {
        return (nz.max(1), 1);
    }
    let core = limit.saturating_sub(1).max(1);
    (core, nz.div_ceil(core))
}

/// One slab of a 3-D texture: slices `lo .. lo + depth` of the volume.
#[derive(Clone)]
struct Slab {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    lo: usize,
    depth: usize,
}

/// A 3-D texture of one single-channel format, written whole or by box.
/// Volumes with more slices than the device's 3-D texture limit are split
/// along k into slabs (each a texture of its own, overlapping its neighbour
/// by one slice); the shaders pick the slab of each sample.
#[derive(Clone)]
struct Texture3d {
    slabs: Vec<Slab>,
    /// Slices per slab before the overlap (`S`).
    core: usize,
    dims: [usize; 3],
    bytes_per_voxel: usize,
}

fn extent(size: [usize; 3]) -> wgpu::Extent3d {
    wgpu::Extent3d { width: size[0] as u32, height: size[1] as u32, depth_or_array_layers: size[2] as u32 }
}

impl Texture3d {
    /// A zero-filled texture, split into slabs when it has more slices than
    /// the device allows; fails when a side is 0, an in-plane side is over
    /// the limit, or more than [`MAX_SLABS`] slabs would be needed.
    fn new(
        device: &wgpu::Device,
        label: &str,
        dims: [usize; 3],
        format: wgpu::TextureFormat,
    ) -> Result<Self, UploadError> {
        let device_limit = device.limits().max_texture_dimension_3d;
        let limit = match MAX_SLICES_OVERRIDE.load(std::sync::atomic::Ordering::Relaxed) {
            0 => device_limit as usize,
            n => n.min(device_limit as usize).max(2),
        };
        Texture3d::with_limit(device, label, dims, format, limit)
    }

    /// A zero-filled texture that is never split (small grids the shaders
    /// read whole, like the occupancy grid).
    fn new_whole(
        device: &wgpu::Device,
        label: &str,
        dims: [usize; 3],
        format: wgpu::TextureFormat,
    ) -> Result<Self, UploadError> {
        let limit = device.limits().max_texture_dimension_3d as usize;
        let t = Texture3d::with_limit(device, label, dims, format, limit)?;
        if t.slabs.len() > 1 {
            return Err(UploadError::TooLarge { dims, limit: limit as u32 });
        }
        Ok(t)
    }

    /// A zero-filled texture in slabs of at most `limit` slices.
    fn with_limit(
        device: &wgpu::Device,
        label: &str,
        dims: [usize; 3],
        format: wgpu::TextureFormat,
        limit: usize,
    ) -> Result<Self, UploadError> {
        let device_limit = device.limits().max_texture_dimension_3d;
        let (core, count) = slab_split(dims[2], limit);
        if dims.contains(&0) || dims[0] > device_limit as usize || dims[1] > device_limit as usize || count > MAX_SLABS
        {
            return Err(UploadError::TooLarge { dims, limit: device_limit });
        }
        let bytes_per_voxel = format.block_copy_size(None).expect("a single-aspect format") as usize;
        let slabs = (0..count)
            .map(|s| {
                let lo = s * core;
                let depth = if count == 1 { dims[2] } else { (core + 1).min(dims[2] - lo) };
                let texture = device.create_texture(&wgpu::TextureDescriptor {
                    label: Some(label),
                    size: extent([dims[0], dims[1], depth]),
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D3,
                    format,
                    // COPY_SRC: read back by tests (and by a later "save what the GPU shows").
                    usage: wgpu::TextureUsages::TEXTURE_BINDING
                        | wgpu::TextureUsages::COPY_DST
                        | wgpu::TextureUsages::COPY_SRC,
                    view_formats: &[],
                });
                Slab { view: texture.create_view(&Default::default()), texture, lo, depth }
            })
            .collect();
        Ok(Texture3d { slabs, core, dims, bytes_per_voxel })
    }

    /// The slabs' views for binding, [`MAX_SLABS`] of them (the last one
    /// repeated where the volume has fewer: never sampled).
    fn views(&self) -> [&wgpu::TextureView; MAX_SLABS] {
        std::array::from_fn(|s| &self.slabs[s.min(self.slabs.len() - 1)].view)
    }

    /// What the shaders need to pick a slab: the core size and the count.
    fn slab_params(&self) -> [f32; 2] {
        [self.core as f32, self.slabs.len() as f32]
    }

    /// Writes the voxels of `dirty` from `data`, the whole volume's voxels
    /// (i fastest, then j, then k) as bytes, into every slab holding them.
    ///
    /// A box spanning whole slices is written straight from `data`; any
    /// other is first gathered into a tight buffer, so only its voxels
    /// travel. `write_texture` (unlike a buffer-to-texture copy) needs no
    /// 256-byte row alignment: wgpu re-pitches rows into its staging buffer.
    fn write_region(&self, queue: &wgpu::Queue, data: &[u8], dirty: DirtyBox) -> Result<(), UploadError> {
        if !dirty.fits(self.dims) {
            return Err(UploadError::OutsideVolume { region: dirty, dims: self.dims });
        }
        if dirty.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(data.len(), self.dims.iter().product::<usize>() * self.bytes_per_voxel);
        for slab in &self.slabs {
            let (k0, k1) = (dirty.min[2].max(slab.lo), dirty.max[2].min(slab.lo + slab.depth));
            if k0 < k1 {
                self.write_slab(
                    queue,
                    slab,
                    data,
                    DirtyBox { min: [dirty.min[0], dirty.min[1], k0], max: [dirty.max[0], dirty.max[1], k1] },
                );
            }
        }
        Ok(())
    }

    /// Writes `dirty` (volume voxels, inside `slab`'s slices) into `slab`.
    fn write_slab(&self, queue: &wgpu::Queue, slab: &Slab, data: &[u8], dirty: DirtyBox) {
        let [d0, d1, _] = self.dims;
        let bpv = self.bytes_per_voxel;
        let [w, h, _] = dirty.size();
        let whole_slices = w == d0 && h == d1;
        let mut gathered = Vec::new();
        for k0 in (dirty.min[2]..dirty.max[2]).step_by(SLAB_SLICES) {
            let k1 = (k0 + SLAB_SLICES).min(dirty.max[2]);
            let bytes = if whole_slices {
                &data[k0 * d0 * d1 * bpv..k1 * d0 * d1 * bpv]
            } else {
                gathered.clear();
                for k in k0..k1 {
                    for j in dirty.min[1]..dirty.max[1] {
                        let row = ((k * d1 + j) * d0 + dirty.min[0]) * bpv;
                        gathered.extend_from_slice(&data[row..row + w * bpv]);
                    }
                }
                &gathered[..]
            };
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &slab.texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d { x: dirty.min[0] as u32, y: dirty.min[1] as u32, z: (k0 - slab.lo) as u32 },
                    aspect: wgpu::TextureAspect::All,
                },
                bytes,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some((w * bpv) as u32),
                    rows_per_image: Some(h as u32),
                },
                extent([w, h, k1 - k0]),
            );
        }
    }

    fn check_grid(&self, dims: [usize; 3]) -> Result<(), UploadError> {
        if dims != self.dims {
            return Err(UploadError::GridMismatch { ct: self.dims, labels: dims });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_boxes_grow_by_union_and_know_their_size() {
        let a = DirtyBox::voxel([3, 4, 5]);
        assert_eq!(a.size(), [1, 1, 1]);
        assert!(!a.is_empty());
        let b = a.union(DirtyBox::new([1, 6, 5], [2, 8, 9]));
        assert_eq!(b, DirtyBox::new([1, 4, 5], [4, 8, 9]));
        assert_eq!(DirtyBox::default().union(a), a);
        assert_eq!(a.union(DirtyBox::default()), a);
        assert!(DirtyBox::new([2, 0, 0], [2, 5, 5]).is_empty());
        assert!(b.fits([4, 8, 9]) && !b.fits([4, 8, 8]));
        assert_eq!(DirtyBox::whole([7, 8, 9]).size(), [7, 8, 9]);
    }

    #[test]
    fn slabs_cover_every_slice_with_one_to_spare_for_filtering() {
        assert_eq!(slab_split(300, 2048), (300, 1), "fits: one texture");
        let (core, n) = slab_split(5000, 2048);
        assert_eq!((core, n), (2047, 3));
        // Slab s holds slices s·core ..= (s+1)·core (clamped): the last one
        // of the volume is in the last slab, and each slab fits the limit.
        assert!((n - 1) * core < 5000 && 5000 <= n * core);
        assert!(core < 2048, "a slab of core + 1 slices fits the limit");
        assert_eq!(slab_split(10, 4), (3, 4));
    }
}
