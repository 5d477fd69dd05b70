"""Measure the pipeline's speed: seconds per seed next to each protocol's limit, the full run.

    python workflow/scripts/benchmark.py --data-dir ../shared/data/orbit-100x64 [--full]

* ``author``, per seed: a few (model, lr) cells trained in this process, timed, next to the
  arithmetic limit: the seed's multiply-adds, exp and sqrt evaluations (avarep.limits) at
  this machine's measured single-thread rates for each;
* ``paper``, per seed: a few cells (``--paper-seeds`` seeds each) next to the memory limit:
  the bytes the seed streams over its 3P-wide weight matrices (avarep.limits counts the
  passes) at the measured single-thread memory bandwidth (arrays far beyond the cache);
* ``--device cuda``: the ``paper`` cells run on the GPU (their seeds stacked, avarep.stacked)
  and their limit is the bytes of an eager update (no collected updates) at the GPU's
  measured memory bandwidth; the ``--full`` run gets ``device=cuda`` too;
* per-job start-up, per protocol: a fresh interpreter importing what a training job imports;
* Snakemake's per-job overhead (--full): a training job's wall time (its benchmark file;
  one job per protocol x model) minus the time its cells spent training inside it;
* --full: the full default grid (2 protocols x 133 cells x 5 seeds) with `snakemake --cores 4`
  in a fresh directory (a cold start: no earlier results), wall time and cells per minute
  (history column ``jobs_per_minute``, named when a job was one cell);
  ``--protocols author`` times the author protocol alone.

Each run appends one line to results/benchmarks/history.csv (and writes the details to
results/benchmarks/<timestamp>.json), so a change can be compared with an earlier one on
the same machine; columns added later are appended to the right, empty in older rows.
Never run it while other heavy work shares the machine.
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

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, as a training job runs
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import _bootstrap  # noqa: E402,F401

import numpy as np  # noqa: E402

from avarep import allocator, atomic, limits  # noqa: E402
from avarep.cell import run_cell  # noqa: E402
from avarep.data import load_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CELLS = [("AVA5", 1.0), ("AVA5", 0.05), ("AVA1", 0.3), ("VAE", 0.1), ("GAN", 0.01)]
PAPER_SAMPLE_CELLS = [("VAE", 0.1), ("AVA5", 0.01)]
PROTOCOLS = ("author", "paper")


def measure_rates(bandwidth_megabytes: int) -> dict:
    return {
        "multiply_add": limits.multiply_add_rate(),
        "exp": limits.ufunc_rate(np.exp),
        "sqrt": limits.ufunc_rate(np.sqrt),
        "memory_bytes": limits.memory_bandwidth(bandwidth_megabytes),
    }


def author_limit_seconds(model: str, n_pixels: int, n_images: int, rates: dict) -> float:
    """A seed's multiply-adds, exps and sqrts, each at its measured rate."""
    counts = limits.author_transcendentals_per_seed(model, n_pixels, n_images)
    return (limits.author_macs_per_seed(model, n_pixels, n_images) / rates["multiply_add"]
            + counts["exp"] / rates["exp"] + counts["sqrt"] / rates["sqrt"])


def paper_limit_seconds(model: str, n_pixels: int, n_images: int, rates: dict) -> float:
    """A seed's bytes over its wide weight matrices at the measured memory bandwidth (on a
    GPU: its own, and every update added at once, as stacked seeds do)."""
    if "device_memory_bytes" in rates:
        return limits.paper_bytes_per_seed(model, n_pixels, n_images, capacity=0) / rates["device_memory_bytes"]
    return limits.paper_bytes_per_seed(model, n_pixels, n_images) / rates["memory_bytes"]


def time_cells(images, protocol, cells, seeds, rates, device="cpu"):
    """Per seed: the measured time of each cell next to its limit."""
    limit = author_limit_seconds if protocol == "author" else paper_limit_seconds
    options = {} if protocol == "author" else {"device": device}

    def run(model, lr, cell_seeds):
        run_cell(images.pixels, dataset="bench", protocol=protocol, model=model, lr=lr,
                 seeds=cell_seeds, options=options, data_sha256=images.combined_sha256)

    run(*cells[0], seeds[:1])  # untimed: first-call costs (imports, thread pools, page faults)
    rows = []
    for model, lr in cells:
        started = time.perf_counter()
        run(model, lr, seeds)
        per_seed = (time.perf_counter() - started) / len(seeds)
        bound = limit(model, images.pixels.shape[1], images.count, rates)
        rows.append({"protocol": protocol, "device": options.get("device", "cpu"),
                     "model": model, "lr": lr, "seconds_per_seed": per_seed,
                     "limit_seconds_per_seed": bound, "ratio": per_seed / bound})
    return rows


def print_cells(rows):
    print(f"{'protocol':<9}{'device':<8}{'cell':<14}{'s/seed':>9}{'limit':>9}{'ratio':>8}")
    for row in rows:
        print(f"{row['protocol']:<9}{row['device']:<8}{row['model'] + ' ' + str(row['lr']):<14}"
              f"{row['seconds_per_seed']:>9.3f}{row['limit_seconds_per_seed']:>9.3f}{row['ratio']:>7.1f}x")


def full_run(data_dir: Path, cores: int, protocols: list[str], device: str = "cpu") -> dict:
    config = [f"data_dir={data_dir}", f"device={device}"]
    if list(protocols) != list(PROTOCOLS):
        config.append(f"protocols=[{','.join(protocols)}]")
    with tempfile.TemporaryDirectory(prefix="ava-bench-") as workdir:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
             workdir, "--cores", str(cores), "--quiet", "--config", *config],
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
        "protocols": list(protocols),
        "device": device,
        "cells": n,
        "wall_seconds": wall,
        "jobs_per_minute": 60 * n / wall,
        "mean_cell_seconds_inside_job": sum(inside) / n,
        "jobs": len(job_walls),  # one per protocol x model, each training its model's cells
        "mean_job_seconds": sum(job_walls) / len(job_walls),
        "mean_job_overhead_seconds": (sum(job_walls) - sum(inside)) / len(job_walls),
    }


HISTORY_COLUMNS = ["when", "machine", "mean_cell_seconds", "full_wall_seconds",
                   "jobs_per_minute", "peak_rss_mb",
                   # added by issue 13; older rows leave them empty
                   "author_seconds_per_seed", "author_limit_seconds_per_seed",
                   "paper_seconds_per_seed", "paper_limit_seconds_per_seed",
                   "author_startup_seconds", "paper_startup_seconds", "full_protocols",
                   "device"]


def append_history(history: Path, line: dict) -> None:
    """Append one row; a file with fewer columns is rewritten with the new ones on the right
    (its rows keep their values and leave the new columns empty)."""
    rows, columns = [], list(HISTORY_COLUMNS)
    if history.exists():
        with open(history, newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            old = list(reader.fieldnames or [])
        columns = old + [c for c in HISTORY_COLUMNS if c not in old]
    # csv quoting: a host name or a machine field with a comma stays one column.
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows([*rows, line])
    atomic.write_text(history, text.getvalue())


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a folder with the 36 frames")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per author cell")
    parser.add_argument("--paper-seeds", type=int, default=2, help="seeds per paper cell")
    parser.add_argument("--full", action="store_true", help="also time the full default run")
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS),
                        help="the protocols of the --full run")
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--device", default="cpu", help="the paper protocol's device (cpu, cuda)")
    parser.add_argument("--bandwidth-mb", type=int, default=512,
                        help="array size for the memory bandwidth (beyond the last-level cache)")
    parser.add_argument("--startup-repeats", type=int, default=5, help="best of this many")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    return parser.parse_args(argv)


def mean_of(rows, key, protocol):
    values = [r[key] for r in rows if r["protocol"] == protocol]
    return sum(values) / len(values)


def main(argv=None) -> int:
    args = parse_args(argv)
    print(allocator.keep_freed_memory())  # as a training job does
    images = load_folder(args.data_dir)
    rates = measure_rates(args.bandwidth_mb)
    print(f"machine: {platform.processor() or platform.machine()}, one thread: multiply-add "
          f"{rates['multiply_add'] / 1e9:.2f} G/s, exp {rates['exp'] / 1e6:.0f} M/s, sqrt "
          f"{rates['sqrt'] / 1e6:.0f} M/s, memory {rates['memory_bytes'] / 1e9:.1f} GB/s")
    if args.device != "cpu":
        rates["device_memory_bytes"] = limits.device_memory_bandwidth(args.device)
        print(f"{args.device}: memory {rates['device_memory_bytes'] / 1e9:.0f} GB/s")
    rows = time_cells(images, "author", SAMPLE_CELLS, list(range(args.seeds)), rates)
    rows += time_cells(images, "paper", PAPER_SAMPLE_CELLS, list(range(args.paper_seeds)), rates,
                       args.device)
    print_cells(rows)
    startup = {protocol: limits.startup_seconds(protocol, args.startup_repeats)
               for protocol in PROTOCOLS}
    print("per-job start-up (imports of a training job): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
    author_cells = [r for r in rows if r["protocol"] == "author"]
    mean_cell = args.seeds * sum(r["seconds_per_seed"] for r in author_cells) / len(author_cells)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.node(),
        "device": args.device,
        "cpu_count": os.cpu_count(),
        "seeds": args.seeds,
        "paper_seeds": args.paper_seeds,
        "rates": rates,
        "multiply_add_rate": rates["multiply_add"],
        "cells": rows,
        "mean_cell_seconds": mean_cell,
        "startup_seconds": startup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.full:
        result["full"] = full_run(args.data_dir.resolve(), args.cores, args.protocols, args.device)
        print_full(result["full"])
    atomic.write_json(args.out / f"{result['when'].replace(':', '')}.json", result)
    history = args.out / "history.csv"
    append_history(history, history_line(result))
    print(f"wrote {history}")
    return 0


def print_full(f: dict) -> None:
    print(f"full run ({', '.join(f['protocols'])}): {f['cells']} cells in {f['wall_seconds']:.1f} s "
          f"with --cores {f['cores']} ({f['jobs_per_minute']:.0f} cells/min); {f['jobs']} "
          f"training jobs, per job {f['mean_job_seconds']:.2f} s of which "
          f"{f['mean_job_overhead_seconds']:.2f} s start-up and I/O outside training")


def history_line(result: dict) -> dict:
    """One row of history.csv from a run's result (the full-run columns empty without it)."""
    full = result.get("full")
    return {
        "when": result["when"],
        "machine": result["machine"],
        "mean_cell_seconds": f"{result['mean_cell_seconds']:.4f}",
        "full_wall_seconds": f"{full['wall_seconds']:.1f}" if full else "",
        "jobs_per_minute": f"{full['jobs_per_minute']:.1f}" if full else "",
        "peak_rss_mb": f"{result['peak_rss_mb']:.0f}",
        **{f"{protocol}_{key}": f"{mean_of(result['cells'], key, protocol):.4f}"
           for protocol in PROTOCOLS for key in ("seconds_per_seed", "limit_seconds_per_seed")},
        **{f"{protocol}_startup_seconds": f"{result['startup_seconds'][protocol]:.3f}"
           for protocol in PROTOCOLS},
        "full_protocols": " ".join(full["protocols"]) if full else "",
        "device": result.get("device", "cpu"),
    }


if __name__ == "__main__":
    sys.exit(main())
