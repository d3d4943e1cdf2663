#!/usr/bin/env bash
# The tree stage's figures (issue 15) on held-out phantoms, plain and
# arterial: per case, before and after the stage, the share of each
# pulmonary class in its largest piece, Dice (artery, vein, aorta), true
# artery called vein and back, clDice, and the stage's time.
#
#   bash scripts/eval-tree.sh [MODEL] [OUT] [SEEDS]
#
# MODEL defaults to the shipped model, OUT to /tmp/vasa-eval-tree, SEEDS to
# "900003 900004" (held out: training uses seeds 1–32, validation 901–902).
# The network runs once per case, model and build (cached in OUT); the stage is
# applied to the cached result by the `tree_file` example.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-assets/model}
out=${2:-/tmp/vasa-eval-tree}
seeds=${3:-900003 900004}
cargo build --release --bin vasa -p vasa -q
cargo build --release -p vasa-inference --example tree_file -q
# The cache holds the pipeline's output before the tree stage: key it by the
# weights and by the build (any change to the refinement or the thorax check
# rebuilds the example), never by the model's path alone.
tag=$(cat "$model/model.safetensors" "$model"/coarse/model.safetensors target/release/examples/tree_file 2>/dev/null | md5sum | cut -c1-8)
mkdir -p "$out"
for seed in $seeds; do
  for phase in plain arterial; do
    case_dir=$out/phantom-$seed-$phase
    [ -f "$case_dir/labels.nii.gz" ] || target/release/vasa phantom --seed "$seed" --phase "$phase" --out "$case_dir" > /dev/null
    echo "== seed $seed $phase, model $model"
    target/release/examples/tree_file "$case_dir/ct.nii.gz" "$model" "$case_dir/cache-$tag" "$case_dir/labels.nii.gz" \
      | grep -E "^(tree stage|before|after)"
  done
done
