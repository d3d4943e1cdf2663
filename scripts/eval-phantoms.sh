#!/usr/bin/env bash
# Evaluates a model on held-out phantoms (seeds never used in training), in
# the plain and CTPA phases, raw network and refined, with `vasa eval`.
#
#   bash scripts/eval-phantoms.sh [MODEL_DIR] [WORK_DIR] [SEEDS]
#
# MODEL_DIR defaults to assets/model, WORK_DIR to runs/eval, SEEDS to
# "1001 1002 1003 1004". Prints one table per phase and stage and writes
# WORK_DIR/<phase>-<raw|refined>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-assets/model}
work=${2:-runs/eval}
seeds=${3:-1001 1002 1003 1004}
vasa=target/release/vasa
[ -x "$vasa" ] || cargo build --release -p vasa
mkdir -p "$work"
for phase in plain ctpa; do
  mkdir -p "$work/$phase/truth" "$work/$phase/raw" "$work/$phase/refined"
  for seed in $seeds; do
    case="$phase-$seed"
    if [ ! -f "$work/$phase/truth/$case.nii.gz" ]; then
      "$vasa" phantom --seed "$seed" --phase "$phase" --out "$work/$phase/scan-$seed" > /dev/null
      cp "$work/$phase/scan-$seed/labels.nii.gz" "$work/$phase/truth/$case.nii.gz"
    fi
    "$vasa" segment "$work/$phase/scan-$seed/ct.nii.gz" --weights "$model" \
      -o "$work/$phase/refined/$case.nii.gz" --raw "$work/$phase/raw/$case.nii.gz" 2> /dev/null \
      | grep -E "^  (total|network) " | sed "s/^/$case /"
  done
  for stage in raw refined; do
    echo "== $phase, $stage =="
    "$vasa" eval --pred "$work/$phase/$stage" --truth "$work/$phase/truth" --json "$work/$phase-$stage.json"
  done
done
