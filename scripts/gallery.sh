#!/usr/bin/env bash
# The README gallery: the phantom beside the real chest CTs of ../shared/data
# at the same levels, mediastinal and lung windows (inference/examples/gallery.rs).
# Writes assets/gallery/{axial-levels,coronal-sagittal,contrast-slab}.png.
# Run from the repository root; extra arguments go to the example
# (e.g. --seed 2, --phase venous, --contact for contact sheets of the real scans).
set -euo pipefail
cd "$(dirname "$0")/.."

out=assets/gallery
mkdir -p "$out"
cargo build --release -p vasa-inference --example gallery
./target/release/examples/gallery "$out" --data ../shared/data "$@"
