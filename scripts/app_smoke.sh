#!/usr/bin/env bash
# Smoke test of the desktop app under a virtual X server: start Xvfb, run `celltwin` for a few
# seconds, check that it is still alive, take a screenshot. Exits non-zero if the app died.
#
#   scripts/app_smoke.sh [BINARY] [SCREENSHOT]
#
# Needs: xvfb, imagemagick (`import`), a Vulkan or GL driver (mesa-vulkan-drivers gives lavapipe).
# Defaults: BINARY=$CARGO_TARGET_DIR/release/celltwin (or target/release/celltwin),
#           SCREENSHOT=app_smoke.png. APP_SMOKE_SECONDS (default 10) sets how long it runs.
set -euo pipefail

BIN="${1:-${CARGO_TARGET_DIR:-target}/release/celltwin}"
SHOT="${2:-app_smoke.png}"
WAIT="${APP_SMOKE_SECONDS:-10}"
DISP="${APP_SMOKE_DISPLAY:-:97}"

[ -x "$BIN" ] || { echo "app_smoke: no binary at $BIN (build with cargo build --release)" >&2; exit 2; }
command -v Xvfb >/dev/null || { echo "app_smoke: Xvfb is not installed" >&2; exit 2; }

LOG="$(mktemp)"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# A fresh place for eframe's kept session: the smoke run starts on the default scene, whatever a
# user of this machine last edited, and leaves nothing behind.
export XDG_DATA_HOME="$(mktemp -d)"
chmod 700 "$XDG_RUNTIME_DIR"

Xvfb "$DISP" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
APP_PID=""
cleanup() {
    [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
    kill "$XVFB_PID" 2>/dev/null || true
}
trap cleanup EXIT
sleep 1
kill -0 "$XVFB_PID" 2>/dev/null || { echo "app_smoke: Xvfb did not start on $DISP" >&2; exit 1; }

DISPLAY="$DISP" "$BIN" >"$LOG" 2>&1 &
APP_PID=$!
sleep "$WAIT"

if ! kill -0 "$APP_PID" 2>/dev/null; then
    wait "$APP_PID" && rc=0 || rc=$?
    echo "app_smoke: the app died within ${WAIT}s (exit $rc). Its output:" >&2
    cat "$LOG" >&2
    exit 1
fi

if command -v import >/dev/null; then
    DISPLAY="$DISP" import -window root "$SHOT"
    # A window that drew something has contrast; a black or blank screen has none.
    sd="$(convert "$SHOT" -colorspace Gray -format '%[fx:standard_deviation]' info: 2>/dev/null || echo unknown)"
    if [ "$sd" != unknown ] && awk -v s="$sd" 'BEGIN { exit !(s < 0.02) }'; then
        echo "app_smoke: the screen is blank (grey-level SD $sd); the app did not draw. Its output:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    echo "app_smoke: alive after ${WAIT}s; screenshot $SHOT (grey-level SD $sd)"
else
    echo "app_smoke: alive after ${WAIT}s (imagemagick missing: no screenshot)"
fi
