//! The viewer window. [`VasaApp`] (the shell, [`app`]) shows the open
//! [`Document`](crate::doc::Document) through its [`views`] — the slice
//! viewer ([`mpr`], drawn on the GPU by [`slice_paint`], pointer input by
//! [`tools`]) and the 3D view ([`view3d`]) — around the [`chrome`] (menus,
//! panels, status bar, dialogs). Everything the user asks for is an
//! [`actions::Action`]; everything slow runs as a task on a worker thread
//! ([`tasks`], [`job`]): opening ([`loading`]), extracting vessels
//! ([`extraction`]), label uploads, saving. The UI thread only reacts and paints.

pub mod actions;
pub mod app;
pub mod chrome;
pub mod commands;
pub mod exports;
pub mod extraction;
pub mod frame_stats;
pub mod input;
pub mod job;
pub mod kiosk;
pub mod layers;
pub mod loading;
pub mod mpr;
pub mod path_views;
pub mod plan_checks;
pub mod plan_paint;
pub mod plan_paint3d;
pub mod prefs;
pub mod review;
pub mod screenshot;
pub mod slice_camera;
pub mod slice_paint;
pub mod tasks;
pub mod tools;
pub mod view3d;
pub mod views;
pub mod volume3d;

use std::path::PathBuf;

pub use app::VasaApp;
pub use loading::{Loaded, SAMPLE_SEED, Source};

use crate::settings::Recent;

/// How the viewer starts (from the command line).
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Scan to open; the bundled sample without one.
    pub path: Option<PathBuf>,
    /// Save a PNG once everything is drawn, then quit.
    pub screenshot: Option<PathBuf>,
    /// Capture only this viewport (0 axial … 3 3D) in the screenshot.
    pub screenshot_viewport: Option<usize>,
    /// Extract the vessels as soon as the scan is open.
    pub extract: bool,
    /// Run as a booth (`--kiosk`).
    pub kiosk: Option<KioskOptions>,
}

/// How the booth runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KioskOptions {
    /// Seconds without input before the loop resumes.
    pub idle_s: u64,
    /// The steps run this many times faster.
    pub speed: f64,
    /// Quit after this many loops.
    pub loops: Option<u64>,
}

/// Opens the viewer window and blocks until it is closed. With a
/// screenshot asked for, saves it once everything is drawn and closes.
pub fn run(start: StartOptions) -> anyhow::Result<()> {
    crate::memory::tune_for_long_runs();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Vasa")
            .with_inner_size([1280.0, 800.0])
            .with_fullscreen(start.kiosk.is_some())
            .with_drag_and_drop(start.kiosk.is_none()),
        ..Default::default()
    };
    let kiosk = start.kiosk;
    let job = start.screenshot.map(|p| screenshot::Job::new(p, start.screenshot_viewport));
    let outcome = job.as_ref().map(|j| j.outcome());
    let (path, extract) = (start.path, start.extract);
    eframe::run_native(
        "Vasa",
        options,
        Box::new(move |cc| {
            let mut app = VasaApp::new(&cc.egui_ctx, cc.wgpu_render_state.clone(), path, Recent::load_default());
            if let Some(prefs) = cc.storage.and_then(|s| eframe::get_value::<prefs::Prefs>(s, prefs::KEY)) {
                app.prefs = prefs;
            }
            app.welcome = !app.prefs.welcomed && job.is_none();
            app.apply_prefs_to_views();
            app.screenshot = job;
            app.extract_on_open = extract;
            if let Some(k) = kiosk {
                app.start_kiosk(k);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    match outcome.map(|o| o.lock().map(|mut r| r.take()).unwrap_or(None)) {
        None | Some(Some(Ok(()))) => Ok(()),
        Some(Some(Err(e))) => Err(e.into()),
        Some(None) => Err(anyhow::anyhow!("the window closed before the screenshot was taken")),
    }
}
