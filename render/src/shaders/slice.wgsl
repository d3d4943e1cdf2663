// One MPR slice: the CT sampled trilinearly at exact HU from an R16Sint 3-D
// texture, windowed, with the labels blended on top (fill or outline).
// Pixel (u, v) of the view samples voxel position origin + du*u + dv*v, the
// same convention as vasa_scan::reslice on the CPU.

struct View {
    origin: vec4<f32>,   // xyz: voxel position of pixel (0, 0)
    du: vec4<f32>,       // xyz: voxel step per pixel right
    dv: vec4<f32>,       // xyz: voxel step per pixel down
    size: vec4<f32>,     // xy: view size in pixels; z: 1 = outline labels; w: global label opacity
    window: vec4<f32>,   // x: centre (HU), y: width (HU)
    dims: vec4<f32>,     // xyz: the volume's voxels; w: slices per slab (core)
};

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<uniform> palette: array<vec4<f32>, 256>;
// The volume in slabs along k (more than one when it has more slices than a
// 3-D texture may hold): slab s holds slices s·core ..= (s+1)·core.
@group(0) @binding(2) var ct0: texture_3d<i32>;
@group(0) @binding(3) var ct1: texture_3d<i32>;
@group(0) @binding(4) var ct2: texture_3d<i32>;
@group(0) @binding(5) var ct3: texture_3d<i32>;
@group(0) @binding(6) var labels0: texture_3d<u32>;
@group(0) @binding(7) var labels1: texture_3d<u32>;
@group(0) @binding(8) var labels2: texture_3d<u32>;
@group(0) @binding(9) var labels3: texture_3d<u32>;

// True in the pipeline for volumes split into slabs; false (the usual
// case) compiles the slab lookups away.
override SLABBED: bool = false;

// The slab holding slice k, and k within it.
fn slab_of(k: i32) -> vec2<i32> {
    let core = max(i32(view.dims.w), 1);
    let count = max((i32(view.dims.z) + core - 1) / core, 1);
    let s = clamp(k / core, 0, count - 1);
    return vec2(s, k - s * core);
}

fn ct_load(q: vec3<i32>) -> i32 {
    if !SLABBED {
        return textureLoad(ct0, q, 0).x;
    }
    let s = slab_of(q.z);
    let l = vec3(q.xy, s.y);
    switch s.x {
        case 0: { return textureLoad(ct0, l, 0).x; }
        case 1: { return textureLoad(ct1, l, 0).x; }
        case 2: { return textureLoad(ct2, l, 0).x; }
        default: { return textureLoad(ct3, l, 0).x; }
    }
}

fn labels_load(q: vec3<i32>) -> u32 {
    if !SLABBED {
        return textureLoad(labels0, q, 0).x;
    }
    let s = slab_of(q.z);
    let l = vec3(q.xy, s.y);
    switch s.x {
        case 0: { return textureLoad(labels0, l, 0).x; }
        case 1: { return textureLoad(labels1, l, 0).x; }
        case 2: { return textureLoad(labels2, l, 0).x; }
        default: { return textureLoad(labels3, l, 0).x; }
    }
}

// vs_main and VertexOut come from quad.wgsl.

fn hu_at(p: vec3<i32>, dims: vec3<i32>) -> f32 {
    let q = clamp(p, vec3(0), dims - vec3(1));
    return f32(ct_load(q));
}

// Trilinear HU at continuous voxel position p; false outside the volume
// (half a voxel beyond the edge centres still counts as inside).
fn sample_ct(p: vec3<f32>, dims: vec3<i32>, inside: ptr<function, bool>) -> f32 {
    let n = vec3<f32>(dims);
    if any(p < vec3(-0.5)) || any(p > n - vec3(0.5)) {
        *inside = false;
        return -1024.0;
    }
    *inside = true;
    let x = clamp(p, vec3(0.0), n - vec3(1.0));
    let b = min(vec3<i32>(floor(x)), max(dims - vec3(2), vec3(0)));
    let f = select(x - vec3<f32>(b), vec3(0.0), dims <= vec3(1));
    let c000 = hu_at(b, dims);
    let c100 = hu_at(b + vec3(1, 0, 0), dims);
    let c010 = hu_at(b + vec3(0, 1, 0), dims);
    let c110 = hu_at(b + vec3(1, 1, 0), dims);
    let c001 = hu_at(b + vec3(0, 0, 1), dims);
    let c101 = hu_at(b + vec3(1, 0, 1), dims);
    let c011 = hu_at(b + vec3(0, 1, 1), dims);
    let c111 = hu_at(b + vec3(1, 1, 1), dims);
    let c00 = mix(c000, c100, f.x);
    let c10 = mix(c010, c110, f.x);
    let c01 = mix(c001, c101, f.x);
    let c11 = mix(c011, c111, f.x);
    return mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
}

fn label_at(p: vec3<f32>, dims: vec3<i32>) -> u32 {
    let q = vec3<i32>(round(p));
    if any(q < vec3(0)) || any(q >= dims) {
        return 0u;
    }
    return labels_load(q);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let dims = vec3<i32>(view.dims.xyz);
    // Pixel centres: uv spans the viewport, pixel u sits at (u + 0.5) / width.
    let px = in.uv * view.size.xy - vec2(0.5);
    let p = view.origin.xyz + view.du.xyz * px.x + view.dv.xyz * px.y;
    var inside = false;
    let hu = sample_ct(p, dims, &inside);
    if !inside {
        return vec4(0.0, 0.0, 0.0, 1.0);
    }
    // Same rounding as the CPU reference: HU rounded, then windowed.
    let lo = view.window.x - view.window.y / 2.0;
    let grey = clamp((round(hu) - lo) / max(view.window.y, 1.0), 0.0, 1.0);
    var rgb = vec3(grey);

    let l = label_at(p, dims);
    if l != 0u {
        let style = palette[l];
        var show = style.a > 0.0;
        if show && view.size.z > 0.5 {
            // Outline: only where a neighbour one voxel away in the plane differs.
            let su = normalize(view.du.xyz);
            let sv = normalize(view.dv.xyz);
            show = label_at(p + su, dims) != l || label_at(p - su, dims) != l
                || label_at(p + sv, dims) != l || label_at(p - sv, dims) != l;
        }
        if show {
            rgb = mix(rgb, style.rgb, style.a * view.size.w);
        }
    }
    return vec4(rgb, 1.0);
}
