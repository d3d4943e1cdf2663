//! The plan's checks, recomputed on a worker whenever the plan or the shown
//! labels change (a check reads the whole label map: too slow for the UI
//! thread on a big scan); the newest result stays shown meanwhile.

use std::sync::Arc;

use vasa_plan::Report;
use vasa_scan::LabelMap;

use super::job::Job;
use crate::doc::Plan;

/// What the checks were run on: the plan's revision, the layer and its revision.
type Key = (u64, u64, u64);

/// Per applicator: the report, or why it could not be made.
type Reports = Vec<Result<Report, String>>;

/// What a check run finds: the reports, and the margin of all the zones together.
type Found = (Reports, Option<(f64, glam::DVec3)>);

/// The checks of every applicator.
#[derive(Default)]
pub struct PlanChecks {
    /// Per applicator: the report, or why it could not be made.
    pub reports: Reports,
    /// With two applicators or more: the margin all the zones reach
    /// together around the lesion, and where it is smallest.
    pub combined: Option<(f64, glam::DVec3)>,
    /// What the reports are of.
    shown: Option<Key>,
    job: Option<(Key, Job<Result<Found, crate::error::AppError>>)>,
}

impl PlanChecks {
    /// True while a check runs.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// True when the reports are of the plan and labels as they are.
    pub fn current(&self, plan: &Plan, layer: (u64, u64)) -> bool {
        self.shown == Some((plan.revision, layer.0, layer.1))
    }

    /// Takes a finished check; starts one when the plan or labels changed
    /// (one at a time: a change during a run is checked after it).
    pub fn update(&mut self, ctx: &egui::Context, plan: &Plan, labels: Option<(&Arc<LabelMap>, u64, u64)>) {
        if let Some((key, job)) = &self.job
            && let Some(result) = job.outcome()
        {
            (self.reports, self.combined) = result.unwrap_or_else(|e| (vec![Err(e.to_string())], None));
            self.shown = Some(*key);
            self.job = None;
        }
        let Some((labels, id, revision)) = labels else {
            self.reports.clear();
            self.combined = None;
            return;
        };
        let key = (plan.revision, id, revision);
        if self.shown == Some(key) || self.job.is_some() {
            return;
        }
        if plan.applicators.is_empty() {
            self.reports.clear();
            self.combined = None;
            self.shown = Some(key);
            return;
        }
        let inputs: Vec<Option<vasa_plan::Plan>> = (0..plan.applicators.len()).map(|i| plan.check_input(i)).collect();
        let labels = labels.clone();
        let several = (plan.applicators.len() > 1).then(|| plan.clone());
        self.job = Some((
            key,
            Job::spawn(ctx, "Checking the plan", move |_| {
                let reports = inputs
                    .into_iter()
                    .map(|p| match p {
                        Some(p) => p.check(&labels).map_err(|e| e.to_string()),
                        None => Err("no zone for this applicator (empty device table)".into()),
                    })
                    .collect();
                Ok((reports, several.and_then(|plan| plan.combined_margin(Some(&labels)))))
            }),
        ));
    }
}
