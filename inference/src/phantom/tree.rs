//! Branching trees grown to fill a lung: the airway tree (which the arteries
//! follow) and the venous trees.
//!
//! The growth is the space-filling algorithm of Tawhai et al. (2000): a branch
//! owns a cloud of seed points (the tissue it supplies); the cloud is split in
//! two by the plane through the branch and the cloud's centroid, and each child
//! grows from the branch end toward the centroid of its half, 40 % of the way,
//! with its angle to the parent limited. A branch whose cloud has one point is
//! terminal. Radii follow Murray's law exactly: a branch supplying `n` of the
//! `N` seeds of its root has radius `r_root · (n / N)^(1/γ)`, so
//! `r₀^γ = r₁^γ + r₂^γ` at every bifurcation.

use std::collections::VecDeque;

use glam::DVec3;

use super::shapes::{any_perpendicular, rotate_about};

/// No branch.
pub const NONE: u32 = u32::MAX;

/// One branch: a straight tube segment of a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Parent branch index, or [`NONE`] for a root.
    pub parent: u32,
    /// Child branch indices ([`NONE`] where absent).
    pub children: [u32; 2],
    /// Start of the centreline (the parent's end).
    pub start: DVec3,
    /// End of the centreline.
    pub end: DVec3,
    /// Radius at the start (mm).
    pub radius: f64,
    /// Number of seed points (supplied tissue units) downstream.
    pub flow: u32,
    /// Generation counted from the root (root = 0).
    pub generation: u16,
}

impl Branch {
    /// Unit direction of the centreline.
    pub fn direction(&self) -> DVec3 {
        (self.end - self.start).normalize_or_zero()
    }

    /// Length of the centreline (mm).
    pub fn length(&self) -> f64 {
        (self.end - self.start).length()
    }
}

/// A tree of branches, parents always before their children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    /// All branches.
    pub branches: Vec<Branch>,
}

impl Tree {
    /// Adds a branch under `parent` (or a root with [`NONE`]) and returns its index.
    pub fn push(&mut self, parent: u32, start: DVec3, end: DVec3, radius: f64, flow: u32) -> u32 {
        let idx = self.branches.len() as u32;
        let generation = if parent == NONE { 0 } else { self.branches[parent as usize].generation + 1 };
        if parent != NONE {
            let p = &mut self.branches[parent as usize];
            if p.children[0] == NONE {
                p.children[0] = idx;
            } else {
                p.children[1] = idx;
            }
        }
        self.branches.push(Branch { parent, children: [NONE, NONE], start, end, radius, flow, generation });
        idx
    }

    /// Radius at the end of branch `i`: the larger child's radius, or 85 % of
    /// its own for a terminal branch, so tubes taper smoothly.
    pub fn end_radius(&self, i: u32) -> f64 {
        let b = &self.branches[i as usize];
        let r =
            b.children.iter().filter(|&&c| c != NONE).map(|&c| self.branches[c as usize].radius).fold(0.0, f64::max);
        if r > 0.0 { r.min(b.radius) } else { 0.85 * b.radius }
    }
}

/// Decides where a new branch ends: `(tree, parent, start, proposed end,
/// radius)` → the end to use, or `None` to drop the branch and its seeds.
pub type Place<'a> = dyn FnMut(&Tree, u32, DVec3, DVec3, f64) -> Option<DVec3> + 'a;

/// Settings of one space-filling growth.
#[derive(Debug, Clone, Copy)]
pub struct GrowParams {
    /// Radius that `flow_total` seeds give (the root's radius).
    pub r_total: f64,
    /// Seed count that corresponds to `r_total`.
    pub flow_total: u32,
    /// Murray exponent γ (2.5–3).
    pub gamma: f64,
    /// Fraction of the distance to the centroid that a child grows (0.4).
    pub fraction: f64,
    /// Largest angle between parent and child (radians).
    pub max_angle: f64,
    /// Shortest branch (mm); shorter ones end the growth there.
    pub min_length: f64,
    /// Branches below this radius are not grown further (mm).
    pub min_radius: f64,
}

impl GrowParams {
    /// Murray radius of a branch carrying `flow` seeds.
    pub fn radius(&self, flow: usize) -> f64 {
        self.r_total * libm::pow(flow as f64 / self.flow_total as f64, 1.0 / self.gamma)
    }
}

/// Grows children under branch `root` of `tree` to supply `seeds`.
///
/// `first_split`, when given, decides the side of each seed at the first
/// bifurcation (used for the lobar split along the oblique fissure). `place`
/// is asked for every new branch `(tree, parent, start, proposed end, radius)`
/// and returns the end to use (possibly moved, e.g. to stay inside the lung or
/// clear of other vessels) or `None` to drop the branch and its seeds.
/// Branches are grown breadth first so that large branches claim space first.
pub fn grow(
    tree: &mut Tree,
    root: u32,
    seeds: Vec<DVec3>,
    params: &GrowParams,
    first_split: Option<&dyn Fn(DVec3) -> bool>,
    place: &mut Place,
) {
    let mut queue: VecDeque<(u32, Vec<DVec3>, bool)> = VecDeque::new();
    queue.push_back((root, seeds, true));
    while let Some((parent, pts, first)) = queue.pop_front() {
        if pts.len() < 2 {
            continue;
        }
        let pb = tree.branches[parent as usize].clone();
        if pb.radius < params.min_radius {
            continue;
        }
        let p0 = pb.end;
        let dp = pb.direction();
        let (left, right) = match (first, first_split) {
            (true, Some(f)) => pts.iter().partition::<Vec<DVec3>, _>(|&&s| f(s)),
            _ => split(&pts, p0, dp),
        };
        for half in [left, right] {
            if half.is_empty() {
                continue;
            }
            let c = centroid(&half);
            let to_c = c - p0;
            let dist = to_c.length();
            let mut dir = if dist > 1e-9 { to_c / dist } else { dp };
            let cos = dir.dot(dp).clamp(-1.0, 1.0);
            if libm::acos(cos) > params.max_angle {
                let mut perp = dir - dp * cos;
                if perp.length_squared() < 1e-12 {
                    perp = any_perpendicular(dp);
                }
                let axis = dp.cross(perp.normalize()).normalize();
                dir = rotate_about(dp, axis, params.max_angle);
            }
            let len = (params.fraction * dist).max(params.min_length);
            let radius = params.radius(half.len());
            let Some(end) = place(tree, parent, p0, p0 + dir * len, radius) else {
                continue;
            };
            let child = tree.push(parent, p0, end, radius, half.len() as u32);
            if len > params.min_length && half.len() > 1 {
                queue.push_back((child, half, false));
            }
        }
    }
}

/// Centroid of a non-empty point set.
pub fn centroid(pts: &[DVec3]) -> DVec3 {
    pts.iter().copied().sum::<DVec3>() / pts.len() as f64
}

/// Splits `pts` by the plane through the parent branch (point `p0`, direction
/// `dp`) and the points' centroid; falls back to a median split along the
/// widest spread when the plane leaves one side empty.
fn split(pts: &[DVec3], p0: DVec3, dp: DVec3) -> (Vec<DVec3>, Vec<DVec3>) {
    let c = centroid(pts);
    let mut n = dp.cross(c - p0);
    if n.length_squared() < 1e-9 {
        n = any_perpendicular(dp);
    }
    let n = n.normalize();
    let (a, b): (Vec<DVec3>, Vec<DVec3>) = pts.iter().partition(|&&s| (s - p0).dot(n) >= 0.0);
    if !a.is_empty() && !b.is_empty() {
        return (a, b);
    }
    // Median split along the axis of largest spread.
    let spread = pts.iter().fold(DVec3::ZERO, |m, &s| m.max((s - c).abs()));
    let axis = if spread.x >= spread.y && spread.x >= spread.z {
        DVec3::X
    } else if spread.y >= spread.z {
        DVec3::Y
    } else {
        DVec3::Z
    };
    let mut v = pts.to_vec();
    v.sort_by(|p, q| p.dot(axis).total_cmp(&q.dot(axis)));
    let b = v.split_off(v.len() / 2);
    (v, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_fills_a_ball_and_obeys_murray() {
        let mut seeds = Vec::new();
        for i in -6..=6 {
            for j in -6..=6 {
                for k in -6..=6 {
                    let p = DVec3::new(i as f64, j as f64, k as f64) * 8.0 + DVec3::new(0.0, 0.0, -60.0);
                    if (p - DVec3::new(0.0, 0.0, -60.0)).length() < 45.0 {
                        seeds.push(p + DVec3::new(0.3 * j as f64, 0.2 * k as f64, 0.1 * i as f64));
                    }
                }
            }
        }
        let params = GrowParams {
            r_total: 6.0,
            flow_total: seeds.len() as u32,
            gamma: 3.0,
            fraction: 0.4,
            max_angle: 70f64.to_radians(),
            min_length: 1.0,
            min_radius: 0.0,
        };
        let mut tree = Tree::default();
        let root = tree.push(NONE, DVec3::new(0.0, 0.0, 10.0), DVec3::ZERO, 6.0, seeds.len() as u32);
        let n = seeds.len();
        grow(&mut tree, root, seeds, &params, None, &mut |_, _, _, e, _| Some(e));
        let leaves = tree.branches.iter().filter(|b| b.children[0] == NONE).count();
        assert!(leaves * 2 > n, "{leaves} leaves for {n} seeds");
        for (i, b) in tree.branches.iter().enumerate() {
            if b.children[1] != NONE {
                let r1 = tree.branches[b.children[0] as usize].radius;
                let r2 = tree.branches[b.children[1] as usize].radius;
                assert!((b.radius.powi(3) - r1.powi(3) - r2.powi(3)).abs() < 1e-6 * b.radius.powi(3), "branch {i}");
                assert!(r1 < b.radius && r2 < b.radius);
            }
            if b.parent != NONE {
                let p = &tree.branches[b.parent as usize];
                assert!(p.end == b.start);
                assert!(b.direction().dot(p.direction()) > 70f64.to_radians().cos() - 1e-9);
            }
        }
    }
}
