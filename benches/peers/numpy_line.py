#!/usr/bin/env python3
"""celltwin's cell line (coating -> calendering -> winding -> filling -> formation & aging ->
end-of-line test and sorting) as an engineer would write it in vectorised NumPy: one array per
property, a chunk of cells at a time, numpy's default generator (PCG64) for the draws.

It is a peer for `celltwin bench`, not a test: the same stages, distributions, spreads, lot
structure (20 000-cell coating lots, 500-cell formation racks), defect draws, gauges and limits as
docs/MODEL.md section 2 at the default scene `nmc21700_mature`, and the same work per chunk as
celltwin's backend pass (statistics, six histograms, grade counts, the passed cells compacted out).
The numbers differ from celltwin's draw for draw (other generator), not in distribution: the script
prints yield, scrap by reason and the capacity and DCIR moments so the reader can hold them against
`celltwin run --json`.

    python3 numpy_line.py --cells 10000000 [--chunk 1048576] [--dtype float64|float32] [--json]
"""

import argparse
import json
import os
import resource
import sys
import time

# One thread, like NumPy's element-wise ufuncs anyway (set before numpy loads its BLAS).
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

# The resolved values of scenes/nmc21700_mature.toml (`celltwin check scenes/nmc21700_mature.toml`),
# spread_scale = defect_scale = 1.
P = dict(
    lot_size=20_000, cathode_cv=0.0012, cathode_lot_cv=0.001, anode_cv=0.0012, anode_lot_cv=0.001,
    np_design=1.08, np_min=1.0, loading_tolerance=0.03, defects_per_cell=0.02,
    porosity_target=0.30, porosity_sd=0.015, r_ionic=5.0,
    area_cv=0.001, misalignment_sd=0.15, overhang=1.0, tab_median=2.0, tab_sigma=0.15,
    xray_detect=0.95,
    g_per_ah=1.3, pore_g_per_ah=0.963, fill_ratio_opt=1.16, fill_cv=0.01, r_bulk=7.0,
    r_per_shortfall=3.0,
    rack_size=500, rack_temp_sd=1.5, first_cycle_loss=0.09, first_cycle_loss_sd=0.001,
    loss_per_degc=0.001, r_sei=4.0, k_median=0.03, k_sigma=0.5, defect_k_min=0.5,
    defect_k_max=5.0, defect_onset_mean=4.0, aging_days=10.0,
    q_rated=5.0, r_nominal=18.0, capacity_noise=0.001, dcir_noise=0.01, k_noise_10d=0.01,
    capacity_min=0.97, dcir_max=1.15, k_max=0.1, grade_bins=8, bin_width=0.0025,
    plating_np=1.03,
)

REASONS = ["loading", "overhang", "self_discharge", "low_capacity", "high_dcir"]
HIST_BINS = 90


class Moments:
    """Count, mean and M2 merged chunk by chunk (Chan et al.), in float64."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x):
        n = x.size
        if n == 0:
            return
        x = x.astype(np.float64, copy=False)
        m = float(x.mean())
        m2 = float(((x - m) ** 2).sum())
        d = m - self.mean
        tot = self.n + n
        self.mean += d * n / tot
        self.m2 += m2 + d * d * self.n * n / tot
        self.n = tot

    def summary(self):
        sd = (self.m2 / (self.n - 1)) ** 0.5 if self.n > 1 else 0.0
        return dict(n=self.n, mean=self.mean, sd=sd, cv=sd / self.mean if self.mean else 0.0)


def simulate_chunk(p, rng, start, n, z_lot_c, z_lot_a, z_rack, dt, acc):
    cell = np.arange(start, start + n, dtype=np.int64)
    normal = lambda: rng.standard_normal(n, dtype=dt)  # noqa: E731
    one = dt(1.0)

    # Coating: loading = 1 + c_lot·z_lot + c_w·z_cell; beta gauge ±3 %; Poisson particle defects.
    lot = cell // p["lot_size"]
    cathode = one + dt(p["cathode_lot_cv"]) * z_lot_c[lot] + dt(p["cathode_cv"]) * normal()
    anode = one + dt(p["anode_lot_cv"]) * z_lot_a[lot] + dt(p["anode_cv"]) * normal()
    tol = dt(p["loading_tolerance"])
    out_of_tol = (np.abs(cathode - one) > tol) | (np.abs(anode - one) > tol)
    np_ratio = dt(p["np_design"]) * anode / cathode
    defect = rng.poisson(p["defects_per_cell"], n) > 0

    # Calendering: porosity, Bruggeman ionic resistance with thickness ∝ cathode loading.
    porosity = np.maximum(dt(p["porosity_target"]) + dt(p["porosity_sd"]) * normal(), dt(0.02))
    ratio = dt(p["porosity_target"]) / porosity
    r_ionic = dt(p["r_ionic"]) * cathode * ratio * np.sqrt(ratio)

    # Winding: area, misalignment against the overhang, X-ray on breached cells, lognormal tab weld.
    area = one + dt(p["area_cv"]) * normal()
    breach = np.abs(dt(p["misalignment_sd"]) * normal()) > dt(p["overhang"])
    caught = np.zeros(n, dtype=bool)
    nb = int(breach.sum())
    if nb:
        caught[breach] = rng.random(nb) < p["xray_detect"]
    r_tab = dt(p["tab_median"]) * np.exp(dt(p["tab_sigma"]) * normal())

    # Filling: dosed mass against the cell's own pore volume; shortfall below the optimum.
    mass = one + dt(p["fill_cv"]) * normal()
    e0 = p["porosity_target"]
    e = np.minimum(porosity, dt(0.95))
    loading = dt(0.5) * (cathode + anode)
    pore = area * loading * (e / (one - e)) * dt((1.0 - e0) / e0)
    fill = dt(p["g_per_ah"] / p["pore_g_per_ah"]) * mass / pore
    shortfall = np.maximum(one - fill / dt(p["fill_ratio_opt"]), dt(0.0))
    r_bulk = dt(p["r_bulk"]) * (one + dt(p["r_per_shortfall"]) * shortfall)

    # Formation & aging: rack temperature, first-cycle loss, SEI, lognormal K, latent micro-shorts.
    d_temp = dt(p["rack_temp_sd"]) * z_rack[cell // p["rack_size"]]
    loss = np.clip(dt(p["first_cycle_loss"]) + dt(p["first_cycle_loss_sd"]) * normal()
                   + dt(p["loss_per_degc"]) * d_temp, dt(0.0), dt(0.9))
    r_sei = dt(p["r_sei"] / p["first_cycle_loss"]) * loss
    k_true = dt(p["k_median"]) * np.exp(dt(p["k_sigma"]) * normal())
    k_test = k_true.copy()
    nd = int(defect.sum())
    if nd:
        sev = (p["defect_k_min"] + (p["defect_k_max"] - p["defect_k_min"]) * rng.random(nd)).astype(dt)
        onset = rng.exponential(p["defect_onset_mean"], nd)
        k_true[defect] += sev
        k_test[defect] += sev * np.maximum(0.0, (p["aging_days"] - onset) / p["aging_days"]).astype(dt)

    # End of line: the true cell, gauges, limits in line order, grades, plating flag.
    electrode = np.minimum(cathode, anode * dt(p["np_design"] / p["np_min"]))
    q_true = dt(p["q_rated"] / (1.0 - p["first_cycle_loss"])) * electrode * area * (one - loss)
    r_true = r_tab + (r_ionic + r_sei + r_bulk) / area
    q_meas = q_true * (one + dt(p["capacity_noise"]) * normal())
    r_meas = r_true * (one + dt(p["dcir_noise"]) * normal())
    k_meas = k_test + dt(p["k_noise_10d"] * 10.0 / p["aging_days"]) * normal()

    q_rated = p["q_rated"]
    scrap = np.zeros(n, dtype=np.uint8)  # 0 = passed, else index into REASONS + 1
    for code, bad in ((5, r_meas > dt(p["dcir_max"] * p["r_nominal"])),
                      (4, q_meas < dt(p["capacity_min"] * q_rated)),
                      (3, k_meas > dt(p["k_max"])),
                      (2, breach & caught),
                      (1, out_of_tol)):  # last assignment wins: the first station in line order
        scrap[bad] = code
    bins = p["grade_bins"]
    grade_lo = q_rated * (1.0 - 0.5 * bins * p["bin_width"])
    grade = np.clip(np.floor((q_meas - dt(grade_lo)) / dt(q_rated * p["bin_width"])), 0, bins - 1
                    ).astype(np.uint8)
    plating = (np_ratio < dt(p["plating_np"])) | breach

    # Statistics: scrap counts, moments, histograms, grades of passed cells.
    acc["scrap"] += np.bincount(scrap, minlength=6)
    passed = scrap == 0
    at_eol = (scrap == 0) | (scrap >= 4)  # reached the end-of-line gauges
    acc["q_true"].add(q_true[at_eol])
    acc["q_meas"].add(q_meas[at_eol])
    acc["r_true"].add(r_true[at_eol])
    acc["q_passed"].add(q_true[passed])
    acc["r_passed"].add(r_true[passed])
    acc["k_meas"].add(k_meas[(scrap == 0) | (scrap >= 3)])
    acc["np"].add(np_ratio)
    acc["grades"] += np.bincount(grade[passed], minlength=bins)
    acc["defects"] += nd
    acc["escaped"] += int((defect & passed).sum())
    acc["underfilled"] += int((shortfall > 0).sum())
    for name, x, lo, hi in (("capacity_true", q_true[at_eol], 0.9 * q_rated, 1.1 * q_rated),
                            ("capacity_meas", q_meas[at_eol], 0.9 * q_rated, 1.1 * q_rated),
                            ("capacity_scrapped", q_true[scrap >= 4], 0.9 * q_rated, 1.1 * q_rated),
                            ("dcir", r_meas[at_eol], 12.0, 26.0),
                            ("k", k_meas, 0.0, 0.2),
                            ("np", np_ratio, 1.0, 1.16)):
        acc["hist"][name] += np.histogram(x, bins=HIST_BINS, range=(lo, hi))[0]

    # The passed cells, compacted for matching (what celltwin's backend pass hands on).
    flags = (defect.astype(np.uint32) | (breach.astype(np.uint32) << 1)
             | (plating.astype(np.uint32) << 2) | (grade.astype(np.uint32) << 8))
    out = np.stack([q_true[passed], q_meas[passed], r_true[passed], r_meas[passed],
                    k_true[passed], k_meas[passed], np_ratio[passed], shortfall[passed],
                    loss[passed], r_tab[passed]], axis=1)
    return out, flags[passed]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=float, default=1e7)
    ap.add_argument("--chunk", type=int, default=1 << 20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = ap.parse_args()
    n_cells, dt, p = int(a.cells), getattr(np, a.dtype), P

    t0 = time.perf_counter()
    rng = np.random.default_rng(a.seed)
    # Lot-level normals, one per coating lot (two electrodes) and one per formation rack.
    z_lot_c = rng.standard_normal(n_cells // p["lot_size"] + 1, dtype=dt)
    z_lot_a = rng.standard_normal(n_cells // p["lot_size"] + 1, dtype=dt)
    z_rack = rng.standard_normal(n_cells // p["rack_size"] + 1, dtype=dt)
    acc = dict(scrap=np.zeros(6, np.int64), grades=np.zeros(p["grade_bins"], np.int64),
               defects=0, escaped=0, underfilled=0,
               hist={k: np.zeros(HIST_BINS, np.int64) for k in
                     ("capacity_true", "capacity_meas", "capacity_scrapped", "dcir", "k", "np")},
               **{k: Moments() for k in ("q_true", "q_meas", "r_true", "q_passed", "r_passed",
                                         "k_meas", "np")})
    passed_total = 0
    for start in range(0, n_cells, a.chunk):
        out, _flags = simulate_chunk(p, rng, start, min(a.chunk, n_cells - start),
                                     z_lot_c, z_lot_a, z_rack, dt, acc)
        passed_total += out.shape[0]
    wall = time.perf_counter() - t0

    scrap = {r: int(acc["scrap"][i + 1]) for i, r in enumerate(REASONS)}
    res = dict(
        peer="numpy_line", numpy=np.__version__, dtype=a.dtype, cells=n_cells, chunk=a.chunk,
        seed=a.seed, wall_s=wall, line_cells_per_s=n_cells / wall,
        peak_host_memory_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        passed=passed_total, yield_=passed_total / n_cells, scrap=scrap,
        capacity_true=acc["q_true"].summary(), capacity_measured=acc["q_meas"].summary(),
        capacity_passed=acc["q_passed"].summary(), dcir_true=acc["r_true"].summary(),
        dcir_passed=acc["r_passed"].summary(), np_ratio=acc["np"].summary(),
        grades=acc["grades"].tolist(), latent_defects=acc["defects"],
        escaped_defects=acc["escaped"], underfilled_share=acc["underfilled"] / n_cells,
    )
    res["yield"] = res.pop("yield_")
    if a.json:
        json.dump(res, sys.stdout)
        print()
        return
    print(f"numpy_line ({a.dtype}, NumPy {np.__version__}): {n_cells} cells in {wall:.2f} s = "
          f"{n_cells / wall / 1e6:.2f} M cells/s, peak RSS {res['peak_host_memory_bytes'] / 2**20:.0f} MiB")
    print(f"  yield {res['yield']:.4%}; scrap {scrap}")
    for k in ("capacity_passed", "dcir_passed", "np_ratio"):
        s = res[k]
        print(f"  {k}: mean {s['mean']:.5f}, CV {s['cv']:.4%}")
    print(f"  grades {res['grades']}; latent defects {res['latent_defects']}, escaped "
          f"{res['escaped_defects']}; under-filled {res['underfilled_share']:.3%}")


if __name__ == "__main__":
    main()
