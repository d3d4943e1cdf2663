//! Helpers every renderer shares, so that a pipeline states only what is
//! its own: shader modules (with the full-viewport quad prepended where
//! needed), bind group layout entries, uniform buffers, the full-viewport
//! pipeline, and the blend states.

/// The vertex shader that covers the viewport with two triangles
/// (`vs_main`, `VertexOut` with `uv` from (0,0) top-left to (1,1) bottom-right).
pub const QUAD_WGSL: &str = include_str!("shaders/quad.wgsl");

/// Straight (not premultiplied) alpha blending for translucent surfaces:
/// `rgb = src·a + dst·(1 − a)`; the target's alpha is composited "over", so
/// an opaque target stays opaque.
pub const ALPHA_BLENDING: wgpu::BlendState = wgpu::BlendState::ALPHA_BLENDING;

/// A shader module from WGSL sources concatenated in order.
pub fn shader(device: &wgpu::Device, label: &str, sources: &[&str]) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(sources.concat().into()),
    })
}

/// A full-viewport shader: [`QUAD_WGSL`] followed by `fragment` (which
/// defines `fs_main(in: VertexOut)`).
pub fn fullscreen_shader(device: &wgpu::Device, label: &str, fragment: &str) -> wgpu::ShaderModule {
    shader(device, label, &[QUAD_WGSL, fragment])
}

/// Layout entry of a uniform buffer.
pub fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Layout entry of a non-multisampled texture read by the fragment shader.
pub fn texture_entry(
    binding: u32,
    sample_type: wgpu::TextureSampleType,
    view_dimension: wgpu::TextureViewDimension,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture { sample_type, view_dimension, multisampled: false },
        count: None,
    }
}

/// Layout entry of a filtering sampler used by the fragment shader.
pub fn sampler_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
        count: None,
    }
}

/// A bind group layout of `entries`.
pub fn bind_group_layout(
    device: &wgpu::Device,
    label: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries })
}

/// A pipeline layout of `groups` (group `i` is `groups[i]`), without immediates.
pub fn pipeline_layout(device: &wgpu::Device, label: &str, groups: &[&wgpu::BindGroupLayout]) -> wgpu::PipelineLayout {
    let groups: Vec<Option<&wgpu::BindGroupLayout>> = groups.iter().map(|&g| Some(g)).collect();
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &groups,
        immediate_size: 0,
    })
}

/// A uniform buffer of `size` bytes, rewritten with `queue.write_buffer`.
pub fn uniform_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A bind group with `resources` at bindings 0, 1, 2, … in order.
pub fn bind_group(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    resources: &[wgpu::BindingResource<'_>],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| wgpu::BindGroupEntry { binding: i as u32, resource: r.clone() })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(label), layout, entries: &entries })
}

/// A pipeline that draws [`fullscreen_shader`] `module` (six vertices, no
/// buffers, no depth) into one colour target of `format`.
pub fn fullscreen_pipeline(
    device: &wgpu::Device,
    label: &str,
    module: &wgpu::ShaderModule,
    groups: &[&wgpu::BindGroupLayout],
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
) -> wgpu::RenderPipeline {
    fullscreen_pipeline_with(device, label, module, groups, format, blend, &[])
}

/// [`fullscreen_pipeline`] with the fragment shader's pipeline-overridable
/// constants set (`override NAME: T` in WGSL): a specialised pipeline, its
/// dead branches compiled away.
pub fn fullscreen_pipeline_with(
    device: &wgpu::Device,
    label: &str,
    module: &wgpu::ShaderModule,
    groups: &[&wgpu::BindGroupLayout],
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
    constants: &[(&str, f64)],
) -> wgpu::RenderPipeline {
    let layout = pipeline_layout(device, label, groups);
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some("fs_main"),
            compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
            targets: &[Some(wgpu::ColorTargetState { format, blend, write_mask: wgpu::ColorWrites::ALL })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Records the full-viewport draw of `pipeline` with `group` as group 0.
pub fn draw_fullscreen(pass: &mut wgpu::RenderPass<'_>, pipeline: &wgpu::RenderPipeline, group: &wgpu::BindGroup) {
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.draw(0..6, 0..1);
}
