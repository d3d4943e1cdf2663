//! The work running on worker threads, in one list. Each task has a kind
//! (where its progress shows, whether a new one replaces it) and ends in a
//! typed [`Outcome`] or an [`AppError`]; the app takes finished tasks once
//! a frame and acts on them ([`VasaApp::poll_tasks`]). A new feature adds
//! an outcome and its handling here, not a slot in the app.

use std::collections::VecDeque;
use std::path::PathBuf;

use vasa_scan::dicom::DicomIndex;

use super::VasaApp;
use super::chrome::notices::Level;
use super::chrome::series_picker::SeriesPicker;
use super::extraction::Extracted;
use super::job::{Job, Reporter};
use super::loading::{Loaded, Opened, Source};
use crate::doc::LabelLayer;
use crate::error::AppError;

/// What a task is for.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    /// Opening a scan (one at a time: a new one replaces it). Its progress
    /// is in the status bar.
    Open(Source),
    /// Extracting vessels (one at a time). Its progress is in the side panel.
    Extraction,
    /// Sending the shown labels to the GPU (one at a time; not shown).
    LabelUpload,
    /// Counting the pieces of an edited layer for the legend (one at a
    /// time; not shown).
    CountPieces,
    /// Anything else — opening labels, saving, screenshots, autosave — any
    /// number at once, each a line in the status bar.
    Background,
}

impl TaskKind {
    /// True when starting `self` replaces a running task of `other`'s kind.
    fn replaces(&self, other: &TaskKind) -> bool {
        !matches!(self, TaskKind::Background) && std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// The order finished tasks are handled in within a frame: a scan that
    /// opened first, so results meant for the scan it replaces are dropped.
    fn order(&self) -> u8 {
        match self {
            TaskKind::Open(_) => 0,
            TaskKind::Extraction => 1,
            TaskKind::LabelUpload => 2,
            TaskKind::CountPieces => 3,
            TaskKind::Background => 4,
        }
    }
}

/// What a task produced.
pub enum Outcome {
    /// A scan, ready to show.
    Scan(Box<Loaded>),
    /// A folder with several series: the user picks one.
    SeriesList {
        /// The series found.
        index: DicomIndex,
        /// A thumbnail of each (`None` where it could not be decoded).
        thumbnails: Vec<Option<egui::ColorImage>>,
    },
    /// Labels for the scan the task was started on.
    Labels(LabelLayer),
    /// The vessels of the scan the task was started on.
    Extracted(Box<Extracted>),
    /// The GPU holds this revision of this layer's labels.
    LabelsOnGpu {
        /// The layer's id.
        layer: u64,
        /// Its revision.
        revision: u64,
    },
    /// Layer `layer` written to `path`.
    Saved {
        /// The layer's id.
        layer: u64,
        /// Where.
        path: PathBuf,
    },
    /// The plan's revision `revision` written to `path`.
    PlanSaved {
        /// The revision written.
        revision: u64,
        /// Where.
        path: PathBuf,
    },
    /// A plan read for the scan the task was started on.
    PlanRead {
        /// The plan.
        file: Box<vasa_plan::PlanFile>,
        /// Where from.
        path: PathBuf,
        /// From the crash-safe session (still to be saved), not a saved file.
        restored: bool,
    },
    /// An export written: what, in words.
    Exported(String),
    /// A screenshot written.
    Screenshot(PathBuf),
    /// Unsaved labels of a scan that was closed, kept at this path.
    Autosaved(PathBuf),
    /// The crash-safe session written to this folder (quietly: it happens
    /// every minute).
    SessionSaved(PathBuf),
    /// The legend's figures of revision `revision` of layer `layer`.
    PiecesCounted {
        /// The layer's id.
        layer: u64,
        /// The revision counted.
        revision: u64,
        /// Volume and pieces per class.
        stats: Vec<vasa_inference::segment::ClassStats>,
    },
}

impl From<Opened> for Outcome {
    fn from(o: Opened) -> Self {
        match o {
            Opened::Scan(l) => Outcome::Scan(l),
            Opened::ChooseSeries { index, thumbnails } => Outcome::SeriesList { index, thumbnails },
            Opened::Labels(l) => Outcome::Labels(l),
        }
    }
}

/// A running task.
pub struct Task {
    /// What it is for.
    pub kind: TaskKind,
    /// The document it was started on (0: none).
    pub generation: u64,
    /// The worker.
    pub job: Job<Result<Outcome, AppError>>,
}

/// A task that ended.
pub struct Finished {
    /// What it was for.
    pub kind: TaskKind,
    /// The document it was started on.
    pub generation: u64,
    /// The user asked it to stop (it may have finished anyway).
    pub cancelled: bool,
    /// What it produced.
    pub result: Result<Outcome, AppError>,
}

/// The running tasks, and those finished but not handled yet.
#[derive(Default)]
pub struct Tasks {
    running: Vec<Task>,
    finished: VecDeque<Finished>,
}

impl Tasks {
    /// Starts `work` on a worker thread; a running task of the same
    /// exclusive kind is cancelled and forgotten (its result too).
    pub fn spawn(
        &mut self,
        ctx: &egui::Context,
        kind: TaskKind,
        generation: u64,
        what: impl Into<String>,
        work: impl FnOnce(&Reporter) -> Result<Outcome, AppError> + Send + 'static,
    ) {
        self.cancel_where(|k| kind.replaces(k));
        self.running.push(Task { kind, generation, job: Job::spawn(ctx, what, work) });
    }

    /// Cancels and forgets the tasks whose kind matches, running or
    /// finished but not handled.
    pub fn cancel_where(&mut self, matches: impl Fn(&TaskKind) -> bool) {
        self.running.retain(|t| {
            if matches(&t.kind) {
                t.job.cancel();
            }
            !matches(&t.kind)
        });
        self.finished.retain(|f| !matches(&f.kind));
    }

    /// Moves the tasks that ended to the queue [`Tasks::next_finished`] reads.
    pub fn poll(&mut self) {
        let mut i = 0;
        while i < self.running.len() {
            let Some(result) = self.running[i].job.outcome() else {
                i += 1;
                continue;
            };
            let task = self.running.remove(i);
            let cancelled = task.job.is_cancelling();
            let done = Finished { kind: task.kind, generation: task.generation, cancelled, result };
            let at = self.finished.iter().position(|f| f.kind.order() > done.kind.order());
            self.finished.insert(at.unwrap_or(self.finished.len()), done);
        }
    }

    /// The next finished task to handle: openings first, then extractions,
    /// uploads and the rest, each in the order they ended.
    pub fn next_finished(&mut self) -> Option<Finished> {
        self.finished.pop_front()
    }

    /// The scan being opened, if any.
    pub fn opening(&self) -> Option<&Task> {
        self.running.iter().find(|t| matches!(t.kind, TaskKind::Open(_)))
    }

    /// The extraction running, if any.
    pub fn extraction(&self) -> Option<&Task> {
        self.running.iter().find(|t| t.kind == TaskKind::Extraction)
    }

    /// True while an edited layer's pieces are counted.
    pub fn counting_pieces(&self) -> bool {
        self.running.iter().any(|t| t.kind == TaskKind::CountPieces)
    }

    /// True while labels go to the GPU.
    pub fn uploading_labels(&self) -> bool {
        self.running.iter().any(|t| t.kind == TaskKind::LabelUpload)
    }

    /// The background tasks running.
    pub fn background(&self) -> impl Iterator<Item = &Task> {
        self.running.iter().filter(|t| t.kind == TaskKind::Background)
    }

    /// True when nothing runs.
    pub fn is_idle(&self) -> bool {
        self.running.is_empty()
    }
}

impl VasaApp {
    /// Takes the tasks that ended and acts on their outcomes.
    pub(super) fn poll_tasks(&mut self, ctx: &egui::Context) {
        self.tasks.poll();
        while let Some(done) = self.tasks.next_finished() {
            self.on_finished(ctx, done);
        }
    }

    fn on_finished(&mut self, ctx: &egui::Context, done: Finished) {
        let Finished { kind, generation, cancelled, result } = done;
        let current = self.doc.as_ref().is_some_and(|d| d.generation == generation);
        match (kind, result) {
            // Cancelled after the work was done: the user still said no.
            (TaskKind::Open(source), _) if cancelled => {
                self.notices.push(Level::Info, format!("stopped opening {}", source.describe()));
            }
            (TaskKind::Open(_), Err(e)) => {
                // `--extract` was for the scan that failed, not the next one.
                self.extract_on_open = false;
                self.notices.push(Level::Error, e.to_string());
            }
            (TaskKind::Extraction, Err(AppError::Cancelled)) => self.notices.push(Level::Info, "extraction cancelled"),
            (TaskKind::Extraction, Err(e)) => self.notices.push(Level::Error, format!("extraction failed: {e}")),
            (TaskKind::LabelUpload, Err(e)) => self.gpu_error = Some(e.to_string()),
            (TaskKind::Background, Err(e)) => self.notices.push(Level::Error, e.to_string()),
            (TaskKind::CountPieces, Err(e)) => tracing::warn!("counting pieces: {e}"),
            (_, Ok(outcome)) => self.on_outcome(ctx, outcome, current),
        }
    }

    /// Acts on what a task produced; `current`: it was started on the open document.
    fn on_outcome(&mut self, ctx: &egui::Context, outcome: Outcome, current: bool) {
        match outcome {
            Outcome::Scan(loaded) => self.show_scan(ctx, *loaded),
            Outcome::SeriesList { index, thumbnails } => {
                let root = index.root.clone();
                self.picker = Some((SeriesPicker::new(index, thumbnails), root));
            }
            Outcome::Labels(layer) if current => self.add_layer(layer),
            Outcome::Extracted(x) if current => {
                let total: f64 = x.timings.iter().map(|(_, d)| d.as_secs_f64()).sum();
                let mut text = format!("vessels extracted in {total:.1} s");
                if x.phase != vasa_inference::refine::PhaseHint::Auto {
                    text.push_str(&format!(" (refined as {})", x.phase.name()));
                }
                if let Some(f) = self.frame_stats.summary() {
                    text.push_str(&format!(
                        "; meanwhile {} frames, UI work median {:.1} ms (max {:.1} ms), longest gap between frames {:.0} ms",
                        f.frames, f.median_ms, f.max_ms, f.max_gap_ms
                    ));
                }
                tracing::info!("{text}");
                self.notices.push(Level::Info, text);
                self.add_layer(x.raw);
                self.add_layer(x.vessels);
            }
            Outcome::Labels(_) | Outcome::Extracted(_) => {}
            Outcome::LabelsOnGpu { layer, revision } => {
                if let Some(v) = &mut self.views {
                    v.labels_on_gpu(layer, revision);
                }
            }
            Outcome::Saved { layer, path } => {
                if let Some(l) = self.doc.as_mut().and_then(|d| d.layers.get_mut(layer)) {
                    l.unsaved = false;
                }
                self.notices.push(Level::Info, format!("saved labels to {}", path.display()));
            }
            Outcome::PlanSaved { revision, path } => {
                if let Some(d) = &mut self.doc {
                    d.plan_saved = d.plan_saved.max(revision);
                }
                self.notices.push(Level::Info, format!("saved the plan to {}", path.display()));
            }
            Outcome::PlanRead { file, path, restored } => {
                if let Some(d) = &mut self.doc {
                    d.plan.load_file(&file);
                    if !restored {
                        d.plan_saved = d.plan.revision;
                        let n = d.plan.applicators.len();
                        self.notices.push(Level::Info, format!("opened the plan {} ({n} applicators)", path.display()));
                    }
                    if !file.scan.is_empty() && file.scan != d.scan.name {
                        self.notices.push(
                            Level::Warning,
                            format!(
                                "{}: planned on scan \"{}\", shown on \"{}\"",
                                path.display(),
                                file.scan,
                                d.scan.name
                            ),
                        );
                    }
                }
            }
            Outcome::Exported(what) => self.notices.push(Level::Info, what),
            Outcome::Autosaved(path) => {
                self.notices
                    .push(Level::Warning, format!("unsaved labels of the previous scan kept in {}", path.display()));
            }
            Outcome::Screenshot(path) => {
                self.notices.push(Level::Info, format!("saved screenshot {}", path.display()));
            }
            Outcome::SessionSaved(dir) => tracing::debug!("session autosaved in {}", dir.display()),
            Outcome::PiecesCounted { layer, revision, stats } => {
                if let Some(l) = self.doc.as_mut().and_then(|d| d.layers.get_mut(layer)) {
                    l.set_counted(revision, stats);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn wait_all(tasks: &mut Tasks) -> Vec<Finished> {
        let start = Instant::now();
        while !tasks.is_idle() {
            assert!(start.elapsed() < Duration::from_secs(20), "tasks did not finish");
            tasks.poll();
            std::thread::sleep(Duration::from_millis(2));
        }
        std::iter::from_fn(|| tasks.next_finished()).collect()
    }

    #[test]
    fn finished_tasks_come_back_typed_openings_first_and_a_new_one_replaces_its_kind() {
        let ctx = egui::Context::default();
        let mut tasks = Tasks::default();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        tasks.spawn(&ctx, TaskKind::Background, 1, "Screenshot", |_| Ok(Outcome::Screenshot("a.png".into())));
        tasks.spawn(&ctx, TaskKind::Extraction, 1, "Extracting", move |r| {
            let _ = wait.recv();
            if r.cancelled() { Err(AppError::Cancelled) } else { Ok(Outcome::Autosaved("never".into())) }
        });
        assert!(tasks.extraction().is_some());
        // A second extraction replaces the first (cancelled, its result dropped).
        tasks.spawn(&ctx, TaskKind::Extraction, 1, "Extracting again", |_| Err(AppError::NoSuchSeries));
        go.send(()).ok();
        tasks.spawn(&ctx, TaskKind::Open(Source::Sample), 0, "Opening", |_| Err(AppError::NotFound("x".into())));
        let done = wait_all(&mut tasks);
        let kinds: Vec<_> = done.iter().map(|f| f.kind.clone()).collect();
        assert_eq!(kinds, vec![TaskKind::Open(Source::Sample), TaskKind::Extraction, TaskKind::Background]);
        assert!(matches!(done[0].result, Err(AppError::NotFound(_))));
        assert!(matches!(done[1].result, Err(AppError::NoSuchSeries)), "the replacement's result");
        assert!(matches!(&done[2].result, Ok(Outcome::Screenshot(p)) if p == &PathBuf::from("a.png")));
        assert!(done.iter().all(|f| !f.cancelled));
    }

    #[test]
    fn cancelling_a_kind_forgets_its_unhandled_results() {
        let ctx = egui::Context::default();
        let mut tasks = Tasks::default();
        tasks.spawn(&ctx, TaskKind::LabelUpload, 1, "labels", |_| Ok(Outcome::LabelsOnGpu { layer: 1, revision: 0 }));
        let start = Instant::now();
        while !tasks.is_idle() {
            assert!(start.elapsed() < Duration::from_secs(20));
            tasks.poll();
        }
        tasks.cancel_where(|k| *k == TaskKind::LabelUpload);
        assert!(tasks.next_finished().is_none());
    }
}
