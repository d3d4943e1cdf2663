//! Messages for the user that stay until dismissed: load failures (naming
//! the file and the reason), save results, warnings from the loader.

/// How serious a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something went as asked ("saved labels to …").
    Info,
    /// Done, but with a repair or an assumption the user should know about.
    Warning,
    /// Failed; nothing changed.
    Error,
}

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// How serious.
    pub level: Level,
    /// The text (names the file and the reason).
    pub text: String,
}

/// The messages on screen, newest last.
#[derive(Debug, Default)]
pub struct Notices {
    /// Messages not yet dismissed.
    pub list: Vec<Notice>,
}

impl Notices {
    /// Shows `text` until dismissed (a repeat of the newest is not added twice).
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let n = Notice { level, text: text.into() };
        if self.list.last() != Some(&n) {
            self.list.push(n);
        }
        // Keep the screen usable if something fails over and over.
        if self.list.len() > 8 {
            self.list.remove(0);
        }
    }

    /// Errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Notice> {
        self.list.iter().filter(|n| n.level == Level::Error)
    }

    /// Draws the messages as a stack of bars with a Dismiss button each.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let mut dismiss = None;
        for (i, n) in self.list.iter().enumerate() {
            let (colour, tag) = match n.level {
                Level::Info => (egui::Color32::from_rgb(150, 220, 150), "info:"),
                Level::Warning => (egui::Color32::from_rgb(240, 200, 80), "warning:"),
                Level::Error => (egui::Color32::from_rgb(255, 120, 110), "error:"),
            };
            ui.horizontal(|ui| {
                if ui.small_button("Dismiss").clicked() {
                    dismiss = Some(i);
                }
                ui.colored_label(colour, format!("{tag} {}", n.text));
            });
        }
        if let Some(i) = dismiss {
            self.list.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_not_stacked_and_the_list_is_bounded() {
        let mut n = Notices::default();
        n.push(Level::Error, "a");
        n.push(Level::Error, "a");
        assert_eq!(n.list.len(), 1);
        for i in 0..20 {
            n.push(Level::Info, format!("{i}"));
        }
        assert_eq!(n.list.len(), 8);
        assert_eq!(n.list.last().unwrap().text, "19");
        assert_eq!(n.errors().count(), 0);
    }
}
