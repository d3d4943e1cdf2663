#!/usr/bin/env python3
"""Trains the PyTorch twin on the patches `patch_stream` writes (see README.md).

    python twin/train_gpu.py --stream DIR --out RUN [--device cuda] [--minutes 8 | --steps N]
        [--batch 32] [--lr 2e-3] [--warmup 50] [--lr-floor 0.05] [--weight-decay 1e-4] [--clip 5]
        [--seed 1] [--resume CHECKPOINT_DIR] [--amp bf16] [--tf32] [--channels-last]
        [--val-every 100] [--save-every 60] [--replay 2048] [--keep-shards] [--threads N]

The stream folder (`inference/examples/patch_stream.rs`) holds `config.json` (the network,
spacing and z-score statistics `vasa train` would use), `val.safetensors` (the validation
patches `vasa train` cuts), `stream.json` (written once both are there) and, continuously,
`shard-NNNNNN.safetensors` (`x` f32 [N, C, D, H, W], already normalised; `y` u8 [N, D, H, W]).
A reader thread loads new shards in name order and deletes them (unless --keep-shards); each
batch takes unseen patches first and fills up from a replay buffer of the last --replay
patches when the producer lags (the share of reused patches is logged). At most --queue unseen
patches are held in memory; beyond that shards stay in the folder and the producer pauses.

The network starts as `vasa train --seed S` starts (`new_model(cfg, S)` == `Model::new`), or
from a Rust checkpoint (--resume: weights, AdamW moments, step, records; its config must match
the stream's). Each step: `dice_ce_loss`, backward, `CandleAdamW` with `learning_rate(step,
total, warmup, lr, floor)` -- loss.rs / optimizer.rs mirrored, `vasa train`'s defaults. With
--minutes / --seconds, `total` comes from the measured step rate (the mean since the third step,
validations included, re-estimated every step) so the cosine ends at the deadline; with --steps
it is fixed.

--amp bf16 runs the forward pass under bf16 autocast (the loss is computed in f32); --tf32
allows TF32 matmuls and convolutions. Both are off by default: f32 throughout, as in Rust.

Every --val-every steps and at the end: the loss (mean over batches of 2) and the hard Dice of
artery, vein and aorta over all validation patches, in eval mode, as validate.rs computes them,
one line of `log.csv` in log.rs's format; `best/` keeps the weights of the best mean Dice. At a
validation at least --save-every seconds after the last save, and at the end, it writes
`model/` (a Vasa model folder: `config.json` + `model.safetensors`, plus `coarse/` for a
cascade's fine stage) and `checkpoint/` (the same, plus `optimizer.safetensors` with the moments
as `m.NAME` / `v.NAME` and `state.json`: step, rng_state, best_dice, seconds, records) in the
layout `vasa train --resume` reads. The AdamW step count is the step in state.json. Output goes
to `train.log` in RUN too.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import queue
import random
import shutil
import sys
import threading
import time

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from vasa_twin import NetworkConfig, load_model_dir, new_model, save_model_dir  # noqa: E402
from vasa_twin.loss import CandleAdamW, dice_ce_loss, learning_rate  # noqa: E402

M64 = (1 << 64) - 1
LOG_HEADER = "epoch,step,lr,train_loss,val_loss,dice_artery,dice_vein,dice_aorta,seconds"
VAL_BATCH = 2  # validate.rs BATCH


def mix64(x: int) -> int:
    """rng.rs `mix64` (SplitMix64 finaliser)."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def initial_rng_state(seed: int) -> int:
    """`LoopState::new(seed).rng_state` = `Rng::new(seed ^ 0x7472_6169_6E).state()`."""
    return mix64((seed ^ 0x0074_7261_696E) ^ 0x5641_5341_5048_414E)


def rust_exp(v: float, digits: int = 3) -> str:
    """Rust's `{:.3e}`: `2.000e-3`, `1.500e0` (no '+', no leading zeros in the exponent)."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    mant, exp = f"{v:.{digits}e}".split("e")
    return f"{mant}e{int(exp)}"


def rust_fixed(v: float, digits: int) -> str:
    return "NaN" if math.isnan(v) else f"{v:.{digits}f}"


def log_line(r: dict) -> str:
    """log.rs `append`'s line for one EpochRecord."""
    d = r["dice"]
    return (f"{r['epoch']},{r['step']},{rust_exp(r['lr'])},{rust_fixed(r['train_loss'], 5)},"
            f"{rust_fixed(r['val_loss'], 5)},{rust_fixed(d[0], 4)},{rust_fixed(d[1], 4)},"
            f"{rust_fixed(d[2], 4)},{r['seconds']:.1f}")


def finite(v: float, default: float) -> float:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else default


class Log:
    def __init__(self, path: str):
        self.f = open(path, "a", buffering=1)

    def __call__(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.f.write(line + "\n")


class ShardFeed:
    """Reads shards as they appear and hands out batches: unseen patches first, then replays."""

    def __init__(self, stream: str, batch: int, replay: int, queue: int, consume: bool, log: Log):
        self.stream, self.batch, self.replay_max, self.consume, self.log = stream, batch, replay, consume, log
        self.queue_max = max(queue, 2 * batch)
        self.lock = threading.Condition()
        self.fresh = collections.deque()  # (x [C, D, H, W], y [D, H, W]) not yet trained on
        self.replay = []  # ring buffer of seen patches
        self.replay_pos = 0
        self.seen_shards = set()
        self.shards = 0
        self.patches_in = 0
        self.fresh_used = 0
        self.replayed = 0
        self.stop = False
        self.stream_done = False
        self.error = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while not self.stop:
                names = sorted(n for n in os.listdir(self.stream)
                               if n.startswith("shard-") and n.endswith(".safetensors") and n not in self.seen_shards)
                if not names:
                    if os.path.exists(os.path.join(self.stream, "DONE")):
                        # Nothing new, and the producer has stopped: look once more, then stop reading.
                        names = sorted(n for n in os.listdir(self.stream) if n.startswith("shard-")
                                       and n.endswith(".safetensors") and n not in self.seen_shards)
                        if not names:
                            with self.lock:
                                self.stream_done = True
                                self.lock.notify_all()
                            return
                    else:
                        time.sleep(0.1)
                        continue
                for n in names:
                    # Back-pressure: while enough unseen patches wait here, shards stay on disk,
                    # and the producer pauses at its --max-pending.
                    with self.lock:
                        while len(self.fresh) >= self.queue_max and not self.stop:
                            self.lock.wait(0.5)
                    if self.stop:
                        return
                    path = os.path.join(self.stream, n)
                    t = load_file(path)
                    self.seen_shards.add(n)
                    if self.consume:
                        os.remove(path)
                    x, y = t["x"], t["y"]
                    with self.lock:
                        for i in range(x.shape[0]):
                            self.fresh.append((x[i], y[i]))
                        self.shards += 1
                        self.patches_in += x.shape[0]
                        self.lock.notify_all()
                    if self.stop:
                        return
        except Exception as e:  # noqa: BLE001 -- reported by next_batch
            with self.lock:
                self.error = e
                self.lock.notify_all()

    def next_batch(self, timeout: float):
        """A list of `batch` (x, y); waits (up to `timeout` s) only while nothing at all is there."""
        end = time.monotonic() + timeout
        with self.lock:
            while not self.fresh and not self.replay:
                if self.error is not None:
                    raise RuntimeError(f"reading shards failed: {self.error}")
                if self.stream_done:
                    raise RuntimeError("the patch stream stopped before writing any shard")
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no shard arrived in time")
                self.lock.wait(min(left, 1.0))
            out = []
            while self.fresh and len(out) < self.batch:
                item = self.fresh.popleft()
                out.append(item)
                self._remember(item)
            self.fresh_used += len(out)
            self.lock.notify_all()
            while len(out) < self.batch:
                out.append(self.replay[random.randrange(len(self.replay))])
                self.replayed += 1
            return out

    def _remember(self, item) -> None:
        if self.replay_max <= 0:
            if not self.replay:
                self.replay.append(item)  # keep one so a lagging producer never stalls training
            else:
                self.replay[0] = item
            return
        if len(self.replay) < self.replay_max:
            self.replay.append(item)
        else:
            self.replay[self.replay_pos] = item
            self.replay_pos = (self.replay_pos + 1) % self.replay_max

    def close(self) -> None:
        self.stop = True


class Batches:
    """Assembles the next batches in a thread (into pinned buffers on CUDA) while the GPU works."""

    SLOTS = 4  # 2 queued + 1 in use + 1 being filled; every step synchronises (loss.item()), so a
    # slot is free again long before it comes round

    def __init__(self, feed: ShardFeed, pin: bool):
        self.feed, self.pin = feed, pin
        self.q = queue.Queue(maxsize=self.SLOTS - 2)
        self.buffers = [None] * self.SLOTS
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        n = 0
        while not self.stop:
            try:
                items = self.feed.next_batch(3600.0)
                x = [it[0] for it in items]
                y = [it[1] for it in items]
                slot = n % self.SLOTS
                if self.buffers[slot] is None:
                    bx = torch.empty((len(x),) + tuple(x[0].shape), dtype=x[0].dtype, pin_memory=self.pin)
                    by = torch.empty((len(y),) + tuple(y[0].shape), dtype=y[0].dtype, pin_memory=self.pin)
                    self.buffers[slot] = (bx, by)
                bx, by = self.buffers[slot]
                torch.stack(x, out=bx)
                torch.stack(y, out=by)
                n += 1
                item = (bx, by)
            except Exception as e:  # noqa: BLE001 -- handed to the training loop
                item = e
            while not self.stop:
                try:
                    self.q.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if isinstance(item, Exception):
                return

    def get(self, timeout: float):
        item = self.q.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        self.stop = True


def wait_for(path: str, stream: str, timeout: float, log: Log) -> None:
    end = time.monotonic() + timeout
    said = False
    while not os.path.exists(path):
        done = os.path.join(stream, "DONE")
        if os.path.exists(done):
            raise RuntimeError(f"the patch stream stopped without writing {path}: {open(done).read().strip()}")
        if time.monotonic() > end:
            raise TimeoutError(f"{path} did not appear within {timeout:.0f} s")
        if not said:
            log(f"waiting for {path} (phantoms are loading)")
            said = True
        time.sleep(0.5)


def configs_match(a: NetworkConfig, b: NetworkConfig) -> list:
    da, db = a.to_dict(), b.to_dict()
    return [k for k in sorted(set(da) | set(db)) if k != "patch_size" and da.get(k) != db.get(k)]


@torch.no_grad()
def validate(model, vx, vy, device, channels_last: bool):
    """validate.rs `evaluate`: mean loss over batches of 2, hard Dice of classes 1..3 over all."""
    if vx is None or vx.shape[0] == 0:
        return float("nan"), [float("nan")] * 3
    was = model.training
    model.eval()
    counts = torch.zeros(3, 3, dtype=torch.float64)
    losses = []
    for i in range(0, vx.shape[0], VAL_BATCH):
        x = vx[i:i + VAL_BATCH].to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        y = vy[i:i + VAL_BATCH].to(device).long()
        logits = model(x).float()
        losses.append(dice_ce_loss(logits, y).total.item())
        pred = logits.argmax(1)
        for c in (1, 2, 3):
            pc, tc = pred == c, y == c
            counts[c - 1, 0] += (pc & tc).sum().item()
            counts[c - 1, 1] += (pc & ~tc).sum().item()
            counts[c - 1, 2] += (~pc & tc).sum().item()
    model.train(was)
    dice = []
    for tp, fp, fn in counts.tolist():
        denom = 2 * tp + fp + fn
        dice.append(1.0 if denom == 0 else 2 * tp / denom)
    return sum(losses) / len(losses), dice


def copy_coarse(src_dir: str, dst_dir: str) -> None:
    if src_dir and os.path.isdir(src_dir):
        to = os.path.join(dst_dir, "coarse")
        os.makedirs(to, exist_ok=True)
        for f in ("config.json", "model.safetensors"):
            shutil.copyfile(os.path.join(src_dir, f), os.path.join(to, f))


def save_model(model, directory: str, coarse_dir: str) -> None:
    tmp = directory + ".new"
    shutil.rmtree(tmp, ignore_errors=True)
    save_model_dir(model, tmp)
    copy_coarse(coarse_dir, tmp)
    old = directory + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(directory):
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(run: str, model, opt: CandleAdamW, state: dict, coarse_dir: str) -> None:
    """checkpoint.rs `save`: checkpoint.new/ written, then swapped in by renames."""
    new = os.path.join(run, "checkpoint.new")
    shutil.rmtree(new, ignore_errors=True)
    save_model_dir(model, new)
    copy_coarse(coarse_dir, new)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in sorted(opt.state_tensors().items())}
    save_file(tensors, os.path.join(new, "optimizer.safetensors"))
    with open(os.path.join(new, "state.json"), "w") as f:
        json.dump(state, f, indent=2)
    cur, old = os.path.join(run, "checkpoint"), os.path.join(run, "checkpoint.old")
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(cur):
        os.replace(cur, old)
    os.replace(new, cur)
    shutil.rmtree(old, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stream", required=True, help="patch_stream's --out folder")
    ap.add_argument("--out", required=True, help="run folder (model/, best/, checkpoint/, log.csv, train.log)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--minutes", type=float, default=8.0, help="wall-clock budget from the start of this script")
    ap.add_argument("--seconds", type=float, default=0.0, help="the budget in seconds (overrides --minutes)")
    ap.add_argument("--steps", type=int, default=0, help="fixed number of steps to run (overrides the deadline "
                    "for the schedule; the deadline still stops the run)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--lr-floor", type=float, default=0.05)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", default=None, help="a Rust (or train_gpu) checkpoint folder to continue")
    ap.add_argument("--amp", choices=["none", "bf16"], default="none")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--val-every", type=int, default=100, help="steps per 'epoch' (validation, log line)")
    ap.add_argument("--save-every", type=float, default=60.0, help="seconds between saves (at validations)")
    ap.add_argument("--replay", type=int, default=2048, help="patches kept for reuse when the producer lags")
    ap.add_argument("--queue", type=int, default=512, help="unseen patches held in memory at most")
    ap.add_argument("--keep-shards", action="store_true", help="do not delete shards once read")
    ap.add_argument("--wait", type=float, default=900.0, help="seconds to wait for the stream's first files")
    ap.add_argument("--reserve", type=float, default=20.0, help="seconds kept for the final validation and save")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--log-every", type=int, default=10)
    args = ap.parse_args()

    t0 = time.monotonic()
    deadline = t0 + (args.seconds if args.seconds > 0 else args.minutes * 60.0)
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        log(f"torch {torch.__version__}, {torch.cuda.get_device_name(dev)}, amp {args.amp}, tf32 {args.tf32}")
    else:
        log(f"torch {torch.__version__} on {dev}, {torch.get_num_threads()} threads, amp {args.amp}")
    torch.manual_seed(args.seed)
    random.seed(args.seed)

    wait_for(os.path.join(args.stream, "stream.json"), args.stream,
             min(args.wait, deadline - args.reserve - time.monotonic()), log)
    cfg = NetworkConfig.load(os.path.join(args.stream, "config.json"))
    with open(os.path.join(args.stream, "stream.json")) as f:
        info = json.load(f)
    log(f"stream: {info['plain_volumes']} plain + {info['enhanced_volumes']} enhanced volumes, stage "
        f"{info['stage']}, spacing {info['spacing_mm']}, z-score {cfg.norm_mean:.1f} / {cfg.norm_std:.1f}, "
        f"patch {cfg.patch_size}, {info['channels']} channels, ready after {info['load_seconds']:.0f} s "
        f"(waited {time.monotonic() - t0:.0f} s)")
    coarse_dir = os.path.join(args.stream, "coarse") if cfg.context is not None else ""

    # Model, optimiser, loop state.
    state = {"step": 0, "rng_state": initial_rng_state(args.seed), "best_dice": None, "seconds": 0.0,
             "records": []}
    if args.resume:
        model = load_model_dir(args.resume)
        bad = configs_match(model.config, cfg)
        if bad:
            raise SystemExit(f"--resume {args.resume}: its config differs from the stream's in {bad}")
        with open(os.path.join(args.resume, "state.json")) as f:
            state.update(json.load(f))
        if cfg.context is not None and os.path.isdir(os.path.join(args.resume, "coarse")):
            coarse_dir = os.path.join(args.resume, "coarse")
        log(f"resumed {args.resume} at step {state['step']}")
    else:
        model = new_model(cfg, args.seed)
    model = model.to(dev).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    opt = CandleAdamW(model, weight_decay=args.weight_decay, max_grad_norm=args.clip)
    if args.resume:
        opt.load_state_tensors(load_file(os.path.join(args.resume, "optimizer.safetensors"), device=str(dev)),
                               int(state["step"]))
    best = finite(state.get("best_dice"), -math.inf)

    vx = vy = None
    val_path = os.path.join(args.stream, "val.safetensors")
    if os.path.exists(val_path):
        v = load_file(val_path)
        vx, vy = v["x"], v["y"]
        log(f"validation: {vx.shape[0]} patches")
    else:
        log("no validation patches: Dice is NaN")

    feed = ShardFeed(args.stream, args.batch, args.replay, args.queue, not args.keep_shards, log)
    batches = Batches(feed, dev.type == "cuda")
    ctx_amp = (lambda: torch.autocast(device_type=dev.type, dtype=torch.bfloat16)) if args.amp == "bf16" \
        else (lambda: torch.autocast(device_type=dev.type, enabled=False))
    start_step = int(state["step"])
    step = start_step
    total = args.steps + start_step if args.steps > 0 else None
    rate_mark = None  # (time, step) after the first steps (cuDNN autotuning, allocations)
    rate = None
    epoch_losses = []
    last_save = time.monotonic()
    seconds0 = float(state.get("seconds", 0.0))
    session_t0 = time.monotonic()
    x_pin = None
    last_lr = args.lr

    def estimate_total() -> int:
        nonlocal rate
        if rate_mark is None or step - rate_mark[1] < 5:
            return max(step + 1, args.warmup + 1)
        rate = (step - rate_mark[1]) / (time.monotonic() - rate_mark[0])
        left = max(deadline - args.reserve - time.monotonic(), 0.0)
        return max(step + int(rate * left), step + 1)

    def record_epoch(final: bool) -> None:
        nonlocal best, epoch_losses, last_save
        vloss, dice = validate(model, vx, vy, dev, args.channels_last)
        rec = {"epoch": -(-step // args.val_every), "step": step, "lr": last_lr,
               "train_loss": sum(epoch_losses) / max(len(epoch_losses), 1), "val_loss": vloss, "dice": dice,
               "seconds": seconds0 + time.monotonic() - session_t0}
        epoch_losses = []
        new_file = not os.path.exists(os.path.join(args.out, "log.csv"))
        with open(os.path.join(args.out, "log.csv"), "a") as f:
            if new_file:
                f.write(LOG_HEADER + "\n")
            f.write(log_line(rec) + "\n")
        # state.json must stay readable by serde (no NaN): non-finite values become 0.
        state["records"].append({**rec, "val_loss": finite(vloss, 0.0), "dice": [finite(d, 0.0) for d in dice]})
        mean = sum(dice) / 3
        if math.isfinite(mean) and mean > best:
            best = mean
            save_model(model, os.path.join(args.out, "best"), coarse_dir)
        log(f"epoch {rec['epoch']} (step {step}): train loss {rec['train_loss']:.4f}, val loss {vloss:.4f}, "
            f"val Dice artery {dice[0]:.3f} vein {dice[1]:.3f} aorta {dice[2]:.3f}, best {best:.3f}; "
            f"patches: {feed.patches_in} read from {feed.shards} shards, {feed.fresh_used} trained fresh, "
            f"{feed.replayed} replayed")
        if final or time.monotonic() - last_save >= args.save_every:
            save_all()
            last_save = time.monotonic()

    def save_all() -> None:
        t = time.monotonic()
        save_model(model, os.path.join(args.out, "model"), coarse_dir)
        st = dict(state)
        st["step"] = step
        # The Rust loop's patch stream continues from a fresh position, not the one worker 0 of
        # patch_stream already used.
        st["rng_state"] = mix64(initial_rng_state(args.seed) ^ mix64(step))
        st["best_dice"] = best if math.isfinite(best) else -1.0
        st["seconds"] = seconds0 + time.monotonic() - session_t0
        save_checkpoint(args.out, model, opt, st, coarse_dir)
        log(f"saved model/ and checkpoint/ at step {step} ({time.monotonic() - t:.1f} s)")

    log(f"training: batch {args.batch}, lr {args.lr} (warm-up {args.warmup}, floor {args.lr_floor}), "
        f"AdamW wd {args.weight_decay} clip {args.clip}, "
        + (f"{args.steps} steps" if args.steps else f"until {(deadline - t0) / 60:.1f} min after start"))
    try:
        while True:
            now = time.monotonic()
            if now >= deadline - args.reserve:
                log("deadline reached")
                break
            if total is not None and step >= total:
                break
            try:
                xb, yb = batches.get(max(deadline - args.reserve - now, 1.0))
            except queue.Empty:
                log("no batch arrived before the deadline")
                break
            xb = xb.to(dev, non_blocking=True)
            yb = yb.to(dev, non_blocking=True)
            if args.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last_3d)
            yb = yb.long()
            if args.steps == 0 and (step - start_step) in (3,):
                rate_mark = (time.monotonic(), step)
            tot = total if total is not None else estimate_total()
            lr = learning_rate(step, tot, args.warmup, args.lr, args.lr_floor)
            for p in model.parameters():
                p.grad = None
            with ctx_amp():
                logits = model(xb)
            loss = dice_ce_loss(logits.float(), yb)
            loss.total.backward()
            norm = opt.step(lr)
            value = loss.total.item()
            step += 1
            last_lr = lr
            epoch_losses.append(value)
            if step % args.log_every == 0 or step == start_step + 1:
                el = time.monotonic() - session_t0
                log(f"step {step}/{tot} loss {value:.4f} (ce {loss.cross_entropy.item():.4f}, dice "
                    f"{loss.soft_dice.item():.4f}) lr {lr:.2e} |g| {norm:.2f}; "
                    f"{(step - start_step) / el:.2f} steps/s, {(step - start_step) * args.batch / el:.1f} patches/s; "
                    f"fresh {feed.fresh_used}, replayed {feed.replayed}, queued {len(feed.fresh)}")
            if step % args.val_every == 0:
                record_epoch(final=False)
    finally:
        batches.close()
        feed.close()
    if step > start_step:
        if step % args.val_every != 0:
            record_epoch(final=True)
        else:
            save_all()
    el = time.monotonic() - session_t0
    log(f"done: {step - start_step} steps in {el:.0f} s ({(step - start_step) * args.batch / max(el, 1e-9):.1f} "
        f"patches/s), {feed.fresh_used} fresh and {feed.replayed} replayed patches, best mean Dice {best:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
