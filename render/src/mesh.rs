//! Shaded surface meshes (the 3D view): each class's mesh in its own vertex
//! and index buffers, drawn with depth into an off-screen picture
//! ([`MeshTarget`]) that is then copied into the viewport ([`MeshRenderer::blit`]).
//! Off-screen, because egui's render pass has no depth buffer, and because a
//! picture that did not change need not be drawn again: orbiting redraws it,
//! scrolling the slices only copies it.

use glam::{Mat4, Vec3};
use vasa_scan::surface::Mesh;
use wgpu::util::DeviceExt;

/// Colour format of the off-screen picture.
pub const PICTURE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Depth format of the off-screen picture.
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Background of the 3D view (RGB, 0–1).
pub const BACKGROUND: [f64; 3] = [0.05, 0.05, 0.06];

/// Interleaved vertex: position then normal.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Vertex {
    position: [f32; 3],
    normal: [f32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CameraUniform {
    view_proj: [[f32; 4]; 4],
    eye: [f32; 4],
}

/// A mesh too big for one GPU buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("surface mesh of {bytes} bytes exceeds the GPU's buffer limit of {limit} bytes")]
pub struct MeshTooLarge {
    /// Size of the largest buffer the mesh needs.
    pub bytes: u64,
    /// The device's limit.
    pub limit: u64,
}

/// A mesh on the GPU with its colour uniform.
pub struct GpuMesh {
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
    material: wgpu::Buffer,
    material_group: wgpu::BindGroup,
}

/// Where the camera is: the matrix from patient mm to clip space and the eye.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraView {
    /// Patient mm → clip space.
    pub view_proj: Mat4,
    /// Eye position (mm), for the headlight.
    pub eye: Vec3,
}

/// One mesh to draw and its colour.
pub struct MeshDraw<'a> {
    /// The mesh.
    pub mesh: &'a GpuMesh,
    /// sRGB colour.
    pub color: [u8; 3],
}

/// The off-screen picture of one 3D viewport.
pub struct MeshTarget {
    /// Size in pixels.
    pub size: [u32; 2],
    /// The colour texture (copied out for screenshots and tests).
    pub color: wgpu::Texture,
    color_view: wgpu::TextureView,
    depth_view: wgpu::TextureView,
    camera: wgpu::Buffer,
    camera_group: wgpu::BindGroup,
    blit_group: wgpu::BindGroup,
}

/// The pipelines of the 3D view.
pub struct MeshRenderer {
    pipeline: wgpu::RenderPipeline,
    blit: wgpu::RenderPipeline,
    camera_layout: wgpu::BindGroupLayout,
    material_layout: wgpu::BindGroupLayout,
    blit_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

fn uniform_layout(device: &wgpu::Device, label: &str, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }],
    })
}

impl MeshRenderer {
    /// Builds the pipelines; `target_format` is that of the viewport the
    /// picture is copied into.
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("vasa mesh"),
            source: wgpu::ShaderSource::Wgsl(include_str!("mesh.wgsl").into()),
        });
        let camera_layout = uniform_layout(device, "vasa camera", wgpu::ShaderStages::VERTEX_FRAGMENT);
        let material_layout = uniform_layout(device, "vasa material", wgpu::ShaderStages::FRAGMENT);
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("vasa mesh"),
            bind_group_layouts: &[Some(&camera_layout), Some(&material_layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("vasa mesh"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<Vertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3],
                })],
            },
            primitive: wgpu::PrimitiveState { cull_mode: None, ..Default::default() },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: PICTURE_FORMAT,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });

        let blit_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("vasa blit"),
            source: wgpu::ShaderSource::Wgsl(concat!(include_str!("quad.wgsl"), include_str!("blit.wgsl")).into()),
        });
        let blit_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("vasa blit"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let blit_pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("vasa blit"),
            bind_group_layouts: &[Some(&blit_layout)],
            immediate_size: 0,
        });
        let blit = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("vasa blit"),
            layout: Some(&blit_pipeline_layout),
            vertex: wgpu::VertexState {
                module: &blit_module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &blit_module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: target_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("vasa blit"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        MeshRenderer { pipeline, blit, camera_layout, material_layout, blit_layout, sampler }
    }

    /// Puts `mesh` on the GPU (may be called from a worker thread). Fails,
    /// saying so, when a buffer would exceed the device's limit (the caller
    /// can build a coarser mesh).
    pub fn upload(&self, device: &wgpu::Device, mesh: &Mesh) -> Result<GpuMesh, MeshTooLarge> {
        let limit = device.limits().max_buffer_size;
        let bytes = (mesh.positions.len() * std::mem::size_of::<Vertex>()).max(mesh.indices.len() * 4) as u64;
        if bytes > limit {
            return Err(MeshTooLarge { bytes, limit });
        }
        let vertices: Vec<Vertex> =
            mesh.positions.iter().zip(&mesh.normals).map(|(&position, &normal)| Vertex { position, normal }).collect();
        let vertices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("vasa mesh vertices"),
            contents: bytemuck::cast_slice(&vertices),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("vasa mesh indices"),
            contents: bytemuck::cast_slice(&mesh.indices),
            usage: wgpu::BufferUsages::INDEX,
        });
        let material = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vasa material"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let material_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("vasa material"),
            layout: &self.material_layout,
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: material.as_entire_binding() }],
        });
        Ok(GpuMesh { vertices, indices, index_count: mesh.indices.len() as u32, material, material_group })
    }

    /// An off-screen picture of `size` pixels.
    pub fn target(&self, device: &wgpu::Device, size: [u32; 2]) -> MeshTarget {
        let size = [size[0].max(1), size[1].max(1)];
        let extent = wgpu::Extent3d { width: size[0], height: size[1], depth_or_array_layers: 1 };
        let texture = |label, format, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: extent,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let color = texture(
            "vasa 3d picture",
            PICTURE_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
        );
        let depth = texture("vasa 3d depth", DEPTH_FORMAT, wgpu::TextureUsages::RENDER_ATTACHMENT);
        let color_view = color.create_view(&Default::default());
        let camera = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vasa camera"),
            size: std::mem::size_of::<CameraUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let camera_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("vasa camera"),
            layout: &self.camera_layout,
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: camera.as_entire_binding() }],
        });
        let blit_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("vasa blit"),
            layout: &self.blit_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: wgpu::BindingResource::TextureView(&color_view) },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::Sampler(&self.sampler) },
            ],
        });
        MeshTarget {
            size,
            depth_view: depth.create_view(&Default::default()),
            color,
            color_view,
            camera,
            camera_group,
            blit_group,
        }
    }

    /// Draws `meshes` seen from `camera` into `target` (cleared first).
    pub fn render(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &MeshTarget,
        camera: &CameraView,
        meshes: &[MeshDraw<'_>],
    ) {
        let uniform =
            CameraUniform { view_proj: camera.view_proj.to_cols_array_2d(), eye: camera.eye.extend(1.0).to_array() };
        queue.write_buffer(&target.camera, 0, bytemuck::bytes_of(&uniform));
        for m in meshes {
            let c = m.color.map(|c| c as f32 / 255.0);
            queue.write_buffer(&m.mesh.material, 0, bytemuck::cast_slice(&[c[0], c[1], c[2], 1.0f32]));
        }
        let [r, g, b] = BACKGROUND;
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("vasa 3d"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &target.color_view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a: 1.0 }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &target.depth_view,
                depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Discard }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &target.camera_group, &[]);
        for m in meshes.iter().filter(|m| m.mesh.index_count > 0) {
            pass.set_bind_group(1, &m.mesh.material_group, &[]);
            pass.set_vertex_buffer(0, m.mesh.vertices.slice(..));
            pass.set_index_buffer(m.mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
            pass.draw_indexed(0..m.mesh.index_count, 0, 0..1);
        }
    }

    /// Copies `target`'s picture into the viewport of `pass`.
    pub fn blit(&self, pass: &mut wgpu::RenderPass<'_>, target: &MeshTarget) {
        pass.set_pipeline(&self.blit);
        pass.set_bind_group(0, &target.blit_group, &[]);
        pass.draw(0..6, 0..1);
    }
}
