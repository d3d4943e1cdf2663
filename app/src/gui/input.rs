//! Keyboard shortcuts and dropped files, turned into actions: 1–4 pick the
//! window presets, R resets the view, F maximises the view under the
//! pointer (again: back to the grid), arrows and Page Up/Down step slices;
//! N, W, B, E, L, C, O, X pick the navigate, window/level, brush, eraser,
//! relabel, connect, lasso and scissors tools, T, P, M the lesion,
//! applicator and ruler, `[` `]` resize the brush, Enter applies a preview and
//! Esc drops it, Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes;
//! a dropped label map for the open scan opens as labels, anything else as
//! a scan.

use std::path::PathBuf;

use egui::Key;

use super::actions::Action;
use super::loading::Source;
use super::tools::Tool;

/// The shortcut keys pressed this frame, as actions (none while a text
/// field has the keyboard).
pub fn shortcuts(ctx: &egui::Context) -> Vec<Action> {
    if ctx.egui_wants_keyboard_input() {
        return Vec::new(); // typing in a text field
    }
    ctx.input(|i| {
        let presets = [Key::Num1, Key::Num2, Key::Num3, Key::Num4];
        let mut actions: Vec<Action> = presets
            .iter()
            .enumerate()
            .filter(|(_, k)| i.key_pressed(**k))
            .map(|(n, _)| Action::WindowPreset(n))
            .collect();
        if i.key_pressed(Key::R) {
            actions.push(Action::ResetView);
        }
        if i.key_pressed(Key::F) {
            actions.push(Action::ToggleMaximised);
        }
        // The modifiers held with a key press (the event's own: they may be
        // released again within the same frame).
        let pressed_with = |key: Key| {
            i.events.iter().find_map(|e| match e {
                egui::Event::Key { key: k, pressed: true, modifiers, .. } if *k == key => Some(*modifiers),
                _ => None,
            })
        };
        let is_command = |m: egui::Modifiers| m.command || m.ctrl;
        let command = is_command(i.modifiers);
        if let Some(m) = pressed_with(Key::Z).filter(|&m| is_command(m) || command) {
            actions.push(if m.shift || i.modifiers.shift { Action::Redo } else { Action::Undo });
        } else if pressed_with(Key::Y).is_some_and(|m| is_command(m) || command) {
            actions.push(Action::Redo);
        } else if !command {
            for (tool, key) in [
                (Tool::Navigate, Key::N),
                (Tool::WindowLevel, Key::W),
                (Tool::Brush, Key::B),
                (Tool::Eraser, Key::E),
                (Tool::Relabel, Key::L),
                (Tool::Connect, Key::C),
                (Tool::Lasso, Key::O),
                (Tool::Scissors, Key::X),
                (Tool::Lesion, Key::T),
                (Tool::Applicator, Key::P),
                (Tool::Ruler, Key::M),
            ] {
                if i.key_pressed(key) {
                    actions.push(Action::SetTool(tool));
                }
            }
            if i.key_pressed(Key::Enter) {
                actions.push(Action::ApplyPreview);
            }
            if i.key_pressed(Key::Escape) {
                actions.push(Action::CancelPreview);
            }
            if i.key_pressed(Key::OpenBracket) {
                actions.push(Action::ResizeBrush(-1));
            }
            if i.key_pressed(Key::CloseBracket) {
                actions.push(Action::ResizeBrush(1));
            }
        }
        let up = i.key_pressed(Key::ArrowUp) || i.key_pressed(Key::PageUp);
        let down = i.key_pressed(Key::ArrowDown) || i.key_pressed(Key::PageDown);
        let step = up as i32 - down as i32;
        if step != 0 {
            actions.push(Action::StepSlices(step));
        }
        actions
    })
}

/// The first file dropped on the window this frame (opening several scans
/// at once means nothing), if any.
pub fn dropped_file(ctx: &egui::Context) -> Option<PathBuf> {
    ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).find(|p| !p.as_os_str().is_empty()))
}

/// The action for a dropped file: labels when `as_labels`, else a scan.
pub fn open_dropped(path: PathBuf, as_labels: bool) -> Action {
    if as_labels { Action::OpenLabels(path) } else { Action::Open(Source::Path(path)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pressed: &[Key]) -> Vec<Action> {
        keys_with(pressed, Default::default())
    }

    fn keys_with(pressed: &[Key], modifiers: egui::Modifiers) -> Vec<Action> {
        let ctx = egui::Context::default();
        let mut input = egui::RawInput::default();
        if modifiers != egui::Modifiers::default() {
            input.events.push(egui::Event::ModifiersChanged(modifiers));
        }
        for &key in pressed {
            input.events.push(egui::Event::Key { key, physical_key: None, pressed: true, repeat: false, modifiers });
        }
        let mut actions = Vec::new();
        let mut output = ctx.run_ui(input, |ui| actions = shortcuts(ui.ctx()));
        output.textures_delta.clear();
        actions
    }

    #[test]
    fn keys_become_actions() {
        assert_eq!(keys(&[Key::Num3]), vec![Action::WindowPreset(2)]);
        assert_eq!(keys(&[Key::F, Key::R]), vec![Action::ResetView, Action::ToggleMaximised]);
        assert_eq!(keys(&[Key::PageDown]), vec![Action::StepSlices(-1)]);
        assert_eq!(keys(&[Key::ArrowUp, Key::ArrowDown]), vec![]);
        assert!(keys(&[Key::A]).is_empty());
        // Editing: tools, brush size, undo and redo.
        assert_eq!(keys(&[Key::B]), vec![Action::SetTool(Tool::Brush)]);
        assert_eq!(keys(&[Key::L, Key::E]), vec![Action::SetTool(Tool::Eraser), Action::SetTool(Tool::Relabel)]);
        assert_eq!(keys(&[Key::CloseBracket]), vec![Action::ResizeBrush(1)]);
        assert_eq!(keys(&[Key::C]), vec![Action::SetTool(Tool::Connect)]);
        assert_eq!(keys(&[Key::Enter, Key::Escape]), vec![Action::ApplyPreview, Action::CancelPreview]);
        assert_eq!(keys_with(&[Key::Z], egui::Modifiers::COMMAND), vec![Action::Undo]);
        assert_eq!(keys_with(&[Key::Z], egui::Modifiers::COMMAND | egui::Modifiers::SHIFT), vec![Action::Redo]);
        assert_eq!(keys_with(&[Key::Y], egui::Modifiers::CTRL), vec![Action::Redo]);
        assert!(keys_with(&[Key::B], egui::Modifiers::CTRL).is_empty(), "Ctrl+B is not the brush");
        assert_eq!(open_dropped("l.nii.gz".into(), true), Action::OpenLabels("l.nii.gz".into()));
    }
}
