#!/usr/bin/env bash
# Unpacks the .deb and the portable archive into scratch roots and runs the
# unpacked binary there with a clean environment: --version, `vasa info` on
# a real scan, `vasa segment` on a phantom (its model found beside the
# binary / in ../share/vasa). Run packaging/build.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/packages
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
deb=$(ls "$out"/vasa_*_amd64.deb)
tgz=$(ls "$out"/vasa-*-linux-x86_64.tar.gz)
dpkg-deb -x "$deb" "$scratch/deb"
mkdir -p "$scratch/tgz" && tar -C "$scratch/tgz" -xzf "$tgz"
scan=$(realpath ../shared/data/ct-abdomen-3mm.nii.gz)
target/release/vasa phantom --seed 3 --fov slab:30 --thickness 3 --out "$scratch/phantom" >/dev/null
for bin in "$scratch/deb/usr/bin/vasa" "$scratch"/tgz/vasa-*/vasa; do
  echo "== $bin"
  env -i HOME="$scratch/home" PATH=/usr/bin:/bin "$bin" --version
  env -i HOME="$scratch/home" PATH=/usr/bin:/bin "$bin" info "$scan" | head -3
  env -i HOME="$scratch/home" PATH=/usr/bin:/bin "$bin" segment "$scratch/phantom/ct.nii.gz" -o "$scratch/labels.nii.gz" > "$scratch/segment.log"
  grep -E "^(wrote|model|  (artery|vein|aorta))" "$scratch/segment.log"
  test -s "$scratch/labels.nii.gz"
  # The model comes from the package, not the source tree the binary was built in.
  model=$(sed -n 's/^model //p' "$scratch/segment.log")
  case "$(realpath "$model")" in
    "$scratch"/*) ;;
    *) echo "the unpacked binary used $model, outside its package" >&2; exit 1 ;;
  esac
  rm "$scratch/labels.nii.gz"
done
echo "packages ok"
