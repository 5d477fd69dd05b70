"""Screen readings of the author's code in-process on a few cells before running full grids.

    python workflow/scripts/screen_readings.py --data-dir ../shared/data/orbit-100x64 \
        --readings 2023-12 shared-generations --models AVA1 AVA2 AVA3 AVA4 \
        --lrs 0.08 0.07 0.06 0.05 0.04 0.03 --seeds 20 --out screen.csv

Trains every (reading, model, gamma, seed) with the same seeded streams as the pipeline's
cells (so a value equals the one `snakemake fidelity` records), writes one row per seed, and
prints per reading: mean |Δ| to the published cells, how many lie inside the 95% prediction
interval, and the twin variance ratio over the screened learning rates (avarep.spread).
"""

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401

import pandas as pd
from scipy import stats

from avarep import atomic, spread
from avarep.cell import run_seed
from avarep.data import load_folder
from avarep.protocols import author
from avarep.published import load_bm
from avarep.readings import options


def screen(images, readings, models, lrs, seeds) -> pd.DataFrame:
    rows = []
    for reading in readings:
        for model in models:
            for lr in lrs:
                for seed in range(seeds):
                    run, _ = run_seed(images, author, model, lr, seed, author.check_options(options(reading)))
                    rows.append({"reading": reading, "model": model, "lr": lr, "seed": seed,
                                 "bm": run["bm"], "status": run["status"]})
    return pd.DataFrame(rows)


def summary_line(reading: str, frame: pd.DataFrame, published: pd.DataFrame) -> str:
    seeds = spread.seed_values(frame)
    cells = spread.cell_stats(seeds, published)
    inside = spread.coverage(seeds, published, counts=(int(cells["n"].min()),)).iloc[0]
    twins = spread.twin_differences(seeds, published)
    ratio = "—"
    if len(twins):
        chi2 = float((twins["z"] ** 2).sum())
        p = min(1.0, 2 * min(stats.chi2.sf(chi2, len(twins)), stats.chi2.cdf(chi2, len(twins))))
        ratio = f"{chi2 / len(twins):.2f} over {len(twins)} twin cells (two-sided p = {p:.2g})"
    delta = (cells["published"] - cells["mean"]).abs().mean()
    return (f"{reading}: mean |Δ| {delta:.4f}; inside {inside['inside']:.0f}/{inside['cells']:.0f}; "
            f"twin variance ratio {ratio}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, type=Path, help="folder of the paper's PNG frames")
    parser.add_argument("--readings", nargs="+", required=True)
    parser.add_argument("--models", nargs="+", default=["AVA1", "AVA2", "AVA3", "AVA4"])
    parser.add_argument("--lrs", nargs="+", type=float, default=[0.08, 0.07, 0.06, 0.05, 0.04, 0.03])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per cell")
    parser.add_argument("--out", required=True, type=Path, help="CSV: one row per reading, cell and seed")
    args = parser.parse_args(argv)
    for reading in args.readings:
        options(reading)  # an unknown reading fails here, before any training
    images = load_folder(args.data_dir).pixels
    frame = screen(images, args.readings, args.models, args.lrs, args.seeds)
    atomic.write_text(args.out, frame.to_csv(index=False))
    published = load_bm()
    for reading, part in frame.groupby("reading", sort=False):
        print(summary_line(reading, part, published))
    return 0


if __name__ == "__main__":
    sys.exit(main())
