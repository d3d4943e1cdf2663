//! Pointer tools of the slice views. Each frame a viewport turns egui's
//! response into [`PointerEvent`]s and [`dispatch`] routes them: the
//! primary button goes to the active [`Tool`]; the others keep fixed
//! gestures whatever the tool — right-drag sets window/level, middle-drag
//! pans, the wheel steps slices, Ctrl+wheel zooms, double-click maximises.
//! With [`Tool::Navigate`] (the default) this is the mapping users know.
//! Ctrl-click, whatever the tool, makes the class under the pointer the
//! editing tools' class.

pub mod gestures;
pub mod label_edit;
pub mod navigate;
pub mod planning;
pub mod window_level;

use egui::{PointerButton, Pos2, Rect, Vec2};
use vasa_scan::{LabelMap, Volume};

use super::mpr::Mpr;
use super::slice_camera::ViewMapping;

/// What the primary button does in the slice views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Click or drag moves the crosshair.
    #[default]
    Navigate,
    /// Drag sets the window: up/down the level, left/right the width.
    WindowLevel,
    /// Click or drag paints the active class (a sphere of the brush radius).
    Brush,
    /// Click or drag erases (a sphere of the brush radius).
    Eraser,
    /// A click previews giving the connected piece under it (or only its
    /// part beyond the click) the active class; Enter applies it.
    Relabel,
    /// Two clicks: the vessel-like voxels along the line between them get
    /// the active class.
    Connect,
    /// A drag draws a polygon in the slice: inside it gets the active class
    /// (Shift at release: erased), in that slice only.
    Lasso,
    /// A drag draws a polygon: every label inside it is cleared through the
    /// whole volume, along the view's direction.
    Scissors,
    /// A click places the lesion's centre.
    Lesion,
    /// Two clicks, target then entry, place an applicator; dragging an
    /// applicator's end moves it.
    Applicator,
    /// Two clicks measure a distance.
    Ruler,
}

impl Tool {
    /// Name in the tool bar and menus.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Navigate => "navigate",
            Tool::WindowLevel => "window/level",
            Tool::Brush => "brush",
            Tool::Eraser => "eraser",
            Tool::Relabel => "relabel piece",
            Tool::Connect => "connect",
            Tool::Lasso => "lasso",
            Tool::Scissors => "scissors",
            Tool::Lesion => "lesion",
            Tool::Applicator => "applicator",
            Tool::Ruler => "ruler",
        }
    }

    /// What the tool does, for its tooltip and the keyboard sheet.
    pub fn help(self) -> &'static str {
        match self {
            Tool::Navigate => "click: move the crosshair; drag: pan; wheel: step slices; Ctrl+wheel: zoom",
            Tool::WindowLevel => "drag: window width (left–right) and level (up–down)",
            Tool::Brush => "drag: paint the class (a sphere or a disc in the slice); [ ]: radius",
            Tool::Eraser => "drag: erase any class; [ ]: radius",
            Tool::Relabel => "click a piece: preview it as the class; Enter applies, Esc cancels",
            Tool::Connect => "click two points: join them with a tube of the class",
            Tool::Lasso => "drag a polygon: fill it with the class in this slice (Shift: erase)",
            Tool::Scissors => "drag a polygon: clear every label inside it through the volume",
            Tool::Lesion => "click the lesion's centre (its diameter in the Plan panel)",
            Tool::Applicator => "click the target, then the entry on the skin; drag an end to move it",
            Tool::Ruler => "click both ends: the distance in mm",
        }
    }

    /// The tools, in tool-bar order, with their keys.
    pub const ALL: [(Tool, &'static str); 11] = [
        (Tool::Navigate, "N"),
        (Tool::WindowLevel, "W"),
        (Tool::Brush, "B"),
        (Tool::Eraser, "E"),
        (Tool::Relabel, "L"),
        (Tool::Connect, "C"),
        (Tool::Lasso, "O"),
        (Tool::Scissors, "X"),
        (Tool::Lesion, "T"),
        (Tool::Applicator, "P"),
        (Tool::Ruler, "M"),
    ];

    /// The planning tools (shown in the Plan panel, not the editing one).
    pub fn plans(self) -> bool {
        matches!(self, Tool::Lesion | Tool::Applicator | Tool::Ruler)
    }
}

/// One thing the pointer did in a slice viewport this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointerEvent {
    /// Wheel movement without Ctrl/Cmd (points; the sign is the direction).
    Wheel(f32),
    /// Zoom factor (Ctrl+wheel, pinch).
    Zoom(f32),
    /// A double click.
    DoubleClick,
    /// A primary click at a screen position.
    Click(Pos2),
    /// A primary click with Ctrl (or Cmd) held: pick the class there.
    PickClass(Pos2),
    /// A primary drag began, pressed at this position.
    DragStart(Pos2),
    /// The primary button was released after a drag (with Shift held: `shift`).
    DragEnd {
        /// Shift was held.
        shift: bool,
    },
    /// A drag with `button`: where the pointer is, and how far it moved this frame.
    Drag {
        /// The button held.
        button: PointerButton,
        /// Pointer position, when known.
        pos: Option<Pos2>,
        /// Movement since the last frame (points).
        delta: Vec2,
    },
}

/// The slice viewport a pointer event happened in.
pub struct SliceTarget<'a> {
    /// The viewer's state, changed by the tools.
    pub mpr: &'a mut Mpr,
    /// The scan.
    pub ct: &'a Volume<i16>,
    /// The labels shown, if any.
    pub labels: Option<&'a LabelMap>,
    /// The plan (for grabbing an applicator's end).
    pub plan: Option<&'a crate::doc::Plan>,
    /// Viewport slot (0 axial, 1 coronal, 2 sagittal).
    pub slot: usize,
    /// Where the viewport is on screen.
    pub rect: Rect,
}

impl SliceTarget<'_> {
    /// The viewport's screen ↔ patient mapping as things are now.
    pub fn mapping(&self) -> ViewMapping {
        self.mpr.mapping(self.ct, self.slot, self.rect)
    }
}

/// The pointer events of a viewport's `response` this frame, in the order
/// they are handled.
pub fn pointer_events(ui: &egui::Ui, response: &egui::Response) -> Vec<PointerEvent> {
    let mut events = Vec::new();
    if response.hovered() {
        // Ctrl+wheel arrives as zoom; a plain wheel notch steps one slice.
        let (wheel, zoom) = ui.input(|i| {
            let wheel: f32 = i
                .events
                .iter()
                .filter_map(|e| match e {
                    egui::Event::MouseWheel { delta, modifiers, .. } if !(modifiers.ctrl || modifiers.command) => {
                        Some(delta.y)
                    }
                    _ => None,
                })
                .sum();
            (wheel, i.zoom_delta())
        });
        if wheel != 0.0 {
            events.push(PointerEvent::Wheel(wheel));
        }
        if zoom != 1.0 {
            events.push(PointerEvent::Zoom(zoom));
        }
    }
    let pos = response.interact_pointer_pos();
    let delta = response.drag_delta();
    if response.double_clicked() {
        events.push(PointerEvent::DoubleClick);
    } else if response.clicked()
        && let Some(pos) = pos
    {
        let command = ui.input(|i| i.modifiers.command || i.modifiers.ctrl);
        events.push(if command { PointerEvent::PickClass(pos) } else { PointerEvent::Click(pos) });
    } else if response.dragged_by(PointerButton::Primary) {
        if response.drag_started_by(PointerButton::Primary)
            && let Some(origin) = ui.input(|i| i.pointer.press_origin())
        {
            events.push(PointerEvent::DragStart(origin));
        }
        events.push(PointerEvent::Drag { button: PointerButton::Primary, pos, delta });
    }
    if response.drag_stopped_by(PointerButton::Primary) {
        events.push(PointerEvent::DragEnd { shift: ui.input(|i| i.modifiers.shift) });
    }
    for button in [PointerButton::Middle, PointerButton::Secondary] {
        if response.dragged_by(button) {
            events.push(PointerEvent::Drag { button, pos, delta });
        }
    }
    events
}

/// Sends `event` to whoever handles it: the primary button to `tool`, the
/// rest to the fixed gestures.
pub fn dispatch(tool: Tool, target: &mut SliceTarget, event: PointerEvent) {
    match event {
        PointerEvent::Wheel(points) => gestures::step(target, points),
        PointerEvent::Zoom(factor) => gestures::zoom(target, factor),
        PointerEvent::DoubleClick => gestures::toggle_maximised(target),
        PointerEvent::Drag { button: PointerButton::Middle, delta, .. } => gestures::pan(target, delta),
        PointerEvent::Drag { button: PointerButton::Secondary, delta, .. } => window_level::drag(target, delta),
        PointerEvent::PickClass(pos) => label_edit::pick_class(target, pos),
        PointerEvent::Click(_)
        | PointerEvent::DragStart(_)
        | PointerEvent::DragEnd { .. }
        | PointerEvent::Drag { button: PointerButton::Primary, .. } => match tool {
            Tool::Navigate => navigate::pointer(target, event),
            Tool::WindowLevel => window_level::pointer(target, event),
            Tool::Lesion | Tool::Applicator | Tool::Ruler => planning::pointer(tool, target, event),
            _ => label_edit::pointer(tool, target, event),
        },
        PointerEvent::Drag { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use glam::DVec3;
    use vasa_scan::Geometry;

    use super::*;

    fn scene() -> (Volume<i16>, Mpr, Rect) {
        let g = Geometry::axis_aligned(DVec3::new(0.5, 0.5, 2.0), DVec3::new(-10.0, -10.0, 0.0));
        let ct = Volume::filled([40, 40, 10], 0i16, g);
        let mpr = Mpr::new(&ct);
        (ct, mpr, Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 400.0)))
    }

    fn send(tool: Tool, mpr: &mut Mpr, ct: &Volume<i16>, rect: Rect, slot: usize, event: PointerEvent) {
        dispatch(tool, &mut SliceTarget { mpr, ct, labels: None, plan: None, slot, rect }, event);
    }

    #[test]
    fn navigate_moves_the_crosshair_and_the_other_buttons_keep_their_gestures() {
        let (ct, mut mpr, rect) = scene();
        let window = mpr.window;
        // Click right of the axial centre: the crosshair moves to +x.
        let x0 = mpr.cursor.x;
        send(Tool::Navigate, &mut mpr, &ct, rect, 0, PointerEvent::Click(rect.center() + Vec2::new(40.0, 0.0)));
        assert!(mpr.cursor.x > x0 + 1.0);
        assert_eq!(mpr.window, window);
        // Right-drag: window/level, whatever the tool.
        let right = PointerEvent::Drag { button: PointerButton::Secondary, pos: None, delta: Vec2::new(10.0, 5.0) };
        send(Tool::Navigate, &mut mpr, &ct, rect, 0, right);
        assert_eq!(mpr.window, (window.0 + 10.0, window.1 + 40.0));
        // Middle-drag pans: the image follows the pointer.
        let middle = PointerEvent::Drag { button: PointerButton::Middle, pos: None, delta: Vec2::new(30.0, 0.0) };
        send(Tool::WindowLevel, &mut mpr, &ct, rect, 0, middle);
        assert!(mpr.cameras[0].pan[0] < 0.0);
        // The wheel steps one slice (2 mm), Ctrl+wheel zooms, double-click maximises.
        let z = mpr.cursor.z;
        send(Tool::Navigate, &mut mpr, &ct, rect, 0, PointerEvent::Wheel(-3.0));
        assert_eq!(mpr.cursor.z, z - 2.0);
        send(Tool::Navigate, &mut mpr, &ct, rect, 1, PointerEvent::Zoom(2.0));
        assert_eq!(mpr.cameras[1].zoom, 2.0);
        send(Tool::Navigate, &mut mpr, &ct, rect, 2, PointerEvent::DoubleClick);
        assert_eq!(mpr.maximised, Some(2));
    }

    #[test]
    fn with_window_level_active_the_primary_drag_sets_the_window_not_the_crosshair() {
        let (ct, mut mpr, rect) = scene();
        let (cursor, window) = (mpr.cursor, mpr.window);
        let drag = PointerEvent::Drag {
            button: PointerButton::Primary,
            pos: Some(rect.center() + Vec2::new(50.0, 50.0)),
            delta: Vec2::new(-5.0, 10.0),
        };
        send(Tool::WindowLevel, &mut mpr, &ct, rect, 0, drag);
        assert_eq!(mpr.cursor, cursor);
        assert_eq!(mpr.window, (window.0 + 20.0, window.1 - 20.0));
        send(Tool::WindowLevel, &mut mpr, &ct, rect, 0, PointerEvent::Click(rect.min));
        assert_eq!(mpr.cursor, cursor, "a click does not move the crosshair either");
        // The same drag with Navigate moves the crosshair.
        send(Tool::Navigate, &mut mpr, &ct, rect, 0, drag);
        assert_ne!(mpr.cursor, cursor);
        assert_eq!(mpr.window, (window.0 + 20.0, window.1 - 20.0));
    }
}
