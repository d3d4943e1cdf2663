//! The booth's caption: one line, large, at the bottom of the window over
//! the views, on a dark band so it reads from a few metres.

/// Draws `text` as the kiosk caption.
pub fn caption(ctx: &egui::Context, text: &str) {
    egui::Area::new(egui::Id::unique("kiosk caption"))
        .anchor(egui::Align2::CENTER_BOTTOM, egui::vec2(0.0, -48.0))
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::new()
                .fill(egui::Color32::from_black_alpha(200))
                .corner_radius(8.0)
                .inner_margin(egui::Margin::symmetric(18, 10))
                .show(ui, |ui| {
                    ui.set_max_width(ctx.content_rect().width() * 0.7);
                    ui.label(egui::RichText::new(text).size(22.0).color(egui::Color32::WHITE));
                });
        });
}
