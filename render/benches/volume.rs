//! Frame time of the volume renderer at 1920×1080 on a 512×512×400 chest
//! phantom (arterial phase), per mode, still and moving (coarser steps),
//! on whatever adapter the machine has (Mesa's software Vulkan here; the
//! issue's 60 / 30 fps targets are for a discrete GPU). Peer in the same
//! run: an MPR slice frame of the same size. Median of several frames.
//!
//! Run: `cargo bench -p vasa-render --bench volume`.

use std::time::Instant;

use glam::DVec3;
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_render::headless::{FORMAT, HeadlessGpu};
use vasa_render::{
    LabelStyle, OrbitCamera, RayVolume, ScanTextures, SliceRenderer, SliceView, ViewBuilder, VolumeMode,
    VolumeRenderer, VolumeSettings,
};
use vasa_scan::reslice::{Plane, plane_sampling, volume_center};

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list
    }
    let size = [1920u32, 1080];
    let frames = 3;
    let options = PhantomOptions::grid(5, Phase::Arterial, [512, 512, 400], DVec3::new(0.68, 0.68, 0.8));
    let p = phantom::generate(&options).expect("a valid phantom");
    let labels = p.labels.map(|&l| if l <= 3 { l } else { 0 });
    let gpu = match HeadlessGpu::new() {
        Ok(g) => g,
        Err(e) => {
            println!("no GPU adapter: {e}");
            return;
        }
    };
    let t = Instant::now();
    let volume = RayVolume::upload(&gpu.device, &gpu.queue, &p.ct, Some(&labels)).unwrap();
    let textures = ScanTextures::upload(&gpu.device, &gpu.queue, &p.ct, Some(&labels)).unwrap();
    println!(
        "512×512×400, {}×{} on {}; uploads and bricks {:.2} s",
        size[0],
        size[1],
        gpu.adapter_name,
        t.elapsed().as_secs_f64()
    );
    let renderer = VolumeRenderer::new(&gpu.device);
    let view = ViewBuilder::new(&gpu.device, size);
    let dims = p.ct.dims();
    let centre =
        p.ct.geometry.voxel_to_world(DVec3::new(dims[0] as f64 / 2.0, dims[1] as f64 / 2.0, dims[2] as f64 / 2.0));
    let mut camera = OrbitCamera::framing(centre.as_vec3(), 350.0);
    let styles: Vec<LabelStyle> = (0..256)
        .map(|c| LabelStyle { color: [200, 80, 80], opacity: if (1..=3).contains(&c) { 1.0 } else { 0.0 } })
        .collect();
    let frame = |settings: &VolumeSettings, camera: &OrbitCamera| {
        let mut draw = renderer.create_draw(&gpu.device, &volume, &textures.labels, &view);
        let cam = camera.view(size[0] as f32 / size[1] as f32);
        draw.update(&gpu.queue, &volume, &p.ct.geometry, &cam, settings, true).unwrap();
        gpu.queue.submit([]);
        gpu.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        let t = Instant::now();
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        drop(view.begin_pass(&mut encoder, [0.0; 3]));
        renderer.render(&mut encoder, &view, &draw);
        gpu.queue.submit([encoder.finish()]);
        gpu.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    };
    // Peer: a slice frame of the same size.
    let slice_renderer = SliceRenderer::new(&gpu.device, FORMAT);
    let slice_view = SliceView {
        sampling: plane_sampling(&p.ct.geometry, Plane::Axial, volume_center(&p.ct), 0.2, [1920, 1080]),
        size,
        window: (40.0, 400.0),
        outline: false,
        label_opacity: 0.5,
        styles: styles.clone(),
    };
    let slice: Vec<f64> = (0..frames)
        .map(|_| {
            let t = Instant::now();
            gpu.render_slice(&slice_renderer, &textures, &slice_view).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let slice = median(slice);
    println!("  peer: MPR slice frame (with read-back)   {slice:>9.1} ms");
    for mode in [VolumeMode::Mip, VolumeMode::Dvr, VolumeMode::Labels] {
        let mut settings = VolumeSettings::new(mode, &p.ct.geometry);
        settings.styles = styles.clone();
        let mut run = |settings: &VolumeSettings| -> f64 {
            median(
                (0..frames)
                    .map(|n| {
                        camera.yaw = n as f32 * 0.3;
                        frame(settings, &camera)
                    })
                    .collect(),
            )
        };
        let still = run(&settings);
        settings.step_mm *= 3.0;
        let moving = run(&settings);
        println!(
            "  {:<7} still {still:>9.1} ms ({:>5.1} fps), moving {moving:>9.1} ms ({:>5.1} fps); {:.0}× the slice",
            mode.name(),
            1e3 / still,
            1e3 / moving,
            still / slice
        );
    }
}
