"""Paths and command-line pieces of the report's rules (workflow/rules/report.smk).

Kept out of the .smk file so that it holds rules only (snakemake --lint).
"""

from __future__ import annotations

import shlex
from typing import Mapping, Sequence

#: The table pages of one protocol: output key -> (page name, title, layout).
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


def table_args(input, output, tables: Mapping[str, tuple], protocol: str = "") -> str:
    """--table CSV HTML TITLE LAYOUT per output, paired with the input of the same name."""
    return " ".join(
        "--table " + " ".join(shlex.quote(str(part)) for part in (
            input[key], output[key], tables[key][1].format(p=protocol), tables[key][2]))
        for key in output.keys()
    )


def benchmark_files(results: str, protocols: Sequence[str], models: Sequence[str],
                    lrs: Sequence[str]) -> list[str]:
    """Every benchmark file the pipeline's rules write (the report's own rules write none)."""
    files = [f"{results}/benchmarks/prepare_data.tsv"]
    for protocol in protocols:
        base = f"{results}/{protocol}/benchmarks"
        files += [f"{base}/cells/{m}_lr{lr}.tsv" for m in models for lr in lrs]
        files += [f"{base}/aggregate.tsv", f"{base}/check.tsv"]
    if len(protocols) > 1:
        files.append(f"{results}/benchmarks/compare.tsv")
    return files


SUMMARY_INPUTS = {"bm": "bm.csv", "figure5": "figure5.png", "cells": "check/cells.csv",
                  "table3": "check/table3.csv", "claims": "check/claims.csv",
                  "verdicts": "check/verdicts.csv"}


def summary_inputs(results: str, protocols: Sequence[str]) -> dict[str, str]:
    inputs = {"manifest": f"{results}/manifest.json",
              "benchmarks": f"{results}/benchmarks_summary.csv"}
    for protocol in protocols:
        for key, name in SUMMARY_INPUTS.items():
            inputs[f"{protocol}_{key}"] = f"{results}/{protocol}/{name}"
    if len(protocols) > 1:
        inputs["compare"] = f"{results}/compare/compare.csv"
    return inputs


def summary_args(input, protocols: Sequence[str]) -> str:
    """--protocol NAME BM CELLS TABLE3 CLAIMS VERDICTS FIGURE5 per protocol, --compare if any."""
    order = ["bm", "cells", "table3", "claims", "verdicts", "figure5"]
    args = [f"--protocol {p} " + " ".join(shlex.quote(str(input[f"{p}_{k}"])) for k in order)
            for p in protocols]
    if "compare" in input.keys():
        args.append(f"--compare {shlex.quote(str(input['compare']))}")
    return " ".join(args)


def outputs(results: str, protocols: Sequence[str]) -> list[str]:
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
