//! How the window shows the open document: the slice views, the 3D view,
//! the label styles, and the document's copy on the GPU — the scan's
//! textures and which layer revision they hold. The document
//! ([`crate::doc`]) knows nothing of these; the labels go up when the
//! shown layer or its revision changes.

use std::sync::Arc;

use eframe::egui_wgpu::RenderState;
use vasa_render::UploadError;
use vasa_render::{RenderContext, ScanTextures};
use vasa_scan::Volume;

use super::layers::LayerStyles;
use super::mpr::Mpr;
use super::review::Review;
use super::tasks::{Outcome, TaskKind, Tasks};
use super::view3d::View3d;
use super::{slice_paint, view3d};
use crate::doc::LabelLayer;

/// The views of the open document.
pub struct Views {
    /// The slice viewer's state.
    pub mpr: Mpr,
    /// The 3D viewport's state.
    pub view3d: View3d,
    /// How the label layers are drawn.
    pub styles: LayerStyles,
    /// Where the review of uncertain branches stands.
    pub review: Review,
    /// The plan's checks.
    pub plan_checks: super::plan_checks::PlanChecks,
    /// The selected applicator's probe's-eye and along-the-path views.
    pub path_views: super::path_views::PathViews,
    /// The GPU copy, to write labels into from a worker.
    textures: Option<ScanTextures>,
    /// Id and revision of the layer whose labels the GPU holds (id 0: none).
    gpu_labels: (u64, u64),
}

impl Views {
    /// Views of `ct` with everything at its default; `textures` is the
    /// scan's GPU copy (already installed), holding the labels of layer
    /// `gpu_labels` (0: none).
    pub fn new(
        ct: &Volume<i16>,
        textures: Option<ScanTextures>,
        gpu_labels: u64,
        mesh_renderer: Option<Arc<RenderContext>>,
    ) -> Self {
        Views {
            mpr: Mpr::new(ct),
            view3d: View3d::new(ct, mesh_renderer),
            styles: LayerStyles::default(),
            review: Review::default(),
            plan_checks: Default::default(),
            path_views: Default::default(),
            textures,
            gpu_labels: (gpu_labels, 0),
        }
    }

    /// The GPU copy of the shown labels, if the scan is on the GPU.
    pub fn label_texture(&self) -> Option<vasa_render::LabelTexture> {
        self.textures.as_ref().map(|t| t.labels.clone())
    }

    /// True when the scan is on the GPU.
    pub fn on_gpu(&self) -> bool {
        self.textures.is_some()
    }

    /// Records that the GPU holds `revision` of layer `layer`'s labels.
    pub fn labels_on_gpu(&mut self, layer: u64, revision: u64) {
        self.gpu_labels = (layer, revision);
    }

    /// Sends the shown layer's labels to the GPU when they changed (another
    /// layer, or a new revision), as a task of document `generation`. After
    /// an edit of the layer the GPU holds, only the edited box goes up, at
    /// once (a brush stroke shows in the same frame); a big box, or another
    /// layer, goes up whole on a worker.
    pub fn sync_gpu_labels(
        &mut self,
        ctx: &egui::Context,
        gpu: Option<&RenderState>,
        layer: Option<&mut LabelLayer>,
        tasks: &mut Tasks,
        generation: u64,
    ) {
        let (Some(layer), Some(textures), Some(state)) = (layer, &self.textures, gpu) else { return };
        if (layer.id, layer.revision()) == self.gpu_labels || tasks.uploading_labels() {
            return;
        }
        if layer.id == self.gpu_labels.0
            && let Some(dirty) = layer.dirty()
            && dirty.len() <= PARTIAL_UPLOAD_MAX_VOXELS
        {
            let region = vasa_render::DirtyBox::new(dirty.min, dirty.max);
            match textures.update_labels_region(&state.queue, &layer.labels, region) {
                Ok(()) => {
                    layer.take_dirty();
                    let now = (layer.id, layer.revision());
                    super::volume3d::follow_edit(
                        &mut self.view3d.volume.ready,
                        &layer.labels,
                        self.gpu_labels,
                        now,
                        region,
                    );
                    self.gpu_labels = now;
                    return;
                }
                Err(e) => tracing::warn!("partial label upload failed, sending the whole map: {e}"),
            }
        }
        // The whole map goes up: what changed is included.
        layer.take_dirty();
        let (labels, id, revision) = (layer.labels.clone(), layer.id, layer.revision());
        let (textures, queue) = (textures.clone(), state.queue.clone());
        tasks.spawn(ctx, TaskKind::LabelUpload, generation, "labels to the GPU", move |_| {
            textures.update_labels(&queue, &labels)?;
            Ok(Outcome::LabelsOnGpu { layer: id, revision })
        });
    }
}

/// Edited boxes up to this many voxels (16 MB of labels) are written to the
/// GPU on the UI thread; bigger ones go up whole on a worker.
pub const PARTIAL_UPLOAD_MAX_VOXELS: usize = 16 << 20;

/// Puts a freshly loaded scan's GPU copy in place of the previous scan's
/// (`uploaded`: the loader's upload, `None` without a GPU). Returns the
/// textures to keep, and why the scan cannot be drawn, if it cannot.
pub fn install_textures(
    gpu: Option<&RenderState>,
    uploaded: Option<Result<ScanTextures, UploadError>>,
    generation: u64,
) -> (Option<ScanTextures>, Option<String>) {
    let mut gpu_error = None;
    let mut textures = None;
    match uploaded {
        Some(Ok(t)) => {
            if let Some(state) = gpu {
                slice_paint::install(state, t.clone(), generation);
            }
            textures = Some(t);
        }
        Some(Err(e)) => {
            if let Some(state) = gpu {
                slice_paint::remove(state);
                view3d::remove_gpu(state);
            }
            gpu_error = Some(format!("cannot show the scan on the GPU: {e}"));
        }
        None => gpu_error = Some("no GPU: slices cannot be drawn".into()),
    }
    (textures, gpu_error)
}
