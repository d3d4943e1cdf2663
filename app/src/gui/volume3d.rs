//! The 3D view's volume rendering: what the user chose (surfaces only, MIP,
//! MinIP, direct volume rendering with a preset, labels over CT context;
//! surfaces too or not; a clip box and a cut plane) and the CT's copy for
//! ray casting ([`RayVolume`]), built on a worker the first time a volume
//! mode is chosen. While the camera moves the rays take coarser steps; a
//! moment after it stops the picture is drawn again at full quality.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui_wgpu::RenderState;
use vasa_render::{ClipPlane, RayVolume, TransferFunction, VolumeMode, VolumeSettings};
use vasa_scan::{LabelMap, Volume};

use super::job::Job;
use super::layers::LayerStyles;
use crate::error::AppError;

/// How long after the last camera move the picture stays coarse.
pub const SETTLE: Duration = Duration::from_millis(250);

/// Coarser steps while the camera moves (times the still step).
pub const MOVING_STEP_FACTOR: f32 = 3.0;

static NEXT_VOLUME_ID: AtomicU64 = AtomicU64::new(1);

/// The CT on the GPU for ray casting, with what its label bricks reflect.
#[derive(Clone)]
pub struct ReadyVolume {
    /// The textures and occupancy grid.
    pub volume: RayVolume,
    /// Unique per upload (the GPU side rebuilds its bind group on a new one).
    pub id: u64,
    /// The layer id and revision whose classes the bricks hold (0: none).
    pub classes_of: (u64, u64),
    /// Voxels per HU bin over the transfer function's range ([`HISTOGRAM_BINS`]).
    pub histogram: Vec<u64>,
}

/// Bins of the HU histogram behind the transfer-function editor.
pub const HISTOGRAM_BINS: usize = 256;

/// Voxels of `ct` per HU bin over [`vasa_render::transfer_function::HU_RANGE`].
pub fn histogram(ct: &Volume<i16>) -> Vec<u64> {
    let (lo, hi) = vasa_render::transfer_function::HU_RANGE;
    let mut bins = vec![0u64; HISTOGRAM_BINS];
    for &v in ct.data() {
        let t = ((v as f32 - lo) / (hi - lo) * HISTOGRAM_BINS as f32) as isize;
        bins[t.clamp(0, HISTOGRAM_BINS as isize - 1) as usize] += 1;
    }
    bins
}

/// Writes `tf` to `path` as JSON, atomically; the error names the file.
pub fn save_transfer_function(path: &std::path::Path, tf: &TransferFunction) -> Result<(), String> {
    let json = serde_json::to_string_pretty(tf).map_err(|e| format!("{}: {e}", path.display()))?;
    vasa_scan::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, json.as_bytes()))
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Reads a transfer function saved by [`save_transfer_function`] (or by
/// hand); the error names the file and what is wrong.
pub fn load_transfer_function(path: &std::path::Path) -> Result<TransferFunction, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > 1 << 20 {
        return Err(format!("{}: {} bytes is too big for a transfer function", path.display(), meta.len()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let tf: TransferFunction =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a transfer function: {e}", path.display()))?;
    tf.validated().map_err(|e| format!("{}: {e}", path.display()))
}

/// The volume rendering choices and state of the 3D view.
pub struct Volume3d {
    /// The volume mode; `None` shows the surfaces only.
    pub mode: Option<VolumeMode>,
    /// Draw the class surfaces too (with a volume mode).
    pub surfaces: bool,
    /// Opacity of the class surfaces (below 1: what is behind shows through,
    /// the volume included, in depth).
    pub surface_opacity: f32,
    /// Direct volume rendering's transfer function (and the CT context's under labels).
    pub transfer: TransferFunction,
    /// Opacity of the CT context under the labels.
    pub context_opacity: f32,
    /// An oblique cut (removes the side its normal points to).
    pub clip_plane: Option<ClipPlane>,
    /// The box drawn, patient mm (LPS min, max).
    pub clip_box_mm: Option<([f32; 3], [f32; 3])>,
    /// The CT for ray casting, once built.
    pub ready: Option<ReadyVolume>,
    job: Option<Job<Result<ReadyVolume, AppError>>>,
    /// Why the volume could not be built.
    pub error: Option<String>,
    /// The transfer-function point being edited.
    pub tf_selected: Option<usize>,
    moved_at: Option<Instant>,
}

impl Default for Volume3d {
    fn default() -> Self {
        Volume3d {
            mode: None,
            surfaces: true,
            surface_opacity: 1.0,
            transfer: TransferFunction::ct_angio(),
            context_opacity: 0.25,
            clip_plane: None,
            clip_box_mm: None,
            ready: None,
            job: None,
            error: None,
            tf_selected: None,
            moved_at: None,
        }
    }
}

impl Volume3d {
    /// True while the CT is being prepared for ray casting.
    pub fn is_building(&self) -> bool {
        self.job.is_some()
    }

    /// Starts preparing `ct` (with the classes of `labels`, layer `layer` at
    /// `revision`) for ray casting when a volume mode is on and nothing is
    /// there yet.
    pub fn ensure(
        &mut self,
        ctx: &egui::Context,
        gpu: Option<&RenderState>,
        ct: &Arc<Volume<i16>>,
        labels: Option<(&Arc<LabelMap>, u64, u64)>,
    ) {
        if self.mode.is_none() || self.ready.is_some() || self.job.is_some() || self.error.is_some() {
            return;
        }
        let Some(state) = gpu else {
            self.error = Some("no GPU: volume rendering needs one".into());
            return;
        };
        let (device, queue, ct) = (state.device.clone(), state.queue.clone(), ct.clone());
        let labels = labels.map(|(l, id, rev)| (l.clone(), id, rev));
        self.job = Some(Job::spawn(ctx, "Preparing the volume", move |r| {
            r.set("CT to the GPU", None);
            let map = labels.as_ref().map(|(l, _, _)| l.as_ref());
            let volume = RayVolume::upload(&device, &queue, &ct, map)?;
            let classes_of = labels.map_or((0, 0), |(_, id, rev)| (id, rev));
            let histogram = histogram(&ct);
            Ok(ReadyVolume { volume, id: NEXT_VOLUME_ID.fetch_add(1, Ordering::Relaxed), classes_of, histogram })
        }));
    }

    /// Takes the prepared volume when the worker is done.
    pub fn poll(&mut self) {
        let Some(job) = &self.job else { return };
        let Some(result) = job.outcome() else { return };
        self.job = None;
        match result {
            Ok(v) => self.ready = Some(v),
            Err(e) => self.error = Some(format!("volume rendering unavailable: {e}")),
        }
    }

    /// Records that the camera moved now (the next pictures are coarse).
    pub fn camera_moved(&mut self) {
        self.moved_at = Some(Instant::now());
    }

    /// True while the camera moved less than [`SETTLE`] ago.
    pub fn moving(&self) -> bool {
        self.moved_at.is_some_and(|t| t.elapsed() < SETTLE)
    }

    /// What the renderer needs now, if a volume mode is on and the CT is
    /// ready: the mode, the window (the slices'), the class colours,
    /// whether the label bricks are those of layer `shown` (id, revision).
    pub fn settings(
        &self,
        ct: &Volume<i16>,
        window: (f32, f32),
        styles: &LayerStyles,
        shown: (u64, u64),
    ) -> Option<VolumeSettings> {
        let mode = self.mode?;
        let ready = self.ready.as_ref()?;
        let mut s = VolumeSettings::new(mode, &ct.geometry);
        s.transfer = self.transfer.clone();
        s.window = window;
        s.styles = styles.label_styles();
        s.context_opacity = self.context_opacity;
        s.label_bricks_current = ready.classes_of == shown;
        s.clip_plane = self.clip_plane;
        s.clip_box = self.clip_box_mm.map(|(lo, hi)| {
            let g = &ct.geometry;
            let a = g.world_to_voxel(glam::DVec3::new(lo[0] as f64, lo[1] as f64, lo[2] as f64));
            let b = g.world_to_voxel(glam::DVec3::new(hi[0] as f64, hi[1] as f64, hi[2] as f64));
            ([0, 1, 2].map(|i| a[i].min(b[i]) as f32), [0, 1, 2].map(|i| a[i].max(b[i]) as f32))
        });
        if self.moving() {
            s.step_mm *= MOVING_STEP_FACTOR;
        }
        Some(s)
    }
}

/// The labels' brick classes follow the edits of `region` that took a
/// layer from `from` to `to` (id, revision), when they were `from`'s.
pub fn follow_edit(
    ready: &mut Option<ReadyVolume>,
    labels: &LabelMap,
    from: (u64, u64),
    to: (u64, u64),
    region: vasa_render::DirtyBox,
) {
    if let Some(r) = ready
        && r.classes_of == from
    {
        r.volume.update_classes(labels, region);
        r.classes_of = to;
    }
}

/// The names of the volume modes in the 3D view's menu.
pub fn mode_name(mode: Option<VolumeMode>) -> &'static str {
    match mode {
        None => "surfaces",
        Some(VolumeMode::Mip) => "MIP",
        Some(VolumeMode::MinIp) => "MinIP",
        Some(VolumeMode::Dvr) => "volume rendering",
        Some(VolumeMode::Labels) => "labels (volume)",
    }
}

#[cfg(test)]
mod tests {
    use vasa_scan::Geometry;

    use super::*;

    #[test]
    fn transfer_functions_round_trip_through_files_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tf.json");
        let mut tf = TransferFunction::lung_vessels();
        tf.points[2].opacity = 0.33;
        save_transfer_function(&path, &tf).unwrap();
        assert_eq!(load_transfer_function(&path).unwrap(), tf);
        std::fs::write(&path, "{\"name\":\"x\",\"points\":[{\"hu\":0,\"rgb\":[2,0,0],\"opacity\":0.1}]}").unwrap();
        let e = load_transfer_function(&path).unwrap_err();
        assert!(e.contains("tf.json") && e.contains("rgb"), "{e}");
        std::fs::write(&path, "not json").unwrap();
        assert!(load_transfer_function(&path).unwrap_err().contains("not a transfer function"));
        assert!(load_transfer_function(&dir.path().join("none.json")).is_err());
    }

    #[test]
    fn the_histogram_counts_every_voxel_in_its_hu_bin() {
        let mut ct = Volume::filled([4, 4, 4], -1024i16, Geometry::default());
        ct.data_mut()[0] = 3071;
        ct.data_mut()[1] = 5000; // beyond the range: the last bin
        let h = histogram(&ct);
        assert_eq!(h.len(), HISTOGRAM_BINS);
        assert_eq!(h.iter().sum::<u64>(), 64);
        assert_eq!((h[0], h[HISTOGRAM_BINS - 1]), (62, 2));
    }
}
