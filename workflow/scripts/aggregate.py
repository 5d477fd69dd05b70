"""Rule entry point: cell records -> bm.csv and Tables 1-3 (CSV + Markdown).

    aggregate.py --cells J1.json J2.json ... --outdir DIR [--models AVA1 AVA2 ...]

Writes DIR/bm.csv, table1.csv, table1.md, table2.csv, table2.md, table3.csv, table3.md,
stability.csv and stability.md; the figures are drawn from bm.csv by draw_figures.py (rule
figures), so that the check need not wait for matplotlib. A corrupt record (truncated or
edited) stops it with ``error: ...`` and exit status 2.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

from avarep import atomic, tables  # noqa: E402
from avarep.cell import CorruptRecord, read_record  # noqa: E402
from avarep.sweep import LEARNING_RATES  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", required=True, nargs="+", help="cell record JSON files")
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--models", nargs="+", help="models to tabulate, in this column order")
    return parser.parse_args(argv)


def select_models(long, wanted):
    """Keep the wanted models (default: all present); warn about records left out."""
    present = tables.ordered_models(long["model"].unique())
    if wanted is None:
        return long, present
    dropped = sorted(set(present) - set(wanted))
    if dropped:
        print(f"warning: ignoring records of models not in --models: {', '.join(dropped)}",
              file=sys.stderr)
    return long[long["model"].isin(wanted)], list(wanted)


def caption(dataset, protocol, long, lrs_present):
    n_seeds = long["seed"].nunique()
    text = f"Dataset `{dataset}`, protocol `{protocol}`, {n_seeds} seed(s) per cell."
    if set(LEARNING_RATES) - set(lrs_present):
        text += f" Reduced sweep: {len(set(lrs_present))} of the paper's 19 learning rates."
    return text


def aggregate(records, outdir: Path, models=None) -> None:
    long, models = select_models(tables.collect(records), models)
    dataset, protocol = tables.experiment_of(long)
    note = caption(dataset, protocol, long, long["lr"].unique())
    tables.write_bm(long, outdir / "bm.csv")
    t12 = tables.table12(long)
    for number in (1, 2):
        tables.write_table12(t12, number, outdir / f"table{number}.csv",
                             outdir / f"table{number}.md", models, note)
    t3 = tables.table3_of(t12, models)
    tables.write_table3(t3, outdir / "table3.csv", outdir / "table3.md",
                        note + " Table 3 uses the paper's semantics on our per-lr means.")
    stability = tables.stability_map(long)
    atomic.write_text(outdir / "stability.csv", stability.to_csv(index=False))
    atomic.write_text(outdir / "stability.md", tables.stability_markdown(stability, note))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        records = [read_record(path) for path in args.cells]
        aggregate(records, args.outdir, args.models)
    except (CorruptRecord, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
