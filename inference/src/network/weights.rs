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
/// Subfolder of a cascade's model folder holding its coarse stage (a complete
/// single-stage model).
pub const COARSE_DIR: &str = "coarse";

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
    /// A fine stage whose coarse stage is missing or unusable.
    #[error("{dir}: {reason}")]
    Cascade {
        /// The coarse stage's folder.
        dir: PathBuf,
        /// What is wrong.
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
/// and saving) and its configuration; for the fine stage of a cascade, also
/// its coarse stage.
pub struct Model {
    /// The configuration it was built from.
    pub config: NetworkConfig,
    /// The network.
    pub net: UNet3d,
    /// Every weight and running statistic, by path.
    pub varmap: VarMap,
    /// Where the tensors live.
    pub device: Device,
    /// The coarse stage whose probabilities feed this one (cascades only:
    /// `config.context` is set), saved to and loaded from [`COARSE_DIR`].
    pub coarse: Option<Box<Model>>,
}

impl Model {
    /// A freshly initialised network; the same `seed` gives the same weights
    /// on every machine (see [`super::init`]).
    pub fn new(config: &NetworkConfig, device: &Device, seed: u64) -> Result<Model, ModelError> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let net = UNet3d::new(config, vb).map_err(candle("building the network"))?;
        super::init::seeded_init(&varmap, seed, device).map_err(candle("initialising the weights"))?;
        Ok(Model { config: config.clone(), net, varmap, device: device.clone(), coarse: None })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors` and, when the
    /// configuration asks for context, the coarse stage in `dir/coarse/`
    /// (an error naming that folder when it is missing or does not fit).
    pub fn load(dir: &Path, device: &Device) -> Result<Model, ModelError> {
        let mut model = Model::load_stage(dir, device)?;
        if let Some(ctx) = model.config.context.clone() {
            let coarse_dir = dir.join(COARSE_DIR);
            if !coarse_dir.join(CONFIG_FILE).is_file() {
                return Err(ModelError::Cascade {
                    dir: coarse_dir,
                    reason: format!(
                        "this fine stage reads the coarse stage's probabilities of classes {:?}, but its coarse stage \
                         (config.json + model.safetensors) is missing",
                        ctx.classes
                    ),
                });
            }
            let coarse = Model::load_stage(&coarse_dir, device)?;
            model.set_coarse(coarse).map_err(|reason| ModelError::Cascade { dir: coarse_dir, reason })?;
        }
        Ok(model)
    }

    /// Attaches `coarse` as this fine stage's coarse stage after checking
    /// that it fits: a single-stage model with every context class.
    pub fn set_coarse(&mut self, coarse: Model) -> Result<(), String> {
        let Some(ctx) = &self.config.context else {
            return Err("the model takes no context (config.json has no \"context\")".into());
        };
        if coarse.config.context.is_some() {
            return Err("a coarse stage must be a single-stage model (its config.json has a \"context\")".into());
        }
        if let Some(&c) = ctx.classes.iter().find(|&&c| c >= coarse.config.num_classes) {
            return Err(format!(
                "context class {c} is not among the coarse stage's {} classes",
                coarse.config.num_classes
            ));
        }
        self.coarse = Some(Box::new(coarse));
        Ok(())
    }

    /// Loads one network (`dir/config.json` + `dir/model.safetensors`) and
    /// nothing else: a coarse stage, or a checkpoint's weights.
    pub fn load_stage(dir: &Path, device: &Device) -> Result<Model, ModelError> {
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
    /// (creating `dir`), and the coarse stage, if any, into `dir/coarse/`;
    /// tensor names are sorted so the bytes are reproducible.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        self.save_stage(dir)?;
        if let Some(coarse) = &self.coarse {
            coarse.save_stage(&dir.join(COARSE_DIR))?;
        }
        Ok(())
    }

    /// Writes this network alone (no coarse stage).
    pub fn save_stage(&self, dir: &Path) -> Result<(), ModelError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::ContextConfig;

    fn tiny(in_channels: usize, context: Option<ContextConfig>, spacing: f64) -> NetworkConfig {
        NetworkConfig {
            in_channels,
            base_channels: 2,
            levels: 2,
            token_dim: 8,
            heads: 2,
            patch_size: [16, 16, 16],
            target_spacing_mm: [spacing; 3],
            context,
            ..NetworkConfig::default()
        }
    }

    fn values(m: &Model) -> Vec<(String, Vec<f32>)> {
        let vars = m.varmap.data().lock().unwrap();
        let mut v: Vec<_> =
            vars.iter().map(|(k, t)| (k.clone(), t.as_tensor().flatten_all().unwrap().to_vec1().unwrap())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn a_cascade_saves_and_loads_with_its_coarse_stage() {
        let dir = tempfile::tempdir().unwrap();
        let dev = Device::Cpu;
        let mut fine = Model::new(&tiny(4, Some(ContextConfig::vessels()), 1.5), &dev, 1).unwrap();
        fine.set_coarse(Model::new(&tiny(1, None, 4.0), &dev, 2).unwrap()).unwrap();
        fine.save(dir.path()).unwrap();
        assert!(
            dir.path().join("coarse/config.json").is_file() && dir.path().join("coarse/model.safetensors").is_file()
        );
        let back = Model::load(dir.path(), &dev).unwrap();
        assert_eq!(back.config, fine.config);
        let coarse = back.coarse.as_deref().expect("coarse stage loaded");
        assert_eq!(coarse.config.target_spacing_mm, [4.0; 3]);
        assert_eq!(values(&back), values(&fine));
        assert_eq!(values(coarse), values(fine.coarse.as_deref().unwrap()));

        // Without its coarse stage the fine stage is refused, naming the folder.
        std::fs::remove_dir_all(dir.path().join("coarse")).unwrap();
        let e = Model::load(dir.path(), &dev).err().unwrap().to_string();
        assert!(e.contains(&dir.path().join("coarse").display().to_string()) && e.contains("missing"), "{e}");
        // The stage alone still loads (checkpoints, inspection).
        assert!(Model::load_stage(dir.path(), &dev).unwrap().coarse.is_none());

        // A single-stage model ignores nothing and needs nothing.
        let single = Model::new(&tiny(1, None, 1.5), &dev, 3).unwrap();
        let sdir = dir.path().join("single");
        single.save(&sdir).unwrap();
        assert!(!sdir.join("coarse").exists());
        assert!(Model::load(&sdir, &dev).unwrap().coarse.is_none());

        // A coarse stage must be single-stage and know the context classes.
        let mut f2 = Model::new(&fine.config, &dev, 1).unwrap();
        let nested = Model::load_stage(dir.path(), &dev).unwrap();
        assert!(f2.set_coarse(nested).unwrap_err().contains("single-stage"));
        let two = Model::new(&NetworkConfig { num_classes: 2, ..tiny(1, None, 4.0) }, &dev, 1).unwrap();
        assert!(f2.set_coarse(two).unwrap_err().contains("class 2"));
    }

    #[test]
    fn the_shipped_cascade_and_its_single_stage_coarse_model_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/model");
        let m = Model::load(&dir, &Device::Cpu).unwrap();
        assert!(m.config.context.is_some() && m.coarse.is_some(), "the shipped model is a cascade");
        assert_eq!(m.config.in_channels, 4);
        // Its coarse stage is an ordinary single-stage model folder.
        let coarse = Model::load(&dir.join("coarse"), &Device::Cpu).unwrap();
        assert!(coarse.config.context.is_none() && coarse.coarse.is_none());
        assert_eq!(coarse.config.in_channels, 1);
    }
}
