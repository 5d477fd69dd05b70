"""Rule entry point for the studies: `study.py fidelity|verdicts|robustness ...`.

fidelity and verdicts read the check outputs of their runs (results/<dataset>/<run>/check/;
see avarep.studies), robustness each run's bm.csv (see avarep.robustness and
avarep.studies.write_robustness).
"""

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401

import pandas as pd

from avarep import atomic, robustness, studies, tables


def write_robustness(runs: list[Path], seeds: int, out: Path) -> None:
    """The baseline (the paper run) and each robustness-<name> run, by name, on seeds 0..N-1."""
    names = {run: run.name.removeprefix("robustness-") if run.name.startswith("robustness-")
             else robustness.BASELINE for run in runs}
    longs = {names[r]: tables.read_bm(r / "bm.csv") for r in runs}
    studies.write_robustness({name: long[long["seed"] < seeds] for name, long in longs.items()}, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("study", choices=["fidelity", "verdicts", "robustness"])
    parser.add_argument("--checks", nargs="+", type=Path,
                        help="check/ folders, one per run (results/<dataset>/<run>/check)")
    parser.add_argument("--runs", nargs="+", type=Path,
                        help="run folders (robustness): the paper baseline, robustness-<name>")
    parser.add_argument("--out", required=True, type=Path, help="output folder (fidelity) or file (verdicts)")
    parser.add_argument("--seeds", type=int, default=0,
                        help="seeds per cell (verdicts; robustness: seeds 0..N-1 of every run)")
    args = parser.parse_args(argv)
    if args.study == "robustness":
        write_robustness(args.runs, args.seeds, args.out)
        return 0
    # A run's name is its folder: fidelity-<reading> or verdicts-<protocol>.
    names = {folder: folder.parent.name.split("-", 1)[1] for folder in args.checks}
    read = lambda name: {names[f]: pd.read_csv(f / name) for f in args.checks}  # noqa: E731
    if args.study == "fidelity":
        # Each run's per-seed values (bm.csv, beside check/) give the spread measures.
        bm = {names[f]: pd.read_csv(f.parent / "bm.csv") for f in args.checks}
        studies.write_fidelity(read("cells.csv"), read("table3.csv"), args.out, bm)
    else:
        text = studies.verdicts_markdown(read("verdicts.csv"), read("claims.csv"),
                                         read("equivalence.csv"), args.seeds,
                                         read("sensitivity.csv"))
        atomic.write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
