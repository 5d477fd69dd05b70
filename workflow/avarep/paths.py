"""One home for the pipeline's output lists: what `rule all` asks for, per stage.

The rules name their own outputs (Snakemake's way); the lists of files a target needs --
a protocol's aggregate and check outputs, the comparison, the report's pages -- live here, so
the rules files hold rules only (snakemake --lint) and a new output is listed once.
"""

from __future__ import annotations

from typing import Sequence

#: The check's outputs of one protocol, under <results>/<protocol>/check/.
CHECK_FILES = ("cells.csv", "table3.csv", "claims.csv", "verdicts.csv", "equivalence.csv",
               "sensitivity.csv", "summary.md")
#: The comparison's outputs, under <results>/compare/.
COMPARE_FILES = ("compare.csv", "compare.png", "summary.md")


def cell_records(results: str, run: str, models: Sequence[str], lrs: Sequence[str]) -> list[str]:
    return [f"{results}/{run}/cells/{m}/lr{lr}.json" for m in models for lr in lrs]


def model_cell_files(results: str, lrs: Sequence[str], extension: str) -> list[str]:
    """A training job's outputs: one file per learning rate, in the sweep's order, for the
    ``{protocol}`` and ``{model}`` wildcards of the job (records: "json", strips: "png")."""
    return [f"{results}/{{protocol}}/cells/{{model}}/lr{lr}.{extension}" for lr in lrs]


def aggregate_outputs(results: str, run: str, models: Sequence[str]) -> list[str]:
    """A run's bm.csv and tables (rule aggregate) and its figures (rule figures)."""
    base = f"{results}/{run}"
    return [
        f"{base}/bm.csv",
        *[f"{base}/table{n}.{ext}" for n in (1, 2, 3) for ext in ("csv", "md")],
        f"{base}/figure5.png",
        f"{base}/figure5.pdf",
        *[f"{base}/stability.{ext}" for ext in ("csv", "md")],
        f"{base}/figures/stability.png",
        *[f"{base}/figures/bm_vs_lr_{m}.png" for m in models],
    ]


def final_outputs(results: str, protocols: Sequence[str], models: Sequence[str]) -> list[str]:
    """The main grid's outputs: each protocol's aggregate and check, and the comparison."""
    outputs = []
    for protocol in protocols:
        outputs += aggregate_outputs(results, protocol, models)
        outputs += [f"{results}/{protocol}/check/{name}" for name in CHECK_FILES]
    if len(protocols) > 1:
        outputs += [f"{results}/compare/{name}" for name in COMPARE_FILES]
    return outputs


#: The report's table pages. Per kind, output key -> (page name, title, layout); "{p}" in a
#: title is the protocol.
PROTOCOL_TABLES = {
    "table1": ("table1", "Table 1 ({p}): BM, mean ± SD over seeds", "table12"),
    "table2": ("table2", "Table 2 ({p}): BM, mean ± SD over seeds", "table12"),
    "table3": ("table3", "Table 3 ({p}): statistics of BM over γ", "table3"),
    "cells": ("check_cells", "Check ({p}): every cell against the paper", "long"),
    "check_table3": ("check_table3", "Check ({p}): Table 3 against the paper", "long"),
    "claims": ("check_claims", "Check ({p}): each comparison behind the claims", "long"),
    "verdicts": ("check_verdicts", "Check ({p}): a verdict per claim", "long"),
    "equivalence": ("check_equivalence",
                    "Check ({p}): are AVA2/AVA1 and AVA4/AVA3 distinguishable?", "long"),
}
COMPARE_TABLES = {"table": ("compare", "Author vs paper vs published: every cell", "long")}
FIDELITY_TABLES = {"table": ("fidelity", "Fidelity study: each reading of the author's code", "long")}
TABLE_PAGES = {"protocol": PROTOCOL_TABLES, "compare": COMPARE_TABLES, "fidelity": FIDELITY_TABLES}


def benchmark_files(results: str, protocols: Sequence[str], models: Sequence[str]) -> list[str]:
    """The benchmark file of every job of the default run but the summary's own two
    (benchmarks_summary, which reads these, and report_summary, which reads its table)."""
    files = [f"{results}/benchmarks/{rule}.tsv" for rule in ("prepare_data", "outcome", "checklist")]
    for protocol in protocols:
        base = f"{results}/{protocol}/benchmarks"
        files += [f"{base}/cells/{m}.tsv" for m in models]
        files += [f"{base}/{rule}.tsv"
                  for rule in ("aggregate", "figures", "check", "report_tables", "samples_grid")]
    if len(protocols) > 1:
        files += [f"{results}/benchmarks/{rule}.tsv" for rule in ("compare", "report_compare_table")]
    return files


SUMMARY_INPUTS = {"bm": "bm.csv", "figure5": "figure5.png", "cells": "check/cells.csv",
                  "table3": "check/table3.csv", "claims": "check/claims.csv",
                  "verdicts": "check/verdicts.csv", "sensitivity": "check/sensitivity.csv"}


def summary_inputs(results: str, protocols: Sequence[str]) -> dict[str, str]:
    inputs = {"manifest": f"{results}/manifest.json",
              "benchmarks": f"{results}/benchmarks_summary.csv"}
    for protocol in protocols:
        for key, name in SUMMARY_INPUTS.items():
            inputs[f"{protocol}_{key}"] = f"{results}/{protocol}/{name}"
    if len(protocols) > 1:
        inputs["compare"] = f"{results}/compare/compare.csv"
    return inputs


def report_outputs(results: str, protocols: Sequence[str]) -> list[str]:
    """The report's own outputs, for `rule all` (--report needs them to exist)."""
    report = f"{results}/report"
    files = [f"{report}/reproducibility_summary.{ext}" for ext in ("rst", "md", "html")]
    files += [f"{results}/benchmarks_summary.csv", f"{report}/benchmarks_summary.html"]
    for protocol in protocols:
        files.append(f"{results}/{protocol}/samples_grid.png")
        files += [f"{report}/{protocol}/{page}.html" for page, _, _ in PROTOCOL_TABLES.values()]
    if len(protocols) > 1:
        files.append(f"{report}/compare.html")
    return files
