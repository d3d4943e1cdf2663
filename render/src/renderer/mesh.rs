//! Shaded surface meshes (the 3D view): each class's mesh in its own vertex
//! and index buffers, drawn with depth into a [`ViewBuilder`]'s targets.
//!
//! Opaque meshes are drawn first, writing depth; translucent ones (opacity
//! below 1) follow, farthest first, blended over what is behind them and
//! tested against the opaque depth without writing it, so that a surface
//! seen through another is not hidden by it. With every opacity at 1 (the
//! default) only the opaque pipeline runs.

use glam::Vec3;
use vasa_scan::surface::Mesh;
use wgpu::util::DeviceExt;

use crate::pipeline;
use crate::view_builder::{COLOR_FORMAT, CameraView, DEPTH_FORMAT, ViewBuilder, frame_layout};

/// Background of the 3D view (RGB, 0–1).
pub const BACKGROUND: [f64; 3] = [0.05, 0.05, 0.06];

/// Interleaved vertex: position then normal.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Vertex {
    position: [f32; 3],
    normal: [f32; 3],
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

/// A mesh on the GPU with its material uniform.
pub struct GpuMesh {
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
    /// Centre of the bounding box (mm), to sort translucent meshes by depth.
    centre: Vec3,
    material: wgpu::Buffer,
    material_group: wgpu::BindGroup,
}

/// One mesh to draw, its colour and opacity.
pub struct MeshDraw<'a> {
    /// The mesh.
    pub mesh: &'a GpuMesh,
    /// sRGB colour.
    pub color: [u8; 3],
    /// Opacity 0–1: 1 opaque, below 1 blended over what lies behind, 0 not drawn.
    pub opacity: f32,
}

impl<'a> MeshDraw<'a> {
    /// An opaque draw of `mesh` in `color`.
    pub fn opaque(mesh: &'a GpuMesh, color: [u8; 3]) -> Self {
        MeshDraw { mesh, color, opacity: 1.0 }
    }

    /// True when it is drawn translucent (opacity below 1, above 0).
    pub fn is_translucent(&self) -> bool {
        self.opacity() > 0.0 && self.opacity() < 1.0
    }

    fn opacity(&self) -> f32 {
        self.opacity.clamp(0.0, 1.0)
    }
}

/// The pipelines of the 3D view's surfaces.
pub struct MeshRenderer {
    opaque: wgpu::RenderPipeline,
    translucent: wgpu::RenderPipeline,
    /// Translucent surfaces' depth only (the front-depth pass).
    depth_only: wgpu::RenderPipeline,
    material_layout: wgpu::BindGroupLayout,
}

fn mesh_pipeline(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    blend: Option<wgpu::BlendState>,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[Some(VERTEX_LAYOUT)],
        },
        primitive: wgpu::PrimitiveState { cull_mode: None, ..Default::default() },
        depth_stencil: Some(wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            // Translucent surfaces are depth-tested but leave depth to the opaque ones.
            depth_write_enabled: Some(blend.is_none()),
            depth_compare: Some(wgpu::CompareFunction::Less),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: COLOR_FORMAT,
                blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// The interleaved [`Vertex`] as the pipelines read it.
const VERTEX_LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
    array_stride: std::mem::size_of::<Vertex>() as u64,
    step_mode: wgpu::VertexStepMode::Vertex,
    attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3],
};

/// The shown draws: opaque ones, and translucent ones far to near.
fn split<'m, 'a>(camera: &CameraView, meshes: &'m [MeshDraw<'a>]) -> (Vec<&'m MeshDraw<'a>>, Vec<&'m MeshDraw<'a>>) {
    let shown = meshes.iter().filter(|m| m.mesh.index_count > 0 && m.opacity() > 0.0);
    let (opaque, mut translucent): (Vec<&MeshDraw>, Vec<&MeshDraw>) = shown.partition(|m| m.opacity() >= 1.0);
    let distance = |m: &MeshDraw| m.mesh.centre.distance_squared(camera.eye);
    translucent.sort_by(|a, b| distance(b).total_cmp(&distance(a)));
    (opaque, translucent)
}

/// Writes the depth of surfaces, no colour (the front-depth pass).
fn depth_only_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("vasa mesh depth"),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[Some(VERTEX_LAYOUT)],
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
        fragment: None,
        multiview_mask: None,
        cache: None,
    })
}

impl MeshRenderer {
    /// Builds the pipelines (they draw into [`ViewBuilder`] targets).
    pub fn new(device: &wgpu::Device) -> Self {
        let module = pipeline::shader(device, "vasa mesh", &[include_str!("../shaders/mesh.wgsl")]);
        let material_layout = pipeline::bind_group_layout(
            device,
            "vasa material",
            &[pipeline::uniform_entry(0, wgpu::ShaderStages::FRAGMENT)],
        );
        let layout = pipeline::pipeline_layout(device, "vasa mesh", &[&frame_layout(device), &material_layout]);
        MeshRenderer {
            opaque: mesh_pipeline(device, "vasa mesh", &layout, &module, None),
            translucent: mesh_pipeline(
                device,
                "vasa mesh translucent",
                &layout,
                &module,
                Some(pipeline::ALPHA_BLENDING),
            ),
            depth_only: depth_only_pipeline(device, &layout, &module),
            material_layout,
        }
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
        let (lo, hi) = mesh
            .positions
            .iter()
            .fold((Vec3::INFINITY, Vec3::NEG_INFINITY), |(lo, hi), &p| (lo.min(Vec3::from(p)), hi.max(Vec3::from(p))));
        let centre = if mesh.positions.is_empty() { Vec3::ZERO } else { (lo + hi) / 2.0 };
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
        let material = pipeline::uniform_buffer(device, "vasa material", 16);
        let material_group =
            pipeline::bind_group(device, "vasa material", &self.material_layout, &[material.as_entire_binding()]);
        Ok(GpuMesh { vertices, indices, index_count: mesh.indices.len() as u32, centre, material, material_group })
    }

    /// Draws `meshes` seen from `camera` into `view` (cleared to
    /// [`BACKGROUND`] first): opaque ones, then translucent ones far to near.
    pub fn render(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &ViewBuilder,
        camera: &CameraView,
        meshes: &[MeshDraw<'_>],
    ) {
        let (opaque, translucent) = self.prepare(queue, view, camera, meshes);
        let mut pass = view.begin_pass(encoder, BACKGROUND);
        self.draw(&mut pass, view, &self.opaque, &opaque);
        self.draw(&mut pass, view, &self.translucent, &translucent);
    }

    /// The first of the three steps that put a volume between translucent
    /// surfaces (see [`crate::scene`]): the opaque meshes only, into
    /// `view` cleared to [`BACKGROUND`].
    pub fn render_opaque(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &ViewBuilder,
        camera: &CameraView,
        meshes: &[MeshDraw<'_>],
    ) {
        let (opaque, _) = self.prepare(queue, view, camera, meshes);
        let mut pass = view.begin_pass(encoder, BACKGROUND);
        self.draw(&mut pass, view, &self.opaque, &opaque);
    }

    /// The nearest depth of the opaque and translucent meshes into the
    /// view's front depth (after [`MeshRenderer::render_opaque`]).
    pub fn render_front_depth(&self, encoder: &mut wgpu::CommandEncoder, view: &ViewBuilder, meshes: &[MeshDraw<'_>]) {
        let translucent: Vec<&MeshDraw> =
            meshes.iter().filter(|m| m.mesh.index_count > 0 && m.is_translucent()).collect();
        let mut pass = view.begin_front_depth_pass(encoder);
        self.draw(&mut pass, view, &self.depth_only, &translucent);
    }

    /// The translucent meshes, far to near, over what the view holds
    /// (after [`MeshRenderer::render_opaque`]; the camera is set).
    pub fn render_translucent(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        view: &ViewBuilder,
        camera: &CameraView,
        meshes: &[MeshDraw<'_>],
    ) {
        let (_, translucent) = split(camera, meshes);
        let mut pass = view.continue_pass(encoder);
        self.draw(&mut pass, view, &self.translucent, &translucent);
    }

    /// Sets the camera and the materials; the draws split by opacity.
    fn prepare<'m, 'a>(
        &self,
        queue: &wgpu::Queue,
        view: &ViewBuilder,
        camera: &CameraView,
        meshes: &'m [MeshDraw<'a>],
    ) -> (Vec<&'m MeshDraw<'a>>, Vec<&'m MeshDraw<'a>>) {
        view.set_camera(queue, camera);
        for m in meshes {
            let c = m.color.map(|c| c as f32 / 255.0);
            queue.write_buffer(&m.mesh.material, 0, bytemuck::cast_slice(&[c[0], c[1], c[2], m.opacity()]));
        }
        split(camera, meshes)
    }

    fn draw(
        &self,
        pass: &mut wgpu::RenderPass<'_>,
        view: &ViewBuilder,
        pipeline: &wgpu::RenderPipeline,
        draws: &[&MeshDraw],
    ) {
        if draws.is_empty() {
            return;
        }
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, view.frame_group(), &[]);
        for m in draws {
            pass.set_bind_group(1, &m.mesh.material_group, &[]);
            pass.set_vertex_buffer(0, m.mesh.vertices.slice(..));
            pass.set_index_buffer(m.mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
            pass.draw_indexed(0..m.mesh.index_count, 0, 0..1);
        }
    }
}
