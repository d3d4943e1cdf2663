//! The GPU slice against the CPU reference (`vasa_scan::reslice`): same
//! pixels for all three planes on an anisotropic, flipped volume, labels
//! filled and outlined where the nearest voxel says. Runs on any adapter,
//! Mesa's software Vulkan included (CI installs it).

use glam::{DMat3, DVec3};
use vasa_render::headless::{FORMAT, HeadlessGpu};
use vasa_render::{LabelStyle, ScanTextures, SliceRenderer, SliceView};
use vasa_scan::reslice::{Plane, plane_sampling, reslice, volume_center, window_to_u8};
use vasa_scan::{Geometry, LabelMap, Volume};

fn scan() -> (Volume<i16>, LabelMap) {
    let dims = [40, 30, 20];
    // RAS-like storage (i → patient right, j → anterior): the viewer must
    // still show patient right on the image left.
    let geometry = Geometry {
        spacing: DVec3::new(0.8, 0.9, 2.0),
        origin: DVec3::new(10.0, -5.0, 3.0),
        direction: DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0)),
    };
    let mut data = Vec::with_capacity(40 * 30 * 20);
    let mut labels = Vec::with_capacity(data.capacity());
    for k in 0..20 {
        for j in 0..30 {
            for i in 0..40 {
                data.push(((i * 37 + j * 11 + k * 53) % 900) as i16 - 500);
                let inside = (10..25).contains(&i) && (5..20).contains(&j) && (4..14).contains(&k);
                labels.push(if inside { 2 } else { 0 });
            }
        }
    }
    (Volume::from_vec(dims, data, geometry).unwrap(), Volume::from_vec(dims, labels, geometry).unwrap())
}

fn gpu() -> HeadlessGpu {
    HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers for a software GPU)"))
}

fn view(ct: &Volume<i16>, plane: Plane, styles: Vec<LabelStyle>, outline: bool) -> SliceView {
    let size = [64u32, 48];
    SliceView {
        sampling: plane_sampling(&ct.geometry, plane, volume_center(ct), 0.7, [64, 48]),
        size,
        window: (0.0, 1000.0),
        outline,
        label_opacity: 1.0,
        styles,
    }
}

const RED: LabelStyle = LabelStyle { color: [255, 0, 0], opacity: 1.0 };
const HIDDEN: LabelStyle = LabelStyle { color: [0, 0, 0], opacity: 0.0 };

#[test]
fn gpu_slices_match_the_cpu_reference() {
    let gpu = gpu();
    let (ct, labels) = scan();
    let textures = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&labels)).unwrap();
    let renderer = SliceRenderer::new(&gpu.device, FORMAT);
    for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
        // Labels hidden: pure greys.
        let v = view(&ct, plane, vec![HIDDEN, HIDDEN, HIDDEN], false);
        let image = gpu.render_slice(&renderer, &textures, &v).unwrap();
        let reference = reslice(&ct, plane, volume_center(&ct), 0.7, [64, 48], i16::MIN);
        let mut worst = 0;
        let mut outside = 0;
        for (px, &hu) in image.chunks(4).zip(&reference) {
            if hu == i16::MIN {
                assert_eq!(&px[..3], &[0, 0, 0]);
                outside += 1;
                continue;
            }
            let expected = window_to_u8(hu, 0.0, 1000.0) as i32;
            assert!(px[0] == px[1] && px[1] == px[2], "grey");
            worst = worst.max((px[0] as i32 - expected).abs());
        }
        assert!(worst <= 1, "{plane:?}: GPU differs from the CPU by {worst} grey levels");
        assert!(outside < reference.len() / 2, "{plane:?}: the view shows the volume");
    }
}

#[test]
fn labels_fill_and_outline_where_the_nearest_voxel_says() {
    let gpu = gpu();
    let (ct, labels) = scan();
    let textures = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&labels)).unwrap();
    let renderer = SliceRenderer::new(&gpu.device, FORMAT);
    let styles = vec![HIDDEN, HIDDEN, RED];
    let fill = view(&ct, Plane::Axial, styles.clone(), false);
    let image = gpu.render_slice(&renderer, &textures, &fill).unwrap();
    let s = fill.sampling;
    let (mut agree, mut red_pixels) = (0, 0);
    for v in 0..48 {
        for u in 0..64 {
            let p = s.origin + s.du * u as f64 + s.dv * v as f64;
            let q = p.round();
            let label =
                labels.get(q.x as usize, q.y as usize, q.z as usize).copied().filter(|_| q.min_element() >= 0.0);
            let px = &image[(v * 64 + u) * 4..][..3];
            let red = px == [255, 0, 0];
            red_pixels += red as usize;
            agree += (red == (label == Some(2))) as usize;
        }
    }
    assert!(red_pixels > 100, "the label shows: {red_pixels}");
    assert!(agree >= 64 * 48 * 99 / 100, "{agree} of {} pixels agree", 64 * 48);

    // Outline: fewer red pixels, none deep inside.
    let outline = view(&ct, Plane::Axial, styles, true);
    let image = gpu.render_slice(&renderer, &textures, &outline).unwrap();
    let red_outline = image.chunks(4).filter(|p| p[..3] == [255, 0, 0]).count();
    assert!(red_outline > 20 && red_outline < red_pixels / 2, "outline {red_outline} vs fill {red_pixels}");
    let centre = ((24 * 64) + 32) * 4;
    let label_centre = {
        let p = s.origin + s.du * 32.0 + s.dv * 24.0;
        let q = p.round();
        labels.get(q.x as usize, q.y as usize, q.z as usize).copied()
    };
    if label_centre == Some(2) {
        assert_ne!(&image[centre..centre + 3], &[255, 0, 0], "inside of an outlined label stays grey");
    }
}

#[test]
fn mismatched_labels_are_refused() {
    let gpu = gpu();
    let (ct, _) = scan();
    let small = Volume::filled([4, 4, 4], 0u8, ct.geometry);
    assert!(ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&small)).is_err());
}
