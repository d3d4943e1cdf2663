//! The 3D view on the GPU: class surfaces from a label map, shaded, seen
//! from the front (anterior) with the patient's left on the screen's right,
//! nearer surfaces hiding farther ones. Runs on Mesa's software Vulkan too.

use glam::{DMat3, DVec3, Vec2};
use vasa_render::headless::HeadlessGpu;
use vasa_render::renderer::mesh::BACKGROUND;
use vasa_render::{MeshDraw, MeshRenderer, OrbitCamera};
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
