#!/usr/bin/env python3
"""Prints the peers table (Markdown) from the JSON files benches/peers/run.sh leaves in a folder:
for each timed figure the best of the repeats, the range over them and the load before the best."""

import json
import pathlib
import sys

d = pathlib.Path(sys.argv[1])
run = json.loads((d / "celltwin_run.json").read_text())
machine = dict(line.split("=", 1) for line in (d / "machine.txt").read_text().splitlines())


def repeats(name):
    """[(json, load)] of every repeat of a measurement."""
    out = []
    for f in sorted(d.glob(f"{name}.*.json")):
        out.append((json.loads(f.read_text()), f.with_suffix(".load").read_text().strip()))
    return out


def best(name, get):
    """(best value, min, max, load before the best, repeats, json of the best)."""
    rs = [(get(j), load, j) for j, load in repeats(name)]
    v, load, j = max(rs, key=lambda r: r[0])
    vals = [r[0] for r in rs]
    return dict(v=v, lo=min(vals), hi=max(vals), load=load, n=len(vals), j=j)


line = lambda j: j["line_cells_per_s"]  # noqa: E731
cy = lambda j: j["cell_years_per_s"]  # noqa: E731
ct2, ct1 = best("celltwin_bench_all", line), best("celltwin_bench_1t", line)
cy2, cy1 = best("celltwin_bench_all", cy), best("celltwin_bench_1t", cy)
n64, n32 = best("numpy_f64", line), best("numpy_f32", line)
blc = best("blast_lite", lambda j: j["constant"]["cell_years_per_s"])
blt = best("blast_lite", lambda j: j["timeseries"]["cell_years_per_s"])
bl = blc["j"]
dev = lambda b: b["j"]["device"].replace("1 threads", "1 thread")  # noqa: E731

print(f"{machine['date_utc']}, {machine['celltwin']}, {machine['cores']} cores ({machine['cpu']}), "
      f"Python {machine['python']}, NumPy {n64['j']['numpy']}, BLAST-Lite {bl['blast_lite']}; "
      f"{ct2['j']['cells']:,} cells, scene {ct2['j']['scene']!r}; best of {ct2['n']} round-robin repeats\n")


def row(what, b, scale, fmt, unit, extra=""):
    rng = f"{fmt.format(b['lo'] * scale)}–{fmt.format(b['hi'] * scale)}" if b["n"] > 1 else ""
    print(f"| {what} | {fmt.format(b['v'] * scale)} {unit}{extra} | {rng} | {b['load']} |")


print("| measurement | best | range | load (1/5/15 min) before the best |")
print("|---|---|---|---|")
row(f"celltwin cell line, CPU, {dev(ct2)}", ct2, 1e-6, "{:.2f}", "M cells/s")
row(f"celltwin cell line, CPU, {dev(ct1)}", ct1, 1e-6, "{:.2f}", "M cells/s")
for tag, b in (("float64", n64), ("float32", n32)):
    row(f"NumPy line, {tag}, 1 thread", b, 1e-6, "{:.2f}", "M cells/s",
        f" (peak RSS {b['j']['peak_host_memory_bytes'] / 2**20:.0f} MiB)")
row(f"celltwin pack life, {dev(cy2)} ({cy2['j']['life_packs']} packs × 96 cells)", cy2, 1, "{:,.0f}",
    "cell-years/s")
row(f"celltwin pack life, {dev(cy1)}", cy1, 1, "{:,.0f}", "cell-years/s")
c, t = bl["constant"], blt["j"]["timeseries"]
row(f"BLAST-Lite, constant input, 1 thread ({c['cells']} cells × {c['years_per_cell']:g} years)", blc, 1,
    "{:.1f}", "cell-years/s")
row(f"BLAST-Lite, time series, 1 thread ({t['cells']} cells × {t['years_per_cell']:g} years)", blt, 1,
    "{:.2f}", "cell-years/s")

print("\n| ratio (best against best) | value |")
print("|---|---|")
for tag, n in (("float64", n64), ("float32", n32)):
    print(f"| celltwin / NumPy {tag}, cell line, per thread (1 thread vs 1) | **{ct1['v'] / n['v']:.2f}×** |")
    print(f"| celltwin / NumPy {tag}, cell line, total ({dev(ct2)} vs 1) | {ct2['v'] / n['v']:.2f}× |")
for tag, b in (("constant input", blc), ("time series", blt)):
    print(f"| celltwin / BLAST-Lite {tag}, per cell-year, per thread | **{cy1['v'] / b['v']:,.0f}×** |")
    print(f"| celltwin / BLAST-Lite {tag}, per cell-year, total ({dev(cy2)} vs 1) | {cy2['v'] / b['v']:,.0f}× |")

print("\nSame line? `celltwin run` against the NumPy line (first repeat), same cell count; moments of passed cells:\n")
print("| | celltwin | NumPy float64 | NumPy float32 |")
print("|---|---|---|---|")
a64, a32 = repeats("numpy_f64")[0][0], repeats("numpy_f32")[0][0]
cap, dcir = run["capacity"]["passed"], run["dcir"]["passed"]
scrap = {r["reason"]: r["cells"] for r in run["scrap_pareto"]}
rows = [
    ("yield (FPY)", f"{run['yield']:.4%}", *(f"{n['yield']:.4%}" for n in (a64, a32))),
    ("capacity mean, Ah", f"{cap['mean']:.5f}", *(f"{n['capacity_passed']['mean']:.5f}" for n in (a64, a32))),
    ("capacity CV", f"{cap['cv']:.4%}", *(f"{n['capacity_passed']['cv']:.4%}" for n in (a64, a32))),
    ("DCIR mean, mΩ", f"{dcir['mean']:.4f}", *(f"{n['dcir_passed']['mean']:.4f}" for n in (a64, a32))),
    ("DCIR CV", f"{dcir['cv']:.3%}", *(f"{n['dcir_passed']['cv']:.3%}" for n in (a64, a32))),
    ("N/P CV (all cells)", f"{run['np_ratio']['cv']:.4%}", *(f"{n['np_ratio']['cv']:.4%}" for n in (a64, a32))),
    ("scrap: self-discharge", f"{scrap.get('self_discharge', 0):,}", *(f"{n['scrap']['self_discharge']:,}" for n in (a64, a32))),
    ("scrap: high DCIR", f"{scrap.get('high_dcir', 0):,}", *(f"{n['scrap']['high_dcir']:,}" for n in (a64, a32))),
    ("scrap: loading / overhang / low capacity",
     f"{scrap.get('loading', 0)} / {scrap.get('overhang', 0)} / {scrap.get('low_capacity', 0)}",
     *(f"{n['scrap']['loading']} / {n['scrap']['overhang']} / {n['scrap']['low_capacity']}" for n in (a64, a32))),
    ("latent defects / escaped", f"{run['defects']['latent']:,} / {run['defects']['escaped']:,}",
     *(f"{n['latent_defects']:,} / {n['escaped_defects']:,}" for n in (a64, a32))),
]
for r in rows:
    print("| " + " | ".join(r) + " |")
