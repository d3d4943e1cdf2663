//! The MPR slice renderer: one pipeline, and per view a small uniform
//! (plane, window, label style) — so scrolling, zooming and window changes
//! only rewrite 80 bytes; the volume itself stays on the GPU.

use bytemuck::{Pod, Zeroable};
use vasa_scan::reslice::PlaneSampling;

use crate::pipeline;
use crate::resource_managers::ScanTextures;

/// How one label class is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelStyle {
    /// sRGB colour.
    pub color: [u8; 3],
    /// Opacity 0–1 (0 hides the class).
    pub opacity: f32,
}

/// What one slice view shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceView {
    /// Where the view's pixels sample the volume (see [`vasa_scan::reslice::plane_sampling`]).
    pub sampling: PlaneSampling,
    /// View size in pixels.
    pub size: [u32; 2],
    /// Window centre and width (HU).
    pub window: (f32, f32),
    /// Draw label outlines instead of filled regions.
    pub outline: bool,
    /// Opacity of the whole label layer (multiplies each class's).
    pub label_opacity: f32,
    /// Style per label value (index = label).
    pub styles: Vec<LabelStyle>,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ViewUniform {
    origin: [f32; 4],
    du: [f32; 4],
    dv: [f32; 4],
    size: [f32; 4],
    window: [f32; 4],
    dims: [f32; 4],
}

impl ViewUniform {
    fn of(view: &SliceView, dims: [usize; 3], core: f32) -> Self {
        let v3 = |v: glam::DVec3| [v.x as f32, v.y as f32, v.z as f32, 0.0];
        ViewUniform {
            origin: v3(view.sampling.origin),
            du: v3(view.sampling.du),
            dv: v3(view.sampling.dv),
            size: [view.size[0] as f32, view.size[1] as f32, if view.outline { 1.0 } else { 0.0 }, view.label_opacity],
            window: [view.window.0, view.window.1, 0.0, 0.0],
            dims: [dims[0] as f32, dims[1] as f32, dims[2] as f32, core],
        }
    }
}

fn palette(styles: &[LabelStyle]) -> [[f32; 4]; 256] {
    let mut p = [[0.0f32; 4]; 256];
    for (slot, s) in p.iter_mut().zip(styles).skip(1) {
        let c = s.color.map(|c| c as f32 / 255.0);
        *slot = [c[0], c[1], c[2], s.opacity.clamp(0.0, 1.0)];
    }
    p
}

/// The pipeline that draws slices into a colour target of one format.
pub struct SliceRenderer {
    pipeline: wgpu::RenderPipeline,
    /// The same, for volumes split into slabs.
    pipeline_slabbed: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
}

/// The GPU resources of one view, reused frame after frame.
pub struct SliceDraw {
    view_buffer: wgpu::Buffer,
    palette_buffer: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    /// The volume's voxels and slices per slab.
    dims: [usize; 3],
    core: f32,
    /// The volume is split into slabs (the specialised pipeline draws it).
    slabbed: bool,
}

impl SliceRenderer {
    /// Builds the pipeline for colour targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = pipeline::fullscreen_shader(device, "vasa slice", include_str!("../shaders/slice.wgsl"));
        let fragment = wgpu::ShaderStages::FRAGMENT;
        let volume =
            |binding, sample_type| pipeline::texture_entry(binding, sample_type, wgpu::TextureViewDimension::D3);
        let layout = pipeline::bind_group_layout(
            device,
            "vasa slice",
            &[
                pipeline::uniform_entry(0, fragment),
                pipeline::uniform_entry(1, fragment),
                volume(2, wgpu::TextureSampleType::Sint),
                volume(3, wgpu::TextureSampleType::Sint),
                volume(4, wgpu::TextureSampleType::Sint),
                volume(5, wgpu::TextureSampleType::Sint),
                volume(6, wgpu::TextureSampleType::Uint),
                volume(7, wgpu::TextureSampleType::Uint),
                volume(8, wgpu::TextureSampleType::Uint),
                volume(9, wgpu::TextureSampleType::Uint),
            ],
        );
        let specialised = |slabbed: bool| {
            let constants = [("SLABBED", if slabbed { 1.0 } else { 0.0 })];
            pipeline::fullscreen_pipeline_with(device, "vasa slice", &module, &[&layout], format, None, &constants)
        };
        SliceRenderer { pipeline: specialised(false), pipeline_slabbed: specialised(true), layout }
    }

    /// Creates the per-view resources for `textures` and fills them with `view`.
    pub fn create_draw(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        textures: &ScanTextures,
        view: &SliceView,
    ) -> SliceDraw {
        let view_buffer =
            pipeline::uniform_buffer(device, "vasa slice view", std::mem::size_of::<ViewUniform>() as u64);
        let palette_buffer = pipeline::uniform_buffer(device, "vasa slice palette", 256 * 16);
        let [c0, c1, c2, c3] = textures.volume.views();
        let [l0, l1, l2, l3] = textures.labels.views();
        let bind_group = pipeline::bind_group(
            device,
            "vasa slice",
            &self.layout,
            &[
                view_buffer.as_entire_binding(),
                palette_buffer.as_entire_binding(),
                wgpu::BindingResource::TextureView(c0),
                wgpu::BindingResource::TextureView(c1),
                wgpu::BindingResource::TextureView(c2),
                wgpu::BindingResource::TextureView(c3),
                wgpu::BindingResource::TextureView(l0),
                wgpu::BindingResource::TextureView(l1),
                wgpu::BindingResource::TextureView(l2),
                wgpu::BindingResource::TextureView(l3),
            ],
        );
        let draw = SliceDraw {
            view_buffer,
            palette_buffer,
            bind_group,
            dims: textures.dims(),
            core: textures.volume.slab_params()[0],
            slabbed: textures.volume.slab_params()[1] > 1.0,
        };
        draw.update(queue, view);
        draw
    }

    /// Records the draw of `draw` into `pass` (the viewport set by the caller).
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, draw: &SliceDraw) {
        let pipeline = if draw.slabbed { &self.pipeline_slabbed } else { &self.pipeline };
        pipeline::draw_fullscreen(pass, pipeline, &draw.bind_group);
    }
}

impl SliceDraw {
    /// Rewrites the view's uniforms (cheap: call on every change).
    pub fn update(&self, queue: &wgpu::Queue, view: &SliceView) {
        queue.write_buffer(&self.view_buffer, 0, bytemuck::bytes_of(&ViewUniform::of(view, self.dims, self.core)));
        queue.write_buffer(&self.palette_buffer, 0, bytemuck::cast_slice(&palette(&view.styles)));
    }
}
