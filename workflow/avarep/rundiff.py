"""Compare two results folders cell by cell, against the seeds' spread.

A cell is matched by (run, model, γ), where run is the folder under results/<dataset>/
(author, paper, fidelity-…, verdicts-…). Per matched cell, from the ok seeds' BM:

* ``identical``     the same seeds with bit-identical BM (the pipeline is deterministic per
                    seed, so unchanged settings and code give this);
* ``within noise``  Welch's t-test of the two samples does not reject equal means at α after
                    Holm's correction over every tested cell;
* ``differs``       it does (or both samples have zero spread and different means);
* ``untestable``    fewer than two ok seeds on a side and not identical.

Cells present in one folder only are listed as such. Flags compare numbers; the settings
that differ (from each record's ``settings``) and the config keys that differ (from each
folder's run.json, when present) say why they might.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd

from .cell import CorruptRecord, read_record
from . import distributions

IDENTICAL, WITHIN_NOISE, DIFFERS, UNTESTABLE = "identical", "within noise", "differs", "untestable"
ONLY_A, ONLY_B = "only in A", "only in B"


def load_cells(folder: str | Path) -> dict[tuple, tuple[Path, dict]]:
    """{(run, model, lr): (path, record)} for every cell record under results/<dataset>/."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder (expected results/<dataset>/)")
    found = {}
    for path in sorted(folder.glob("*/cells/*/lr*.json")):
        try:
            record = read_record(path)
        except CorruptRecord as exc:
            raise ValueError(f"{exc}; rerun the pipeline to retrain it") from None
        found[(path.parents[2].name, record["model"], float(record["lr"]))] = (path, record)
    if not found:
        raise ValueError(f"{folder}: no cell records (*/cells/*/lr*.json); "
                         "give a results/<dataset>/ folder")
    return found


def ok_bm(record: dict) -> dict[int, float]:
    return {run["seed"]: run["bm"] for run in record["runs"] if run["status"] == "ok"}


def flatten(mapping: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differing_keys(a: dict, b: dict) -> list[str]:
    """'key: a → b' for every (nested) key whose value differs, in key order."""
    fa, fb = flatten(a), flatten(b)
    return [f"{key}: {fa.get(key)} → {fb.get(key)}"
            for key in sorted(fa.keys() | fb.keys()) if fa.get(key) != fb.get(key)]


def welch(a: list[float], b: list[float]) -> tuple[float | None, float | None]:
    """(t, two-sided p) of Welch's test of b vs a; None where the seeds cannot say."""
    if len(a) < 2 or len(b) < 2:
        return None, None
    if statistics.variance(a) == 0 and statistics.variance(b) == 0:
        same = statistics.fmean(a) == statistics.fmean(b)
        return (0.0, 1.0) if same else (math.copysign(math.inf, statistics.fmean(b) - statistics.fmean(a)), 0.0)
    result = distributions.welch(b, a)
    return result.statistic, result.pvalue


def describe(bm: dict[int, float]) -> dict:
    values = list(bm.values())
    return {"n": len(values), "mean": statistics.fmean(values) if values else None,
            "sd": statistics.stdev(values) if len(values) > 1 else None}


def cell_row(key: tuple, a: tuple | None, b: tuple | None) -> dict:
    run, model, lr = key
    row = {"run": run, "model": model, "lr": lr}
    for side, found in (("a", a), ("b", b)):
        stats_ = describe(ok_bm(found[1])) if found else {"n": None, "mean": None, "sd": None}
        row.update({f"{side}_{name}": value for name, value in stats_.items()})
        row[f"{side}_record"] = str(found[0]) if found else None
        row[f"{side}_excluded"] = (sum(r["status"] != "ok" for r in found[1]["runs"]) if found else None)
    if a is None or b is None:
        return {**row, "flag": ONLY_B if a is None else ONLY_A, "delta": None, "t": None,
                "p": None, "settings_differ": ""}
    bm_a, bm_b = ok_bm(a[1]), ok_bm(b[1])
    t, p = welch(list(bm_a.values()), list(bm_b.values()))
    row.update(delta=(row["b_mean"] - row["a_mean"]) if bm_a and bm_b else None, t=t, p=p,
               settings_differ="; ".join(differing_keys(a[1]["settings"], b[1]["settings"])))
    row["flag"] = IDENTICAL if bm_a == bm_b and bm_a else None
    return row


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone, capped at 1)."""
    order = np.argsort(p_values, kind="stable")
    m, adjusted, running = len(p_values), [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def diff(folder_a: str | Path, folder_b: str | Path, alpha: float = 0.05) -> pd.DataFrame:
    """One row per cell of either folder, with its flag (see the module's docstring)."""
    cells_a, cells_b = load_cells(folder_a), load_cells(folder_b)
    rows = [cell_row(key, cells_a.get(key), cells_b.get(key))
            for key in sorted(cells_a.keys() | cells_b.keys())]
    tested = [r for r in rows if r["flag"] is None and r["p"] is not None]
    for row, p_holm in zip(tested, holm([r["p"] for r in tested])):
        row["p_holm"] = p_holm
        row["flag"] = DIFFERS if p_holm < alpha else WITHIN_NOISE
    for row in rows:
        row.setdefault("p_holm", None)
        if row["flag"] is None:
            row["flag"] = UNTESTABLE
    return pd.DataFrame(rows)


def read_run_json(folder: str | Path) -> dict | None:
    path = Path(folder) / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _fmt(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _side(row, side: str) -> str:
    if row[f"{side}_n"] is None or pd.isna(row[f"{side}_n"]):
        return "—"
    sd = row[f"{side}_sd"]
    spread = f"{sd:.1e}" if sd is not None and not pd.isna(sd) and 0 < sd < 0.001 else _fmt(sd)
    return f"{_fmt(row[f'{side}_mean'])} ± {spread} ({int(row[f'{side}_n'])})"


def _run_lines(folder_a, folder_b) -> list[str]:
    """The two runs' provenance (from run.json) side by side, and the config keys that differ."""
    runs = [read_run_json(folder_a), read_run_json(folder_b)]

    def commit(run):
        if not run or not run.get("commit"):
            return "unknown" + (f" ({run['commit_reason']})" if run and run.get("commit_reason") else "")
        return f"`{run['commit'][:10]}`" + (" (modified tree)" if run.get("tree_modified") else "")

    lines = ["| | A | B |", "|---|---|---|",
             f"| folder | `{folder_a}` | `{folder_b}` |",
             f"| commit | {commit(runs[0])} | {commit(runs[1])} |"]
    for key, label in (("config_sha256", "config SHA-256"), ("started", "started")):
        values = [(run or {}).get(key) or "no run.json" for run in runs]
        lines.append(f"| {label} | {str(values[0])[:19]} | {str(values[1])[:19]} |")
    if all(runs):
        changed = differing_keys(runs[0]["config"], runs[1]["config"])
        lines += ["", "Config keys that differ: " + ("; ".join(f"`{c}`" for c in changed) or "none")]
    return lines


def _table(rows: pd.DataFrame) -> list[str]:
    lines = ["| run | model | γ | A: mean ± SD (n) | B: mean ± SD (n) | Δ (B − A) | Welch t | p (Holm) | settings that differ |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, row in rows.iterrows():
        lines.append(f"| {row['run']} | {row['model']} | {row['lr']:g} | {_side(row, 'a')} | "
                     f"{_side(row, 'b')} | {_fmt(row['delta'], 5)} | {_fmt(row['t'], 2)} | "
                     f"{_fmt(row['p_holm'], 4)} | {row['settings_differ'] or '—'} |")
    return lines


def markdown(frame: pd.DataFrame, folder_a, folder_b, alpha: float = 0.05,
             csv_name: str | None = None) -> str:
    """A pull-request-sized summary: provenance, counts per flag, then the cells that moved."""
    counts = frame["flag"].value_counts()
    order = [IDENTICAL, WITHIN_NOISE, DIFFERS, UNTESTABLE, ONLY_A, ONLY_B]
    lines = ["## Run diff: A → B", "", *_run_lines(folder_a, folder_b), "",
             f"**{len(frame)} cells — " + ", ".join(f"{f}: {int(counts.get(f, 0))}" for f in order)
             + f".** A cell *differs* when Welch's t-test on its ok seeds' BM rejects equal means "
             f"at α = {alpha} after Holm's correction over the {int(frame['p_holm'].notna().sum())} "
             "tested cells; *identical* means bit-identical BM for the same seeds.", ""]
    moved = frame[frame["flag"].isin([DIFFERS, UNTESTABLE, ONLY_A, ONLY_B])]
    moved = moved.assign(size=moved["delta"].abs().fillna(math.inf)).sort_values(
        ["flag", "size"], ascending=[True, False])
    if len(moved):
        lines += ["### Cells that differ or cannot be compared", "", *_table(moved), ""]
    noise = frame[frame["flag"] == WITHIN_NOISE]
    if len(noise):
        lines += ["<details><summary>Cells within noise</summary>", "", *_table(noise), "",
                  "</details>", ""]
    excluded = frame[["a_excluded", "b_excluded"]].fillna(0).sum()
    lines.append(f"Excluded (non-ok) seeds: {int(excluded['a_excluded'])} in A, "
                 f"{int(excluded['b_excluded'])} in B.")
    source = f" (every row: `{csv_name}`)" if csv_name else ""
    lines.append(f"Source: the cell records `<folder>/<run>/cells/<model>/lr<γ>.json`{source}.")
    return "\n".join(lines) + "\n"
