#!/usr/bin/env bash
# The test command (README): build once in release, run every test, then smoke-test the app.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked
if [ -x scripts/app_smoke.sh ]; then
  bash scripts/app_smoke.sh
fi
