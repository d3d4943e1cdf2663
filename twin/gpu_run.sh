#!/usr/bin/env bash
# GPU training of the twin in one command (see twin/README.md, "Training on the GPU").
#
#   bash twin/gpu_run.sh prepare          here, once before a GPU session: builds patch_stream and
#                                         twin_reference, strips patch_stream into
#                                         target/gpu-carry/, and writes the candle reference
#                                         outputs of `check_twin.py --small` to
#                                         target/gpu-carry/twin-check/ (carry: target/gpu-carry)
#   bash twin/gpu_run.sh run [options]    on the GPU machine (or on CPU, tiny, as a smoke test)
#
# run options (defaults: the v2 recipe's coarse stage, 8 minutes):
#   --minutes M           wall clock for everything after the start of this script (default 8)
#   --stage S             single | coarse | fine (default coarse)
#   --coarse-model DIR    the coarse stage feeding --stage fine
#   --resume DIR          continue a checkpoint folder (Rust's or a previous run's checkpoint/):
#                         its config.json fixes network, spacing and normalisation
#   --seeds LIST          training phantom seeds (default 1-32)
#   --phases LIST         their phases, in turn (default plain,ctpa,arterial,venous)
#   --patch N             patch side (default 64)
#   --batch N             patches per step (default 32)
#   --amp none|bf16       forward pass precision (default none: f32 as in Rust)
#   --device D            cuda | cpu (default: cuda when torch sees it)
#   --workers N           patch_stream threads (default: cores - 1)
#   --skip-check          train even if check_twin.py fails (never use such weights)
#   --stream-args "..."   more arguments for patch_stream (e.g. "--shard-size 8 --val-patches 2")
#   --train-args "..."    more arguments for train_gpu.py (e.g. "--steps 5 --tf32 --val-every 50")
#
# Results go to $OUT (the device tool's folder; /tmp/vasa-gpu-out when unset), at most 5 files, so they
# all come back (8 files, 2 folders deep at most):
#   $OUT/gpu_run.log                     this script's whole output (check, stream, training)
#   $OUT/log.csv                         validation per "epoch", log.rs's columns
#   $OUT/model/config.json, model.safetensors   the last weights (Model::load reads the folder;
#                                        a fine stage's coarse/ is in the tarball)
#   $OUT/run.tar.gz                      the run folder: model/, best/, checkpoint/ (resumable by
#                                        `vasa train --resume`), log.csv, train.log, stream.log,
#                                        stream.json
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARRY=target/gpu-carry

if [ -x /tmp/twin-venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PYTHON=/tmp/twin-venv/bin/python; fi
PYTHON=${PYTHON:-python3}

what=${1:-}
shift || true

case $what in
prepare)
  set -e
  cargo build --release -p vasa-inference --example patch_stream
  cargo build --release -p vasa-inference --example twin_reference
  mkdir -p "$CARRY"
  strip -o "$CARRY/patch_stream" target/release/examples/patch_stream
  rm -rf "$CARRY/twin-check"
  "$PYTHON" twin/check_twin.py --small --no-build --work "$CARRY/twin-check"
  du -sh "$CARRY" "$CARRY"/*
  echo "carry: [\"$CARRY\"]"
  exit 0
  ;;
run) ;;
*)
  echo "usage: bash twin/gpu_run.sh prepare | run [options]  (see the header of this file)" >&2
  exit 2
  ;;
esac

minutes=8 stage=coarse coarse_model="" resume="" seeds=1-32 phases=plain,ctpa,arterial,venous
patch=64 batch=32 amp=none device="" workers="" skip_check=0 stream_args="" train_args=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --coarse-model) coarse_model=$2; shift 2 ;;
    --resume) resume=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --phases) phases=$2; shift 2 ;;
    --patch) patch=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --amp) amp=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --skip-check) skip_check=1; shift ;;
    --stream-args) stream_args=$2; shift 2 ;;
    --train-args) train_args=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

start=$(date +%s)
OUT=${OUT:-/tmp/vasa-gpu-out}
WORK=${WORK:-/tmp/vasa-gpu}
mkdir -p "$OUT" "$WORK"
# Shards in memory when /dev/shm is usable (up to --max-pending 32 shards of 32 MiB at 64^3).
if [ -z "${STREAM:-}" ]; then
  shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -w /dev/shm ] && [ "${shm_free:-0}" -gt 4194304 ]; then STREAM=/dev/shm/vasa-stream; else STREAM=$WORK/stream; fi
fi
RUN=$WORK/run
rm -rf "$STREAM" "$RUN"
mkdir -p "$STREAM" "$RUN"
exec > >(tee -a "$OUT/gpu_run.log") 2>&1
left() { echo $(( start + ${minutes%.*} * 60 - $(date +%s) )); }
echo "gpu_run: $(date -u) on $(hostname), $(nproc) cores, stage $stage, $minutes min, OUT=$OUT, stream $STREAM"
nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
if [ -z "$device" ]; then
  device=$("$PYTHON" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")') || exit 1
fi
"$PYTHON" -c 'import sys, torch, numpy, safetensors; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'

# The patch producer, started first: phantom loading overlaps the twin check.
ps_bin=$CARRY/patch_stream
[ -x "$ps_bin" ] || ps_bin=target/release/examples/patch_stream
if [ ! -x "$ps_bin" ]; then
  echo "no patch_stream binary: run 'bash twin/gpu_run.sh prepare' here and carry $CARRY" >&2
  exit 1
fi
cores=$(nproc)
workers=${workers:-$(( cores > 1 ? cores - 1 : 1 ))}
sargs=(--out "$STREAM" --phantom-seeds "$seeds" --phantom-phases "$phases" --val-seeds 901,902
       --val-phases plain,ctpa --patch "$patch" --seed 1 --threads "$workers" --workers "$workers"
       --max-pending 32 --deadline $(( ${minutes%.*} * 60 )))
if [ -n "$resume" ]; then
  sargs+=(--config "$resume/config.json")
  if [ -d "$resume/coarse" ]; then stage=fine; coarse_model=$resume/coarse; fi
fi
case $stage in
  single|coarse) sargs+=(--stage "$stage") ;;
  fine)
    [ -n "$coarse_model" ] || { echo "--stage fine needs --coarse-model DIR" >&2; exit 2; }
    sargs+=(--stage fine --coarse-model "$coarse_model" --context-dropout 0.2)
    [ -n "$resume" ] || sargs+=(--spacing 1.5) ;;
  *) echo "--stage is single, coarse or fine" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
sargs+=($stream_args)
echo "patch_stream ${sargs[*]}"
"$ps_bin" "${sargs[@]}" > "$RUN/stream.log" 2>&1 &
ps_pid=$!
finish() {
  kill "$ps_pid" 2>/dev/null && wait "$ps_pid" 2>/dev/null
  echo "--- patch_stream (last lines of $RUN/stream.log)"; tail -n 5 "$RUN/stream.log"
  cp "$STREAM/stream.json" "$RUN/" 2>/dev/null
  rm -rf "$STREAM"
  [ -f "$RUN/log.csv" ] && cp "$RUN/log.csv" "$OUT/"
  if [ -f "$RUN/model/model.safetensors" ]; then
    mkdir -p "$OUT/model" && cp "$RUN/model/config.json" "$RUN/model/model.safetensors" "$OUT/model/"
  fi
  tar -czf "$OUT/run.tar.gz" -C "$WORK" run && echo "packed $OUT/run.tar.gz ($(du -h "$OUT/run.tar.gz" | cut -f1))"
  echo "gpu_run: finished after $(( $(date +%s) - start )) s"
  sleep 1  # let tee write the log out
}
trap finish EXIT

# The twin against candle's stored outputs, on this device (TF32 off inside the check).
if [ -d "$CARRY/twin-check" ]; then
  echo "--- check_twin.py --no-rust --small --device $device"
  if ! "$PYTHON" twin/check_twin.py --no-rust --small --device "$device" --work "$CARRY/twin-check" --threads 1; then
    if [ "$skip_check" = 1 ]; then
      echo "CHECK FAILED: training anyway (--skip-check); do not use these weights"
    else
      echo "CHECK FAILED: the twin does not reproduce candle on $device; stopping"
      exit 1
    fi
  fi
else
  echo "no $CARRY/twin-check: skipping the twin check (run 'gpu_run.sh prepare' and carry $CARRY)"
  [ "$skip_check" = 1 ] || { echo "pass --skip-check to train without it" >&2; exit 1; }
fi

# Training until the deadline (minus a margin for packing).
budget=$(( $(left) - 15 ))
[ "$budget" -gt 30 ] || { echo "no time left to train ($budget s)"; exit 1; }
targs=(--stream "$STREAM" --out "$RUN" --device "$device" --seconds "$budget"
       --batch "$batch" --amp "$amp" --seed 1)
[ -n "$resume" ] && targs+=(--resume "$resume")
# shellcheck disable=SC2206
targs+=($train_args)
echo "--- train_gpu.py ${targs[*]}"
PYTHONUNBUFFERED=1 "$PYTHON" twin/train_gpu.py "${targs[@]}"
