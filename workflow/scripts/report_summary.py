"""`script:` of rule report_summary: the reproducibility summary (the report's front page)
as reStructuredText, Markdown and HTML, from each protocol's outputs (named inputs
``<protocol>_bm``, ``_cells``, ``_table3``, ``_claims``, ``_verdicts``, ``_sensitivity``,
``_figure5``)."""

import contextlib
import json

import _bootstrap  # noqa: F401

import pandas as pd

from avarep import atomic, sources, summary
from avarep.tables import read_bm


def protocol_run(sm, name: str) -> summary.ProtocolRun:
    read = lambda key: pd.read_csv(sm.input[f"{name}_{key}"])  # noqa: E731
    return summary.ProtocolRun(
        name=name, bm=read_bm(sm.input[f"{name}_bm"]), figure5=sm.input[f"{name}_figure5"],
        cells=read("cells"), table3=read("table3"), claims=read("claims"),
        verdicts=read("verdicts"), sensitivity=read("sensitivity"))


def write_summary(sm) -> None:
    runs = [protocol_run(sm, name) for name in sm.params.protocols]
    with open(sm.input.manifest) as handle:
        manifest = json.load(handle)
    compare = pd.read_csv(sm.input.compare) if "compare" in sm.input.keys() else None
    doc = summary.build(sm.params.dataset, manifest, runs, compare,
                        pd.read_csv(sm.input.benchmarks))
    sources.add_front_page_sources(doc, [run.name for run in runs])
    atomic.write_text(sm.output.rst, doc.rst())
    atomic.write_text(sm.output.md, doc.md())
    atomic.write_text(sm.output.html, doc.html())


with open(snakemake.log[0], "w") as log, contextlib.redirect_stdout(log), \
        contextlib.redirect_stderr(log):  # noqa: F821 (snakemake: the `script:` object)
    write_summary(snakemake)  # noqa: F821
