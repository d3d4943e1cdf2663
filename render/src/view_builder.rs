//! One off-screen view (after rerun's `re_renderer::ViewBuilder`): the
//! colour and depth targets a 3D picture is drawn into, the camera every
//! renderer of the view reads (the frame uniform, bind group 0), and the
//! [`Compositor`] that copies the finished picture into the UI's pass.
//!
//! Off-screen, because egui's render pass has no depth buffer, and because a
//! picture that did not change need not be drawn again: orbiting redraws
//! it, scrolling the slices only composites it. The depth target is kept
//! after the pass and can be sampled (`texture_depth_2d`), so a later pass
//! (volume rendering) can stop its rays at the surfaces.

use glam::{Mat4, Vec3};

use crate::pipeline;

/// Colour format of the off-screen picture.
pub const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Depth format of the off-screen picture (sampleable as `texture_depth_2d`).
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// Where the camera is: the matrix from patient mm to clip space and the eye.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraView {
    /// Patient mm → clip space.
    pub view_proj: Mat4,
    /// Eye position (mm), for the headlight.
    pub eye: Vec3,
}

/// The frame uniform (WGSL `struct Frame { view_proj: mat4x4<f32>, eye: vec4<f32> }`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FrameUniform {
    view_proj: [[f32; 4]; 4],
    eye: [f32; 4],
}

/// Layout of bind group 0 of every 3D renderer: the frame uniform.
///
/// Renderers and views each create it; WebGPU treats layouts with equal
/// entries as one ("group-equivalent"), so a view's group fits any of them.
pub fn frame_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    pipeline::bind_group_layout(
        device,
        "vasa frame",
        &[pipeline::uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT)],
    )
}

fn composite_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    pipeline::bind_group_layout(
        device,
        "vasa composite",
        &[
            pipeline::texture_entry(
                0,
                wgpu::TextureSampleType::Float { filterable: true },
                wgpu::TextureViewDimension::D2,
            ),
            pipeline::sampler_entry(1),
        ],
    )
}

/// The targets and camera of one off-screen view.
pub struct ViewBuilder {
    size: [u32; 2],
    color: wgpu::Texture,
    color_view: wgpu::TextureView,
    depth: wgpu::Texture,
    depth_view: wgpu::TextureView,
    front_depth: wgpu::Texture,
    front_depth_view: wgpu::TextureView,
    frame: wgpu::Buffer,
    frame_group: wgpu::BindGroup,
    composite_group: wgpu::BindGroup,
}

impl ViewBuilder {
    /// A view of `size` pixels (at least 1×1).
    pub fn new(device: &wgpu::Device, size: [u32; 2]) -> Self {
        let size = [size[0].max(1), size[1].max(1)];
        let texture = |label, format, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d { width: size[0], height: size[1], depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let sampled = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING;
        let color = texture("vasa view colour", COLOR_FORMAT, sampled | wgpu::TextureUsages::COPY_SRC);
        let depth = texture("vasa view depth", DEPTH_FORMAT, sampled | wgpu::TextureUsages::COPY_SRC);
        // The nearest surface of all, translucent ones included: where a
        // volume's rays split around the translucent surfaces.
        let front_depth = texture("vasa view front depth", DEPTH_FORMAT, sampled | wgpu::TextureUsages::COPY_DST);
        let front_depth_view = front_depth.create_view(&Default::default());
        let color_view = color.create_view(&Default::default());
        let depth_view = depth.create_view(&Default::default());
        let frame = pipeline::uniform_buffer(device, "vasa frame", std::mem::size_of::<FrameUniform>() as u64);
        let frame_group =
            pipeline::bind_group(device, "vasa frame", &frame_layout(device), &[frame.as_entire_binding()]);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("vasa composite"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let composite_group = pipeline::bind_group(
            device,
            "vasa composite",
            &composite_layout(device),
            &[wgpu::BindingResource::TextureView(&color_view), wgpu::BindingResource::Sampler(&sampler)],
        );
        ViewBuilder {
            size,
            color,
            color_view,
            depth,
            depth_view,
            front_depth,
            front_depth_view,
            frame,
            frame_group,
            composite_group,
        }
    }

    /// Size in pixels.
    pub fn size(&self) -> [u32; 2] {
        self.size
    }

    /// The colour target (copied out for screenshots and tests).
    pub fn color(&self) -> &wgpu::Texture {
        &self.color
    }

    /// A view of the colour target, for passes after the first (the volume's).
    pub fn color_view(&self) -> &wgpu::TextureView {
        &self.color_view
    }

    /// The depth target (`Depth32Float`, 1 = far), kept after the pass.
    pub fn depth(&self) -> &wgpu::Texture {
        &self.depth
    }

    /// A view of the depth target, to bind as `texture_depth_2d` once the
    /// pass that wrote it has ended.
    pub fn depth_view(&self) -> &wgpu::TextureView {
        &self.depth_view
    }

    /// Depth of the nearest surface, translucent ones included (sampleable;
    /// written by [`MeshRenderer::render_front_depth`](crate::MeshRenderer::render_front_depth)).
    pub fn front_depth_view(&self) -> &wgpu::TextureView {
        &self.front_depth_view
    }

    /// Starts the front-depth pass: the opaque depth copied in, kept for
    /// the translucent surfaces to be drawn into with a depth test.
    pub fn begin_front_depth_pass<'e>(&self, encoder: &'e mut wgpu::CommandEncoder) -> wgpu::RenderPass<'e> {
        let size = wgpu::Extent3d { width: self.size[0], height: self.size[1], depth_or_array_layers: 1 };
        encoder.copy_texture_to_texture(self.depth.as_image_copy(), self.front_depth.as_image_copy(), size);
        encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("vasa front depth"),
            color_attachments: &[],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &self.front_depth_view,
                depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Load, store: wgpu::StoreOp::Store }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        })
    }

    /// Continues drawing into the colour target over what it holds, tested
    /// against (not writing) the opaque depth: translucent surfaces.
    pub fn continue_pass<'e>(&self, encoder: &'e mut wgpu::CommandEncoder) -> wgpu::RenderPass<'e> {
        encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("vasa view (continued)"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &self.color_view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations { load: wgpu::LoadOp::Load, store: wgpu::StoreOp::Store },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &self.depth_view,
                depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Load, store: wgpu::StoreOp::Store }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        })
    }

    /// Sets the camera all renderers of this view read.
    pub fn set_camera(&self, queue: &wgpu::Queue, camera: &CameraView) {
        let uniform =
            FrameUniform { view_proj: camera.view_proj.to_cols_array_2d(), eye: camera.eye.extend(1.0).to_array() };
        queue.write_buffer(&self.frame, 0, bytemuck::bytes_of(&uniform));
    }

    /// Bind group 0 of the renderers drawing into this view (layout [`frame_layout`]).
    pub fn frame_group(&self) -> &wgpu::BindGroup {
        &self.frame_group
    }

    /// Begins the pass that draws the picture: colour cleared to
    /// `background` (RGB, 0–1, opaque), depth to 1; both kept afterwards.
    pub fn begin_pass<'e>(&self, encoder: &'e mut wgpu::CommandEncoder, background: [f64; 3]) -> wgpu::RenderPass<'e> {
        let [r, g, b] = background;
        encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("vasa view"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &self.color_view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a: 1.0 }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &self.depth_view,
                depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Store }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        })
    }
}

/// Copies a view's picture into the viewport of the UI's pass (targets of
/// one format).
pub struct Compositor {
    pipeline: wgpu::RenderPipeline,
}

impl Compositor {
    /// The composite pipeline for UI targets of `target_format`.
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        let module = pipeline::fullscreen_shader(device, "vasa composite", include_str!("shaders/composite.wgsl"));
        let layout = composite_layout(device);
        let pipeline =
            pipeline::fullscreen_pipeline(device, "vasa composite", &module, &[&layout], target_format, None);
        Compositor { pipeline }
    }

    /// Draws `view`'s picture over the viewport of `pass`.
    pub fn composite(&self, pass: &mut wgpu::RenderPass<'_>, view: &ViewBuilder) {
        pipeline::draw_fullscreen(pass, &self.pipeline, &view.composite_group);
    }
}
