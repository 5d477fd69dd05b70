"""Rule entry point for the report's own outputs (workflow/rules/report.smk).

    report.py tables  --table CSV HTML TITLE LAYOUT ...   CSVs as HTML table pages
    report.py grid    --records ... --strips ... --manifest M --out PNG --title T
    report.py benchmarks --tsv ... --csv OUT.csv --html OUT.html
    report.py summary --dataset D --manifest M --protocol NAME BM CELLS T3 CLAIMS VERDICTS FIG5 ...
                      [--compare compare.csv] [--benchmarks benchmarks_summary.csv]
                      --rst OUT.rst --md OUT.md --html OUT.html
"""

import argparse
import json
import sys

import _bootstrap  # noqa: F401

import pandas as pd

from avarep import atomic, report, sources, summary
from avarep.tables import read_bm


def tables(args) -> None:
    for csv_path, html_path, title, layout in args.table:
        atomic.write_text(html_path, report.table_page(csv_path, title, layout))


def grid(args) -> None:
    manifest = report.load_json(args.manifest)
    if len(args.records) != len(args.strips):
        raise SystemExit("error: --records and --strips need one file per cell each")
    cells = []
    for record_path, strip in zip(args.records, args.strips):
        record = report.load_json(record_path)
        cells.append({"model": record["model"], "lr": record["lr"], "strip": strip,
                      "bm_mean": record.get("bm_mean"), "n_ok": record.get("n_ok"),
                      "n_seeds": len(record.get("seeds", []))})
    models = list(dict.fromkeys(args.models))
    lrs = sorted({float(c["lr"]) for c in cells}, reverse=True)
    report.samples_grid(cells, manifest["width"], manifest["height"], models, lrs, args.out,
                        args.title)


def benchmarks(args) -> None:
    table = report.benchmarks_table(args.tsv)
    atomic.write_text(args.csv, table.to_csv(index=False))
    atomic.write_text(args.html, report.table_page(args.csv, args.title))


def make_summary(args) -> None:
    runs = []
    for name, bm, cells, t3, claims, verdicts, figure5 in args.protocol:
        runs.append(summary.ProtocolRun(
            name=name, bm=read_bm(bm), figure5=figure5, cells=pd.read_csv(cells), table3=pd.read_csv(t3),
            claims=pd.read_csv(claims), verdicts=pd.read_csv(verdicts)))
    with open(args.manifest) as handle:
        manifest = json.load(handle)
    compare = pd.read_csv(args.compare) if args.compare else None
    bench = pd.read_csv(args.benchmarks) if args.benchmarks else None
    doc = summary.build(args.dataset, manifest, runs, compare, bench)
    sources.add_front_page_sources(doc, [run.name for run in runs])
    atomic.write_text(args.rst, doc.rst())
    atomic.write_text(args.md, doc.md())
    atomic.write_text(args.html, doc.html())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tables")
    p.add_argument("--table", nargs=4, action="append", required=True,
                   metavar=("CSV", "HTML", "TITLE", "LAYOUT"), help="LAYOUT: long|table12|table3")
    p.set_defaults(run=tables)
    p = sub.add_parser("grid")
    p.add_argument("--records", nargs="+", required=True)
    p.add_argument("--strips", nargs="+", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--title", required=True)
    p.set_defaults(run=grid)
    p = sub.add_parser("benchmarks")
    p.add_argument("--tsv", nargs="+", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--html", required=True)
    p.add_argument("--title", default="Run statistics: Snakemake benchmarks per rule")
    p.set_defaults(run=benchmarks)
    p = sub.add_parser("summary")
    p.add_argument("--dataset", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--protocol", nargs=7, action="append", required=True,
                   metavar=("NAME", "BM", "CELLS", "TABLE3", "CLAIMS", "VERDICTS", "FIGURE5"))
    p.add_argument("--compare")
    p.add_argument("--benchmarks")
    p.add_argument("--rst", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--html", required=True)
    p.set_defaults(run=make_summary)
    args = parser.parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
