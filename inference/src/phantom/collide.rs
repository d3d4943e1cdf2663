//! A uniform grid of tube segments, to keep vessel trees from running through
//! each other and through the airways while they grow.
//!
//! Real vessels touch but never interpenetrate; in the phantom an overlap would
//! also let one class's label cut another's tree into pieces. Every accepted
//! segment is inserted here, and every candidate is tested against its
//! neighbours for a minimum clearance between surfaces.

use glam::DVec3;

use super::shapes::segment_distance;

/// What a stored segment belongs to; sets the clearance a newcomer must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Trachea and bronchi.
    Airway,
    /// Pulmonary arteries.
    Artery,
    /// Pulmonary veins.
    Vein,
    /// Aorta, heart chambers, caval veins and other mediastinal solids.
    Other,
}

/// One stored tube segment.
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    /// Start of the axis.
    pub a: DVec3,
    /// End of the axis.
    pub b: DVec3,
    /// Radius (the larger of the two ends).
    pub r: f64,
    /// Owner.
    pub kind: Kind,
    /// Caller's id (used to exclude a parent and its siblings from a test).
    pub id: u32,
}

/// Uniform grid over a box; each cell lists the segments whose bounds touch it.
#[derive(Debug)]
pub struct Index {
    lo: DVec3,
    cell: f64,
    n: [usize; 3],
    cells: Vec<Vec<u32>>,
    segs: Vec<Seg>,
    stamp: Vec<u32>,
    round: u32,
}

impl Index {
    /// An empty grid covering `lo`..`hi` with cubic cells of `cell` mm.
    pub fn new(lo: DVec3, hi: DVec3, cell: f64) -> Self {
        let n = ((hi - lo) / cell).ceil().max(DVec3::ONE);
        let n = [n.x as usize, n.y as usize, n.z as usize];
        Index {
            lo,
            cell,
            n,
            cells: vec![Vec::new(); n[0] * n[1] * n[2]],
            segs: Vec::new(),
            stamp: Vec::new(),
            round: 0,
        }
    }

    fn cell_range(&self, lo: DVec3, hi: DVec3) -> [std::ops::RangeInclusive<usize>; 3] {
        let f = |v: f64, a: usize| -> usize {
            (((v - self.lo[a]) / self.cell).floor().max(0.0) as usize).min(self.n[a] - 1)
        };
        [f(lo.x, 0)..=f(hi.x, 0), f(lo.y, 1)..=f(hi.y, 1), f(lo.z, 2)..=f(hi.z, 2)]
    }

    /// Stores a segment.
    pub fn insert(&mut self, s: Seg) {
        let idx = self.segs.len() as u32;
        let r = DVec3::splat(s.r);
        let [ri, rj, rk] = self.cell_range(s.a.min(s.b) - r, s.a.max(s.b) + r);
        for k in rk {
            for j in rj.clone() {
                for i in ri.clone() {
                    self.cells[i + self.n[0] * (j + self.n[1] * k)].push(idx);
                }
            }
        }
        self.segs.push(s);
        self.stamp.push(0);
    }

    /// The stored segments whose surface comes closer than `clearance(kind,
    /// radius)` to the surface of tube `a`–`b` of radius `r`, skipping the
    /// segments for which `skip` is true (a parent, its other children). Returns the first offender, or `None` if clear.
    pub fn first_hit(
        &mut self,
        a: DVec3,
        b: DVec3,
        r: f64,
        clearance: impl Fn(Kind, f64) -> f64,
        skip: impl Fn(&Seg) -> bool,
    ) -> Option<Seg> {
        self.next_round();
        let reach = DVec3::splat(r + 6.0);
        let [ri, rj, rk] = self.cell_range(a.min(b) - reach, a.max(b) + reach);
        for k in rk {
            for j in rj.clone() {
                for i in ri.clone() {
                    for &s in &self.cells[i + self.n[0] * (j + self.n[1] * k)] {
                        if self.stamp[s as usize] == self.round {
                            continue;
                        }
                        self.stamp[s as usize] = self.round;
                        let seg = self.segs[s as usize];
                        if skip(&seg) {
                            continue;
                        }
                        let need = r + seg.r + clearance(seg.kind, seg.r);
                        if segment_distance(a, b, seg.a, seg.b) < need {
                            return Some(seg);
                        }
                    }
                }
            }
        }
        None
    }

    /// How far the tube `a`–`b` of radius `r` intrudes into the clearance of
    /// its worst neighbour (mm; ≤ 0 when clear of all), skipping as
    /// [`Index::first_hit`] does.
    pub fn worst_overlap(
        &mut self,
        a: DVec3,
        b: DVec3,
        r: f64,
        clearance: impl Fn(Kind, f64) -> f64,
        skip: impl Fn(&Seg) -> bool,
    ) -> f64 {
        self.next_round();
        let mut worst = f64::NEG_INFINITY;
        let reach = DVec3::splat(r + 6.0);
        let [ri, rj, rk] = self.cell_range(a.min(b) - reach, a.max(b) + reach);
        for k in rk {
            for j in rj.clone() {
                for i in ri.clone() {
                    for &s in &self.cells[i + self.n[0] * (j + self.n[1] * k)] {
                        if self.stamp[s as usize] == self.round {
                            continue;
                        }
                        self.stamp[s as usize] = self.round;
                        let seg = self.segs[s as usize];
                        if skip(&seg) {
                            continue;
                        }
                        let need = r + seg.r + clearance(seg.kind, seg.r);
                        worst = worst.max(need - segment_distance(a, b, seg.a, seg.b));
                    }
                }
            }
        }
        worst
    }

    /// Stored segments whose radius-inflated bounds come within about `reach`
    /// mm of point `p` (whole cells, so possibly a few more), for
    /// pushing a growing branch away from its neighbours.
    pub fn near(&mut self, p: DVec3, reach: f64, out: &mut Vec<Seg>) {
        out.clear();
        self.next_round();
        let r = DVec3::splat(reach);
        let [ri, rj, rk] = self.cell_range(p - r, p + r);
        for k in rk {
            for j in rj.clone() {
                for i in ri.clone() {
                    for &s in &self.cells[i + self.n[0] * (j + self.n[1] * k)] {
                        if self.stamp[s as usize] != self.round {
                            self.stamp[s as usize] = self.round;
                            out.push(self.segs[s as usize]);
                        }
                    }
                }
            }
        }
    }

    fn next_round(&mut self) {
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.round = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_overlaps_and_respects_skip() {
        let mut ix = Index::new(DVec3::splat(-100.0), DVec3::splat(100.0), 8.0);
        ix.insert(Seg { a: DVec3::ZERO, b: DVec3::new(50.0, 0.0, 0.0), r: 3.0, kind: Kind::Airway, id: 1 });
        let no_gap = |_: Kind, _: f64| 0.0;
        // A parallel tube 5 mm away with radius 1 touches (3 + 1 < 5 is clear).
        assert!(ix.first_hit(DVec3::new(0.0, 5.0, 0.0), DVec3::new(50.0, 5.0, 0.0), 1.0, no_gap, |_| false).is_none());
        assert!(ix.first_hit(DVec3::new(0.0, 5.0, 0.0), DVec3::new(50.0, 5.0, 0.0), 2.5, no_gap, |_| false).is_some());
        assert!(
            ix.first_hit(DVec3::new(0.0, 5.0, 0.0), DVec3::new(50.0, 5.0, 0.0), 2.5, no_gap, |s| s.id == 1).is_none()
        );
        assert!(
            ix.first_hit(DVec3::new(0.0, 5.0, 0.0), DVec3::new(50.0, 5.0, 0.0), 1.0, |_, _| 1.5, |_| false).is_some()
        );
    }
}
