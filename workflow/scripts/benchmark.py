"""Measure the pipeline's speed: seconds per cell, the arithmetic lower bound, the full run.

    python workflow/scripts/benchmark.py --data-dir ../shared/data/orbit-100x64 [--full]

* per cell: a few (model, lr) cells of the author protocol trained in this process with
  the configured seeds, timed, and compared with the arithmetic lower bound: the cell's
  multiply-adds divided by this machine's measured single-thread multiply-add rate;
* Snakemake's per-job overhead: the cell job's wall time (its benchmark file) minus the
  time the cell spent training inside the job;
* --full: the full default grid (2 protocols x 133 cells x 5 seeds) with `snakemake --cores 4` in a fresh
  directory (a cold start: no earlier results), wall time and jobs per minute.

Each run appends one line to results/benchmarks/history.csv (and writes the details to
results/benchmarks/<timestamp>.json), so a change can be compared with an earlier one on
the same machine. Never run it while other heavy work shares the machine.
"""

import argparse
import csv
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, as a cell job runs
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import _bootstrap  # noqa: E402,F401

import numpy as np  # noqa: E402

from avarep import atomic  # noqa: E402
from avarep.cell import run_cell  # noqa: E402
from avarep.data import load_folder  # noqa: E402
from avarep.layers import hidden_sizes  # noqa: E402
from avarep.sweep import GENERATIONS_PER_IMAGE, LATENT_DIM  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CELLS = [("AVA5", 1.0), ("AVA5", 0.05), ("AVA1", 0.3), ("VAE", 0.1), ("GAN", 0.01)]


def author_macs_per_seed(model: str, n_pixels: int, n_images: int) -> int:
    """Multiply-adds of one author-protocol cell-seed with collapsed hidden layers.

    Per channel and per weight touched: forward = 1, update = 1, error back through a
    layer = 1. The BM of each generated image costs 3 multiply-adds per pixel.
    """
    p, n = n_pixels, LATENT_DIM
    h = len(hidden_sizes(p, n))  # stored hidden units per layer after collapsing (1 each)
    enc_fwd = p * h + 2 * n
    enc_update = 2 * (p * h + 2 * (2 * n))  # double update: out layer W + error, input W
    dec_fwd = n * h + p
    dec_update = n * h + 2 * p
    disc = 2 * (p * h + 1) + 2 * (p * h + 2)  # real + fake pass, double update
    per_image = {
        "VAE": enc_fwd + enc_update + dec_fwd + dec_update,
        "AVA1": enc_fwd + enc_update + dec_fwd + dec_update + dec_fwd + disc,
        "AVA3": enc_fwd + enc_update + dec_fwd + dec_update + dec_fwd + enc_fwd + 4 * (n + 2),
        "GAN": 2 * dec_fwd + dec_update + disc,
    }
    per_image["AVA2"] = per_image["AVA1"]
    per_image["AVA4"] = per_image["AVA3"]
    per_image["AVA5"] = per_image["AVA1"] + enc_fwd + 4 * (n + 2)
    generations = n_images * GENERATIONS_PER_IMAGE
    generate = generations * (n * h + p)
    bm = generations * 3 * p
    return 3 * (n_images * per_image[model] + generate) + bm


def multiply_add_rate() -> float:
    """Single-thread multiply-adds per second of numpy's a * b + c on cache-sized arrays."""
    a, b, c = (np.random.default_rng(0).random(20_000) for _ in range(3))
    out = np.empty_like(a)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(200):
            np.multiply(a, b, out=out)
            np.add(out, c, out=out)
        best = min(best, time.perf_counter() - started)
    return 200 * a.size / best


def time_cells(images, seeds):
    rows = []
    for model, lr in SAMPLE_CELLS:
        started = time.perf_counter()
        record, _ = run_cell(
            images.pixels, dataset="bench", protocol="author", model=model, lr=lr,
            seeds=seeds, options={}, data_sha256=images.combined_sha256,
        )
        seconds = time.perf_counter() - started
        macs = len(seeds) * author_macs_per_seed(model, images.pixels.shape[1], images.count)
        rows.append({"model": model, "lr": lr, "seconds": seconds, "macs": macs})
    return rows


def full_run(data_dir: Path, cores: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="ava-bench-") as workdir:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
             workdir, "--cores", str(cores), "--quiet", "--config", f"data_dir={data_dir}"],
            capture_output=True, text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"error: the full run failed:\n{done.stderr[-2000:]}")
        cells = sorted(Path(workdir, "results").glob("*/*/cells/*/*.json"))
        inside = [json.loads(c.read_text())["wall_seconds"] for c in cells]
        job_walls = []
        for tsv in Path(workdir, "results").glob("*/*/benchmarks/cells/*.tsv"):
            with open(tsv) as handle:
                job_walls.append(float(next(csv.DictReader(handle, delimiter="\t"))["s"]))
    n = len(cells)
    return {
        "cores": cores,
        "cells": n,
        "wall_seconds": wall,
        "jobs_per_minute": 60 * n / wall,
        "mean_cell_seconds_inside_job": sum(inside) / n,
        "mean_job_seconds": sum(job_walls) / len(job_walls),
        "mean_job_overhead_seconds": (sum(job_walls) - sum(inside)) / n,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a folder with the 36 frames")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also time the full default run")
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args(argv)

    images = load_folder(args.data_dir)
    rate = multiply_add_rate()
    rows = time_cells(images, list(range(args.seeds)))
    print(f"machine: {platform.processor() or platform.machine()}, numpy multiply-add rate "
          f"{rate / 1e9:.2f} G/s (one thread)")
    print(f"{'cell':<14}{'seconds':>9}{'lower bound':>13}{'ratio':>8}")
    for row in rows:
        row["lower_bound_seconds"] = row["macs"] / rate
        row["ratio"] = row["seconds"] / row["lower_bound_seconds"]
        print(f"{row['model']} {row['lr']:<9}{row['seconds']:>9.3f}{row['lower_bound_seconds']:>13.3f}"
              f"{row['ratio']:>7.1f}x")
    mean_cell = sum(r["seconds"] for r in rows) / len(rows)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.node(),
        "cpu_count": os.cpu_count(),
        "seeds": args.seeds,
        "multiply_add_rate": rate,
        "cells": rows,
        "mean_cell_seconds": mean_cell,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.full:
        result["full"] = full_run(args.data_dir.resolve(), args.cores)
        f = result["full"]
        print(f"full default run: {f['cells']} cells in {f['wall_seconds']:.1f} s with --cores "
              f"{f['cores']} ({f['jobs_per_minute']:.0f} jobs/min); per job "
              f"{f['mean_job_seconds']:.2f} s of which {f['mean_job_overhead_seconds']:.2f} s "
              f"start-up and I/O outside training")
    atomic.write_json(args.out / f"{result['when'].replace(':', '')}.json", result)
    history = args.out / "history.csv"
    line = {
        "when": result["when"],
        "machine": result["machine"],
        "mean_cell_seconds": f"{mean_cell:.4f}",
        "full_wall_seconds": f"{result['full']['wall_seconds']:.1f}" if args.full else "",
        "jobs_per_minute": f"{result['full']['jobs_per_minute']:.1f}" if args.full else "",
        "peak_rss_mb": f"{result['peak_rss_mb']:.0f}",
    }
    # csv quoting: a host name or a machine field with a comma stays one column.
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=list(line), lineterminator="\n")
    if not history.exists():
        writer.writeheader()
    writer.writerow(line)
    previous = history.read_text() if history.exists() else ""
    atomic.write_text(history, previous + rows.getvalue())
    print(f"wrote {history}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
