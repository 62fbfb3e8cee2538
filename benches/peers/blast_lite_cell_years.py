#!/usr/bin/env python3
"""BLAST-Lite's own per-cell life simulation, timed in cell-years per second: a peer for the
`cell_years_per_s` of `celltwin bench`.

The cell is BLAST-Lite's `Nmc811_GrSi_LGM50_5Ah_Battery` (the LG M50 21700 law that celltwin's
default NMC pack ages by, docs/MODEL.md section 5), under the duty of celltwin's verification
(`aging.rs::nominal_cell_matches_blast_lite`): one cycle a day at C/2 between SOC 0.1 and 0.9
(0.5 -> 0.9 -> 0.1 -> 0.5, 3.2 h), rest at SOC 0.5 for the rest of the day, constant temperature
(25 °C), the day given at 1-minute resolution. Each cell gets its own `degradation_scalar`,
exp(0.083·z) (celltwin's residual cell-to-cell spread), so the cells are not copies.

Two ways BLAST-Lite runs a cell, both timed:
- `constant`: `simulate_battery_life(..., is_constant_input=True)`: the day's stressors and rates
  are computed once and the state is stepped a day at a time (what celltwin's reference values
  come from; the script checks them first);
- `timeseries`: the general path (`is_constant_input=False`): rainflow cycle counting of the day,
  stressors and rates recomputed at each breakpoint (each day here), as for any measured profile.

    python3 blast_lite_cell_years.py [--years 2] [--cells-constant 40] [--cells-timeseries 4] [--json]
"""

import argparse
import json
import os
import sys
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")  # np.trapz deprecation chatter on newer NumPy
from blast import models  # noqa: E402

try:
    from importlib.metadata import version
    BLAST_VERSION = version("blast-lite")
except Exception:  # pragma: no cover
    BLAST_VERSION = "?"

# celltwin's reference (aging.rs): NMC, 25 °C and 35 °C, relative capacity at years 1/2/5/10.
REFERENCE = {25.0: [0.8760, 0.8231, 0.7145, 0.5876], 35.0: [0.8536, 0.7894, 0.6565, 0.4997]}


def day_profile(temp_c, res_s=60):
    t = np.arange(86400 // res_s + 1, dtype=float) * res_s
    soc = np.interp(t / 3600, [0, 0.8, 2.4, 3.2, 24], [0.5, 0.9, 0.1, 0.5, 0.5])
    return {"Time_s": t, "SOC": soc, "Temperature_C": np.full(t.size, temp_c)}


def check_reference():
    worst = 0.0
    for temp, want in REFERENCE.items():
        c = models.Nmc811_GrSi_LGM50_5Ah_Battery()
        c.simulate_battery_life(day_profile(temp), threshold_time=10, is_constant_input=True)
        got = np.interp([365 * y for y in (1, 2, 5, 10)], c.stressors["t_days"], c.outputs["q"])
        worst = max(worst, float(np.max(np.abs(got - np.array(want)))))
    return worst


def run(mode, cells, years, temp_c, seed):
    rng = np.random.default_rng(seed)
    scalars = np.exp(0.083 * rng.standard_normal(cells))
    profile = day_profile(temp_c)
    q_end, simulated_years = [], 0.0
    t0 = time.perf_counter()
    for s in scalars:
        c = models.Nmc811_GrSi_LGM50_5Ah_Battery(degradation_scalar=float(s))
        c.simulate_battery_life(profile, threshold_time=years, is_constant_input=(mode == "constant"))
        simulated_years += float(c.stressors["t_days"][-1]) / 365.25
        q_end.append(float(c.outputs["q"][-1]))
    wall = time.perf_counter() - t0
    return dict(mode=mode, cells=cells, years_per_cell=years, simulated_cell_years=simulated_years,
                wall_s=wall, cell_years_per_s=simulated_years / wall,
                q_end_mean=float(np.mean(q_end)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--years", type=float, default=2.0, help="years each cell is simulated")
    ap.add_argument("--cells-constant", type=int, default=40)
    ap.add_argument("--cells-timeseries", type=int, default=4)
    ap.add_argument("--temp", type=float, default=25.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    ref_err = check_reference()
    res = dict(peer="blast_lite", blast_lite=BLAST_VERSION, numpy=np.__version__,
               model="Nmc811_GrSi_LGM50_5Ah_Battery", temp_c=a.temp,
               reference_max_abs_error=ref_err,
               constant=run("constant", a.cells_constant, a.years, a.temp, a.seed),
               timeseries=run("timeseries", a.cells_timeseries, a.years, a.temp, a.seed))
    if a.json:
        json.dump(res, sys.stdout)
        print()
        return
    print(f"BLAST-Lite {BLAST_VERSION} {res['model']}, {a.temp} °C, 1 cycle/day SOC 0.1-0.9 at C/2 "
          f"(reproduces celltwin's reference within {ref_err:.1e})")
    for m in ("constant", "timeseries"):
        r = res[m]
        print(f"  {m:10s} {r['cells']} cells x {a.years} years in {r['wall_s']:.2f} s = "
              f"{r['cell_years_per_s']:.1f} cell-years/s (mean q at end {r['q_end_mean']:.4f})")


if __name__ == "__main__":
    main()
