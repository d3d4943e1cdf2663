//! The README gallery: the phantom beside the real chest CTs of
//! `../shared/data`, at the same anatomical levels and the same scale, in a
//! mediastinal (W 400, L 40) and a lung window (W 1500, L −600), so that
//! anyone can judge how realistic the phantom is.
//!
//! `cargo run --release -p vasa-inference --example gallery -- OUT_DIR [--seed N] [--phase P] [--data DIR] [--panel PX] [--contact]`
//!
//! Writes `axial-levels.png` (aortic arch, pulmonary bifurcation, left atrium
//! with its veins, ventricles, lung bases; one row each), `coronal-sagittal.png`
//! (coronal through the carina, sagittal through the right lung) and
//! `contrast-slab.png` (the LIDC contrast slab beside a CT-pulmonary-angiography
//! phantom at the bifurcation). Every row is
//! `[real mediastinal | phantom mediastinal || real lung | phantom lung]`.
//! `--contact` also writes a contact sheet of every slice of each real scan
//! (how the real levels below were chosen). `--phase` is the contrast
//! phantom's phase (default `ctpa`, else `arterial` where that name is the
//! CTPA). For the notes beside the gallery it also prints, per panel, the
//! body's size and the lung and fat HU and noise, and the blood HU of the
//! contrast slab (inside its reference labels) and of the CTPA phantom.
//!
//! Panels are resampled in patient mm: a fixed 340 mm field of view centred
//! on the body in that slice, radiological orientation (patient right on the
//! image left, anterior at the top; superior at the top of reformats,
//! anterior on the left of the sagittal).
//!
//! Images: Lung-PET-CT-Dx (subject A0001) and LIDC-IDRI (subject 0001), The
//! Cancer Imaging Archive; see `../shared/data/README.md` for the licences
//! (attribution required wherever these images appear).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use glam::DVec3;
use vasa_inference::phantom::{NONE, Phantom, PhantomOptions, Phase, Structure, generate};
use vasa_scan::Volume;
use vasa_scan::reslice::trilinear;

/// Errors are plain messages that name the file or option at fault.
type Res<T> = Result<T, String>;

/// Field of view of every panel (mm).
const FOV_MM: f64 = 340.0;
/// Mediastinal window (centre, width).
const MEDIASTINAL: (f64, f64) = (40.0, 400.0);
/// Lung window (centre, width).
const LUNG: (f64, f64) = (-600.0, 1500.0);
/// Grey of the gaps between panels (white, so that black air never merges
/// two panels).
const GAP_GREY: u8 = 255;

/// Levels of the axial rows, top to bottom.
const LEVELS: [&str; 5] = ["aortic arch", "pulmonary bifurcation", "left atrium", "ventricles", "lung bases"];

/// Patient z (mm, LPS) of each level in `chest-plain-5mm/series-3`, chosen by
/// eye on its contact sheets (`--contact`; slice k is at z = −439 + 5k mm):
/// slice 45 (z −214) shows the arch as one oblique tube from anterior right
/// to posterior left, beside the trachea (the left-lung tumour abuts it);
/// slice 37 (z −254) the pulmonary trunk left of the ascending aorta with the
/// left pulmonary artery leaving it, just below the carina; slice 29 (z −294)
/// the left atrium as a wide band behind the aortic root with pulmonary veins
/// entering from both sides; slice 23 (z −324) both ventricles and the
/// septum; slice 13 (z −374) the liver dome under a rim of lung, 10 mm below
/// the top of the right dome (slice 15). Matched by z, not by index, so that
/// another reconstruction of the same acquisition (series-2) lines up too.
const REAL_LEVELS_Z: [f64; 5] = [-214.0, -254.0, -294.0, -324.0, -374.0];
/// Patient z (mm) of the carina in series-3: slice 39 (z −244) still shows
/// one round trachea, slice 38 (z −249) the two main bronchi. The coronal
/// plane goes through the trachea's centre 5 mm above it.
const REAL_CARINA_Z: f64 = -246.5;
/// Patient z (mm) of the slice of `lidc-0001` (slice k at z = −132.5 + 2.5k)
/// showing the pulmonary bifurcation, chosen by eye on its contact sheet:
/// slice 5, the trunk left of the ascending aorta dividing into the right
/// pulmonary artery (behind the aorta) and the left (over the left bronchus).
const SLAB_BIFURCATION_Z: f64 = -120.0;

/// Command-line options.
struct Args {
    out: PathBuf,
    seed: u64,
    phase: Option<String>,
    data: PathBuf,
    panel: usize,
    contact: bool,
}

fn parse_args() -> Res<Args> {
    let usage = "usage: gallery OUT_DIR [--seed N] [--phase P] [--data DIR] [--panel PX] [--contact]";
    let mut it = std::env::args().skip(1);
    let mut a =
        Args { out: PathBuf::new(), seed: 1, phase: None, data: "../shared/data".into(), panel: 400, contact: false };
    let mut out = None;
    while let Some(s) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value\n{usage}"));
        match s.as_str() {
            "--seed" => {
                let v = value("--seed")?;
                a.seed = v.parse().map_err(|_| format!("--seed {v:?} is not a whole number"))?;
            }
            "--phase" => a.phase = Some(value("--phase")?),
            "--data" => a.data = value("--data")?.into(),
            "--panel" => {
                let v = value("--panel")?;
                a.panel = v
                    .parse()
                    .ok()
                    .filter(|p| (64..=1024).contains(p))
                    .ok_or_else(|| format!("--panel {v:?} must be a pixel count from 64 to 1024"))?;
            }
            "--contact" => a.contact = true,
            "-h" | "--help" => return Err(usage.into()),
            _ if s.starts_with('-') => return Err(format!("unknown option {s:?}\n{usage}")),
            _ if out.is_none() => out = Some(PathBuf::from(s)),
            _ => return Err(format!("unexpected argument {s:?}\n{usage}")),
        }
    }
    a.out = out.ok_or_else(|| usage.to_string())?;
    Ok(a)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gallery: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Res<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let contrast_phase = match &args.phase {
        Some(p) => p.parse::<Phase>().map_err(|e| format!("--phase: {e}"))?,
        // CTPA: "ctpa" after the phase rename, "arterial" before it.
        None => "ctpa".parse::<Phase>().or_else(|_| "arterial".parse::<Phase>()).map_err(|e| format!("phase: {e}"))?,
    };
    let plain_phase = "plain".parse::<Phase>().map_err(|e| format!("phase: {e}"))?;

    let series = args.data.join("chest-plain-5mm/series-3");
    let slab_dir = args.data.join("chest-contrast-slabs/lidc-0001");
    let real = load(&series)?;
    let slab = load(&slab_dir)?;
    if args.contact {
        contact_sheet(&real, &args.out, "contact-series-3")?;
        contact_sheet(&slab, &args.out, "contact-lidc-0001")?;
    }

    let t = std::time::Instant::now();
    let plain = generate(&PhantomOptions::new(args.seed, plain_phase))
        .map_err(|e| format!("phantom seed {} {plain_phase}: {e}", args.seed))?;
    let ctpa = generate(&PhantomOptions::new(args.seed, contrast_phase))
        .map_err(|e| format!("phantom seed {} {contrast_phase}: {e}", args.seed))?;
    println!("generated two phantoms (seed {}) in {:.1} s", args.seed, t.elapsed().as_secs_f64());

    let n = args.panel;
    let px = FOV_MM / n as f64;

    // Axial levels.
    let ph_levels = phantom_levels(&plain)?;
    let mut rows = Vec::new();
    for (l, name) in LEVELS.iter().enumerate() {
        let (k, z_real) = nearest_slice(&real, REAL_LEVELS_Z[l], &series)?;
        let z_ph = ph_levels[l];
        println!("{name:>22}: real slice {k} z {z_real:.1} mm, phantom z {z_ph:.1} mm");
        println!("{:>22}  real    {}", "", tissue_stats(&real, z_real));
        println!("{:>22}  phantom {}", "", tissue_stats(&plain.ct, z_ph));
        let c_real = body_centre(&real, z_real);
        let c_ph = body_centre(&plain.ct, z_ph);
        let real_plane = Plane::axial(c_real.extend(z_real), px, n);
        let ph_plane = Plane::axial(c_ph.extend(z_ph), px, n);
        rows.push(row(&real, &real_plane, &plain.ct, &ph_plane));
    }
    write_png(&args.out.join("axial-levels.png"), &stack(&rows))?;

    // Coronal through the carina, sagittal through the right lung.
    let carina_real = trachea_centre(&real, REAL_CARINA_Z + 5.0)
        .ok_or_else(|| format!("{}: no trachea found at z {:.1} mm", series.display(), REAL_CARINA_Z + 5.0))?
        .extend(REAL_CARINA_Z);
    let carina_ph = phantom_carina(&plain);
    println!("carina: real {:.1?}, phantom {:.1?}", carina_real.to_array(), carina_ph.to_array());
    let mut rows = Vec::new();
    let coronal = |vol: &Volume<i16>, carina: DVec3| {
        let c = body_centre(vol, carina.z);
        Plane::coronal(DVec3::new(c.x, carina.y, carina.z - 50.0), px, n)
    };
    rows.push(row(&real, &coronal(&real, carina_real), &plain.ct, &coronal(&plain.ct, carina_ph)));
    let sagittal = |vol: &Volume<i16>, carina: DVec3| {
        let c = body_centre(vol, carina.z);
        let x = right_lung_x(vol, carina.z - 20.0).unwrap_or(c.x - 70.0);
        println!("sagittal at x {x:.1} mm (body centre x {:.1})", c.x);
        Plane::sagittal(DVec3::new(x, c.y, carina.z - 50.0), px, n)
    };
    rows.push(row(&real, &sagittal(&real, carina_real), &plain.ct, &sagittal(&plain.ct, carina_ph)));
    write_png(&args.out.join("coronal-sagittal.png"), &stack(&rows))?;

    // The contrast slab at the bifurcation.
    let (k, z_slab) = nearest_slice(&slab, SLAB_BIFURCATION_Z, &slab_dir)?;
    let z_ph = ph_levels[1];
    println!("contrast slab: slice {k} z {z_slab:.1} mm, phantom ({contrast_phase}) z {z_ph:.1} mm");
    println!("    real    {}", tissue_stats(&slab, z_slab));
    println!("    phantom {}", tissue_stats(&ctpa.ct, z_ph));
    // The slab's reference labels (central artery and aorta), for their HU.
    let reference = args.data.join("chest-contrast-slabs/lidc-0001-reference.nii.gz");
    match vasa_scan::nifti::read_labels(&reference) {
        Ok(l) if l.same_grid(&slab) => {
            for (name, class) in [("pulmonary artery", vasa_scan::labels::ARTERY), ("aorta", vasa_scan::labels::AORTA)]
            {
                let mut v: Vec<i16> =
                    slab.slice_k(k).iter().zip(l.slice_k(k)).filter(|&(_, &c)| c == class).map(|(&h, _)| h).collect();
                v.sort_unstable();
                println!("    real {name}: median {} HU", v.get(v.len() / 2).map_or("-".into(), |h| h.to_string()));
            }
        }
        Ok(_) => eprintln!("{}: not on the grid of {}; skipped", reference.display(), slab_dir.display()),
        Err(e) => eprintln!("{}: {e}; skipped", reference.display()),
    }
    for st in [Structure::PulmonaryTrunk, Structure::PulmonaryArtery, Structure::Aorta, Structure::SuperiorVenaCava] {
        println!(
            "    phantom {}: median {} HU",
            st.name(),
            structure_median(&ctpa, st, z_ph).map_or("-".into(), |v| v.to_string())
        );
    }
    let slab_plane = Plane::axial(body_centre(&slab, z_slab).extend(z_slab), px, n);
    let ph_plane = Plane::axial(body_centre(&ctpa.ct, z_ph).extend(z_ph), px, n);
    write_png(&args.out.join("contrast-slab.png"), &row(&slab, &slab_plane, &ctpa.ct, &ph_plane))?;
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Loads the default series of a DICOM folder; the error names the folder.
fn load(dir: &Path) -> Res<Volume<i16>> {
    let loaded = vasa_scan::dicom::load_dicom(dir).map_err(|e| {
        // Most loader errors already name the file; name the folder otherwise.
        let msg = e.to_string();
        if msg.contains(&dir.display().to_string()) { msg } else { format!("{}: {msg}", dir.display()) }
    })?;
    for w in &loaded.warnings {
        eprintln!("{}: {w}", dir.display());
    }
    let v = loaded.volume;
    println!("{}: {:?} voxels, spacing {:.3?} mm", dir.display(), v.dims(), v.geometry.spacing.to_array());
    Ok(v)
}

/// The slice of `vol` nearest to patient `z`, with its exact z; an error
/// when `z` lies more than a slice outside the scan.
fn nearest_slice(vol: &Volume<i16>, z: f64, path: &Path) -> Res<(usize, f64)> {
    let [nx, ny, nz] = vol.dims();
    let g = vol.geometry;
    let mid = g.voxel_to_world(DVec3::new(nx as f64 - 1.0, ny as f64 - 1.0, 0.0) * 0.5);
    let k = g.world_to_voxel(DVec3::new(mid.x, mid.y, z)).z;
    if !(k > -1.0 && k < nz as f64) {
        return Err(format!("{}: z {z:.1} mm is outside the scan (slice {k:.1} of {nz})", path.display()));
    }
    let k = (k.round().max(0.0) as usize).min(nz - 1);
    Ok((k, g.voxel_to_world(DVec3::new(0.0, 0.0, k as f64)).z))
}

/// An image plane in patient mm: `n × n` pixels of `px` mm around `centre`,
/// `right` and `down` the patient directions of the image axes.
struct Plane {
    centre: DVec3,
    right: DVec3,
    down: DVec3,
    px: f64,
    n: usize,
}

impl Plane {
    /// Axial, radiological: +x (patient left) to the image right, +y
    /// (posterior) down.
    fn axial(centre: DVec3, px: f64, n: usize) -> Self {
        Plane { centre, right: DVec3::X, down: DVec3::Y, px, n }
    }

    /// Coronal: patient left to the image right, superior at the top.
    fn coronal(centre: DVec3, px: f64, n: usize) -> Self {
        Plane { centre, right: DVec3::X, down: -DVec3::Z, px, n }
    }

    /// Sagittal: anterior on the left, superior at the top.
    fn sagittal(centre: DVec3, px: f64, n: usize) -> Self {
        Plane { centre, right: DVec3::Y, down: -DVec3::Z, px, n }
    }

    /// HU of every pixel, rows top to bottom; 2 × 2 samples per pixel
    /// (averaged), −1024 outside the volume.
    fn sample(&self, vol: &Volume<i16>) -> Vec<f32> {
        let g = vol.geometry;
        let half = self.n as f64 / 2.0;
        let mut out = Vec::with_capacity(self.n * self.n);
        for v in 0..self.n {
            for u in 0..self.n {
                let mut sum = 0.0;
                for (du, dv) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                    let p = self.centre
                        + self.right * ((u as f64 + du - half) * self.px)
                        + self.down * ((v as f64 + dv - half) * self.px);
                    sum += trilinear(vol, g.world_to_voxel(p)).unwrap_or(-1024.0);
                }
                out.push((sum / 4.0) as f32);
            }
        }
        out
    }
}

/// A grey image, rows top to bottom.
struct Grey {
    w: usize,
    h: usize,
    data: Vec<u8>,
}

impl Grey {
    fn new(w: usize, h: usize, fill: u8) -> Self {
        Grey { w, h, data: vec![fill; w * h] }
    }

    /// Copies `src` with its top-left corner at (`x`, `y`).
    fn paste(&mut self, src: &Grey, x: usize, y: usize) {
        for r in 0..src.h.min(self.h.saturating_sub(y)) {
            let n = src.w.min(self.w.saturating_sub(x));
            let d = (y + r) * self.w + x;
            self.data[d..d + n].copy_from_slice(&src.data[r * src.w..r * src.w + n]);
        }
    }
}

/// HU to grey through a window (centre, width).
fn windowed(hu: &[f32], n: usize, (centre, width): (f64, f64)) -> Grey {
    let lo = centre - width / 2.0;
    let data = hu.iter().map(|&h| (((h as f64 - lo) / width).clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    Grey { w: n, h: n, data }
}

/// One gallery row: real and phantom in the mediastinal window, a wider gap,
/// then both in the lung window.
fn row(real: &Volume<i16>, real_plane: &Plane, ph: &Volume<i16>, ph_plane: &Plane) -> Grey {
    let n = real_plane.n;
    let (a, b) = (real_plane.sample(real), ph_plane.sample(ph));
    let (thin, wide) = (4, 16);
    let mut img = Grey::new(4 * n + 2 * thin + wide, n, GAP_GREY);
    img.paste(&windowed(&a, n, MEDIASTINAL), 0, 0);
    img.paste(&windowed(&b, n, MEDIASTINAL), n + thin, 0);
    img.paste(&windowed(&a, n, LUNG), 2 * n + thin + wide, 0);
    img.paste(&windowed(&b, n, LUNG), 3 * n + 2 * thin + wide, 0);
    img
}

/// Rows stacked top to bottom with a gap between them.
fn stack(rows: &[Grey]) -> Grey {
    let gap = 8;
    let w = rows.iter().map(|r| r.w).max().unwrap_or(0);
    let h = rows.iter().map(|r| r.h).sum::<usize>() + gap * rows.len().saturating_sub(1);
    let mut img = Grey::new(w, h, GAP_GREY);
    let mut y = 0;
    for r in rows {
        img.paste(r, 0, y);
        y += r.h + gap;
    }
    img
}

/// Every slice of `vol` in the mediastinal window, 16 to a sheet (4 × 4
/// tiles, the lowest slice top left): `STEM-0.png`, `STEM-1.png`, …; slice
/// indices and z go to stdout.
fn contact_sheet(vol: &Volume<i16>, out: &Path, stem: &str) -> Res<()> {
    let [nx, ny, nz] = vol.dims();
    let g = vol.geometry;
    let (tile, cols, per_sheet) = (384, 4, 16);
    // 260 mm around the body centre: the mediastinum and most of the lungs,
    // large enough to tell the levels apart.
    let fov = 260.0;
    for sheet in 0..nz.div_ceil(per_sheet) {
        let ks: Vec<usize> = (sheet * per_sheet..nz.min((sheet + 1) * per_sheet)).collect();
        let rows = ks.len().div_ceil(cols);
        let mut img = Grey::new(cols * (tile + 2), rows * (tile + 2), GAP_GREY);
        for (t, &k) in ks.iter().enumerate() {
            let z = g.voxel_to_world(DVec3::new((nx as f64 - 1.0) / 2.0, (ny as f64 - 1.0) / 2.0, k as f64)).z;
            let hu = Plane::axial(body_centre(vol, z).extend(z), fov / tile as f64, tile).sample(vol);
            img.paste(&windowed(&hu, tile, MEDIASTINAL), (t % cols) * (tile + 2), (t / cols) * (tile + 2));
            println!("{stem}-{sheet}.png: slice {k} (row {}, column {}) z {:.1} mm", t / cols, t % cols, z);
        }
        write_png(&out.join(format!("{stem}-{sheet}.png")), &img)?;
    }
    Ok(())
}

/// A 2-mm grid over the volume's in-plane extent at patient `z`: HU per cell
/// and the patient x, y of cell (0, 0).
struct Grid {
    w: usize,
    h: usize,
    x0: f64,
    y0: f64,
    hu: Vec<f32>,
}

const GRID_MM: f64 = 2.0;

fn grid(vol: &Volume<i16>, z: f64) -> Grid {
    let [nx, ny, _] = vol.dims();
    let g = vol.geometry;
    let (mut lo, mut hi) = (DVec3::splat(f64::MAX), DVec3::splat(f64::MIN));
    for c in [[0.0, 0.0], [nx as f64 - 1.0, 0.0], [0.0, ny as f64 - 1.0], [nx as f64 - 1.0, ny as f64 - 1.0]] {
        let w = g.voxel_to_world(DVec3::new(c[0], c[1], 0.0));
        lo = lo.min(w);
        hi = hi.max(w);
    }
    let w = ((hi.x - lo.x) / GRID_MM) as usize + 1;
    let h = ((hi.y - lo.y) / GRID_MM) as usize + 1;
    let mut hu = Vec::with_capacity(w * h);
    for j in 0..h {
        for i in 0..w {
            let p = DVec3::new(lo.x + i as f64 * GRID_MM, lo.y + j as f64 * GRID_MM, z);
            hu.push(trilinear(vol, g.world_to_voxel(p)).unwrap_or(-1024.0) as f32);
        }
    }
    Grid { w, h, x0: lo.x, y0: lo.y, hu }
}

/// 4-connected components of `mask` (w × h): a label per cell (0 = not in
/// the mask) and the cell count of each label (index label − 1).
fn components(mask: &[bool], w: usize, h: usize) -> (Vec<u32>, Vec<usize>) {
    let mut label = vec![0u32; w * h];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for s in 0..w * h {
        if !mask[s] || label[s] != 0 {
            continue;
        }
        let id = sizes.len() as u32 + 1;
        let mut count = 0;
        label[s] = id;
        stack.push(s);
        while let Some(c) = stack.pop() {
            count += 1;
            let (x, y) = (c % w, c / w);
            let mut visit = |n: usize| {
                if mask[n] && label[n] == 0 {
                    label[n] = id;
                    stack.push(n);
                }
            };
            if x > 0 {
                visit(c - 1);
            }
            if x + 1 < w {
                visit(c + 1);
            }
            if y > 0 {
                visit(c - w);
            }
            if y + 1 < h {
                visit(c + w);
            }
        }
        sizes.push(count);
    }
    (label, sizes)
}

/// Centre (patient x, y) of the bounding box of the body at patient `z`: the
/// largest connected region above −400 HU (which leaves the table out).
/// Falls back to the volume centre when the slice holds no body.
fn body_centre(vol: &Volume<i16>, z: f64) -> glam::DVec2 {
    body_box(vol, z).0
}

/// Centre and size (patient x, y, mm) of the body's bounding box at `z`, as
/// [`body_centre`] finds it.
fn body_box(vol: &Volume<i16>, z: f64) -> (glam::DVec2, glam::DVec2) {
    let gr = grid(vol, z);
    let mask: Vec<bool> = gr.hu.iter().map(|&h| h > -400.0).collect();
    let (label, sizes) = components(&mask, gr.w, gr.h);
    let Some(best) = (0..sizes.len()).max_by_key(|&i| sizes[i]) else {
        let c = vasa_scan::reslice::volume_center(vol);
        return (glam::DVec2::new(c.x, c.y), glam::DVec2::ZERO);
    };
    let (mut lo, mut hi) = ([usize::MAX; 2], [0usize; 2]);
    for (c, &l) in label.iter().enumerate() {
        if l == best as u32 + 1 {
            let (x, y) = (c % gr.w, c / gr.w);
            lo = [lo[0].min(x), lo[1].min(y)];
            hi = [hi[0].max(x), hi[1].max(y)];
        }
    }
    let centre = glam::DVec2::new(
        gr.x0 + (lo[0] + hi[0]) as f64 * 0.5 * GRID_MM,
        gr.y0 + (lo[1] + hi[1]) as f64 * 0.5 * GRID_MM,
    );
    (centre, glam::DVec2::new((hi[0] - lo[0] + 1) as f64, (hi[1] - lo[1] + 1) as f64) * GRID_MM)
}

/// HU figures of the native axial slice nearest patient `z`, for the notes:
/// median and noise of the lungs (air regions inside the body of over 20 cm²)
/// and of fat (−150…−50 HU). Noise is the spread of the difference of
/// horizontal neighbours over √2, so smooth gradients do not count.
fn tissue_stats(vol: &Volume<i16>, z: f64) -> String {
    let [nx, ny, nz] = vol.dims();
    let k = vol.geometry.world_to_voxel(DVec3::new(0.0, 0.0, z)).z.round().clamp(0.0, nz as f64 - 1.0) as usize;
    let hu = vol.slice_k(k);
    let (label, sizes) = components(&hu.iter().map(|&h| h < -400).collect::<Vec<_>>(), nx, ny);
    let mut edge = vec![false; sizes.len() + 1];
    for (c, &l) in label.iter().enumerate() {
        let (x, y) = (c % nx, c / nx);
        if x == 0 || y == 0 || x + 1 == nx || y + 1 == ny {
            edge[l as usize] = true;
        }
    }
    let min_voxels = 2000.0 / (vol.geometry.spacing.x * vol.geometry.spacing.y);
    let lung = |c: usize| label[c] > 0 && !edge[label[c] as usize] && sizes[label[c] as usize - 1] as f64 > min_voxels;
    let fat = |c: usize| (-150..=-50).contains(&hu[c]);
    let figures = |inside: &dyn Fn(usize) -> bool| {
        let mut v: Vec<i16> = (0..hu.len()).filter(|&c| inside(c)).map(|c| hu[c]).collect();
        let d: Vec<f64> = (0..hu.len())
            .filter(|&c| c % nx + 1 < nx && inside(c) && inside(c + 1))
            .map(|c| (hu[c + 1] - hu[c]) as f64)
            .collect();
        if v.is_empty() || d.is_empty() {
            return "-".to_string();
        }
        v.sort_unstable();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt() / 2f64.sqrt();
        format!("median {} HU, noise {sd:.0} HU", v[v.len() / 2])
    };
    let size = body_box(vol, z).1;
    format!("body {:.0} × {:.0} mm; lung {}; fat {}", size.x, size.y, figures(&lung), figures(&fat))
}

/// Median HU of a phantom structure on the axial slice nearest `z`.
fn structure_median(ph: &Phantom, s: Structure, z: f64) -> Option<i16> {
    let [_, _, nz] = ph.ct.dims();
    let k = ph.ct.geometry.world_to_voxel(DVec3::new(0.0, 0.0, z)).z.round().clamp(0.0, nz as f64 - 1.0) as usize;
    let (hu, anat) = (ph.ct.slice_k(k), ph.anatomy.slice_k(k));
    let mut v: Vec<i16> = hu.iter().zip(anat).filter(|&(_, &a)| a == s as u8).map(|(&h, _)| h).collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// Patient x of the centroid of the right lung at patient `z`: the largest
/// region below −400 HU that does not touch the grid's edge (air inside the
/// body) with its centroid right of (x below) the body centre.
fn right_lung_x(vol: &Volume<i16>, z: f64) -> Option<f64> {
    let centre = body_centre(vol, z);
    let gr = grid(vol, z);
    let mask: Vec<bool> = gr.hu.iter().map(|&h| h < -400.0).collect();
    let (label, sizes) = components(&mask, gr.w, gr.h);
    let mut sum = vec![(0.0f64, false); sizes.len()];
    for (c, &l) in label.iter().enumerate() {
        if l > 0 {
            let (x, y) = (c % gr.w, c / gr.w);
            let s = &mut sum[l as usize - 1];
            s.0 += gr.x0 + x as f64 * GRID_MM;
            s.1 |= x == 0 || y == 0 || x + 1 == gr.w || y + 1 == gr.h;
        }
    }
    (0..sizes.len())
        .filter(|&i| !sum[i].1 && sizes[i] > 100 && sum[i].0 / (sizes[i] as f64) < centre.x)
        .max_by_key(|&i| sizes[i])
        .map(|i| sum[i].0 / sizes[i] as f64)
}

/// Patient x, y of the trachea at patient `z`: the air region inside the
/// body (not touching the grid's edge) of 80–1600 mm² nearest the body centre.
fn trachea_centre(vol: &Volume<i16>, z: f64) -> Option<glam::DVec2> {
    let centre = body_centre(vol, z);
    let gr = grid(vol, z);
    let mask: Vec<bool> = gr.hu.iter().map(|&h| h < -400.0).collect();
    let (label, sizes) = components(&mask, gr.w, gr.h);
    let mut sum = vec![(glam::DVec2::ZERO, false); sizes.len()];
    for (c, &l) in label.iter().enumerate() {
        if l > 0 {
            let (x, y) = (c % gr.w, c / gr.w);
            let s = &mut sum[l as usize - 1];
            s.0 += glam::DVec2::new(gr.x0 + x as f64 * GRID_MM, gr.y0 + y as f64 * GRID_MM);
            s.1 |= x == 0 || y == 0 || x + 1 == gr.w || y + 1 == gr.h;
        }
    }
    let cell = GRID_MM * GRID_MM;
    (0..sizes.len())
        .filter(|&i| !sum[i].1 && (80.0..=1600.0).contains(&(sizes[i] as f64 * cell)))
        .map(|i| sum[i].0 / sizes[i] as f64)
        .min_by(|a, b| a.distance(centre).total_cmp(&b.distance(centre)))
}

/// The carina of the phantom: the end of the trachea (airway branch 1), else
/// the split of the first branch with two children.
fn phantom_carina(ph: &Phantom) -> DVec3 {
    let b = &ph.trees.airway.branches;
    b.get(1).or_else(|| b.iter().find(|br| br.children[1] != NONE)).map_or(DVec3::ZERO, |br| br.end)
}

/// Patient z of the five levels in the phantom, from its anatomy: arch = the
/// highest point of the aorta's main chain (the widest child at every split,
/// so not the arch branches) less 5 mm; bifurcation = the end of the
/// pulmonary trunk (artery branch 1); left atrium = the mean start z of the
/// vein roots (their ostia); ventricles = 40 mm below that; lung bases = 10 mm
/// below the top of the liver (the right dome, as chosen on the real scan),
/// or where the right lung's axial area falls below 35 % of its largest,
/// going down, when the phantom has no liver.
fn phantom_levels(ph: &Phantom) -> Res<[f64; 5]> {
    let aorta = &ph.trees.aorta.branches;
    let mut i = aorta.iter().position(|b| b.parent == NONE).ok_or("phantom has no aorta")?;
    let mut top = f64::MIN;
    for _ in 0..aorta.len() {
        let b = &aorta[i];
        top = top.max(b.start.z).max(b.end.z);
        let widest = b
            .children
            .iter()
            .map(|&c| c as usize)
            .filter(|&c| c < aorta.len())
            .max_by(|&x, &y| aorta[x].radius.total_cmp(&aorta[y].radius));
        match widest {
            Some(c) => i = c,
            None => break,
        }
    }
    let bif = ph.trees.artery.branches.get(1).ok_or("phantom has no pulmonary trunk")?.end.z;
    let roots: Vec<f64> = ph.trees.vein.branches.iter().filter(|b| b.parent == NONE).map(|b| b.start.z).collect();
    if roots.is_empty() {
        return Err("phantom has no pulmonary veins".into());
    }
    let la = roots.iter().sum::<f64>() / roots.len() as f64;
    // Voxels of a structure per axial slice.
    let [nx, ny, nz] = ph.anatomy.dims();
    let area = |s: Structure| -> Vec<usize> {
        let v = s as u8;
        (0..nz).map(|k| ph.anatomy.data()[k * nx * ny..(k + 1) * nx * ny].iter().filter(|&&a| a == v).count()).collect()
    };
    let z_of = |k: usize| ph.anatomy.geometry.voxel_to_world(DVec3::new(0.0, 0.0, k as f64)).z;
    // The dome's top: the highest slice with more than a few liver voxels.
    let liver = area(Structure::Liver);
    let base = match (0..nz).filter(|&k| liver[k] >= 20).max_by(|&a, &b| z_of(a).total_cmp(&z_of(b))) {
        Some(k) => z_of(k) - 10.0,
        None => {
            let lung = area(Structure::LungRight);
            let kmax = (0..nz).max_by_key(|&k| lung[k]).ok_or("phantom has no slices")?;
            let kb = (0..=kmax).rev().find(|&k| (lung[k] as f64) < 0.35 * lung[kmax] as f64).unwrap_or(0);
            z_of(kb)
        }
    };
    Ok([top - 5.0, bif, la, la - 40.0, base])
}

/// Writes a grey PNG; the error names the file.
fn write_png(path: &Path, img: &Grey) -> Res<()> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    vasa_scan::png::write(path, &vasa_scan::png::Image::gray(img.w, img.h, &img.data).smallest())
        .map_err(|e| e.to_string())?;
    let size = std::fs::metadata(path).map_err(|e| err(&e))?.len();
    println!("wrote {} ({}×{}, {:.2} MB)", path.display(), img.w, img.h, size as f64 / 1e6);
    Ok(())
}
