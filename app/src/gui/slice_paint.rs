//! Glue between egui and `vasa-render`: the scan's GPU resources live in
//! egui-wgpu's callback resources, and each slice viewport paints through a
//! paint callback that only updates its uniforms.

use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait};
use eframe::wgpu;
use vasa_render::SliceDraw;
use vasa_render::{ScanTextures, SliceRenderer, SliceView};

/// The scan on the GPU and one draw per viewport slot.
pub struct GpuScan {
    renderer: SliceRenderer,
    textures: ScanTextures,
    draws: Vec<Option<SliceDraw>>,
    /// Which scan these textures hold (the viewer re-uploads when it changes).
    pub generation: u64,
}

/// Puts `textures` (uploaded by a worker) into the callback resources of
/// `state`, replacing the previous scan's.
pub fn install(state: &egui_wgpu::RenderState, textures: ScanTextures, generation: u64) {
    let mut r = state.renderer.write();
    // The pipeline does not depend on the scan: keep the one built before.
    let renderer = match r.callback_resources.remove::<GpuScan>() {
        Some(old) => old.renderer,
        None => SliceRenderer::new(&state.device, state.target_format),
    };
    r.callback_resources.insert(GpuScan { renderer, textures, draws: Vec::new(), generation });
}

/// Frees the scan's GPU textures (a new scan could not be uploaded: the old
/// one must not stay on screen, nor in GPU memory).
pub fn remove(state: &egui_wgpu::RenderState) {
    state.renderer.write().callback_resources.remove::<GpuScan>();
}

/// Paints viewport `slot` with `view`.
pub struct SliceCallback {
    /// Viewport slot (0 axial, 1 coronal, 2 sagittal).
    pub slot: usize,
    /// What to show.
    pub view: SliceView,
}

impl CallbackTrait for SliceCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(gpu) = resources.get_mut::<GpuScan>() {
            if gpu.draws.len() <= self.slot {
                gpu.draws.resize_with(self.slot + 1, || None);
            }
            match &gpu.draws[self.slot] {
                Some(draw) => draw.update(queue, &self.view),
                None => {
                    let draw = gpu.renderer.create_draw(device, queue, &gpu.textures, &self.view);
                    gpu.draws[self.slot] = Some(draw);
                }
            }
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: eframe::egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        if let Some(gpu) = resources.get::<GpuScan>()
            && let Some(Some(draw)) = gpu.draws.get(self.slot)
        {
            gpu.renderer.paint(pass, draw);
        }
    }
}
