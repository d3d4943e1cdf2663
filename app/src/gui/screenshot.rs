//! `vasa --screenshot FILE`: wait until the scan is drawn, capture the
//! window as a PNG (atomically), close. The smoke test and the README's
//! pictures use it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::AppError;

/// Frames drawn with the scan on screen before the capture (lets the GPU
/// upload and the first paint settle).
const SETTLE_FRAMES: u32 = 3;

/// What the viewer is doing, as far as a screenshot cares.
pub enum SceneState {
    /// Still loading.
    Pending,
    /// The scan is drawn.
    Ready,
    /// Loading or uploading failed: nothing to capture.
    Failed(String),
}

/// A pending screenshot and where its outcome goes.
pub struct Job {
    path: PathBuf,
    /// Capture only this viewport (0–3), not the whole window.
    pub viewport: Option<usize>,
    frames: u32,
    requested: bool,
    outcome: Arc<Mutex<Option<Result<(), AppError>>>>,
}

impl Job {
    /// A screenshot to be saved at `path`, of viewport `viewport` or the whole window.
    pub fn new(path: PathBuf, viewport: Option<usize>) -> Self {
        Job { path, viewport, frames: 0, requested: false, outcome: Arc::new(Mutex::new(None)) }
    }

    /// Where the outcome will be written (`None` until done).
    pub fn outcome(&self) -> Arc<Mutex<Option<Result<(), AppError>>>> {
        self.outcome.clone()
    }

    /// Called once per frame; `crop` is the viewport's rectangle when one
    /// viewport is wanted.
    pub fn frame(&mut self, ctx: &egui::Context, state: SceneState, crop: Option<egui::Rect>) {
        let done = self.outcome.lock().map(|o| o.is_some()).unwrap_or(true);
        if done {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        let state_is_pending = matches!(state, SceneState::Pending);
        match state {
            SceneState::Pending => {}
            SceneState::Failed(e) => {
                if let Ok(mut o) = self.outcome.lock() {
                    *o = Some(Err(AppError::NothingShown(e)));
                }
            }
            SceneState::Ready if !self.requested => {
                self.frames += 1;
                if self.frames >= SETTLE_FRAMES {
                    self.requested = true;
                    let (path, outcome, ctx2) = (self.path.clone(), self.outcome.clone(), ctx.clone());
                    let ppp = ctx.pixels_per_point();
                    if self.viewport.is_some() && crop.is_none_or(|r| !r.is_positive()) {
                        self.outcome.lock().map(|mut o| *o = Some(Err(AppError::ViewportHidden))).ok();
                        return;
                    }
                    ctx.request_screenshot(move |image| {
                        let image = match crop {
                            Some(r) => image.region(&r, Some(ppp)),
                            None => (*image).clone(),
                        };
                        let result = save_png(&path, &image);
                        if let Ok(mut o) = outcome.lock() {
                            *o = Some(result);
                        }
                        ctx2.request_repaint();
                    });
                }
            }
            SceneState::Ready => {}
        }
        match state_is_pending {
            // Loading or computing: look again soon, without redrawing
            // continuously (that would take CPU from the workers).
            true => ctx.request_repaint_after(super::job::REDRAW_WHILE_BUSY),
            false => ctx.request_repaint(),
        }
    }
}

/// File-name part and menu entry of screenshot slot `slot` (0–3: the
/// viewports, 4: the whole window).
pub fn slot_name(slot: usize) -> &'static str {
    ["axial", "coronal", "sagittal", "3d", "window"].get(slot).copied().unwrap_or("window")
}

/// Writes an egui image as an RGBA PNG, atomically.
pub fn save_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), AppError> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    vasa_scan::png::write_rgba(path, w, h, &bytes)?;
    Ok(())
}
