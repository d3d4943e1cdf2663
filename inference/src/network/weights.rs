//! Saving and loading a network: `config.json` (the [`NetworkConfig`]) and
//! `model.safetensors` (every parameter and batch-norm running statistic, by
//! path). Loading checks the version, the names and the shapes, and says
//! exactly what does not match.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use super::config::NetworkConfig;
use super::unet::UNet3d;

/// File name of the configuration inside a model folder.
pub const CONFIG_FILE: &str = "config.json";
/// File name of the weights inside a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// Why a model could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unreadable or describes no valid network.
    #[error("{path}: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The weights file does not fit the configured network.
    #[error("{path}: weights do not match the network: {reason}")]
    Mismatch {
        /// The weights file.
        path: PathBuf,
        /// Missing, unexpected and mis-shaped tensors, named.
        reason: String,
    },
    /// A tensor operation failed.
    #[error("{context}: {source}")]
    Candle {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: candle_core::Error,
    },
}

fn candle(context: impl Into<String>) -> impl FnOnce(candle_core::Error) -> ModelError {
    let context = context.into();
    move |source| ModelError::Candle { context, source }
}

/// A network together with the variables that hold its weights (for training
/// and saving) and its configuration.
pub struct Model {
    /// The configuration it was built from.
    pub config: NetworkConfig,
    /// The network.
    pub net: UNet3d,
    /// Every weight and running statistic, by path.
    pub varmap: VarMap,
    /// Where the tensors live.
    pub device: Device,
}

impl Model {
    /// A freshly initialised network; the same `seed` gives the same weights
    /// on every machine (see [`super::init`]).
    pub fn new(config: &NetworkConfig, device: &Device, seed: u64) -> Result<Model, ModelError> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let net = UNet3d::new(config, vb).map_err(candle("building the network"))?;
        super::init::seeded_init(&varmap, seed, device).map_err(candle("initialising the weights"))?;
        Ok(Model { config: config.clone(), net, varmap, device: device.clone() })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path, device: &Device) -> Result<Model, ModelError> {
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path)
            .map_err(|source| ModelError::Io { path: config_path.clone(), source })?;
        let config: NetworkConfig = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: config_path.clone(),
            reason: format!("not a network configuration ({e})"),
        })?;
        config.validate().map_err(|reason| ModelError::Config { path: config_path.clone(), reason })?;
        let model = Model::new(&config, device, 0)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let bytes =
            std::fs::read(&weights_path).map_err(|source| ModelError::Io { path: weights_path.clone(), source })?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| ModelError::Mismatch {
            path: weights_path.clone(),
            reason: format!("not a readable safetensors file ({e})"),
        })?;
        model.assign(&weights_path, tensors)?;
        Ok(model)
    }

    /// Copies `tensors` into the variables after checking that names and
    /// shapes match exactly.
    fn assign(&self, path: &Path, tensors: std::collections::HashMap<String, Tensor>) -> Result<(), ModelError> {
        let vars = self
            .varmap
            .data()
            .lock()
            .map_err(|_| ModelError::Mismatch { path: path.into(), reason: "variable map lock poisoned".into() })?;
        let expected: BTreeSet<&String> = vars.keys().collect();
        let found: BTreeSet<&String> = tensors.keys().collect();
        let mut problems = Vec::new();
        let missing: Vec<_> = expected.difference(&found).collect();
        if !missing.is_empty() {
            problems.push(format!("missing {}: {}", missing.len(), list(&missing)));
        }
        let unexpected: Vec<_> = found.difference(&expected).collect();
        if !unexpected.is_empty() {
            problems.push(format!("unexpected {}: {}", unexpected.len(), list(&unexpected)));
        }
        for (name, var) in vars.iter() {
            if let Some(t) = tensors.get(name)
                && t.dims() != var.dims()
            {
                problems.push(format!("{name} has shape {:?}, the network needs {:?}", t.dims(), var.dims()));
            }
        }
        if !problems.is_empty() {
            return Err(ModelError::Mismatch { path: path.into(), reason: problems.join("; ") });
        }
        for (name, var) in vars.iter() {
            let t = tensors[name].to_dtype(DType::F32).map_err(candle(format!("converting {name}")))?;
            var.set(&t).map_err(candle(format!("setting {name}")))?;
        }
        Ok(())
    }

    /// Writes `dir/config.json` and `dir/model.safetensors` atomically
    /// (creating `dir`); tensor names are sorted so the bytes are reproducible.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io { path: dir.into(), source })?;
        let tensors: BTreeMap<String, Tensor> = {
            let vars = self
                .varmap
                .data()
                .lock()
                .map_err(|_| ModelError::Mismatch { path: dir.into(), reason: "variable map lock poisoned".into() })?;
            vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect()
        };
        let bytes =
            safetensors::tensor::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), None).map_err(|e| {
                ModelError::Candle { context: "serialising weights".into(), source: candle_core::Error::msg(e) }
            })?;
        let json = serde_json::to_vec_pretty(&self.config).unwrap_or_default();
        for (name, data) in [(WEIGHTS_FILE, &bytes), (CONFIG_FILE, &json)] {
            let path = dir.join(name);
            vasa_scan::atomic_file::write_atomically(&path, |w| std::io::Write::write_all(w, data))
                .map_err(|e| ModelError::Io { path: path.clone(), source: std::io::Error::other(e.to_string()) })?;
        }
        Ok(())
    }

    /// Number of trainable parameters (running statistics excluded).
    pub fn parameter_count(&self) -> usize {
        let Ok(vars) = self.varmap.data().lock() else { return 0 };
        vars.iter()
            .filter(|(k, _)| !k.ends_with("running_mean") && !k.ends_with("running_var"))
            .map(|(_, v)| v.elem_count())
            .sum()
    }
}

fn list(names: &[&&String]) -> String {
    let mut s: Vec<String> = names.iter().take(8).map(|n| n.to_string()).collect();
    if names.len() > 8 {
        s.push(format!("… {} more", names.len() - 8));
    }
    s.join(", ")
}
