"""`script:` of rule benchmarks_summary: Snakemake's benchmark files summed per rule, as a
CSV and as an HTML page for the report."""

import contextlib

import _bootstrap  # noqa: F401

from avarep import atomic, pages
from avarep.benchtable import benchmarks_table

TITLE = "Run statistics: Snakemake benchmarks per rule"


def write_summary(sm) -> None:
    table = benchmarks_table(list(sm.input))
    atomic.write_text(sm.output.csv, table.to_csv(index=False))
    atomic.write_text(sm.output.html, pages.table_page(sm.output.csv, TITLE))


with open(snakemake.log[0], "w") as log, contextlib.redirect_stdout(log), \
        contextlib.redirect_stderr(log):  # noqa: F821 (snakemake: the `script:` object)
    write_summary(snakemake)  # noqa: F821
