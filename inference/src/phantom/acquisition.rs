//! How the phantom was scanned: pixel size, slice thickness and spacing,
//! reconstruction kernel, noise level and field of view, drawn per seed within
//! the ranges of clinical chest CT or set by the user.
//!
//! Real chest CTs are reconstructed on a 512 matrix over a 330–500 mm field
//! (0.6–0.98 mm pixels), as thin (0.625–1.5 mm) or thick (2–5 mm) slices, with
//! a soft, standard or sharp (lung/bone) kernel; the noise σ in soft tissue is
//! 10–40 HU depending on dose and patient size. Some series are a slab (a
//! few centimetres around the hilum) or one side only (a targeted
//! reconstruction).

use std::fmt;
use std::str::FromStr;

use super::rng::Rng;
use super::{PhantomError, Phase};

/// Reconstruction kernel (filter of the filtered back projection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kernel {
    /// Soft-tissue kernel (e.g. Siemens B20f, GE SOFT): lower resolution,
    /// smooth, blotchy noise.
    Soft,
    /// Standard body kernel (B30f, GE STANDARD).
    #[default]
    Standard,
    /// Lung or bone kernel (B60f, Philips L, GE LUNG/BONE): edge enhancement
    /// (overshoot at edges) and fine-grained, high-frequency noise.
    Sharp,
}

impl Kernel {
    /// All kernels, for loops in tests and tools.
    pub const ALL: [Kernel; 3] = [Kernel::Soft, Kernel::Standard, Kernel::Sharp];
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kernel::Soft => "soft",
            Kernel::Standard => "standard",
            Kernel::Sharp => "sharp",
        })
    }
}

impl FromStr for Kernel {
    type Err = PhantomError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "soft" => Ok(Kernel::Soft),
            "standard" => Ok(Kernel::Standard),
            "sharp" => Ok(Kernel::Sharp),
            _ => Err(PhantomError::BadOption(format!("unknown kernel {s:?} (expected soft, standard or sharp)"))),
        }
    }
}

/// Slab thicknesses a user may ask for (mm).
pub const SLAB_RANGE_MM: std::ops::RangeInclusive<f64> = 10.0..=150.0;

/// What part of the patient the series covers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fov {
    /// The whole chest: lung apices to the upper abdomen, body outline in plane.
    #[default]
    Chest,
    /// The whole chest in plane, but only `mm` along z, centred on the
    /// pulmonary bifurcation.
    Slab {
        /// Extent along z (mm).
        mm: f64,
    },
    /// The patient's left half (a targeted reconstruction).
    Left,
    /// The patient's right half.
    Right,
}

impl fmt::Display for Fov {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fov::Chest => f.write_str("chest"),
            Fov::Slab { mm } => write!(f, "slab:{mm}"),
            Fov::Left => f.write_str("left"),
            Fov::Right => f.write_str("right"),
        }
    }
}

impl FromStr for Fov {
    type Err = PhantomError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        if let Some(mm) = lower.strip_prefix("slab:") {
            let mm: f64 = mm
                .trim()
                .trim_end_matches("mm")
                .parse()
                .map_err(|_| PhantomError::BadOption(format!("slab thickness in {s:?} is not a number of mm")))?;
            if !(mm.is_finite() && SLAB_RANGE_MM.contains(&mm)) {
                return Err(PhantomError::BadOption(format!(
                    "slab of {mm} mm is outside {}–{} mm",
                    SLAB_RANGE_MM.start(),
                    SLAB_RANGE_MM.end()
                )));
            }
            return Ok(Fov::Slab { mm });
        }
        match lower.as_str() {
            "chest" => Ok(Fov::Chest),
            "left" => Ok(Fov::Left),
            "right" => Ok(Fov::Right),
            "slab" => Err(PhantomError::BadOption("a slab needs its thickness, e.g. slab:40 (mm)".into())),
            _ => Err(PhantomError::BadOption(format!(
                "unknown field of view {s:?} (expected chest, slab:MM, left or right)"
            ))),
        }
    }
}

/// Pixel sizes of clinical chest CT (mm).
pub const PIXEL_RANGE_MM: std::ops::RangeInclusive<f64> = 0.6..=0.98;
/// Slice thicknesses the phantom makes (mm).
pub const THICKNESS_RANGE_MM: std::ops::RangeInclusive<f64> = 0.5..=5.0;
/// Noise σ the phantom makes (HU); 0 means a noise-free image.
pub const NOISE_RANGE_HU: std::ops::RangeInclusive<f64> = 0.0..=80.0;

/// The scan's acquisition and reconstruction parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Acquisition {
    /// In-plane pixel size (mm).
    pub pixel_mm: f64,
    /// Slice thickness: FWHM of the slice sensitivity profile (mm).
    pub thickness_mm: f64,
    /// Distance between slice centres (mm); usually the thickness.
    pub spacing_mm: f64,
    /// Reconstruction kernel.
    pub kernel: Kernel,
    /// Noise σ in uniform soft tissue (HU).
    pub noise_sigma: f64,
    /// What the series covers.
    pub fov: Fov,
}

impl Acquisition {
    /// Draws a realistic acquisition from `rng`: thin slices about half the
    /// time, mostly the whole chest, sometimes a slab or one side.
    pub fn draw(rng: &mut Rng) -> Acquisition {
        // Slice thicknesses as clinical protocols use them, thin ones most often.
        const THICK: [(f64, f64); 8] =
            [(0.625, 0.14), (1.0, 0.22), (1.25, 0.12), (1.5, 0.12), (2.0, 0.1), (2.5, 0.1), (3.0, 0.08), (5.0, 0.12)];
        let mut u = rng.unit();
        let mut thickness_mm = THICK[THICK.len() - 1].0;
        for (t, p) in THICK {
            if u < p {
                thickness_mm = t;
                break;
            }
            u -= p;
        }
        // Thin slices are sometimes reconstructed overlapping.
        let spacing_mm =
            if (1.0..=2.0).contains(&thickness_mm) && rng.unit() < 0.2 { thickness_mm * 0.5 } else { thickness_mm };
        let kernel = match rng.unit() {
            u if u < 0.25 => Kernel::Soft,
            u if u < 0.65 => Kernel::Standard,
            _ => Kernel::Sharp,
        };
        // Lower dose is more common than very high dose; σ in 10–40 HU.
        let noise_sigma = 10.0 + 30.0 * rng.unit().powf(1.3);
        let fov = match rng.unit() {
            u if u < 0.76 => Fov::Chest,
            u if u < 0.88 => Fov::Slab { mm: (rng.range(20.0, 60.0) * 0.2).round() * 5.0 },
            u if u < 0.94 => Fov::Left,
            _ => Fov::Right,
        };
        let pixel_mm = match fov {
            // A 512 matrix over a 350–500 mm field.
            Fov::Chest | Fov::Slab { .. } => rng.range(350.0, 500.0) / 512.0,
            // Targeted reconstructions use smaller pixels.
            Fov::Left | Fov::Right => rng.range(0.6, 0.8),
        };
        Acquisition { pixel_mm, thickness_mm, spacing_mm, kernel, noise_sigma, fov }
    }

    /// Checks every value; the message names the bad one.
    pub fn validate(&self) -> Result<(), PhantomError> {
        let bad = |what: &str, v: f64, r: &std::ops::RangeInclusive<f64>, unit: &str| {
            PhantomError::BadOption(format!("{what} {v} {unit} is outside {}–{} {unit}", r.start(), r.end()))
        };
        if !(self.pixel_mm.is_finite() && (0.3..=2.0).contains(&self.pixel_mm)) {
            return Err(bad("pixel size", self.pixel_mm, &(0.3..=2.0), "mm"));
        }
        if !(self.thickness_mm.is_finite() && THICKNESS_RANGE_MM.contains(&self.thickness_mm)) {
            return Err(bad("slice thickness", self.thickness_mm, &THICKNESS_RANGE_MM, "mm"));
        }
        if !(self.spacing_mm.is_finite() && (0.3..=5.0).contains(&self.spacing_mm)) {
            return Err(bad("slice spacing", self.spacing_mm, &(0.3..=5.0), "mm"));
        }
        if !(self.noise_sigma.is_finite() && NOISE_RANGE_HU.contains(&self.noise_sigma)) {
            return Err(bad("noise σ", self.noise_sigma, &NOISE_RANGE_HU, "HU"));
        }
        if let Fov::Slab { mm } = self.fov
            && !(mm.is_finite() && SLAB_RANGE_MM.contains(&mm))
        {
            return Err(bad("slab", mm, &SLAB_RANGE_MM, "mm"));
        }
        Ok(())
    }
}

impl fmt::Display for Acquisition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pixel {:.3} mm, {} mm slices every {} mm, {} kernel, noise σ {:.1} HU, field of view {}",
            self.pixel_mm, self.thickness_mm, self.spacing_mm, self.kernel, self.noise_sigma, self.fov
        )
    }
}

impl Phase {
    /// Draws a contrast phase: plain and CT pulmonary angiography most often.
    pub fn draw(rng: &mut Rng) -> Phase {
        match rng.unit() {
            u if u < 0.35 => Phase::Plain,
            u if u < 0.65 => Phase::Ctpa,
            u if u < 0.85 => Phase::Arterial,
            _ => Phase::Venous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_acquisitions_are_in_range_and_varied() {
        let mut kernels = std::collections::HashSet::new();
        let (mut thick, mut thin, mut slab, mut side) = (0, 0, 0, 0);
        for seed in 0..400 {
            let a = Acquisition::draw(&mut Rng::new(seed));
            a.validate().unwrap();
            assert!(PIXEL_RANGE_MM.contains(&a.pixel_mm), "{a}");
            assert!((10.0..=40.0).contains(&a.noise_sigma), "{a}");
            assert!(a.spacing_mm <= a.thickness_mm);
            kernels.insert(a.kernel);
            thick += (a.thickness_mm >= 2.5) as usize;
            thin += (a.thickness_mm <= 1.25) as usize;
            match a.fov {
                Fov::Slab { mm } => {
                    assert!((20.0..=60.0).contains(&mm), "{mm}");
                    slab += 1
                }
                Fov::Left | Fov::Right => side += 1,
                Fov::Chest => {}
            }
        }
        assert_eq!(kernels.len(), 3);
        assert!(thick > 60 && thin > 120 && slab > 20 && side > 8, "{thick} {thin} {slab} {side}");
    }

    #[test]
    fn flags_parse_and_bad_ones_say_why() {
        assert_eq!("Sharp".parse::<Kernel>().unwrap(), Kernel::Sharp);
        assert_eq!("slab:40".parse::<Fov>().unwrap(), Fov::Slab { mm: 40.0 });
        assert_eq!("left".parse::<Fov>().unwrap(), Fov::Left);
        let e = "smooth".parse::<Kernel>().unwrap_err().to_string();
        assert!(e.contains("smooth") && e.contains("sharp"), "{e}");
        let e = "slab:abc".parse::<Fov>().unwrap_err().to_string();
        assert!(e.contains("abc"), "{e}");
        let e = "slab:2".parse::<Fov>().unwrap_err().to_string();
        assert!(e.contains("2 mm") && e.contains("10"), "{e}");
        let e = "slab".parse::<Fov>().unwrap_err().to_string();
        assert!(e.contains("slab:40"), "{e}");
        let e = "top".parse::<Fov>().unwrap_err().to_string();
        assert!(e.contains("top") && e.contains("chest"), "{e}");
    }
}
