"""PyTorch twin of Vasa's candle segmentation network (see twin/README.md)."""

from .model import (  # noqa: F401
    NetworkConfig,
    VasaUNet,
    candle_state,
    load_model_dir,
    load_safetensors,
    load_state,
    new_model,
    save_model_dir,
    save_safetensors,
    seeded_init,
)
