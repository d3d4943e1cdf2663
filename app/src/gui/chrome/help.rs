//! First-run help: the welcome panel (three things to try, shown until the
//! user says not to) and the keyboard sheet (F1), both built from the same
//! tables the shortcuts and tools use, so they cannot drift apart.

use crate::gui::VasaApp;
use crate::gui::tools::Tool;

/// Keys that are not tools: (keys, what they do).
pub const KEYS: [(&str, &str); 12] = [
    ("1 2 3 4", "window presets: lung, mediastinum, CT angio, bone"),
    ("Up, Down / Page Up, Page Down", "step the slice under the pointer"),
    ("wheel", "step slices (Ctrl+wheel: zoom)"),
    ("F", "maximise the view under the pointer (again: all four)"),
    ("R", "reset the views"),
    ("Ctrl+Z / Ctrl+Shift+Z, Ctrl+Y", "undo / redo a label edit"),
    ("[ ]", "brush radius"),
    ("Enter / Esc", "apply / cancel a preview or a pending click"),
    ("Ctrl+click", "pick the class under the pointer"),
    ("double-click", "maximise a view"),
    ("F1", "this sheet"),
    ("Ctrl+Alt+Q", "quit a kiosk"),
];

/// The three things to try first.
pub const FIRST_STEPS: [(&str, &str); 3] = [
    (
        "Extract the vessels",
        "Vessel extraction > Extract vessels: the network and the HU refinement label the pulmonary arteries, veins and the aorta, on a worker (the viewer stays live).",
    ),
    (
        "Turn the tree in 3D",
        "Drag in the 3D view; double-click it to fill the window; the 3D section switches to volume rendering.",
    ),
    (
        "Plan an ablation",
        "Plan > lesion (T), then applicator (P): the zone, the margin, the vessels near it and the path are checked as you move it.",
    ),
];

/// Draws the welcome panel and the keyboard sheet when they are open.
pub fn help_windows(ctx: &egui::Context, app: &mut VasaApp) {
    if ctx.input(|i| i.key_pressed(egui::Key::F1)) {
        app.keyboard_sheet = !app.keyboard_sheet;
    }
    if app.welcome && app.kiosk_mode.is_none() && app.screenshot.is_none() {
        let mut open = true;
        egui::Window::new("Welcome to Vasa")
            .id(egui::Id::unique("welcome"))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .open(&mut open)
            .show(ctx, |ui| {
                ui.set_max_width(460.0);
                ui.label("A planning viewer for thoracic CT. The sample chest CT is open; three things to try:");
                for (n, (title, how)) in FIRST_STEPS.iter().enumerate() {
                    ui.add_space(4.0);
                    ui.label(egui::RichText::new(format!("{}. {title}", n + 1)).strong());
                    ui.label(*how);
                }
                ui.add_space(6.0);
                ui.label("F1 shows the keys; every tool says what it does when you point at it.");
                if ui.button("Start").clicked() {
                    app.welcome = false;
                }
            });
        if !open {
            app.welcome = false;
        }
    }
    if app.keyboard_sheet {
        let mut open = true;
        egui::Window::new("Keys (F1)").id(egui::Id::unique("keyboard sheet")).open(&mut open).show(ctx, |ui| {
            egui::Grid::new("keys").striped(true).show(ui, |ui| {
                for (tool, key) in Tool::ALL {
                    ui.monospace(key);
                    ui.label(format!("{}: {}", tool.name(), tool.help()));
                    ui.end_row();
                }
                for (keys, what) in KEYS {
                    ui.monospace(keys);
                    ui.label(what);
                    ui.end_row();
                }
            });
        });
        app.keyboard_sheet &= open;
    }
}
