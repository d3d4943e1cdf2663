#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI runs exactly this).
# One release profile serves the tests, the benches and the app, so the
# expensive dependency build happens once.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rustfmt"
cargo fmt --all -- --check

echo "== build"
cargo build --release --workspace --all-targets

echo "== clippy (warnings are errors)"
cargo clippy --release --workspace --all-targets -- -D warnings

echo "== fuzz targets compile"
cargo check --release --manifest-path fuzz/Cargo.toml --target-dir target

echo "== tests"
cargo test --release --workspace

echo "== packages (.deb and portable archive, unpacked and run in a scratch root)"
SKIP_BUILD=1 bash packaging/build.sh
bash packaging/test.sh
