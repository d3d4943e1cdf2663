//! The series picker: when a folder holds several image series, a window
//! lists them with a thumbnail of each one's middle slice, its description
//! and size; the user opens one.

use vasa_scan::dicom::DicomIndex;

/// What the user did in the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Open series number `usize` of the index.
    Open(usize),
    /// Close the picker without opening anything.
    Cancel,
}

/// The picker's state.
pub struct SeriesPicker {
    /// The series found in the folder.
    pub index: DicomIndex,
    thumbnails: Vec<Option<egui::ColorImage>>,
    textures: Vec<Option<egui::TextureHandle>>,
}

impl SeriesPicker {
    /// A picker over `index` with its thumbnails (decoded by the loader).
    pub fn new(index: DicomIndex, thumbnails: Vec<Option<egui::ColorImage>>) -> Self {
        SeriesPicker { index, thumbnails, textures: Vec::new() }
    }

    /// Draws the window; returns the user's choice once made.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Choice> {
        if self.textures.is_empty() {
            self.textures = self
                .thumbnails
                .iter()
                .enumerate()
                .map(|(i, t)| t.clone().map(|img| ctx.load_texture(format!("series {i}"), img, Default::default())))
                .collect();
        }
        let mut choice = None;
        let mut open = true;
        egui::Window::new("Choose a series")
            .open(&mut open)
            .collapsible(false)
            .default_width(520.0)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label(format!("{} holds {} image series.", self.index.root.display(), self.index.series.len()));
                egui::ScrollArea::vertical().max_height(480.0).show(ui, |ui| {
                    for (i, s) in self.index.series.iter().enumerate() {
                        ui.horizontal(|ui| {
                            let size = egui::vec2(96.0, 96.0);
                            match self.textures.get(i).and_then(|t| t.as_ref()) {
                                Some(t) => {
                                    ui.add(egui::Image::new(t).fit_to_exact_size(size).maintain_aspect_ratio(true));
                                }
                                None => {
                                    let (r, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                                    ui.painter().rect_filled(r, 2.0, egui::Color32::from_gray(30));
                                    ui.painter().text(
                                        r.center(),
                                        egui::Align2::CENTER_CENTER,
                                        "no preview",
                                        egui::FontId::proportional(11.0),
                                        egui::Color32::GRAY,
                                    );
                                }
                            }
                            ui.vertical(|ui| {
                                ui.label(s.label());
                                let m = &s.metadata;
                                let date = m.study_date.clone().unwrap_or_default();
                                let body = m.body_part.clone().unwrap_or_default();
                                ui.small(format!("{date} {body}"));
                                let button = ui.add_enabled(s.problem.is_none(), egui::Button::new("Open"));
                                if button.clicked() {
                                    choice = Some(Choice::Open(i));
                                }
                            });
                        });
                        ui.separator();
                    }
                });
            });
        if !open {
            choice = Some(Choice::Cancel);
        }
        choice
    }
}
