// Composites an off-screen picture (a ViewBuilder's colour, the 3D view)
// into the viewport of the UI's pass.

@group(0) @binding(0) var picture: texture_2d<f32>;
@group(0) @binding(1) var picture_sampler: sampler;

// vs_main and VertexOut come from quad.wgsl.

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    return textureSample(picture, picture_sampler, in.uv);
}
