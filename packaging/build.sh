#!/usr/bin/env bash
# Builds Vasa's packages into target/packages/:
#   vasa_VERSION_amd64.deb               (dpkg-deb: /usr/bin/vasa, /usr/share/vasa/model, desktop entry, icons, MIME types)
#   vasa-VERSION-linux-x86_64.tar.gz     (portable: the binary with model/ beside it, desktop entry, icons)
# No AppImage: appimagetool is neither a Debian package nor a crate.
# The binary finds its model beside itself (model/) or at ../share/vasa/model;
# the sample scan is generated, so nothing else ships.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(grep -m1 '^version' Cargo.toml | sed 's/.*"\(.*\)".*/\1/')
out=target/packages
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin vasa
rm -rf "$out" && mkdir -p "$out"

model_files() { # the shipped weights, not the training state
  local dest=$1
  mkdir -p "$dest"
  (cd assets/model && find . -path ./train-state -prune -o -type f -print) | while read -r f; do
    mkdir -p "$dest/$(dirname "$f")" && cp "assets/model/$f" "$dest/$f"
  done
}

# .deb
root=$out/deb-root
install -Dm755 target/release/vasa "$root/usr/bin/vasa"
strip --strip-debug "$root/usr/bin/vasa" 2>/dev/null || true
model_files "$root/usr/share/vasa/model"
install -Dm644 packaging/vasa.desktop "$root/usr/share/applications/vasa.desktop"
install -Dm644 packaging/vasa-mime.xml "$root/usr/share/mime/packages/vasa.xml"
for s in 48 128 256; do
  install -Dm644 "packaging/icons/vasa-$s.png" "$root/usr/share/icons/hicolor/${s}x$s/apps/vasa.png"
done
install -Dm644 README.md "$root/usr/share/doc/vasa/README.md"
printf 'Vasa %s\nLicense: MIT OR Apache-2.0\n' "$version" > "$root/usr/share/doc/vasa/copyright"
mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: vasa
Version: $version
Architecture: amd64
Maintainer: Vasa developers <vasa@example.invalid>
Depends: libc6, libvulkan1, mesa-vulkan-drivers | vulkan-icd, libxkbcommon-x11-0
Section: science
Priority: optional
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Description: planning viewer for thoracic CT
 Extracts the pulmonary arteries, veins and the aorta from chest CT,
 shows them in linked MPR slices and 3D, lets surgeons correct the labels,
 and plans and exports a lung ablation.
CONTROL
dpkg-deb --root-owner-group --build "$root" "$out/vasa_${version}_amd64.deb" >/dev/null
rm -rf "$root"

# Portable archive
name=vasa-$version-linux-x86_64
dir=$out/$name
install -Dm755 target/release/vasa "$dir/vasa"
strip --strip-debug "$dir/vasa" 2>/dev/null || true
model_files "$dir/model"
cp packaging/vasa.desktop packaging/vasa-mime.xml README.md "$dir/"
cp -r packaging/icons "$dir/icons"
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
rm -rf "$dir"
ls -la "$out"
