//! How the label layers are drawn: per-class visibility and colour, fill
//! or outline, opacity, and the legend that sets them and picks the shown
//! layer, giving each class's volume and number of pieces, and the
//! self-check's warnings. The layers themselves are the document's
//! ([`crate::doc::Layers`]).

use vasa_render::LabelStyle;
use vasa_scan::ClassTable;

use crate::doc::Layers;
use crate::gui::actions::Action;

/// How one class is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassStyle {
    /// Drawn or hidden.
    pub visible: bool,
    /// sRGB colour.
    pub color: [u8; 3],
}

/// How the label layers of the open scan are drawn.
pub struct LayerStyles {
    /// Per class id.
    pub styles: Vec<ClassStyle>,
    /// Filled regions (false: outlines only).
    pub fill: bool,
    /// Opacity of the overlay, 0–1.
    pub opacity: f32,
}

impl Default for LayerStyles {
    fn default() -> Self {
        let table = ClassTable::default();
        let styles = (0..=255u8)
            .map(|c| ClassStyle { visible: c != 0, color: table.get(c).map_or([255, 255, 0], |i| i.color) })
            .collect();
        LayerStyles { styles, fill: true, opacity: 0.5 }
    }
}

impl LayerStyles {
    /// Colour and opacity of every class id for the slice shader.
    pub fn label_styles(&self) -> Vec<LabelStyle> {
        self.styles
            .iter()
            .enumerate()
            .map(|(c, s)| LabelStyle { color: s.color, opacity: if c != 0 && s.visible { 1.0 } else { 0.0 } })
            .collect()
    }

    /// The legend: which of `layers` is shown, and per class visibility,
    /// colour, volume (mL) and pieces; the self-check's findings (a "go to"
    /// for those with a place, pushed to `actions`); fill/outline and opacity.
    pub fn legend_ui(&mut self, ui: &mut egui::Ui, layers: &mut Layers, actions: &mut Vec<Action>) {
        ui.heading("Labels");
        if layers.layers.is_empty() {
            ui.label("No labels yet: Extract vessels, or File > Open labels.");
            return;
        }
        let mut shown = layers.shown;
        ui.radio_value(&mut shown, None, "none");
        for (i, l) in layers.layers.iter().enumerate() {
            let name = if l.unsaved { format!("{} (unsaved)", l.name) } else { l.name.clone() };
            ui.radio_value(&mut shown, Some(i), name).on_hover_text(if l.unsaved {
                "not saved yet (File > Save labels)"
            } else {
                ""
            });
        }
        layers.shown = shown;
        ui.separator();
        let table = ClassTable::default();
        let layer = layers.shown_layer();
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
                        if l.pieces_current() {
                            ui.monospace(format!("{pieces:5}"));
                        } else {
                            ui.monospace(format!("{pieces:5}…"))
                                .on_hover_text("counted before the latest edit; recounted when editing pauses");
                        }
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
                ui.horizontal_wrapped(|ui| {
                    ui.label(egui::RichText::new(format!("- {}", w.text)).color(colour));
                    if let Some(at) = w.at_mm
                        && ui.small_button("go to").on_hover_text("put the crosshair there").clicked()
                    {
                        actions.push(Action::GoTo(at));
                    }
                });
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
    use crate::doc::{LabelLayer, SelfCheckNote};
    use vasa_scan::{Geometry, Volume};

    #[test]
    fn the_legend_shows_the_shown_layers_self_check_warnings() {
        use egui_kittest::kittest::Queryable;
        let g = Geometry::default();
        let mut layers = Layers::default();
        let mut flagged = LabelLayer::new("flagged", Volume::filled([2, 2, 2], 3u8, g));
        flagged.warnings = vec![
            SelfCheckNote {
                text: "aorta 611 mL is outside the 56–350 mL this field of view can hold".into(),
                at_mm: None,
            },
            SelfCheckNote {
                text: "a round piece labelled artery (1.8 mL at LPS 55, 83, -116 mm)".into(),
                at_mm: Some([55.0, 83.0, -116.0]),
            },
        ];
        layers.add(flagged);
        let state = (LayerStyles::default(), layers, Vec::new());
        let mut h = egui_kittest::Harness::new_ui_state(
            |ui, (styles, layers, actions): &mut (LayerStyles, Layers, Vec<Action>)| {
                styles.legend_ui(ui, layers, actions)
            },
            state,
        );
        h.run();
        h.get_by_label("Self-check: review this result");
        h.get_by_label_contains("aorta 611 mL is outside");
        // A finding with a place has one "go to", which moves the crosshair there.
        h.get_by_label("go to").click();
        h.run();
        assert!(matches!(h.state().2.as_slice(), [Action::GoTo([55.0, 83.0, -116.0])]), "{:?}", h.state().2);
        // Another layer without warnings shows none.
        h.state_mut().1.add(LabelLayer::new("clean", Volume::filled([2, 2, 2], 0u8, g)));
        h.run();
        assert!(h.query_by_label("Self-check: review this result").is_none());
    }

    #[test]
    fn hidden_classes_and_the_background_draw_nothing() {
        let mut styles = LayerStyles::default();
        styles.styles[2].visible = false;
        let s = styles.label_styles();
        assert_eq!((s[0].opacity, s[1].opacity, s[2].opacity), (0.0, 1.0, 0.0));
    }
}
