//! The lung trees (body frame, mm): the airway tree grown to fill each lung,
//! pulmonary arteries following the bronchi, and pulmonary veins grown from
//! the left atrium between the bronchovascular bundles.

use glam::DVec3;
use vasa_scan::labels::{ARTERY, VEIN};

use super::AIRWAY;
use super::anatomy::{AIRWAY_ID, ARTERY_ID, Builder, Prim, VEIN_ID, VesselTrees, lung_sdf};
use super::collide::{Kind, Seg};
use super::intensity::Tissue;
use super::mediastinum::Mediastinum;
use super::shapes::{Shape, any_perpendicular, rotate_about};
use super::structure::Structure;
use super::tree::{GrowParams, NONE, Tree, grow};

/// Largest ratio of an intrapulmonary artery's radius to its bronchus's.
const PA_TO_BRONCHUS_MAX: f64 = 1.3;

/// Tree seeds keep this far (mm) from the pleura: real CT shows few vessels
/// in the outer centimetre of the lung.
const PLEURA_CLEARANCE_MM: f64 = 6.0;
/// Each branch runs this fraction of the way to the centroid of the lung
/// it supplies: longer, straighter branches than the minimum, as pulmonary
/// vessels are.
const BRANCH_FRACTION: f64 = 0.55;

/// Jittered grid points inside the lungs (body frame); `dual` shifts the
/// grid by half a cell (used for the veins, which thereby start out between
/// the airway seeds).
fn lung_seeds(b: &mut Builder, h: f64, dual: bool) -> Vec<DVec3> {
    let (cy, ca, cb) = b.body.cavity;
    let a = ca * (1.0 + b.body.widen);
    let off = if dual { 0.5 * h } else { 0.0 };
    let mut out = Vec::new();
    let nz = ((b.body.apex_z + 260.0) / h) as i64;
    for k in 0..nz {
        for j in -((cb * 1.2 / h) as i64)..=((cb * 1.2 / h) as i64) {
            for i in -((a / h) as i64 + 1)..=((a / h) as i64 + 1) {
                let p = DVec3::new(i as f64 * h + off, cy + j as f64 * h + off, b.body.apex_z - k as f64 * h - off);
                let p = p + DVec3::new(b.rng.sym(0.3 * h), b.rng.sym(0.3 * h), b.rng.sym(0.3 * h));
                if b.lung_distance(p) < -PLEURA_CLEARANCE_MM {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Airway, artery and vein trees of both lungs. Returns the number of
/// airway branches left without an artery.
pub(super) fn lungs(b: &mut Builder, trees: &mut VesselTrees, m: &Mediastinum) -> usize {
    let s = b.s;
    let gamma = m.gamma;
    // The central arteries placed with the mediastinum are painted there.
    let hand_placed_arteries = trees.artery.branches.len();
    let h = 8.5 * s;
    let airway_seeds = lung_seeds(b, h, false);
    let vein_seeds = lung_seeds(b, h, true);
    // Oblique fissure: the lobes' trees split there first.
    let par = b.parenchyma;
    let upper = move |p: DVec3| par.upper(p);
    let mut dropped = 0;

    for side in 0..2 {
        let in_side = |p: &DVec3| if side == 0 { p.x < 0.0 } else { p.x >= 0.0 };
        let seeds: Vec<DVec3> = airway_seeds.iter().copied().filter(in_side).collect();
        let n = seeds.len().max(1) as u32;
        let main = m.main_bronchi[side];
        let r_main = trees.airway.branches[main as usize].radius;
        trees.airway.branches[main as usize].flow = n;
        let params = GrowParams {
            r_total: r_main,
            flow_total: n,
            gamma,
            fraction: BRANCH_FRACTION,
            max_angle: 75f64.to_radians(),
            min_length: 1.5,
            min_radius: 0.0,
        };
        let first_gen = trees.airway.branches[main as usize].generation + 1;
        {
            let idx = &mut b.index;
            let body = b.body;
            let blockers = &b.blockers;
            let fov = b.params.fov;
            let lung = |p: DVec3| lung_sdf(body, par, blockers, fov, p);
            let mut place = |t: &Tree, parent: u32, start: DVec3, end: DVec3, r: f64| -> Option<DVec3> {
                let depth = t.branches[parent as usize].generation + 1;
                for f in [1.0, 0.7, 0.45] {
                    let e = start + (end - start) * f;
                    if depth > first_gen + 1 && lung(e) > -r.max(1.0) {
                        continue;
                    }
                    let hit = idx.first_hit(start, e, r, |k, _| if k == Kind::Airway { -1e9 } else { 0.5 }, |_| false);
                    if hit.is_none() {
                        return Some(e);
                    }
                }
                None
            };
            grow(&mut trees.airway, main, seeds, &params, Some(&upper), &mut place);
        }
        // Visible airways go into the collision grid.
        for i in 0..trees.airway.branches.len() {
            let br = &trees.airway.branches[i];
            if br.generation >= first_gen && br.radius >= 0.8 && in_side(&br.end) {
                b.index.insert(Seg {
                    a: br.start,
                    b: br.end,
                    r: br.radius,
                    kind: Kind::Airway,
                    id: AIRWAY_ID + i as u32,
                });
            }
        }
        // Arteries alongside every bronchus, of about its calibre: scaled
        // from the main pulmonary artery, but at most 1.3 times the main
        // bronchus (an artery much larger than its bronchus reads as
        // pulmonary hypertension).
        let r_pa = trees.artery.branches[m.pa_ends[side] as usize]
            .radius
            .min(PA_TO_BRONCHUS_MAX * trees.airway.branches[main as usize].radius);
        dropped += follow_airway(b, trees, main, m.pa_ends[side], m.pa_offsets[side], r_pa, n, gamma);
    }

    // Veins from the left atrium's ostia (usually two per lung; a common
    // trunk or a separate middle-lobe vein in some seeds), each draining its
    // lobes' share of the vein seeds.
    for side in 0..2 {
        let in_side = |p: &DVec3| if side == 0 { p.x < 0.0 } else { p.x >= 0.0 };
        let seeds: Vec<DVec3> = vein_seeds.iter().copied().filter(in_side).collect();
        let n_lung = seeds.len().max(1) as u32;
        let r_lung = b.rng.range(7.5, 9.0) * s;
        let params = GrowParams {
            r_total: r_lung,
            flow_total: n_lung,
            gamma,
            fraction: BRANCH_FRACTION,
            max_angle: 75f64.to_radians(),
            min_length: 1.5,
            min_radius: 0.0,
        };
        let ostia: Vec<_> = m.vein_ostia.iter().filter(|o| o.side == side).collect();
        let ups: Vec<usize> = (0..ostia.len()).filter(|&k| ostia[k].upper).collect();
        let mut infs: Vec<usize> = (0..ostia.len()).filter(|&k| !ostia[k].upper).collect();
        // With two inferior ostia, the higher one is the middle-lobe vein.
        infs.sort_by(|&a, &b| ostia[b].at.z.total_cmp(&ostia[a].at.z));
        // Which ostium drains a seed: by lobe (the right middle lobe lies in
        // front of the oblique fissure, below the horizontal one).
        let drains = |p: DVec3| -> usize {
            let lobe_upper = upper(p);
            let middle = side == 0 && par.middle_lobe(p);
            match (ups.first(), infs.as_slice()) {
                (Some(&u), [l]) => {
                    if lobe_upper {
                        u
                    } else {
                        *l
                    }
                }
                (Some(&u), [m, l, ..]) => {
                    if middle {
                        *m
                    } else if lobe_upper {
                        u
                    } else {
                        *l
                    }
                }
                (None, [m, l, ..]) => {
                    if lobe_upper {
                        *m
                    } else {
                        *l
                    }
                }
                (Some(&u), []) => u,
                (None, [l]) => *l,
                (None, []) => 0,
            }
        };
        let mut groups: Vec<Vec<DVec3>> = vec![Vec::new(); ostia.len()];
        if !ostia.is_empty() {
            for p in seeds {
                groups[drains(p)].push(p);
            }
        }
        for (o, pts) in ostia.iter().zip(groups) {
            if pts.is_empty() {
                continue;
            }
            let r = params.radius(pts.len());
            let want = super::tree::centroid(&pts);
            let Some(end) = place_trunk(b, o.at, want, r) else {
                continue;
            };
            let root = trees.vein.push(NONE, o.at, end, r, pts.len() as u32);
            b.index.insert(Seg { a: o.at, b: end, r, kind: Kind::Vein, id: VEIN_ID + root });
            grow_veins(b, &mut trees.vein, root, pts, &params);
        }
    }

    // Primitives for the trees.
    let minr_v = b.params.min_vessel_radius;
    let minr_a = b.params.min_airway_radius;
    let wall = b.rng.range(0.1, 0.2);
    for (i, br) in trees.airway.branches.iter().enumerate() {
        if br.radius < minr_a {
            continue;
        }
        let re = trees.airway.end_radius(i as u32).max(minr_a * 0.8);
        b.prims.push(Prim {
            shape: Shape::Tube { a: br.start, b: br.end, ra: br.radius, rb: re },
            tissue: Tissue::AirwayWall,
            label: AIRWAY,
            centreline: false,
            structure: if i < 2 { Structure::Trachea } else { Structure::Bronchus },
        });
        let k = 1.0 - 2.0 * wall;
        b.prims.push(Prim {
            shape: Shape::Tube { a: br.start, b: br.end, ra: br.radius * k, rb: re * k },
            tissue: Tissue::AirwayLumen,
            label: 0,
            centreline: false,
            structure: if i < 2 { Structure::Trachea } else { Structure::Bronchus },
        });
    }
    for (tree, tissue, label, skip, structure) in [
        (&trees.artery, Tissue::ArteryBlood, ARTERY, hand_placed_arteries, Structure::PulmonaryArtery),
        (&trees.vein, Tissue::VeinBlood, VEIN, 0, Structure::PulmonaryVein),
    ] {
        for (i, br) in tree.branches.iter().enumerate().skip(skip) {
            if br.radius < minr_v {
                continue;
            }
            let re = tree.end_radius(i as u32).max(minr_v * 0.8);
            b.prims.push(Prim {
                shape: Shape::Tube { a: br.start, b: br.end, ra: br.radius, rb: re },
                tissue,
                label,
                centreline: true,
                structure,
            });
        }
    }
    nodules(b, &airway_seeds);
    dropped
}

/// Some seeds have lung nodules (solid, 4–14 mm) and a few a mass (a
/// lobulated 18–40 mm lesion), placed where they touch no vessel or airway.
fn nodules(b: &mut Builder, candidates: &[DVec3]) {
    let mut rng = b.rng.fork(0x40D);
    if candidates.is_empty() {
        return;
    }
    let mut wanted: Vec<f64> = Vec::new();
    if rng.unit() < 0.4 {
        for _ in 0..1 + rng.index(3) {
            wanted.push(rng.range(2.0, 7.0));
        }
    }
    if rng.unit() < 0.15 {
        wanted.push(rng.range(9.0, 20.0));
    }
    b.part = Structure::Nodule;
    for r in wanted {
        for _ in 0..40 {
            let c = candidates[rng.index(candidates.len())];
            if b.lung_distance(c) > -(r + 2.0) {
                continue;
            }
            let hit = b.index.first_hit(c, c + DVec3::X * 0.01, r, |_, _| 1.0, |_| false);
            if hit.is_some() {
                continue;
            }
            // A mass is lobulated: a few overlapping ellipsoids.
            let lobes = if r > 8.0 { 4 } else { 1 };
            for l in 0..lobes {
                let off = if l == 0 { DVec3::ZERO } else { DVec3::new(rng.sym(0.5), rng.sym(0.5), rng.sym(0.5)) * r };
                let radii = DVec3::new(rng.range(0.8, 1.1), rng.range(0.8, 1.1), rng.range(0.8, 1.1))
                    * r
                    * if l == 0 { 1.0 } else { 0.6 };
                let inv = super::shapes::rotation_xyz(rng.sym(1.5), rng.sym(1.5), rng.sym(1.5)).transpose();
                b.add(Shape::Ellipsoid { c: c + off, inv, r: radii }, Tissue::Soft, 0);
            }
            b.index.insert(Seg { a: c, b: c, r: r * 1.3, kind: Kind::Other, id: 0 });
            break;
        }
    }
}

/// Places a venous trunk from the ostium toward `want` (the centroid of the
/// tissue it drains): the first end, over a widening cone of directions and
/// a few lengths, whose tube is clear of everything placed so far.
fn place_trunk(b: &mut Builder, ost: DVec3, want: DVec3, r: f64) -> Option<DVec3> {
    let d0 = (want - ost).normalize_or(DVec3::X);
    let p1 = any_perpendicular(d0);
    for polar in [0.0f64, 12.0, 24.0, 36.0, 48.0, 60.0] {
        let n_az = if polar == 0.0 { 1 } else { 12 };
        for len in [34.0, 26.0, 18.0] {
            for az in 0..n_az {
                let axis = rotate_about(p1, d0, (az as f64 * 30.0).to_radians());
                let dir = rotate_about(d0, axis, polar.to_radians());
                let e = ost + dir * len * b.s;
                let from = ost + dir * (r + 4.0);
                let hit = b.index.first_hit(from, e, r, |k, _| if k == Kind::Vein { 0.5 } else { 0.8 }, |_| false);
                if hit.is_none() {
                    return Some(e);
                }
            }
        }
    }
    None
}

/// Mirrors the bronchial subtree under `main` with arteries: each artery runs
/// beside its bronchus, offset by the sum of the radii plus a small gap, on
/// the side its parent artery was (rotated around the bronchus when that side
/// is taken). Returns how many bronchi got no artery.
#[allow(clippy::too_many_arguments)]
fn follow_airway(
    b: &mut Builder,
    trees: &mut VesselTrees,
    main: u32,
    pa_end: u32,
    off0: DVec3,
    r_pa: f64,
    n: u32,
    gamma: f64,
) -> usize {
    let airway = &trees.airway;
    let count = airway.branches.len();
    // Artery branch and offset direction for each airway branch under `main`.
    let mut art = vec![NONE; count];
    let mut off = vec![DVec3::ZERO; count];
    art[main as usize] = pa_end;
    off[main as usize] = off0;
    let mut dropped = 0;
    let first_gen = airway.branches[main as usize].generation + 1;
    let body = b.body;
    let blockers = b.blockers.clone();
    let fov = b.params.fov;
    let par = b.parenchyma;
    let lung = |p: DVec3| lung_sdf(body, par, &blockers, fov, p);
    for i in (main as usize + 1)..count {
        let br = &airway.branches[i];
        let p = br.parent as usize;
        if p >= count || art[p] == NONE || p < main as usize {
            continue;
        }
        let d = br.direction();
        let r_b = br.radius;
        let r_a = r_pa * libm::pow(br.flow as f64 / n as f64, 1.0 / gamma);
        let parent_art = art[p];
        let start = trees.artery.branches[parent_art as usize].end;
        let mut u = off[p] - d * d.dot(off[p]);
        if u.length_squared() < 1e-6 {
            u = any_perpendicular(d);
        }
        let u = u.normalize();
        let dist = r_b + r_a + 0.4 + 0.1 * (r_a + r_b);
        let siblings = trees.artery.branches[parent_art as usize].children;
        // Neighbours at this bifurcation (parent, siblings, the parent's own
        // parent and siblings) touch the new branch by construction.
        let near = 2.0 * trees.artery.branches[parent_art as usize].radius + 2.0;
        let skip = |sg: &Seg| {
            sg.id == ARTERY_ID + parent_art
                || siblings.iter().any(|&c| c != NONE && sg.id == ARTERY_ID + c)
                || (sg.kind == Kind::Artery && ((sg.a - start).length() < near || (sg.b - start).length() < near))
        };
        // Try the parent's side first, then rotate around the bronchus; keep
        // the least intrusive candidate, accepting slight contact.
        let mut best: Option<(f64, DVec3, DVec3)> = None;
        for step in 0..12 {
            let ang = if step % 2 == 1 { 30.0 * (step / 2 + 1) as f64 } else { -30.0 * (step / 2) as f64 };
            let uu = rotate_about(u, d, ang.to_radians());
            let e = br.end + uu * dist;
            if br.generation > first_gen && lung(e) > -r_a.max(0.5) {
                continue;
            }
            let ov = b.index.worst_overlap(
                start,
                e,
                r_a,
                |k, r| match k {
                    Kind::Airway => 0.2,
                    Kind::Artery => -0.6 * (r + r_a),
                    _ => 0.8,
                },
                skip,
            );
            if best.is_none_or(|(o, _, _)| ov < o) {
                best = Some((ov, e, uu));
            }
            if ov <= 0.0 {
                break;
            }
        }
        let placed = match best {
            Some((ov, e, uu)) if ov <= 0.3 * r_a + 0.2 => Some((e, uu)),
            _ => None,
        };
        match placed {
            Some((e, uu)) => {
                let a = trees.artery.push(parent_art, start, e, r_a, br.flow);
                b.index.insert(Seg { a: start, b: e, r: r_a, kind: Kind::Artery, id: ARTERY_ID + a });
                art[i] = a;
                off[i] = uu;
            }
            None => dropped += 1,
        }
    }
    dropped
}

/// Grows one venous tree from `root`, pushing each new branch away from the
/// airways and arteries (veins run between the bronchovascular bundles) and
/// rejecting branches that would collide.
fn grow_veins(b: &mut Builder, tree: &mut Tree, root: u32, seeds: Vec<DVec3>, params: &GrowParams) {
    let body = b.body;
    let blockers = b.blockers.clone();
    let fov = b.params.fov;
    let par = b.parenchyma;
    let lung = |p: DVec3| lung_sdf(body, par, &blockers, fov, p);
    let idx = &mut b.index;
    let mut near = Vec::new();
    let mut place = |t: &Tree, parent: u32, start: DVec3, end: DVec3, r: f64| -> Option<DVec3> {
        let depth = t.branches[parent as usize].generation + 1;
        let siblings = t.branches[parent as usize].children;
        let own = VEIN_ID + t.branches.len() as u32;
        let near_r = 2.0 * t.branches[parent as usize].radius + 2.0;
        let skip = |sg: &Seg| {
            sg.id == VEIN_ID + parent
                || sg.id == own
                || siblings.iter().any(|&c| c != NONE && sg.id == VEIN_ID + c)
                || (sg.kind == Kind::Vein && ((sg.a - start).length() < near_r || (sg.b - start).length() < near_r))
        };
        let dir0 = end - start;
        let len0 = dir0.length();
        if len0 < 1e-9 {
            return None;
        }
        let d0 = dir0 / len0;
        let p1 = any_perpendicular(d0);
        let p2 = d0.cross(p1);
        let tries: [(f64, DVec3, f64); 9] = [
            (0.0, p1, 1.0),
            (20.0, p1, 1.0),
            (-20.0, p1, 1.0),
            (20.0, p2, 1.0),
            (-20.0, p2, 1.0),
            (0.0, p1, 0.6),
            (40.0, p1, 0.8),
            (-40.0, p1, 0.8),
            (40.0, p2, 0.8),
        ];
        for (ang, axis, f) in tries {
            let mut e = start + rotate_about(d0, axis, ang.to_radians()) * len0 * f;
            // Push away from airways and arteries.
            for _ in 0..4 {
                idx.near(e, 14.0, &mut near);
                let mut push = DVec3::ZERO;
                for sg in &near {
                    let want = r
                        + sg.r
                        + match sg.kind {
                            Kind::Airway => 3.5 + 0.5 * (r + sg.r),
                            Kind::Artery => 3.0 + 0.4 * (r + sg.r),
                            Kind::Vein => 0.8,
                            Kind::Other => 2.0,
                        };
                    if sg.kind == Kind::Vein && skip(sg) {
                        continue;
                    }
                    let q = super::shapes::closest_on_segment(e, sg.a, sg.b);
                    let v = e - q;
                    let dist = v.length();
                    if dist < want && dist > 1e-6 {
                        push += v / dist * (want - dist) * 0.6;
                    }
                }
                if push.length_squared() < 1e-4 {
                    break;
                }
                e += push;
            }
            if depth > 1 && lung(e) > -r.max(0.5) {
                continue;
            }
            // Axes of a vein and an artery stay at least 3 mm apart, so that
            // their digital centrelines never share a voxel at any supported
            // spacing (each lies within 1.43 mm of its axis at 1.37 × 1.37 ×
            // 2.5 mm voxels) and neither class is cut in two.
            let hit = idx.first_hit(
                start,
                e,
                r,
                |k, sr| match k {
                    Kind::Airway => 0.8,
                    Kind::Artery => (3.0 - r - sr).max(0.6),
                    Kind::Vein => 0.3,
                    Kind::Other => 1.0,
                },
                skip,
            );
            if hit.is_none() {
                idx.insert(Seg { a: start, b: e, r, kind: Kind::Vein, id: own });
                return Some(e);
            }
        }
        None
    };
    grow(tree, root, seeds, params, None, &mut place);
}
