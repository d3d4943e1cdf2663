//! Label layers: the label maps of the open scan (the extraction's result,
//! the raw network output, labels opened from a file, the sample's exact
//! labels), one shown at a time. Each layer counts its edits (a revision)
//! and remembers the box of voxels changed since the GPU last took them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vasa_inference::segment::{ClassStats, class_stats};
use vasa_inference::tree::TreeGraph;
use vasa_scan::{ClassTable, LabelMap};

use super::region::VoxelBox;

/// A label map with its figures (computed once, on the worker that made it).
#[derive(Clone)]
pub struct LabelLayer {
    /// Unique id (the GPU holds the labels of one id at a time).
    pub id: u64,
    /// Name in the legend.
    pub name: String,
    /// The labels, on the scan's grid. Change them through
    /// [`LabelLayer::edit`], which keeps the revision and dirty box right.
    pub labels: Arc<LabelMap>,
    /// Volume and pieces per class present (counted when the layer was
    /// made; the label-editing issue recounts after edits).
    pub stats: Vec<ClassStats>,
    /// Unsaved changes (a new extraction result, an edit): offered for saving.
    pub unsaved: bool,
    /// What the extraction's self-check found implausible.
    pub warnings: Vec<SelfCheckNote>,
    /// The tree stage's labelled vessel graph (branches, confidence, islands)
    /// when the layer came from an extraction; describes the labels as made.
    pub tree: Option<Arc<TreeGraph>>,
    /// Every edit made to the layer since it was made or opened, undo and
    /// redo included: replayed on those labels (`vasa edit`) it gives the
    /// labels as they are now. The provenance of exported labels.
    pub log: Vec<vasa_edit::EditOp>,
    /// The labels before the first edit (what `log` replays on), kept once
    /// the layer is edited.
    pub base: Option<Arc<LabelMap>>,
    /// Edits so far (0: as made).
    revision: u64,
    /// The revision whose pieces `stats` counts.
    counted: u64,
    /// When the labels last changed (none: as made).
    changed_at: Option<std::time::Instant>,
    /// Voxels changed since [`LabelLayer::take_dirty`] was last called.
    dirty: Option<VoxelBox>,
}

/// One finding of the extraction's self-check, as the legend lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfCheckNote {
    /// The sentence shown.
    pub text: String,
    /// Where to look (patient LPS, mm), when the finding has a place.
    pub at_mm: Option<[f64; 3]>,
}

impl From<&vasa_inference::segment::selfcheck::Warning> for SelfCheckNote {
    fn from(w: &vasa_inference::segment::selfcheck::Warning) -> Self {
        use vasa_inference::segment::selfcheck::Warning;
        let at_mm = match w {
            Warning::RoundPiece { piece } => Some(piece.at_mm),
            _ => None,
        };
        SelfCheckNote { text: w.to_string(), at_mm }
    }
}

impl LabelLayer {
    /// A layer named `name` holding `labels`; counts volumes and pieces
    /// (seconds on a big scan: call it off the UI thread).
    pub fn new(name: &str, labels: LabelMap) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let stats = class_stats(&labels, &ClassTable::default());
        LabelLayer {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            name: name.to_string(),
            labels: Arc::new(labels),
            stats,
            unsaved: false,
            warnings: Vec::new(),
            tree: None,
            log: Vec::new(),
            base: None,
            revision: 0,
            counted: 0,
            changed_at: None,
            dirty: None,
        }
    }

    /// Brings the legend's volumes up to date after an edit whose box held
    /// `before` (what is there now is read from the labels): exact, and
    /// costs the box, not the map. Piece counts wait for the next count
    /// (on a worker, once the edits pause).
    pub fn update_volumes(&mut self, before: &vasa_edit::Patch) {
        let (was, now) = (before.class_counts(), before.class_counts_in(&self.labels));
        let ml = self.labels.voxel_volume_ml();
        let table = ClassTable::default();
        for c in 1..=255u8 {
            let delta = now[c as usize] as f64 - was[c as usize] as f64;
            if delta == 0.0 {
                continue;
            }
            match self.stats.iter_mut().find(|s| s.class == c) {
                Some(s) => s.volume_ml = (s.volume_ml + delta * ml).max(0.0),
                None => {
                    self.stats.push(ClassStats { class: c, name: table.name(c), volume_ml: delta * ml, components: 0 });
                    self.stats.sort_by_key(|s| s.class);
                }
            }
        }
    }

    /// Volume (mL) and pieces of `class`, zero when absent.
    pub fn figures(&self, class: u8) -> (f64, u32) {
        self.stats.iter().find(|s| s.class == class).map_or((0.0, 0), |s| (s.volume_ml, s.components))
    }

    /// True when the labels changed since their pieces were counted and
    /// have not changed for `settle` (the user paused): time to recount.
    pub fn needs_count(&self, settle: std::time::Duration) -> bool {
        self.counted != self.revision && self.changed_at.is_some_and(|t| t.elapsed() >= settle)
    }

    /// Takes the figures counted on revision `revision`: the piece counts
    /// always (the legend says when they are older than the labels), the
    /// volumes only while they are the labels' (edits since have kept
    /// them exact).
    pub fn set_counted(&mut self, revision: u64, stats: Vec<ClassStats>) {
        if revision == self.revision {
            self.stats = stats;
        } else {
            for s in &mut self.stats {
                s.components = stats.iter().find(|t| t.class == s.class).map_or(0, |t| t.components);
            }
        }
        self.counted = revision;
    }

    /// True when the labels last changed at least `settle` ago (or never).
    pub fn changed_for(&self, settle: std::time::Duration) -> bool {
        self.changed_at.is_none_or(|t| t.elapsed() >= settle)
    }

    /// True when the piece counts are those of the labels as they are.
    pub fn pieces_current(&self) -> bool {
        self.counted == self.revision
    }

    /// How many edits the labels have had (0: as made).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The voxels changed since the last [`LabelLayer::take_dirty`], if any.
    pub fn dirty(&self) -> Option<VoxelBox> {
        self.dirty
    }

    /// Records that the voxels of `region` changed: bumps the revision and
    /// grows the dirty box.
    pub fn mark_dirty(&mut self, region: VoxelBox) {
        let region = region.clamped(self.labels.dims());
        if region.is_empty() {
            return;
        }
        self.revision += 1;
        self.changed_at = Some(std::time::Instant::now());
        self.dirty = Some(self.dirty.map_or(region, |d| d.union(region)));
        self.unsaved = true;
    }

    /// The dirty box, cleared: the caller (the GPU upload) now holds those voxels.
    pub fn take_dirty(&mut self) -> Option<VoxelBox> {
        self.dirty.take()
    }

    /// Changes the voxels of `region` (clipped to the map): `paint` gets
    /// each voxel's index and label, x fastest. Marks the region dirty.
    pub fn edit(&mut self, region: VoxelBox, mut paint: impl FnMut([usize; 3], &mut u8)) {
        let region = region.clamped(self.labels.dims());
        if region.is_empty() {
            return;
        }
        let labels = Arc::make_mut(&mut self.labels);
        for v in region.voxels() {
            let at = labels.index(v[0], v[1], v[2]);
            paint(v, &mut labels.data_mut()[at]);
        }
        self.mark_dirty(region);
    }

    /// A copy of the labels of `region` (clipped to the map), x fastest.
    pub fn read(&self, region: VoxelBox) -> Vec<u8> {
        let region = region.clamped(self.labels.dims());
        region.voxels().map(|v| self.labels.data()[self.labels.index(v[0], v[1], v[2])]).collect()
    }

    /// Writes `voxels` (as [`LabelLayer::read`] returns them) back into `region`.
    pub fn write(&mut self, region: VoxelBox, voxels: &[u8]) {
        let mut values = voxels.iter();
        self.edit(region, |_, l| {
            if let Some(&v) = values.next() {
                *l = v;
            }
        });
    }
}

/// All layers of the open scan, and which one is shown.
#[derive(Clone, Default)]
pub struct Layers {
    /// The layers, in the order they arrived.
    pub layers: Vec<LabelLayer>,
    /// Index of the layer shown (and edited), if any.
    pub shown: Option<usize>,
}

impl Layers {
    /// Adds `layer` (replacing one of the same name) and shows it.
    pub fn add(&mut self, layer: LabelLayer) {
        let at = match self.layers.iter().position(|l| l.name == layer.name) {
            Some(i) => {
                self.layers[i] = layer;
                i
            }
            None => {
                self.layers.push(layer);
                self.layers.len() - 1
            }
        };
        self.shown = Some(at);
    }

    /// The layer shown, if any.
    pub fn shown_layer(&self) -> Option<&LabelLayer> {
        self.shown.and_then(|i| self.layers.get(i))
    }

    /// The shown layer, to change it.
    pub fn shown_layer_mut(&mut self) -> Option<&mut LabelLayer> {
        self.shown.and_then(|i| self.layers.get_mut(i))
    }

    /// The layer with id `id`.
    pub fn get(&self, id: u64) -> Option<&LabelLayer> {
        self.layers.iter().find(|l| l.id == id)
    }

    /// The layer with id `id`, to change it.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut LabelLayer> {
        self.layers.iter_mut().find(|l| l.id == id)
    }

    /// The layers not saved yet.
    pub fn unsaved(&self) -> impl Iterator<Item = &LabelLayer> {
        self.layers.iter().filter(|l| l.unsaved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vasa_scan::{Geometry, Volume};

    #[test]
    fn a_layer_counts_volume_and_pieces_per_class() {
        // 2 mm voxels (8 µL each): class 1 in two separate cubes, class 3 in one.
        let g = Geometry::axis_aligned(glam::DVec3::splat(2.0), glam::DVec3::ZERO);
        let mut l = Volume::filled([10, 10, 10], 0u8, g);
        for (i, j, k, c) in [(1, 1, 1, 1), (1, 2, 1, 1), (7, 7, 7, 1), (5, 5, 5, 3)] {
            let at = l.index(i, j, k);
            l.data_mut()[at] = c;
        }
        let layer = LabelLayer::new("t", l);
        let (ml, pieces) = layer.figures(1);
        assert!((ml - 3.0 * 0.008).abs() < 1e-9, "{ml}");
        assert_eq!(pieces, 2);
        assert_eq!(layer.figures(3).1, 1);
        assert_eq!(layer.figures(2), (0.0, 0));
    }

    #[test]
    fn edits_bump_the_revision_and_grow_the_dirty_box_until_taken() {
        let mut layer = LabelLayer::new("t", Volume::filled([8, 8, 8], 0u8, Geometry::default()));
        assert_eq!((layer.revision(), layer.dirty(), layer.unsaved), (0, None, false));
        let shared = layer.labels.clone();
        layer.edit(VoxelBox::new([1, 1, 1], [3, 3, 3]), |_, l| *l = 2);
        assert_eq!(layer.revision(), 1);
        assert_eq!(layer.dirty(), Some(VoxelBox::new([1, 1, 1], [3, 3, 3])));
        assert!(layer.unsaved);
        assert_eq!(layer.labels.get(2, 2, 2), Some(&2));
        assert_eq!(shared.get(2, 2, 2), Some(&0), "a copy held elsewhere (an upload) is not changed under it");
        // A second edit grows the box; outside the map is clipped away.
        layer.edit(VoxelBox::new([6, 0, 5], [20, 1, 6]), |v, l| *l = v[0] as u8);
        assert_eq!(layer.revision(), 2);
        assert_eq!(layer.dirty(), Some(VoxelBox::new([1, 0, 1], [8, 3, 6])));
        assert_eq!(layer.labels.get(7, 0, 5), Some(&7));
        assert_eq!(layer.take_dirty(), Some(VoxelBox::new([1, 0, 1], [8, 3, 6])));
        assert_eq!(layer.dirty(), None, "taken: the GPU has seen it");
        // Nothing inside the map: no revision.
        layer.edit(VoxelBox::new([9, 9, 9], [10, 10, 10]), |_, l| *l = 1);
        layer.mark_dirty(VoxelBox::new([0, 0, 0], [0, 5, 5]));
        assert_eq!((layer.revision(), layer.dirty()), (2, None));
        layer.mark_dirty(VoxelBox::voxel([0, 0, 0]));
        assert_eq!((layer.revision(), layer.dirty()), (3, Some(VoxelBox::voxel([0, 0, 0]))));
    }

    #[test]
    fn adding_a_layer_of_the_same_name_replaces_it_and_shows_it() {
        let g = Geometry::default();
        let mut layers = Layers::default();
        layers.add(LabelLayer::new("a", Volume::filled([2, 2, 2], 0u8, g)));
        layers.add(LabelLayer::new("b", Volume::filled([2, 2, 2], 0u8, g)));
        assert_eq!(layers.shown, Some(1));
        let again = LabelLayer::new("a", Volume::filled([2, 2, 2], 1u8, g));
        let id = again.id;
        layers.add(again);
        assert_eq!(layers.layers.len(), 2);
        assert_eq!(layers.shown_layer().map(|l| l.id), Some(id));
        assert!(layers.get(id).is_some());
    }

    #[test]
    fn pieces_are_recounted_once_edits_pause_and_late_counts_keep_the_volumes() {
        use std::time::Duration;
        let mut layer = LabelLayer::new("t", Volume::filled([8, 8, 8], 0u8, Geometry::default()));
        assert!(layer.pieces_current() && !layer.needs_count(Duration::ZERO));
        layer.edit(VoxelBox::new([0, 0, 0], [2, 2, 2]), |_, l| *l = 1);
        assert!(!layer.pieces_current());
        assert!(!layer.needs_count(Duration::from_secs(3600)), "still editing");
        assert!(layer.needs_count(Duration::ZERO));
        // A count of an older revision: its pieces, not its volumes.
        let counted = class_stats(&layer.labels, &ClassTable::default());
        let revision = layer.revision();
        layer.edit(VoxelBox::new([5, 5, 5], [6, 6, 6]), |_, l| *l = 1);
        // What the edits' bookkeeping says.
        layer.stats =
            vec![ClassStats { class: 1, name: ClassTable::default().name(1), volume_ml: 0.009, components: 0 }];
        layer.set_counted(revision, counted);
        assert_eq!(layer.figures(1), (0.009, 1));
        assert!(!layer.pieces_current());
        layer.set_counted(layer.revision(), class_stats(&layer.labels, &ClassTable::default()));
        assert_eq!(layer.figures(1).1, 2);
        assert!(layer.pieces_current());
    }
}
