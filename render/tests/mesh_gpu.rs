//! The 3D view on the GPU: class surfaces from a label map, shaded, seen
//! from the front (anterior) with the patient's left on the screen's right,
//! nearer surfaces hiding farther ones; translucent surfaces blended over
//! what lies behind them; the view's depth sampled by a later pass. Runs on
//! Mesa's software Vulkan too.

use glam::{DMat3, DVec3, Vec2};
use vasa_render::headless::HeadlessGpu;
use vasa_render::renderer::mesh::BACKGROUND;
use vasa_render::{GpuMesh, MeshDraw, MeshRenderer, OrbitCamera};
use vasa_scan::surface::{SurfaceOptions, class_surface};
use vasa_scan::{Geometry, LabelMap, Volume};

/// Two balls on an RAS-stored grid (i → patient right): class 1 on the
/// patient's left, class 2 on the right and further anterior.
fn balls() -> LabelMap {
    let g = Geometry {
        spacing: DVec3::new(1.0, 1.0, 2.0),
        origin: DVec3::new(30.0, 30.0, -20.0),
        direction: DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0)),
    };
    let mut l = Volume::filled([60, 60, 20], 0u8, g);
    for k in 0..20 {
        for j in 0..60 {
            for i in 0..60 {
                let p = l.voxel_to_world([i, j, k]);
                let at = l.index(i, j, k);
                if (p - DVec3::new(12.0, 0.0, 0.0)).length() < 9.0 {
                    l.data_mut()[at] = 1;
                } else if (p - DVec3::new(-12.0, -6.0, 0.0)).length() < 9.0 {
                    l.data_mut()[at] = 2;
                }
            }
        }
    }
    l
}

fn pixel(img: &[u8], w: u32, x: u32, y: u32) -> [u8; 3] {
    let at = ((y * w + x) * 4) as usize;
    [img[at], img[at + 1], img[at + 2]]
}

#[test]
fn anterior_view_puts_the_patients_left_on_the_right_and_picks_the_front_surface() {
    let gpu = HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers)"));
    let labels = balls();
    let renderer = MeshRenderer::new(&gpu.device);
    let m1 = class_surface(&labels, 1, &SurfaceOptions::default());
    let m2 = class_surface(&labels, 2, &SurfaceOptions::default());
    let (g1, g2) = (renderer.upload(&gpu.device, &m1).unwrap(), renderer.upload(&gpu.device, &m2).unwrap());
    let draws = [MeshDraw::opaque(&g1, [255, 0, 0]), MeshDraw::opaque(&g2, [0, 0, 255])];
    let camera = OrbitCamera::framing(glam::Vec3::ZERO, 60.0);
    let (w, h) = (160u32, 120u32);
    let img = gpu.render_meshes(&renderer, &draws, &camera.view(w as f32 / h as f32), [w, h]).unwrap();

    // Patient left (class 1, red) on the right half; right (blue) on the left.
    let right_half = pixel(&img, w, w / 2 + 25, h / 2);
    let left_half = pixel(&img, w, w / 2 - 25, h / 2);
    assert!(right_half[0] > 100 && right_half[0] as i32 > right_half[2] as i32 + 100, "{right_half:?}");
    assert!(left_half[2] > 100 && left_half[2] as i32 > left_half[0] as i32 + 100, "{left_half:?}");
    // Lit most where the surface faces the viewer.
    let centre_of_red = pixel(&img, w, w / 2 + 25, h / 2)[0];
    let rim_of_red = (20..60).map(|dx| pixel(&img, w, w / 2 + dx, h / 2)[0]).filter(|&r| r > 20).min().unwrap();
    assert!(centre_of_red > rim_of_red, "no shading: {centre_of_red} vs {rim_of_red}");
    // Background elsewhere.
    let bg = BACKGROUND.map(|c| (c * 255.0).round() as i32);
    let corner = pixel(&img, w, 2, 2);
    assert!((0..3).all(|c| (corner[c] as i32 - bg[c]).abs() <= 1), "{corner:?}");

    // Picking: the ray through the blue ball's image hits it on its front.
    let ndc = Vec2::new(-25.0 / (w as f32 / 2.0), 0.0);
    let (o, d) = camera.ray(w as f32 / h as f32, ndc);
    let t2 = m2.ray_hit(o, d).expect("the ray hits the blue ball");
    assert!(m1.ray_hit(o, d).is_none_or(|t1| t1 > t2));
    let hit = o + d * t2;
    assert!(hit.y < -6.0, "hit the front (anterior, −y) of the ball: {hit}");
}

/// A small red ball in front (anterior) of a big blue one, both on the
/// view axis of an anterior camera; their GPU meshes.
fn red_before_blue(renderer: &MeshRenderer, gpu: &HeadlessGpu) -> (GpuMesh, GpuMesh) {
    let g = Geometry { spacing: DVec3::splat(1.0), origin: DVec3::splat(-30.0), direction: DMat3::IDENTITY };
    let mut l = Volume::filled([60, 60, 60], 0u8, g);
    for k in 0..60 {
        for j in 0..60 {
            for i in 0..60 {
                let p = l.voxel_to_world([i, j, k]);
                let at = l.index(i, j, k);
                if (p - DVec3::new(0.0, -16.0, 0.0)).length() < 6.0 {
                    l.data_mut()[at] = 1;
                } else if (p - DVec3::new(0.0, 6.0, 0.0)).length() < 12.0 {
                    l.data_mut()[at] = 2;
                }
            }
        }
    }
    let mesh = |class| renderer.upload(&gpu.device, &class_surface(&l, class, &SurfaceOptions::default())).unwrap();
    (mesh(1), mesh(2))
}

const SIZE: [u32; 2] = [96, 96];

fn camera() -> vasa_render::CameraView {
    OrbitCamera::framing(glam::Vec3::ZERO, 40.0).view(1.0)
}

#[test]
fn translucent_meshes_blend_over_what_lies_behind_in_any_order() {
    let gpu = HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers)"));
    let renderer = MeshRenderer::new(&gpu.device);
    let (red, blue) = red_before_blue(&renderer, &gpu);
    let render = |draws: &[MeshDraw]| gpu.render_meshes(&renderer, draws, &camera(), SIZE).unwrap();
    let translucent_red = || MeshDraw { mesh: &red, color: [255, 0, 0], opacity: 0.5 };
    let opaque = render(&[MeshDraw::opaque(&red, [255, 0, 0]), MeshDraw::opaque(&blue, [0, 0, 255])]);
    let blended = render(&[translucent_red(), MeshDraw::opaque(&blue, [0, 0, 255])]);
    let blue_only = render(&[MeshDraw::opaque(&blue, [0, 0, 255])]);
    let (cx, cy, w) = (SIZE[0] / 2, SIZE[1] / 2, SIZE[0]);

    // Opaque: the red ball hides the blue one (the white highlight adds
    // equal green and blue); translucent: both show.
    let o = pixel(&opaque, w, cx, cy);
    assert!(o[0] > 200 && o[1] == o[2], "opaque red in front: {o:?}");
    let b = pixel(&blended, w, cx, cy);
    assert!(b[0] > 100 && b[2] > b[1] + 30, "red over blue blends: {b:?}");
    let behind = pixel(&blue_only, w, cx, cy);
    assert!(b[2] < behind[2], "the blue behind is dimmed by the red: {b:?} vs {behind:?}");
    // Away from the red ball the picture is the blue ball's alone.
    let (x, y) = (cx + 20, cy);
    assert_eq!(pixel(&blended, w, x, y), pixel(&blue_only, w, x, y));
    assert!(pixel(&blue_only, w, x, y)[2] > 60, "that pixel is on the blue ball");

    // Order given does not matter: opaque surfaces are drawn first.
    assert_eq!(render(&[MeshDraw::opaque(&blue, [0, 0, 255]), translucent_red()]), blended);
    // Opacity 0 draws nothing; opacity 1 is the opaque pipeline.
    let hidden = MeshDraw { mesh: &red, color: [255, 0, 0], opacity: 0.0 };
    assert_eq!(render(&[hidden, MeshDraw::opaque(&blue, [0, 0, 255])]), blue_only);
    let full = MeshDraw { mesh: &red, color: [255, 0, 0], opacity: 1.0 };
    assert_eq!(render(&[full, MeshDraw::opaque(&blue, [0, 0, 255])]), opaque);
}

#[test]
fn the_view_depth_can_be_sampled_after_the_pass() {
    use vasa_render::{ViewBuilder, pipeline};
    let gpu = HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers)"));
    let renderer = MeshRenderer::new(&gpu.device);
    let (red, blue) = red_before_blue(&renderer, &gpu);
    let view = ViewBuilder::new(&gpu.device, SIZE);
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let draws = [MeshDraw::opaque(&red, [255, 0, 0]), MeshDraw::opaque(&blue, [0, 0, 255])];
    renderer.render(&gpu.queue, &mut encoder, &view, &camera(), &draws);

    // A later pass reads the depth as a texture (as a volume renderer would).
    let module = pipeline::fullscreen_shader(
        &gpu.device,
        "depth probe",
        "@group(0) @binding(0) var depth: texture_depth_2d;
         @fragment fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
             return vec4(textureLoad(depth, vec2<i32>(in.position.xy), 0), 0.0, 0.0, 1.0);
         }",
    );
    let layout = pipeline::bind_group_layout(
        &gpu.device,
        "depth probe",
        &[pipeline::texture_entry(0, wgpu::TextureSampleType::Depth, wgpu::TextureViewDimension::D2)],
    );
    let probe = pipeline::fullscreen_pipeline(&gpu.device, "depth probe", &module, &[&layout], PROBE, None);
    let group = pipeline::bind_group(
        &gpu.device,
        "depth probe",
        &layout,
        &[wgpu::BindingResource::TextureView(view.depth_view())],
    );
    let out = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("depth probe"),
        size: wgpu::Extent3d { width: SIZE[0], height: SIZE[1], depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: PROBE,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    {
        let target = out.create_view(&Default::default());
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("depth probe"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations { load: wgpu::LoadOp::Clear(wgpu::Color::BLACK), store: wgpu::StoreOp::Store },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pipeline::draw_fullscreen(&mut pass, &probe, &group);
    }
    gpu.queue.submit([encoder.finish()]);
    let bytes = gpu.read_texture(&out, SIZE).unwrap();
    let depth = |x: u32, y: u32| {
        let at = ((y * SIZE[0] + x) * 4) as usize;
        f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    };
    let (cx, cy) = (SIZE[0] / 2, SIZE[1] / 2);
    assert_eq!(depth(1, 1), 1.0, "background is at the far plane");
    let (front, back) = (depth(cx, cy), depth(cx + 20, cy));
    assert!(0.0 < front && front < back && back < 1.0, "red ball {front} nearer than the blue one {back}");
}

const PROBE: wgpu::TextureFormat = wgpu::TextureFormat::R32Float;
