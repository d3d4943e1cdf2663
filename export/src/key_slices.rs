//! Key slices for the report: the axial, coronal and sagittal planes
//! through a point (the lesion, the first applicator's tip, or the scan's
//! centre), in a mediastinal window, with the labels blended in their
//! class colours and the plan's outlines (lesion, zones, paths) drawn where
//! the plane cuts them — what a surgeon checks first on a printout.
//! Orientation is the viewer's (radiological: patient right on the left).

use glam::DVec3;
use rayon::prelude::*;
use vasa_plan::{PlanFile, Zone};
use vasa_scan::reslice::{Plane, plane_sampling, trilinear, window_to_u8};
use vasa_scan::{ClassTable, LabelMap, Volume};

/// An RGB picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// Width (pixels).
    pub width: usize,
    /// Height (pixels).
    pub height: usize,
    /// Pixels, 3 bytes each, row-major from the top-left.
    pub pixels: Vec<u8>,
}

impl Rgb {
    /// The picture as PNG bytes.
    pub fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        vasa_scan::png::encode(&vasa_scan::png::Image::rgb(self.width, self.height, &self.pixels), &mut out)
            .expect("encoding into memory cannot fail");
        out
    }

    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = 3 * (y as usize * self.width + x as usize);
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A line from `a` to `b` (pixels), one pixel wide.
    fn line(&mut self, a: [f64; 2], b: [f64; 2], c: [u8; 3]) {
        let n = ((b[0] - a[0]).abs().max((b[1] - a[1]).abs()).ceil() as usize).clamp(1, 1 << 14);
        for s in 0..=n {
            let t = s as f64 / n as f64;
            self.put((a[0] + (b[0] - a[0]) * t).round() as i64, (a[1] + (b[1] - a[1]) * t).round() as i64, c);
        }
    }
}

/// Where the key slices cross: the lesion's centre, else the first
/// applicator's tip, else the scan's centre.
pub fn focus(ct: &Volume<i16>, plan: Option<&PlanFile>) -> DVec3 {
    let from_plan = plan.and_then(|p| {
        p.lesion
            .as_ref()
            .filter(|_| !p.lesion_painted)
            .map(|l| DVec3::from_array(l.centre_mm))
            .or_else(|| p.applicators.first().map(|a| DVec3::from_array(a.target_mm)))
    });
    from_plan.unwrap_or_else(|| vasa_scan::reslice::volume_center(ct))
}

const LESION: [u8; 3] = [255, 120, 200];
const ZONE: [u8; 3] = [255, 200, 60];
const PATH: [u8; 3] = [120, 255, 140];

/// How a key slice looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceStyle {
    /// Window centre and width (HU).
    pub window: (f64, f64),
    /// Opacity of the labels' colours.
    pub opacity: f32,
    /// A square of this many mm centred on the point (a close-up); `None`:
    /// the scan's whole extent.
    pub field_mm: Option<f64>,
}

impl SliceStyle {
    /// The whole scan in a mediastinal window (40 / 400).
    pub const MEDIASTINUM: SliceStyle = SliceStyle { window: (40.0, 400.0), opacity: 0.45, field_mm: None };

    /// A close-up of `field_mm` in a lung window (−600 / 1500), where the
    /// vessels around a lung lesion show.
    pub fn lung_close_up(field_mm: f64) -> SliceStyle {
        SliceStyle { window: (-600.0, 1500.0), opacity: 0.35, field_mm: Some(field_mm) }
    }
}

/// The `plane` through `at`, `side` pixels on its longer side, as `style`
/// says; the plan drawn.
pub fn key_slice(
    ct: &Volume<i16>,
    labels: Option<&LabelMap>,
    plan: Option<&PlanFile>,
    plane: Plane,
    at: DVec3,
    side: usize,
    style: &SliceStyle,
) -> Rgb {
    let (field_mm, opacity) = (style.field_mm, style.opacity);
    let g = &ct.geometry;
    let dims = ct.dims();
    let (right, down) = plane.screen_axes();
    let extent = |axis: DVec3| {
        (0..3).map(|a| (g.direction.col(a) * (g.spacing[a] * dims[a] as f64)).dot(axis).abs()).sum::<f64>()
    };
    let (w_mm, h_mm) = match field_mm {
        Some(f) if f.is_finite() && f > 0.0 => (f, f),
        _ => (extent(right), extent(down)),
    };
    let pixel_mm = w_mm.max(h_mm) / side.max(1) as f64;
    let (width, height) = (((w_mm / pixel_mm).round() as usize).max(1), ((h_mm / pixel_mm).round() as usize).max(1));
    // Centred on the scan in the plane (on `at` for a close-up), through `at` across it.
    let normal = right.cross(down);
    let centre = if field_mm.is_some() { at } else { vasa_scan::reslice::volume_center(ct) };
    let centre = centre + normal * (at - centre).dot(normal);
    let s = plane_sampling(g, plane, centre, pixel_mm, [width, height]);
    let table = ClassTable::default();
    let colours: Vec<Option<[u8; 3]>> = (0..=255u8).map(|c| table.get(c).filter(|_| c != 0).map(|i| i.color)).collect();
    let mut pixels = vec![0u8; width * height * 3];
    pixels.par_chunks_mut(width * 3).enumerate().for_each(|(v, row)| {
        for u in 0..width {
            let p = s.origin + s.du * u as f64 + s.dv * v as f64;
            let Some(hu) = trilinear(ct, p) else { continue };
            let grey = window_to_u8(hu.round() as i16, style.window.0, style.window.1) as f32;
            let mut c = [grey; 3];
            let q = p.round();
            let class = labels
                .filter(|_| q.min_element() >= 0.0)
                .and_then(|l| l.get(q.x as usize, q.y as usize, q.z as usize).copied());
            if let Some(colour) = class.and_then(|k| colours[k as usize]) {
                for (ch, col) in c.iter_mut().zip(colour) {
                    *ch = *ch * (1.0 - opacity) + col as f32 * opacity;
                }
            }
            row[3 * u..3 * u + 3].copy_from_slice(&c.map(|x| x.round() as u8));
        }
    });
    let mut image = Rgb { width, height, pixels };
    if let Some(plan) = plan {
        let half = DVec3::new((width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0, 0.0);
        let to_px =
            |p: DVec3| [(p - centre).dot(right) / pixel_mm + half.x, (p - centre).dot(down) / pixel_mm + half.y];
        draw_plan(&mut image, plan, centre, right, down, &to_px);
    }
    image
}

/// Draws the plan's outlines in the plane through `o` spanned by `e1`, `e2`.
fn draw_plan(image: &mut Rgb, plan: &PlanFile, o: DVec3, e1: DVec3, e2: DVec3, to_px: &dyn Fn(DVec3) -> [f64; 2]) {
    let outline = |image: &mut Rgb, points: Vec<DVec3>, c: [u8; 3]| {
        for (i, &a) in points.iter().enumerate() {
            let b = points[(i + 1) % points.len()];
            image.line(to_px(a), to_px(b), c);
        }
    };
    if let Some(l) = plan.lesion.as_ref().filter(|_| !plan.lesion_painted) {
        let c = DVec3::from_array(l.centre_mm);
        outline(image, vasa_plan::zone::sphere_section(c, l.diameter_mm / 2.0, o, e1, e2, 96), LESION);
    }
    for a in &plan.applicators {
        let (entry, target) = (DVec3::from_array(a.entry_mm), DVec3::from_array(a.target_mm));
        let zone = Zone::along(entry, target, a.setting.length_mm, a.setting.width_mm);
        outline(image, zone.section(o, e1, e2, 96), ZONE);
        image.line(to_px(entry), to_px(target), PATH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::Geometry;

    #[test]
    fn a_key_slice_shows_labels_in_their_colour_where_they_are_and_the_plan() {
        let opaque = |field_mm| SliceStyle { opacity: 1.0, field_mm, ..SliceStyle::MEDIASTINUM };
        let g = Geometry { spacing: DVec3::new(1.0, 1.0, 2.0), ..Geometry::default() };
        let ct = Volume::filled([40, 30, 20], 40i16, g);
        let mut labels = Volume::filled([40, 30, 20], 0u8, g);
        // An artery block on the patient's left side (high x) of the volume.
        for k in 8..12 {
            for j in 10..20 {
                for i in 30..36 {
                    labels.data_mut()[i + 40 * (j + 30 * k)] = 1;
                }
            }
        }
        let at = g.voxel_to_world(DVec3::new(33.0, 15.0, 10.0));
        let image = key_slice(&ct, Some(&labels), None, Plane::Axial, at, 80, &opaque(None));
        assert_eq!((image.width, image.height), (80, 60), "the aspect of 40 × 30 mm");
        let px = |x: usize, y: usize| &image.pixels[3 * (y * image.width + x)..][..3];
        // Axial: patient left (high x) on the image's right.
        assert_eq!(px(66, 30), &[220, 50, 47], "artery colour at voxel (33, 15)");
        assert_eq!(px(10, 30)[0], px(10, 30)[1], "grey elsewhere");
        // A plan draws its zone outline in the plane.
        let plan: PlanFile = serde_json::from_value(serde_json::json!({
            "format": "vasa-plan", "version": 1, "lesion": null, "margin_mm": 5.0, "path_safety_mm": 3.0,
            "applicators": [{"entry_mm": [at.x, at.y - 40.0, at.z], "target_mm": [at.x - 15.0, at.y, at.z],
              "setting": {"device": "MW", "modality": "microwave", "power_w": 100.0, "time_min": 2.0,
                "length_mm": 10.0, "width_mm": 8.0, "tissue": "lung", "source": "test"}}]
        }))
        .unwrap();
        let image = key_slice(&ct, None, Some(&plan), Plane::Axial, at, 80, &opaque(None));
        let zone = image.pixels.chunks(3).filter(|p| *p == ZONE).count();
        assert!(zone > 20, "the zone's outline: {zone} pixels");
        // A close-up of 20 mm around the tip (half the 40 mm field): the
        // outline twice as long in pixels.
        let tip = DVec3::new(at.x - 15.0, at.y, at.z);
        let close = key_slice(&ct, None, Some(&plan), Plane::Axial, tip, 80, &opaque(Some(20.0)));
        assert_eq!((close.width, close.height), (80, 80));
        let zone_close = close.pixels.chunks(3).filter(|p| *p == ZONE).count();
        assert!(zone_close as f64 > 1.7 * zone as f64, "{zone_close} vs {zone}");
        assert!(!image.png().is_empty());
    }
}
