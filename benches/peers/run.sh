#!/usr/bin/env bash
# Peers side by side, back to back in one go: celltwin's CPU engine (every core, then one thread),
# the NumPy line (float64, float32) and BLAST-Lite's per-cell life simulation; then a table of
# absolute figures and ratios (benches/peers/table.py). Not part of the tests or CI.
#
#   benches/peers/run.sh [CELLTWIN_BINARY] [CELLS]
#
# CELLTWIN_BINARY defaults to target/release/celltwin, CELLS to 10000000. Python: $PY, else
# benches/peers/.venv/bin/python (made and filled from requirements.txt on first use).
# The JSON of each measurement and the `uptime` before it land in $OUT (default: a fresh temp dir).
# REPEAT=N (default 2) repeats each timed measurement N times, round-robin; the table takes the best.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-target/release/celltwin}"
cells="${2:-10000000}"
out="${OUT:-$(mktemp -d -t celltwin-peers.XXXXXX)}"
mkdir -p "$out"

if [[ -z "${PY:-}" ]]; then
  if [[ ! -x "$here/.venv/bin/python" ]]; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/python" -m pip install -q -r "$here/requirements.txt"
  fi
  PY="$here/.venv/bin/python"
fi

# A private copy, so that a rebuild of the binary during the run cannot mix two versions.
cp "$bin" "$out/celltwin"
ct="$out/celltwin"

load() { uptime | sed 's/.*load average: //' > "$out/$1.load"; echo "[$(date -u +%H:%M:%S)] $1 (load $(cat "$out/$1.load"))" >&2; }

{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "celltwin=$("$ct" --version)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "cores=$(nproc)"
  echo "python=$("$PY" -c 'import sys; print(sys.version.split()[0])')"
} > "$out/machine.txt"

# The line's statistics at the same size, to hold the NumPy line against (not timed here).
load celltwin_run
"$ct" run --backend cpu --cells "$cells" --json > "$out/celltwin_run.json"

# Each timed measurement REPEAT times (default 2), round-robin, so that a burst of other work on a
# shared machine does not land on one peer only; the table takes the best of each and shows the range.
for r in $(seq 1 "${REPEAT:-2}"); do
  load "celltwin_bench_all.$r"
  "$ct" bench --backend cpu --cells "$cells" --json > "$out/celltwin_bench_all.$r.json"
  load "celltwin_bench_1t.$r"
  "$ct" bench --backend cpu --threads 1 --cells "$cells" --json > "$out/celltwin_bench_1t.$r.json"
  load "numpy_f64.$r"
  "$PY" "$here/numpy_line.py" --cells "$cells" --dtype float64 --json > "$out/numpy_f64.$r.json"
  load "numpy_f32.$r"
  "$PY" "$here/numpy_line.py" --cells "$cells" --dtype float32 --json > "$out/numpy_f32.$r.json"
  load "blast_lite.$r"
  "$PY" "$here/blast_lite_cell_years.py" --json > "$out/blast_lite.$r.json"
done

"$PY" "$here/table.py" "$out"
echo "(raw JSON and loads in $out)" >&2
