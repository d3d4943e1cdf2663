//! The two views of the selected applicator's path, in a window of their
//! own: the probe's-eye view (the scan resliced perpendicular to the path,
//! at the tip or a chosen depth along it) and the view along the path (a
//! plane holding it, the entry at the top and the tip below, turned about
//! the path at will). A surgeon scrolls the first along the needle to see
//! what it passes, and turns the second to see the path against the
//! vessels beside it. The plan (lesion, zones, paths) is drawn over both
//! with the slice views' painter.
//!
//! The images are resliced on the CPU (2 × 288² samples, a few ms) only
//! when what they show changes, so any scan size is fine on the UI thread.

use egui::{Align2, Color32, ColorImage, FontId, Rect, Stroke, TextureHandle, TextureOptions, Vec2};
use glam::DVec3;
use rayon::prelude::*;
use vasa_scan::reslice::{trilinear, window_to_u8};
use vasa_scan::{LabelMap, Volume};

use super::layers::LayerStyles;
use super::slice_camera::ViewMapping;
use crate::doc::Plan;

/// Pixels across each view.
pub const SIZE: usize = 288;

/// Screen axes (right, down) of the probe's-eye view of the path from
/// `entry` to `target`: looking along the needle, the screen's right is the
/// patient's left made perpendicular to it (or posterior, for a path running
/// left–right), and right × down points along the needle.
pub fn probe_axes(entry: DVec3, target: DVec3) -> (DVec3, DVec3) {
    let d = (target - entry).try_normalize().unwrap_or(DVec3::Z);
    let base = if d.x.abs() < 0.9 { DVec3::X } else { DVec3::Y };
    let right = (base - d * base.dot(d)).normalize();
    (right, d.cross(right))
}

/// Screen axes (right, down) of the view along the path: down runs along
/// the needle (entry at the top), right is the probe's-eye right turned by
/// `angle_deg` about the needle.
pub fn along_axes(entry: DVec3, target: DVec3, angle_deg: f64) -> (DVec3, DVec3) {
    let d = (target - entry).try_normalize().unwrap_or(DVec3::Z);
    let (r0, d0) = probe_axes(entry, target);
    let (s, c) = angle_deg.to_radians().sin_cos();
    (r0 * c + d0 * s, d)
}

/// The patient direction letter a screen axis points to most.
pub fn direction_letter(v: DVec3) -> char {
    let a = v.abs();
    if a.x >= a.y && a.x >= a.z {
        if v.x > 0.0 { 'L' } else { 'R' }
    } else if a.y >= a.z {
        if v.y > 0.0 { 'P' } else { 'A' }
    } else if v.z > 0.0 {
        'S'
    } else {
        'I'
    }
}

/// One resliced view: where it samples and its image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewPlane {
    /// Patient point at the image centre.
    pub centre: DVec3,
    /// Screen right (unit, patient).
    pub right: DVec3,
    /// Screen down (unit, patient).
    pub down: DVec3,
    /// Millimetres per pixel.
    pub mm_per_px: f64,
}

impl ViewPlane {
    /// The mapping of this plane drawn in `rect` (`SIZE` pixels across it).
    pub fn mapping(&self, rect: Rect) -> ViewMapping {
        let mm_per_point = self.mm_per_px * SIZE as f64 / rect.width().max(1.0) as f64;
        ViewMapping { rect, centre: self.centre, mm_per_point, right: self.right, down: self.down }
    }
}

/// The two planes of applicator `i` of `plan`: the probe's eye at `depth_mm`
/// beyond the tip (negative: towards the entry) and the view along the
/// path turned by `angle_deg`.
pub fn planes(plan: &Plan, i: usize, depth_mm: f64, angle_deg: f64) -> Option<[ViewPlane; 2]> {
    let a = plan.applicators.get(i)?;
    let zone = plan.zone(i)?;
    let d = (a.target - a.entry).try_normalize()?;
    let (right, down) = probe_axes(a.entry, a.target);
    let across = (2.5 * zone.width_mm.max(zone.length_mm)).max(60.0);
    let probe = ViewPlane { centre: a.target + d * depth_mm, right, down, mm_per_px: across / SIZE as f64 };
    // Along: from the entry to past the zone's far end, with room either side.
    let far = a.target + d * (zone.length_mm / 2.0 + 10.0);
    let near = a.entry - d * 10.0;
    let span = near.distance(far).max(60.0);
    let (right, down) = along_axes(a.entry, a.target, angle_deg);
    let along = ViewPlane { centre: (near + far) / 2.0, right, down, mm_per_px: span / SIZE as f64 };
    Some([probe, along])
}

/// The scan (windowed) and the visible labels (blended) on `plane`.
pub fn render(
    ct: &Volume<i16>,
    labels: Option<&LabelMap>,
    styles: &LayerStyles,
    window: (f32, f32),
    plane: &ViewPlane,
) -> ColorImage {
    let g = &ct.geometry;
    let half = (SIZE as f64 - 1.0) / 2.0;
    let origin = plane.centre - (plane.right + plane.down) * (half * plane.mm_per_px);
    let (du, dv) = (plane.right * plane.mm_per_px, plane.down * plane.mm_per_px);
    let mut pixels = vec![Color32::BLACK; SIZE * SIZE];
    pixels.par_chunks_mut(SIZE).enumerate().for_each(|(v, row)| {
        for (u, px) in row.iter_mut().enumerate() {
            let p = origin + du * u as f64 + dv * v as f64;
            let voxel = g.world_to_voxel(p);
            let Some(hu) = trilinear(ct, voxel) else { continue };
            let grey = window_to_u8(hu.round() as i16, window.0 as f64, window.1 as f64);
            let mut c = [grey as f32; 3];
            let q = voxel.round();
            if let Some(&k) =
                labels.filter(|_| q.min_element() >= 0.0).and_then(|l| l.get(q.x as usize, q.y as usize, q.z as usize))
                && k != 0
                && let Some(style) = styles.styles.get(k as usize).filter(|s| s.visible)
            {
                let o = styles.opacity.clamp(0.0, 1.0);
                for (ch, &col) in c.iter_mut().zip(&style.color) {
                    *ch = *ch * (1.0 - o) + col as f32 * o;
                }
            }
            *px = Color32::from_rgb(c[0] as u8, c[1] as u8, c[2] as u8);
        }
    });
    ColorImage { size: [SIZE, SIZE], pixels, source_size: Vec2::splat(SIZE as f32) }
}

/// What the images show: when it changes they are resliced.
#[derive(Debug, Clone, PartialEq)]
struct Key {
    planes: [ViewPlane; 2],
    window: (f32, f32),
    labels: (u64, u64),
    styles: Vec<(bool, [u8; 3])>,
    opacity: f32,
}

/// The window's state.
#[derive(Default)]
pub struct PathViews {
    /// Shown.
    pub open: bool,
    /// Where the probe's-eye view cuts: mm beyond the tip (negative: towards the entry).
    pub depth_mm: f64,
    /// How far the view along the path is turned about it (degrees).
    pub angle_deg: f64,
    /// The images and what they show.
    shown: Option<(Key, [TextureHandle; 2])>,
}

/// What the window shows besides its own state.
pub struct PathScene<'a> {
    /// The scan.
    pub ct: &'a Volume<i16>,
    /// The shown labels, their layer id and revision.
    pub labels: Option<(&'a LabelMap, u64, u64)>,
    /// How classes are drawn.
    pub styles: &'a LayerStyles,
    /// The slice views' window (centre, width HU).
    pub window: (f32, f32),
    /// The plan.
    pub plan: &'a Plan,
}

impl PathViews {
    /// Draws the window (when open and an applicator is selected).
    pub fn window(&mut self, ctx: &egui::Context, scene: PathScene<'_>) {
        let Some(i) = scene.plan.selected.filter(|_| self.open) else { return };
        let mut open = self.open;
        egui::Window::new(format!("Applicator {} path", i + 1))
            .id(egui::Id::unique("path views"))
            .open(&mut open)
            .resizable(true)
            .default_pos(ctx.content_rect().left_bottom() + Vec2::new(16.0, -(SIZE as f32) - 150.0))
            .default_width(2.0 * SIZE as f32 + 24.0)
            .show(ctx, |ui| self.contents(ui, i, &scene));
        self.open = open;
    }

    fn contents(&mut self, ui: &mut egui::Ui, i: usize, scene: &PathScene<'_>) {
        let Some(a) = scene.plan.applicators.get(i) else { return };
        let length = a.entry.distance(a.target);
        self.depth_mm = self.depth_mm.clamp(-length, 30.0);
        let Some(planes) = planes(scene.plan, i, self.depth_mm, self.angle_deg) else { return };
        let key = Key {
            planes,
            window: scene.window,
            labels: scene.labels.map_or((0, 0), |(_, id, rev)| (id, rev)),
            styles: scene.styles.styles.iter().take(16).map(|s| (s.visible, s.color)).collect(),
            opacity: scene.styles.opacity,
        };
        if self.shown.as_ref().is_none_or(|(k, _)| *k != key) {
            let labels = scene.labels.map(|(l, _, _)| l);
            let images = planes.map(|p| render(scene.ct, labels, scene.styles, scene.window, &p));
            let textures = match self.shown.take() {
                Some((_, mut t)) => {
                    for (t, image) in t.iter_mut().zip(images) {
                        t.set(image, TextureOptions::LINEAR);
                    }
                    t
                }
                None => {
                    let [a, b] = images;
                    [
                        ui.ctx().load_texture("probe's eye", a, TextureOptions::LINEAR),
                        ui.ctx().load_texture("along the path", b, TextureOptions::LINEAR),
                    ]
                }
            };
            self.shown = Some((key, textures));
        }
        let Some((_, textures)) = &self.shown else { return };
        let side = ((ui.available_width() - 8.0) / 2.0).clamp(160.0, 640.0);
        let mut wheel = [0.0f32; 2];
        ui.horizontal(|ui| {
            for (n, texture) in textures.iter().enumerate() {
                let image = egui::Image::new((texture.id(), Vec2::splat(side))).sense(egui::Sense::hover());
                let response = ui.add(image);
                if response.hovered() {
                    wheel[n] = ui.input(|i| i.smooth_scroll_delta.y);
                }
                let rect = response.rect;
                let painter = ui.painter_at(rect);
                let mapping = planes[n].mapping(rect);
                super::plan_paint::paint(&painter, scene.plan, &mapping, None);
                let letters = |v: DVec3| (direction_letter(-v), direction_letter(v));
                let (l, r) = letters(planes[n].right);
                let (t, b) = letters(planes[n].down);
                let font = FontId::proportional(12.0);
                let grey = Color32::LIGHT_GRAY;
                painter.text(rect.left_center() + Vec2::new(4.0, 0.0), Align2::LEFT_CENTER, l, font.clone(), grey);
                painter.text(rect.right_center() - Vec2::new(4.0, 0.0), Align2::RIGHT_CENTER, r, font.clone(), grey);
                painter.text(rect.center_top() + Vec2::new(0.0, 4.0), Align2::CENTER_TOP, t, font.clone(), grey);
                painter.text(rect.center_bottom() - Vec2::new(0.0, 20.0), Align2::CENTER_BOTTOM, b, font.clone(), grey);
                let title = if n == 0 {
                    format!("probe's eye, tip {:+.1} mm", self.depth_mm)
                } else {
                    format!("along the path, turned {:.0} deg", self.angle_deg)
                };
                painter.text(
                    rect.left_bottom() + Vec2::new(4.0, -4.0),
                    Align2::LEFT_BOTTOM,
                    title,
                    font,
                    Color32::WHITE,
                );
                if n == 1 {
                    // Where the probe's-eye view cuts, across the path.
                    let at = planes[0].centre;
                    let across = planes[1].right * 8.0;
                    let stroke = Stroke::new(1.5, Color32::from_rgb(90, 200, 255));
                    painter.line_segment([mapping.to_screen(at - across), mapping.to_screen(at + across)], stroke);
                }
            }
        });
        self.depth_mm = (self.depth_mm - wheel[0] as f64 * 0.05).clamp(-length, 30.0);
        self.angle_deg = (self.angle_deg + wheel[1] as f64 * 0.2).rem_euclid(180.0);
        ui.add(egui::Slider::new(&mut self.depth_mm, -length..=30.0).text("probe's eye: mm from the tip"));
        ui.add(egui::Slider::new(&mut self.angle_deg, 0.0..=180.0).text("turn the view along the path (deg)"));
        ui.label(egui::RichText::new("wheel over a view: move along the needle / turn about it").small());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    #[test]
    fn the_probe_looks_along_the_needle_and_the_side_view_holds_it() {
        for (entry, target) in [
            (DVec3::new(0.0, -80.0, 0.0), DVec3::ZERO),
            (DVec3::new(-70.0, 0.0, 5.0), DVec3::new(0.0, 3.0, 0.0)),
            (DVec3::new(10.0, 20.0, 90.0), DVec3::new(12.0, 18.0, 0.0)),
        ] {
            let d = (target - entry).normalize();
            let (r, down) = probe_axes(entry, target);
            assert!((r.length() - 1.0).abs() < 1e-12 && (down.length() - 1.0).abs() < 1e-12);
            assert!(r.dot(down).abs() < 1e-12 && r.dot(d).abs() < 1e-12);
            assert!((r.cross(down) - d).length() < 1e-12, "right × down looks along the needle");
            for angle in [0.0, 37.0, 90.0] {
                let (r, down) = along_axes(entry, target, angle);
                assert!((down - d).length() < 1e-12 && r.dot(d).abs() < 1e-12);
            }
        }
        // A path from the front: the probe's right is the patient's left.
        let (r, down) = probe_axes(DVec3::new(0.0, -80.0, 0.0), DVec3::ZERO);
        assert_eq!((direction_letter(r), direction_letter(down)), ('L', 'I'));
    }

    #[test]
    fn a_needle_through_a_vessel_shows_it_at_the_centre_of_the_probe_view() {
        // A 64 mm cube of soft tissue (40 HU) with a labelled vessel (class
        // 1) along z through its centre; the applicator comes down along z.
        let g = Geometry { spacing: DVec3::new(1.0, 1.0, 2.0), ..Geometry::default() };
        let mut ct = Volume::filled([64, 64, 32], 40i16, g);
        let mut labels = Volume::filled([64, 64, 32], 0u8, g);
        for k in 0..32 {
            for j in 0..64 {
                for i in 0..64 {
                    if (i as f64 - 32.0).hypot(j as f64 - 32.0) <= 3.0 {
                        labels.data_mut()[i + 64 * (j + 64 * k)] = 1;
                        ct.data_mut()[i + 64 * (j + 64 * k)] = 300;
                    }
                }
            }
        }
        let mut plan = Plan::default();
        let centre = g.voxel_to_world(DVec3::new(32.0, 32.0, 16.0));
        plan.apply(crate::doc::plan::PlanOp::AddApplicator { target: centre, entry: centre - DVec3::Z * 40.0 });
        let [probe, along] = planes(&plan, 0, 0.0, 0.0).unwrap();
        let styles = LayerStyles::default();
        let image = render(&ct, Some(&labels), &styles, (40.0, 400.0), &probe);
        let at = |u: usize, v: usize| image.pixels[u + SIZE * v];
        let red = styles.styles[1].color;
        let middle = at(SIZE / 2, SIZE / 2);
        assert!(middle.r() > middle.g() + 40, "the vessel's colour at the centre: {middle:?} (artery {red:?})");
        let edge = at(10, SIZE / 2);
        assert_eq!((edge.r(), edge.g()), (edge.g(), edge.b()), "plain grey away from it: {edge:?}");
        // Along the path the vessel is a vertical band through the centre.
        let image = render(&ct, Some(&labels), &styles, (40.0, 400.0), &along);
        let column: Vec<bool> = (0..SIZE).map(|v| image.pixels[SIZE / 2 + SIZE * v].r() > 150).collect();
        let inside = (0..SIZE).filter(|&v| {
            let p = along.centre + along.down * ((v as f64 - (SIZE as f64 - 1.0) / 2.0) * along.mm_per_px);
            (g.world_to_voxel(p).z - 15.5).abs() < 15.0
        });
        assert!(inside.clone().count() > 20 && inside.into_iter().all(|v| column[v]));
    }
}
