//! The scan's textures on the GPU: a label (or CT) update limited to a dirty
//! box leaves the texture exactly as a whole re-upload of the edited volume
//! would, texel for texel (read back from the GPU) and in the slices drawn
//! from it; it writes nothing outside the box; bad boxes are refused.
//! Odd sizes on purpose (rows of 37 bytes, boxes of 7), and more slices than
//! one upload slab holds. Runs on Mesa's software Vulkan too.

use glam::{DMat3, DVec3};
use vasa_render::headless::{FORMAT, HeadlessGpu};
use vasa_render::{DirtyBox, LabelStyle, ScanTextures, SliceRenderer, SliceView, UploadError};
use vasa_scan::reslice::{Plane, plane_sampling};
use vasa_scan::{Geometry, LabelMap, Volume};

const DIMS: [usize; 3] = [37, 29, 41];

fn geometry() -> Geometry {
    Geometry {
        spacing: DVec3::new(0.9, 0.8, 1.5),
        origin: DVec3::new(-10.0, 4.0, 2.0),
        direction: DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0)),
    }
}

/// A CT ramp and labels 1 and 2 in two slabs.
fn scan() -> (Volume<i16>, LabelMap) {
    let (mut ct, mut labels) = (Vec::new(), Vec::new());
    for k in 0..DIMS[2] {
        for j in 0..DIMS[1] {
            for i in 0..DIMS[0] {
                ct.push(((i * 31 + j * 7 + k * 13) % 1200) as i16 - 600);
                labels.push(if (5..20).contains(&i) && j > 10 {
                    1
                } else if k > 25 {
                    2
                } else {
                    0
                });
            }
        }
    }
    (Volume::from_vec(DIMS, ct, geometry()).unwrap(), Volume::from_vec(DIMS, labels, geometry()).unwrap())
}

fn inside(b: &DirtyBox, [i, j, k]: [usize; 3]) -> bool {
    (b.min[0]..b.max[0]).contains(&i) && (b.min[1]..b.max[1]).contains(&j) && (b.min[2]..b.max[2]).contains(&k)
}

/// `labels` with every voxel where `changed` holds set to a class of its own (3–7).
fn edited(labels: &LabelMap, changed: impl Fn([usize; 3]) -> bool) -> LabelMap {
    let mut out = labels.clone();
    for k in 0..DIMS[2] {
        for j in 0..DIMS[1] {
            for i in 0..DIMS[0] {
                if changed([i, j, k]) {
                    let at = out.index(i, j, k);
                    out.data_mut()[at] = 3 + ((i + 2 * j + 3 * k) % 5) as u8;
                }
            }
        }
    }
    out
}

fn gpu() -> HeadlessGpu {
    HeadlessGpu::new().unwrap_or_else(|e| panic!("{e} (install mesa-vulkan-drivers for a software GPU)"))
}

fn labels_on_gpu(gpu: &HeadlessGpu, t: &ScanTextures) -> Vec<u8> {
    gpu.read_volume(t.labels.texture(0).unwrap(), 1).unwrap()
}

/// The three planes through the centre of `b`, labels filled and opaque.
fn slices(gpu: &HeadlessGpu, renderer: &SliceRenderer, t: &ScanTextures, b: &DirtyBox) -> Vec<Vec<u8>> {
    let centre = geometry()
        .voxel_to_world(DVec3::from_array([0, 1, 2].map(|a| (b.min[a] + b.max[a].saturating_sub(1)) as f64 / 2.0)));
    let styles: Vec<LabelStyle> = (0..8u8)
        .map(|c| LabelStyle { color: [c * 30, 255 - c * 30, 40 * (c % 3)], opacity: if c == 0 { 0.0 } else { 1.0 } })
        .collect();
    [Plane::Axial, Plane::Coronal, Plane::Sagittal]
        .map(|plane| {
            let view = SliceView {
                sampling: plane_sampling(&geometry(), plane, centre, 0.5, [80, 72]),
                size: [80, 72],
                window: (0.0, 1200.0),
                outline: false,
                label_opacity: 1.0,
                styles: styles.clone(),
            };
            gpu.render_slice(renderer, t, &view).unwrap()
        })
        .to_vec()
}

#[test]
fn partial_label_updates_match_a_whole_reupload() {
    let gpu = gpu();
    let renderer = SliceRenderer::new(&gpu.device, FORMAT);
    let (ct, before) = scan();
    let boxes = [
        ("interior, odd sizes", DirtyBox::new([3, 2, 1], [10, 9, 4])),
        ("far corner", DirtyBox::new([30, 20, 35], DIMS)),
        ("one voxel", DirtyBox::voxel([0, 0, 0])),
        ("full rows, some slices", DirtyBox::new([0, 4, 6], [37, 11, 9])),
        ("whole slices", DirtyBox::new([0, 0, 12], [37, 29, 15])),
        ("deeper than an upload slab", DirtyBox::new([11, 3, 2], [18, 26, 40])),
        ("whole volume", DirtyBox::whole(DIMS)),
    ];
    for (what, dirty) in boxes {
        let after = edited(&before, |v| inside(&dirty, v));
        assert_ne!(after.data(), before.data(), "{what}: the edit changes something");

        let partial = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&before)).unwrap();
        partial.update_labels_region(&gpu.queue, &after, dirty).unwrap();
        let whole = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&after)).unwrap();

        let (p, w) = (labels_on_gpu(&gpu, &partial), labels_on_gpu(&gpu, &whole));
        assert_eq!(w, after.data(), "{what}: the whole upload holds the edited labels");
        let differing = p.iter().zip(&w).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "{what}: {differing} texels differ from a whole re-upload");
        assert_eq!(
            slices(&gpu, &renderer, &partial, &dirty),
            slices(&gpu, &renderer, &whole, &dirty),
            "{what}: the slices drawn differ"
        );
    }
}

#[test]
fn a_partial_update_writes_inside_the_dirty_box_only() {
    let gpu = gpu();
    let (ct, before) = scan();
    // The labels change everywhere, but only the box is said to be dirty.
    let after = edited(&before, |_| true);
    let dirty = DirtyBox::new([4, 5, 6], [11, 10, 38]);
    let t = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&before)).unwrap();
    t.update_labels_region(&gpu.queue, &after, dirty).unwrap();
    let expected = edited(&before, |v| inside(&dirty, v));
    let got = labels_on_gpu(&gpu, &t);
    let wrong = got.iter().zip(expected.data()).filter(|(a, b)| a != b).count();
    assert_eq!(wrong, 0, "{wrong} texels differ: the update leaked outside the box, or missed part of it");

    // An empty box writes nothing.
    t.update_labels_region(&gpu.queue, &before, DirtyBox::new([3, 3, 3], [3, 9, 9])).unwrap();
    assert_eq!(labels_on_gpu(&gpu, &t), got);
}

#[test]
fn ct_regions_update_alike_and_bad_regions_are_refused() {
    let gpu = gpu();
    let (ct, labels) = scan();
    let t = ScanTextures::upload(&gpu.device, &gpu.queue, &ct, Some(&labels)).unwrap();
    assert_eq!(
        gpu.read_volume(t.volume.texture(0).unwrap(), 2).unwrap(),
        bytemuck_bytes(ct.data()),
        "the CT as uploaded"
    );

    // HU edited in a box: only the box changes on the GPU.
    let dirty = DirtyBox::new([2, 7, 3], [9, 8, 36]);
    let mut edited_ct = ct.clone();
    for (n, v) in edited_ct.data_mut().iter_mut().enumerate() {
        *v = 1000 - (n % 97) as i16;
    }
    t.volume.update_region(&gpu.queue, &edited_ct, dirty).unwrap();
    let mut expected = ct.clone();
    for k in 0..DIMS[2] {
        for j in 0..DIMS[1] {
            for i in 0..DIMS[0] {
                if inside(&dirty, [i, j, k]) {
                    let at = expected.index(i, j, k);
                    expected.data_mut()[at] = edited_ct.data()[at];
                }
            }
        }
    }
    assert_eq!(gpu.read_volume(t.volume.texture(0).unwrap(), 2).unwrap(), bytemuck_bytes(expected.data()));

    // A box reaching outside, labels on another grid: refused, nothing written.
    let outside = DirtyBox::new([30, 0, 0], [38, 2, 2]);
    assert_eq!(
        t.update_labels_region(&gpu.queue, &labels, outside),
        Err(UploadError::OutsideVolume { region: outside, dims: DIMS })
    );
    let small = Volume::filled([4, 4, 4], 1u8, geometry());
    assert!(matches!(
        t.update_labels_region(&gpu.queue, &small, DirtyBox::voxel([0, 0, 0])),
        Err(UploadError::GridMismatch { .. })
    ));
    assert_eq!(labels_on_gpu(&gpu, &t), labels.data());
}

fn bytemuck_bytes(v: &[i16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
