//! Kiosk mode (`vasa --kiosk`) for conference booths: a guided loop that
//! opens the bundled sample, extracts the vessels with live progress, turns
//! the 3D tree, shows the arteries, veins and aorta one by one, and a
//! planned ablation with its warnings, a short caption with each step. A
//! touch, click or key hands over to free exploration; after some time
//! without input the loop starts again from a fresh sample. File dialogs
//! and quitting are locked (Ctrl+Alt+Q quits).
//!
//! The loop drives the app through the same methods the menus use, so the
//! booth shows the real thing. Each loop logs the process's resident memory
//! (Linux), and `--kiosk-loops N` quits after N loops and prints the slope,
//! to show that a day of running leaves memory flat.

use std::time::{Duration, Instant};

use glam::DVec3;

use super::VasaApp;
use super::actions::{ActionKind, KioskPolicy};
use super::loading::Source;
use crate::doc::plan::PlanOp;

/// The steps of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Open the sample.
    Open,
    /// Extract the vessels (the progress shows in the status bar).
    Extract,
    /// Turn the 3D tree.
    Rotate,
    /// One class alone (1 artery, 2 vein, 3 aorta).
    Class(u8),
    /// A planned ablation with its checks.
    Plan,
}

impl Step {
    /// The caption shown during the step.
    pub fn caption(self) -> &'static str {
        match self {
            Step::Open => "A chest CT: 213 slices, 1.5 mm apart",
            Step::Extract => {
                "A 3D network finds the pulmonary arteries, veins and the aorta, then CT numbers refine them"
            }
            Step::Rotate => "The vessel tree in 3D, in patient space",
            Step::Class(1) => "Pulmonary arteries: they carry blood from the heart to the lungs",
            Step::Class(2) => "Pulmonary veins: they bring it back",
            Step::Class(_) => "The aorta",
            Step::Plan => {
                "A planned lung ablation: the zone must cover the lesion with 5 mm to spare; \
                           vessels near it carry heat away"
            }
        }
    }

    /// How long the step is shown at normal speed (steps that wait for work
    /// last until it is done).
    fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Step::Open | Step::Extract => 0,
            Step::Rotate => 12,
            Step::Class(_) => 5,
            Step::Plan => 14,
        })
    }

    fn next(self) -> Step {
        match self {
            Step::Open => Step::Extract,
            Step::Extract => Step::Rotate,
            Step::Rotate => Step::Class(1),
            Step::Class(c) if c < 3 => Step::Class(c + 1),
            Step::Class(_) => Step::Plan,
            Step::Plan => Step::Open,
        }
    }
}

/// What the booth is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// The guided loop, at this step.
    Tour(Step),
    /// A visitor explores; the tour resumes once input stops for the idle time.
    Exploring,
}

/// The kiosk's state.
pub struct Kiosk {
    /// Where the booth is.
    pub phase: Phase,
    /// When the current step (or the last input while exploring) began.
    since: Instant,
    /// Whether the current step has started its work.
    started: bool,
    /// Input-free time after which exploring returns to the tour.
    pub idle_reset: Duration,
    /// Time runs this much faster for the steps' durations (tests, soak runs).
    pub speed: f64,
    /// Loops completed.
    pub loops: u64,
    /// Quit after this many loops (soak runs).
    pub max_loops: Option<u64>,
    /// Resident memory (MB) at the start of each loop.
    pub rss_mb: Vec<f64>,
    /// What the tour opens.
    pub source: Source,
    /// The window was asked to fill the screen.
    resized: bool,
    /// When the kiosk started.
    pub created: Instant,
}

/// The policy of a booth: no file dialogs, no saving, no quitting.
pub fn policy() -> KioskPolicy {
    KioskPolicy::forbidding([ActionKind::OpenFiles, ActionKind::SaveFiles, ActionKind::Quit])
}

impl Kiosk {
    /// A tour of `source` (the sample in a booth).
    pub fn new(source: Source) -> Kiosk {
        Kiosk {
            phase: Phase::Tour(Step::Open),
            since: Instant::now(),
            started: false,
            idle_reset: Duration::from_secs(60),
            speed: 1.0,
            loops: 0,
            max_loops: None,
            rss_mb: Vec::new(),
            source,
            resized: false,
            created: Instant::now(),
        }
    }

    /// The caption to show now.
    pub fn caption(&self) -> String {
        match self.phase {
            Phase::Tour(step) => step.caption().to_string(),
            Phase::Exploring => format!(
                "Explore: drag to turn, scroll the slices. The tour resumes after {} s without a touch.",
                self.idle_reset.as_secs()
            ),
        }
    }

    fn go(&mut self, phase: Phase) {
        self.phase = phase;
        self.since = Instant::now();
        self.started = false;
    }

    /// Scaled time since the step began.
    fn elapsed(&self) -> Duration {
        self.since.elapsed().mul_f64(self.speed.max(0.01))
    }
}

/// True when the visitor touched, clicked, scrolled or typed this frame.
fn visitor_input(ctx: &egui::Context) -> bool {
    ctx.input(|i| {
        i.events.iter().any(|e| {
            matches!(
                e,
                egui::Event::PointerButton { pressed: true, .. }
                    | egui::Event::Key { pressed: true, .. }
                    | egui::Event::Touch { .. }
                    | egui::Event::MouseWheel { .. }
            )
        })
    })
}

/// True when the window fills the monitor (within 2 points); false while
/// either size is unknown.
pub fn fills_screen(ctx: &egui::Context) -> bool {
    let (monitor, inner) = ctx.input(|i| (i.viewport().monitor_size, i.viewport().inner_rect));
    match (monitor, inner) {
        (Some(m), Some(r)) if m.x > 0.0 => (r.size() - m).length() <= 2.0,
        _ => false,
    }
}

/// How long a kiosk screenshot waits for the window to fill the screen
/// (a platform that never says the monitor's size gets the window as is).
pub const FILL_WAIT: Duration = Duration::from_secs(5);

/// The key combination that quits a booth.
pub fn quit_pressed(ctx: &egui::Context) -> bool {
    ctx.input(|i| i.modifiers.ctrl && i.modifiers.alt && i.key_pressed(egui::Key::Q))
}

/// Resident memory of this process (MB), where the system says (Linux).
pub fn resident_mb() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / 1e6)
}

/// Least-squares slope of `ys` over their index (per loop).
pub fn slope(ys: &[f64]) -> Option<f64> {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return None;
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in ys.iter().enumerate() {
        sxy += (x as f64 - mx) * (y - my);
        sxx += (x as f64 - mx).powi(2);
    }
    Some(sxy / sxx)
}

impl VasaApp {
    /// Turns this app into a booth: the loop over the sample, the locked
    /// policy, no autosave (visitors' edits are not kept).
    pub fn start_kiosk(&mut self, options: super::KioskOptions) {
        let mut kiosk = Kiosk::new(Source::Sample);
        kiosk.idle_reset = Duration::from_secs(options.idle_s.max(1));
        kiosk.speed = options.speed.clamp(0.01, 1000.0);
        kiosk.max_loops = options.loops;
        self.kiosk_mode = Some(kiosk);
        self.kiosk = policy();
        self.autosave_dir = None;
        self.restore_offer = None;
    }

    /// Runs one frame of the kiosk (before the panels are laid out).
    pub fn kiosk_frame(&mut self, ctx: &egui::Context) {
        let Some(mut kiosk) = self.kiosk_mode.take() else { return };
        if quit_pressed(ctx) {
            self.quit_confirmed = true;
            self.kiosk_quit = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // The window fills the screen (also where no window manager
        // honours the fullscreen request, as under Xvfb): asked once.
        if !kiosk.resized
            && let Some(m) = ctx.input(|i| i.viewport().monitor_size).filter(|m| m.x > 0.0)
        {
            if !fills_screen(ctx) && ctx.input(|i| i.viewport().inner_rect.is_some()) {
                ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(m));
                ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(egui::pos2(0.0, 0.0)));
            }
            kiosk.resized = true;
        }
        let input = visitor_input(ctx);
        match kiosk.phase {
            Phase::Tour(_) if input && self.doc.is_some() => kiosk.go(Phase::Exploring),
            Phase::Exploring if input => kiosk.since = Instant::now(),
            Phase::Exploring if kiosk.since.elapsed() >= kiosk.idle_reset => kiosk.go(Phase::Tour(Step::Open)),
            Phase::Exploring => {}
            Phase::Tour(step) => self.tour_step(ctx, &mut kiosk, step),
        }
        // Keep the clock running between inputs.
        ctx.request_repaint_after(Duration::from_millis(50));
        self.kiosk_mode = Some(kiosk);
    }

    fn tour_step(&mut self, ctx: &egui::Context, kiosk: &mut Kiosk, step: Step) {
        let first = !kiosk.started;
        kiosk.started = true;
        let done = match step {
            Step::Open => {
                if first {
                    crate::memory::give_back();
                    if kiosk.loops > 0 || !kiosk.rss_mb.is_empty() {
                        kiosk.loops += 1;
                    }
                    if let Some(mb) = resident_mb() {
                        kiosk.rss_mb.push(mb);
                        eprintln!("kiosk loop {}: resident memory {mb:.1} MB", kiosk.loops);
                    }
                    if kiosk.max_loops.is_some_and(|m| kiosk.loops >= m) {
                        // Loop 0's figure is taken before anything is loaded: the
                        // slope is over the loops that ran.
                        if let Some(s) = slope(&kiosk.rss_mb[1.min(kiosk.rss_mb.len())..]) {
                            let last = kiosk.rss_mb.windows(2).last().map_or(0.0, |w| w[1] - w[0]);
                            eprintln!(
                                "kiosk: {} loops, resident memory slope {s:+.2} MB per loop, last loop {last:+.1} MB",
                                kiosk.loops
                            );
                        }
                        self.quit_confirmed = true;
                        self.kiosk_quit = true;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        return;
                    }
                    // The first loop takes the scan the app is already opening.
                    let opening_already =
                        kiosk.loops == 0 && kiosk.rss_mb.len() <= 1 && (self.is_loading() || self.doc.is_some());
                    if !opening_already {
                        self.open(ctx, kiosk.source.clone());
                    }
                }
                !first && !self.is_loading() && self.doc.is_some()
            }
            Step::Extract => {
                if first {
                    self.start_extraction(ctx);
                }
                !first && !self.is_extracting()
            }
            Step::Rotate => {
                if let Some(v) = &mut self.views {
                    if first {
                        v.mpr.maximised = Some(3);
                        for s in v.styles.styles.iter_mut() {
                            s.visible = true;
                        }
                    }
                    let dt = ctx.input(|i| i.stable_dt).min(0.1);
                    v.view3d.camera.orbit(glam::Vec2::new(-dt * 30.0, 0.0));
                }
                kiosk.elapsed() >= step.duration()
            }
            Step::Class(c) => {
                if first && let Some(v) = &mut self.views {
                    for (k, s) in v.styles.styles.iter_mut().enumerate() {
                        s.visible = k == c as usize;
                    }
                }
                if let Some(v) = &mut self.views {
                    let dt = ctx.input(|i| i.stable_dt).min(0.1);
                    v.view3d.camera.orbit(glam::Vec2::new(-dt * 30.0, 0.0));
                }
                kiosk.elapsed() >= step.duration()
            }
            Step::Plan => {
                if first {
                    self.kiosk_plan();
                }
                kiosk.elapsed() >= step.duration()
            }
        };
        if done {
            kiosk.go(Phase::Tour(step.next()));
        }
    }

    /// Plans an ablation on the extracted vessels: a 12 mm lesion beside an
    /// artery of the right lung, an applicator from the side.
    fn kiosk_plan(&mut self) {
        let (Some(doc), Some(v)) = (&mut self.doc, &mut self.views) else { return };
        v.mpr.maximised = None;
        for s in v.styles.styles.iter_mut() {
            s.visible = true;
        }
        let Some(layer) = doc.layers.shown_layer() else { return };
        let labels = &layer.labels;
        let g = labels.geometry;
        let [nx, ny, nz] = labels.dims();
        let centre = g.voxel_to_world(DVec3::new(nx as f64 / 2.0, ny as f64 / 2.0, nz as f64 / 2.0));
        // The artery voxel nearest a point 70 mm into the patient's right.
        let aim = centre - DVec3::X * 70.0;
        let mut best: Option<(f64, DVec3)> = None;
        for (n, &l) in labels.data().iter().enumerate() {
            if l != vasa_scan::labels::ARTERY {
                continue;
            }
            let p = g.voxel_to_world(DVec3::new((n % nx) as f64, ((n / nx) % ny) as f64, (n / (nx * ny)) as f64));
            let d = p.distance_squared(aim);
            if best.is_none_or(|(b, _)| d < b) {
                best = Some((d, p));
            }
        }
        let Some((_, artery)) = best else { return };
        let lesion = artery - DVec3::X * 9.0;
        let entry = lesion + DVec3::new(-60.0, -25.0, 0.0);
        let plan = &mut doc.plan;
        *plan = crate::doc::Plan::default();
        plan.apply(PlanOp::PlaceLesion(lesion));
        plan.apply(PlanOp::LesionDiameter(12.0));
        plan.apply(PlanOp::AddApplicator { target: lesion, entry });
        v.mpr.cursor = lesion;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_visits_every_step_and_comes_back() {
        let mut step = Step::Open;
        let mut seen = vec![step];
        for _ in 0..6 {
            step = step.next();
            seen.push(step);
        }
        assert_eq!(
            seen,
            vec![Step::Open, Step::Extract, Step::Rotate, Step::Class(1), Step::Class(2), Step::Class(3), Step::Plan]
        );
        assert_eq!(step.next(), Step::Open);
        assert!(seen.iter().all(|s| !s.caption().is_empty()));
    }

    #[test]
    fn a_memory_slope_is_fitted_per_loop() {
        assert_eq!(slope(&[100.0]), None);
        assert!((slope(&[100.0, 102.0, 104.0, 106.0]).unwrap() - 2.0).abs() < 1e-12);
        assert!(slope(&[300.0, 301.0, 299.0, 300.0]).unwrap().abs() < 0.5);
        assert!(resident_mb().is_none_or(|mb| mb > 1.0));
    }
}
