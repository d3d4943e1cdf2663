//! Body and lung masks from a CT, and the binary morphology they need.
//!
//! The lung mask is Vasa's region of interest: training crops to it and the
//! S204 vessel voxel set is restricted to it, so it must hold the vessels
//! inside the lungs (which are soft tissue, not air), not just the aerated
//! parenchyma. The body mask keeps the table and the air around the patient
//! out of everything.
//!
//! Masks are `Volume<bool>` ([`Mask`]) on the grid of the CT they came from.
//! Thresholds and sizes are documented constants gathered in option structs
//! with `Default`s.

use glam::DVec3;
use rayon::prelude::*;

use crate::components::{self, Connectivity};
use crate::crop::{BoundingBox, crop, paste};
use crate::geometry::Geometry;
use crate::volume::Volume;

/// A binary mask on the grid of a scan.
pub type Mask = Volume<bool>;

/// Voxels above this (HU) are body candidates: everything but air and lung.
pub const BODY_THRESHOLD_HU: i16 = -500;
/// Half-thickness (mm, along the patient's front–back axis) of the opening
/// that detaches the table from the body: plates thinner than about twice
/// this are cut off before the largest component is taken.
pub const BODY_TABLE_OPENING_MM: f64 = 5.0;
/// Voxels inside the body below this (HU) are air-like: lung, airway, gas.
pub const LUNG_AIR_THRESHOLD_HU: i16 = -400;
/// Air-like components smaller than this (mL) are dropped: bowel gas,
/// oesophageal air, noise. Each lung is well above a litre.
pub const LUNG_MIN_COMPONENT_ML: f64 = 50.0;
/// Radius (mm) of the closing that seals vessels touching the lung border.
pub const LUNG_CLOSING_MM: f64 = 2.0;
/// Air-like components whose median is below this (HU) are gas (bowel,
/// stomach, pneumothorax), not lung: parenchyma sits at −900 to −700 HU even
/// in emphysema, while gas pockets are −1000 HU up to their rims.
pub const LUNG_GAS_MEDIAN_HU: i16 = -950;
/// Largest in-slice hole (mm²) filled in the lung mask: vessels, nodules and
/// small masses are filled, the mediastinum (if closing ever encircles it
/// between two touching lungs) is not.
pub const LUNG_MAX_HOLE_MM2: f64 = 2000.0;
/// Largest cross-section (mm²) of an airway that trachea tracking removes;
/// the adult trachea is 15–22 mm wide (≤ 400 mm²).
pub const TRACHEA_MAX_AREA_MM2: f64 = 600.0;
/// How far (mm, left–right) from the body's centre the trachea may lie in
/// the most superior slice of the lung mask.
pub const TRACHEA_MIDLINE_TOLERANCE_MM: f64 = 30.0;

/// Settings of [`body_mask`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyMaskOptions {
    /// Voxels above this (HU) are body candidates.
    pub threshold_hu: i16,
    /// Half-thickness (mm) of the front–back opening that detaches the
    /// table (0 = none).
    pub table_opening_mm: f64,
}

impl Default for BodyMaskOptions {
    fn default() -> Self {
        BodyMaskOptions { threshold_hu: BODY_THRESHOLD_HU, table_opening_mm: BODY_TABLE_OPENING_MM }
    }
}

/// Settings of [`lung_mask`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LungMaskOptions {
    /// Voxels below this (HU) inside the body are air-like.
    pub air_threshold_hu: i16,
    /// Smallest air-like component (mL) kept as lung.
    pub min_component_ml: f64,
    /// Components whose median HU is below this are gas and dropped
    /// (`None` keeps them).
    pub gas_median_hu: Option<i16>,
    /// Radius (mm) of the closing applied before hole filling (0 = none).
    pub closing_mm: f64,
    /// Largest hole (mm² within an axial slice) filled.
    pub max_hole_mm2: f64,
    /// Remove the trachea (and the start of the main bronchi) by tracking
    /// it down from the top of the mask; only for scans whose slices are
    /// axial in memory (voxel axis k closest to head–feet).
    pub exclude_trachea: bool,
    /// Largest airway cross-section (mm²) the tracking follows.
    pub trachea_max_area_mm2: f64,
    /// Left–right distance (mm) from the body's centre within which the
    /// tracking looks for the trachea.
    pub trachea_midline_tolerance_mm: f64,
}

impl Default for LungMaskOptions {
    fn default() -> Self {
        LungMaskOptions {
            air_threshold_hu: LUNG_AIR_THRESHOLD_HU,
            min_component_ml: LUNG_MIN_COMPONENT_ML,
            gas_median_hu: Some(LUNG_GAS_MEDIAN_HU),
            closing_mm: LUNG_CLOSING_MM,
            max_hole_mm2: LUNG_MAX_HOLE_MM2,
            exclude_trachea: true,
            trachea_max_area_mm2: TRACHEA_MAX_AREA_MM2,
            trachea_midline_tolerance_mm: TRACHEA_MIDLINE_TOLERANCE_MM,
        }
    }
}

/// The patient's body: voxels above the threshold, largest 26-connected
/// component (drops the table, blankets, noise), with every hole filled.
///
/// A table that touches the patient's back would join the largest
/// component, and the air inside or under it would become "body". So the
/// component is taken after an erosion along the front–back voxel axis (by
/// `table_opening_mm`), which cuts thin plates loose, and dilated back by the
/// same amount within the threshold mask. Being one-dimensional, the opening
/// costs two passes and only trims body parts thinner than the plate.
///
/// Holes are filled per slice along the voxel axis closest to head–feet
/// ([`axial_axis`]), so the lungs and the airways count as body even though
/// they reach the outside through the trachea. Per-slice filling also fills
/// every 3-D cavity (a 3-D hole's cross-section is a hole in its slice), so
/// no separate 3-D pass is needed.
pub fn body_mask(ct: &Volume<i16>, options: &BodyMaskOptions) -> Mask {
    let threshold = options.threshold_hu;
    let g = &ct.geometry;
    let ap = patient_axis(g, 1);
    let r = (options.table_opening_mm.max(0.0) / g.spacing[ap]).round() as usize;
    let dims = ct.dims();
    let mut body = if r == 0 {
        let comps = components::label_where(ct, Connectivity::TwentySix, |&hu| hu > threshold);
        let Some(largest) = comps.largest() else { return ct.map(|_| false) };
        comps.mask_of(largest)
    } else {
        // Two full-size buffers: the candidates (which become the body) and
        // the eroded candidates (which become the largest component).
        let mut body = threshold_mask(ct, |hu| hu > threshold);
        let mut eroded = vec![false; ct.len()];
        window_apply(body.data(), &mut eroded, dims, ap, r, false, Apply::Set);
        let comps = components::label_by_index(dims, *g, Connectivity::TwentySix, |i| eroded[i] as u8);
        let Some(largest) = comps.largest() else { return ct.map(|_| false) };
        eroded.fill(false);
        comps.paint_into(&mut eroded, |id| (id == largest).then_some(true));
        drop(comps);
        // body = candidates ∧ dilate(largest eroded component)
        window_apply(&eroded, body.data_mut(), dims, ap, r, true, Apply::And);
        body
    };
    fill_holes_per_slice_in_place(&mut body, axial_axis(g), usize::MAX);
    body
}

/// The lungs: air-like voxels inside `body` (from [`body_mask`]), in
/// 26-connected components of at least `min_component_ml` whose median HU is
/// not gas-like (`gas_median_hu`: drops stomach and bowel gas), without the
/// trachea (see [`LungMaskOptions::exclude_trachea`]), closed with a small
/// box and with in-slice holes filled so that the vessels inside
/// the lungs belong to the mask. Air outside the body never enters it, and
/// small gas pockets (bowel, oesophagus) are dropped by size.
///
/// # Panics
/// When `body` is not on the grid of `ct`.
pub fn lung_mask(ct: &Volume<i16>, body: &Mask, options: &LungMaskOptions) -> Mask {
    assert_eq!(ct.dims(), body.dims(), "lung_mask: body mask is not on the grid of the CT");
    let threshold = options.air_threshold_hu;
    let min_voxels = (options.min_component_ml / ct.voxel_volume_ml()).ceil().max(1.0) as u64;
    let (inside, hu) = (body.data(), ct.data());
    let comps = components::label_by_index(ct.dims(), ct.geometry, Connectivity::TwentySix, |i| {
        (inside[i] && hu[i] < threshold) as u8
    });
    let mut keep: Vec<bool> = comps.sizes().iter().enumerate().map(|(id, &n)| id > 0 && n >= min_voxels).collect();
    if let Some(gas) = options.gas_median_hu {
        let median = component_medians(&comps, ct, threshold, &keep);
        for (k, m) in keep.iter_mut().zip(median) {
            *k = *k && m.is_some_and(|m| m >= gas);
        }
    }
    let mut lung = comps.mask(|id, _| keep[id as usize]);
    drop(comps);

    let axis = axial_axis(&ct.geometry);
    if options.exclude_trachea && axis == 2 {
        remove_trachea(&mut lung, body, options);
    }

    // Close and fill inside the lungs' box only (plus room for the closing).
    let radius = radius_in_voxels(options.closing_mm, &ct.geometry);
    let margin = radius.map(|r| r + 1);
    let bbox = BoundingBox::of_mask(&lung).padded(margin, lung.dims());
    if bbox.is_empty() {
        return lung;
    }
    let mut part = close(&crop(&lung, &bbox), radius);
    let spacing = ct.geometry.spacing;
    let pixel_mm2 = spacing.element_product() / spacing[axis];
    let max_hole = (options.max_hole_mm2 / pixel_mm2).floor().max(0.0) as usize;
    fill_holes_per_slice_in_place(&mut part, axis, max_hole);
    let body_part = crop(body, &bbox);
    part.data_mut().par_iter_mut().zip(body_part.data().par_iter()).for_each(|(l, &b)| *l = *l && b);
    // The mask is empty outside the box: writing the box back is enough.
    paste(&mut lung, &part, bbox.min);
    lung
}

/// `keep(hu)` of every voxel, written slice by slice into a fresh buffer.
fn threshold_mask(ct: &Volume<i16>, keep: impl Fn(i16) -> bool + Sync) -> Mask {
    let mut out = vec![false; ct.len()];
    let chunk = (ct.dims()[0] * ct.dims()[1]).max(1);
    out.par_chunks_mut(chunk).zip(ct.data().par_chunks(chunk)).for_each(|(o, c)| {
        o.iter_mut().zip(c).for_each(|(o, &hu)| *o = keep(hu));
    });
    Volume::from_vec(ct.dims(), out, ct.geometry).expect("same dims")
}

/// The median HU of every component marked in `of` (others `None`), from a
/// histogram of the HU range below `below` (air-like components only).
fn component_medians(comps: &components::Components, ct: &Volume<i16>, below: i16, of: &[bool]) -> Vec<Option<i16>> {
    const LOWEST: i32 = -1024;
    let bins = (below as i32 - LOWEST).max(1) as usize;
    let mut slot = vec![usize::MAX; of.len()];
    let mut hist: Vec<Vec<u32>> = Vec::new();
    for (id, _) in of.iter().enumerate().filter(|(_, k)| **k) {
        slot[id] = hist.len();
        hist.push(vec![0; bins]);
    }
    let [nx, ny, _] = ct.dims();
    let data = ct.data();
    comps.for_each_run(|id, start, end, j, k| {
        let s = slot[id as usize];
        if s != usize::MAX {
            let row = nx * (j + ny * k);
            for &hu in &data[row + start..row + end] {
                hist[s][((hu as i32 - LOWEST).max(0) as usize).min(bins - 1)] += 1;
            }
        }
    });
    (0..of.len())
        .map(|id| {
            let h = hist.get(slot[id])?;
            let half = h.iter().map(|&n| n as u64).sum::<u64>().div_ceil(2);
            let mut seen = 0u64;
            h.iter()
                .position(|&n| {
                    seen += n as u64;
                    seen >= half
                })
                .map(|b| (b as i32 + LOWEST) as i16)
        })
        .collect()
}

/// The voxel axis (0, 1 or 2) closest to the patient's head–feet axis: the
/// axis along which "axial slices" are stacked (2 for an ordinary axial
/// series).
pub fn axial_axis(geometry: &Geometry) -> usize {
    patient_axis(geometry, 2)
}

/// The voxel axis closest to patient axis `p` (0 left–right, 1 front–back,
/// 2 head–feet); ties go to the later voxel axis.
fn patient_axis(geometry: &Geometry, p: usize) -> usize {
    let c = |a: usize| geometry.direction.col(a)[p].abs();
    if c(2) >= c(0) && c(2) >= c(1) {
        2
    } else if c(1) >= c(0) {
        1
    } else {
        0
    }
}

/// `mm` as a voxel radius along each axis (rounded; 0 means no extent).
pub fn radius_in_voxels(mm: f64, geometry: &Geometry) -> [usize; 3] {
    let r = (DVec3::splat(mm.max(0.0)) / geometry.spacing).round();
    [r.x as usize, r.y as usize, r.z as usize]
}

/// The mask with every 3-D hole filled: background regions (6-connected,
/// the dual of 26-connected foreground) that do not reach the volume border.
pub fn fill_holes(mask: &Mask) -> Mask {
    let [nx, ny, nz] = mask.dims();
    let background = components::label_where(mask, Connectivity::Six, |&b| !b);
    let mut outside = vec![false; background.count() + 1];
    background.for_each_run(|id, start, end, j, k| {
        if start == 0 || end == nx || j == 0 || j + 1 == ny || k == 0 || k + 1 == nz {
            outside[id as usize] = true;
        }
    });
    let mut filled = mask.clone();
    background.paint_into(filled.data_mut(), |id| (!outside[id as usize]).then_some(true));
    filled
}

/// The mask with the holes of every slice across `axis` filled: background
/// regions (4-connected in the slice) that do not reach the slice border.
///
/// # Panics
/// When `axis > 2`.
pub fn fill_holes_per_slice(mask: &Mask, axis: usize) -> Mask {
    let mut out = mask.clone();
    fill_holes_per_slice_in_place(&mut out, axis, usize::MAX);
    out
}

/// Per-slice hole filling in place; holes of more than `max_hole` pixels are
/// left open.
fn fill_holes_per_slice_in_place(mask: &mut Mask, axis: usize, max_hole: usize) {
    assert!(axis < 3, "axis {axis} is not 0, 1 or 2");
    let dims = mask.dims();
    if dims.contains(&0) {
        return;
    }
    let (u, v) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let (nu, nv) = (dims[u], dims[v]);
    if axis == 2 {
        // Slices along k: run-based labelling of the background of every
        // slice at once; components that reach no slice edge are holes.
        let [nx, ny, _] = dims;
        let background = components::label_per_slice_where(mask, Connectivity::Six, |&b| !b);
        let mut hole = vec![true; background.count() + 1];
        background.for_each_run(|id, start, end, j, _| {
            if start == 0 || end == nx || j == 0 || j + 1 == ny {
                hole[id as usize] = false;
            }
        });
        let max_hole = max_hole as u64;
        background
            .paint_into(mask.data_mut(), |id| (hole[id as usize] && background.size(id) <= max_hole).then_some(true));
        return;
    }
    // Other slices are strided: fill a copy of each, collect the hole voxels.
    let strides = [1, dims[0], dims[0] * dims[1]];
    let data = mask.data();
    let holes: Vec<Vec<usize>> = (0..dims[axis])
        .into_par_iter()
        .map_init(PlaneScratch::default, |scratch, c| {
            let at = |p: usize| c * strides[axis] + (p % nu) * strides[u] + (p / nu) * strides[v];
            let mut plane: Vec<bool> = (0..nu * nv).map(|p| data[at(p)]).collect();
            let mut found = Vec::new();
            scratch.fill_holes(&mut plane, nu, nv, max_hole, |p| found.push(at(p)));
            found
        })
        .collect();
    let data = mask.data_mut();
    for idx in holes.into_iter().flatten() {
        data[idx] = true;
    }
}

/// Reusable buffers of the per-slice flood fills (one per worker thread).
#[derive(Default)]
struct PlaneScratch {
    seen: Vec<bool>,
    stack: Vec<u32>,
    region: Vec<u32>,
}

impl PlaneScratch {
    /// Fills the holes of a `nu × nv` plane (u fastest) of at most
    /// `max_hole` pixels, calling `on_fill` with every pixel it sets.
    fn fill_holes(
        &mut self,
        plane: &mut [bool],
        nu: usize,
        nv: usize,
        max_hole: usize,
        mut on_fill: impl FnMut(usize),
    ) {
        self.seen.clear();
        self.seen.extend_from_slice(plane);
        // Mark the background reachable from the border.
        for u in 0..nu {
            self.seed(u);
            self.seed(u + nu * (nv - 1));
        }
        for v in 0..nv {
            self.seed(nu * v);
            self.seed(nu - 1 + nu * v);
        }
        self.flood(nu, nv, None);
        // What is left unseen is holes.
        for p in 0..nu * nv {
            if self.seen[p] {
                continue;
            }
            self.seed(p);
            let mut region = std::mem::take(&mut self.region);
            region.clear();
            self.flood(nu, nv, Some(&mut region));
            if region.len() <= max_hole {
                for &q in &region {
                    plane[q as usize] = true;
                    on_fill(q as usize);
                }
            }
            self.region = region;
        }
    }

    fn seed(&mut self, p: usize) {
        if !self.seen[p] {
            self.seen[p] = true;
            self.stack.push(p as u32);
        }
    }

    /// 4-connected flood from the stacked pixels over unseen pixels.
    fn flood(&mut self, nu: usize, nv: usize, mut region: Option<&mut Vec<u32>>) {
        while let Some(p) = self.stack.pop() {
            if let Some(r) = region.as_deref_mut() {
                r.push(p);
            }
            let p = p as usize;
            let (u, v) = (p % nu, p / nu);
            if u > 0 {
                self.seed(p - 1);
            }
            if u + 1 < nu {
                self.seed(p + 1);
            }
            if v > 0 {
                self.seed(p - nu);
            }
            if v + 1 < nv {
                self.seed(p + nu);
            }
        }
    }
}

/// Binary dilation by a box of `(2r+1)` voxels along each axis (a 3×3×3
/// cube for `[1, 1, 1]`), done as three separable passes. Outside the volume
/// counts as background.
pub fn dilate(mask: &Mask, radius: [usize; 3]) -> Mask {
    morph(mask, radius, true)
}

/// Binary erosion by the same box as [`dilate`]. Outside the volume counts
/// as foreground, so a mask touching the border is not eaten from there (and
/// [`close`] never removes a voxel).
pub fn erode(mask: &Mask, radius: [usize; 3]) -> Mask {
    morph(mask, radius, false)
}

/// Morphological closing (dilation then erosion) with the box of [`dilate`]:
/// seals gaps and concavities narrower than about `2r + 1` voxels without
/// growing convex parts.
pub fn close(mask: &Mask, radius: [usize; 3]) -> Mask {
    erode(&dilate(mask, radius), radius)
}

fn morph(mask: &Mask, radius: [usize; 3], grow: bool) -> Mask {
    let dims = mask.dims();
    let axes: Vec<usize> = (0..3).filter(|&a| radius[a] > 0 && dims[a] >= 2).collect();
    if axes.is_empty() {
        return mask.clone();
    }
    // Ping-pong between two buffers: no pass copies a whole volume.
    let n = mask.len();
    let mut cur = vec![false; n];
    window_apply(mask.data(), &mut cur, dims, axes[0], radius[axes[0]], grow, Apply::Set);
    let mut spare: Vec<bool> = Vec::new();
    for &axis in &axes[1..] {
        spare.resize(n, false);
        window_apply(&cur, &mut spare, dims, axis, radius[axis], grow, Apply::Set);
        std::mem::swap(&mut cur, &mut spare);
    }
    Volume::from_vec(dims, cur, mask.geometry).expect("same dims")
}

/// How [`window_apply`] stores its result.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Apply {
    /// `dst = window(src)`.
    Set,
    /// `dst &= window(src)`.
    And,
}

/// One separable pass: the OR (`grow`) or AND of the voxels of `src` within
/// `r` along `axis` (clamped to the volume), stored into `dst` as `apply`
/// says. Parallel over slices; whole rows or slices are combined at a time
/// (which vectorises) in a per-thread scratch row or slice, so `src` is read
/// from cache and `dst` written once.
fn window_apply(src: &[bool], dst: &mut [bool], dims: [usize; 3], axis: usize, r: usize, grow: bool, apply: Apply) {
    let [nx, ny, nz] = dims;
    let plane = nx * ny;
    if plane == 0 || nz == 0 {
        return;
    }
    let combine = |d: &mut [bool], s: &[bool]| {
        if grow {
            d.iter_mut().zip(s).for_each(|(d, &s)| *d |= s);
        } else {
            d.iter_mut().zip(s).for_each(|(d, &s)| *d &= s);
        }
    };
    let store = |d: &mut [bool], w: &[bool]| match apply {
        Apply::Set => d.copy_from_slice(w),
        Apply::And => d.iter_mut().zip(w).for_each(|(d, &w)| *d &= w),
    };
    dst.par_chunks_mut(plane).enumerate().for_each_init(Vec::new, |scratch: &mut Vec<bool>, (k, d)| {
        let s = &src[k * plane..(k + 1) * plane];
        match axis {
            0 => {
                for j in 0..ny {
                    let row = &s[j * nx..(j + 1) * nx];
                    scratch.clear();
                    scratch.extend_from_slice(row);
                    for shift in 1..=r.min(nx - 1) {
                        combine(&mut scratch[..nx - shift], &row[shift..]);
                        combine(&mut scratch[shift..], &row[..nx - shift]);
                    }
                    store(&mut d[j * nx..(j + 1) * nx], scratch);
                }
            }
            1 => {
                for j in 0..ny {
                    scratch.clear();
                    scratch.extend_from_slice(&s[j * nx..(j + 1) * nx]);
                    for shift in 1..=r {
                        if j >= shift {
                            combine(scratch, &s[(j - shift) * nx..(j - shift + 1) * nx]);
                        }
                        if j + shift < ny {
                            combine(scratch, &s[(j + shift) * nx..(j + shift + 1) * nx]);
                        }
                    }
                    store(&mut d[j * nx..(j + 1) * nx], scratch);
                }
            }
            _ => {
                scratch.clear();
                scratch.extend_from_slice(s);
                for shift in 1..=r {
                    if k >= shift {
                        combine(scratch, &src[(k - shift) * plane..(k - shift + 1) * plane]);
                    }
                    if k + shift < nz {
                        combine(scratch, &src[(k + shift) * plane..(k + shift + 1) * plane]);
                    }
                }
                store(d, scratch);
            }
        }
    });
}

/// Removes the trachea from a lung mask whose axial slices are voxel axis 2.
///
/// In the most superior slice holding lung-mask voxels, the trachea is a
/// small component (≤ `trachea_max_area_mm2`) near the body's left–right
/// centre. From there it is followed slice by slice towards the feet: the
/// components of the next slice that overlap the airway followed so far and
/// are small are airway too (this follows the carina into both main
/// bronchi); a branch stops where its component grows large, i.e. where it
/// merges with the lung. Everything followed is removed.
///
/// Components are grown from the airway only and abandoned as soon as they
/// exceed the area limit, so each slice costs O(airway area), not O(slice).
fn remove_trachea(lung: &mut Mask, body: &Mask, options: &LungMaskOptions) {
    let [nx, ny, nz] = lung.dims();
    let g = lung.geometry;
    let plane = nx * ny;
    let max_area = (options.trachea_max_area_mm2 / (g.spacing.x * g.spacing.y)).max(1.0) as usize;
    // Slice order from head to feet.
    let down: Vec<usize> = if g.direction.col(2).z >= 0.0 { (0..nz).rev().collect() } else { (0..nz).collect() };
    let Some(top) = down.iter().position(|&k| lung.slice_k(k).contains(&true)) else { return };
    let k_top = down[top];

    // Left–right position (mm, patient x) of an in-slice pixel set's centroid.
    let lr = |pixels: &[u32]| {
        let n = pixels.len().max(1) as f64;
        let (si, sj) =
            pixels.iter().fold((0.0, 0.0), |(a, b), &p| (a + (p as usize % nx) as f64, b + (p as usize / nx) as f64));
        (g.direction * (DVec3::new(si / n, sj / n, 0.0) * g.spacing)).x
    };
    let body_pixels: Vec<u32> =
        body.slice_k(k_top).iter().enumerate().filter(|(_, b)| **b).map(|(p, _)| p as u32).collect();
    if body_pixels.is_empty() {
        return;
    }
    let body_lr = lr(&body_pixels);

    let mut grower = SmallComponents::new(nx, ny, max_area);
    // The trachea: the small component of the top slice nearest the midline.
    let top_pixels: Vec<u32> =
        lung.slice_k(k_top).iter().enumerate().filter(|(_, b)| **b).map(|(p, _)| p as u32).collect();
    let candidates = grower.grow(lung.slice_k(k_top), &top_pixels);
    let Some(trachea) = candidates
        .into_iter()
        .map(|c| ((lr(&c) - body_lr).abs(), c))
        .filter(|(d, _)| *d <= options.trachea_midline_tolerance_mm)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
    else {
        return;
    };

    let mut airway = trachea;
    let mut removed = 0usize;
    let mut last = k_top;
    for (n, &k) in down[top..].iter().enumerate() {
        if n > 0 {
            let seeds: Vec<u32> = airway.iter().copied().filter(|&p| lung.slice_k(k)[p as usize]).collect();
            airway = grower.grow(lung.slice_k(k), &seeds).concat();
            if airway.is_empty() {
                break;
            }
        }
        let data = &mut lung.data_mut()[k * plane..(k + 1) * plane];
        for &p in &airway {
            data[p as usize] = false;
        }
        removed += airway.len();
        last = k;
    }
    tracing::debug!(removed, first_slice = k_top, last_slice = last, "trachea removed from the lung mask");
}

/// Grows 8-connected components of one slice from seed pixels, abandoning
/// any that exceeds `max_area` pixels.
struct SmallComponents {
    nx: usize,
    ny: usize,
    max_area: usize,
    /// Per pixel: 0 unvisited, 1 in a small component, 2 in a large one.
    tag: Vec<u8>,
    touched: Vec<u32>,
    stack: Vec<u32>,
}

impl SmallComponents {
    fn new(nx: usize, ny: usize, max_area: usize) -> Self {
        SmallComponents { nx, ny, max_area, tag: vec![0; nx * ny], touched: Vec::new(), stack: Vec::new() }
    }

    /// The components of `slice` containing a seed with at most `max_area`
    /// pixels each.
    fn grow(&mut self, slice: &[bool], seeds: &[u32]) -> Vec<Vec<u32>> {
        let (nx, ny) = (self.nx as isize, self.ny as isize);
        let mut found = Vec::new();
        for &seed in seeds {
            if !slice[seed as usize] || self.tag[seed as usize] != 0 {
                continue;
            }
            let mut component = vec![seed];
            self.tag[seed as usize] = 1;
            self.touched.push(seed);
            self.stack.push(seed);
            let mut large = false;
            'grow: while let Some(p) = self.stack.pop() {
                let (i, j) = (p as isize % nx, p as isize / nx);
                for (di, dj) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (a, b) = (i + di, j + dj);
                    if a < 0 || b < 0 || a >= nx || b >= ny {
                        continue;
                    }
                    let q = (a + nx * b) as usize;
                    if !slice[q] {
                        continue;
                    }
                    match self.tag[q] {
                        0 => {
                            self.tag[q] = 1;
                            self.touched.push(q as u32);
                            component.push(q as u32);
                            self.stack.push(q as u32);
                            if component.len() > self.max_area {
                                large = true;
                                break 'grow;
                            }
                        }
                        2 => {
                            large = true;
                            break 'grow;
                        }
                        _ => {}
                    }
                }
            }
            self.stack.clear();
            if large {
                for &q in &component {
                    self.tag[q as usize] = 2;
                }
            } else {
                found.push(component);
            }
        }
        for &q in &self.touched {
            self.tag[q as usize] = 0;
        }
        self.touched.clear();
        found
    }
}
