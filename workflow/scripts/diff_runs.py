"""Compare two results folders cell by cell and write a Markdown summary for a pull request.

    python workflow/scripts/diff_runs.py results/orbit-100x64 ../colleague/results/orbit-100x64 \
        [--out diff.md] [--csv diff.csv] [--alpha 0.05] [--fail-on-difference]

See avarep.rundiff for what "identical", "within noise" and "differs" mean. Prints the
Markdown when --out is not given. With --fail-on-difference it exits 1 when any cell
differs beyond the seeds' spread or is in one folder only (for CI: "did this change move
any number?").
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

from avarep import atomic, rundiff  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="results/<dataset>/ of run A (the baseline)")
    parser.add_argument("b", type=Path, help="results/<dataset>/ of run B")
    parser.add_argument("--out", type=Path, help="write the Markdown summary here")
    parser.add_argument("--csv", type=Path, help="write every cell's row here")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--fail-on-difference", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not 0 < args.alpha < 1:
        print(f"error: --alpha must lie in (0, 1), got {args.alpha}", file=sys.stderr)
        return 2
    try:
        frame = rundiff.diff(args.a, args.b, args.alpha)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.csv:
        atomic.write_text(args.csv, frame.to_csv(index=False))
    text = rundiff.markdown(frame, args.a, args.b, args.alpha, csv_name=str(args.csv) if args.csv else None)
    if args.out:
        atomic.write_text(args.out, text)
    else:
        print(text, end="")
    moved = frame["flag"].isin([rundiff.DIFFERS, rundiff.ONLY_A, rundiff.ONLY_B]).any()
    return 1 if args.fail_on_difference and moved else 0


if __name__ == "__main__":
    sys.exit(main())
