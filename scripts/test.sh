#!/usr/bin/env bash
# The test command (README): on a fresh Debian/Ubuntu machine it installs what the tests need —
# Mesa's lavapipe (software Vulkan, so the WGSL shaders really run) and Xvfb (the app's smoke
# test) — then builds once in release and runs every test and the app smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(mesa-vulkan-drivers libvulkan1 vulkan-tools xvfb xauth x11-apps xdotool imagemagick)
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "test.sh: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A private runtime dir silences Vulkan's XDG_RUNTIME_DIR warning.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d)"
  export XDG_RUNTIME_DIR
fi
chmod 700 "$XDG_RUNTIME_DIR"
vulkaninfo --summary 2>/dev/null | grep -E "deviceName|driverName" || echo "test.sh: no Vulkan device listed"

# The UI-free library and headless CLI build without the app (the compiler keeps the engine UI-free).
# First: this build writes target/release/celltwin without the app, and the tests' default build
# below writes it back with the app for the smoke test.
cargo build --release --locked --no-default-features
cargo test --release --locked
if [ -f scripts/app_smoke.sh ]; then
  bash scripts/app_smoke.sh
fi
# A real scheduler: a single-node Slurm started by the script (root, apt). It writes /etc/slurm, so
# it runs here only under CI=true; run `bash scripts/slurm_test.sh` by hand elsewhere.
if [ "${CI:-}" = "true" ]; then
  bash scripts/slurm_test.sh
fi
