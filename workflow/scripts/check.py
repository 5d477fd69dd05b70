"""Rule entry point: compare bm.csv with the published numbers and judge the paper's claims.

    check.py --bm DIR/bm.csv --outdir DIR/check [--strict]

Writes cells.csv (per cell), table3.csv (per statistic and model), claims.csv (per atomic
comparison), verdicts.csv (per claim, 6 = all of 1-5), equivalence.csv (AVA2 vs AVA1 and
AVA4 vs AVA3 per learning rate), sensitivity.csv (the claims on the learning rates where
every seed is ok) and summary.md. With --strict it exits 1
after writing when any published cell lies outside the rule, naming each.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

from avarep import atomic, check, equivalence, published, sources, tables  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bm", required=True, type=Path, help="bm.csv written by aggregate.py")
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if any published cell is outside the rule")
    return parser.parse_args(argv)


def sensitivity_frame(healthy, rows, verdicts):
    """sensitivity.csv: the claim verdicts on the healthy learning rates (header only when
    every learning rate is healthy)."""
    columns = ["claim", "text", "verdict", "reason", "learning_rates"]
    if verdicts.empty:
        return verdicts.reindex(columns=columns)
    return verdicts.assign(learning_rates=" ".join(map(str, healthy)))[columns]


def run(bm_path: Path, outdir: Path) -> list[str]:
    """Write every check output; return the failing cells (for --strict)."""
    long = tables.read_bm(bm_path)
    dataset, protocol = tables.experiment_of(long)
    pub_t3 = published.load_table3()
    cells = check.cell_diff(tables.table12(long), published.load_bm())
    t3 = check.table3_diff(long, pub_t3)
    rows = check.claim_rows(long, published.load_claims(), pub_t3)
    verdicts = check.claim_verdicts(rows)
    per_lr, pairs = equivalence.equivalence(long)
    sensitive = check.sensitivity(long, published.load_claims(), pub_t3)
    outputs = (("cells", cells), ("table3", t3), ("claims", rows), ("verdicts", verdicts),
               ("equivalence", per_lr), ("sensitivity", sensitivity_frame(*sensitive)))
    for name, frame in outputs:
        atomic.write_text(outdir / f"{name}.csv", frame.to_csv(index=False))
    atomic.write_text(outdir / "summary.md",
                      check.summary_markdown(cells, t3, rows, verdicts, dataset, protocol, pairs,
                                             long, sensitive)
                      + sources.check_summary_markdown(bm_path.parent.name))
    return check.failing_cells(cells)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        failing = run(args.bm, args.outdir)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.strict and failing:
        print(f"strict: {len(failing)} cell(s) outside the rule:", file=sys.stderr)
        for line in failing:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
