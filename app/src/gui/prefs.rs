//! What the viewer remembers between runs, in eframe's storage (with egui's
//! own memory: panel sizes and window positions): whether the welcome panel
//! was dismissed, the slices' window, the class colours, fill and opacity,
//! and the surfaces' opacity. Recent files stay in their own file
//! (`recent.json`), which the command line shares.

use serde::{Deserialize, Serialize};

use super::VasaApp;

/// The storage key.
pub const KEY: &str = "vasa-prefs";

/// The remembered settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// The welcome panel was dismissed.
    pub welcomed: bool,
    /// The slices' window (centre, width HU).
    pub window: (f32, f32),
    /// Colours of classes 1.. (artery, vein, aorta, lesion).
    pub colours: Vec<[u8; 3]>,
    /// Labels filled (false: outlines).
    pub fill: bool,
    /// Opacity of the labels over the slices.
    pub opacity: f32,
    /// Opacity of the 3D surfaces.
    pub surface_opacity: f32,
}

impl Default for Prefs {
    fn default() -> Self {
        let styles = super::layers::LayerStyles::default();
        Prefs {
            welcomed: false,
            window: (super::mpr::PRESETS[1].1, super::mpr::PRESETS[1].2),
            colours: styles.styles[1..=4].iter().map(|s| s.color).collect(),
            fill: styles.fill,
            opacity: styles.opacity,
            surface_opacity: 1.0,
        }
    }
}

impl VasaApp {
    /// The settings to remember, as they are now.
    pub fn prefs(&self) -> Prefs {
        let mut p = self.prefs.clone();
        p.welcomed = !self.welcome;
        if let Some(v) = &self.views {
            p.window = v.mpr.window;
            p.colours = v.styles.styles[1..=4].iter().map(|s| s.color).collect();
            p.fill = v.styles.fill;
            p.opacity = v.styles.opacity;
            p.surface_opacity = v.view3d.volume.surface_opacity;
        }
        p
    }

    /// Applies the remembered settings to the views of a scan just shown.
    pub fn apply_prefs_to_views(&mut self) {
        let p = self.prefs.clone();
        if let Some(v) = &mut self.views {
            if p.window.1 > 0.0 && p.window.0.is_finite() {
                v.mpr.window = p.window;
            }
            for (s, &c) in v.styles.styles[1..].iter_mut().zip(&p.colours) {
                s.color = c;
            }
            v.styles.fill = p.fill;
            v.styles.opacity = p.opacity.clamp(0.0, 1.0);
            v.view3d.volume.surface_opacity = p.surface_opacity.clamp(0.05, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefs_survive_their_serialised_form_and_fill_in_missing_fields() {
        let p = Prefs { welcomed: true, window: (-600.0, 1500.0), ..Prefs::default() };
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Prefs>(&text).unwrap(), p);
        let old: Prefs = serde_json::from_str("{\"welcomed\": true}").unwrap();
        assert_eq!((old.welcomed, old.colours.len()), (true, 4));
    }
}
