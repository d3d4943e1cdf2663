//! The phantom's contract: deterministic per seed, options checked with
//! errors that name the problem, a preview that is written atomically.

use vasa_inference::phantom::{PhantomOptions, Phase, generate, preview_rgb, write_preview};

fn small(seed: u64, phase: Phase) -> PhantomOptions {
    let mut o = PhantomOptions::with_slice_spacing(seed, phase, 2.5).unwrap();
    o.dims = [128, 128, 128];
    o.spacing = glam::DVec3::new(2.75, 2.75, 2.5);
    o
}

#[test]
fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = generate(&small(21, Phase::Ctpa)).unwrap();
    let b = generate(&small(21, Phase::Ctpa)).unwrap();
    assert_eq!(a.ct.data(), b.ct.data());
    assert_eq!(a.labels.data(), b.labels.data());
    let c = generate(&small(22, Phase::Ctpa)).unwrap();
    assert_ne!(a.ct.data(), c.ct.data());
    assert_ne!(a.labels.data(), c.labels.data());
    // Same anatomy in every phase: only the CT numbers change.
    let d = generate(&small(21, Phase::Plain)).unwrap();
    assert_eq!(a.labels.data(), d.labels.data());
    assert_ne!(a.ct.data(), d.ct.data());
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let opts = small(23, Phase::Arterial);
    let many = generate(&opts).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| generate(&opts).unwrap());
    assert_eq!(many.ct.data(), one.ct.data());
    assert_eq!(many.labels.data(), one.labels.data());
}

#[test]
fn bad_options_are_refused_with_a_reason() {
    let e = PhantomOptions::with_slice_spacing(1, Phase::Plain, 3.0).unwrap_err().to_string();
    assert!(e.contains("3 mm") && e.contains("0.6"), "{e}");
    let mut o = PhantomOptions::new(1, Phase::Plain);
    o.dims[1] = 2;
    let e = generate(&o).unwrap_err().to_string();
    assert!(e.contains("dimension 1"), "{e}");
    let mut o = PhantomOptions::new(1, Phase::Plain);
    o.spacing.z = f64::NAN;
    let e = generate(&o).unwrap_err().to_string();
    assert!(e.contains("axis 2"), "{e}");
    let e = "portal".parse::<Phase>().unwrap_err().to_string();
    assert!(e.contains("portal") && e.contains("arterial"), "{e}");
    assert_eq!("Venous".parse::<Phase>().unwrap(), Phase::Venous);
    assert_eq!("CTPA".parse::<Phase>().unwrap(), Phase::Ctpa);
}

#[test]
fn preview_is_a_png_montage_in_radiological_orientation() {
    let ph = generate(&small(24, Phase::Plain)).unwrap();
    let (w, h, rgb) = preview_rgb(&ph);
    assert_eq!(rgb.len(), w * h * 3);
    assert!(w > 2 * h / 2 && h > 0);
    // Overlay colours appear on the bottom row only.
    let red = |y0: usize, y1: usize| {
        (y0..y1)
            .flat_map(|y| (0..w).map(move |x| (y * w + x) * 3))
            .filter(|&o| rgb[o] as u16 > rgb[o + 1] as u16 + 60)
            .count()
    };
    assert_eq!(red(0, h / 2 - 8), 0);
    assert!(red(h / 2, h) > 20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preview.png");
    write_preview(&ph, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
    let e = write_preview(&ph, &dir.path().join("missing/x.png")).unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
}

/// FNV-1a over the CT (little-endian) and the labels.
fn fingerprint(ph: &vasa_inference::phantom::Phantom) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = ph.ct.data().iter().flat_map(|v| v.to_le_bytes()).chain(ph.labels.data().iter().copied());
    for b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[test]
fn output_bytes_are_pinned_for_seed_1() {
    // The phantom must be byte-identical for a seed on every machine: it uses
    // its own PRNG, pure-Rust libm and no thread-order-dependent reduction.
    // This fingerprint pins those bytes; a deliberate change to the generator
    // updates it (and changes every dataset made with it).
    let ph = generate(&small(1, Phase::Ctpa)).unwrap();
    assert_eq!(fingerprint(&ph), PINNED, "fingerprint {:#018x}", fingerprint(&ph));
}

const PINNED: u64 = 0x508f_6d49_061a_ae58;
