//! The window's chrome: the menu bar, the side panel, the status bar, the
//! messages, the series picker and the dialogs. Chrome draws the app's
//! state and answers with [`Action`](super::actions::Action)s; the app
//! applies them.

pub mod dialogs;
pub mod edit_panel;
pub mod export_question;
pub mod help;
pub mod kiosk_caption;
pub mod menus;
pub mod notices;
pub mod plan_panel;
pub mod quit_dialog;
pub mod restore_dialog;
pub mod series_picker;
pub mod side_panel;
pub mod status_bar;
pub mod transfer_editor;
pub mod view3d_panel;

use super::actions::{Action, KioskPolicy};

/// A button that asks for `action` when clicked; greyed out unless
/// `enabled` and the kiosk policy allows the action.
fn action_button(
    ui: &mut egui::Ui,
    kiosk: &KioskPolicy,
    enabled: bool,
    text: impl Into<egui::WidgetText>,
    action: Action,
    actions: &mut Vec<Action>,
) -> bool {
    let clicked = ui.add_enabled(enabled && kiosk.allowed(&action), egui::Button::new(text)).clicked();
    if clicked {
        actions.push(action);
    }
    clicked
}
