//! Self-check: figures that tell an implausible extraction from a plausible
//! one without any reference labels, and the warnings a surgeon sees.
//!
//! - vessel voxels over bone: on a plain scan blood is 30–55 HU, so a vessel
//!   label on voxels above 300 HU is on bone (or calcium);
//! - vessel voxels outside the thorax: outside the convex hull of the lungs
//!   in their axial slice (the mediastinum lies inside it, the back muscles
//!   and the chest wall do not);
//! - the aorta's volume against what the field of view can hold;
//! - a class broken into many pieces (a vessel tree is one piece);
//! - a round piece apart from its class's tree: a nodule, a mass or a lymph
//!   node called a vessel (a vessel's piece is a tube), which matters most to
//!   a plan near a lesion.

use rayon::prelude::*;
use serde::Serialize;
use vasa_scan::components::{Components, Connectivity, label_where};
use vasa_scan::labels::{AORTA, ARTERY, VEIN};
use vasa_scan::masks::{self, BodyMaskOptions, LungMaskOptions, Mask};
use vasa_scan::{ClassTable, LabelMap, Volume};

/// HU above which a voxel counts as bone on a plain scan.
pub const BONE_HU: i16 = 300;
/// Mean HU of the labelled vessels above which the scan counts as
/// contrast-enhanced (then the over-bone check is not meaningful).
pub const ENHANCED_VESSEL_HU: f64 = 150.0;
/// Pieces smaller than this (mL) are not counted.
pub const MIN_PIECE_ML: f64 = 0.05;
/// Warn above this share of vessel voxels over bone (plain scans).
pub const MAX_OVER_BONE: f64 = 0.02;
/// Warn above this share of vessel voxels outside the lungs' hull.
pub const MAX_OUTSIDE_HULL: f64 = 0.05;
/// Warn when the artery or vein class has more pieces than this.
pub const MAX_TREE_PIECES: u32 = 25;
/// Warn when the aorta has more pieces than this.
pub const MAX_AORTA_PIECES: u32 = 3;
/// Aorta volume per mm of thorax covered (mL/mm): the descending aorta
/// alone (≥ 20 mm across) holds at least about this much.
pub const AORTA_ML_PER_MM: (f64, f64) = (0.2, 1.6);
/// A whole chest's aorta never exceeds this (mL).
pub const AORTA_MAX_ML: f64 = 350.0;
/// Smallest piece (mL) judged by its shape: 0.5 mL is a ball 10 mm across.
pub const ROUND_MIN_ML: f64 = 0.5;
/// A piece whose principal spreads differ by less than this ratio (square
/// root of the largest over the smallest variance) is round, not a tube: a
/// vessel piece as long as twice its width already reaches about 1.2, one
/// three times its width 1.7.
pub const ROUND_MAX_ELONGATION: f64 = 1.5;
/// At most this many round pieces are reported, largest first.
pub const ROUND_MAX_REPORTED: usize = 3;

/// The figures of one extraction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plausibility {
    /// Whether the labelled vessels are contrast-enhanced.
    pub enhanced: bool,
    /// Mean HU under the vessel labels.
    pub vessel_mean_hu: f64,
    /// Share of vessel voxels above [`BONE_HU`].
    pub over_bone: f64,
    /// Share of vessel voxels outside the per-slice convex hull of the lungs.
    pub outside_lung_hull: f64,
    /// Axial extent (mm) of the lungs in the scan.
    pub lung_extent_mm: f64,
    /// Aorta volume (mL).
    pub aorta_ml: f64,
    /// The aorta volume the field of view allows (mL).
    pub aorta_range_ml: (f64, f64),
    /// Pieces of at least [`MIN_PIECE_ML`] of artery, vein and aorta.
    pub pieces: [u32; 3],
    /// Round pieces apart from their class's largest piece, largest first
    /// (see [`round_pieces`]).
    pub round_pieces: Vec<RoundPiece>,
}

/// A labelled piece shaped like a ball rather than a vessel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundPiece {
    /// Class name.
    pub class: String,
    /// Its volume (mL).
    pub ml: f64,
    /// Its centre (patient LPS, mm), to go and look.
    pub at_mm: [f64; 3],
    /// Square root of its largest over its smallest principal variance.
    pub elongation: f64,
}

/// One reason to distrust a result, for the legend and the command line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// The aorta is too small or too large for the scanned region.
    AortaVolume {
        /// Its volume (mL).
        ml: f64,
        /// What the field of view allows (mL).
        range: (f64, f64),
    },
    /// Vessel labels lie on bone on a plain scan.
    OverBone {
        /// Share of vessel voxels.
        share: f64,
    },
    /// Vessel labels lie outside the thorax.
    OutsideThorax {
        /// Share of vessel voxels.
        share: f64,
    },
    /// A class is broken into many pieces.
    ManyPieces {
        /// Class name.
        class: String,
        /// Pieces of at least [`MIN_PIECE_ML`].
        pieces: u32,
    },
    /// A round piece apart from its class's tree: perhaps not a vessel (a
    /// nodule, a lymph node), or a stump of a vessel of the other class.
    RoundPiece {
        /// The piece.
        #[serde(flatten)]
        piece: RoundPiece,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::AortaVolume { ml, range } => write!(
                f,
                "aorta {ml:.0} mL is outside the {:.0}–{:.0} mL this field of view can hold",
                range.0, range.1
            ),
            Warning::OverBone { share } => {
                write!(f, "{:.1} % of vessel labels lie on bone (> {BONE_HU} HU) on a plain scan", share * 100.0)
            }
            Warning::OutsideThorax { share } => {
                write!(f, "{:.1} % of vessel labels lie outside the thorax (the lungs' outline)", share * 100.0)
            }
            Warning::ManyPieces { class, pieces } => {
                write!(f, "{class} is in {pieces} pieces (a vessel tree is one)")
            }
            Warning::RoundPiece { piece } => write!(
                f,
                "a round piece labelled {} ({:.1} mL at LPS {:.0}, {:.0}, {:.0} mm) lies apart from its tree: check it (a \
                 nodule or lymph node, or part of another vessel?)",
                piece.class, piece.ml, piece.at_mm[0], piece.at_mm[1], piece.at_mm[2]
            ),
        }
    }
}

/// Checks `labels` (1 artery, 2 vein, 3 aorta) against the scan `ct`.
pub fn check(ct: &Volume<i16>, labels: &LabelMap) -> (Plausibility, Vec<Warning>) {
    let body = masks::body_mask(ct, &BodyMaskOptions::default());
    let lungs = masks::lung_mask(ct, &body, &LungMaskOptions::default());
    drop(body);
    check_with_lungs(ct, labels, &lungs)
}

/// [`check`] with the lung mask already at hand.
pub fn check_with_lungs(ct: &Volume<i16>, labels: &LabelMap, lungs: &Mask) -> (Plausibility, Vec<Warning>) {
    let is_vessel = |l: u8| l == ARTERY || l == VEIN || l == AORTA;
    let (count, sum, bone) = ct
        .data()
        .par_iter()
        .zip(labels.data().par_iter())
        .filter(|(_, l)| is_vessel(**l))
        .map(|(&h, _)| (1u64, h as f64, u64::from(h > BONE_HU)))
        .reduce(|| (0, 0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let vessel_mean_hu = if count > 0 { sum / count as f64 } else { 0.0 };
    let enhanced = vessel_mean_hu > ENHANCED_VESSEL_HU;
    let share = |n: u64| if count > 0 { n as f64 / count as f64 } else { 0.0 };

    let axis = masks::axial_axis(&ct.geometry);
    let hull = per_slice_hull(lungs, axis);
    let outside =
        labels.data().par_iter().zip(hull.data().par_iter()).filter(|(l, h)| is_vessel(**l) && !**h).count() as u64;
    let slices_with_lung = slices_holding(lungs, axis).iter().filter(|&&h| h).count();
    let lung_extent_mm = slices_with_lung as f64 * ct.geometry.spacing[axis];

    let ml = labels.voxel_volume_ml();
    let aorta_ml = labels.data().par_iter().filter(|&&l| l == AORTA).count() as f64 * ml;
    let aorta_range_ml =
        (AORTA_ML_PER_MM.0 * lung_extent_mm, (AORTA_ML_PER_MM.1 * lung_extent_mm + 20.0).min(AORTA_MAX_ML));
    let min_voxels = (MIN_PIECE_ML / ml).ceil() as u64;
    let mut round = Vec::new();
    let ends = end_slices(labels, axis);
    let pieces = [ARTERY, VEIN, AORTA].map(|c| {
        let comp = label_where(labels, Connectivity::TwentySix, |&l| l == c);
        round.extend(round_pieces(&comp, &ends, &ClassTable::default().name(c)));
        comp.sizes()[1..].iter().filter(|&&s| s >= min_voxels).count() as u32
    });
    round.sort_by(|a, b| b.ml.total_cmp(&a.ml));
    round.truncate(ROUND_MAX_REPORTED);
    let p = Plausibility {
        enhanced,
        vessel_mean_hu,
        over_bone: share(bone),
        outside_lung_hull: share(outside),
        lung_extent_mm,
        aorta_ml,
        aorta_range_ml,
        pieces,
        round_pieces: round,
    };
    let warnings = warnings(&p, count > 0);
    (p, warnings)
}

/// The warnings the figures call for.
pub fn warnings(p: &Plausibility, any_vessel: bool) -> Vec<Warning> {
    let mut w = Vec::new();
    if !any_vessel {
        return w;
    }
    if p.lung_extent_mm > 0.0 && !(p.aorta_range_ml.0..=p.aorta_range_ml.1).contains(&p.aorta_ml) {
        w.push(Warning::AortaVolume { ml: p.aorta_ml, range: p.aorta_range_ml });
    }
    if !p.enhanced && p.over_bone > MAX_OVER_BONE {
        w.push(Warning::OverBone { share: p.over_bone });
    }
    if p.lung_extent_mm > 0.0 && p.outside_lung_hull > MAX_OUTSIDE_HULL {
        w.push(Warning::OutsideThorax { share: p.outside_lung_hull });
    }
    for piece in &p.round_pieces {
        w.push(Warning::RoundPiece { piece: piece.clone() });
    }
    for (i, (name, most)) in
        [("artery", MAX_TREE_PIECES), ("vein", MAX_TREE_PIECES), ("aorta", MAX_AORTA_PIECES)].into_iter().enumerate()
    {
        if p.pieces[i] > most {
            w.push(Warning::ManyPieces { class: name.into(), pieces: p.pieces[i] });
        }
    }
    w
}

/// The round pieces of one class (`comp`: its 26-connected pieces): every
/// piece but the largest, of at least [`ROUND_MIN_ML`], whose elongation is
/// under [`ROUND_MAX_ELONGATION`], and which has no voxel in `ends` (the first
/// and last slices across the axial axis, [`end_slices`]: a piece cut by the field of view has lost its shape:
/// an aorta in a 40 mm slab is as wide as it is long).
pub fn round_pieces(comp: &Components, ends: &Mask, class: &str) -> Vec<RoundPiece> {
    let largest = comp.largest();
    let ml = comp.geometry().spacing.element_product() / 1000.0;
    let min_voxels = (ROUND_MIN_ML / ml).ceil() as u64;
    let candidates: Vec<u32> =
        (1..=comp.count() as u32).filter(|&id| Some(id) != largest && comp.size(id) >= min_voxels).collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let at_ends = comp.count_where(ends);
    let shapes = comp.shapes();
    candidates
        .into_iter()
        .filter(|&id| at_ends[id as usize] == 0)
        .filter_map(|id| {
            let s = shapes[id as usize];
            let elongation = s.elongation();
            (elongation < ROUND_MAX_ELONGATION).then(|| RoundPiece {
                class: class.to_string(),
                ml: comp.size(id) as f64 * ml,
                at_mm: s.centre_mm.to_array().map(|v| (v * 10.0).round() / 10.0),
                elongation,
            })
        })
        .collect()
}

/// The voxels of the first and last slice across `axis` of `volume`'s grid.
pub fn end_slices<T>(volume: &Volume<T>, axis: usize) -> Mask {
    let n = volume.dims()[axis];
    slices_where(volume, axis, |s| s == 0 || s + 1 == n)
}

/// The voxels of `volume`'s grid whose slice `s` across `axis` satisfies
/// `keep(s)`.
pub fn slices_where<T>(volume: &Volume<T>, axis: usize, keep: impl Fn(usize) -> bool + Sync) -> Mask {
    let dims = volume.dims();
    let data = (0..dims.iter().product::<usize>())
        .into_par_iter()
        .map(|n| keep([n % dims[0], (n / dims[0]) % dims[1], n / (dims[0] * dims[1])][axis]))
        .collect();
    Volume::from_vec(dims, data, volume.geometry).expect("dims match")
}

/// For every slice across `axis`, whether it holds any voxel of `mask`.
pub fn slices_holding(mask: &Mask, axis: usize) -> Vec<bool> {
    let dims = mask.dims();
    let (a, b) = other_axes(axis);
    (0..dims[axis])
        .into_par_iter()
        .map(|s| (0..dims[b]).any(|v| (0..dims[a]).any(|u| mask.data()[index(dims, axis, s, u, v)])))
        .collect()
}

/// The two in-slice axes (fastest first) of slices across `axis`.
fn other_axes(axis: usize) -> (usize, usize) {
    match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    }
}

/// Linear index of voxel (slice `s` along `axis`, in-slice `u`, `v`).
#[inline]
fn index(dims: [usize; 3], axis: usize, s: usize, u: usize, v: usize) -> usize {
    let (a, b) = other_axes(axis);
    let mut c = [0usize; 3];
    c[axis] = s;
    c[a] = u;
    c[b] = v;
    c[0] + dims[0] * (c[1] + dims[1] * c[2])
}

/// For every slice across `axis`, the convex hull of that slice's mask
/// voxels (voxel centres), filled.
pub fn per_slice_hull(mask: &Mask, axis: usize) -> Mask {
    let dims = mask.dims();
    let (a, b) = other_axes(axis);
    let slices: Vec<Vec<(usize, usize, usize)>> = (0..dims[axis])
        .into_par_iter()
        .map(|s| {
            // Per row v: the leftmost and rightmost mask voxel: enough for the hull.
            let mut pts: Vec<(i64, i64)> = Vec::new();
            for v in 0..dims[b] {
                let row: Vec<usize> = (0..dims[a]).filter(|&u| mask.data()[index(dims, axis, s, u, v)]).collect();
                if let (Some(&lo), Some(&hi)) = (row.first(), row.last()) {
                    pts.push((lo as i64, v as i64));
                    if hi != lo {
                        pts.push((hi as i64, v as i64));
                    }
                }
            }
            let hull = convex_hull(pts);
            // Fill: per row, the span of the hull polygon.
            let mut spans = Vec::new();
            if hull.is_empty() {
                return spans;
            }
            let vmin = hull.iter().map(|p| p.1).min().unwrap_or(0);
            let vmax = hull.iter().map(|p| p.1).max().unwrap_or(-1);
            for v in vmin..=vmax {
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                let n = hull.len();
                for e in 0..n {
                    let (p, q) = (hull[e], hull[(e + 1) % n]);
                    let (y0, y1) = (p.1.min(q.1), p.1.max(q.1));
                    if v < y0 || v > y1 {
                        continue;
                    }
                    if p.1 == q.1 {
                        lo = lo.min(p.0.min(q.0) as f64);
                        hi = hi.max(p.0.max(q.0) as f64);
                    } else {
                        let t = (v - p.1) as f64 / (q.1 - p.1) as f64;
                        let x = p.0 as f64 + t * (q.0 - p.0) as f64;
                        lo = lo.min(x);
                        hi = hi.max(x);
                    }
                }
                if lo <= hi {
                    let u0 = (lo - 1e-9).ceil().max(0.0) as usize;
                    let u1 = ((hi + 1e-9).floor() as usize).min(dims[a] - 1);
                    if u0 <= u1 {
                        spans.push((v as usize, u0, u1));
                    }
                }
            }
            spans
        })
        .collect();
    let mut out = Volume::filled(dims, false, mask.geometry);
    for (s, spans) in slices.into_iter().enumerate() {
        for (v, u0, u1) in spans {
            for u in u0..=u1 {
                let i = index(dims, axis, s, u, v);
                out.data_mut()[i] = true;
            }
        }
    }
    out
}

/// Convex hull (Andrew's monotone chain), counter-clockwise, without
/// collinear points; a single point or a segment for degenerate input.
fn convex_hull(mut pts: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    pts.sort_unstable();
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut hull: Vec<(i64, i64)> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(i64, i64)>> =
            if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;
    use vasa_scan::Geometry;

    #[test]
    fn hull_of_two_blobs_fills_between_them() {
        let g = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
        let mut m = Volume::filled([20, 10, 2], false, g);
        for j in 2..8 {
            for i in [2usize, 3, 16, 17] {
                let at = m.index(i, j, 0);
                m.data_mut()[at] = true;
            }
        }
        let h = per_slice_hull(&m, 2);
        assert!(*h.get(10, 5, 0).unwrap(), "between the blobs");
        assert!(!*h.get(10, 9, 0).unwrap(), "below them");
        assert!(!*h.get(1, 5, 0).unwrap(), "outside the left one");
        assert!(!h.data()[400..].iter().any(|&v| v), "an empty slice stays empty");
    }

    #[test]
    fn convex_hull_drops_inner_and_collinear_points() {
        let h = convex_hull(vec![(0, 0), (4, 0), (2, 0), (4, 4), (0, 4), (2, 2)]);
        assert_eq!(h.len(), 4, "{h:?}");
    }

    fn figures(aorta_ml: f64, enhanced: bool, over_bone: f64, outside: f64, pieces: [u32; 3]) -> Plausibility {
        Plausibility {
            enhanced,
            vessel_mean_hu: if enhanced { 300.0 } else { 40.0 },
            over_bone,
            outside_lung_hull: outside,
            lung_extent_mm: 280.0,
            aorta_ml,
            aorta_range_ml: (56.0, 350.0),
            pieces,
            round_pieces: Vec::new(),
        }
    }

    #[test]
    fn each_warning_fires_on_its_own_figure() {
        assert!(warnings(&figures(150.0, false, 0.01, 0.02, [10, 12, 1]), true).is_empty());
        let w = warnings(&figures(611.0, false, 0.01, 0.02, [10, 12, 1]), true);
        assert!(matches!(w.as_slice(), [Warning::AortaVolume { .. }]), "{w:?}");
        let w = warnings(&figures(150.0, false, 0.06, 0.02, [10, 12, 1]), true);
        assert!(matches!(w.as_slice(), [Warning::OverBone { .. }]), "{w:?}");
        // On a contrast scan bright vessels are not bone.
        assert!(warnings(&figures(150.0, true, 0.6, 0.02, [10, 12, 1]), true).is_empty());
        let w = warnings(&figures(150.0, false, 0.01, 0.3, [10, 12, 1]), true);
        assert!(matches!(w.as_slice(), [Warning::OutsideThorax { .. }]), "{w:?}");
        let w = warnings(&figures(150.0, false, 0.01, 0.02, [123, 12, 1]), true);
        assert!(matches!(w.as_slice(), [Warning::ManyPieces { pieces: 123, .. }]), "{w:?}");
        assert!(w[0].to_string().contains("artery is in 123 pieces"));
        assert!(warnings(&figures(0.0, false, 0.0, 0.0, [0, 0, 0]), false).is_empty());
    }

    #[test]
    fn a_round_island_is_reported_and_tubes_and_cut_pieces_are_not() {
        // 1 mm voxels, 100 × 60 × 40. Artery: a long tube (the tree), a ball
        // of radius 6 mm apart from it, a short tube island of 0.6 mL, and a
        // ball cut by the last slice.
        let g = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
        let mut l = Volume::filled([100, 60, 40], 0u8, g);
        for k in 0..40 {
            for j in 0..60 {
                for i in 0..100 {
                    let p = DVec3::new(i as f64, j as f64, k as f64);
                    let tree = DVec3::new(0.0, p.y - 10.0, p.z - 20.0).length() <= 4.0;
                    let ball = p.distance(DVec3::new(30.0, 40.0, 20.0)) <= 6.0;
                    let tube = DVec3::new(0.0, p.y - 40.0, p.z - 20.0).length() <= 2.0 && (60..108).contains(&(i + 8));
                    let cut = p.distance(DVec3::new(80.0, 45.0, 39.0)) <= 7.0;
                    if tree || ball || tube || cut {
                        let at = l.index(i, j, k);
                        l.data_mut()[at] = ARTERY;
                    }
                }
            }
        }
        let comp = label_where(&l, Connectivity::TwentySix, |&v| v == ARTERY);
        assert_eq!(comp.count(), 4);
        let round = round_pieces(&comp, &end_slices(&l, 2), "artery");
        assert_eq!(round.len(), 1, "{round:?}");
        let r = &round[0];
        assert!((r.ml - 0.905).abs() < 0.05, "{r:?}");
        assert!(DVec3::from_array(r.at_mm).distance(DVec3::new(30.0, 40.0, 20.0)) < 0.2, "{r:?}");
        let mut p = figures(150.0, false, 0.01, 0.02, [10, 12, 1]);
        p.round_pieces = round;
        let w = warnings(&p, true);
        assert!(matches!(w.as_slice(), [Warning::RoundPiece { .. }]), "{w:?}");
        assert!(w[0].to_string().contains("round piece labelled artery (0.9 mL at LPS 30, 40, 20 mm)"), "{}", w[0]);
    }
}
