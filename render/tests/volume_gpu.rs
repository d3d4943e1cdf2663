//! The volume renderer on the GPU (Mesa's software Vulkan in CI) against
//! the CPU, on a chest phantom in the arterial phase: an anterior maximum
//! projection equals the CPU's column maxima (and is not their mirror
//! image), a label render shows each class's colour where that class is
//! the first seen, a clip plane removes the patient's left half, and empty-
//! space skipping changes no pixel of a direct volume rendering.

use glam::{DVec3, Vec3};
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_render::headless::HeadlessGpu;
use vasa_render::resource_managers::ray_volume::Visible;
use vasa_render::{
    ClipPlane, LabelStyle, LabelTexture, RayVolume, StandardView, ViewBuilder, VolumeMode, VolumeRenderer,
    VolumeSettings,
};
use vasa_scan::{LabelMap, Volume};

fn gpu() -> HeadlessGpu {
    HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers for a software GPU)"))
}

/// A small arterial-phase phantom (2.5 mm voxels) and its vessel labels.
fn phantom() -> (Volume<i16>, LabelMap) {
    let options = PhantomOptions::grid(3, Phase::Arterial, [128, 120, 100], DVec3::splat(2.5));
    let p = phantom::generate(&options).expect("a valid phantom");
    let labels = p.labels.map(|&l| if l <= 3 { l } else { 0 });
    (p.ct, labels)
}

const COLOURS: [[u8; 3]; 4] = [[0, 0, 0], [230, 40, 40], [40, 110, 235], [240, 170, 30]];

fn styles() -> Vec<LabelStyle> {
    COLOURS.iter().map(|&color| LabelStyle { color, opacity: 1.0 }).collect()
}

struct Scene {
    gpu: HeadlessGpu,
    ct: Volume<i16>,
    labels: LabelMap,
    volume: RayVolume,
    label_texture: LabelTexture,
    renderer: VolumeRenderer,
}

impl Scene {
    fn new() -> Scene {
        let gpu = gpu();
        let (ct, labels) = phantom();
        let volume = RayVolume::upload(&gpu.device, &gpu.queue, &ct, Some(&labels)).unwrap();
        let label_texture = LabelTexture::new(&gpu.device, labels.dims()).unwrap();
        label_texture.update(&gpu.queue, &labels).unwrap();
        let renderer = VolumeRenderer::new(&gpu.device);
        Scene { gpu, ct, labels, volume, label_texture, renderer }
    }

    /// The anterior view, 1 pixel per 2.5 mm voxel column.
    fn size(&self) -> [u32; 2] {
        let d = self.ct.dims();
        [d[0] as u32, d[2] as u32]
    }

    fn render(&self, settings: &VolumeSettings) -> Vec<u8> {
        let camera = StandardView::Anterior.camera(&self.ct.geometry, self.ct.dims(), self.size());
        self.gpu
            .render_volume(
                &self.renderer,
                &self.volume,
                &self.label_texture,
                &self.ct.geometry,
                settings,
                &camera,
                self.size(),
                [0.0; 3],
            )
            .unwrap()
    }
}

/// Pixel (x, y) of the anterior view shows voxel column i = x (image
/// right = patient left = +i here), slice k = top − y.
fn column(scene: &Scene, x: usize, y: usize) -> (usize, usize) {
    (x, scene.ct.dims()[2] - 1 - y)
}

#[test]
fn an_anterior_mip_equals_the_cpu_maximum_projection_not_its_mirror() {
    let scene = Scene::new();
    let mut settings = VolumeSettings::new(VolumeMode::Mip, &scene.ct.geometry);
    settings.window = (300.0, 1000.0);
    // One sample per voxel, on the voxel centres (the first half a step in):
    // the GPU's maximum is then over the same values as the CPU's.
    settings.step_mm = 2.5;
    let image = scene.render(&settings);
    let [w, h] = scene.size().map(|v| v as usize);
    let dims = scene.ct.dims();
    let cpu = |x: usize, y: usize| {
        let (i, k) = column(&scene, x, y);
        let max = (0..dims[1]).map(|j| scene.ct.data()[scene.ct.index(i, j, k)]).max().unwrap() as f32;
        ((max - (300.0 - 500.0)) / 1000.0).clamp(0.0, 1.0) * 255.0
    };
    let (mut diff, mut mirrored) = (0.0f64, 0.0f64);
    let mut close = 0;
    for y in 0..h {
        for x in 0..w {
            let gpu = image[(y * w + x) * 4] as f32;
            let d = (gpu - cpu(x, y)).abs();
            diff += d as f64;
            mirrored += (gpu - cpu(w - 1 - x, y)).abs() as f64;
            close += (d <= 2.0) as usize;
        }
    }
    let n = (w * h) as f64;
    let (diff, mirrored) = (diff / n, mirrored / n);
    assert!(diff < 0.5, "mean difference from the CPU MIP: {diff:.2} grey levels");
    assert!(close as f64 > 0.99 * n, "{close} of {n} pixels within 2 levels");
    assert!(mirrored > 3.0 * diff, "not the mirror image: {mirrored:.2} vs {diff:.2}");

    // A clip plane removing the patient's left (+x) half: the image's right
    // half goes black, the left half stays.
    let centre = scene.ct.geometry.voxel_to_world(DVec3::new(dims[0] as f64 / 2.0 - 0.5, 0.0, 0.0)).as_vec3();
    settings.clip_plane = Some(ClipPlane { point: centre, normal: Vec3::X });
    let clipped = scene.render(&settings);
    let half = |img: &[u8], right: bool| -> f64 {
        let xs = if right { w / 2 + 2..w } else { 0..w / 2 - 2 };
        let mut s = 0.0;
        for y in 0..h {
            for x in xs.clone() {
                s += img[(y * w + x) * 4] as f64;
            }
        }
        s
    };
    assert_eq!(half(&clipped, true), 0.0, "the clipped half is gone");
    assert!(half(&image, true) > 0.0);
    assert_eq!(half(&clipped, false), half(&image, false), "the kept half is unchanged");
}

#[test]
fn a_label_render_shows_each_class_where_it_is_seen_first() {
    let scene = Scene::new();
    let mut settings = VolumeSettings::new(VolumeMode::Labels, &scene.ct.geometry);
    settings.styles = styles();
    settings.label_opacity = 1.0;
    settings.context_opacity = 0.0;
    settings.shading = false;
    let image = scene.render(&settings);
    let [w, h] = scene.size().map(|v| v as usize);
    let dims = scene.labels.dims();
    let mut seen = [0usize; 4];
    let mut right = [0usize; 4];
    for y in 0..h {
        for x in 0..w {
            let (i, k) = column(&scene, x, y);
            // The first labelled voxel from the front (j = 0 is anterior).
            let first = (0..dims[1]).map(|j| scene.labels.data()[scene.labels.index(i, j, k)]).find(|&l| l != 0);
            let Some(class) = first else { continue };
            // Only pixels well inside a class's projection (its neighbours agree).
            let agree = [(1i64, 0i64), (-1, 0), (0, 1), (0, -1)].iter().all(|&(dx, dy)| {
                let (x2, y2) = (x as i64 + dx, y as i64 + dy);
                if x2 < 0 || y2 < 0 || x2 >= w as i64 || y2 >= h as i64 {
                    return false;
                }
                let (i2, k2) = column(&scene, x2 as usize, y2 as usize);
                (0..dims[1]).map(|j| scene.labels.data()[scene.labels.index(i2, j, k2)]).find(|&l| l != 0)
                    == Some(class)
            });
            if !agree {
                continue;
            }
            let p = &image[(y * w + x) * 4..(y * w + x) * 4 + 3];
            let nearest = (1..4)
                .min_by_key(|&c| (0..3).map(|a| (p[a] as i32 - COLOURS[c][a] as i32).pow(2)).sum::<i32>())
                .unwrap();
            seen[class as usize] += 1;
            right[class as usize] += (nearest == class as usize) as usize;
        }
    }
    for c in 1..4 {
        assert!(seen[c] > 20, "class {c} projects onto {} pixels", seen[c]);
        assert!(right[c] as f64 > 0.9 * seen[c] as f64, "class {c}: {} of {} pixels in its colour", right[c], seen[c]);
    }
}

#[test]
fn empty_space_skipping_changes_no_pixel() {
    let scene = Scene::new();
    let settings = VolumeSettings::new(VolumeMode::Dvr, &scene.ct.geometry);
    let size = scene.size();
    let camera = StandardView::Left.camera(&scene.ct.geometry, scene.ct.dims(), size);
    let g = &scene.gpu;
    let render = |skip: bool| {
        let view = ViewBuilder::new(&g.device, size);
        let mut draw = scene.renderer.create_draw(&g.device, &scene.volume, &scene.label_texture, &view);
        draw.update(&g.queue, &scene.volume, &scene.ct.geometry, &camera, &settings, true).unwrap();
        if !skip {
            scene.volume.set_visible(&g.queue, Visible::All).unwrap();
        }
        let mut encoder = g.device.create_command_encoder(&Default::default());
        drop(view.begin_pass(&mut encoder, [0.0; 3]));
        scene.renderer.render(&mut encoder, &view, &draw);
        g.queue.submit([encoder.finish()]);
        g.read_texture(view.color(), size).unwrap()
    };
    let skipping = render(true);
    let visiting = render(false);
    let lit = skipping.chunks(4).filter(|p| p[0] > 20).count();
    assert!(lit > 100, "the rendering shows something: {lit} pixels");
    let worst = skipping.iter().zip(&visiting).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(worst <= 2, "skipping empty bricks changed a pixel by {worst}");
    let empty = scene.volume.bricks().len();
    assert!(empty > 0);
}
