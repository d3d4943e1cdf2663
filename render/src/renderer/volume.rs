//! The volume renderer: rays cast through the CT in the fragment shader
//! (`shaders/volume.wgsl`) into a [`ViewBuilder`]'s colour target, after
//! the meshes, stopping at their depth so that surfaces and volume occlude
//! each other correctly. Modes: maximum and minimum intensity projection,
//! direct volume rendering through a [`TransferFunction`], and labels (each
//! visible class in its colour over faint CT context). A clip box and an
//! oblique clip plane cut the volume; a coarser step serves a moving camera.

use bytemuck::{Pod, Zeroable};
use glam::Vec3;
use half::f16;
use vasa_scan::Geometry;

use crate::pipeline;
use crate::renderer::slice::LabelStyle;
use crate::resource_managers::LabelTexture;
use crate::resource_managers::ray_volume::{RayVolume, Visible};
use crate::transfer_function::{LUT_SIZE, TransferFunction};
use crate::view_builder::{COLOR_FORMAT, CameraView, ViewBuilder};

/// What the rays compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeMode {
    /// Maximum intensity projection (windowed grey).
    #[default]
    Mip,
    /// Minimum intensity projection (airways, emphysema; use a slab).
    MinIp,
    /// Direct volume rendering through the transfer function.
    Dvr,
    /// The label classes in their colours over faint CT context.
    Labels,
}

impl VolumeMode {
    /// The modes with their command-line names.
    pub const ALL: [(VolumeMode, &'static str); 4] = [
        (VolumeMode::Mip, "mip"),
        (VolumeMode::MinIp, "minip"),
        (VolumeMode::Dvr, "dvr"),
        (VolumeMode::Labels, "labels"),
    ];

    /// The mode's command-line name.
    pub fn name(self) -> &'static str {
        VolumeMode::ALL.iter().find(|(m, _)| *m == self).map_or("mip", |(_, n)| n)
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<VolumeMode> {
        VolumeMode::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(m, _)| *m)
    }
}

/// A plane cutting the volume: what lies on the side its normal points to is removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipPlane {
    /// A point of the plane (patient mm).
    pub point: Vec3,
    /// Its normal, towards the removed side.
    pub normal: Vec3,
}

/// How the volume is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSettings {
    /// What the rays compute.
    pub mode: VolumeMode,
    /// Direct volume rendering's transfer function; in labels mode, the CT context's.
    pub transfer: TransferFunction,
    /// Window centre and width (HU) of the projections.
    pub window: (f32, f32),
    /// Colour and opacity per label value (labels mode).
    pub styles: Vec<LabelStyle>,
    /// Opacity per mm of a label class (labels mode).
    pub label_opacity: f32,
    /// Opacity of the CT context under the labels (0: none).
    pub context_opacity: f32,
    /// The volume's label bricks hold the classes of the labels drawn (false
    /// after the labels changed: labels mode then visits every brick).
    pub label_bricks_current: bool,
    /// The part of the volume drawn: voxel positions from `min` to `max`.
    pub clip_box: Option<([f32; 3], [f32; 3])>,
    /// An oblique cut.
    pub clip_plane: Option<ClipPlane>,
    /// Distance between samples along a ray (mm).
    pub step_mm: f32,
    /// Shading from gradient normals.
    pub shading: bool,
}

impl VolumeSettings {
    /// Defaults for `mode`: the CT angio preset, a mediastinal window for
    /// MIP (a lung window for MinIP), steps of half the finest spacing.
    pub fn new(mode: VolumeMode, geometry: &Geometry) -> Self {
        VolumeSettings {
            mode,
            transfer: TransferFunction::ct_angio(),
            window: if mode == VolumeMode::MinIp { (-600.0, 1500.0) } else { (150.0, 900.0) },
            styles: Vec::new(),
            label_opacity: 0.8,
            context_opacity: 0.25,
            label_bricks_current: true,
            clip_box: None,
            clip_plane: None,
            step_mm: (0.5 * geometry.spacing.min_element()).max(0.2) as f32,
            shading: true,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    inv_view_proj: [[f32; 4]; 4],
    world_to_voxel: [[f32; 4]; 4],
    dims: [f32; 4],
    clip_min: [f32; 4],
    clip_max: [f32; 4],
    plane: [f32; 4],
    mode: [f32; 4],
    look: [f32; 4],
    target: [f32; 4],
    slabs: [f32; 4],
}

/// The pipeline that casts the rays into a view's colour target.
pub struct VolumeRenderer {
    pipeline: wgpu::RenderPipeline,
    /// The same, for volumes split into slabs.
    pipeline_slabbed: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

/// One view's resources for the volume: uniforms, the transfer function's
/// lookup table and the bind groups (to make again when the view's depth
/// target or the volume changes). Three bind groups: the whole ray up to
/// the surfaces, and the two segments around translucent surfaces — behind
/// them (from the front depth to the opaque depth) and in front of them.
pub struct VolumeDraw {
    params: wgpu::Buffer,
    /// The same parameters, rays starting at the front depth.
    params_behind: wgpu::Buffer,
    palette: wgpu::Buffer,
    lut: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    behind_group: wgpu::BindGroup,
    in_front_group: wgpu::BindGroup,
    /// The volume is split into slabs (the specialised pipeline draws it).
    slabbed: bool,
    /// What the lookup table and occupancy grid were last made for.
    last: Option<(VolumeMode, TransferFunction, Vec<LabelStyle>, f32, bool, u64)>,
}

impl VolumeRenderer {
    /// Builds the pipeline (targets of the views' colour format).
    pub fn new(device: &wgpu::Device) -> Self {
        let module = pipeline::fullscreen_shader(device, "vasa volume", include_str!("../shaders/volume.wgsl"));
        let f = wgpu::ShaderStages::FRAGMENT;
        let d3 = wgpu::TextureViewDimension::D3;
        let layout = pipeline::bind_group_layout(
            device,
            "vasa volume",
            &[
                pipeline::uniform_entry(0, f),
                pipeline::uniform_entry(1, f),
                pipeline::texture_entry(2, wgpu::TextureSampleType::Float { filterable: true }, d3),
                pipeline::sampler_entry(3),
                pipeline::texture_entry(4, wgpu::TextureSampleType::Uint, d3),
                pipeline::texture_entry(
                    5,
                    wgpu::TextureSampleType::Float { filterable: true },
                    wgpu::TextureViewDimension::D2,
                ),
                pipeline::texture_entry(6, wgpu::TextureSampleType::Uint, d3),
                pipeline::texture_entry(7, wgpu::TextureSampleType::Depth, wgpu::TextureViewDimension::D2),
                pipeline::texture_entry(8, wgpu::TextureSampleType::Depth, wgpu::TextureViewDimension::D2),
                // The other slabs of a volume split along k (9–11: HU, 12–14: labels).
                pipeline::texture_entry(9, wgpu::TextureSampleType::Float { filterable: true }, d3),
                pipeline::texture_entry(10, wgpu::TextureSampleType::Float { filterable: true }, d3),
                pipeline::texture_entry(11, wgpu::TextureSampleType::Float { filterable: true }, d3),
                pipeline::texture_entry(12, wgpu::TextureSampleType::Uint, d3),
                pipeline::texture_entry(13, wgpu::TextureSampleType::Uint, d3),
                pipeline::texture_entry(14, wgpu::TextureSampleType::Uint, d3),
            ],
        );
        let specialised = |slabbed: bool| {
            pipeline::fullscreen_pipeline_with(
                device,
                "vasa volume",
                &module,
                &[&layout],
                COLOR_FORMAT,
                Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                &[("SLABBED", if slabbed { 1.0 } else { 0.0 })],
            )
        };
        let (pipeline, pipeline_slabbed) = (specialised(false), specialised(true));
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("vasa volume"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            address_mode_w: wgpu::AddressMode::ClampToEdge,
            ..Default::default()
        });
        VolumeRenderer { pipeline, pipeline_slabbed, layout, sampler }
    }

    /// The resources to draw `volume` (with `labels`) into `view`.
    pub fn create_draw(
        &self,
        device: &wgpu::Device,
        volume: &RayVolume,
        labels: &LabelTexture,
        view: &ViewBuilder,
    ) -> VolumeDraw {
        let params = pipeline::uniform_buffer(device, "vasa volume params", std::mem::size_of::<Params>() as u64);
        let palette = pipeline::uniform_buffer(device, "vasa volume palette", 256 * 16);
        let lut = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("vasa transfer function"),
            size: wgpu::Extent3d { width: LUT_SIZE as u32, height: 1, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba16Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let lut_view = lut.create_view(&Default::default());
        let params_behind =
            pipeline::uniform_buffer(device, "vasa volume params (behind)", std::mem::size_of::<Params>() as u64);
        let (hu, l) = (volume.hu_views(), labels.views());
        let group = |params: &wgpu::Buffer, end: &wgpu::TextureView, start: &wgpu::TextureView| {
            pipeline::bind_group(
                device,
                "vasa volume",
                &self.layout,
                &[
                    params.as_entire_binding(),
                    palette.as_entire_binding(),
                    wgpu::BindingResource::TextureView(hu[0]),
                    wgpu::BindingResource::Sampler(&self.sampler),
                    wgpu::BindingResource::TextureView(l[0]),
                    wgpu::BindingResource::TextureView(&lut_view),
                    wgpu::BindingResource::TextureView(volume.occupancy_view()),
                    wgpu::BindingResource::TextureView(end),
                    wgpu::BindingResource::TextureView(start),
                    wgpu::BindingResource::TextureView(hu[1]),
                    wgpu::BindingResource::TextureView(hu[2]),
                    wgpu::BindingResource::TextureView(hu[3]),
                    wgpu::BindingResource::TextureView(l[1]),
                    wgpu::BindingResource::TextureView(l[2]),
                    wgpu::BindingResource::TextureView(l[3]),
                ],
            )
        };
        let (depth, front) = (view.depth_view(), view.front_depth_view());
        let bind_group = group(&params, depth, depth);
        let behind_group = group(&params_behind, depth, front);
        let in_front_group = group(&params, front, depth);
        let slabbed = volume.slab_params()[1] > 1.0 || labels.slab_params()[1] > 1.0;
        VolumeDraw {
            params,
            params_behind,
            palette,
            lut,
            bind_group,
            behind_group,
            in_front_group,
            slabbed,
            last: None,
        }
    }

    /// Casts the rays into `view` (a pass of its own, after the meshes' pass
    /// has written their depth), blended over what the view holds.
    pub fn render(&self, encoder: &mut wgpu::CommandEncoder, view: &ViewBuilder, draw: &VolumeDraw) {
        self.pass(encoder, view, draw, &draw.bind_group);
    }

    /// The segments of the rays behind the translucent surfaces (from the
    /// view's front depth to its opaque depth; nothing where no translucent
    /// surface is).
    pub fn render_behind(&self, encoder: &mut wgpu::CommandEncoder, view: &ViewBuilder, draw: &VolumeDraw) {
        self.pass(encoder, view, draw, &draw.behind_group);
    }

    /// The segments of the rays in front of every surface (up to the
    /// view's front depth).
    pub fn render_in_front(&self, encoder: &mut wgpu::CommandEncoder, view: &ViewBuilder, draw: &VolumeDraw) {
        self.pass(encoder, view, draw, &draw.in_front_group);
    }

    fn pass(&self, encoder: &mut wgpu::CommandEncoder, view: &ViewBuilder, draw: &VolumeDraw, group: &wgpu::BindGroup) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("vasa volume"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: view.color_view(),
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations { load: wgpu::LoadOp::Load, store: wgpu::StoreOp::Store },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        let pipeline = if draw.slabbed { &self.pipeline_slabbed } else { &self.pipeline };
        pipeline::draw_fullscreen(&mut pass, pipeline, group);
    }
}

impl VolumeDraw {
    /// Writes what the rays need for `settings` seen from `camera`:
    /// uniforms always (cheap), the lookup table and occupancy grid when
    /// the mode, transfer function or label styles changed.
    pub fn update(
        &mut self,
        queue: &wgpu::Queue,
        volume: &RayVolume,
        geometry: &Geometry,
        camera: &CameraView,
        settings: &VolumeSettings,
        stop_at_depth: bool,
    ) -> Result<(), crate::UploadError> {
        let dims = volume.dims().map(|d| d as f32);
        let world_to_voxel = geometry.voxel_to_world_matrix().inverse().as_mat4();
        let (clip_min, clip_max) =
            settings.clip_box.unwrap_or(([-0.5; 3], [dims[0] - 0.5, dims[1] - 0.5, dims[2] - 0.5]));
        let plane = settings.clip_plane.map_or([0.0; 4], |p| {
            let n = p.normal.normalize_or_zero();
            [n.x, n.y, n.z, -n.dot(p.point)]
        });
        let mode = match settings.mode {
            VolumeMode::Mip => 0.0,
            VolumeMode::MinIp => 1.0,
            VolumeMode::Dvr => 2.0,
            VolumeMode::Labels => 3.0,
        };
        let v4 = |v: [f32; 3], w: f32| [v[0], v[1], v[2], w];
        let p = Params {
            inv_view_proj: camera.view_proj.inverse().to_cols_array_2d(),
            world_to_voxel: world_to_voxel.to_cols_array_2d(),
            dims: v4(dims, crate::resource_managers::ray_volume::BRICK as f32),
            clip_min: v4(clip_min, 0.0),
            clip_max: v4(clip_max, 0.0),
            plane,
            mode: [mode, settings.step_mm.max(0.05), settings.window.0, settings.window.1],
            look: [
                settings.context_opacity.clamp(0.0, 1.0),
                settings.label_opacity.clamp(0.0, 1.0),
                if settings.clip_plane.is_some() { 1.0 } else { 0.0 },
                if settings.shading { 1.0 } else { 0.0 },
            ],
            target: [0.0, 0.0, if stop_at_depth { 1.0 } else { 0.0 }, 0.0],
            slabs: {
                let [core, count] = volume.slab_params();
                [core, count, 0.0, 0.0]
            },
        };
        queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
        let behind = Params { target: [0.0, 0.0, p.target[2], 1.0], ..p };
        queue.write_buffer(&self.params_behind, 0, bytemuck::bytes_of(&behind));
        let key = (
            settings.mode,
            settings.transfer.clone(),
            settings.styles.clone(),
            settings.context_opacity,
            settings.label_bricks_current,
            volume.generation(),
        );
        if self.last.as_ref() != Some(&key) {
            let lut: Vec<u16> = settings.transfer.lut().iter().flatten().map(|&v| f16::from_f32(v).to_bits()).collect();
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &self.lut,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                bytemuck::cast_slice(&lut),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(LUT_SIZE as u32 * 8),
                    rows_per_image: None,
                },
                wgpu::Extent3d { width: LUT_SIZE as u32, height: 1, depth_or_array_layers: 1 },
            );
            let mut palette = [[0.0f32; 4]; 256];
            let mut classes = 0u32;
            for (l, (slot, s)) in palette.iter_mut().zip(&settings.styles).enumerate().skip(1) {
                let c = s.color.map(|c| c as f32 / 255.0);
                *slot = [c[0], c[1], c[2], s.opacity.clamp(0.0, 1.0)];
                if s.opacity > 0.0 && l < 32 {
                    classes |= 1 << l;
                }
            }
            queue.write_buffer(&self.palette, 0, bytemuck::cast_slice(&palette));
            let ranges = settings.transfer.opacity_ranges();
            let visible = match settings.mode {
                VolumeMode::Mip | VolumeMode::MinIp => Visible::All,
                VolumeMode::Dvr => Visible::Where { tf: Some(&ranges), classes: 0 },
                VolumeMode::Labels => {
                    Visible::Where { tf: (settings.context_opacity > 0.0).then_some(&ranges), classes }
                }
            };
            volume.set_visible(queue, visible)?;
            self.last = Some(key);
        }
        Ok(())
    }
}

/// The six standard views of `vasa render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandardView {
    /// From the front: image right is the patient's left, up superior (a frontal radiograph).
    Anterior,
    /// From behind: image right is the patient's right.
    Posterior,
    /// From the patient's left: image right is posterior.
    Left,
    /// From the patient's right: image right is anterior.
    Right,
    /// From above the head, anterior up.
    Superior,
    /// From below the feet, anterior up (the radiological axial convention).
    Inferior,
}

impl StandardView {
    /// The views with their command-line names.
    pub const ALL: [(StandardView, &'static str); 6] = [
        (StandardView::Anterior, "anterior"),
        (StandardView::Posterior, "posterior"),
        (StandardView::Left, "left"),
        (StandardView::Right, "right"),
        (StandardView::Superior, "superior"),
        (StandardView::Inferior, "inferior"),
    ];

    /// The view named `name`.
    pub fn from_name(name: &str) -> Option<StandardView> {
        StandardView::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(v, _)| *v)
    }

    /// Direction of sight and screen up, in patient LPS.
    pub fn axes(self) -> (Vec3, Vec3) {
        match self {
            StandardView::Anterior => (Vec3::Y, Vec3::Z),
            StandardView::Posterior => (-Vec3::Y, Vec3::Z),
            StandardView::Left => (-Vec3::X, Vec3::Z),
            StandardView::Right => (Vec3::X, Vec3::Z),
            StandardView::Superior => (-Vec3::Z, -Vec3::Y),
            StandardView::Inferior => (Vec3::Z, -Vec3::Y),
        }
    }

    /// An orthographic camera on the volume of `dims` voxels placed by
    /// `geometry`, looking this way: the volume's extent fills an image of
    /// `size` pixels with its aspect kept, centred.
    pub fn camera(self, geometry: &Geometry, dims: [usize; 3], size: [u32; 2]) -> CameraView {
        let (forward, up) = self.axes();
        let right = forward.cross(up);
        let corners: Vec<Vec3> = (0..8)
            .map(|c| {
                let ijk = [0, 1, 2].map(|a| if c >> a & 1 == 1 { dims[a] as f64 - 0.5 } else { -0.5 });
                geometry.voxel_to_world(glam::DVec3::from_array(ijk)).as_vec3()
            })
            .collect();
        let span = |axis: Vec3| {
            let values = corners.iter().map(|c| c.dot(axis));
            let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            (lo, hi)
        };
        let (r0, r1) = span(right);
        let (u0, u1) = span(up);
        let (f0, f1) = span(forward);
        let centre = right * (r0 + r1) / 2.0 + up * (u0 + u1) / 2.0 + forward * (f0 + f1) / 2.0;
        let aspect = size[0].max(1) as f32 / size[1].max(1) as f32;
        let (w, h) = ((r1 - r0).max(1e-3), (u1 - u0).max(1e-3));
        let (half_w, half_h) = if w / h > aspect { (w / 2.0, w / 2.0 / aspect) } else { (h / 2.0 * aspect, h / 2.0) };
        let depth = (f1 - f0).max(1e-3);
        let eye = centre - forward * (depth / 2.0 + 10.0);
        let view = glam::camera::rh::view::look_at_mat4(eye, centre, up);
        // wgpu's clip space: z in 0…1, y up (the DirectX convention), as the orbit camera.
        let proj = glam::camera::rh::proj::directx::orthographic(-half_w, half_w, -half_h, half_h, 0.0, depth + 20.0);
        CameraView { view_proj: proj * view, eye }
    }
}

#[cfg(test)]
mod tests {
    use glam::DVec3;

    use super::*;

    #[test]
    fn the_anterior_view_puts_the_patients_left_right_and_superior_up() {
        let g = Geometry::axis_aligned(DVec3::new(1.0, 1.0, 2.0), DVec3::new(-50.0, -50.0, 0.0));
        let cam = StandardView::Anterior.camera(&g, [100, 100, 50], [200, 100]);
        let ndc = |p: Vec3| cam.view_proj.project_point3(p);
        let left = ndc(Vec3::new(40.0, 0.0, 50.0)); // the patient's left (+x)
        let right = ndc(Vec3::new(-40.0, 0.0, 50.0));
        // 100 mm tall fills the 100 px height: 1 mm a pixel, so ±40 mm is ±0.4 of the 200 px width.
        assert!((left.x - 0.4).abs() < 0.01 && (right.x + 0.4).abs() < 0.01, "{left} {right}");
        let top = ndc(Vec3::new(0.0, 0.0, 95.0));
        assert!(top.y > 0.8, "superior is up: {top}");
        // The volume fills the height (100 mm in z), aspect kept: 100 mm wide of 200 px.
        let edge = ndc(Vec3::new(0.0, 0.0, 99.0)); // the last slice (98 mm) and its half voxel
        assert!((edge.y - 1.0).abs() < 1e-3, "{edge}");
        assert!((ndc(Vec3::new(49.5, 0.0, 50.0)).x - 0.5).abs() < 1e-3, "the volume's edge, centred");
        // Everything is between the near and far planes.
        for z in [0.0, 99.0] {
            for y in [-50.0, 49.0] {
                let p = ndc(Vec3::new(0.0, y, z));
                assert!((0.0..=1.0).contains(&p.z), "{p}");
            }
        }
        assert_eq!(StandardView::from_name("Superior"), Some(StandardView::Superior));
        assert_eq!(VolumeMode::from_name("MinIP"), Some(VolumeMode::MinIp));
    }
}
