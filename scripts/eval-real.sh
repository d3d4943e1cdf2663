#!/usr/bin/env bash
# Extraction on every real scan in ../shared/data: the self-check's
# plausibility figures (vessel voxels over bone, outside the lungs' per-slice
# hull, aorta volume, pieces per class), a PNG overlay per scan to look at,
# and the scores against lidc-0001's reference of the central vessels.
#
#   bash scripts/eval-real.sh [MODEL_DIR] [OUT_DIR]     (defaults: assets/model, runs/eval-real)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-assets/model}
out=${2:-runs/eval-real}
data=../shared/data
mkdir -p "$out"
build() { cargo build --release -q "$@" 2>"$out/build.log" || { cat "$out/build.log" >&2; exit 1; }; }
build -p vasa
build -p vasa-inference --example real_report

scans=(
  chest-plain-5mm/series-2
  chest-plain-5mm/series-3
  chest-contrast-slabs/lidc-0001
  chest-contrast-slabs/lidc-0002
  ct-abdomen-3mm.nii.gz
  ct-abdomen-dicom-j2k
)
printf '| scan | enhanced | over bone | outside lung hull | aorta mL (expected) | pieces ≥ 0.05 mL a/v/ao | warnings | time |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for s in "${scans[@]}"; do
  name=$(echo "$s" | tr '/' '-' | sed 's/\.nii\.gz$//')
  target/release/vasa segment "$data/$s" -o "$out/$name.nii.gz" --weights "$model" --json "$out/$name.json" \
    >"$out/$name.log" 2>&1 || { echo "| $s | failed: see $out/$name.log |"; continue; }
  ref=""
  [ "$s" = chest-contrast-slabs/lidc-0001 ] && ref="$data/chest-contrast-slabs/lidc-0001-reference.nii.gz"
  target/release/examples/real_report "$data/$s" "$out/$name.nii.gz" "$out/$name.png" $ref >"$out/$name.scores"
  jq -r --arg s "$s" '"| \($s) | \(.plausibility.enhanced) | \(.plausibility.over_bone*1000|round/10) % | \(.plausibility.outside_lung_hull*1000|round/10) % | \(.plausibility.aorta_ml|round) (\(.plausibility.aorta_range_ml[0]|round)–\(.plausibility.aorta_range_ml[1]|round)) | \(.plausibility.pieces|map(tostring)|join("/")) | \(.warnings|length) | \(.total_s|round) s |"' "$out/$name.json"
done
echo
echo "lidc-0001 against its reference (targets: aorta Dice ≥ 0.85, PA recall ≥ 0.80, PA called vein or aorta ≤ 0.10):"
cat "$out/chest-contrast-slabs-lidc-0001.scores" 2>/dev/null || echo "(no scores)"
echo "overlays: $out/*.png"
