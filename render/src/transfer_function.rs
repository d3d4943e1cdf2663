//! Transfer functions of direct volume rendering: piecewise-linear colour
//! and opacity over HU, the presets surgeons know (CT angio, lung vessels,
//! bone, soft tissue), and the lookup table the shader samples. Opacity is
//! per millimetre of ray, so a picture does not change with the sampling
//! step (the shader corrects for it).

use serde::{Deserialize, Serialize};

/// HU range the lookup table covers (air to dense bone and contrast).
pub const HU_RANGE: (f32, f32) = (-1024.0, 3071.0);

/// Entries of the lookup table (4 HU each over [`HU_RANGE`]).
pub const LUT_SIZE: usize = 1024;

/// One control point: at `hu`, colour `rgb` (sRGB 0–1) and opacity per mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ControlPoint {
    /// Position (HU).
    pub hu: f32,
    /// Colour, sRGB 0–1.
    pub rgb: [f32; 3],
    /// Opacity per mm of ray, 0–1.
    pub opacity: f32,
}

/// A transfer function: control points sorted by HU, linear between them,
/// flat beyond the first and last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferFunction {
    /// Its name (a preset's, or the user's).
    pub name: String,
    /// Control points, sorted by HU.
    pub points: Vec<ControlPoint>,
}

/// Why a transfer function cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TransferFunctionError {
    /// No control point.
    #[error("a transfer function needs at least one control point")]
    Empty,
    /// A value out of range or not a number.
    #[error("control point {index}: {what}")]
    BadPoint {
        /// Which (0-based).
        index: usize,
        /// What is wrong.
        what: String,
    },
}

fn point(hu: f32, rgb: [f32; 3], opacity: f32) -> ControlPoint {
    ControlPoint { hu, rgb, opacity }
}

impl TransferFunction {
    /// The presets, in menu order.
    pub fn presets() -> Vec<TransferFunction> {
        vec![Self::ct_angio(), Self::lung_vessels(), Self::bone(), Self::soft_tissue()]
    }

    /// The preset named `name` (case-insensitive; spaces, `-` and `_` alike).
    pub fn preset(name: &str) -> Option<TransferFunction> {
        let key = |s: &str| s.to_lowercase().replace([' ', '_'], "-");
        Self::presets().into_iter().find(|p| key(&p.name) == key(name))
    }

    /// Contrast-filled vessels and bone, soft tissue faint.
    pub fn ct_angio() -> Self {
        TransferFunction {
            name: "CT angio".into(),
            points: vec![
                point(-1024.0, [0.0, 0.0, 0.0], 0.0),
                point(60.0, [0.55, 0.25, 0.15], 0.0),
                point(150.0, [0.85, 0.3, 0.2], 0.15),
                point(300.0, [1.0, 0.75, 0.55], 0.6),
                point(700.0, [1.0, 0.95, 0.85], 0.8),
                point(3071.0, [1.0, 1.0, 1.0], 0.9),
            ],
        }
    }

    /// Vessels in aerated lung (plain CT): blood against air, the chest wall faint.
    pub fn lung_vessels() -> Self {
        TransferFunction {
            name: "lung vessels".into(),
            points: vec![
                point(-1024.0, [0.0, 0.0, 0.0], 0.0),
                point(-700.0, [0.5, 0.2, 0.2], 0.0),
                point(-450.0, [0.8, 0.35, 0.3], 0.08),
                point(-100.0, [0.95, 0.55, 0.45], 0.35),
                point(200.0, [1.0, 0.8, 0.7], 0.2),
                point(3071.0, [1.0, 1.0, 1.0], 0.2),
            ],
        }
    }

    /// Bone only.
    pub fn bone() -> Self {
        TransferFunction {
            name: "bone".into(),
            points: vec![
                point(-1024.0, [0.0, 0.0, 0.0], 0.0),
                point(180.0, [0.8, 0.7, 0.55], 0.0),
                point(400.0, [0.95, 0.9, 0.8], 0.5),
                point(1200.0, [1.0, 1.0, 0.95], 0.9),
                point(3071.0, [1.0, 1.0, 1.0], 0.95),
            ],
        }
    }

    /// Muscle, organs and vessels over fat; bone bright.
    pub fn soft_tissue() -> Self {
        TransferFunction {
            name: "soft tissue".into(),
            points: vec![
                point(-1024.0, [0.0, 0.0, 0.0], 0.0),
                point(-200.0, [0.7, 0.55, 0.4], 0.0),
                point(-60.0, [0.85, 0.65, 0.5], 0.03),
                point(40.0, [0.8, 0.35, 0.3], 0.12),
                point(250.0, [0.95, 0.85, 0.75], 0.3),
                point(3071.0, [1.0, 1.0, 1.0], 0.6),
            ],
        }
    }

    /// Checks the points (finite, colour and opacity in 0–1) and sorts them by HU.
    pub fn validated(mut self) -> Result<Self, TransferFunctionError> {
        if self.points.is_empty() {
            return Err(TransferFunctionError::Empty);
        }
        for (index, p) in self.points.iter().enumerate() {
            let unit = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
            let what = if !p.hu.is_finite() {
                Some(format!("hu {} is not a number", p.hu))
            } else if !p.rgb.iter().all(|&c| unit(c)) {
                Some(format!("rgb {:?} must lie in 0–1", p.rgb))
            } else if !unit(p.opacity) {
                Some(format!("opacity {} must lie in 0–1", p.opacity))
            } else {
                None
            };
            if let Some(what) = what {
                return Err(TransferFunctionError::BadPoint { index, what });
            }
        }
        self.points.sort_by(|a, b| a.hu.total_cmp(&b.hu));
        Ok(self)
    }

    /// Colour and opacity at `hu`.
    pub fn at(&self, hu: f32) -> ([f32; 3], f32) {
        let pts = &self.points;
        let Some(first) = pts.first() else { return ([0.0; 3], 0.0) };
        if hu <= first.hu {
            return (first.rgb, first.opacity);
        }
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if hu <= b.hu {
                let t = if b.hu > a.hu { (hu - a.hu) / (b.hu - a.hu) } else { 1.0 };
                let rgb = [0, 1, 2].map(|c| a.rgb[c] + (b.rgb[c] - a.rgb[c]) * t);
                return (rgb, a.opacity + (b.opacity - a.opacity) * t);
            }
        }
        let last = pts[pts.len() - 1];
        (last.rgb, last.opacity)
    }

    /// The HU of lookup-table entry `i`.
    pub fn lut_hu(i: usize) -> f32 {
        HU_RANGE.0 + (HU_RANGE.1 - HU_RANGE.0) * i as f32 / (LUT_SIZE - 1) as f32
    }

    /// The lookup table: [`LUT_SIZE`] RGBA entries over [`HU_RANGE`].
    pub fn lut(&self) -> Vec<[f32; 4]> {
        (0..LUT_SIZE)
            .map(|i| {
                let (rgb, a) = self.at(Self::lut_hu(i));
                [rgb[0], rgb[1], rgb[2], a]
            })
            .collect()
    }

    /// A test of whether anything in an HU interval is visible: the
    /// largest opacity over `[lo, hi]`, answered in constant time (for the
    /// empty-space skipping of thousands of bricks).
    pub fn opacity_ranges(&self) -> OpacityRanges {
        OpacityRanges::new(self.lut().iter().map(|e| e[3]).collect())
    }
}

/// Range maxima of the lookup table's opacity (a sparse table).
pub struct OpacityRanges {
    levels: Vec<Vec<f32>>,
}

impl OpacityRanges {
    fn new(opacity: Vec<f32>) -> Self {
        let mut levels = vec![opacity];
        let mut width = 1;
        while width * 2 <= levels[0].len() {
            let prev = levels.last().expect("level 0 exists");
            let next: Vec<f32> = (0..prev.len() - width).map(|i| prev[i].max(prev[i + width])).collect();
            levels.push(next);
            width *= 2;
        }
        OpacityRanges { levels }
    }

    fn entry(hu: f32) -> usize {
        let t = (hu - HU_RANGE.0) / (HU_RANGE.1 - HU_RANGE.0) * (LUT_SIZE - 1) as f32;
        t.clamp(0.0, (LUT_SIZE - 1) as f32) as usize
    }

    /// The largest opacity between `lo` and `hi` HU (their table entries,
    /// widened by one on each side for the interpolation between them).
    pub fn max(&self, lo: f32, hi: f32) -> f32 {
        let (a, b) = (Self::entry(lo).saturating_sub(1), (Self::entry(hi) + 1).min(LUT_SIZE - 1));
        let (a, b) = (a.min(b), a.max(b));
        let n = b - a + 1;
        let level = (usize::BITS - 1 - n.leading_zeros()) as usize;
        let w = 1 << level;
        self.levels[level][a].max(self.levels[level][b + 1 - w])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_interpolate_and_range_maxima_agree_with_a_scan() {
        let tf = TransferFunction::ct_angio();
        assert_eq!(tf.at(-2000.0).1, 0.0);
        let (_, a) = tf.at(225.0);
        assert!((a - 0.375).abs() < 1e-6, "halfway between 150 HU (0.15) and 300 HU (0.6): {a}");
        assert_eq!(tf.at(5000.0).1, 0.9);
        let ranges = tf.opacity_ranges();
        let lut = tf.lut();
        for (lo, hi) in [(-1000.0, -500.0), (-1000.0, 100.0), (0.0, 3000.0), (200.0, 210.0), (-1024.0, 3071.0)] {
            let brute = |margin: f32| {
                (0..LUT_SIZE)
                    .filter(|&i| {
                        let h = TransferFunction::lut_hu(i);
                        h >= lo - margin && h <= hi + margin
                    })
                    .map(|i| lut[i][3])
                    .fold(0.0f32, f32::max)
            };
            let fast = ranges.max(lo, hi);
            // At least what the range holds, at most what one more entry on each side holds.
            assert!(fast >= brute(0.0) && fast <= brute(9.0), "[{lo}, {hi}]: {fast} vs {}…{}", brute(0.0), brute(9.0));
        }
        assert_eq!(ranges.max(-1000.0, -500.0), 0.0, "air and lung are empty in CT angio");
        assert_eq!(TransferFunction::preset("Lung_Vessels").map(|p| p.name), Some("lung vessels".into()));
        assert!(TransferFunction::preset("x-ray").is_none());
    }

    #[test]
    fn bad_points_are_refused_and_points_sorted() {
        let mut tf = TransferFunction::bone();
        tf.points.reverse();
        let ok = tf.clone().validated().unwrap();
        assert!(ok.points.windows(2).all(|w| w[0].hu <= w[1].hu));
        tf.points[1].opacity = 1.5;
        assert!(matches!(tf.clone().validated(), Err(TransferFunctionError::BadPoint { index: 1, .. })));
        tf.points.clear();
        assert_eq!(tf.validated(), Err(TransferFunctionError::Empty));
        let json = serde_json::to_string(&TransferFunction::soft_tissue()).unwrap();
        let back: TransferFunction = serde_json::from_str(&json).unwrap();
        assert_eq!(back, TransferFunction::soft_tissue());
    }
}
