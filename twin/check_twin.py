#!/usr/bin/env python3
"""Two-direction check of the PyTorch twin against candle (see README.md).

    python twin/check_twin.py [--tol 1e-4] [--work DIR] [--bin PATH] [--no-build]
                              [--device cuda] [--no-rust] [--small]
    python twin/check_twin.py --model DIR [--bin PATH] [--no-build]

(a) candle's weights -> twin: the twin loads a `model.safetensors` written by
    Rust and must reproduce candle's logits on candle's input.
(b) twin's weights -> candle: the twin is randomly initialised (every tensor
    non-trivial, batch-norm running statistics moved by train-mode passes),
    saved, loaded by Rust, and candle must reproduce the twin's logits.
Both in eval mode (`logits`, running statistics) and in train mode
(`logits_train`, batch statistics). Then one training step as `vasa train`
takes it: the loss (vasa_twin.loss) on candle's logits and on the twin's own,
the gradients of every trained tensor (relative to the tensor's largest,
--grad-tol), and one AdamW update fed candle's gradients. The Rust side is the example
`inference/examples/twin_reference.rs` (built here unless --no-build).
Prints every maximum absolute difference; exits 1 if one exceeds --tol.

--no-rust reuses the candle outputs and all weights a previous run left in
--work, so a
machine without cargo -- the GPU one -- can check its twin: `--device cuda`
runs the twin there, with TF32 off (TF32 convolutions and matmuls are not
within 1e-4 of f32). --small leaves out the 64^3 cases of the shipped model
((a) at 64^3 and (b)), so the work folder shrinks from ~58 MB to ~21 MB (what
the GPU run carries; the cascade covers direction (b)).

--model DIR checks one model folder (e.g. weights trained on the GPU and
brought back) instead: candle's eval and train logits on that folder (its
configured patch, batch 2) against the twin's on the same input, in both
modes, at --tol. Its coarse stage, if any, is not involved.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from vasa_twin.loss import CandleAdamW, dice_ce_loss  # noqa: E402
from vasa_twin import (  # noqa: E402
    NetworkConfig, VasaUNet, candle_state, load_model_dir, load_safetensors, new_model, save_model_dir,
    save_safetensors)

SHIPPED = os.path.join(ROOT, "assets", "model")

# NetworkConfig::default() (config.rs), what `init_model` writes.
DEFAULT = dict(version=1, in_channels=1, num_classes=4, base_channels=8, levels=3, token_dim=64, heads=4,
               transformer_blocks=1, ff_multiplier=2, cbam_reduction=4, patch_size=[64, 64, 64],
               target_spacing_mm=[1.5, 1.5, 1.5], norm_mean=-500.0, norm_std=500.0)
# A small fine stage of a cascade: CT + 3 context channels, a non-cubic patch, 5 classes,
# 2 transformer blocks, an odd feed-forward width, CBAM's hidden width clamped to 4.
CASCADE = dict(DEFAULT, in_channels=4, num_classes=5, base_channels=4, levels=2, token_dim=16, heads=2,
               transformer_blocks=2, ff_multiplier=3, cbam_reduction=2, patch_size=[32, 16, 24],
               context={"classes": [1, 2, 3]})


class Checker:
    def __init__(self, args):
        self.args = args
        self.rows = []

    def record(self, label: str, got: torch.Tensor, want: torch.Tensor) -> float:
        if got.shape != want.shape:
            print(f"  FAIL {label}: shape {tuple(got.shape)} vs {tuple(want.shape)}")
            self.rows.append((label, math.inf, self.args.tol))
            return math.inf
        diff = (got.double() - want.double()).abs().max().item()
        if math.isnan(diff):
            diff = math.inf
        ok = diff <= self.args.tol
        print(f"  {'ok  ' if ok else 'FAIL'} {label}: max |diff| {diff:.3g}  (max |logit| {want.abs().max().item():.3g})")
        self.rows.append((label, diff, self.args.tol))
        return diff

    def reference(self, model_dir: str, seed: int, name: str, *extra: str) -> dict:
        out = os.path.join(self.args.work, f"{name}.safetensors")
        if self.args.no_rust:
            print(f"  candle: stored {out}")
            return load_file(out)
        cmd = [self.args.bin, model_dir, str(seed), out, *extra]
        t = time.time()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        print(f"  candle: {' '.join(cmd[1:])} ({time.time() - t:.1f} s)")
        return load_file(out)

    def compare(self, label: str, model: VasaUNet, ref: dict) -> None:
        """Eval and train logits of the twin on candle's input against candle's."""
        dev = self.args.device
        x = ref["input"].to(dev)
        with torch.no_grad():
            self.record(f"{label} eval", copy.deepcopy(model).to(dev).eval()(x).cpu(), ref["logits"])
            self.record(f"{label} train", copy.deepcopy(model).to(dev).train()(x).cpu(), ref["logits_train"])


    def record_value(self, label: str, diff: float, tol: float) -> None:
        if math.isnan(diff):
            diff = math.inf
        print(f"  {'ok  ' if diff <= tol else 'FAIL'} {label}: {diff:.3g} (tolerance {tol:g})")
        self.rows.append((label, diff, tol))

    def train_step(self, label: str, model: VasaUNet, ref: dict) -> None:
        """Loss, gradients and one AdamW step against candle's (`--train-step` outputs)."""
        dev, tol = self.args.device, self.args.tol
        target = ref["target"].long()
        want = ref["loss"]
        got = dice_ce_loss(ref["logits_train"], target)
        self.record_value(f"{label} loss on candle's logits |diff|",
                          max(abs(got[i].item() - want[i].item()) for i in range(3)), tol)
        m = copy.deepcopy(model).to(dev).train()
        own = dice_ce_loss(m(ref["input"].to(dev)), target.to(dev))
        own.total.backward()
        self.record_value(f"{label} loss, twin forward |diff|", abs(own.total.item() - want[0].item()), tol)
        rel = 0.0
        for n, p in m.named_parameters():
            g = ref[f"grad.{n}"]
            rel = max(rel, (p.grad.cpu() - g).abs().max().item() / max(g.abs().max().item(), 1e-30))
        self.record_value(f"{label} gradients, max per-tensor relative |diff|", rel, self.args.grad_tol)
        # The optimiser alone: candle's weights and gradients in, candle's updated weights out.
        m = copy.deepcopy(model).to(dev)
        with torch.no_grad():
            for n, p in m.named_parameters():
                p.copy_(ref[f"before.{n}"])
                p.grad = ref[f"grad.{n}"].to(dev)
        opt = CandleAdamW(m, weight_decay=STEP_WD, max_grad_norm=STEP_CLIP)
        norm = opt.step(STEP_LR)
        self.record_value(f"{label} gradient norm |diff| (candle {want[3].item():.3g}, clip {STEP_CLIP})",
                          abs(norm - want[3].item()), tol)
        after = max((p.detach().cpu() - ref[f"after.{n}"]).abs().max().item() for n, p in m.named_parameters())
        self.record_value(f"{label} AdamW step (lr {STEP_LR}, wd {STEP_WD}) weights |diff|", after, tol)


# One training step's settings: large enough that weight decay and clipping show.
STEP_LR, STEP_WD, STEP_CLIP = 0.01, 0.1, 1.0
STEP_ARGS = ("--train-step", str(STEP_LR), "--weight-decay", str(STEP_WD), "--clip", str(STEP_CLIP))


def write_config(path: str, cfg: dict) -> str:
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return path


def randomise(model: VasaUNet, seed: int) -> None:
    """Twin-side random weights with nothing trivial: He-like weights, non-zero biases, norm affines
    away from 1 / 0, then running statistics moved by train-mode passes on shifted, scaled input."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("position"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            elif p.dim() >= 2:
                fan_in = p[0].numel() if not name.startswith("up") else p.shape[0] * 8
                p.copy_(torch.randn(p.shape, generator=g) * math.sqrt(2.0 / fan_in))
            elif name.endswith("weight"):  # batch / layer norm scale
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        model.train()
        c = model.config
        for _ in range(3):
            x = torch.randn(2, c.in_channels, *c.patch_size, generator=g) * 1.7 + 0.3
            model(x)
    model.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--grad-tol", type=float, default=1e-3, help="relative, per tensor")
    ap.add_argument("--work", default=os.path.join("/tmp", "vasa-twin-check"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "twin_reference"))
    ap.add_argument("--no-build", action="store_true", help="use --bin as it is")
    ap.add_argument("--no-rust", action="store_true", help="reuse the candle outputs stored in --work")
    ap.add_argument("--device", default="cpu", help="where the twin runs (cpu, cuda)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--small", action="store_true", help="leave out the shipped model's 64^3 cases")
    ap.add_argument("--model", default=None, help="check this model folder only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(args.work, exist_ok=True)
    if not args.no_build and not args.no_rust:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "vasa-inference", "--example", "twin_reference"],
                       cwd=ROOT, check=True)
    ck = Checker(args)
    print(f"torch {torch.__version__} on {args.device}, tolerance {args.tol:g}, work folder {args.work}")

    # 1. The shipped model (trained weights, 64^3 patch: native position grid; 32^3: resized).
    if args.model:
        print(f"model folder {args.model}")
        ref = ck.reference(args.model, 51, "model_check")
        ck.compare("candle->twin, the folder's weights", load_model_dir(args.model), ref)
        failed = [label for label, d, tol in ck.rows if not d <= tol]
        print(f"{len(ck.rows)} comparisons: " + ("PASS" if not failed else f"FAIL ({'; '.join(failed)})"))
        return 1 if failed else 0

    print("shipped model (assets/model)")
    for patch, seed in (("64", 11), ("32", 12)):
        if args.small and patch == "64":
            continue
        ref = ck.reference(SHIPPED, seed, f"shipped_{patch}", "--patch", patch)
        ck.compare(f"(a) shipped candle->twin {patch}^3", load_model_dir(SHIPPED), ref)
    if not args.small:
        twin = VasaUNet(NetworkConfig.load(os.path.join(SHIPPED, "config.json")))
        randomise(twin, 1)
        weights = os.path.join(args.work, "shipped_twin_random.safetensors")
        if args.no_rust:
            load_safetensors(twin, weights)  # the very weights candle was given
        else:
            save_safetensors(twin, weights)
        ref = ck.reference(SHIPPED, 13, "shipped_twin", "--weights", weights, "--patch", "64")
        ck.compare("(b) shipped-config twin->candle 64^3", twin, ref)

    # 2. A fresh candle network (init_model's: default config, seed 1), statistics moved by
    #    3 train-mode passes, saved by Rust; and the twin's own seeded init against it.
    print("fresh network (NetworkConfig::default(), Model::new(seed 1))")
    cfg_dir = write_config(os.path.join(args.work, "default_cfg"), DEFAULT)
    saved = os.path.join(args.work, "default_init")
    ref = ck.reference(cfg_dir, 21, "default_init", "--init", "1", "--warm", "3", "--save", saved, "--patch", "32")
    ck.compare("(a) fresh candle->twin 32^3", load_model_dir(saved), ref)
    mine = candle_state(new_model(NetworkConfig.from_dict(DEFAULT), 1))
    theirs = load_file(os.path.join(saved, "model.safetensors"))
    diff = max((mine[k] - theirs[k]).abs().max().item() for k in mine if "running" not in k)
    ck.record_value("twin seeded_init == Model::new (seed 1): max |diff|", diff, args.tol)

    # 3. A cascade-style fine stage (in_channels 4, non-cubic patch), both directions,
    #    on the native patch and on a resized position grid.
    print("cascade fine stage (in_channels 4, patch 32x16x24)")
    cfg_dir = write_config(os.path.join(args.work, "cascade_cfg"), CASCADE)
    saved = os.path.join(args.work, "cascade_init")
    ref = ck.reference(cfg_dir, 31, "cascade_init", "--init", "5", "--warm", "2", "--save", saved)
    ck.compare("(a) cascade candle->twin 32x16x24", load_model_dir(saved), ref)
    ref = ck.reference(saved, 32, "cascade_init_resized", "--patch", "16,32,16")
    ck.compare("(a) cascade candle->twin 16x32x16", load_model_dir(saved), ref)
    twin = VasaUNet(NetworkConfig.from_dict(CASCADE))
    randomise(twin, 2)
    twin_dir = os.path.join(args.work, "cascade_twin")
    if args.no_rust:
        twin = load_model_dir(twin_dir)
    else:
        save_model_dir(twin, twin_dir)  # config.json + model.safetensors, loaded by Rust as a folder
    ref = ck.reference(twin_dir, 33, "cascade_twin")
    ck.compare("(b) cascade twin->candle 32x16x24", twin, ref)
    ref = ck.reference(twin_dir, 34, "cascade_twin_resized", "--patch", "16,32,16")
    ck.compare("(b) cascade twin->candle 16x32x16", twin, ref)

    # 4. One training step: the shipped weights at 32^3, and the cascade twin's weights.
    print(f"training step (loss, gradients, AdamW; clip {STEP_CLIP}, weight decay {STEP_WD})")
    ref = ck.reference(SHIPPED, 41, "shipped_step", "--patch", "32", *STEP_ARGS)
    ck.train_step("shipped 32^3", load_model_dir(SHIPPED), ref)
    ref = ck.reference(twin_dir, 42, "cascade_twin_step", *STEP_ARGS)
    ck.train_step("cascade twin", twin, ref)

    failed = [label for label, d, tol in ck.rows if not d <= tol]
    print(f"{len(ck.rows)} comparisons: " + ("PASS" if not failed else f"FAIL ({'; '.join(failed)})"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
