"""Rule entry point: a run's bm.csv -> Figure 5 and the figures of BM against γ.

    draw_figures.py --bm DIR/bm.csv --outdir DIR [--models AVA1 AVA2 ...]

Writes DIR/figure5.png, figure5.pdf, figures/stability.png and figures/bm_vs_lr_<MODEL>.png
for each model present, from the same tables aggregate.py computes (recomputed here from
bm.csv: milliseconds). A bm.csv that cannot be read, lacks a column or has no rows stops
it with ``error: ...`` and exit status 2.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

from avarep import figures, health, published, tables  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bm", required=True, type=Path, help="the run's bm.csv")
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--models", nargs="+", help="models in this order (default: all present)")
    return parser.parse_args(argv)


def unhealthy_cells(t12) -> dict[str, str]:
    """model -> 'no Table 3: k γ with < 2 ok seeds' for the models Figure 5 cannot show."""
    short = t12[t12["n_ok"] < tables.MIN_OK_SEEDS].groupby("model").size()
    return {model: f"no Table 3: {n} γ with < {tables.MIN_OK_SEEDS} ok seeds"
            for model, n in short.items()}


def draw(long, outdir: Path, models=None) -> None:
    _, protocol = tables.experiment_of(long)
    t12 = tables.table12(long)
    t3 = tables.table3_of(t12, models or tables.ordered_models(long["model"].unique()))
    figures.figure5(t3, published.load_table3(), outdir / "figure5.png", outdir / "figure5.pdf",
                    missing=unhealthy_cells(t12))
    figures.stability_map(tables.stability_map(long),
                          f"{protocol}: ok seeds per cell ({health.RULE_NAME})",
                          outdir / "figures" / "stability.png")
    pub_bm = published.load_bm()
    for model in t3.columns:  # the models present, in order
        figures.bm_vs_lr(long, pub_bm, model, outdir / "figures" / f"bm_vs_lr_{model}.png")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        long = tables.read_bm(args.bm)
    except (OSError, ValueError) as exc:
        print(f"error: {args.bm}: {exc}", file=sys.stderr)
        return 2
    missing = [c for c in tables.LONG_COLUMNS if c not in long.columns]
    if missing or long.empty:
        print(f"error: {args.bm}: not a run's bm.csv ("
              + (f"no column {', '.join(missing)})" if missing else "no rows)"), file=sys.stderr)
        return 2
    draw(long, args.outdir, args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
