"""Rule entry point: the reproducibility checklist page (Markdown and HTML).

    checklist.py --dataset NAME --manifest manifest.json --models M ... \
        --records PROTOCOL=R1.json,R2.json,... [...] [--run-json run.json] --md OUT --html OUT
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

from avarep import atomic, checklist, provenance  # noqa: E402
from avarep.cell import CorruptRecord  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--models", required=True, nargs="+")
    parser.add_argument("--records", required=True, nargs="+", metavar="PROTOCOL=FILE,FILE")
    parser.add_argument("--run-json", type=Path)
    parser.add_argument("--md", required=True, type=Path)
    parser.add_argument("--html", required=True, type=Path)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    run = None
    if args.run_json and args.run_json.is_file():
        run = json.loads(args.run_json.read_text(encoding="utf-8"))
    try:
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
        records = {}
        for item in args.records:
            protocol, _, paths = item.partition("=")
            records[protocol] = checklist.load_records(paths.split(","))
    except (OSError, ValueError, CorruptRecord) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    machine = run["machine"] if run and run.get("machine") else provenance.machine()
    doc = checklist.build_page(args.dataset, manifest, run, machine, records, args.models)
    atomic.write_text(args.md, doc.md())
    atomic.write_text(args.html, doc.html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
