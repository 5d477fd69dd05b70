"""Snakemake's per-job benchmark files, summed per rule (the report's run statistics)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd


#: The rule that trains the cells (its benchmark files sit in benchmarks/cells/).
TRAINING_RULE = "train_cells"


def benchmark_rule(path: str | os.PathLike) -> tuple[str, str]:
    """(rule, protocol) of a benchmark file: .../<protocol>/benchmarks/cells/*.tsv is train_cells."""
    path = Path(path)
    parts = path.parts
    rule = TRAINING_RULE if path.parent.name == "cells" else path.stem
    at = parts.index("benchmarks") if "benchmarks" in parts else 0
    owner = parts[at - 1] if at >= 1 else ""
    dataset_level = at >= 2 and parts[at - 2] == "results"
    return rule, ("—" if dataset_level else owner)


RULE_ORDER = ["prepare_data", TRAINING_RULE, "aggregate", "figures", "check", "compare",
              "outcome", "samples_grid", "report_tables", "report_compare_table", "checklist"]


def benchmarks_table(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Per (rule, protocol): jobs, total / mean / max seconds, max RSS (MB), CPU seconds."""
    rows = []
    for path in paths:
        frame = pd.read_csv(path, sep="\t")
        rule, protocol = benchmark_rule(path)
        for _, line in frame.iterrows():
            rows.append({"rule": rule, "protocol": protocol, "s": float(line["s"]),
                         "max_rss": pd.to_numeric(line.get("max_rss"), errors="coerce"),
                         "cpu_time": pd.to_numeric(line.get("cpu_time"), errors="coerce")})
    columns = ["rule", "protocol", "jobs", "total_s", "mean_s", "max_s", "max_rss_mb", "cpu_s"]
    if not rows:
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame(rows)
    out = long.groupby(["rule", "protocol"], sort=False).agg(
        jobs=("s", "size"), total_s=("s", "sum"), mean_s=("s", "mean"), max_s=("s", "max"),
        max_rss_mb=("max_rss", "max"), cpu_s=("cpu_time", "sum")).reset_index()
    order = {name: i for i, name in enumerate(RULE_ORDER)}
    out["_o"] = out["rule"].map(lambda r: order.get(r, len(order)))
    out = out.sort_values(["_o", "protocol"], kind="stable").drop(columns="_o")
    total = {"rule": "all", "protocol": "—", "jobs": int(out["jobs"].sum()),
             "total_s": out["total_s"].sum(), "mean_s": long["s"].mean(), "max_s": long["s"].max(),
             "max_rss_mb": long["max_rss"].max(), "cpu_s": long["cpu_time"].sum()}
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for col in ("total_s", "mean_s", "max_s", "max_rss_mb", "cpu_s"):
        out[col] = out[col].astype(float).round(3)
    return out[columns]
