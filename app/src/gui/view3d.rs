//! The 3D viewport: a surface mesh per class of the shown label layer,
//! built on a worker thread whenever the layer changes, shaded on the GPU
//! ([`vasa_render::renderer::mesh`]). Left-drag orbits, middle-drag (or Shift+drag)
//! pans, the wheel zooms, a click on a surface moves the crosshair there,
//! double-click maximises. The crosshair is marked in the view.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait};
use eframe::wgpu;
use egui::{Align2, Color32, FontId, PointerButton, Pos2, Rect, Sense, Stroke};
use glam::{DVec3, Vec2, Vec3};
use rayon::prelude::*;
use vasa_render::{
    CameraView, GpuMesh, LabelTexture, MeshDraw, OrbitCamera, RayVolume, RenderContext, ViewBuilder, VolumeDraw,
    VolumeSettings,
};
use vasa_scan::surface::{Mesh, SurfaceOptions, class_surface_cancellable};
use vasa_scan::{LabelMap, Volume};

use super::job::Job;
use super::layers::LayerStyles;
use super::mpr::Mpr;
use super::tools::{Tool, label_edit};
use super::volume3d::Volume3d;
use crate::doc::LabelLayer;
use crate::error::AppError;

/// What the 3D view shows besides its own state: the class styles, the
/// shown labels (CPU for picking, GPU for the volume's labels mode), the
/// scan, and the shown layer's id and revision.
pub struct Scene3d<'a> {
    /// Class colours and visibility.
    pub layers: &'a LayerStyles,
    /// The shown labels.
    pub labels: Option<&'a LabelMap>,
    /// Their GPU copy.
    pub label_texture: Option<LabelTexture>,
    /// The scan.
    pub ct: &'a Volume<i16>,
    /// The shown layer's id and revision ((0, 0): none).
    pub shown: (u64, u64),
    /// The plan, drawn over the view.
    pub plan: Option<&'a crate::doc::Plan>,
}

/// One class's surface: on the CPU for picking, on the GPU for drawing.
pub struct ClassMesh {
    /// Class id.
    pub class: u8,
    /// The mesh (patient mm).
    pub mesh: Arc<Mesh>,
}

/// Source of unique mesh-set numbers (a new scan's view must never match
/// the previous scan's meshes still on the GPU).
static NEXT_MESH_SET: AtomicU64 = AtomicU64::new(1);

fn next_mesh_set() -> u64 {
    NEXT_MESH_SET.fetch_add(1, Ordering::Relaxed)
}

/// Meshes built by a worker: for layer `layer_id`, with their GPU copies.
struct Built {
    layer_id: u64,
    meshes: Vec<ClassMesh>,
    gpu: Vec<GpuMesh>,
}

/// The 3D view's state.
pub struct View3d {
    /// The camera (framed on the scan when it opens).
    pub camera: OrbitCamera,
    /// The current meshes and the layer they show (0: none).
    pub meshes: Vec<ClassMesh>,
    layer_id: u64,
    /// The layer's revision the meshes are (being) built from.
    revision: u64,
    /// The scissors' polygon being drawn (screen points).
    polygon: Vec<Pos2>,
    job: Option<Job<Result<Built, AppError>>>,
    /// Bumped when new meshes go to the GPU (forces a redraw).
    mesh_set: u64,
    renderer: Option<Arc<RenderContext>>,
    /// Volume rendering: the mode chosen and the CT prepared for it.
    pub volume: Volume3d,
    /// Why the surfaces could not be built, if they could not.
    pub error: Option<String>,
}

impl View3d {
    /// A view framing `ct`; `renderer` is `None` without a GPU.
    pub fn new(ct: &Volume<i16>, renderer: Option<Arc<RenderContext>>) -> Self {
        let dims = ct.dims();
        let g = &ct.geometry;
        let a = g.voxel_to_world(DVec3::ZERO);
        let b = g.voxel_to_world(DVec3::new(dims[0] as f64 - 1.0, dims[1] as f64 - 1.0, dims[2] as f64 - 1.0));
        let size = (b - a).abs().max_element() as f32;
        View3d {
            camera: OrbitCamera::framing(((a + b) / 2.0).as_vec3(), size),
            meshes: Vec::new(),
            layer_id: 0,
            revision: 0,
            polygon: Vec::new(),
            job: None,
            mesh_set: next_mesh_set(),
            renderer,
            volume: Volume3d::default(),
            error: None,
        }
    }

    /// True while surfaces are being built.
    pub fn is_building(&self) -> bool {
        self.job.is_some()
    }

    /// Starts building the surfaces of `layer` if they are not the ones
    /// shown: another layer at once, an edited one once its edits pause
    /// (`settled`: no stroke or preview under way).
    pub fn follow(
        &mut self,
        ctx: &egui::Context,
        layer: Option<&LabelLayer>,
        device: Option<&wgpu::Device>,
        settled: bool,
    ) {
        let id = layer.map_or(0, |l| l.id);
        let revision = layer.map_or(0, |l| l.revision());
        if id == self.layer_id {
            if revision == self.revision {
                return;
            }
            let paused = settled && layer.is_some_and(|l| l.changed_for(crate::gui::app::EDITS_SETTLE));
            if !paused {
                ctx.request_repaint_after(crate::gui::app::EDITS_SETTLE);
                return;
            }
        }
        self.revision = revision;
        if let Some(j) = self.job.take() {
            j.cancel();
        }
        self.layer_id = id;
        let Some(layer) = layer else {
            self.meshes.clear();
            self.mesh_set = next_mesh_set();
            return;
        };
        let labels = layer.labels.clone();
        let classes: Vec<u8> = layer.stats.iter().map(|s| s.class).collect();
        let (renderer, device) = (self.renderer.clone(), device.cloned());
        self.job = Some(Job::spawn(ctx, "Building surfaces", move |r| {
            r.set("surface nets", None);
            let options = SurfaceOptions::for_dims(labels.dims());
            let mut meshes = build_meshes(&labels, &classes, &options, r.cancel_flag()).ok_or(AppError::Cancelled)?;
            let (Some(renderer), Some(device)) = (renderer, device) else {
                return Ok(Built { layer_id: id, meshes, gpu: Vec::new() });
            };
            let mut gpu = Vec::with_capacity(meshes.len());
            for m in &mut meshes {
                // A mesh too big for one GPU buffer is built again, coarser.
                let mut coarser = options;
                let uploaded = loop {
                    match renderer.mesh.upload(&device, &m.mesh) {
                        Ok(g) => break g,
                        Err(e) if coarser.step >= 8 => return Err(e.into()),
                        Err(_) => {
                            coarser.step *= 2;
                            let mesh = class_surface_cancellable(&labels, m.class, &coarser, r.cancel_flag())
                                .ok_or(AppError::Cancelled)?;
                            m.mesh = Arc::new(mesh);
                        }
                    }
                };
                gpu.push(uploaded);
            }
            Ok(Built { layer_id: id, meshes, gpu })
        }));
    }

    /// Takes finished surfaces; installs their GPU copies in `state`.
    pub fn poll(&mut self, state: Option<&egui_wgpu::RenderState>) {
        let Some(job) = &self.job else { return };
        let Some(result) = job.outcome() else {
            return;
        };
        self.job = None;
        match result {
            Ok(built) if built.layer_id == self.layer_id => {
                self.meshes = built.meshes;
                self.mesh_set = next_mesh_set();
                self.error = None;
                if let Some(state) = state {
                    let mut r = state.renderer.write();
                    let gpu = r.callback_resources.entry::<Gpu3d>().or_insert_with(Gpu3d::default);
                    gpu.meshes = built.gpu;
                    gpu.mesh_set = self.mesh_set;
                }
            }
            Ok(_) => {}
            Err(AppError::Cancelled) => {}
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Draws the view in `rect` and handles its input; a click on a
    /// surface moves `mpr`'s crosshair.
    pub fn ui(&mut self, ui: &mut egui::Ui, rect: Rect, scene: Scene3d<'_>, mpr: &mut Mpr, gpu_ready: bool) {
        let Scene3d { layers, labels, .. } = scene;
        let response = ui.interact(rect, ui.scope_id().with("3d"), Sense::click_and_drag());
        if response.hovered() {
            mpr.hovered = Some(3);
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            if scroll != 0.0 {
                self.camera.zoom((scroll * 0.005).exp());
            }
            if zoom != 1.0 {
                self.camera.zoom(zoom);
            }
            if scroll != 0.0 || zoom != 1.0 {
                self.volume.camera_moved();
            }
        }
        let d = response.drag_delta();
        let shift = ui.input(|i| i.modifiers.shift);
        if response.dragged_by(PointerButton::Middle) || (response.dragged_by(PointerButton::Primary) && shift) {
            self.camera.pan(Vec2::new(d.x, d.y), rect.height());
            self.volume.camera_moved();
        } else if response.dragged_by(PointerButton::Primary) && mpr.tool == Tool::Scissors {
            // The scissors' polygon, on screen, a corner every 2 points.
            if let Some(pos) = response.interact_pointer_pos()
                && self.polygon.last().is_none_or(|q| q.distance(pos) >= 2.0)
            {
                self.polygon.push(pos);
            }
        } else if response.dragged_by(PointerButton::Primary) {
            self.camera.orbit(Vec2::new(d.x, d.y));
            self.volume.camera_moved();
        }
        if response.drag_stopped() && !self.polygon.is_empty() {
            let corners = std::mem::take(&mut self.polygon);
            if let Some(op) = self.scissors(rect, &corners) {
                mpr.pending.push(crate::gui::actions::Action::Edit(op));
            }
        }
        if response.double_clicked() {
            mpr.toggle_maximised(3);
        } else if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
            && let Some((hit, dir)) = self.pick_ray(layers, rect, pos)
        {
            // The surface lies between voxels: the labelled voxel behind it
            // is what the editing tools act on.
            let inside = labels.and_then(|l| voxel_behind(l, hit.as_dvec3(), dir.as_dvec3())).unwrap_or(hit.as_dvec3());
            mpr.cursor = inside;
            let command = ui.input(|i| i.modifiers.command || i.modifiers.ctrl);
            if command {
                if let Some(c) = labels.and_then(|l| label_edit::class_at(l, inside)).filter(|&c| c != 0) {
                    mpr.pending.push(crate::gui::actions::Action::SetEditClass(c));
                }
            } else {
                label_edit::at_point(mpr.tool, mpr, inside, true, None);
            }
        }

        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, Color32::from_gray(12));
        let scissors_outline = (self.polygon.len() >= 2)
            .then(|| egui::Shape::closed_line(self.polygon.clone(), Stroke::new(1.5, Color32::from_rgb(255, 90, 90))));
        let aspect = rect.width() / rect.height().max(1.0);
        let view = self.camera.view(aspect);
        let ppp = ui.ctx().pixels_per_point();
        if gpu_ready && self.renderer.is_some() {
            let opacity = self.volume.surface_opacity.clamp(0.05, 1.0);
            let draws: Vec<(usize, [u8; 3], f32)> = self
                .meshes
                .iter()
                .enumerate()
                .filter(|(_, m)| layers.styles[m.class as usize].visible)
                .map(|(i, m)| (i, layers.styles[m.class as usize].color, opacity))
                .collect();
            // A moving camera over a volume: half the pixels each way (a
            // quarter of the rays), scaled up when composited.
            let scale = if self.volume.mode.is_some() && self.volume.moving() { 0.5 } else { 1.0 };
            let size = [
                (rect.width() * ppp * scale).round().max(1.0) as u32,
                (rect.height() * ppp * scale).round().max(1.0) as u32,
            ];
            let settings = self.volume.settings(scene.ct, mpr.window, layers, scene.shown);
            let volume = match (settings, &self.volume.ready, scene.label_texture) {
                (Some(settings), Some(ready), Some(labels)) => Some(VolumePass {
                    volume: ready.volume.clone(),
                    id: ready.id,
                    labels,
                    geometry: scene.ct.geometry,
                    settings,
                }),
                _ => None,
            };
            let draws = if volume.is_none() || self.volume.surfaces { draws } else { Vec::new() };
            let key = SceneKey {
                view,
                draws,
                size,
                mesh_set: self.mesh_set,
                volume: volume.as_ref().map(|v| (v.id, v.volume.generation(), v.settings.clone())),
                labels: if volume.is_some() { scene.shown } else { (0, 0) },
            };
            if self.volume.moving() {
                ui.ctx().request_repaint_after(super::volume3d::SETTLE);
            }
            painter.add(egui_wgpu::Callback::new_paint_callback(
                rect,
                View3dCallback { key, renderer: self.renderer.clone(), volume },
            ));
        }
        if let Some(outline) = scissors_outline {
            painter.add(outline);
        }
        if let Some(plan) = scene.plan {
            super::plan_paint3d::paint(&painter, rect, &view.view_proj, plan);
        }
        // The crosshair point, where it is in front of the camera.
        let c = view.view_proj * mpr.cursor.as_vec3().extend(1.0);
        if c.w > 0.0 {
            let ndc = c.truncate() / c.w;
            if ndc.x.abs() <= 1.0 && ndc.y.abs() <= 1.0 {
                let p = rect.center() + egui::vec2(ndc.x * rect.width() / 2.0, -ndc.y * rect.height() / 2.0);
                let colour = Color32::from_rgb(90, 200, 255);
                painter.circle_stroke(p, 5.0, Stroke::new(1.5, colour));
                painter.line_segment([p - egui::vec2(9.0, 0.0), p + egui::vec2(9.0, 0.0)], Stroke::new(1.0, colour));
                painter.line_segment([p - egui::vec2(0.0, 9.0), p + egui::vec2(0.0, 9.0)], Stroke::new(1.0, colour));
            }
        }
        let note = if self.job.is_some() {
            Some("building surfaces…".to_string())
        } else if self.volume.is_building() {
            Some("preparing the volume…".to_string())
        } else if let Some(e) = &self.volume.error {
            Some(e.clone())
        } else if let Some(e) = &self.error {
            Some(e.clone())
        } else if self.meshes.is_empty() && self.volume.mode.is_none() {
            Some("3D: no labels to show (Extract vessels, or open labels)".into())
        } else if !gpu_ready {
            Some("no GPU".into())
        } else {
            None
        };
        if let Some(n) = note {
            let at = rect.center_bottom() - egui::vec2(0.0, 24.0);
            painter.text(at, Align2::CENTER_CENTER, n, FontId::proportional(13.0), Color32::GRAY);
        }
        painter.text(
            rect.left_top() + egui::vec2(6.0, 4.0),
            Align2::LEFT_TOP,
            "3D",
            FontId::proportional(12.0),
            Color32::LIGHT_GRAY,
        );
        let help = Rect::from_min_size(rect.left_top() + egui::vec2(26.0, 2.0), egui::vec2(22.0, 16.0));
        ui.put(help, egui::Label::new(egui::RichText::new("(?)").small().color(Color32::GRAY)).sense(Sense::hover()))
            .on_hover_text(
                "drag: rotate · Shift+drag or middle-drag: pan · wheel: zoom · \
                 click a surface: move the crosshair there (an editing tool acts there; \
                 Ctrl-click picks its class; with the scissors, a drag cuts through the volume) · \
                 double-click: maximise",
            );
    }

    /// The scissors cut for a polygon drawn on screen (`corners`, points in
    /// the viewport `rect`): the polygon on the plane through the camera's
    /// target facing it, projected from the eye through the volume.
    pub fn scissors(&self, rect: Rect, corners: &[Pos2]) -> Option<vasa_edit::EditOp> {
        if corners.len() < 3 {
            return None;
        }
        let aspect = rect.width() / rect.height().max(1.0);
        let forward = -self.camera.back();
        let polygon_mm = corners
            .iter()
            .map(|pos| {
                let ndc = Vec2::new(
                    (pos.x - rect.center().x) / (rect.width() / 2.0),
                    -(pos.y - rect.center().y) / (rect.height() / 2.0),
                );
                let (origin, dir) = self.camera.ray(aspect, ndc);
                let t = (self.camera.target - origin).dot(forward) / dir.dot(forward).max(1e-6);
                (origin + dir * t).as_dvec3().to_array()
            })
            .collect();
        Some(vasa_edit::EditOp::Scissors {
            polygon_mm,
            direction: forward.as_dvec3().to_array(),
            class: None,
            eye_mm: Some(self.camera.eye().as_dvec3().to_array()),
        })
    }

    /// The nearest visible surface point under `pos` in the viewport `rect`.
    pub fn pick(&self, layers: &LayerStyles, rect: Rect, pos: Pos2) -> Option<Vec3> {
        self.pick_ray(layers, rect, pos).map(|(p, _)| p)
    }

    /// The nearest visible surface point under `pos`, and the ray's direction.
    pub fn pick_ray(&self, layers: &LayerStyles, rect: Rect, pos: Pos2) -> Option<(Vec3, Vec3)> {
        let aspect = rect.width() / rect.height().max(1.0);
        let ndc = Vec2::new(
            (pos.x - rect.center().x) / (rect.width() / 2.0),
            -(pos.y - rect.center().y) / (rect.height() / 2.0),
        );
        let (origin, dir) = self.camera.ray(aspect, ndc);
        self.meshes
            .iter()
            .filter(|m| layers.styles[m.class as usize].visible)
            .filter_map(|m| m.mesh.ray_hit(origin, dir))
            .min_by(f32::total_cmp)
            .map(|t| (origin + dir * t, dir))
    }
}

/// The first labelled voxel along the ray through `hit` (from 1 mm before
/// the surface to 4 mm behind it), as its centre.
pub fn voxel_behind(labels: &LabelMap, hit: DVec3, dir: DVec3) -> Option<DVec3> {
    let dir = dir.normalize_or_zero();
    (-4..=16).map(|n| hit + dir * (n as f64 * 0.25)).find_map(|p| {
        let v = labels.geometry.world_to_voxel(p).round();
        (label_edit::class_at(labels, p)? != 0).then(|| labels.geometry.voxel_to_world(v))
    })
}

/// Frees the 3D view's meshes and picture on the GPU (the scan they showed is gone).
pub fn remove_gpu(state: &egui_wgpu::RenderState) {
    state.renderer.write().callback_resources.remove::<Gpu3d>();
}

/// Surfaces of `classes` in `labels`, built in parallel (`None` when cancelled).
pub fn build_meshes(
    labels: &LabelMap,
    classes: &[u8],
    options: &SurfaceOptions,
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<Vec<ClassMesh>> {
    let built: Option<Vec<ClassMesh>> = classes
        .par_iter()
        .map(|&class| {
            class_surface_cancellable(labels, class, options, cancel).map(|m| ClassMesh { class, mesh: Arc::new(m) })
        })
        .collect();
    Some(built?.into_iter().filter(|m| !m.mesh.is_empty()).collect())
}

/// Everything the 3D picture depends on: when it is unchanged the picture
/// is not drawn again, only copied.
#[derive(Clone, PartialEq)]
struct SceneKey {
    view: CameraView,
    /// Mesh index and colour of each visible mesh.
    draws: Vec<(usize, [u8; 3], f32)>,
    size: [u32; 2],
    mesh_set: u64,
    /// The volume drawn (its upload, brick generation and settings), if any.
    volume: Option<(u64, u64, VolumeSettings)>,
    /// The labels' layer and revision the volume's labels mode shows.
    labels: (u64, u64),
}

/// The 3D view's GPU side, kept in egui-wgpu's callback resources.
#[derive(Default)]
struct Gpu3d {
    meshes: Vec<GpuMesh>,
    mesh_set: u64,
    target: Option<ViewBuilder>,
    /// Bumped with each new target (the volume's bind group names its depth).
    target_generation: u64,
    drawn: Option<SceneKey>,
    /// The volume's resources: for which target and upload.
    volume_draw: Option<(u64, u64, VolumeDraw)>,
}

/// What the volume pass draws.
struct VolumePass {
    volume: RayVolume,
    id: u64,
    labels: LabelTexture,
    geometry: vasa_scan::Geometry,
    settings: VolumeSettings,
}

struct View3dCallback {
    key: SceneKey,
    renderer: Option<Arc<RenderContext>>,
    volume: Option<VolumePass>,
}

impl CallbackTrait for View3dCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(renderer) = &self.renderer else { return Vec::new() };
        let gpu = resources.entry::<Gpu3d>().or_insert_with(Gpu3d::default);
        if gpu.target.as_ref().is_none_or(|t| t.size() != self.key.size) {
            gpu.target = Some(ViewBuilder::new(device, self.key.size));
            gpu.target_generation += 1;
            gpu.drawn = None;
        }
        // Meshes not installed yet: draw nothing rather than the wrong ones.
        let ready = gpu.mesh_set == self.key.mesh_set;
        if gpu.drawn.as_ref() != Some(&self.key)
            && let Some(target) = &gpu.target
        {
            let draws: Vec<MeshDraw> = if ready {
                self.key
                    .draws
                    .iter()
                    .filter_map(|&(i, color, opacity)| gpu.meshes.get(i).map(|mesh| MeshDraw { mesh, color, opacity }))
                    .collect()
            } else {
                Vec::new()
            };
            // The volume with the meshes, in depth (`vasa_render::scene`).
            let mut volume = None;
            if let Some(v) = &self.volume {
                let fresh =
                    gpu.volume_draw.as_ref().is_none_or(|(t, id, _)| (*t, *id) != (gpu.target_generation, v.id));
                if fresh {
                    let draw = renderer.volume.create_draw(device, &v.volume, &v.labels, target);
                    gpu.volume_draw = Some((gpu.target_generation, v.id, draw));
                }
                if let Some((_, _, draw)) = &mut gpu.volume_draw {
                    match draw.update(queue, &v.volume, &v.geometry, &self.key.view, &v.settings, true) {
                        Ok(()) => volume = Some((&renderer.volume, &*draw)),
                        Err(e) => tracing::warn!("volume rendering: {e}"),
                    }
                }
            }
            vasa_render::scene::draw(queue, encoder, target, &self.key.view, &renderer.mesh, &draws, volume);
            gpu.drawn = ready.then(|| self.key.clone());
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        if let (Some(renderer), Some(gpu)) = (&self.renderer, resources.get::<Gpu3d>())
            && let Some(target) = &gpu.target
        {
            renderer.compositor.composite(pass, target);
        }
    }
}

#[cfg(test)]
mod tests {
    use vasa_scan::Geometry;

    use super::*;

    #[test]
    fn a_surface_hit_finds_the_labelled_voxel_behind_it() {
        let g = Geometry::axis_aligned(DVec3::new(0.5, 0.5, 1.0), DVec3::ZERO);
        let mut labels = Volume::filled([20, 20, 20], 0u8, g);
        let n = labels.index(10, 10, 10);
        labels.data_mut()[n] = 2;
        // The surface half a voxel in front of it, looking along +x.
        let found = voxel_behind(&labels, DVec3::new(4.7, 5.0, 10.0), DVec3::X);
        assert_eq!(found, Some(DVec3::new(5.0, 5.0, 10.0)));
        assert_eq!(
            voxel_behind(&labels, DVec3::new(4.7, 5.0, 10.0), -DVec3::X),
            Some(DVec3::new(5.0, 5.0, 10.0)),
            "1 mm back"
        );
        assert_eq!(voxel_behind(&labels, DVec3::new(1.0, 1.0, 1.0), DVec3::X), None);
    }

    #[test]
    fn scissors_drawn_in_3d_cut_what_is_seen_inside_the_polygon() {
        let g = Geometry::axis_aligned(DVec3::ONE, DVec3::ZERO);
        let ct = Volume::filled([40, 40, 40], 0i16, g);
        let view = View3d::new(&ct, None);
        // Two vertical rods seen from the front: one at the centre, one at the side.
        let mut labels = Volume::filled([40, 40, 40], 0u8, g);
        for j in 0..40 {
            for (i, class) in [(20, 1u8), (35, 2u8)] {
                for k in 10..30 {
                    let n = labels.index(i, j, k);
                    labels.data_mut()[n] = class;
                }
            }
        }
        let rect = Rect::from_min_size(Pos2::ZERO, egui::vec2(400.0, 400.0));
        let c = rect.center();
        let square = [
            c + egui::vec2(-30.0, -30.0),
            c + egui::vec2(30.0, -30.0),
            c + egui::vec2(30.0, 30.0),
            c + egui::vec2(-30.0, 30.0),
        ];
        let op = view.scissors(rect, &square).expect("a polygon");
        vasa_edit::apply(&mut labels, None, &op).unwrap();
        let left = |c: u8| labels.data().iter().filter(|&&l| l == c).count();
        // The polygon spans ±3.5 mm at the target: the rod's middle rows go, through all its depth.
        assert!((0..40).all(|j| labels.get(20, j, 20) == Some(&0)), "cut through the depth");
        assert!((0..40).all(|j| labels.get(20, j, 10) == Some(&1)), "the rod's end is outside");
        assert!(left(1) > 40 * 20 / 2);
        assert_eq!(left(2), 40 * 20, "the side rod is outside the polygon");
        assert!(view.scissors(rect, &square[..2]).is_none());
    }
}
