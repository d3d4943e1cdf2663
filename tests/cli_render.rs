//! `vasa render` writes the picture asked for: the size, an anterior MIP
//! with the patient's left on the image right (the phantom's aorta
//! descends left of the spine), each label class in its colour, and errors
//! that say what is wrong. Needs a GPU adapter (Mesa's software Vulkan in CI).

use std::path::Path;
use std::process::{Command, Output};

use glam::DVec3;
use vasa_inference::phantom::{self, PhantomOptions, Phase};
use vasa_scan::nifti;

fn vasa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasa")).args(args).output().expect("vasa runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// RGBA pixels and size of a PNG.
fn read_png(path: &Path) -> (Vec<u8>, u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (buf, info.width, info.height)
}

#[test]
fn renders_a_phantom_from_the_front_in_each_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options = PhantomOptions::grid(4, Phase::Arterial, [128, 120, 100], DVec3::splat(2.5));
    let p = phantom::generate(&options).unwrap();
    nifti::write_nifti(&d.join("ct.nii.gz"), &p.ct).unwrap();
    let labels = p.labels.map(|&l| if l <= 3 { l } else { 0 });
    nifti::write_nifti(&d.join("labels.nii.gz"), &labels).unwrap();
    let ct = d.join("ct.nii.gz");

    // MIP, anterior, 320×200: the volume (320 × 250 mm) fills the height.
    let out = vasa(&[
        "render",
        s(&ct),
        "--mode",
        "mip",
        "--view",
        "anterior",
        "--size",
        "320x200",
        "-o",
        s(&d.join("mip.png")),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, w, h) = read_png(&d.join("mip.png"));
    assert_eq!((w, h), (320, 200));
    // Labels: each class's colour appears.
    let out = vasa(&[
        "render",
        s(&ct),
        "--labels",
        s(&d.join("labels.nii.gz")),
        "--mode",
        "labels",
        "--size",
        "256x256",
        "-o",
        s(&d.join("labels.png")),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (img, _, _) = read_png(&d.join("labels.png"));
    let table = vasa_scan::ClassTable::default();
    // The descending aorta (class 3 below k = 40) where it should be: its
    // voxels' mean x, 1.25 mm a pixel from the volume's left edge (the
    // 320 mm width fills 256 pixels), right of the centre: the patient's left.
    let g = labels.geometry;
    let low: Vec<usize> = (0..labels.len()).filter(|&n| labels.data()[n] == 3 && labels.coords(n)[2] < 40).collect();
    let mean_x =
        low.iter().map(|&n| g.voxel_to_world(DVec3::from_array(labels.coords(n).map(|c| c as f64))).x).sum::<f64>()
            / low.len() as f64;
    let left_edge = g.voxel_to_world(DVec3::new(-0.5, 0.0, 0.0)).x;
    let expected = (mean_x - left_edge) / 1.25;
    assert!(expected > 128.0, "the phantom's descending aorta is on its left");
    // Yellow pixels below row 28 + 2 × (99.5 − 40) (the volume's 250 mm fill 200 rows from row 28).
    let aorta = table.get(3).unwrap().color;
    let yellow: Vec<f64> = (150..256)
        .flat_map(|y| (0..256).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = &img[(y * 256 + x) * 4..(y * 256 + x) * 4 + 3];
            (0..3).all(|a| (p[a] as i32 - aorta[a] as i32).abs() < 70)
        })
        .map(|(x, _)| x as f64 + 0.5)
        .collect();
    assert!(yellow.len() > 20, "the descending aorta shows: {} pixels", yellow.len());
    let seen = yellow.iter().sum::<f64>() / yellow.len() as f64;
    assert!(
        (seen - expected).abs() < 8.0,
        "aorta at x {seen:.1}, expected {expected:.1} (not {:.1})",
        256.0 - expected
    );
    for c in 1..=3u8 {
        let colour = table.get(c).unwrap().color;
        let near = img.chunks(4).filter(|p| (0..3).all(|a| (p[a] as i32 - colour[a] as i32).abs() < 60)).count();
        assert!(near > 30, "class {c} ({colour:?}) shows in {near} pixels");
    }

    // DVR with a preset, from the left.
    let out = vasa(&[
        "render",
        s(&ct),
        "--mode",
        "dvr",
        "--preset",
        "bone",
        "--view",
        "left",
        "--size",
        "128x128",
        "-o",
        s(&d.join("dvr.png")),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Errors say what is wrong.
    let err = |args: &[&str]| {
        let out = vasa(args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = err(&["render", s(&ct), "--mode", "labels", "-o", s(&d.join("x.png"))]);
    assert!(e.contains("--labels"), "{e}");
    let e = err(&["render", s(&ct), "--mode", "mip", "--size", "0x5", "-o", s(&d.join("x.png"))]);
    assert!(e.contains("WxH"), "{e}");
    let e = err(&["render", s(&ct), "--mode", "dvr", "--preset", "sparkly", "-o", s(&d.join("x.png"))]);
    assert!(e.contains("sparkly") && e.contains("ct-angio"), "{e}");
    let e = err(&["render", s(&ct), "--mode", "mip", "-o", s(&d.join("x.jpg"))]);
    assert!(e.contains(".png"), "{e}");
    assert!(!d.join("x.png").exists());
}
