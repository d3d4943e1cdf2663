//! Label layers: the label maps the user can show over the scan (the
//! extraction's result, the raw network output, labels opened from a file,
//! the sample's exact labels), one shown at a time, with per-class
//! visibility and colour, fill or outline, opacity, and a legend giving each
//! class's volume and number of pieces, and the self-check's warnings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vasa_render::LabelStyle;
use vasa_scan::label_stats::{ClassStats, class_stats};
use vasa_scan::{ClassTable, LabelMap};

/// A label map with its figures (computed once, on the worker that made it).
#[derive(Clone)]
pub struct LabelLayer {
    /// Unique id (the GPU holds the labels of one id at a time).
    pub id: u64,
    /// Name in the legend.
    pub name: String,
    /// The labels, on the scan's grid.
    pub labels: Arc<LabelMap>,
    /// Volume and pieces per class present.
    pub stats: Vec<ClassStats>,
    /// Unsaved changes (a new extraction result): offered for saving.
    pub unsaved: bool,
    /// What the extraction's self-check found implausible (one sentence each).
    pub warnings: Vec<String>,
}

impl LabelLayer {
    /// A layer named `name` holding `labels`; counts volumes and pieces
    /// (seconds on a big scan: call it off the UI thread).
    pub fn new(name: &str, labels: LabelMap) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let stats = class_stats(&labels, &ClassTable::default());
        LabelLayer {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            name: name.to_string(),
            labels: Arc::new(labels),
            stats,
            unsaved: false,
            warnings: Vec::new(),
        }
    }

    /// Volume (mL) and pieces of `class`, zero when absent.
    pub fn figures(&self, class: u8) -> (f64, u32) {
        self.stats.iter().find(|s| s.class == class).map_or((0.0, 0), |s| (s.volume_ml, s.components))
    }
}

/// How one class is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassStyle {
    /// Drawn or hidden.
    pub visible: bool,
    /// sRGB colour.
    pub color: [u8; 3],
}

/// All layers of the open scan and how they are drawn.
pub struct Layers {
    /// The layers, in the order they arrived.
    pub layers: Vec<LabelLayer>,
    /// Index of the layer drawn, if any.
    pub shown: Option<usize>,
    /// Per class id.
    pub styles: Vec<ClassStyle>,
    /// Filled regions (false: outlines only).
    pub fill: bool,
    /// Opacity of the overlay, 0–1.
    pub opacity: f32,
}

impl Default for Layers {
    fn default() -> Self {
        let table = ClassTable::default();
        let styles = (0..=255u8)
            .map(|c| ClassStyle { visible: c != 0, color: table.get(c).map_or([255, 255, 0], |i| i.color) })
            .collect();
        Layers { layers: Vec::new(), shown: None, styles, fill: true, opacity: 0.5 }
    }
}

impl Layers {
    /// Adds `layer` (replacing one of the same name) and shows it.
    pub fn add(&mut self, layer: LabelLayer) {
        let at = match self.layers.iter().position(|l| l.name == layer.name) {
            Some(i) => {
                self.layers[i] = layer;
                i
            }
            None => {
                self.layers.push(layer);
                self.layers.len() - 1
            }
        };
        self.shown = Some(at);
    }

    /// The layer drawn, if any.
    pub fn shown_layer(&self) -> Option<&LabelLayer> {
        self.shown.and_then(|i| self.layers.get(i))
    }

    /// Colour and opacity of every class id for the slice shader.
    pub fn label_styles(&self) -> Vec<LabelStyle> {
        self.styles
            .iter()
            .enumerate()
            .map(|(c, s)| LabelStyle { color: s.color, opacity: if c != 0 && s.visible { 1.0 } else { 0.0 } })
            .collect()
    }

    /// The legend: which layer is shown, and per class visibility, colour,
    /// volume (mL) and pieces; fill/outline and opacity.
    pub fn legend_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Labels");
        if self.layers.is_empty() {
            ui.label("No labels yet: Extract vessels, or File > Open labels.");
            return;
        }
        let mut shown = self.shown;
        ui.radio_value(&mut shown, None, "none");
        for (i, l) in self.layers.iter().enumerate() {
            let name = if l.unsaved { format!("{} (unsaved)", l.name) } else { l.name.clone() };
            ui.radio_value(&mut shown, Some(i), name).on_hover_text(if l.unsaved {
                "not saved yet (File > Save labels)"
            } else {
                ""
            });
        }
        self.shown = shown;
        ui.separator();
        let table = ClassTable::default();
        let layer = self.shown.and_then(|i| self.layers.get(i));
        let mut classes: Vec<u8> = (1..=3).collect();
        if let Some(l) = layer {
            classes.extend(l.stats.iter().map(|s| s.class).filter(|c| !(1..=3).contains(c)));
        }
        egui::Grid::new("legend").num_columns(4).striped(true).show(ui, |ui| {
            ui.label("");
            ui.label("class");
            ui.label("volume");
            ui.label("pieces");
            ui.end_row();
            for c in classes {
                let style = &mut self.styles[c as usize];
                ui.horizontal(|ui| {
                    ui.checkbox(&mut style.visible, "").on_hover_text("show or hide this class");
                    ui.color_edit_button_srgb(&mut style.color);
                });
                ui.label(table.name(c));
                match layer {
                    Some(l) => {
                        let (ml, pieces) = l.figures(c);
                        ui.monospace(format!("{ml:7.1} mL"));
                        ui.monospace(format!("{pieces:5}"));
                    }
                    None => {
                        ui.label("—");
                        ui.label("—");
                    }
                }
                ui.end_row();
            }
        });
        if let Some(l) = layer.filter(|l| !l.warnings.is_empty()) {
            ui.separator();
            let colour = ui.visuals().warn_fg_color;
            ui.label(egui::RichText::new("Self-check: review this result").strong().color(colour));
            for w in &l.warnings {
                ui.label(egui::RichText::new(format!("- {w}")).color(colour));
            }
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.fill, true, "fill");
            ui.radio_value(&mut self.fill, false, "outline");
        });
        ui.add(egui::Slider::new(&mut self.opacity, 0.0..=1.0).text("opacity"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, Volume};

    #[test]
    fn a_layer_counts_volume_and_pieces_per_class() {
        // 2 mm voxels (8 µL each): class 1 in two separate cubes, class 3 in one.
        let g = Geometry::axis_aligned(glam::DVec3::splat(2.0), glam::DVec3::ZERO);
        let mut l = Volume::filled([10, 10, 10], 0u8, g);
        for (i, j, k, c) in [(1, 1, 1, 1), (1, 2, 1, 1), (7, 7, 7, 1), (5, 5, 5, 3)] {
            let at = l.index(i, j, k);
            l.data_mut()[at] = c;
        }
        let layer = LabelLayer::new("t", l);
        let (ml, pieces) = layer.figures(1);
        assert!((ml - 3.0 * 0.008).abs() < 1e-9, "{ml}");
        assert_eq!(pieces, 2);
        assert_eq!(layer.figures(3).1, 1);
        assert_eq!(layer.figures(2), (0.0, 0));
    }

    #[test]
    fn the_legend_shows_the_shown_layers_self_check_warnings() {
        use egui_kittest::kittest::Queryable;
        let g = Geometry::default();
        let mut layers = Layers::default();
        let mut flagged = LabelLayer::new("flagged", Volume::filled([2, 2, 2], 3u8, g));
        flagged.warnings = vec!["aorta 611 mL is outside the 56–350 mL this field of view can hold".into()];
        layers.add(flagged);
        let mut h = egui_kittest::Harness::new_ui_state(|ui, layers: &mut Layers| layers.legend_ui(ui), layers);
        h.run();
        h.get_by_label("Self-check: review this result");
        h.get_by_label_contains("aorta 611 mL is outside");
        // Another layer without warnings shows none.
        h.state_mut().add(LabelLayer::new("clean", Volume::filled([2, 2, 2], 0u8, g)));
        h.run();
        assert!(h.query_by_label("Self-check: review this result").is_none());
    }

    #[test]
    fn adding_a_layer_of_the_same_name_replaces_it_and_shows_it() {
        let g = Geometry::default();
        let mut layers = Layers::default();
        layers.add(LabelLayer::new("a", Volume::filled([2, 2, 2], 0u8, g)));
        layers.add(LabelLayer::new("b", Volume::filled([2, 2, 2], 0u8, g)));
        assert_eq!(layers.shown, Some(1));
        let again = LabelLayer::new("a", Volume::filled([2, 2, 2], 1u8, g));
        let id = again.id;
        layers.add(again);
        assert_eq!(layers.layers.len(), 2);
        assert_eq!(layers.shown_layer().map(|l| l.id), Some(id));
        // Hidden classes and the background draw nothing.
        layers.styles[2].visible = false;
        let s = layers.label_styles();
        assert_eq!((s[0].opacity, s[1].opacity, s[2].opacity), (0.0, 1.0, 0.0));
    }
}
