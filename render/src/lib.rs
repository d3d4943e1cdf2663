//! `vasa-render`: Vasa's GPU drawing with wgpu, kept apart from the UI (the
//! way rerun's `re_renderer` is): the scan's volumes uploaded once as 3-D
//! textures ([`volume_textures`]), and one renderer per kind of picture
//! ([`slice`]: MPR slices with window/level and label overlay done in the
//! shader; [`mesh`]: shaded class surfaces seen by an [`orbit`] camera).
//! [`headless`] renders off-screen for tests and screenshots.

pub mod headless;
pub mod mesh;
pub mod orbit;
pub mod slice;
pub mod volume_textures;

pub use mesh::{CameraView, GpuMesh, MeshDraw, MeshRenderer, MeshTarget};
pub use orbit::OrbitCamera;
pub use slice::{LabelStyle, SliceRenderer, SliceView};
pub use volume_textures::VolumeTextures;
