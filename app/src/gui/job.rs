//! Work that runs on a worker thread while the UI keeps drawing: loading a
//! scan, extracting vessels, building surfaces. A [`Job`] carries the
//! result back over a channel and shares a [`Status`] (stage and fraction
//! done) and a cancel flag with the worker; [`progress_ui`] draws it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::AppError;

/// How often the window redraws while a job runs, to show its progress.
pub const REDRAW_WHILE_BUSY: Duration = Duration::from_millis(500);

/// Where a job is.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// What it is doing now, in words ("reading slices", "network", ...).
    pub stage: String,
    /// Fraction of the whole job done, 0–1; `None` while unknown.
    pub fraction: Option<f32>,
}

/// The worker's side of a job: report progress, check for cancellation.
#[derive(Clone)]
pub struct Reporter {
    status: Arc<Mutex<Status>>,
    cancel: Arc<AtomicBool>,
    ctx: egui::Context,
}

impl Reporter {
    /// Sets the stage and the fraction done. It does not wake the UI: the
    /// window redraws twice a second while any job runs
    /// ([`REDRAW_WHILE_BUSY`]), so a chatty worker does not make it redraw
    /// for every step (on a software GPU those redraws take CPU from the worker).
    pub fn set(&self, stage: &str, fraction: Option<f32>) {
        if let Ok(mut s) = self.status.lock() {
            if s.stage != stage {
                s.stage = stage.to_string();
            }
            s.fraction = fraction.map(|f| f.clamp(0.0, 1.0));
        }
    }

    /// The cancel flag, for library calls that take one.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// True once the user pressed Cancel.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// A piece of work running on its own thread, producing a `T`.
pub struct Job<T> {
    /// What the job is, for the progress line ("Extracting vessels").
    pub what: String,
    rx: Receiver<T>,
    status: Arc<Mutex<Status>>,
    cancel: Arc<AtomicBool>,
    started: Instant,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread; the UI is woken when it finishes.
    pub fn spawn(
        ctx: &egui::Context,
        what: impl Into<String>,
        work: impl FnOnce(&Reporter) -> T + Send + 'static,
    ) -> Self {
        let (tx, rx) = channel();
        let status = Arc::new(Mutex::new(Status { stage: "starting".into(), fraction: None }));
        let cancel = Arc::new(AtomicBool::new(false));
        let reporter = Reporter { status: status.clone(), cancel: cancel.clone(), ctx: ctx.clone() };
        let what = what.into();
        let name = what.clone();
        let spawned = std::thread::Builder::new().name(format!("vasa: {name}")).spawn(move || {
            let out = work(&reporter);
            let _ = tx.send(out);
            reporter.ctx.request_repaint();
        });
        match spawned {
            Ok(handle) => {
                let registry = workers(ctx);
                let mut list = registry.lock().unwrap_or_else(|e| e.into_inner());
                // Join the workers that have ended (a joined thread frees its stack).
                let (done, running): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut *list).into_iter().partition(|(_, h)| h.is_finished());
                for (_, h) in done {
                    let _ = h.join();
                }
                *list = running;
                list.push((cancel.clone(), handle));
            }
            Err(e) => tracing::error!("cannot start a worker thread for {what}: {e}"),
        }
        Job { what, rx, status, cancel, started: Instant::now() }
    }
}

impl<T> Job<T> {
    /// `None` while the worker runs; then, exactly once, its result, or an
    /// error when the worker ended without one (it panicked). One channel
    /// read decides both, so a result that arrives between two checks is
    /// never lost.
    pub fn finished(&self) -> Option<Result<T, AppError>> {
        match self.rx.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(AppError::WorkerLost { what: self.what.to_lowercase() })),
        }
    }

    /// Asks the worker to stop; it returns early at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// True once cancelling was asked for.
    pub fn is_cancelling(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Current stage and fraction.
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or(Status { stage: String::new(), fraction: None })
    }

    /// Time since the job started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Estimated time left, from the elapsed time and the fraction done
    /// (`None` until 2 % is done and one second has passed).
    pub fn eta(&self) -> Option<Duration> {
        let f = self.status().fraction? as f64;
        let t = self.elapsed().as_secs_f64();
        (f >= 0.02 && t >= 1.0).then(|| Duration::from_secs_f64(t * (1.0 - f) / f))
    }
}

/// The worker threads started for one window (egui context): their cancel
/// flags and handles, so that the window's owner can stop and join them
/// before it goes ([`stop_workers`]).
type Workers = Arc<Mutex<Vec<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>>>;

/// The worker registry of `ctx` (made on first use; kept in its memory).
fn workers(ctx: &egui::Context) -> Workers {
    ctx.data_mut(|d| d.get_temp_mut_or_default::<Workers>(egui::Id::unique("vasa workers")).clone())
}

/// Cancels every worker started for `ctx` and joins those that end within
/// `patience`; returns how many were still running then (they are left to
/// the process's exit). Called when the viewer goes, so no worker is still
/// busy while the process tears down its libraries.
pub fn stop_workers(ctx: &egui::Context, patience: Duration) -> usize {
    let list = std::mem::take(&mut *workers(ctx).lock().unwrap_or_else(|e| e.into_inner()));
    for (cancel, _) in &list {
        cancel.store(true, Ordering::Relaxed);
    }
    let deadline = Instant::now() + patience;
    let mut left = list;
    while !left.is_empty() && Instant::now() < deadline {
        let (done, running): (Vec<_>, Vec<_>) = left.into_iter().partition(|(_, h)| h.is_finished());
        for (_, h) in done {
            let _ = h.join();
        }
        left = running;
        if !left.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    left.len()
}

/// A job nobody waits for any more is told to stop.
impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl<T> Job<Result<T, AppError>> {
    /// [`Job::finished`] for jobs that can fail: one `Result` either way.
    pub fn outcome(&self) -> Option<Result<T, AppError>> {
        self.finished().map(|r| r.and_then(|x| x))
    }
}

/// "12 s", "3 min 05 s".
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 { format!("{s} s") } else { format!("{} min {:02} s", s / 60, s % 60) }
}

/// Draws a job's progress bar (stage, percent, ETA) and a Cancel button;
/// returns true when Cancel was clicked.
pub fn progress_ui<T>(ui: &mut egui::Ui, job: &Job<T>) -> bool {
    let status = job.status();
    let mut text = format!("{}: {}", job.what, status.stage);
    if let Some(f) = status.fraction {
        text.push_str(&format!("  {:.0} %", f * 100.0));
    }
    match job.eta() {
        Some(eta) => text.push_str(&format!("  about {} left", format_duration(eta))),
        None => text.push_str(&format!("  {} elapsed", format_duration(job.elapsed()))),
    }
    if job.is_cancelling() {
        text.push_str("  (cancelling…)");
    }
    let mut clicked = false;
    ui.horizontal(|ui| {
        let width = (ui.available_width() - 80.0).clamp(120.0, 520.0);
        let bar = egui::ProgressBar::new(status.fraction.unwrap_or(0.0)).text(text).desired_width(width);
        let bar = if status.fraction.is_none() { bar.animate(true) } else { bar };
        ui.add(bar);
        clicked = ui.add_enabled(!job.is_cancelling(), egui::Button::new("Cancel")).clicked();
    });
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait<T>(job: &Job<T>) -> T {
        let t = Instant::now();
        loop {
            if let Some(v) = job.finished() {
                return v.expect("the worker finished");
            }
            assert!(t.elapsed() < Duration::from_secs(20), "job did not finish");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_job_reports_progress_and_stops_when_cancelled() {
        let ctx = egui::Context::default();
        let (go_tx, go_rx) = channel::<()>();
        let job = Job::spawn(&ctx, "counting", move |r| {
            r.set("half", Some(0.5));
            let _ = go_rx.recv();
            let mut n = 0u64;
            while !r.cancelled() {
                n += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            n
        });
        // The worker sets its stage before waiting for us.
        let t = Instant::now();
        while job.status().stage != "half" {
            assert!(t.elapsed() < Duration::from_secs(20));
            std::thread::yield_now();
        }
        assert_eq!(job.status().fraction, Some(0.5));
        assert!(job.finished().is_none(), "still running");
        go_tx.send(()).unwrap();
        job.cancel();
        assert!(job.is_cancelling());
        let _ = wait(&job);
    }

    #[test]
    fn eta_follows_the_fraction_done() {
        let ctx = egui::Context::default();
        let job = Job::spawn(&ctx, "x", |r| r.set("a", Some(0.25)));
        wait(&job);
        assert_eq!(job.eta(), None, "no estimate in the first second");
        let mut job = job;
        job.started = Instant::now() - Duration::from_secs(10);
        let eta = job.eta().unwrap().as_secs_f64();
        assert!((eta - 30.0).abs() < 1.0, "{eta}");
        assert_eq!(format_duration(Duration::from_secs(185)), "3 min 05 s");
    }

    #[test]
    fn a_panicking_worker_is_reported_as_lost() {
        let ctx = egui::Context::default();
        let job: Job<Result<(), AppError>> = Job::spawn(&ctx, "Boom", |_| panic!("worker failed"));
        let t = Instant::now();
        let outcome = loop {
            if let Some(o) = job.outcome() {
                break o;
            }
            assert!(t.elapsed() < Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(5));
        };
        let e = outcome.unwrap_err();
        assert!(matches!(e, AppError::WorkerLost { .. }), "{e:?}");
        assert_eq!(e.to_string(), "boom stopped unexpectedly (a bug: see the log)");
    }

    #[test]
    fn stopping_the_workers_cancels_and_joins_them_and_counts_the_stubborn_ones() {
        let ctx = egui::Context::default();
        let ended = Arc::new(AtomicBool::new(false));
        let flag = ended.clone();
        // One worker that stops when cancelled, one that ignores it for a while.
        let polite = Job::spawn(&ctx, "polite", move |r| {
            while !r.cancelled() {
                std::thread::sleep(Duration::from_millis(2));
            }
            flag.store(true, Ordering::Relaxed);
        });
        let stubborn = Job::spawn(&ctx, "stubborn", |_| std::thread::sleep(Duration::from_millis(600)));
        std::mem::forget(polite); // its Drop would cancel it: the registry must do it
        let left = stop_workers(&ctx, Duration::from_millis(200));
        assert!(ended.load(Ordering::Relaxed), "the polite worker was cancelled and joined");
        assert_eq!(left, 1, "the stubborn one is still running");
        // Another context's workers are not touched.
        let other = egui::Context::default();
        let mine = Job::spawn(&other, "other window", |r| {
            std::thread::sleep(Duration::from_millis(50));
            r.cancelled()
        });
        assert_eq!(stop_workers(&ctx, Duration::from_millis(10)), 0, "nothing left for the first window");
        assert!(!wait(&mine), "not cancelled by the first window's stop");
        drop(stubborn);
    }
}
