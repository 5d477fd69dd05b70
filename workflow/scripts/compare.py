"""Rule entry point: author, paper and published side by side (results/<dataset>/compare/)."""

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401

import pandas as pd

from avarep import compare, published
from avarep.tables import experiment_of, read_bm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bm", nargs="+", required=True, help="each protocol's bm.csv")
    parser.add_argument("--verdicts", nargs="+", required=True, help="each protocol's check/verdicts.csv, same order")
    parser.add_argument("--outdir", required=True)
    args = parser.parse_args(argv)
    if len(args.bm) != len(args.verdicts):
        parser.error("--bm and --verdicts need one file per protocol each")
    longs, verdicts, sensitivities = {}, {}, {}
    for bm_path, verdict_path in zip(args.bm, args.verdicts):
        long = read_bm(bm_path)
        dataset, protocol = experiment_of(long)
        longs[protocol] = long
        verdicts[protocol] = pd.read_csv(verdict_path)
        # Written by the same check job as verdicts.csv, beside it.
        sensitivities[protocol] = pd.read_csv(Path(verdict_path).with_name("sensitivity.csv"))
    table = compare.side_by_side(longs, published.load_bm())
    compare.write(table, verdicts, dataset, args.outdir, sensitivities)
    return 0


if __name__ == "__main__":
    sys.exit(main())
