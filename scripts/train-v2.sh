#!/usr/bin/env bash
# The v2 model's training (phantom v2, drawn acquisitions, domain
# randomisation, coarse-to-fine cascade), resumable across sessions.
#
#   bash scripts/train-v2.sh run coarse|fine   train (resumes where the committed state left off)
#   bash scripts/train-v2.sh save coarse|fine  copy the run's resumable state into assets/ to commit
#
# The run lives in runs/v2-STAGE/ (ignored by git). Its resumable state
# (weights, optimiser moments, step, patch stream, log, best weights; ~7 MB)
# is committed under assets/model/train-state/v2-STAGE/; `run` copies it back
# into a fresh checkout before resuming. The recipe below is the contract:
# a resumed run must use the same arguments, so change them only with a new
# run name. Training is niced so builds and tests keep the cores.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:?usage: train-v2.sh run|save coarse|fine}
stage=${2:?usage: train-v2.sh run|save coarse|fine}
run=runs/v2-$stage
state=assets/model/train-state/v2-$stage
vasa=target/release/vasa

common=(--phantom-seeds 1-32 --phantom-phases plain,ctpa,arterial,venous
        --val-seeds 901,902 --val-phases plain,ctpa
        --epochs 60 --steps-per-epoch 100 --batch 2 --seed 1)
case $stage in
  coarse) args=(--stage coarse) ;;
  # The fine stage at 1.5 mm: 64³ windows see 96 mm, vessels to ~2 mm. Pinned,
  # since the drawn acquisitions' median spacing (~0.8 mm) would shrink the
  # windows to ~50 mm of anatomy.
  fine) args=(--stage fine --coarse-model runs/v2-coarse/best --context-dropout 0.2 --spacing 1.5) ;;
  *) echo "stage must be coarse or fine, not '$stage'" >&2; exit 2 ;;
esac

case $what in
  run)
    [ -x "$vasa" ] || cargo build --release --bin vasa
    if [ ! -d "$run/checkpoint" ] && [ -d "$state/checkpoint" ]; then
      mkdir -p "$run"
      cp -r "$state/." "$run/"
      echo "restored $run from $state (step $(grep -o '"step": *[0-9]*' "$run/checkpoint/state.json" | grep -o '[0-9]*$'))"
    fi
    if [ "$stage" = fine ] && [ ! -d runs/v2-coarse/best ] && [ -d assets/model/train-state/v2-coarse/best ]; then
      mkdir -p runs/v2-coarse && cp -r assets/model/train-state/v2-coarse/. runs/v2-coarse/
    fi
    resume=()
    [ -d "$run/checkpoint" ] && resume=(--resume)
    exec nice -n 15 "$vasa" train --out "$run" "${args[@]}" "${common[@]}" "${resume[@]}"
    ;;
  save)
    [ -d "$run/checkpoint" ] || { echo "$run has no checkpoint yet" >&2; exit 1; }
    rm -rf "$state.new"
    mkdir -p "$state.new"
    for f in checkpoint best log.csv curves.png; do
      [ -e "$run/$f" ] && cp -r "$run/$f" "$state.new/"
    done
    rm -rf "$state" && mv "$state.new" "$state"
    du -sh "$state"
    ;;
  *) echo "first argument must be run or save, not '$what'" >&2; exit 2 ;;
esac
