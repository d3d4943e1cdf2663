//! What the volume renderer samples besides the labels: the CT as an
//! `R16Float` 3-D texture (filterable: the hardware interpolates; exact HU
//! up to ±2048, 2 HU steps beyond), and a coarse occupancy grid, one texel
//! per brick of [`BRICK`]³ voxels, that says which bricks can show anything
//! in the current mode so the rays skip the rest. Each brick's HU range and
//! label classes are kept on the CPU, so a new transfer function or class
//! visibility rewrites only the small grid.

use half::f16;
use vasa_scan::{LabelMap, Volume};

use super::{DirtyBox, Texture3d, UploadError};
use crate::transfer_function::OpacityRanges;

/// Side of an occupancy brick (voxels).
pub const BRICK: usize = 8;

/// One brick's content: its HU range (the voxels and their neighbours,
/// which interpolation reaches) and the label classes present (bit c for
/// class c < 32).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Brick {
    /// Lowest HU.
    pub min: f32,
    /// Highest HU.
    pub max: f32,
    /// Classes present.
    pub classes: u32,
}

/// The CT for ray casting, with its occupancy grid.
#[derive(Clone)]
pub struct RayVolume {
    hu: Texture3d,
    occupancy: Texture3d,
    /// Shared by clones (copied on write): a clone per frame costs nothing.
    bricks: std::sync::Arc<Vec<Brick>>,
    brick_dims: [usize; 3],
    /// Bumped when the bricks' classes change (the grid must be rewritten).
    generation: u64,
}

/// What makes a brick worth visiting.
#[derive(Clone, Copy)]
pub enum Visible<'a> {
    /// Every brick (maximum and minimum projections see all).
    All,
    /// Bricks whose HU range has some opacity under the transfer function,
    /// or that hold one of `classes` (a bit mask).
    Where {
        /// The transfer function's opacity (none: CT not drawn).
        tf: Option<&'a OpacityRanges>,
        /// Classes drawn.
        classes: u32,
    },
}

impl RayVolume {
    /// Uploads `ct` (and the classes of `labels`, when given, same grid).
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        ct: &Volume<i16>,
        labels: Option<&LabelMap>,
    ) -> Result<Self, UploadError> {
        let dims = ct.dims();
        if let Some(l) = labels
            && l.dims() != dims
        {
            return Err(UploadError::GridMismatch { ct: dims, labels: l.dims() });
        }
        let hu = Texture3d::new(device, "vasa ct (float)", dims, wgpu::TextureFormat::R16Float)?;
        let halves: Vec<u16> = ct.data().iter().map(|&v| f16::from_f32(v as f32).to_bits()).collect();
        hu.write_region(queue, bytemuck::cast_slice(&halves), DirtyBox::whole(dims))?;
        let brick_dims = dims.map(|d| d.div_ceil(BRICK));
        let occupancy = Texture3d::new_whole(device, "vasa occupancy", brick_dims, wgpu::TextureFormat::R8Uint)?;
        let bricks = std::sync::Arc::new(brick_ranges(ct, brick_dims));
        let mut v = RayVolume { hu, occupancy, bricks, brick_dims, generation: 0 };
        if let Some(l) = labels {
            v.update_classes(l, DirtyBox::whole(dims));
        }
        Ok(v)
    }

    /// Recounts the classes of the bricks touching `dirty` (after an edit).
    pub fn update_classes(&mut self, labels: &LabelMap, dirty: DirtyBox) {
        if labels.dims() != self.hu.dims || dirty.is_empty() {
            return;
        }
        let dims = labels.dims();
        self.generation += 1;
        let bricks = std::sync::Arc::make_mut(&mut self.bricks);
        let lo = dirty.min.map(|v| v / BRICK);
        let hi = [0, 1, 2].map(|a| (dirty.max[a].min(dims[a]).max(1) - 1) / BRICK);
        for bk in lo[2]..=hi[2] {
            for bj in lo[1]..=hi[1] {
                for bi in lo[0]..=hi[0] {
                    let mut classes = 0u32;
                    for k in bk * BRICK..((bk + 1) * BRICK).min(dims[2]) {
                        for j in bj * BRICK..((bj + 1) * BRICK).min(dims[1]) {
                            let row = labels.index(bi * BRICK, j, k);
                            let end = row + (BRICK.min(dims[0] - bi * BRICK));
                            for &l in &labels.data()[row..end] {
                                if l < 32 {
                                    classes |= 1 << l;
                                }
                            }
                        }
                    }
                    let n = (bk * self.brick_dims[1] + bj) * self.brick_dims[0] + bi;
                    bricks[n].classes = classes & !1;
                }
            }
        }
    }

    /// Rewrites the occupancy grid for what is drawn now.
    pub fn set_visible(&self, queue: &wgpu::Queue, visible: Visible) -> Result<(), UploadError> {
        let grid: Vec<u8> = self
            .bricks
            .iter()
            .map(|b| match visible {
                Visible::All => 1,
                Visible::Where { tf, classes } => {
                    let ct = tf.is_some_and(|t| t.max(b.min, b.max) > 0.0);
                    (ct || b.classes & classes != 0) as u8
                }
            })
            .collect();
        self.occupancy.write_region(queue, &grid, DirtyBox::whole(self.brick_dims))
    }

    /// How often the bricks' classes changed (the occupancy grid follows).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The bricks, i fastest (for tests and statistics).
    pub fn bricks(&self) -> &[Brick] {
        &self.bricks
    }

    /// Dimensions of the CT (voxels).
    pub fn dims(&self) -> [usize; 3] {
        self.hu.dims
    }

    /// The HU texture's slabs (`texture_3d<f32>`, filterable), one per
    /// slab ([`MAX_SLABS`](super::MAX_SLABS), the last repeated).
    pub fn hu_views(&self) -> [&wgpu::TextureView; super::MAX_SLABS] {
        self.hu.views()
    }

    /// Slab core size and count, for the shaders.
    pub fn slab_params(&self) -> [f32; 2] {
        self.hu.slab_params()
    }

    /// The occupancy grid (`texture_3d<u32>`, one texel per brick).
    pub fn occupancy_view(&self) -> &wgpu::TextureView {
        self.occupancy.views()[0]
    }
}

/// Each brick's HU range, over its voxels and one voxel around (what
/// trilinear samples inside it can reach).
fn brick_ranges(ct: &Volume<i16>, brick_dims: [usize; 3]) -> Vec<Brick> {
    let dims = ct.dims();
    let mut bricks =
        vec![Brick { min: f32::INFINITY, max: f32::NEG_INFINITY, classes: 0 }; brick_dims.iter().product()];
    // The bricks each voxel belongs to, its own and (within one voxel of a
    // brick border) its neighbours.
    let owners = |v: usize, n: usize| {
        let b = v / BRICK;
        let lo = if v.is_multiple_of(BRICK) && b > 0 { b - 1 } else { b };
        let hi = if v % BRICK == BRICK - 1 && b + 1 < n { b + 1 } else { b };
        lo..=hi
    };
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let hu = ct.data()[ct.index(i, j, k)] as f32;
                for bk in owners(k, brick_dims[2]) {
                    for bj in owners(j, brick_dims[1]) {
                        for bi in owners(i, brick_dims[0]) {
                            let b = &mut bricks[(bk * brick_dims[1] + bj) * brick_dims[0] + bi];
                            b.min = b.min.min(hu);
                            b.max = b.max.max(hu);
                        }
                    }
                }
            }
        }
    }
    bricks
}

#[cfg(test)]
mod tests {
    use vasa_scan::Geometry;

    use super::*;

    #[test]
    fn brick_ranges_reach_one_voxel_into_the_neighbours() {
        let mut ct = Volume::filled([16, 8, 8], -1000i16, Geometry::default());
        let n = ct.index(8, 3, 3);
        ct.data_mut()[n] = 400; // first voxel of brick 1 along i
        let bricks = brick_ranges(&ct, [2, 1, 1]);
        assert_eq!((bricks[0].min, bricks[0].max), (-1000.0, 400.0), "brick 0 reaches it by interpolation");
        assert_eq!(bricks[1].max, 400.0);
        let n = ct.index(8, 3, 3);
        ct.data_mut()[n] = -1000;
        let n = ct.index(12, 3, 3);
        ct.data_mut()[n] = 400;
        let bricks = brick_ranges(&ct, [2, 1, 1]);
        assert_eq!(bricks[0].max, -1000.0, "a voxel mid-brick does not reach the neighbour");
    }
}
