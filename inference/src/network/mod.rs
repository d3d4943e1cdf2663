//! The segmentation network of DESIGN.md S202: a 3-D U-Net with CBAM skip
//! connections and a transformer ("global feature module") at the
//! bottleneck, built on candle with Vasa's own 3-D ops ([`crate::ops`]).

pub mod cbam;
pub mod config;
pub mod init;
pub mod layers;
pub mod transformer;
pub mod unet;
pub mod weights;

pub use config::{ContextConfig, FORMAT_VERSION, NetworkConfig};
pub use unet::UNet3d;
pub use weights::{COARSE_DIR, Model, ModelError};
