//! Surfaces and a volume in one picture, in depth (the viewer's 3D view with
//! "surfaces too"): a translucent surface in front of an opaque block of the
//! volume lets it show through; the block in front of a translucent surface
//! hides it; an opaque surface in front hides the block. On Mesa's software
//! Vulkan in CI.

use glam::DVec3;
use vasa_render::headless::HeadlessGpu;
use vasa_render::transfer_function::ControlPoint;
use vasa_render::{
    LabelTexture, MeshDraw, MeshRenderer, RayVolume, StandardView, TransferFunction, VolumeMode, VolumeRenderer,
    VolumeSettings,
};
use vasa_scan::surface::Mesh;
use vasa_scan::{Geometry, Volume};

const SIZE: [u32; 2] = [64, 64];

/// A 40 mm cube of air with a bone block (400 HU) from y = 10 to 20 mm
/// (voxel centres; patient posterior is +y), 1 mm voxels from (−20, −20, −20).
fn volume() -> Volume<i16> {
    let g = Geometry::axis_aligned(DVec3::splat(1.0), DVec3::splat(-20.0));
    let mut ct = Volume::filled([40, 40, 40], -1000i16, g);
    for n in 0..ct.len() {
        let [_, j, _] = ct.coords(n);
        if (30..40).contains(&j) {
            ct.data_mut()[n] = 400;
        }
    }
    ct
}

/// A square facing the front (normal −y) at `y` mm, 30 mm wide.
fn square(y: f32) -> Mesh {
    let h = 15.0;
    Mesh {
        positions: vec![[-h, y, -h], [h, y, -h], [h, y, h], [-h, y, h]],
        normals: vec![[0.0, -1.0, 0.0]; 4],
        indices: vec![0, 1, 2, 0, 2, 3],
    }
}

/// The picture's centre pixel with a red square at `y` of `opacity`, over
/// the block rendered opaque white (no shading); and without the volume.
fn centre(y: f32, opacity: f32) -> [u8; 3] {
    centres(y, opacity).0
}

fn centres(y: f32, opacity: f32) -> ([u8; 3], [u8; 3]) {
    let gpu = HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers for a software GPU)"));
    let ct = volume();
    let volume = RayVolume::upload(&gpu.device, &gpu.queue, &ct, None).unwrap();
    let labels = LabelTexture::new(&gpu.device, ct.dims()).unwrap();
    let renderer = VolumeRenderer::new(&gpu.device);
    let meshes = MeshRenderer::new(&gpu.device);
    let mesh = meshes.upload(&gpu.device, &square(y)).unwrap();
    let mut settings = VolumeSettings::new(VolumeMode::Dvr, &ct.geometry);
    settings.shading = false;
    let point = |hu: f32, rgb: [f32; 3], opacity: f32| ControlPoint { hu, rgb, opacity };
    settings.transfer = TransferFunction {
        name: "block".into(),
        points: vec![point(-1000.0, [0.0; 3], 0.0), point(200.0, [1.0; 3], 0.0), point(300.0, [1.0; 3], 0.999)],
    };
    let camera = StandardView::Anterior.camera(&ct.geometry, ct.dims(), SIZE);
    let draw = || MeshDraw { mesh: &mesh, color: [255, 0, 0], opacity };
    let image = gpu
        .render_scene(&meshes, &[draw()], &renderer, &volume, &labels, &ct.geometry, &settings, &camera, SIZE)
        .unwrap();
    let alone = gpu.render_meshes(&meshes, &[draw()], &camera, SIZE).unwrap();
    let at = 4 * (SIZE[0] as usize * (SIZE[1] as usize / 2) + SIZE[0] as usize / 2);
    ([image[at], image[at + 1], image[at + 2]], [alone[at], alone[at + 1], alone[at + 2]])
}

#[test]
fn a_translucent_surface_in_front_of_the_volume_lets_it_show_through() {
    let c = centre(-10.0, 0.5);
    assert!(c[0] > c[1] + 60 && c[1] > 80 && (c[1] as i32 - c[2] as i32).abs() < 8, "red over white: {c:?}");
}

#[test]
fn the_volume_in_front_of_a_translucent_surface_hides_it() {
    let c = centre(18.0, 0.5);
    assert!(c[0] > 200 && (c[0] as i32 - c[1] as i32).abs() < 8, "the white block only: {c:?}");
}

#[test]
fn an_opaque_surface_in_front_hides_the_volume() {
    let (c, alone) = centres(-10.0, 1.0);
    assert_eq!(c, alone, "the surface as drawn without the volume");
    assert!(c[0] > c[1] + 150, "red: {c:?}");
}
