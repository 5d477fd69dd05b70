"""Where every number of the check summary and the report's front page comes from.

Appended to those documents as a "Sources" section, one row per table or headline: the file
(relative to results/<dataset>/) and the rows and column it is computed from. Every per-cell
number leads back to bm.csv and from there to one cell record, which carries the commit and
config hash that produced it (avarep.provenance).
"""

from __future__ import annotations

import pandas as pd

from .report import Document

RECORD = "``{p}/cells/<model>/lr<γ>.json`` (``runs[].bm``, ``provenance``)"

#: (section of check/summary.md, its numbers, their source) for protocol folder {p}.
CHECK_SUMMARY = (
    ("Headline", "health", "count of each ``status`` in ``{p}/bm.csv`` (one row per seed; the rule in ``workflow/avarep/health.py``)"),
    ("Headline", "mean |Δ|", "mean of ``abs_delta`` over the rows of ``{p}/check/cells.csv`` with a published value"),
    ("Headline", "cells / Table 3 inside", "count of ``inside`` = True among judged rows of ``{p}/check/cells.csv`` / ``{p}/check/table3.csv``"),
    ("Headline", "claims, equivalences", "``verdict`` of ``{p}/check/verdicts.csv`` (one row per claim) and ``{p}/check/equivalence.csv``"),
    ("Mean |Δ| per model", "one per model", "mean of ``abs_delta`` over that model's rows of ``{p}/check/cells.csv``"),
    ("Claims", "verdicts", "``{p}/check/verdicts.csv``, row ``claim``"),
    ("Comparisons", "margin, CI, SDs", "``{p}/check/claims.csv``, row (``claim``, ``statistic``, ``model``, ``other``); from the per-seed BM in ``{p}/bm.csv``"),
    ("Sensitivity", "verdicts on the healthy γ", "``{p}/check/sensitivity.csv``, row ``claim``; the γ in column ``learning_rates``"),
    ("Equivalences", "p-values, verdicts", "``{p}/check/equivalence.csv``, row (pair, ``lr``)"),
    ("Table 3", "ours, published, |Δ|", "``{p}/check/table3.csv``, row (``statistic``, ``model``); ours from ``{p}/table3.csv``"),
    ("Cells", "mean, SD, |Δ|, interval", "``{p}/check/cells.csv``, row (``model``, ``lr``); mean and SD over the ok seeds' rows of ``{p}/bm.csv``, which come from the record " + RECORD),
)

#: (section of the front page, its numbers, their source); {p} = each protocol.
FRONT_PAGE = (
    ("Scope", "claims", "``{p}/check/verdicts.csv`` column ``text``"),
    ("Scope", "images, models, γ, seeds", "``manifest.json``; the distinct ``model``, ``lr``, ``seed`` of ``{p}/bm.csv``"),
    ("Methodology", "compute (s, MB)", "``benchmarks_summary.csv`` rows ``train_cells`` and ``all`` (sums of the Snakemake benchmark files ``{p}/benchmarks/``)"),
    ("Results", "cells inside, mean |Δ|", "``{p}/check/cells.csv``: count of ``inside`` = True among judged rows; mean of ``abs_delta`` where a published value exists"),
    ("Results", "Table 3 inside", "``{p}/check/table3.csv``, count of ``inside`` = True among judged rows"),
    ("Results", "seeds not ok", "``{p}/bm.csv`` column ``status`` (each row from the record " + RECORD + ")"),
    ("Results", "claims holding, verdict per claim", "``{p}/check/verdicts.csv`` columns ``verdict``, ``published_verdict``"),
    ("Results", "verdicts on the healthy γ only", "``{p}/check/sensitivity.csv`` column ``verdict``; the γ in column ``learning_rates`` (no rows: every γ is healthy, or fewer than 2 are)"),
    ("Results", "largest deviations", "``{p}/check/cells.csv`` rows with ``inside`` = False, by ``abs_delta``"),
    ("Results", "mean |Δ| per model and protocol", "``compare/compare.csv``, mean of ``<protocol>_abs_delta`` per ``model``"),
    ("What was difficult", "comparisons holding / failing / not resolved", "``{p}/check/claims.csv`` column ``verdict``"),
    ("Everywhere", "code and config that produced it", "``run.json`` (commit, config SHA-256) and each record's ``provenance``"),
)


def _rows(entries, protocol: str) -> pd.DataFrame:
    return pd.DataFrame([{"section": section, "numbers": numbers, "source": source.format(p=protocol)}
                         for section, numbers, source in entries])


def _md_cell(text: str) -> str:
    """Markdown inline code uses single backticks; a bar inside a table cell must be escaped."""
    return text.replace("``", "`").replace("|", "\\|")


def check_summary_markdown(protocol: str) -> str:
    """The "Sources" section appended to <protocol>/check/summary.md."""
    rows = _rows(CHECK_SUMMARY, protocol)
    lines = ["", "## Sources", "",
             "Paths are relative to ``results/<dataset>/``; every table above is one of these "
             "files, rendered.".replace("``", "`"), "",
             "| section | numbers | source |", "|---|---|---|"]
    lines += ["| " + " | ".join(_md_cell(text) for text in (r.section, r.numbers, r.source)) + " |"
              for r in rows.itertuples()]
    return "\n".join(lines) + "\n"


def add_front_page_sources(doc: Document, protocols: list[str]) -> Document:
    """A "Sources" section at the end of the reproducibility summary."""
    doc.heading("Sources")
    doc.para("Every number on this page is read from the run's files (paths relative to "
             "``results/<dataset>/``; ``<protocol>`` is " + ", ".join(f"``{p}``" for p in protocols) + "):")
    rows = _rows(FRONT_PAGE, "<protocol>")
    if len(protocols) < 2:  # no compare/ folder with a single protocol
        rows = rows[~rows["source"].str.contains("compare/compare.csv", regex=False)]
    doc.table(rows)
    return doc
