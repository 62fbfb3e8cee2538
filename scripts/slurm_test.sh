#!/usr/bin/env bash
# A real scheduler in the tests: starts a single-node Slurm on this machine (Debian's slurm-wlm
# and munge; a generated munge key, a one-node slurm.conf; munged, slurmctld and slurmd started as
# root here and stopped by their PIDs at the end), submits deploy/slurm/celltwin-array.sbatch as
# an 8-task array of a 10⁷-cell scene with the merge as a dependent job, and compares the merged
# summary and CSVs with a one-machine run (equal apart from timing and device fields).
#
#   scripts/slurm_test.sh [BINARY]        (default target/release/celltwin; needs root)
#
# It writes /etc/munge and /etc/slurm/slurm.conf, so outside CI it refuses to touch a machine
# that already has a slurm.conf of its own. Under CI=true every reason it cannot run is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BIN="$(realpath "${1:-${CARGO_TARGET_DIR:-target}/release/celltwin}")"
CELLS="${SLURM_TEST_CELLS:-10000000}"
TASKS=8
MARK="# written by celltwin scripts/slurm_test.sh"

give_up() {
    echo "slurm_test: $*" >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    echo "slurm_test: skipped (not under CI=true)" >&2
    exit 0
}

[ -x "$BIN" ] || give_up "no celltwin binary at $BIN (cargo build --release first)"
[ "$(id -u)" -eq 0 ] || give_up "needs root to start munged, slurmctld and slurmd"
if [ -f /etc/slurm/slurm.conf ] && ! grep -qF "$MARK" /etc/slurm/slurm.conf && [ "${CI:-}" != "true" ]; then
    give_up "/etc/slurm/slurm.conf exists and is not ours: not touching this machine's Slurm"
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || give_up "slurm-wlm and munge are not installed and there is no apt-get"
    echo "slurm_test: installing slurm-wlm munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
        || give_up "apt-get install slurm-wlm munge failed"
fi

PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]:-}"; do
        # A killed daemon whose parent does not reap it stays a zombie (state Z): that is stopped.
        if [ -n "$p" ] && [ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ]; then
            echo "slurm_test: daemon $p still running" >&2
        fi
    done
    return 0
}
trap cleanup EXIT

# munge: a fresh key, the daemon as the munge user.
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 400 /etc/munge/munge.key
pkill -x munged 2>/dev/null || true
runuser -u munge -- /usr/sbin/munged || give_up "munged did not start"
sleep 1
pgrep -x munged >/dev/null || give_up "munged is not running"
PIDS+=($(pgrep -x munged))

# One node with this machine's cores and memory; memory is not a consumable (CR_Core).
H=$(hostname -s)
MEM=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 512 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
$MARK
ClusterName=celltwin-test
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$H CPUs=$(nproc) RealMemory=$MEM State=UNKNOWN
PartitionName=main Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
slurmctld -c || give_up "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
slurmd -c || give_up "slurmd did not start (see /var/log/slurm/slurmd.log)"
sleep 2
pgrep -x slurmctld >/dev/null || give_up "slurmctld exited (see /var/log/slurm/slurmctld.log)"
pgrep -x slurmd >/dev/null || give_up "slurmd exited (see /var/log/slurm/slurmd.log)"
PIDS+=($(pgrep -x slurmctld) $(pgrep -x slurmd))
for _ in $(seq 30); do
    sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break
    sleep 1
done
sinfo -h -o %t | grep -qE '^(idle|mix|alloc)' || give_up "the node never became idle: $(sinfo 2>&1)"
echo "slurm_test: single-node Slurm up ($H, $(nproc) CPUs)"

OUT="$(mktemp -d)"
cd "$OUT"
export CELLTWIN="$BIN"
START=$(date +%s)
JID=$(sbatch --parsable --array=0-$((TASKS - 1)) --cpus-per-task=1 --mem=1G \
    "$ROOT/deploy/slurm/celltwin-array.sbatch" nmc21700_mature "$OUT" --set "cells=$CELLS" --set seed=7)
MJID=$(sbatch --parsable --dependency=afterok:"$JID" --mem=1G "$ROOT/deploy/slurm/celltwin-merge.sbatch" "$OUT")
echo "slurm_test: array job $JID ($TASKS tasks, $CELLS cells), merge job $MJID"
for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$JID,$MJID" 2>/dev/null)" ] && break
    sleep 1
done
[ -z "$(squeue -h -j "$JID,$MJID" 2>/dev/null)" ] || give_up "jobs still queued after 10 min: $(squeue)"
echo "slurm_test: array and merge done in $(( $(date +%s) - START )) s"
ls "$OUT/shards"
[ "$(ls "$OUT"/shards/shard-*-of-0000$TASKS.json | wc -l)" -eq "$TASKS" ] \
    || { cat "$OUT"/*.log >&2; give_up "expected $TASKS shard files"; }
[ -f "$OUT/merged/summary.json" ] || { cat "$OUT"/*.log >&2; give_up "the merge job wrote no summary.json"; }

"$BIN" run nmc21700_mature --set "cells=$CELLS" --set seed=7 --out "$OUT/one" >/dev/null 2>&1
python3 - "$OUT/one" "$OUT/merged" <<'PY'
import json, pathlib, sys
one, merged = map(pathlib.Path, sys.argv[1:])
def load(d):
    v = json.loads((d / "summary.json").read_text())
    for k in ("device", "line_s", "elapsed_s", "cells_per_s"):
        v.pop(k)
    return v
a, b = load(one), load(merged)
bad = [k for k in a if a[k] != b.get(k)]
csv = [p.name for p in one.glob("*.csv") if p.read_bytes() != (merged / p.name).read_bytes()]
if bad or csv or a.keys() != b.keys():
    sys.exit(f"slurm_test: merged run differs from the one-machine run: fields {bad}, CSVs {csv}")
print(f"slurm_test: merged = one-machine run ({a['cells']} cells, {a['packs']['packs']} packs, "
      f"pack life P50 {a['packs']['life_cycles']['p50']:.0f} cycles); {len(list(one.glob('*.csv')))} CSVs byte-identical")
PY
rm -rf "$OUT"
