//! Volumes with more slices than a 3-D texture may hold are split along k
//! into slabs, and every picture is the same as from one texture: MPR
//! slices (CT and labels, through the slab borders), MIP, volume rendering
//! and labels, and a label edit written across a border. The device limit
//! is lowered for the test (`set_max_slab_slices`) so a small phantom
//! splits into three slabs; one test in this binary, since the limit is
//! process-wide.

use glam::DVec3;
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_render::headless::HeadlessGpu;
use vasa_render::{
    DirtyBox, LabelStyle, LabelTexture, RayVolume, ScanTextures, SliceRenderer, SliceView, StandardView, VolumeMode,
    VolumeRenderer, VolumeSettings, set_max_slab_slices,
};
use vasa_scan::reslice::{Plane, plane_sampling, volume_center};
use vasa_scan::{LabelMap, Volume};

const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

fn phantom() -> (Volume<i16>, LabelMap) {
    let options = PhantomOptions::grid(3, Phase::Arterial, [96, 88, 100], DVec3::splat(3.0));
    let p = phantom::generate(&options).expect("a valid phantom");
    let labels = p.labels.map(|&l| if l <= 3 { l } else { 0 });
    (p.ct, labels)
}

fn styles() -> Vec<LabelStyle> {
    [[0, 0, 0], [230, 40, 40], [40, 110, 235], [240, 170, 30]]
        .iter()
        .map(|&color| LabelStyle { color, opacity: 1.0 })
        .collect()
}

/// Every picture of the phantom: slices in the three planes (through the
/// slab borders at k = 39 and 78 for the sagittal and coronal ones) and the
/// three volume modes.
fn pictures(gpu: &HeadlessGpu, ct: &Volume<i16>, labels: &LabelMap) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let textures = ScanTextures::upload(&gpu.device, &gpu.queue, ct, Some(labels)).unwrap();
    let slices = SliceRenderer::new(&gpu.device, FORMAT);
    for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
        // The axial slice at k = 38.6, interpolating slices 38 and 39 across
        // the first border (slice 39 is slab 0's extra one).
        let centre = volume_center(ct) + DVec3::new(4.0, 6.0, (38.6 - 49.5) * 3.0);
        let view = SliceView {
            sampling: plane_sampling(&ct.geometry, plane, centre, 1.3, [96, 96]),
            size: [96, 96],
            window: (40.0, 400.0),
            outline: false,
            label_opacity: 0.5,
            styles: styles(),
        };
        out.push(gpu.render_slice(&slices, &textures, &view).unwrap());
    }
    let volume = RayVolume::upload(&gpu.device, &gpu.queue, ct, Some(labels)).unwrap();
    let label_texture = LabelTexture::new(&gpu.device, labels.dims()).unwrap();
    label_texture.update(&gpu.queue, labels).unwrap();
    let renderer = VolumeRenderer::new(&gpu.device);
    let size = [96, 100];
    let camera = StandardView::Anterior.camera(&ct.geometry, ct.dims(), size);
    for mode in [VolumeMode::Mip, VolumeMode::Dvr, VolumeMode::Labels] {
        let mut settings = VolumeSettings::new(mode, &ct.geometry);
        settings.styles = styles();
        let image = gpu
            .render_volume(&renderer, &volume, &label_texture, &ct.geometry, &settings, &camera, size, [0.0; 3])
            .unwrap();
        out.push(image);
    }
    out
}

#[test]
fn a_volume_split_into_slabs_looks_the_same_as_one_texture() {
    let gpu = HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers for a software GPU)"));
    let (ct, labels) = phantom();
    set_max_slab_slices(None);
    let whole = pictures(&gpu, &ct, &labels);
    set_max_slab_slices(Some(40));
    let split = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&labels)).unwrap();
    assert!(split.volume.texture(2).is_some() && split.volume.texture(3).is_none(), "100 slices in 3 slabs of 39");
    let slabbed = pictures(&gpu, &ct, &labels);
    let names = ["axial", "coronal", "sagittal", "MIP", "volume rendering", "labels"];
    for ((a, b), name) in whole.iter().zip(&slabbed).zip(names) {
        let worst = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        let lit = a.chunks(4).filter(|p| p[0] > 20 || p[1] > 20 || p[2] > 20).count();
        assert!(lit > 500, "{name}: the picture shows something ({lit} pixels)");
        // Filtering across a border reads the same voxels; f16 sums may
        // round differently by a level.
        assert!(worst <= 2, "{name}: differs by up to {worst} levels");
    }

    // A label edit across the border between slabs 0 and 1 reaches both.
    let mut edited = labels.clone();
    let dirty = DirtyBox::new([10, 10, 36], [20, 20, 42]);
    for k in 36..42 {
        for j in 10..20 {
            for i in 10..20 {
                let n = edited.index(i, j, k);
                edited.data_mut()[n] = 2;
            }
        }
    }
    split.update_labels_region(&gpu.queue, &edited, dirty).unwrap();
    let slab0 = gpu.read_volume(split.labels.texture(0).unwrap(), 1).unwrap();
    let slab1 = gpu.read_volume(split.labels.texture(1).unwrap(), 1).unwrap();
    let [nx, ny, _] = ct.dims();
    let at = |slab: &[u8], i: usize, j: usize, k: usize| slab[i + nx * (j + ny * k)];
    assert_eq!(at(&slab0, 12, 12, 38), 2, "slice 38 in slab 0");
    assert_eq!(at(&slab0, 12, 12, 39), 2, "slice 39: slab 0's extra slice");
    assert_eq!(at(&slab1, 12, 12, 0), 2, "slice 39 in slab 1");
    assert_eq!(at(&slab1, 12, 12, 2), 2, "slice 41 in slab 1");
    set_max_slab_slices(None);
}
