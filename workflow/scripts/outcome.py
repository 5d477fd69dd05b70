"""Rule entry point: the replication's outcome as JSON, derived from the check's outputs.

    outcome.py --dataset NAME --check PROTOCOL=DIR [...] [--run-json PATH] --out outcome.json

See avarep.outcome for the rules that map the check's verdicts to reproduced / partially /
not reproduced.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

from avarep import atomic, outcome  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--check", required=True, nargs="+", metavar="PROTOCOL=DIR",
                        help="each protocol's check/ folder")
    parser.add_argument("--run-json", type=Path, help="the run's run.json (provenance), if any")
    parser.add_argument("--out", required=True, type=Path)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        checks = dict(item.split("=", 1) for item in args.check)
    except ValueError:
        print(f"error: --check expects PROTOCOL=DIR, got {args.check}", file=sys.stderr)
        return 2
    run = None
    if args.run_json and args.run_json.is_file():
        run = json.loads(args.run_json.read_text(encoding="utf-8"))
    try:
        result = outcome.build(args.dataset, {name: Path(path) for name, path in checks.items()}, run)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atomic.write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
