"""Training math of `vasa train`, mirrored: the loss (inference/src/train/loss.rs)
and the optimiser with its schedule (inference/src/train/optimizer.rs).

- `dice_ce_loss`: mean cross-entropy over every voxel of the batch plus
  (1 - mean soft Dice of classes 1..C-1), each class's Dice over the whole
  batch with smoothing 1.
- `CandleAdamW`: AdamW over the trainable tensors (BN running statistics are
  buffers here, so never trained) with global L2 gradient clipping (scale
  max_norm / norm when norm > max_norm; the update is skipped when the norm is
  not finite), bias-corrected moments, `update = m_hat / (sqrt(v_hat) + eps)`,
  decoupled weight decay `theta *= 1 - lr * wd` on tensors of rank >= 2 only.
  `state_tensors()` names the moments as the Rust checkpoint does
  (`m.NAME`, `v.NAME`; `optimizer.safetensors`, step in `state.json`).
- `learning_rate`: linear warm-up over `warmup` steps, then cosine decay to
  `base * floor`.
"""

from __future__ import annotations

import math
from typing import Dict, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

DICE_SMOOTH = 1.0


class Loss(NamedTuple):
    total: torch.Tensor
    cross_entropy: torch.Tensor
    soft_dice: torch.Tensor


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor) -> Loss:
    """`logits` [B, C, D, H, W]; `target` [B, D, H, W] integer classes in 0..C-1."""
    c = logits.shape[1]
    flat = logits.permute(0, 2, 3, 4, 1).reshape(-1, c)
    t = target.reshape(-1).long()
    logp = F.log_softmax(flat, dim=1)
    ce = -logp.gather(1, t[:, None]).squeeze(1).mean()
    y = F.one_hot(t.clamp(max=c - 1), c).to(logp.dtype)
    p = logp.exp()
    inter = (p * y).sum(0)
    denom = p.sum(0) + y.sum(0)
    dice = (inter * 2.0 + DICE_SMOOTH) / (denom + DICE_SMOOTH)
    fg = dice[1:].mean()
    return Loss(ce + (1.0 - fg), ce, fg)


def learning_rate(step: int, total: int, warmup: int, base: float, floor: float) -> float:
    """optimizer.rs `learning_rate`: `step` is 0-based."""
    if step < warmup:
        return base * (step + 1) / warmup
    span = float(max(total - warmup, 1))
    t = min((step - warmup) / span, 1.0)
    return base * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))


class CandleAdamW:
    """optimizer.rs `AdamW` (defaults = `AdamWSettings::default()`)."""

    def __init__(self, model: nn.Module, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 1e-4, max_grad_norm: float = 5.0):
        self.params = sorted(model.named_parameters())  # buffers (running statistics) excluded
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.weight_decay, self.max_grad_norm = weight_decay, max_grad_norm
        self.m = {n: torch.zeros_like(p) for n, p in self.params}
        self.v = {n: torch.zeros_like(p) for n, p in self.params}
        self.step_count = 0

    @torch.no_grad()
    def step(self, lr: float) -> float:
        """One update from the parameters' `.grad`; returns the gradient norm before clipping."""
        grads = [(n, p, p.grad) for n, p in self.params if p.grad is not None]
        if not grads:
            return 0.0
        norm = torch.sqrt(sum((g.float() ** 2).sum() for _, _, g in grads)).item()
        if not math.isfinite(norm):
            return norm  # a non-finite gradient would poison the moments: skip
        clip = self.max_grad_norm / norm if norm > self.max_grad_norm else 1.0
        self.step_count += 1
        bc1 = 1.0 - self.beta1 ** self.step_count
        bc2 = 1.0 - self.beta2 ** self.step_count
        for n, p, g in grads:
            g = g * clip
            m = self.m[n].mul_(self.beta1).add_(g * (1.0 - self.beta1))
            v = self.v[n].mul_(self.beta2).add_(g.square() * (1.0 - self.beta2))
            update = (m / bc1) / ((v / bc2).sqrt() + self.eps)
            if p.dim() >= 2:
                p.mul_(1.0 - lr * self.weight_decay)
            p.sub_(update * lr)
        return norm

    def state_tensors(self) -> Dict[str, torch.Tensor]:
        """The moments under the Rust checkpoint's names (`m.NAME`, `v.NAME`)."""
        out = {}
        for n, _ in self.params:
            out[f"m.{n}"] = self.m[n]
            out[f"v.{n}"] = self.v[n]
        return out

    def load_state_tensors(self, tensors: Dict[str, torch.Tensor], step: int) -> None:
        for n, _ in self.params:
            for prefix, slot in (("m", self.m), ("v", self.v)):
                t = tensors[f"{prefix}.{n}"]
                if t.shape != slot[n].shape:
                    raise ValueError(f"optimiser state {prefix}.{n} has shape {tuple(t.shape)}, "
                                     f"expected {tuple(slot[n].shape)}")
                slot[n] = t.to(dtype=slot[n].dtype, device=slot[n].device).clone()
        self.step_count = step
