"""The replication's outcome, machine-readable, derived from the check's outputs (never typed in).

Per protocol (a folder with check/verdicts.csv, claims.csv, cells.csv, table3.csv):

* **published numbers**: under the 95% prediction-interval rule of check/cells.csv a published
  value that is "one more run of ours" lies inside with probability 0.95. ``reproduced`` when
  the count inside is not significantly below that (one-sided binomial test, p ≥ 0.05) for
  the cells and for Table 3; ``partially`` when at least half of the cells are inside;
  ``not reproduced`` otherwise.
* **each claim**: ``reproduced`` when the check's verdict is *holds* (every comparison's Welch
  95% CI on the claimed side); ``partially`` when none fails and some but not all hold;
  ``not reproduced`` when one fails or none holds; ``not evaluated`` when the grid lacks a
  model or γ the claim needs; ``not assessable`` when the check could not judge it because
  too few seeds are healthy (avarep.health). Claim 6 (the conjunction) uses the comparisons
  of claims 1-5.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .check import DERIVED_CLAIM, DERIVED_FROM
from .distributions import binomial_cdf

REPRODUCED, PARTIALLY, NOT_REPRODUCED, NOT_EVALUATED, NOT_ASSESSABLE = (
    "reproduced", "partially reproduced", "not reproduced", "not evaluated", "not assessable")
COVERAGE = 0.95  # the prediction interval's nominal coverage (check.py)
ALPHA = 0.05
CHECK_FILES = ("verdicts.csv", "claims.csv", "cells.csv", "table3.csv")

PAPER = {
    "authors": "Loc Nguyen",
    "title": "Adversarial Variational Autoencoders",
    "conference": "ICBDC 2024",
}

RULES = {
    "published_numbers": (
        f"reproduced: the number of published values inside our {COVERAGE:.0%} prediction "
        f"interval is not significantly below {COVERAGE:.0%} (one-sided binomial, p >= {ALPHA}) "
        "for the cells and Table 3; partially: at least half the cells inside; else not reproduced"),
    "claims": (
        "reproduced: every comparison holds (Welch 95% CI on the claimed side); partially: "
        "none fails and some hold; not reproduced: one fails or none holds; not evaluated: "
        "the grid lacks what the claim needs; not assessable: too few healthy (ok) seeds to "
        "judge it"),
}


def read_check(check_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The four check tables; a missing or empty one is an error naming the file."""
    tables = {}
    for name in CHECK_FILES:
        path = Path(check_dir) / name
        try:
            tables[name.removesuffix(".csv")] = pd.read_csv(path)
        except (OSError, pd.errors.EmptyDataError) as exc:
            raise ValueError(f"{path}: cannot read the check's output ({exc})") from None
    return tables


def _share_inside(frame: pd.DataFrame) -> dict:
    """Counts over rows that have both our value and a published one."""
    rows = frame[frame["inside"].notna() & frame["published"].notna()]
    inside = int(rows["inside"].astype(str).str.lower().eq("true").sum())
    total = len(rows)
    p = binomial_cdf(inside, total, COVERAGE) if total else None
    mean_delta = float(rows["abs_delta"].mean()) if total else None
    return {"inside": inside, "total": total, "binomial_p": p, "mean_abs_delta": mean_delta}


def published_numbers(cells: pd.DataFrame, table3: pd.DataFrame) -> dict:
    per_cell, per_stat = _share_inside(cells), _share_inside(table3)
    if per_cell["total"] == 0:
        outcome = NOT_EVALUATED
    elif per_cell["binomial_p"] >= ALPHA and (per_stat["total"] == 0 or per_stat["binomial_p"] >= ALPHA):
        outcome = REPRODUCED
    elif per_cell["inside"] >= per_cell["total"] / 2:
        outcome = PARTIALLY
    else:
        outcome = NOT_REPRODUCED
    return {"outcome": outcome, "cells": per_cell, "table3": per_stat,
            "source": "check/cells.csv (column inside, abs_delta), check/table3.csv"}


def claim_outcome(verdict: str, comparison_verdicts: list[str]) -> str:
    if verdict == "not evaluated":
        return NOT_EVALUATED
    if verdict == "not assessable":
        return NOT_ASSESSABLE
    if verdict == "holds":
        return REPRODUCED
    if "fails" not in comparison_verdicts and "holds" in comparison_verdicts:
        return PARTIALLY
    return NOT_REPRODUCED


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def comparisons_of(claims: pd.DataFrame, claim: int) -> pd.DataFrame:
    wanted = DERIVED_FROM if claim == DERIVED_CLAIM else (claim,)
    return claims[claims["claim"].isin(wanted)]


def claim_entries(verdicts: pd.DataFrame, claims: pd.DataFrame) -> list[dict]:
    entries = []
    for _, row in verdicts.iterrows():
        rows = comparisons_of(claims, int(row["claim"]))
        comparisons = [
            {"claim": int(c["claim"]), "comparison": f"{c['statistic']} {c['model']} {c['relation']} {c['other']}",
             "verdict": c["verdict"], "margin": _number(c["margin"]),
             "ci95": [_number(c["ci_lo"]), _number(c["ci_hi"])],
             "n_seeds": [int(c["n_model"]), int(c["n_other"])]}
            for _, c in rows.iterrows()]
        entries.append({
            "claim": int(row["claim"]), "text": row["text"],
            "outcome": claim_outcome(row["verdict"], [c["verdict"] for c in comparisons]),
            "check_verdict": row["verdict"], "published_numbers_verdict": row["published_verdict"],
            "comparisons": comparisons,
            "source": f"check/verdicts.csv row claim={int(row['claim'])}; "
                      f"check/claims.csv rows claim in {sorted({c['claim'] for c in comparisons})}",
        })
    return entries


def protocol_outcome(check_dir: str | Path) -> dict:
    tables = read_check(check_dir)
    return {"published_numbers": published_numbers(tables["cells"], tables["table3"]),
            "claims": claim_entries(tables["verdicts"], tables["claims"])}


def build(dataset: str, check_dirs: dict[str, Path], run: dict | None) -> dict:
    """outcome.json: the paper, the run that produced the evidence, and per protocol outcomes."""
    run_info = ({key: run.get(key) for key in ("commit", "tree_modified", "commit_reason",
                                                "config_sha256", "started")}
                if run else {"reason": "no run.json beside the results"})
    return {
        "format": 1,
        "replicated_paper": PAPER,
        "dataset": dataset,
        "run": run_info,
        "rules": RULES,
        "protocols": {name: protocol_outcome(path) for name, path in check_dirs.items()},
    }
