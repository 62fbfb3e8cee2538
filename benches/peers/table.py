#!/usr/bin/env python3
"""Prints the peers table (Markdown) from the JSON files benches/peers/run.sh leaves in a folder."""

import json
import pathlib
import sys

d = pathlib.Path(sys.argv[1])
j = lambda name: json.loads((d / f"{name}.json").read_text())  # noqa: E731
load = lambda name: (d / f"{name}.load").read_text().strip()  # noqa: E731
run, ct2, ct1 = j("celltwin_run"), j("celltwin_bench_all"), j("celltwin_bench_1t")
n64, n32, bl = j("numpy_f64"), j("numpy_f32"), j("blast_lite")
for b in (ct2, ct1):
    b["device"] = b["device"].replace("1 threads", "1 thread")
machine = dict(line.split("=", 1) for line in (d / "machine.txt").read_text().splitlines())

print(f"{machine['date_utc']}, {machine['celltwin']}, {machine['cores']} cores ({machine['cpu']}), "
      f"Python {machine['python']}, NumPy {n64['numpy']}, BLAST-Lite {bl['blast_lite']}; "
      f"{ct2['cells']:,} cells, scene {ct2['scene']!r}\n")

print("| measurement | figure | load (1/5/15 min) before |")
print("|---|---|---|")
print(f"| celltwin cell line, CPU, {ct2['device']} | {ct2['line_cells_per_s'] / 1e6:.2f} M cells/s "
      f"| {load('celltwin_bench_all')} |")
print(f"| celltwin cell line, CPU, {ct1['device']} | {ct1['line_cells_per_s'] / 1e6:.2f} M cells/s "
      f"| {load('celltwin_bench_1t')} |")
print(f"| NumPy line, float64 (1 thread) | {n64['line_cells_per_s'] / 1e6:.3f} M cells/s "
      f"(peak RSS {n64['peak_host_memory_bytes'] / 2**20:.0f} MiB) | {load('numpy_f64')} |")
print(f"| NumPy line, float32 (1 thread) | {n32['line_cells_per_s'] / 1e6:.3f} M cells/s "
      f"(peak RSS {n32['peak_host_memory_bytes'] / 2**20:.0f} MiB) | {load('numpy_f32')} |")
print(f"| celltwin pack life, {ct2['device']} ({ct2['life_packs']} packs × 96 cells) "
      f"| {ct2['cell_years_per_s']:,.0f} cell-years/s | {load('celltwin_bench_all')} |")
print(f"| celltwin pack life, {ct1['device']} | {ct1['cell_years_per_s']:,.0f} cell-years/s "
      f"| {load('celltwin_bench_1t')} |")
c, t = bl["constant"], bl["timeseries"]
print(f"| BLAST-Lite, constant input ({c['cells']} cells × {c['years_per_cell']:g} years) "
      f"| {c['cell_years_per_s']:.1f} cell-years/s | {load('blast_lite')} |")
print(f"| BLAST-Lite, time series ({t['cells']} cells × {t['years_per_cell']:g} years) "
      f"| {t['cell_years_per_s']:.2f} cell-years/s | (same run) |")

print("\n| ratio | value |")
print("|---|---|")
for tag, n in (("float64", n64), ("float32", n32)):
    print(f"| celltwin / NumPy {tag}, line, per thread (1 thread vs 1) "
          f"| **{ct1['line_cells_per_s'] / n['line_cells_per_s']:.1f}×** |")
    print(f"| celltwin / NumPy {tag}, line, total ({ct2['device']} vs 1) "
          f"| {ct2['line_cells_per_s'] / n['line_cells_per_s']:.1f}× |")
for tag, b in (("constant input", c), ("time series", t)):
    print(f"| celltwin / BLAST-Lite {tag}, per cell-year, per thread "
          f"| **{ct1['cell_years_per_s'] / b['cell_years_per_s']:,.0f}×** |")
    print(f"| celltwin / BLAST-Lite {tag}, per cell-year, total "
          f"| {ct2['cell_years_per_s'] / b['cell_years_per_s']:,.0f}× |")

print("\nSame line? celltwin run vs the NumPy line, same cell count (passed cells):\n")
print("| | celltwin | NumPy float64 | NumPy float32 |")
print("|---|---|---|---|")
cap, dcir = run["capacity"]["passed"], run["dcir"]["passed"]
scrap = {r["reason"]: r["cells"] for r in run["scrap_pareto"]}
rows = [
    ("yield (FPY)", f"{run['yield']:.4%}", *(f"{n['yield']:.4%}" for n in (n64, n32))),
    ("capacity mean, Ah", f"{cap['mean']:.5f}", *(f"{n['capacity_passed']['mean']:.5f}" for n in (n64, n32))),
    ("capacity CV", f"{cap['cv']:.4%}", *(f"{n['capacity_passed']['cv']:.4%}" for n in (n64, n32))),
    ("DCIR mean, mΩ", f"{dcir['mean']:.4f}", *(f"{n['dcir_passed']['mean']:.4f}" for n in (n64, n32))),
    ("DCIR CV", f"{dcir['cv']:.3%}", *(f"{n['dcir_passed']['cv']:.3%}" for n in (n64, n32))),
    ("N/P CV (all cells)", f"{run['np_ratio']['cv']:.4%}", *(f"{n['np_ratio']['cv']:.4%}" for n in (n64, n32))),
    ("scrap: self-discharge", f"{scrap.get('self_discharge', 0):,}", *(f"{n['scrap']['self_discharge']:,}" for n in (n64, n32))),
    ("scrap: high DCIR", f"{scrap.get('high_dcir', 0):,}", *(f"{n['scrap']['high_dcir']:,}" for n in (n64, n32))),
    ("scrap: loading / overhang / low capacity",
     f"{scrap.get('loading', 0)} / {scrap.get('overhang', 0)} / {scrap.get('low_capacity', 0)}",
     *(f"{n['scrap']['loading']} / {n['scrap']['overhang']} / {n['scrap']['low_capacity']}" for n in (n64, n32))),
    ("latent defects / escaped", f"{run['defects']['latent']:,} / {run['defects']['escaped']:,}",
     *(f"{n['latent_defects']:,} / {n['escaped_defects']:,}" for n in (n64, n32))),
]
for r in rows:
    print("| " + " | ".join(r) + " |")
