#!/usr/bin/env bash
# Exports the report of a real scan (series-2 of ../shared/data, with the
# v2 labels from scripts/eval-real.sh and a sample plan) and screenshots it
# in headless Chromium, to look at: bash scripts/report-shot.sh OUT_DIR
# Needs Debian's chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: report-shot.sh OUT_DIR}
mkdir -p "$out"
scan=../shared/data/chest-plain-5mm/series-2
labels=runs/eval-real-v2/chest-plain-5mm-series-2.nii.gz
[ -f "$labels" ] || { echo "$labels missing: run scripts/eval-real.sh first" >&2; exit 1; }
cat > "$out/plan.json" <<'JSON'
{"format":"vasa-plan","version":1,"scan":"series-2",
 "lesion":{"centre_mm":[-80.0,140.0,-290.0],"diameter_mm":14.0},
 "applicators":[{"entry_mm":[-175.0,140.0,-290.0],"target_mm":[-80.0,140.0,-290.0],
   "setting":{"device":"microwave, 100 W","modality":"microwave","power_w":100.0,"time_min":2.0,
     "length_mm":28.0,"width_mm":20.0,"tissue":"in-vivo swine lung","source":"Acta Med Okayama 2022"}}],
 "margin_mm":5.0,"path_safety_mm":3.0,"rulers":[]}
JSON
target/release/vasa export --scan "$scan" --labels "$labels" --plan "$out/plan.json" \
  --report "$out/report.html" --force "${@:2}"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=1100,3200 \
  --screenshot="$out/report.png" "file://$(realpath "$out/report.html")"
echo "look at $out/report.png"
