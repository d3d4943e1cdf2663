// Ray casting of the CT: maximum and minimum intensity projections, direct
// volume rendering through a transfer function, and labels (each visible
// class in its colour over faint CT context). Rays run in patient mm from
// the camera (orthographic or perspective alike: near and far points of
// the pixel unprojected), are clipped to the volume, a clip box (voxels)
// and a clip plane, stop at the surfaces drawn before (the view's depth;
// or run between translucent surfaces and the opaque ones behind them),
// skip bricks the occupancy grid marks empty and end when opaque. The
// output is premultiplied colour, blended over what the view holds.

struct Params {
    inv_view_proj: mat4x4<f32>,
    world_to_voxel: mat4x4<f32>,
    dims: vec4<f32>,      // xyz: voxels; w: brick side (voxels)
    clip_min: vec4<f32>,  // xyz: voxel position
    clip_max: vec4<f32>,
    plane: vec4<f32>,     // xyz: unit normal (world); w: offset; removed where dot(n, p) + w > 0
    mode: vec4<f32>,      // x: 0 MIP, 1 MinIP, 2 DVR, 3 labels; y: step (mm); z, w: window centre, width (HU)
    look: vec4<f32>,      // x: CT context opacity (labels); y: label opacity per mm; z: plane on; w: shading on
    output: vec4<f32>,    // xy: view size (px); z: stop at the depth target; w: start at start_depth
    slabs: vec4<f32>,     // x: slices per slab (core); y: slabs (the volume split along k)
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> palette: array<vec4<f32>, 256>;
// The CT and labels in slabs along k (more than one when the volume has
// more slices than a 3-D texture may hold): slab s holds slices
// s·core ..= (s+1)·core, one more than its share, so filtering crosses
// the border.
@group(0) @binding(2) var hu0: texture_3d<f32>;
@group(0) @binding(3) var trilinear: sampler;
@group(0) @binding(4) var labels0: texture_3d<u32>;
@group(0) @binding(5) var tf: texture_2d<f32>;
@group(0) @binding(6) var occupancy: texture_3d<u32>;
@group(0) @binding(7) var depth: texture_depth_2d;
// Where the rays start with output.w (the translucent surfaces' depth):
// the segment behind them; nothing where there are none.
@group(0) @binding(8) var start_depth: texture_depth_2d;
@group(0) @binding(9) var hu1: texture_3d<f32>;
@group(0) @binding(10) var hu2: texture_3d<f32>;
@group(0) @binding(11) var hu3: texture_3d<f32>;
@group(0) @binding(12) var labels1: texture_3d<u32>;
@group(0) @binding(13) var labels2: texture_3d<u32>;
@group(0) @binding(14) var labels3: texture_3d<u32>;

// True in the pipeline for volumes split into slabs; false (the usual case)
// compiles the slab lookups away: a software rasterizer pays for a switch
// over textures on every sample even when it is never taken.
override SLABBED: bool = false;

const LUT_LO: f32 = -1024.0;
const LUT_HI: f32 = 3071.0;
const MAX_STEPS: i32 = 16384;

// The slab holding slice k (clamped to the volume's slabs).
fn slab(k: i32) -> i32 {
    let core = max(i32(params.slabs.x), 1);
    return clamp(k / core, 0, max(i32(params.slabs.y), 1) - 1);
}

fn hu_in(t: texture_3d<f32>, v: vec3<f32>, s: i32) -> f32 {
    let local = vec3(v.xy, v.z - f32(s) * params.slabs.x);
    return textureSampleLevel(t, trilinear, (local + vec3(0.5)) / vec3<f32>(textureDimensions(t)), 0.0).x;
}

// HU at voxel position v (trilinear, by the sampler), from the slab of the
// lower of the two slices it interpolates.
fn hu_at(v: vec3<f32>) -> f32 {
    if !SLABBED {
        return textureSampleLevel(hu0, trilinear, (v + vec3(0.5)) / params.dims.xyz, 0.0).x;
    }
    let s = slab(i32(floor(max(v.z, 0.0))));
    switch s {
        case 0: { return hu_in(hu0, v, 0); }
        case 1: { return hu_in(hu1, v, 1); }
        case 2: { return hu_in(hu2, v, 2); }
        default: { return hu_in(hu3, v, 3); }
    }
}

// Colour and opacity per mm at `hu`.
fn tf_at(hu: f32) -> vec4<f32> {
    let n = f32(textureDimensions(tf).x);
    let u = clamp((hu - LUT_LO) / (LUT_HI - LUT_LO), 0.0, 1.0);
    return textureSampleLevel(tf, trilinear, vec2((u * (n - 1.0) + 0.5) / n, 0.5), 0.0);
}

fn label_at(v: vec3<f32>) -> u32 {
    let q = vec3<i32>(round(v));
    let d = vec3<i32>(params.dims.xyz);
    if any(q < vec3(0)) || any(q >= d) {
        return 0u;
    }
    if !SLABBED {
        return textureLoad(labels0, q, 0).x;
    }
    let s = slab(q.z);
    let l = vec3(q.xy, q.z - s * i32(params.slabs.x));
    switch s {
        case 0: { return textureLoad(labels0, l, 0).x; }
        case 1: { return textureLoad(labels1, l, 0).x; }
        case 2: { return textureLoad(labels2, l, 0).x; }
        default: { return textureLoad(labels3, l, 0).x; }
    }
}

fn occupied(v: vec3<f32>) -> bool {
    let bd = vec3<i32>(textureDimensions(occupancy));
    let b = clamp(vec3<i32>(floor((v + vec3(0.5)) / params.dims.w)), vec3(0), bd - vec3(1));
    return textureLoad(occupancy, b, 0).x != 0u;
}

// The reciprocal of a direction, huge where a component is ~0.
fn inverse_dir(dv: vec3<f32>) -> vec3<f32> {
    let safe = select(dv, vec3(1e-12), abs(dv) < vec3(1e-12));
    return vec3(1.0) / safe;
}

// Distance along the ray (mm) to where it leaves the brick holding v.
fn brick_exit(v: vec3<f32>, inv: vec3<f32>) -> f32 {
    let side = params.dims.w;
    let lo = floor((v + vec3(0.5)) / side) * side - vec3(0.5);
    let hi = lo + vec3(side);
    let far = max((lo - v) * inv, (hi - v) * inv);
    return min(min(far.x, far.y), far.z);
}

// Unit normal (world) of the field whose voxel-space gradient is g.
fn world_normal(g: vec3<f32>) -> vec3<f32> {
    let m = params.world_to_voxel;
    let m3 = mat3x3<f32>(m[0].xyz, m[1].xyz, m[2].xyz);
    let w = transpose(m3) * g;
    let l = length(w);
    if l < 1e-6 {
        return vec3(0.0);
    }
    return w / l;
}

fn hu_gradient(v: vec3<f32>) -> vec3<f32> {
    return vec3(
        hu_at(v + vec3(1.0, 0.0, 0.0)) - hu_at(v - vec3(1.0, 0.0, 0.0)),
        hu_at(v + vec3(0.0, 1.0, 0.0)) - hu_at(v - vec3(0.0, 1.0, 0.0)),
        hu_at(v + vec3(0.0, 0.0, 1.0)) - hu_at(v - vec3(0.0, 0.0, 1.0)),
    );
}

fn inside_class(v: vec3<f32>, l: u32) -> f32 {
    return select(0.0, 1.0, label_at(v) == l);
}

// Outward gradient of class l's mask (for shading the label surfaces).
fn label_gradient(v: vec3<f32>, l: u32) -> vec3<f32> {
    return vec3(
        inside_class(v - vec3(1.0, 0.0, 0.0), l) - inside_class(v + vec3(1.0, 0.0, 0.0), l),
        inside_class(v - vec3(0.0, 1.0, 0.0), l) - inside_class(v + vec3(0.0, 1.0, 0.0), l),
        inside_class(v - vec3(0.0, 0.0, 1.0), l) - inside_class(v + vec3(0.0, 0.0, 1.0), l),
    );
}

// A headlight: Lambert on both faces, a little specular, flat where the
// field has no direction.
fn shade(rgb: vec3<f32>, n: vec3<f32>, d: vec3<f32>) -> vec3<f32> {
    if params.look.w < 0.5 || dot(n, n) < 0.5 {
        return rgb;
    }
    let c = abs(dot(n, -d));
    return rgb * (0.3 + 0.7 * c) + vec3(0.25 * pow(c, 24.0));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let ndc = vec2(in.uv.x * 2.0 - 1.0, 1.0 - in.uv.y * 2.0);
    let near4 = params.inv_view_proj * vec4(ndc, 0.0, 1.0);
    let far4 = params.inv_view_proj * vec4(ndc, 1.0, 1.0);
    let o = near4.xyz / near4.w;
    let span = far4.xyz / far4.w - o;
    let len = length(span);
    let d = span / len;
    var t_end = len;
    if params.output.z > 0.5 {
        let z = textureLoad(depth, vec2<i32>(in.position.xy), 0);
        if z < 1.0 {
            let s4 = params.inv_view_proj * vec4(ndc, z, 1.0);
            t_end = min(t_end, dot(s4.xyz / s4.w - o, d));
        }
    }
    var t_start = 0.0;
    if params.output.w > 0.5 {
        let z = textureLoad(start_depth, vec2<i32>(in.position.xy), 0);
        if z >= 1.0 {
            return vec4(0.0);
        }
        let s4 = params.inv_view_proj * vec4(ndc, z, 1.0);
        t_start = dot(s4.xyz / s4.w - o, d);
    }

    // The ray in voxel space, clipped to the volume and the clip box.
    let m = params.world_to_voxel;
    let vo = (m * vec4(o, 1.0)).xyz;
    let vd = (m * vec4(d, 0.0)).xyz;
    let inv = inverse_dir(vd);
    let lo = max(params.clip_min.xyz, vec3(-0.5));
    let hi = min(params.clip_max.xyz, params.dims.xyz - vec3(0.5));
    let ta = (lo - vo) * inv;
    let tb = (hi - vo) * inv;
    let tn = min(ta, tb);
    let tx = max(ta, tb);
    var t0 = max(max(max(tn.x, tn.y), tn.z), t_start);
    var t1 = min(min(min(tx.x, tx.y), tx.z), t_end);
    if params.look.z > 0.5 {
        let s0 = dot(params.plane.xyz, o) + params.plane.w;
        let sd = dot(params.plane.xyz, d);
        if abs(sd) < 1e-9 {
            if s0 > 0.0 {
                t1 = -1.0;
            }
        } else if sd > 0.0 {
            t1 = min(t1, -s0 / sd);
        } else {
            t0 = max(t0, -s0 / sd);
        }
    }
    if t1 <= t0 {
        return vec4(0.0);
    }

    let step = params.mode.y;
    let mode = u32(params.mode.x + 0.5);
    if mode <= 1u {
        // Maximum (0) or minimum (1) intensity projection, windowed.
        var best = select(-1e9, 1e9, mode == 1u);
        var t = t0 + 0.5 * step;
        for (var i = 0; i < MAX_STEPS; i++) {
            if t >= t1 {
                break;
            }
            let h = hu_at(vo + vd * t);
            best = select(max(best, h), min(best, h), mode == 1u);
            t += step;
        }
        let grey = clamp((best - (params.mode.z - params.mode.w / 2.0)) / max(params.mode.w, 1.0), 0.0, 1.0);
        return vec4(vec3(grey), 1.0);
    }

    // Compositing front to back: direct volume rendering (2) or labels (3).
    // The first sample is jittered per pixel (a fixed hash): the wood-grain
    // rings of samples in step with the surfaces become fine noise.
    var acc = vec4(0.0);
    let px = vec2<u32>(in.position.xy);
    let hash = fract(sin(f32(px.x) * 12.9898 + f32(px.y) * 78.233) * 43758.5453);
    var t = t0 + hash * step;
    for (var i = 0; i < MAX_STEPS; i++) {
        if t >= t1 || acc.a > 0.99 {
            break;
        }
        let v = vo + vd * t;
        if !occupied(v) {
            // Whole steps past the brick: the samples stay where they would
            // have been without skipping.
            t += max(ceil(brick_exit(v, inv) / step), 1.0) * step;
            continue;
        }
        // The sample's colour and opacity per mm, and which field shades it.
        var c = vec4(0.0);
        var from_label = 0u;
        if mode == 2u {
            c = tf_at(hu_at(v));
        } else {
            let l = label_at(v);
            let style = palette[l];
            if l != 0u && style.a > 0.0 {
                c = vec4(style.rgb, params.look.y * style.a);
                from_label = l;
            } else if params.look.x > 0.0 {
                c = tf_at(hu_at(v));
                c = vec4(mix(c.rgb, vec3(dot(c.rgb, vec3(0.3, 0.5, 0.2))), 0.6), c.a * params.look.x);
            }
        }
        if c.a > 0.0 {
            // Opacity per mm to opacity per step.
            let a = 1.0 - pow(1.0 - min(c.a, 0.999), step);
            // Normals (six more samples) only where the sample shows.
            var n = vec3(0.0);
            if params.look.w > 0.5 && a * (1.0 - acc.a) > 0.002 {
                if from_label != 0u {
                    n = world_normal(label_gradient(v, from_label));
                } else {
                    n = world_normal(-hu_gradient(v));
                }
            }
            acc += vec4(shade(c.rgb, n, d) * a, a) * (1.0 - acc.a);
        }
        t += step;
    }
    return acc;
}
