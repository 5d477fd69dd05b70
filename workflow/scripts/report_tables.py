"""`script:` of the table-page rules (report_tables, report_compare_table, fidelity_table_page):
each input CSV as a self-contained HTML page, paired with the output of the same name.

``params.pages`` names the kind of pages in avarep.paths.TABLE_PAGES (protocol, compare,
fidelity); a protocol's titles name the protocol.
"""

import contextlib

import _bootstrap  # noqa: F401

from avarep import atomic, pages
from avarep.paths import TABLE_PAGES


def write_pages(sm) -> None:
    kinds = TABLE_PAGES[sm.params.pages]
    protocol = getattr(sm.wildcards, "protocol", "")
    for key in sm.output.keys():
        _, title, layout = kinds[key]
        html = pages.table_page(sm.input[key], title.format(p=protocol), layout)
        atomic.write_text(sm.output[key], html)
        print(f"wrote {sm.output[key]}")


with open(snakemake.log[0], "w") as log, contextlib.redirect_stdout(log), \
        contextlib.redirect_stderr(log):  # noqa: F821 (snakemake: the `script:` object)
    write_pages(snakemake)  # noqa: F821
