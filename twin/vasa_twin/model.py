"""PyTorch twin of Vasa's candle network (inference/src/network/).

Every module mirrors its Rust counterpart op for op, and every parameter and
buffer has the name of the candle VarBuilder path, so a `model.safetensors`
written by `Model::save` loads here unchanged and one written here loads in
the app (`load_safetensors` / `save_safetensors` / `save_model_dir`).

Semantics matched (file:item in inference/src/network/):
- tensors are [N, C, D, H, W] with D = z (slice index k), H = y (j), W = x (i);
- layers.rs Conv3d: cross-correlation, stride 1, zero padding k//2 (3x3x3: 1,
  CBAM 7x7x7: 3, head 1x1x1: 0); weight [Cout, Cin, k, k, k];
- layers.rs UpConv3d: transposed conv, kernel 2, stride 2, weight
  [Cin, Cout, 2, 2, 2] (PyTorch ConvTranspose3d layout), bias;
- layers.rs ConvBnRelu: conv (no bias) -> BatchNorm (eps 1e-5, momentum 0.1,
  biased batch variance for normalising, unbiased for the running variance;
  candle-nn 0.11 and PyTorch agree) -> plain ReLU; DoubleConv = two of them,
  named `0` and `1`;
- unet.rs: 2x2x2 max pooling; decoder input is cat([CBAM(skip), up], dim=1),
  skip first; 1x1x1 head with bias; no softmax (logits);
- cbam.rs: hidden = max(C // reduction, 4); channel attention
  sigmoid(mlp(mean) + mlp(max)) with mlp = fc2(relu(fc1(.))), then spatial
  attention sigmoid(conv7([max_c, mean_c])) -- max first;
- transformer.rs: tokens = bottleneck voxels in D, H, W order (W fastest);
  proj_in + learned position [1, dim, gd, gh, gw] (resized by separable
  linear interpolation, align-corners, when the grid differs); pre-norm blocks
  with LayerNorm eps 1e-5 (biased variance), multi-head attention scaled by
  1/sqrt(head_dim), feed-forward with tanh-approximated GELU (candle's
  `Tensor::gelu`), residuals; proj_out added to the module's input.

PyTorch's BatchNorm buffer `num_batches_tracked` has no candle counterpart:
it is neither written nor expected (it is unused with a fixed momentum).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class NetworkConfig:
    """Mirror of `NetworkConfig` (config.rs); unknown JSON keys are kept in `extra`."""

    version: int
    in_channels: int
    num_classes: int
    base_channels: int
    levels: int
    token_dim: int
    heads: int
    transformer_blocks: int
    ff_multiplier: int
    cbam_reduction: int
    patch_size: List[int]
    target_spacing_mm: List[float]
    norm_mean: float
    norm_std: float
    context: Optional[dict] = None
    extra: dict = field(default_factory=dict)

    @staticmethod
    def from_dict(d: dict) -> "NetworkConfig":
        names = {f.name for f in fields(NetworkConfig)} - {"extra"}
        cfg = NetworkConfig(**{k: v for k, v in d.items() if k in names},
                            extra={k: v for k, v in d.items() if k not in names})
        cfg.validate()
        return cfg

    @staticmethod
    def load(path: str) -> "NetworkConfig":
        with open(path) as f:
            return NetworkConfig.from_dict(json.load(f))

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "context")}
        if self.context is not None:
            d["context"] = self.context
        d.update(self.extra)
        return d

    def channels(self, level: int) -> int:
        return self.base_channels << level

    def divisor(self) -> int:
        return 1 << self.levels

    def token_grid(self) -> List[int]:
        return [s // self.divisor() for s in self.patch_size]

    def check_patch(self, patch: Sequence[int]) -> None:
        d = self.divisor()
        if any(s == 0 or s % d for s in patch):
            raise ValueError(f"patch {list(patch)}: every side must be a positive multiple of 2^levels = {d}")

    def validate(self) -> None:
        if self.version != FORMAT_VERSION:
            raise ValueError(f"weights format version {self.version} (the twin reads version {FORMAT_VERSION})")
        for name in ("in_channels", "num_classes", "base_channels", "levels", "token_dim", "heads",
                     "ff_multiplier", "cbam_reduction"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.token_dim % self.heads:
            raise ValueError(f"token_dim {self.token_dim} is not a multiple of heads {self.heads}")
        self.check_patch(self.patch_size)
        if self.context is not None and self.in_channels != 1 + len(self.context["classes"]):
            raise ValueError("in_channels must be 1 (CT) + the number of context classes")


class ConvBnRelu(nn.Module):
    """layers.rs ConvBnRelu: `conv` (3x3x3, no bias), `bn`, ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-5, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """layers.rs DoubleConv: two ConvBnRelu named `0` and `1`."""
    return nn.Sequential(ConvBnRelu(cin, cout), ConvBnRelu(cout, cout))


class Cbam(nn.Module):
    """cbam.rs Cbam: `fc1`, `fc2`, `spatial`."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.spatial = nn.Conv3d(2, 1, 7, padding=3, bias=True)

    def mlp(self, v: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(v)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)
        channel = torch.sigmoid(self.mlp(flat.mean(2)) + self.mlp(flat.amax(2)))
        x = x * channel[:, :, None, None, None]
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(pooled))


class TransformerBlock(nn.Module):
    """transformer.rs TransformerBlock: `norm1`, `qkv`, `out`, `norm2`, `ff1`, `ff2`."""

    def __init__(self, dim: int, heads: int, ff_multiplier: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.ff1 = nn.Linear(dim, dim * ff_multiplier)
        self.ff2 = nn.Linear(dim * ff_multiplier, dim)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, dh).permute(2, 0, 3, 1, 4).unbind(0)
        # Softmax(q k^T / sqrt(dh)) v, as candle computes it (the default scale).
        y = F.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(b, t, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.ff2(F.gelu(self.ff1(self.norm2(x)), approximate="tanh"))


def resize_trilinear(t: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """transformer.rs resize_trilinear: per-axis linear interpolation, align-corners."""
    for a, n in enumerate(size):
        axis = a + 2
        m = t.shape[axis]
        if m == n:
            continue
        x = [0.0 if n == 1 else i * (m - 1.0) / (n - 1.0) for i in range(n)]
        lo = [min(int(math.floor(v)), m - 1) for v in x]
        hi = [min(l + 1, m - 1) for l in lo]
        w = torch.tensor([v - l for v, l in zip(x, lo)], dtype=t.dtype, device=t.device)
        shape = [1] * t.dim()
        shape[axis] = n
        ta = t.index_select(axis, torch.tensor(lo, device=t.device))
        tb = t.index_select(axis, torch.tensor(hi, device=t.device))
        t = ta + (tb - ta) * w.reshape(shape)
    return t


class GlobalFeatureModule(nn.Module):
    """transformer.rs GlobalFeatureModule: `proj_in`, `position`, `block{i}`, `proj_out`."""

    def __init__(self, channels: int, dim: int, heads: int, ff_multiplier: int, blocks: int,
                 grid: Sequence[int]):
        super().__init__()
        self.proj_in = nn.Linear(channels, dim)
        self.position = nn.Parameter(torch.zeros(1, dim, *grid))
        self.blocks = blocks
        for i in range(blocks):
            self.add_module(f"block{i}", TransformerBlock(dim, heads, ff_multiplier))
        self.proj_out = nn.Linear(dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, gd, gh, gw = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # [N, T, C]
        pos = resize_trilinear(self.position, (gd, gh, gw)).flatten(2).transpose(1, 2)  # [1, T, dim]
        t = self.proj_in(tokens) + pos
        for i in range(self.blocks):
            t = getattr(self, f"block{i}")(t)
        back = self.proj_out(t).transpose(1, 2).reshape(n, c, gd, gh, gw)
        return x + back


class VasaUNet(nn.Module):
    """unet.rs UNet3d: `enc{i}`, `bottleneck`, `global`, `up{i}`, `skip{i}`, `dec{i}`, `head`."""

    def __init__(self, config: NetworkConfig):
        super().__init__()
        config.validate()
        self.config = config
        l, c = config.levels, config.channels
        for i in range(l):
            self.add_module(f"enc{i}", double_conv(config.in_channels if i == 0 else c(i - 1), c(i)))
        self.bottleneck = double_conv(c(l - 1), c(l))
        self.add_module("global", GlobalFeatureModule(
            c(l), config.token_dim, config.heads, config.ff_multiplier, config.transformer_blocks,
            config.token_grid()))
        for i in range(l):
            self.add_module(f"up{i}", nn.ConvTranspose3d(c(i + 1), c(i), 2, stride=2))
            self.add_module(f"skip{i}", Cbam(c(i), config.cbam_reduction))
            self.add_module(f"dec{i}", double_conv(2 * c(i), c(i)))
        self.head = nn.Conv3d(c(0), config.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` [N, in_channels, D, H, W] (normalised CT, then context) -> logits [N, classes, D, H, W]."""
        if x.dim() != 5 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"input {tuple(x.shape)}: the network expects [N, {self.config.in_channels}, D, H, W]")
        self.config.check_patch(x.shape[2:])
        levels = self.config.levels
        skips = []
        h = x
        for i in range(levels):
            f = getattr(self, f"enc{i}")(h)
            h = F.max_pool3d(f, 2)
            skips.append(f)
        h = getattr(self, "global")(self.bottleneck(h))
        for i in reversed(range(levels)):
            up = getattr(self, f"up{i}")(h)
            skip = getattr(self, f"skip{i}")(skips[i])
            h = getattr(self, f"dec{i}")(torch.cat([skip, up], 1))
        return self.head(h)


# ----------------------------------------------------------------------------
# Weights: the candle file layout (f32, names = VarBuilder paths).

def _is_skipped(name: str) -> bool:
    return name.endswith("num_batches_tracked")


def candle_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    """Every tensor candle stores (parameters and BN running statistics), by candle name."""
    return {k: v for k, v in model.state_dict().items() if not _is_skipped(k)}


def load_state(model: nn.Module, tensors: Dict[str, torch.Tensor], where: str = "weights") -> None:
    """Copies `tensors` into `model` after checking names and shapes exactly (as weights.rs does)."""
    own = candle_state(model)
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    problems = []
    if missing:
        problems.append(f"missing {len(missing)}: {', '.join(missing[:8])}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)}: {', '.join(unexpected[:8])}")
    for k, v in own.items():
        if k in tensors and tuple(tensors[k].shape) != tuple(v.shape):
            problems.append(f"{k} has shape {tuple(tensors[k].shape)}, the network needs {tuple(v.shape)}")
    if problems:
        raise ValueError(f"{where}: weights do not match the network: {'; '.join(problems)}")
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(tensors[k].to(dtype=v.dtype, device=v.device))


def load_safetensors(model: nn.Module, path: str) -> None:
    """Loads a candle `model.safetensors` (any float dtype) into `model`."""
    from safetensors.torch import load_file
    load_state(model, load_file(path), path)


def save_safetensors(model: nn.Module, path: str) -> None:
    """Writes `model`'s tensors as f32 under candle's names, atomically."""
    from safetensors.torch import save_file
    tensors = {k: v.detach().to(device="cpu", dtype=torch.float32).contiguous()
               for k, v in sorted(candle_state(model).items())}
    tmp = f"{path}.tmp{os.getpid()}"
    save_file(tensors, tmp)
    os.replace(tmp, path)


def load_model_dir(directory: str, device: str = "cpu") -> VasaUNet:
    """`Model::load_stage`: `config.json` + `model.safetensors` of one stage (no coarse stage)."""
    model = VasaUNet(NetworkConfig.load(os.path.join(directory, CONFIG_FILE)))
    load_safetensors(model, os.path.join(directory, WEIGHTS_FILE))
    return model.to(device)


def save_model_dir(model: VasaUNet, directory: str) -> None:
    """`Model::save_stage`: writes `config.json` and `model.safetensors` into `directory`."""
    os.makedirs(directory, exist_ok=True)
    save_safetensors(model, os.path.join(directory, WEIGHTS_FILE))
    tmp = os.path.join(directory, f"{CONFIG_FILE}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(model.config.to_dict(), f, indent=2)
    os.replace(tmp, os.path.join(directory, CONFIG_FILE))


# ----------------------------------------------------------------------------
# Initialisation: init.rs `seeded_init`, reproduced (same seed, same weights).

_M64 = (1 << 64) - 1


def _fnv1a(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & _M64
    return h


def _splitmix_uniforms(seed: int, count: int) -> np.ndarray:
    """The first `count` uniforms in [0, 1) of init.rs's SplitMix64 stream."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _normals(seed: int, n: int, std: float) -> np.ndarray:
    pairs = (n + 1) // 2
    u = _splitmix_uniforms(seed, 2 * pairs).reshape(pairs, 2)
    r = np.sqrt(-2.0 * np.log(np.maximum(u[:, 0], 1e-300))) * std
    t = 2.0 * math.pi * u[:, 1]
    return np.stack([r * np.cos(t), r * np.sin(t)], 1).reshape(-1)[:n].astype(np.float32)


def seeded_init(model: nn.Module, seed: int) -> None:
    """Redraws the random parameters exactly as init.rs does (Model::new(config, seed)); constants
    (norms, conv biases, running statistics) are reset to candle's initial values."""
    state = candle_state(model)
    with torch.no_grad():
        for name in sorted(state):
            var = state[name]
            dims = list(var.shape)
            n = var.numel()
            s = seed ^ _fnv1a(name)
            values = None
            if name.endswith(".position"):
                values = _normals(s, n, 0.02)
            elif name.endswith(".weight") and len(dims) == 5:
                layer = name.split(".")[-2]
                receptive = dims[2] * dims[3] * dims[4]
                std = math.sqrt(1.0 / (dims[0] * receptive)) if layer.startswith("up") \
                    else math.sqrt(2.0 / (dims[1] * receptive))
                values = _normals(s, n, std)
            elif name.endswith(".weight") and len(dims) == 2:
                values = _normals(s, n, math.sqrt(2.0 / dims[1]))
            elif name.endswith(".bias") and len(dims) == 1:
                w = state.get(name[: -len(".bias")] + ".weight")
                if w is not None and w.dim() == 2:
                    bound = 1.0 / math.sqrt(w.shape[1])
                    values = ((_splitmix_uniforms(s, n) * 2.0 - 1.0) * bound).astype(np.float32)
                else:
                    var.zero_()
            elif name.endswith("running_mean"):
                var.zero_()
            elif name.endswith("running_var") or name.endswith(".weight"):
                var.fill_(1.0)
            if values is not None:
                var.copy_(torch.from_numpy(values).reshape(dims))


def new_model(config: NetworkConfig, seed: int) -> VasaUNet:
    """`Model::new(config, seed)`: the same fresh network the Rust side makes."""
    model = VasaUNet(config)
    seeded_init(model, seed)
    return model
