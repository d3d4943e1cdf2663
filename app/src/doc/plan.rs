//! The intervention plan drawn on the scan: the lesion (a sphere), the
//! applicators (entry on the skin, target; the zone from the device table)
//! and ruler measurements, all in patient LPS mm. It lives in the
//! [`Document`] beside the labels; the checks ([`vasa_plan`]) run on it.
//!
//! [`Document`]: super::Document

use glam::DVec3;
use vasa_plan::plan_file::{ApplicatorFile, LesionFile, RulerFile};
use vasa_plan::{DEFAULT_MARGIN_MM, PlanFile, ZoneTable};

/// The lesion: a sphere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lesion {
    /// Centre (patient mm).
    pub centre: DVec3,
    /// Diameter (mm).
    pub diameter_mm: f64,
}

/// One applicator: from `entry` (on the skin) to `target` (its tip, the
/// zone's centre), making the zone of device-table entry `setting`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Applicator {
    /// Where it enters (patient mm).
    pub entry: DVec3,
    /// Its tip (patient mm).
    pub target: DVec3,
    /// The device setting: an entry of the plan's table.
    pub setting: usize,
}

/// A ruler measurement between two points (patient mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// One end.
    pub a: DVec3,
    /// The other.
    pub b: DVec3,
}

impl Measurement {
    /// Its length (mm).
    pub fn length_mm(&self) -> f64 {
        self.a.distance(self.b)
    }
}

/// The plan of the open scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The lesion, once placed.
    pub lesion: Option<Lesion>,
    /// The lesion is painted as the class "lesion" of the shown labels
    /// (any shape); the margin then comes from its voxels.
    pub lesion_painted: bool,
    /// The applicators.
    pub applicators: Vec<Applicator>,
    /// The applicator the panel shows.
    pub selected: Option<usize>,
    /// The margin to reach around the lesion (mm).
    pub margin_mm: f64,
    /// The path may not pass closer than this to a vessel (mm).
    pub path_safety_mm: f64,
    /// The device table the zones come from.
    pub table: ZoneTable,
    /// Ruler measurements.
    pub rulers: Vec<Measurement>,
    /// Bumped at every change (the checks rerun).
    pub revision: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            lesion: None,
            lesion_painted: false,
            applicators: Vec::new(),
            selected: None,
            margin_mm: DEFAULT_MARGIN_MM,
            path_safety_mm: 3.0,
            table: ZoneTable::bundled(),
            rulers: Vec::new(),
            revision: 0,
        }
    }
}

/// Diameter a lesion gets when placed (mm).
pub const DEFAULT_LESION_MM: f64 = 15.0;

impl Plan {
    /// The checks' input for applicator `i`: its zone from the table, the
    /// lesion (or, without one, a 1 mm point at the target).
    pub fn check_input(&self, i: usize) -> Option<vasa_plan::Plan> {
        let a = self.applicators.get(i)?;
        let setting = self.table.entries.get(a.setting).or(self.table.entries.first())?;
        let (centre, diameter) = self.lesion.map_or((a.target, 1.0), |l| (l.centre, l.diameter_mm));
        Some(vasa_plan::Plan {
            entry: a.entry,
            target: a.target,
            lesion_centre: centre,
            lesion_diameter_mm: diameter,
            painted_lesion: self.lesion_painted.then_some(vasa_scan::labels::LESION),
            zone_mm: (setting.length_mm, setting.width_mm),
            margin_mm: self.margin_mm,
            path_safety_mm: self.path_safety_mm,
            modality: setting.modality,
        })
    }

    /// The zone of applicator `i`.
    pub fn zone(&self, i: usize) -> Option<vasa_plan::Zone> {
        self.check_input(i).map(|p| p.zone())
    }

    /// Records a change.
    pub fn changed(&mut self) {
        self.revision += 1;
    }

    /// The setting a new applicator gets: the selected one's, else the
    /// table's middle entry (2 min at 100 W in the shipped table).
    pub fn default_setting(&self) -> usize {
        self.selected.and_then(|i| self.applicators.get(i)).map_or(self.table.entries.len() / 2, |a| a.setting)
    }
}

impl Plan {
    /// True when nothing is planned yet (nothing to save).
    pub fn is_empty(&self) -> bool {
        self.lesion.is_none() && self.applicators.is_empty() && self.rulers.is_empty()
    }

    /// The plan as a file of the scan `scan`: each applicator carries its
    /// whole device setting.
    pub fn to_file(&self, scan: &str) -> PlanFile {
        let fallback = self.table.entries.first();
        PlanFile {
            format: vasa_plan::plan_file::FORMAT.into(),
            version: vasa_plan::plan_file::VERSION,
            scan: scan.into(),
            lesion: self.lesion.map(|l| LesionFile { centre_mm: l.centre.to_array(), diameter_mm: l.diameter_mm }),
            lesion_painted: self.lesion_painted,
            applicators: self
                .applicators
                .iter()
                .filter_map(|a| {
                    let setting = self.table.entries.get(a.setting).or(fallback)?.clone();
                    Some(ApplicatorFile { entry_mm: a.entry.to_array(), target_mm: a.target.to_array(), setting })
                })
                .collect(),
            margin_mm: self.margin_mm,
            path_safety_mm: self.path_safety_mm,
            rulers: self
                .rulers
                .iter()
                .map(|r| RulerFile { a_mm: r.a.to_array(), b_mm: r.b.to_array(), length_mm: r.length_mm() })
                .collect(),
        }
    }

    /// Takes the plan of `file` in place of this one (a new revision). A
    /// setting not in the device table is added to it, so the plan's zones
    /// stay those of the file.
    pub fn load_file(&mut self, file: &PlanFile) {
        let mut table = self.table.clone();
        let mut setting_of = |e: &vasa_plan::ZoneEntry| match table.entries.iter().position(|t| t == e) {
            Some(i) => i,
            None => {
                table.entries.push(e.clone());
                table.entries.len() - 1
            }
        };
        let applicators: Vec<Applicator> = file
            .applicators
            .iter()
            .map(|a| Applicator {
                entry: DVec3::from_array(a.entry_mm),
                target: DVec3::from_array(a.target_mm),
                setting: setting_of(&a.setting),
            })
            .collect();
        let revision = self.revision;
        *self = Plan {
            lesion: file
                .lesion
                .as_ref()
                .map(|l| Lesion { centre: DVec3::from_array(l.centre_mm), diameter_mm: l.diameter_mm }),
            lesion_painted: file.lesion_painted,
            selected: (!applicators.is_empty()).then_some(0),
            applicators,
            margin_mm: file.margin_mm,
            path_safety_mm: file.path_safety_mm,
            table,
            rulers: file
                .rulers
                .iter()
                .map(|r| Measurement { a: DVec3::from_array(r.a_mm), b: DVec3::from_array(r.b_mm) })
                .collect(),
            revision,
        };
        self.changed();
    }

    /// The margin all the zones reach together around the lesion (the
    /// sphere, or the painted one in `labels`), and where it is smallest
    /// (several applicators; `None` without a lesion or a zone).
    pub fn combined_margin(&self, labels: Option<&vasa_scan::LabelMap>) -> Option<(f64, DVec3)> {
        let zones: Vec<vasa_plan::Zone> = (0..self.applicators.len()).filter_map(|i| self.zone(i)).collect();
        if self.lesion_painted {
            return vasa_plan::lesion::painted_margin(labels?, vasa_scan::labels::LESION, &zones);
        }
        let lesion = self.lesion?;
        vasa_plan::union_margin(&zones, lesion.centre, lesion.diameter_mm / 2.0)
    }
}

/// Which end of an applicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Where it enters.
    Entry,
    /// Its tip.
    Target,
}

/// One change of the plan (what the planning tools and panel ask for).
#[derive(Debug, Clone, PartialEq)]
pub enum PlanOp {
    /// Put the lesion's centre here (its diameter kept, or the default).
    PlaceLesion(DVec3),
    /// Remove the lesion.
    RemoveLesion,
    /// The lesion is the painted class "lesion" (true) or the sphere (false).
    LesionPainted(bool),
    /// The lesion's diameter (mm).
    LesionDiameter(f64),
    /// A new applicator (selected).
    AddApplicator {
        /// Its tip.
        target: DVec3,
        /// Where it enters.
        entry: DVec3,
    },
    /// Move an end of applicator `usize`.
    MoveEnd(usize, End, DVec3),
    /// Remove applicator `usize`.
    RemoveApplicator(usize),
    /// Show applicator `usize` in the panel.
    Select(usize),
    /// Applicator `usize` makes the zone of table entry `usize`.
    Setting(usize, usize),
    /// The margin to reach (mm).
    Margin(f64),
    /// The path's safety distance (mm).
    PathSafety(f64),
    /// A ruler measurement.
    AddRuler(DVec3, DVec3),
    /// Remove the rulers.
    ClearRulers,
}

impl Plan {
    /// Carries out `op`; false when it names nothing there or a bad value.
    pub fn apply(&mut self, op: PlanOp) -> bool {
        let ok_mm = |v: f64, max: f64| v.is_finite() && v > 0.0 && v <= max;
        let done = match op {
            PlanOp::PlaceLesion(c) if c.is_finite() => {
                let diameter_mm = self.lesion.map_or(DEFAULT_LESION_MM, |l| l.diameter_mm);
                self.lesion = Some(Lesion { centre: c, diameter_mm });
                true
            }
            PlanOp::RemoveLesion => self.lesion.take().is_some(),
            PlanOp::LesionPainted(on) => std::mem::replace(&mut self.lesion_painted, on) != on,
            PlanOp::LesionDiameter(d) if ok_mm(d, 200.0) => match &mut self.lesion {
                Some(l) => {
                    l.diameter_mm = d;
                    true
                }
                None => false,
            },
            PlanOp::AddApplicator { target, entry } if target.is_finite() && entry.is_finite() && target != entry => {
                let setting = self.default_setting();
                self.applicators.push(Applicator { entry, target, setting });
                self.selected = Some(self.applicators.len() - 1);
                true
            }
            PlanOp::MoveEnd(i, end, to) if to.is_finite() => match self.applicators.get_mut(i) {
                Some(a) => {
                    match end {
                        End::Entry => a.entry = to,
                        End::Target => a.target = to,
                    }
                    true
                }
                None => false,
            },
            PlanOp::RemoveApplicator(i) if i < self.applicators.len() => {
                self.applicators.remove(i);
                self.selected = (!self.applicators.is_empty()).then(|| i.min(self.applicators.len() - 1));
                true
            }
            PlanOp::Select(i) if i < self.applicators.len() => {
                self.selected = Some(i);
                true
            }
            PlanOp::Setting(i, s) if s < self.table.entries.len() => match self.applicators.get_mut(i) {
                Some(a) => {
                    a.setting = s;
                    true
                }
                None => false,
            },
            PlanOp::Margin(m) if m.is_finite() && (0.0..=50.0).contains(&m) => {
                self.margin_mm = m;
                true
            }
            PlanOp::PathSafety(m) if m.is_finite() && (0.0..=50.0).contains(&m) => {
                self.path_safety_mm = m;
                true
            }
            PlanOp::AddRuler(a, b) if a.is_finite() && b.is_finite() => {
                self.rulers.push(Measurement { a, b });
                true
            }
            PlanOp::ClearRulers => {
                let any = !self.rulers.is_empty();
                self.rulers.clear();
                any
            }
            _ => false,
        };
        if done {
            self.changed();
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_applicator_gets_its_zone_from_the_table_and_the_lesion_around_it() {
        let mut plan = Plan::default();
        assert!(plan.check_input(0).is_none());
        plan.applicators.push(Applicator {
            entry: DVec3::new(0.0, -60.0, 0.0),
            target: DVec3::ZERO,
            setting: plan.default_setting(),
        });
        let input = plan.check_input(0).unwrap();
        assert_eq!(input.zone_mm, (28.0, 20.0), "the shipped table's 2 min entry");
        assert_eq!(input.lesion_diameter_mm, 1.0, "no lesion yet: a point at the target");
        plan.lesion = Some(Lesion { centre: DVec3::new(1.0, 0.0, 0.0), diameter_mm: 12.0 });
        let input = plan.check_input(0).unwrap();
        assert_eq!((input.lesion_centre, input.lesion_diameter_mm), (DVec3::new(1.0, 0.0, 0.0), 12.0));
        assert_eq!(Measurement { a: DVec3::ZERO, b: DVec3::new(3.0, 4.0, 0.0) }.length_mm(), 5.0);
    }

    #[test]
    fn plan_ops_change_the_plan_and_bad_ones_do_nothing() {
        let mut plan = Plan::default();
        assert!(!plan.apply(PlanOp::LesionDiameter(10.0)), "no lesion yet");
        assert!(plan.apply(PlanOp::PlaceLesion(DVec3::ONE)));
        assert_eq!(plan.lesion.unwrap().diameter_mm, DEFAULT_LESION_MM);
        assert!(plan.apply(PlanOp::LesionDiameter(22.0)));
        assert!(!plan.apply(PlanOp::LesionDiameter(-1.0)));
        assert!(plan.apply(PlanOp::AddApplicator { target: DVec3::ONE, entry: DVec3::new(1.0, -50.0, 1.0) }));
        assert_eq!(plan.selected, Some(0));
        assert!(!plan.apply(PlanOp::AddApplicator { target: DVec3::ONE, entry: DVec3::ONE }), "no direction");
        assert!(plan.apply(PlanOp::MoveEnd(0, End::Entry, DVec3::new(1.0, -60.0, 1.0))));
        assert!(!plan.apply(PlanOp::MoveEnd(3, End::Entry, DVec3::ZERO)));
        assert!(plan.apply(PlanOp::Setting(0, 2)));
        assert!(!plan.apply(PlanOp::Setting(0, 9)));
        assert_eq!(plan.check_input(0).unwrap().zone_mm, (29.0, 21.0));
        let revision = plan.revision;
        assert!(!plan.apply(PlanOp::Margin(f64::NAN)));
        assert_eq!(plan.revision, revision, "nothing changed");
        assert!(plan.apply(PlanOp::RemoveApplicator(0)));
        assert_eq!(plan.selected, None);
    }

    #[test]
    fn a_plan_survives_its_file_and_keeps_foreign_settings() {
        let mut plan = Plan::default();
        assert!(plan.is_empty());
        plan.apply(PlanOp::PlaceLesion(DVec3::new(5.0, 6.0, 7.0)));
        plan.apply(PlanOp::AddApplicator { target: DVec3::new(5.0, 6.0, 7.0), entry: DVec3::new(5.0, -60.0, 7.0) });
        plan.apply(PlanOp::Setting(0, 2));
        plan.apply(PlanOp::AddRuler(DVec3::ZERO, DVec3::X));
        plan.apply(PlanOp::Margin(7.0));
        let file = plan.to_file("scan");
        let mut back = Plan::default();
        back.load_file(&file);
        assert_eq!(
            (back.lesion, &back.applicators, &back.rulers, back.margin_mm),
            (plan.lesion, &plan.applicators, &plan.rulers, 7.0)
        );
        assert!(back.revision > 0, "loading is a change");
        // A setting from another table is added to this one.
        let mut file = file;
        file.applicators[0].setting.length_mm = 40.0;
        back.load_file(&file);
        assert_eq!(back.table.entries.len(), 4);
        assert_eq!(back.zone(0).unwrap().length_mm, 40.0);
    }

    #[test]
    fn two_applicators_reach_a_margin_neither_reaches_alone() {
        let mut plan = Plan::default();
        plan.apply(PlanOp::PlaceLesion(DVec3::ZERO));
        plan.apply(PlanOp::LesionDiameter(16.0));
        // 3 min zones (29 × 21 mm) side by side, 6 mm either side of the lesion.
        for x in [-6.0, 6.0] {
            plan.apply(PlanOp::AddApplicator { target: DVec3::new(x, 0.0, 0.0), entry: DVec3::new(x, -80.0, 0.0) });
            let last = plan.applicators.len() - 1;
            plan.apply(PlanOp::Setting(last, 2));
        }
        let alone: Vec<f64> = (0..2)
            .map(|i| plan.check_input(i).unwrap().zone())
            .map(|z| -z.signed_distance(DVec3::ZERO).0 - 8.0)
            .collect();
        let (together, _) = plan.combined_margin(None).unwrap();
        assert!(alone.iter().all(|&m| m < 0.0), "{alone:?}");
        assert!(together > alone[0] + 3.0, "together {together} alone {alone:?}");
    }

    #[test]
    fn a_painted_lesion_is_checked_from_its_voxels() {
        use vasa_scan::{Geometry, Volume};
        let g = Geometry::default();
        let mut labels = Volume::filled([40, 40, 40], 0u8, g);
        let c = DVec3::new(20.0, 20.0, 20.0);
        // A 4 × 4 × 12 mm bar of lesion along z, off the zone's centre.
        for k in 14..26 {
            for j in 18..22 {
                for i in 18..22 {
                    labels.data_mut()[i + 40 * (j + 40 * k)] = vasa_scan::labels::LESION;
                }
            }
        }
        let mut plan = Plan::default();
        plan.apply(PlanOp::AddApplicator { target: c, entry: c - DVec3::Y * 60.0 });
        plan.apply(PlanOp::Setting(0, 1)); // 28 × 20 mm: across the axis, 10 mm
        assert!(plan.apply(PlanOp::LesionPainted(true)));
        let report = plan.check_input(0).unwrap().check(&labels).unwrap();
        // The bar's ends reach z = 20 ± 6 (voxel faces): 4 mm from the
        // zone's 10 mm radius, less the corner's reach across.
        assert!(report.margin_mm > 2.0 && report.margin_mm < 4.1, "{}", report.margin_mm);
        assert!(!report.covered && report.warnings.iter().any(|w| w.contains("margin")));
        // Without lesion voxels the check says so.
        let empty = Volume::filled([40, 40, 40], 0u8, g);
        assert!(plan.check_input(0).unwrap().check(&empty).is_err());
        // Two applicators: the combined margin comes from the voxels too.
        plan.apply(PlanOp::AddApplicator { target: c, entry: c - DVec3::Z * 60.0 });
        let (together, _) = plan.combined_margin(Some(&labels)).unwrap();
        assert!(
            together > report.margin_mm + 1.0 && together < 10.0,
            "a zone along the bar covers its ends: {together}"
        );
    }
}
