// Surface meshes in patient mm, lit by a headlight (the light sits at the
// eye), two-sided so that a cut-open or inward-facing surface still shades.

// The view's frame uniform (view_builder.rs).
struct Frame {
    view_proj: mat4x4<f32>,
    eye: vec4<f32>,        // xyz: eye position (mm)
};

struct Material {
    color: vec4<f32>,      // rgb in 0..1, a: opacity (1 in the opaque pipeline)
};

@group(0) @binding(0) var<uniform> camera: Frame;
@group(1) @binding(0) var<uniform> material: Material;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) world: vec3<f32>,
};

@vertex
fn vs_main(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>) -> VertexOut {
    var out: VertexOut;
    out.position = camera.view_proj * vec4(position, 1.0);
    out.normal = normal;
    out.world = position;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let v = normalize(camera.eye.xyz - in.world);
    var n = normalize(in.normal);
    if (dot(n, v) < 0.0) {
        n = -n;
    }
    let diffuse = max(dot(n, v), 0.0);
    let specular = pow(diffuse, 40.0) * 0.3;
    let rgb = material.color.rgb * (0.22 + 0.78 * diffuse) + vec3(specular);
    return vec4(min(rgb, vec3(1.0)), material.color.a);
}
