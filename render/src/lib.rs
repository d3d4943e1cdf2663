//! `vasa-render`: Vasa's GPU drawing with wgpu, kept apart from the UI and
//! laid out after rerun's `re_renderer`:
//!
//! - [`resource_managers`]: the one owner of the scan's textures (CT and
//!   labels, [`ScanTextures`]), written whole or by [`DirtyBox`];
//! - [`renderer`]: one renderer per kind of picture ([`SliceRenderer`]: MPR
//!   slices with window/level and the label overlay done in the shader;
//!   [`MeshRenderer`]: shaded class surfaces, opaque or translucent;
//!   [`VolumeRenderer`]: ray casting — MIP, MinIP, direct volume rendering
//!   through a [`TransferFunction`], labels over CT context);
//! - [`view_builder`]: an off-screen view's colour and sampleable depth
//!   targets and camera, and the [`Compositor`] that copies its picture into
//!   the UI's pass;
//! - [`pipeline`]: the helpers the renderers share (shader modules, the
//!   full-viewport quad, layouts, blend states);
//! - [`scene`]: surfaces and a volume in one picture, in depth (translucent
//!   surfaces split the rays);
//! - [`orbit`]: the 3D view's camera; [`headless`]: off-screen rendering
//!   without a window, for tests and screenshots.

pub mod headless;
pub mod orbit;
pub mod pipeline;
pub mod renderer;
pub mod resource_managers;
pub mod scene;
pub mod transfer_function;
pub mod view_builder;

pub use orbit::OrbitCamera;
pub use renderer::RenderContext;
pub use renderer::mesh::{GpuMesh, MeshDraw, MeshRenderer, MeshTooLarge};
pub use renderer::slice::{LabelStyle, SliceDraw, SliceRenderer, SliceView};
pub use renderer::volume::{ClipPlane, StandardView, VolumeDraw, VolumeMode, VolumeRenderer, VolumeSettings};
pub use resource_managers::{
    DirtyBox, LabelTexture, MAX_SLABS, RayVolume, ScanTextures, UploadError, VolumeTexture, set_max_slab_slices,
};
pub use transfer_function::TransferFunction;
pub use view_builder::{CameraView, Compositor, ViewBuilder};
