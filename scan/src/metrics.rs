//! Segmentation metrics: a predicted label map against the truth, per class.
//!
//! For each vessel class (1 artery, 2 vein, 3 aorta; every other label,
//! such as a phantom's 4 airway and 5 heart, counts as background):
//!
//! - **Dice** `2|P ∩ T| / (|P| + |T|)` (1 when both are empty);
//! - **clDice**, the centreline Dice of Shit et al. (CVPR 2021):
//!   `Tprec = |skel(P) ∩ T| / |skel(P)|`, `Tsens = |skel(T) ∩ P| / |skel(T)|`,
//!   `clDice = 2·Tprec·Tsens / (Tprec + Tsens)` with the skeletons of
//!   [`crate::skeleton`] (1 when both are empty, 0 when one is);
//! - **HD95** in mm: the symmetric 95th-percentile Hausdorff distance between
//!   the surfaces, as MONAI's `compute_hausdorff_distance(percentile=95)`
//!   computes it: the surface of a mask is its voxels with a background face
//!   neighbour (outside the volume counts as background); the distances from
//!   each surface's voxels to the other surface are taken with
//!   [`crate::distance`], the 95th percentile of each set (linear
//!   interpolation, as `numpy.percentile`), and the larger of the two. Only
//!   the bounding box of both masks plus one voxel is transformed. `None`
//!   when either mask is empty;
//! - **volume difference**: predicted minus true volume in mL, and relative
//!   to the true volume in % (`None` when the truth is empty);
//! - for the two pulmonary trees (artery, vein), what the tree stage aims
//!   at: the **branch detection rate** (the share of the true tree's
//!   branches, [`crate::vessel_graph`], at least three centreline voxels
//!   long, whose centreline is at least half inside the predicted class),
//!   the share of the predicted volume in its **largest piece**
//!   (26-connected), and the share of the true class **called the other**
//!   pulmonary class.

use rayon::prelude::*;
use serde::Serialize;

use crate::crop::BoundingBox;
use crate::distance::distance_to_mask_mm;
use crate::labels::{AORTA, ARTERY, ClassTable, LabelMap, VEIN};
use crate::skeleton::skeleton_voxels_where;
use crate::volume::Volume;

/// The classes evaluated, in report order.
pub const EVALUATED_CLASSES: [u8; 3] = [ARTERY, VEIN, AORTA];

/// The percentile of the surface distances reported as HD95.
pub const HD_PERCENTILE: f64 = 95.0;

/// Why two label maps cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// The maps are not on the same voxel grid; the text names the first
    /// difference found (dimensions, spacing, origin or direction).
    #[error("prediction and truth are not on the same grid: {0}")]
    GridMismatch(String),
}

/// The metrics of one class of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Class id (1 artery, 2 vein, 3 aorta).
    pub class: u8,
    /// Class name from the default class table.
    pub name: String,
    /// Voxels of the class in the prediction.
    pub pred_voxels: u64,
    /// Voxels of the class in the truth.
    pub truth_voxels: u64,
    /// Dice coefficient, 0–1.
    pub dice: f64,
    /// Centreline Dice, 0–1.
    pub cl_dice: f64,
    /// Symmetric 95th-percentile surface distance in mm; `None` when either mask is empty.
    pub hd95_mm: Option<f64>,
    /// Predicted volume in mL.
    pub pred_ml: f64,
    /// True volume in mL.
    pub truth_ml: f64,
    /// `pred_ml − truth_ml`.
    pub volume_diff_ml: f64,
    /// `100 · volume_diff_ml / truth_ml`; `None` when the truth is empty.
    pub volume_diff_percent: Option<f64>,
    /// Share of the true tree's branches found (artery and vein; `None`
    /// for other classes or a truth without branches).
    pub branch_detection: Option<f64>,
    /// Share of the predicted volume in its largest connected piece
    /// (`None` when nothing is predicted).
    pub largest_piece_fraction: Option<f64>,
    /// Share of the true voxels called the other pulmonary class (artery
    /// called vein, vein called artery; `None` for other classes or an empty truth).
    pub called_other: Option<f64>,
}

/// The metrics of every evaluated class of one case, in [`EVALUATED_CLASSES`] order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelComparison {
    /// One entry per evaluated class.
    pub classes: Vec<ClassMetrics>,
}

/// The mean of one class's metrics over several cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMean {
    /// Class id.
    pub class: u8,
    /// Class name.
    pub name: String,
    /// Number of cases averaged.
    pub cases: usize,
    /// Mean Dice.
    pub dice: f64,
    /// Mean clDice.
    pub cl_dice: f64,
    /// Mean HD95 over the cases where it is defined; `None` when it is in none.
    pub hd95_mm: Option<f64>,
    /// Number of cases with an HD95 (both masks non-empty).
    pub hd95_cases: usize,
    /// Mean volume difference in mL.
    pub volume_diff_ml: f64,
    /// Mean relative volume difference over the cases with a non-empty truth.
    pub volume_diff_percent: Option<f64>,
    /// Mean branch detection rate over the cases where it is defined.
    pub branch_detection: Option<f64>,
    /// Mean largest-piece share over the cases where it is defined.
    pub largest_piece_fraction: Option<f64>,
    /// Mean share called the other pulmonary class, where defined.
    pub called_other: Option<f64>,
}

/// Checks that `pred` and `truth` share dimensions, spacing, origin and
/// direction ([`Volume::same_grid`]); the error names the first difference.
pub fn check_same_grid(pred: &LabelMap, truth: &LabelMap) -> Result<(), MetricsError> {
    if pred.same_grid(truth) {
        return Ok(());
    }
    let (a, b) = (&pred.geometry, &truth.geometry);
    let v = |x: [f64; 3]| format!("{:.4} × {:.4} × {:.4}", x[0], x[1], x[2]);
    let reason = if pred.dims() != truth.dims() {
        let d = |x: [usize; 3]| format!("{} × {} × {}", x[0], x[1], x[2]);
        format!("dimensions {} (prediction) vs {} (truth)", d(pred.dims()), d(truth.dims()))
    } else if (a.spacing - b.spacing).abs().max_element() >= 1e-4 {
        format!("spacing {} mm (prediction) vs {} mm (truth)", v(a.spacing.to_array()), v(b.spacing.to_array()))
    } else if (a.origin - b.origin).abs().max_element() >= 1e-3 {
        format!("origin ({}) mm (prediction) vs ({}) mm (truth)", v(a.origin.to_array()), v(b.origin.to_array()))
    } else {
        format!("orientation {} (prediction) vs {} (truth)", a.orientation_code(), b.orientation_code())
    };
    Err(MetricsError::GridMismatch(reason))
}

/// Compares a predicted label map with the true one, class by class (see the
/// module documentation for the definitions). Fails when they are not on
/// the same grid.
pub fn compare_labels(pred: &LabelMap, truth: &LabelMap) -> Result<LabelComparison, MetricsError> {
    check_same_grid(pred, truth)?;
    let counts = overlap_counts(pred, truth);
    let confusion = pulmonary_confusion(pred, truth);
    let table = ClassTable::default();
    let voxel_ml = truth.voxel_volume_ml();
    let classes = EVALUATED_CLASSES
        .iter()
        .map(|&class| {
            let [p, t, both] = counts[class as usize];
            let dice = if p + t == 0 { 1.0 } else { 2.0 * both as f64 / (p + t) as f64 };
            let (pred_ml, truth_ml) = (p as f64 * voxel_ml, t as f64 * voxel_ml);
            let volume_diff_ml = pred_ml - truth_ml;
            ClassMetrics {
                class,
                name: table.name(class),
                pred_voxels: p,
                truth_voxels: t,
                dice,
                cl_dice: cl_dice(pred, truth, class),
                hd95_mm: hd95_mm(pred, truth, class),
                pred_ml,
                truth_ml,
                volume_diff_ml,
                volume_diff_percent: (t > 0).then(|| 100.0 * (p as f64 - t as f64) / t as f64),
                branch_detection: if class == ARTERY || class == VEIN {
                    branch_detection(pred, truth, class)
                } else {
                    None
                },
                largest_piece_fraction: largest_piece_fraction(pred, class),
                called_other: match class {
                    ARTERY if t > 0 => Some(confusion[0] as f64 / t as f64),
                    VEIN if t > 0 => Some(confusion[1] as f64 / t as f64),
                    _ => None,
                },
            }
        })
        .collect();
    Ok(LabelComparison { classes })
}

/// True artery voxels called vein, true vein voxels called artery.
fn pulmonary_confusion(pred: &LabelMap, truth: &LabelMap) -> [u64; 2] {
    pred.data()
        .par_iter()
        .zip(truth.data().par_iter())
        .with_min_len(1 << 16)
        .map(|(&p, &t)| [(t == ARTERY && p == VEIN) as u64, (t == VEIN && p == ARTERY) as u64])
        .reduce(|| [0, 0], |a, b| [a[0] + b[0], a[1] + b[1]])
}

/// Share of the true `class` tree's branches (≥ 3 centreline voxels) whose
/// centreline lies at least half inside the predicted `class`; `None` when
/// the truth has no such branch.
pub fn branch_detection(pred: &LabelMap, truth: &LabelMap, class: u8) -> Option<f64> {
    let graph = crate::vessel_graph::build_where(truth, |&l| l == class);
    let branches: Vec<_> = graph.branches.iter().filter(|b| b.path.len() >= 3).collect();
    if branches.is_empty() {
        return None;
    }
    let found = branches
        .iter()
        .filter(|b| 2 * b.path.iter().filter(|&&v| pred.data()[v] == class).count() >= b.path.len())
        .count();
    Some(found as f64 / branches.len() as f64)
}

/// Share of the predicted `class` volume in its largest 26-connected piece;
/// `None` when the class is absent.
pub fn largest_piece_fraction(pred: &LabelMap, class: u8) -> Option<f64> {
    let pieces = crate::components::label_where(pred, crate::components::Connectivity::TwentySix, |&l| l == class);
    let total: u64 = pieces.sizes().iter().skip(1).sum();
    (total > 0).then(|| pieces.sizes().iter().skip(1).copied().max().unwrap_or(0) as f64 / total as f64)
}

/// `[pred, truth, both]` voxel counts of every label value (index = label).
fn overlap_counts(pred: &LabelMap, truth: &LabelMap) -> Vec<[u64; 3]> {
    pred.data()
        .par_chunks(1 << 18)
        .zip(truth.data().par_chunks(1 << 18))
        .map(|(p, t)| {
            let mut c = vec![[0u64; 3]; 256];
            for (&a, &b) in p.iter().zip(t) {
                c[a as usize][0] += 1;
                c[b as usize][1] += 1;
                if a == b {
                    c[a as usize][2] += 1;
                }
            }
            c
        })
        .reduce(
            || vec![[0u64; 3]; 256],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    for n in 0..3 {
                        x[n] += y[n];
                    }
                }
                a
            },
        )
}

/// Centreline Dice of `class` (see the module documentation): 1 when the
/// class is in neither map, 0 when it is in only one.
///
/// # Panics
/// When the maps have different dimensions.
pub fn cl_dice(pred: &LabelMap, truth: &LabelMap, class: u8) -> f64 {
    assert_eq!(pred.dims(), truth.dims(), "cl_dice: label maps of different dimensions");
    let skel_p = skeleton_voxels_where(pred, |&l| l == class);
    let skel_t = skeleton_voxels_where(truth, |&l| l == class);
    match (skel_p.is_empty(), skel_t.is_empty()) {
        (true, true) => return 1.0,
        (true, false) | (false, true) => return 0.0,
        _ => {}
    }
    let hits = |skel: &[usize], other: &LabelMap| skel.iter().filter(|&&n| other.data()[n] == class).count() as f64;
    let precision = hits(&skel_p, truth) / skel_p.len() as f64;
    let sensitivity = hits(&skel_t, pred) / skel_t.len() as f64;
    if precision + sensitivity == 0.0 { 0.0 } else { 2.0 * precision * sensitivity / (precision + sensitivity) }
}

/// Symmetric 95th-percentile surface distance of `class` in mm (see the
/// module documentation); `None` when either map lacks the class.
///
/// # Panics
/// When the maps have different dimensions.
pub fn hd95_mm(pred: &LabelMap, truth: &LabelMap, class: u8) -> Option<f64> {
    hausdorff_percentile_mm(pred, truth, |&l| l == class, |&l| l == class, HD_PERCENTILE)
}

/// The symmetric `percentile`-th surface distance (mm) between the voxels
/// of `a` for which `in_a` holds and those of `b` for which `in_b` holds:
/// the larger of the two directed percentiles. `None` when either set is
/// empty. Both volumes must share a grid (the spacing of `b` is used).
///
/// # Panics
/// When the volumes have different dimensions.
pub fn hausdorff_percentile_mm<T, FA, FB>(
    a: &Volume<T>,
    b: &Volume<T>,
    in_a: FA,
    in_b: FB,
    percentile: f64,
) -> Option<f64>
where
    T: Sync,
    FA: Fn(&T) -> bool + Sync,
    FB: Fn(&T) -> bool + Sync,
{
    assert_eq!(a.dims(), b.dims(), "hausdorff_percentile_mm: volumes of different dimensions");
    let box_a = BoundingBox::of(a, &in_a);
    let box_b = BoundingBox::of(b, &in_b);
    if box_a.is_empty() || box_b.is_empty() {
        return None;
    }
    let region = box_a.union(&box_b).padded([1; 3], b.dims());
    let surface_a = surface_in(a, &in_a, &region);
    let surface_b = surface_in(b, &in_b, &region);
    let to_a = distance_to_mask_mm(&surface_a);
    let to_b = distance_to_mask_mm(&surface_b);
    let directed = |from: &Volume<bool>, to: &Volume<f32>| {
        let mut d: Vec<f32> = from.data().iter().zip(to.data()).filter(|(s, _)| **s).map(|(_, &d)| d).collect();
        percentile_of(&mut d, percentile)
    };
    Some(directed(&surface_a, &to_b).max(directed(&surface_b, &to_a)))
}

/// The surface (voxels inside with a face neighbour outside; beyond the
/// volume is outside) of the voxels of `volume` for which `inside` holds,
/// as a mask on the grid of `region`.
fn surface_in<T, F>(volume: &Volume<T>, inside: &F, region: &BoundingBox) -> Volume<bool>
where
    T: Sync,
    F: Fn(&T) -> bool + Sync,
{
    let [rx, ry, rz] = region.dims();
    let dims = volume.dims();
    let data = volume.data();
    let (sx, sy) = (dims[0], dims[0] * dims[1]);
    let mut out = vec![false; rx * ry * rz];
    out.par_chunks_mut(rx * ry).enumerate().for_each(|(c, slice)| {
        let k = region.min[2] + c;
        for (b, row) in slice.chunks_exact_mut(rx).enumerate() {
            let j = region.min[1] + b;
            for (a, s) in row.iter_mut().enumerate() {
                let i = region.min[0] + a;
                let n = volume.index(i, j, k);
                if !inside(&data[n]) {
                    continue;
                }
                *s = i == 0
                    || i + 1 == dims[0]
                    || j == 0
                    || j + 1 == dims[1]
                    || k == 0
                    || k + 1 == dims[2]
                    || !inside(&data[n - 1])
                    || !inside(&data[n + 1])
                    || !inside(&data[n - sx])
                    || !inside(&data[n + sx])
                    || !inside(&data[n - sy])
                    || !inside(&data[n + sy]);
            }
        }
    });
    Volume::from_vec([rx, ry, rz], out, region.geometry_in(&volume.geometry)).expect("dims match the region")
}

/// The `q`-th percentile (0–100) of `values` with linear interpolation
/// between the two nearest ranks (`numpy.percentile`'s default). Reorders
/// `values`; 0 for an empty slice.
fn percentile_of(values: &mut [f32], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let (_, &mut low, rest) = values.select_nth_unstable_by(lo, f32::total_cmp);
    let low = low as f64;
    let frac = pos - lo as f64;
    if frac == 0.0 || rest.is_empty() {
        return low;
    }
    let high = rest.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    low + (high - low) * frac
}

/// The mean of each class's metrics over `cases` (classes in the order of
/// the first case). HD95 and the relative volume difference are averaged
/// over the cases where they are defined.
pub fn mean_per_class(cases: &[LabelComparison]) -> Vec<ClassMean> {
    let Some(first) = cases.first() else { return Vec::new() };
    first
        .classes
        .iter()
        .map(|c| {
            let rows: Vec<&ClassMetrics> =
                cases.iter().filter_map(|case| case.classes.iter().find(|m| m.class == c.class)).collect();
            let n = rows.len() as f64;
            let mean_of =
                |values: Vec<f64>| (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
            let hd: Vec<f64> = rows.iter().filter_map(|m| m.hd95_mm).collect();
            let hd95_cases = hd.len();
            ClassMean {
                class: c.class,
                name: c.name.clone(),
                cases: rows.len(),
                dice: rows.iter().map(|m| m.dice).sum::<f64>() / n,
                cl_dice: rows.iter().map(|m| m.cl_dice).sum::<f64>() / n,
                hd95_mm: mean_of(hd),
                hd95_cases,
                volume_diff_ml: rows.iter().map(|m| m.volume_diff_ml).sum::<f64>() / n,
                volume_diff_percent: mean_of(rows.iter().filter_map(|m| m.volume_diff_percent).collect()),
                branch_detection: mean_of(rows.iter().filter_map(|m| m.branch_detection).collect()),
                largest_piece_fraction: mean_of(rows.iter().filter_map(|m| m.largest_piece_fraction).collect()),
                called_other: mean_of(rows.iter().filter_map(|m| m.called_other).collect()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use glam::DVec3;

    use super::*;
    use crate::geometry::Geometry;

    fn map(dims: [usize; 3], spacing: [f64; 3], label: impl Fn(usize, usize, usize) -> u8) -> LabelMap {
        let g = Geometry::axis_aligned(DVec3::from_array(spacing), DVec3::new(-10.0, 5.0, 2.0));
        let mut m = Volume::filled(dims, 0u8, g);
        for n in 0..m.len() {
            let [i, j, k] = m.coords(n);
            m.data_mut()[n] = label(i, j, k);
        }
        m
    }

    fn class(c: &LabelComparison, id: u8) -> &ClassMetrics {
        c.classes.iter().find(|m| m.class == id).unwrap()
    }

    #[test]
    fn tree_figures_count_branches_pieces_and_confusion() {
        // A Y of artery along k, arms along ±i; the prediction misses one
        // arm, calls part of the trunk vein, and adds a separate piece.
        let in_y = |i: usize, j: usize, k: usize| {
            let (x, y) = (i as i64 - 30, j as i64 - 10);
            let near = |a: i64, b: i64| a.abs() <= 2 && b.abs() <= 2;
            (k < 30 && near(x, y))
                || ((30..=32).contains(&k) && near(0, y) && x.abs() <= 10)
                || (k > 32 && k < 58 && (near(x - 10, y) || near(x + 10, y)))
        };
        let truth = map([60, 20, 60], [1.0, 1.0, 1.0], |i, j, k| if in_y(i, j, k) { ARTERY } else { 0 });
        let pred = map([60, 20, 60], [1.0, 1.0, 1.0], |i, j, k| {
            if in_y(i, j, k) && !(k > 32 && i < 30) {
                if k < 8 { VEIN } else { ARTERY }
            } else if i < 3 && j < 3 && k < 3 {
                ARTERY
            } else {
                0
            }
        });
        let c = compare_labels(&pred, &truth).unwrap();
        let a = class(&c, ARTERY);
        let d = a.branch_detection.unwrap();
        assert!(d > 0.3 && d < 0.9, "one arm of the Y missed: {d}");
        assert_eq!(branch_detection(&truth, &truth, ARTERY), Some(1.0));
        let f = a.largest_piece_fraction.unwrap();
        assert!(f > 0.95 && f < 1.0, "{f}");
        let called = a.called_other.unwrap();
        let expected = (0..8).map(|_| 25.0).sum::<f64>() / a.truth_voxels as f64;
        assert!((called - expected).abs() < 1e-9, "{called} vs {expected}");
        assert_eq!(class(&c, AORTA).branch_detection, None);
        assert_eq!(class(&c, AORTA).called_other, None);
        assert_eq!(class(&c, VEIN).largest_piece_fraction, Some(1.0));
    }

    #[test]
    fn identical_maps_are_perfect() {
        let t = map([20, 18, 16], [0.8, 0.8, 1.5], |i, j, k| {
            if (3..15).contains(&i) && (4..8).contains(&j) && (2..14).contains(&k) {
                1
            } else if (5..9).contains(&i) && (11..15).contains(&j) && (3..12).contains(&k) {
                3
            } else if i == 18 {
                5
            } else {
                0
            }
        });
        let c = compare_labels(&t, &t).unwrap();
        assert_eq!(c.classes.iter().map(|m| m.class).collect::<Vec<_>>(), vec![1, 2, 3]);
        for id in [1, 3] {
            let m = class(&c, id);
            assert_eq!((m.dice, m.cl_dice, m.hd95_mm), (1.0, 1.0, Some(0.0)), "class {id}");
            assert_eq!((m.volume_diff_ml, m.volume_diff_percent), (0.0, Some(0.0)));
        }
        let vein = class(&c, 2);
        assert_eq!((vein.dice, vein.cl_dice, vein.hd95_mm, vein.volume_diff_percent), (1.0, 1.0, None, None));
        assert_eq!(class(&c, 1).name, "artery");
    }

    #[test]
    fn offset_balls_dice_matches_counting() {
        let ball = |c: [f64; 3], r: f64| {
            move |i: usize, j: usize, k: usize| {
                let d = (i as f64 - c[0]).powi(2) + (j as f64 - c[1]).powi(2) + (k as f64 - c[2]).powi(2);
                (d <= r * r) as u8 * 2
            }
        };
        let (a, b) = (ball([12.0, 12.0, 12.0], 7.0), ball([15.0, 13.0, 12.0], 6.0));
        let t = map([26, 26, 26], [1.0, 1.0, 1.0], a);
        let p = map([26, 26, 26], [1.0, 1.0, 1.0], b);
        let (mut np, mut nt, mut both) = (0u64, 0u64, 0u64);
        for (&x, &y) in p.data().iter().zip(t.data()) {
            np += (x == 2) as u64;
            nt += (y == 2) as u64;
            both += (x == 2 && y == 2) as u64;
        }
        let c = compare_labels(&p, &t).unwrap();
        let vein = class(&c, 2);
        assert_eq!((vein.pred_voxels, vein.truth_voxels), (np, nt));
        assert!((vein.dice - 2.0 * both as f64 / (np + nt) as f64).abs() < 1e-12);
        assert!(vein.dice > 0.5 && vein.dice < 0.9);
        assert!((vein.volume_diff_ml - (np as f64 - nt as f64) / 1000.0).abs() < 1e-12);
        let rel = vein.volume_diff_percent.unwrap();
        assert!((rel - 100.0 * (np as f64 - nt as f64) / nt as f64).abs() < 1e-9);
        // clDice from the skeletons by hand.
        let (sp, st) = (skeleton_voxels_where(&p, |&l| l == 2), skeleton_voxels_where(&t, |&l| l == 2));
        let prec = sp.iter().filter(|&&n| t.data()[n] == 2).count() as f64 / sp.len() as f64;
        let sens = st.iter().filter(|&&n| p.data()[n] == 2).count() as f64 / st.len() as f64;
        assert!((vein.cl_dice - 2.0 * prec * sens / (prec + sens)).abs() < 1e-12);
        assert!(vein.cl_dice > 0.5, "{}", vein.cl_dice);
        let hd = vein.hd95_mm.unwrap();
        assert!(hd > 1.0 && hd < 5.0, "{hd}");
    }

    #[test]
    fn cube_shifted_by_two_voxels_has_hd95_of_two_spacings() {
        let spacing = [0.7, 0.9, 1.6];
        for axis in 0..3 {
            let cube = |shift: usize| {
                move |i: usize, j: usize, k: usize| {
                    let mut x = [i, j, k];
                    x[axis] = x[axis].wrapping_sub(shift);
                    x.iter().all(|&v| (4..14).contains(&v)) as u8
                }
            };
            let t = map([20, 20, 20], spacing, cube(0));
            let p = map([20, 20, 20], spacing, cube(2));
            let c = compare_labels(&p, &t).unwrap();
            let hd = class(&c, 1).hd95_mm.unwrap();
            assert!((hd - 2.0 * spacing[axis]).abs() < 1e-5, "axis {axis}: {hd}");
            assert!((class(&c, 1).dice - 0.8).abs() < 1e-12);
        }
    }

    #[test]
    fn hd95_ignores_a_few_far_voxels() {
        let t = map([30, 20, 20], [1.0; 3], |i, j, k| [i, j, k].iter().all(|&v| (2..14).contains(&v)) as u8);
        let mut p = t.clone();
        let far = p.index(28, 10, 10);
        p.data_mut()[far] = 1;
        let hd = hd95_mm(&p, &t, 1).unwrap();
        assert_eq!(hd, 0.0);
        // With the 100th percentile it is the Hausdorff distance.
        let max = hausdorff_percentile_mm(&p, &t, |&l| l == 1, |&l| l == 1, 100.0).unwrap();
        assert!((max - 15.0).abs() < 1e-6, "{max}");
    }

    #[test]
    fn labels_above_the_vessel_classes_are_background() {
        let t = map([10, 10, 10], [1.0; 3], |i, _, _| if i < 5 { 1 } else { 4 });
        let p = map([10, 10, 10], [1.0; 3], |i, _, _| if i < 5 { 1 } else { 5 });
        let c = compare_labels(&p, &t).unwrap();
        assert_eq!(c.classes.len(), 3);
        assert_eq!(class(&c, 1).dice, 1.0);
        assert_eq!(class(&c, 1).hd95_mm, Some(0.0));
        assert_eq!(class(&c, 3).hd95_mm, None);
    }

    #[test]
    fn extra_tube_halves_the_centreline_precision() {
        let tube = |j0: usize| {
            move |i: usize, j: usize, k: usize| {
                ((3..27).contains(&i) && (j0..j0 + 3).contains(&j) && (3..6).contains(&k)) as u8 * 3
            }
        };
        let t = map([30, 20, 9], [1.0; 3], tube(2));
        let p = map([30, 20, 9], [1.0; 3], |i, j, k| tube(2)(i, j, k).max(tube(12)(i, j, k)));
        let c = compare_labels(&p, &t).unwrap();
        let aorta = class(&c, 3);
        assert!((aorta.cl_dice - 2.0 / 3.0).abs() < 1e-12, "{}", aorta.cl_dice);
        assert!((aorta.dice - 2.0 / 3.0).abs() < 1e-12);
        // One empty side: clDice 0, Dice 0, no HD95.
        let empty = map([30, 20, 9], [1.0; 3], |_, _, _| 0);
        let c = compare_labels(&empty, &t).unwrap();
        let aorta = class(&c, 3);
        assert_eq!((aorta.dice, aorta.cl_dice, aorta.hd95_mm), (0.0, 0.0, None));
        assert_eq!(aorta.volume_diff_percent, Some(-100.0));
    }

    #[test]
    fn grid_mismatch_names_the_difference() {
        let a = map([10, 10, 10], [1.0; 3], |_, _, _| 0);
        let b = map([10, 10, 11], [1.0; 3], |_, _, _| 0);
        let e = compare_labels(&a, &b).unwrap_err().to_string();
        assert!(e.contains("dimensions 10 × 10 × 10 (prediction) vs 10 × 10 × 11 (truth)"), "{e}");
        let c = map([10, 10, 10], [1.0, 1.0, 2.0], |_, _, _| 0);
        let e = compare_labels(&a, &c).unwrap_err().to_string();
        assert!(e.contains("spacing"), "{e}");
        let mut d = a.clone();
        d.geometry.origin.x += 1.0;
        assert!(compare_labels(&a, &d).unwrap_err().to_string().contains("origin"));
        let mut r = a.clone();
        r.geometry.direction = glam::DMat3::from_diagonal(DVec3::new(-1.0, 1.0, 1.0));
        assert!(compare_labels(&a, &r).unwrap_err().to_string().contains("orientation"));
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let mut v = vec![4.0f32, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(percentile_of(&mut v, 50.0), 3.0);
        assert!((percentile_of(&mut v, 95.0) - 4.8).abs() < 1e-9);
        assert_eq!(percentile_of(&mut v, 100.0), 5.0);
        assert_eq!(percentile_of(&mut [7.0], 95.0), 7.0);
    }

    #[test]
    fn means_skip_undefined_values() {
        let t = map([10, 10, 10], [1.0; 3], |i, _, _| (i < 5) as u8);
        let p = map([10, 10, 10], [1.0; 3], |i, _, _| (i < 4) as u8);
        let a = compare_labels(&t, &t).unwrap();
        let b = compare_labels(&p, &t).unwrap();
        let m = mean_per_class(&[a, b.clone()]);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].cases, 2);
        assert!((m[0].dice - (1.0 + class(&b, 1).dice) / 2.0).abs() < 1e-12);
        assert_eq!(m[0].hd95_cases, 2);
        assert!((m[0].volume_diff_percent.unwrap() - (-10.0)).abs() < 1e-9);
        assert_eq!((m[1].hd95_mm, m[1].hd95_cases, m[1].volume_diff_percent), (None, 0, None));
        assert!(mean_per_class(&[]).is_empty());
    }
}
