//! Smoke test of the real viewer binary: under Xvfb (Mesa's software Vulkan
//! in CI) it opens the bundled sample, draws the MPR views on the GPU and
//! saves a screenshot; a corrupt file gives an error naming it, not a crash.
//! Needs `Xvfb` (CI installs it with `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Xvfb server on a free display, killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        Xvfb::with_screen("1280x800x24", 90..150)
    }

    /// A server of `screen` on the first free display in `displays` (each
    /// test its own range: tests run in parallel and would race for one).
    fn with_screen(screen: &str, displays: std::ops::Range<u32>) -> Xvfb {
        let n = displays
            .into_iter()
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .expect("a free X display");
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", screen, "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (apt-get install xvfb; .ci/run installs it)");
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let start = Instant::now();
        while !socket.exists() {
            assert!(start.elapsed() < Duration::from_secs(20), "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Xvfb { child, display }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn vasa(x: &Xvfb, args: &[&str]) -> std::process::Output {
    let runtime = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_vasa"))
        .args(args)
        .env("DISPLAY", &x.display)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("vasa runs")
}

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, info.height, buf)
}

#[test]
fn viewer_opens_the_sample_and_reports_bad_files() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("sample.png");
    let out = vasa(&x, &["--screenshot", shot.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w, h, px) = read_png(&shot);
    assert!(w >= 640 && h >= 400, "{w}×{h}");
    let count = |f: &dyn Fn(&[u8]) -> bool| px.chunks(4).filter(|p| f(p)).count();
    // Orientation letters (amber), CT greys, and the sample's labels blended in.
    let letters = count(&|p| p[0] > 240 && (180..=215).contains(&p[1]) && p[2] < 110);
    let greys = count(&|p| p[0] > 60 && p[0] == p[1] && p[1] == p[2]);
    let aorta = count(&|p| p[0] > 150 && (90..=170).contains(&p[1]) && p[2] < 90);
    assert!(letters > 50, "orientation letters drawn: {letters}");
    assert!(greys > (w * h / 20) as usize, "CT slices drawn: {greys} grey pixels");
    assert!(aorta > 200, "aorta label shown: {aorta}");

    // The 3D viewport alone: the sample's surfaces, shaded, in the class colours.
    let shot3d = dir.path().join("3d.png");
    let out = vasa(&x, &["--screenshot", shot3d.to_str().unwrap(), "--viewport", "3d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w3, h3, px3) = read_png(&shot3d);
    assert!(w3 < w * 2 / 3 && h3 < h * 2 / 3 && w3 > 200 && h3 > 150, "one viewport: {w3}×{h3} of {w}×{h}");
    let count3 = |f: &dyn Fn(&[u8]) -> bool| px3.chunks(4).filter(|p| f(p)).count();
    let red = count3(&|p| p[0] > 120 && p[1] < 80 && p[2] < 80);
    let blue = count3(&|p| p[2] > 120 && p[0] < 80);
    let shades: std::collections::HashSet<&[u8]> = px3.chunks(4).filter(|p| p[0] > 120 && p[1] < 80).collect();
    assert!(red > 500 && blue > 500, "arteries {red} and veins {blue} pixels");
    assert!(shades.len() > 30, "shaded, not flat: {} reds", shades.len());

    // A corrupt scan: the error names the file; no screenshot, no crash.
    let bad = dir.path().join("corrupt.nii.gz");
    std::fs::write(&bad, b"\x1f\x8b\x08\x00 definitely not a NIfTI file").unwrap();
    let shot = dir.path().join("bad.png");
    let out = vasa(&x, &[bad.to_str().unwrap(), "--screenshot", shot.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("corrupt.nii.gz") && !stderr.contains("panicked"), "{stderr}");
    assert!(!shot.exists());
}

#[test]
fn the_kiosk_fills_the_screen_and_saves_its_first_frame() {
    let x = Xvfb::with_screen("1440x900x24", 150..210);
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("kiosk.png");
    let runtime = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vasa"))
        .args(["--kiosk", "--screenshot", shot.to_str().unwrap()])
        .env("DISPLAY", &x.display)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("VASA_CONFIG_DIR", dir.path().join("config"))
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("vasa runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w, h, pixels) = read_png(&shot);
    assert_eq!((w, h), (1440, 900), "the kiosk window fills the screen");
    // The sample is drawn: many grey levels in the picture.
    let mut levels = std::collections::HashSet::new();
    for p in pixels.chunks(4) {
        levels.insert(p[0]);
    }
    assert!(levels.len() > 50, "{} grey levels", levels.len());
}
