//! "Extract vessels": the pipeline (`vasa_inference::Segmenter`) on a
//! worker thread, with its options (contrast phase, refinement, island
//! size). Its result arrives as two label layers: the refined vessels and
//! the raw network output, for comparison.

use std::path::PathBuf;
use std::sync::Arc;

use vasa_inference::refine::{PhaseHint, RefineOptions};
use vasa_inference::segment::{Progress, SegmentOptions, Segmenter, Stage};
use vasa_scan::Volume;

use super::job::Reporter;
use crate::doc::{LabelLayer, SelfCheckNote};
use crate::error::AppError;

/// Name of the refined result's layer.
pub const VESSELS_LAYER: &str = "Vessels (network + HU refinement)";
/// Name of the network-only layer.
pub const RAW_LAYER: &str = "Network only (before refinement)";

/// What the user chose in the extraction panel.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractOptions {
    /// Contrast phase of the scan (bounds the refinement's HU ranges).
    pub phase: PhaseHint,
    /// Run the HU refinement (S204–S208) after the network.
    pub refine: bool,
    /// Remove pieces smaller than this (mm³); 0 keeps all.
    pub min_island_mm3: f64,
    /// Model folder (`config.json` + `model.safetensors`).
    pub model: PathBuf,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            phase: PhaseHint::Auto,
            refine: true,
            min_island_mm3: 0.0,
            model: crate::settings::default_model_dir(),
        }
    }
}

impl ExtractOptions {
    /// The pipeline's options.
    pub fn segment_options(&self) -> SegmentOptions {
        SegmentOptions {
            refine: self.refine,
            min_island_mm3: (self.min_island_mm3 > 0.0).then_some(self.min_island_mm3),
            refine_options: RefineOptions::for_phase(self.phase),
            ..SegmentOptions::default()
        }
    }

    /// The options panel.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        egui::ComboBox::from_label("contrast phase")
            .selected_text(self.phase.name())
            .show_ui(ui, |ui| {
                for p in PhaseHint::ALL {
                    ui.selectable_value(&mut self.phase, p, p.name());
                }
            })
            .response
            .on_hover_text("bounds the HU range the refinement accepts as blood");
        ui.checkbox(&mut self.refine, "HU refinement (S204–S208)");
        ui.add(
            egui::DragValue::new(&mut self.min_island_mm3)
                .range(0.0..=100_000.0)
                .speed(5.0)
                .suffix(" mm³")
                .prefix("remove islands < "),
        )
        .on_hover_text("pieces of a class smaller than this are removed (0 keeps all)");
    }
}

/// The two layers of a finished extraction: refined vessels, raw network.
pub struct Extracted {
    /// The final labels.
    pub vessels: LabelLayer,
    /// The network's labels before refinement.
    pub raw: LabelLayer,
    /// Wall time of each stage.
    pub timings: Vec<(Stage, std::time::Duration)>,
    /// The contrast phase the refinement worked for (the one chosen, or the
    /// one read from the scan); `Auto` without refinement.
    pub phase: PhaseHint,
}

/// Fraction of a whole run each stage roughly takes (for the bar and ETA).
fn overall_fraction(p: Progress) -> f32 {
    let within = p.done as f32 / p.total.max(1) as f32;
    let (start, span) = match p.stage {
        Stage::Preprocess => (0.0, 0.05),
        Stage::Coarse => (0.05, 0.05),
        Stage::Network => (0.10, 0.75),
        Stage::Stitch => (0.85, 0.03),
        Stage::Refine => (0.88, 0.05),
        Stage::Tree => (0.93, 0.04),
        Stage::Postprocess => (0.97, 0.03),
    };
    start + span * within
}

/// Runs the extraction on `ct` (called on the worker thread);
/// [`AppError::Cancelled`] when the user cancelled.
pub fn run(ct: Arc<Volume<i16>>, options: &ExtractOptions, r: &Reporter) -> Result<Extracted, AppError> {
    r.set("loading the model", Some(0.0));
    let segmenter = Segmenter::load(&options.model)
        .map_err(|e| AppError::Model { path: options.model.clone(), source: Box::new(e) })?;
    let seg = segmenter.segment(
        &ct,
        &options.segment_options(),
        &|p| r.set(p.stage.name(), Some(overall_fraction(p))),
        r.cancel_flag(),
    )?;
    r.set("counting volumes", Some(0.99));
    let mut vessels = LabelLayer::new(VESSELS_LAYER, seg.labels);
    vessels.unsaved = true;
    vessels.warnings = seg.warnings.iter().map(SelfCheckNote::from).collect();
    vessels.tree = seg.tree.map(|t| Arc::new(t.graph));
    let mut raw = LabelLayer::new(RAW_LAYER, seg.raw);
    raw.unsaved = true;
    Ok(Extracted { vessels, raw, timings: seg.timings, phase: seg.phase })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_moves_forward_through_the_stages() {
        let seq = [
            Progress { stage: Stage::Preprocess, done: 0, total: 1 },
            Progress { stage: Stage::Coarse, done: 1, total: 2 },
            Progress { stage: Stage::Network, done: 0, total: 10 },
            Progress { stage: Stage::Network, done: 5, total: 10 },
            Progress { stage: Stage::Network, done: 10, total: 10 },
            Progress { stage: Stage::Stitch, done: 0, total: 1 },
            Progress { stage: Stage::Refine, done: 0, total: 1 },
            Progress { stage: Stage::Tree, done: 0, total: 1 },
            Progress { stage: Stage::Postprocess, done: 1, total: 1 },
        ];
        let f: Vec<f32> = seq.iter().map(|&p| overall_fraction(p)).collect();
        assert!(f.windows(2).all(|w| w[0] <= w[1]), "{f:?}");
        assert_eq!(f[0], 0.0);
        assert!((f[8] - 1.0).abs() < 1e-6);
        assert!((f[1] - 0.075).abs() < 1e-6);
        assert!((f[3] - 0.475).abs() < 1e-6);
    }

    #[test]
    fn options_reach_the_pipeline() {
        let o =
            ExtractOptions { phase: PhaseHint::Contrast, refine: false, min_island_mm3: 20.0, ..Default::default() };
        let s = o.segment_options();
        assert!(!s.refine);
        assert_eq!(s.min_island_mm3, Some(20.0));
        assert_eq!(s.refine_options.phase, PhaseHint::Contrast);
        assert_eq!(ExtractOptions::default().segment_options().min_island_mm3, None);
    }
}
