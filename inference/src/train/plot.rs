//! `curves.png`: the training and validation loss (top) and the validation
//! Dice of each class (bottom) against the optimiser step, drawn with a tiny
//! built-in bitmap font so the plot needs no font files.

use std::path::Path;

use vasa_scan::ClassTable;

use super::log::EpochRecord;

const W: usize = 900;
const H: usize = 620;
const MARGIN_L: usize = 70;
const MARGIN_R: usize = 20;
const BG: [u8; 3] = [255, 255, 255];
const AXIS: [u8; 3] = [60, 60, 60];
const GRID: [u8; 3] = [225, 225, 225];
const TRAIN: [u8; 3] = [40, 40, 40];
const VAL: [u8; 3] = [230, 120, 20];

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        let mut px = vec![0u8; W * H * 3];
        for p in px.chunks_mut(3) {
            p.copy_from_slice(&BG);
        }
        Canvas { px }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < W && (y as usize) < H {
            let i = (y as usize * W + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3], thick: i64) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for s in 0..=n {
            let t = s as f64 / n as f64;
            let (x, y) = ((x0 + (x1 - x0) * t).round() as i64, (y0 + (y1 - y0) * t).round() as i64);
            for dy in 0..thick {
                for dx in 0..thick {
                    self.set(x + dx - thick / 2, y + dy - thick / 2, c);
                }
            }
        }
    }

    fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        for (n, ch) in s.chars().enumerate() {
            let rows = glyph(ch);
            for (r, bits) in rows.iter().enumerate() {
                for b in 0..5 {
                    if bits & (1 << (4 - b)) != 0 {
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            self.set(x + n as i64 * 12 + b as i64 * 2 + dx, y + r as i64 * 2 + dy, c);
                        }
                    }
                }
            }
        }
    }
}

/// 5×7 glyphs for the characters the plot writes (others draw blank).
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        _ => [0; 7],
    }
}

/// A panel: plot area rows `top..bottom`, y range `lo..hi`.
struct Panel {
    top: f64,
    bottom: f64,
    lo: f64,
    hi: f64,
    max_step: f64,
}

impl Panel {
    fn x(&self, step: f64) -> f64 {
        MARGIN_L as f64 + (W - MARGIN_L - MARGIN_R) as f64 * step / self.max_step
    }
    fn y(&self, v: f64) -> f64 {
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        self.bottom - (self.bottom - self.top) * t
    }
    fn frame(&self, c: &mut Canvas) {
        for g in 0..=4 {
            let v = self.lo + (self.hi - self.lo) * g as f64 / 4.0;
            let y = self.y(v);
            c.line((MARGIN_L as f64, y), ((W - MARGIN_R) as f64, y), GRID, 1);
            c.text(4, y as i64 - 7, &format_tick(v), AXIS);
        }
        c.line((MARGIN_L as f64, self.top), (MARGIN_L as f64, self.bottom), AXIS, 1);
        c.line((MARGIN_L as f64, self.bottom), ((W - MARGIN_R) as f64, self.bottom), AXIS, 1);
    }
    fn series(&self, c: &mut Canvas, points: &[(f64, f64)], colour: [u8; 3]) {
        let pts: Vec<(f64, f64)> =
            points.iter().filter(|(_, v)| v.is_finite()).map(|&(s, v)| (self.x(s), self.y(v))).collect();
        for w in pts.windows(2) {
            c.line(w[0], w[1], colour, 2);
        }
        for &(x, y) in &pts {
            c.line((x - 2.0, y), (x + 2.0, y), colour, 3);
        }
    }
}

fn format_tick(v: f64) -> String {
    if v.abs() >= 10.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

/// Draws the curves of `records` into a PNG at `path` (atomically).
pub fn write_curves(path: &Path, records: &[EpochRecord]) -> Result<(), String> {
    let mut c = Canvas::new();
    let max_step = records.iter().map(|r| r.step).max().unwrap_or(1).max(1) as f64;
    let losses: Vec<f64> =
        records.iter().flat_map(|r| [r.train_loss as f64, r.val_loss as f64]).filter(|v| v.is_finite()).collect();
    let hi = losses.iter().cloned().fold(0.0f64, f64::max).max(1e-3) * 1.05;
    let top = Panel { top: 40.0, bottom: 280.0, lo: 0.0, hi, max_step };
    let bottom = Panel { top: 350.0, bottom: 590.0, lo: 0.0, hi: 1.0, max_step };
    top.frame(&mut c);
    bottom.frame(&mut c);
    c.text(MARGIN_L as i64, 10, "LOSS", AXIS);
    c.text(MARGIN_L as i64 + 80, 10, "TRAIN", TRAIN);
    c.text(MARGIN_L as i64 + 160, 10, "VAL", VAL);
    c.text(MARGIN_L as i64, 320, "VAL DICE", AXIS);
    let table = ClassTable::default();
    let series = |f: &dyn Fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        records.iter().map(|r| (r.step as f64, f(r))).collect()
    };
    top.series(&mut c, &series(&|r| r.train_loss as f64), TRAIN);
    top.series(&mut c, &series(&|r| r.val_loss as f64), VAL);
    for (n, name) in ["ARTERY", "VEIN", "AORTA"].into_iter().enumerate() {
        let colour = table.get(n as u8 + 1).map_or(AXIS, |ci| ci.color);
        bottom.series(&mut c, &series(&|r| r.dice[n]), colour);
        c.text(MARGIN_L as i64 + 120 + n as i64 * 100, 320, name, colour);
    }
    c.text((W - MARGIN_R) as i64 - 160, (H - 22) as i64, &format!("STEP {}", max_step as usize), AXIS);
    vasa_scan::png::write_rgb(path, W, H, &c.px).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_with_the_class_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        let records: Vec<EpochRecord> = (1..=5)
            .map(|e| EpochRecord {
                epoch: e,
                step: e * 10,
                lr: 1e-3,
                train_loss: 1.0 / e as f32,
                val_loss: 1.2 / e as f32,
                dice: [0.1 * e as f64, 0.15 * e as f64, 0.18 * e as f64],
                seconds: e as f64,
            })
            .collect();
        write_curves(&path, &records).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (W as u32, H as u32));
        let artery = ClassTable::default().get(1).unwrap().color;
        let count = buf.chunks(3).filter(|p| *p == artery).count();
        assert!(count > 200, "artery curve drawn: {count} pixels");
    }
}
