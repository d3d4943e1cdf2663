//! Off-screen rendering without a window: a device of its own, a colour
//! texture, and read-backs to bytes (pictures and 3-D textures). For tests
//! (they compare the GPU slice with the CPU reference, partial texture
//! updates with whole ones) and for screenshots.

use crate::renderer::mesh::{MeshDraw, MeshRenderer};
use crate::renderer::slice::{SliceRenderer, SliceView};
use crate::renderer::volume::{VolumeRenderer, VolumeSettings};
use crate::resource_managers::{LabelTexture, RayVolume, ScanTextures};
use crate::view_builder::{CameraView, ViewBuilder};

/// Format of the off-screen target (plain 8-bit RGBA, no sRGB conversion).
pub const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// A GPU device for off-screen work.
pub struct HeadlessGpu {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// What the adapter says it is (e.g. "llvmpipe" for Mesa's software Vulkan).
    pub adapter_name: String,
}

/// Why off-screen rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// No adapter or device could be had.
    #[error("no GPU adapter: {0}")]
    NoGpu(String),
    /// The rendered image could not be read back.
    #[error("reading the image back from the GPU failed: {0}")]
    Readback(String),
}

impl HeadlessGpu {
    /// Any adapter, a software one included.
    pub fn new() -> Result<Self, HeadlessError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|e| HeadlessError::NoGpu(e.to_string()))?;
        let adapter_name = adapter.get_info().name;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("vasa headless"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| HeadlessError::NoGpu(e.to_string()))?;
        Ok(HeadlessGpu { device, queue, adapter_name })
    }

    /// Renders one slice view into a `view.size` image; RGBA rows from the top.
    pub fn render_slice(
        &self,
        renderer: &SliceRenderer,
        textures: &ScanTextures,
        view: &SliceView,
    ) -> Result<Vec<u8>, HeadlessError> {
        let [w, h] = view.size;
        let target = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("vasa headless target"),
            size: wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let target_view = target.create_view(&Default::default());
        let draw = renderer.create_draw(&self.device, &self.queue, textures, view);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("vasa headless"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target_view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            renderer.paint(&mut pass, &draw);
        }
        self.queue.submit([encoder.finish()]);
        self.read_texture(&target, [w, h])
    }

    /// Renders `meshes` seen from `camera` into a `size` image; RGBA rows from the top.
    pub fn render_meshes(
        &self,
        renderer: &MeshRenderer,
        meshes: &[MeshDraw<'_>],
        camera: &CameraView,
        size: [u32; 2],
    ) -> Result<Vec<u8>, HeadlessError> {
        let view = ViewBuilder::new(&self.device, size);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        renderer.render(&self.queue, &mut encoder, &view, camera, meshes);
        self.queue.submit([encoder.finish()]);
        self.read_texture(view.color(), view.size())
    }

    /// Renders `volume` (with `labels`) as `settings` say, seen from
    /// `camera`, into a `size` image on `background`: the viewer's path (a
    /// view, its cleared targets, the volume pass). RGBA rows from the top.
    #[allow(clippy::too_many_arguments)]
    pub fn render_volume(
        &self,
        renderer: &VolumeRenderer,
        volume: &RayVolume,
        labels: &LabelTexture,
        geometry: &vasa_scan::Geometry,
        settings: &VolumeSettings,
        camera: &CameraView,
        size: [u32; 2],
        background: [f64; 3],
    ) -> Result<Vec<u8>, HeadlessError> {
        let view = ViewBuilder::new(&self.device, size);
        let mut draw = renderer.create_draw(&self.device, volume, labels, &view);
        draw.update(&self.queue, volume, geometry, camera, settings, true)
            .map_err(|e| HeadlessError::Readback(e.to_string()))?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        drop(view.begin_pass(&mut encoder, background));
        renderer.render(&mut encoder, &view, &draw);
        self.queue.submit([encoder.finish()]);
        self.read_texture(view.color(), view.size())
    }

    /// Renders `meshes` and the volume (as `settings` say) together, as
    /// the viewer's 3D view does ([`crate::scene::draw`]). RGBA rows from the top.
    #[allow(clippy::too_many_arguments)]
    pub fn render_scene(
        &self,
        mesh_renderer: &MeshRenderer,
        meshes: &[MeshDraw<'_>],
        renderer: &VolumeRenderer,
        volume: &RayVolume,
        labels: &LabelTexture,
        geometry: &vasa_scan::Geometry,
        settings: &VolumeSettings,
        camera: &CameraView,
        size: [u32; 2],
    ) -> Result<Vec<u8>, HeadlessError> {
        let view = ViewBuilder::new(&self.device, size);
        let mut draw = renderer.create_draw(&self.device, volume, labels, &view);
        draw.update(&self.queue, volume, geometry, camera, settings, true)
            .map_err(|e| HeadlessError::Readback(e.to_string()))?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        crate::scene::draw(&self.queue, &mut encoder, &view, camera, mesh_renderer, meshes, Some((renderer, &draw)));
        self.queue.submit([encoder.finish()]);
        self.read_texture(view.color(), view.size())
    }

    /// Copies a 2-D texture of 4 bytes per texel (RGBA8, R32Float) back to
    /// the CPU; rows from the top.
    pub fn read_texture(&self, texture: &wgpu::Texture, [w, h]: [u32; 2]) -> Result<Vec<u8>, HeadlessError> {
        self.read_back(texture, [w as usize, h as usize, 1], 4)
    }

    /// Copies a whole 3-D texture of `bytes_per_voxel` back to the CPU
    /// (i fastest, then j, then k: the order of `vasa_scan::Volume`).
    pub fn read_volume(&self, texture: &wgpu::Texture, bytes_per_voxel: usize) -> Result<Vec<u8>, HeadlessError> {
        let size = texture.size();
        let dims = [size.width, size.height, size.depth_or_array_layers].map(|d| d as usize);
        self.read_back(texture, dims, bytes_per_voxel)
    }

    fn read_back(
        &self,
        texture: &wgpu::Texture,
        [w, h, d]: [usize; 3],
        texel: usize,
    ) -> Result<Vec<u8>, HeadlessError> {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        // Rows padded to 256 bytes for the copy.
        let row = (w * texel).div_ceil(256) * 256;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vasa readback"),
            size: (row * h * d) as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row as u32),
                    rows_per_image: Some(h as u32),
                },
            },
            wgpu::Extent3d { width: w as u32, height: h as u32, depth_or_array_layers: d as u32 },
        );
        self.queue.submit([encoder.finish()]);
        let slice = buffer.slice(..);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| HeadlessError::Readback(e.to_string()))?;
        let data = slice.get_mapped_range().map_err(|e| HeadlessError::Readback(e.to_string()))?;
        let mut out = Vec::with_capacity(w * h * d * texel);
        for r in 0..h * d {
            out.extend_from_slice(&data[r * row..r * row + w * texel]);
        }
        drop(data);
        buffer.unmap();
        Ok(out)
    }
}
