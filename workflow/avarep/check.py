"""Compare our results with the published numbers, and give each claim of the paper a verdict.

The rule for "inside": the published value is one run of the author's, so we ask whether it
is a plausible *single new run* given our seeds. It is inside when it lies in the 95%
prediction interval for one new run,

    mean ± t_{0.975, n-1} · sd · sqrt(1 + 1/n)   widened on each side by 0.00005

(half a unit of the published 4-decimal rounding); with fewer than 2 ok seeds it is NA.

Claims: each atomic comparison "statistic(model) relation statistic(other)" is judged on the
per-seed Table 3 (each seed's complete 19-point curve gives its own Table 3). The Welch
two-sample 95% CI of mean(stat of model) - mean(stat of other) decides: ``holds`` when the CI
lies entirely on the claimed side, ``fails`` when entirely on the other, ``not resolved``
otherwise; ``not evaluated`` when a model or learning rate was not run; ``not assessable``
when it was run but fewer than 2 seeds of a model are healthy (``ok``, avarep.health) at every
learning rate, so no per-seed Table 3 can be formed from healthy networks.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from . import equivalence, tables
from .distributions import t_quantile, welch
from .health import RULE as HEALTH_RULE
from .health import RULE_NAME, STATUSES
from .published import DERIVED_CLAIM, DERIVED_FROM, STATISTICS
from .sweep import LEARNING_RATES, lr_label

CONFIDENCE = 0.95
#: Half a unit of the published 4-decimal rounding.
ROUNDING_PAD = 0.00005

RULE = (
    "A published value is **inside** when it lies in the 95% prediction interval for one new "
    "run given our seeds: mean ± t(0.975, n−1) · sd · √(1 + 1/n), widened on each side by "
    "0.00005 (half a unit of the published 4-decimal rounding); with fewer than 2 ok seeds it "
    "is not judged (NA). For Table 3 the mean and sd are those of the statistic computed on "
    "each seed's own 19-point curve. A claim's comparison **holds** when the Welch two-sample "
    "95% CI of the per-seed difference lies entirely on the claimed side, **fails** when it "
    "lies entirely on the other side, and is **not resolved** otherwise; it is **not "
    "assessable** when fewer than 2 seeds of a model it needs are ok at every γ (only ok "
    "seeds count), and **not evaluated** when a model or γ it needs was not run. A claim "
    "fails when any comparison fails; otherwise it is not evaluated, then not assessable, "
    "when any comparison is; it holds when all hold and is not resolved otherwise. Claim 6 "
    "is the conjunction of claims 1–5."
)


# ---------------------------------------------------------------------------- the rule

def prediction_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    """95% prediction interval for one new run, widened by ROUNDING_PAD; NaNs when n < 2."""
    if n < 2 or not (math.isfinite(mean) and math.isfinite(sd)):
        return math.nan, math.nan
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * sd * math.sqrt(1 + 1 / n) + ROUNDING_PAD
    return mean - half, mean + half


def _inside(published: float, lo: float, hi: float):
    if not (math.isfinite(lo) and math.isfinite(published)):
        return pd.NA
    return bool(lo <= published <= hi)


# ---------------------------------------------------------------------------- (a) cells

def cell_diff(t12: pd.DataFrame, published_bm: pd.DataFrame) -> pd.DataFrame:
    """Per (model, lr) we ran: ours_mean, ours_sd, n_ok, published, abs_delta, lo, hi, inside."""
    pub = published_bm[["lr", "model", "bm"]].rename(columns={"bm": "published"})
    merged = t12.merge(pub, on=["lr", "model"], how="left")
    rows = []
    for r in merged.to_dict("records"):
        lo, hi = prediction_interval(r["mean"], r["sd"], r["n_ok"])
        rows.append({
            "table": r["table"], "lr": r["lr"], "model": r["model"],
            "ours_mean": r["mean"], "ours_sd": r["sd"], "n_ok": r["n_ok"],
            "n_diverged": r["n_diverged"], "published": r["published"],
            "abs_delta": abs(r["mean"] - r["published"]), "lo": lo, "hi": hi,
            "inside": _inside(r["published"], lo, hi),
        })
    cells = pd.DataFrame(rows)
    if len(cells):
        cells["inside"] = cells["inside"].astype("boolean")
    return cells


def failing_cells(cells: pd.DataFrame) -> list[str]:
    """Strict mode: one line per cell whose published value is outside the rule."""
    bad = cells[cells["inside"].eq(False).fillna(False).astype(bool)]  # NA: not judged
    return [
        f"{r['model']} γ={lr_label(r['lr'])}: published {r['published']:.4f} outside "
        f"[{r['lo']:.4f}, {r['hi']:.4f}] (ours {r['ours_mean']:.4f} ± {r['ours_sd']:.4f}, "
        f"n={r['n_ok']})"
        for r in bad.to_dict("records")
    ]


# ---------------------------------------------------------------------------- (b) Table 3

def _missing_reason(long: pd.DataFrame, model: str, learning_rates: Sequence[float]) -> str:
    have = set(long.loc[long["model"] == model, "lr"])
    if not have:
        return f"{model} was not run"
    missing = sorted(set(learning_rates) - have, reverse=True)
    if missing:
        return f"{model} lacks lr " + ", ".join(map(lr_label, missing))
    return ""


def table3_diff(long: pd.DataFrame, published_t3: pd.DataFrame,
                learning_rates: Sequence[float] = LEARNING_RATES) -> pd.DataFrame:
    """Per statistic and model: ours (Table 3 of our means), published, |Δ|, per-seed spread.

    One centre: |Δ| and the prediction interval are both taken from the mean of the seeds'
    own Table 3 values, the quantity comparable with the paper's one run (the minimum of the
    seed-averaged curve, ``ours``, lies above the seeds' typical minimum)."""
    t12 = tables.table12(long)
    complete = tables.complete_models(long, learning_rates)
    ours = tables.table3(tables.mean_curves(t12, complete)) if complete else pd.DataFrame()
    seeds, seed_reasons = tables.per_seed_table3(long[long["model"].isin(complete)], learning_rates)
    rows = []
    for stat in STATISTICS:
        for model in published_t3.columns:
            published = float(published_t3.at[stat, model])
            reason = _missing_reason(long, model, learning_rates)
            value = ours.at[stat, model] if model in ours.columns else math.nan
            per_seed = seeds.loc[(seeds["model"] == model) & (seeds["statistic"] == stat), "value"]
            per_seed = per_seed.dropna().to_numpy(dtype=float)
            n = len(per_seed)
            mean = per_seed.mean() if n else math.nan
            sd = per_seed.std(ddof=1) if n > 1 else math.nan
            lo, hi = prediction_interval(mean, sd, n)
            if not reason and n < tables.MIN_OK_SEEDS:
                reason = seed_reasons.get(model, f"{model} has fewer than 2 complete seed curves")
            elif not reason and not math.isfinite(value):
                reason = f"{model} has a learning rate with fewer than 2 ok seeds"
            rows.append({
                "statistic": stat, "model": model, "ours": value, "published": published,
                "abs_delta": tables.round4(abs(mean - published)), "seed_mean": mean, "seed_sd": sd,
                "n_seeds": n, "lo": lo, "hi": hi, "inside": _inside(published, lo, hi),
                "note": reason,
            })
    frame = pd.DataFrame(rows)
    frame["inside"] = frame["inside"].astype("boolean")
    return frame


# ---------------------------------------------------------------------------- (c) claims

def welch_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean difference a - b and its Welch two-sample 95% CI (a point when both SDs are 0)."""
    diff = float(a.mean() - b.mean())
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        return diff, diff, diff
    low, high = welch(a, b).confidence_interval(CONFIDENCE)
    return diff, low, high


def relation_holds(relation: str, difference: float) -> bool:
    """Does 'model relation other' hold given difference = model - other?"""
    return {">": difference > 0, "<": difference < 0, "<=": difference <= 0}[relation]


def verdict(relation: str, lo: float, hi: float) -> str:
    """holds / fails / not resolved for a CI [lo, hi] of the difference model - other."""
    if relation_holds(relation, hi) and relation_holds(relation, lo):
        return "holds"
    if not relation_holds(relation, hi) and not relation_holds(relation, lo):
        return "fails"
    return "not resolved"


def claim_rows(long: pd.DataFrame, claims: pd.DataFrame, published_t3: pd.DataFrame,
               learning_rates: Sequence[float] = LEARNING_RATES) -> pd.DataFrame:
    """One row per atomic comparison: margin, its Welch CI, per-seed SDs, verdict, published."""
    complete = tables.complete_models(long, learning_rates)
    seeds, seed_reasons = tables.per_seed_table3(long[long["model"].isin(complete)], learning_rates)
    rows = []
    for c in claims.to_dict("records"):
        pub_diff = published_t3.at[c["statistic"], c["model"]] - published_t3.at[c["statistic"], c["other"]]
        row = {**c, "published_diff": round(float(pub_diff), 4),
               "published_holds": relation_holds(c["relation"], round(float(pub_diff), 4))}
        samples, missing, unhealthy = {}, [], []
        for m in (c["model"], c["other"]):
            values = seeds.loc[(seeds["model"] == m) & (seeds["statistic"] == c["statistic"]), "value"]
            samples[m] = values.dropna().to_numpy(dtype=float)
            if _missing_reason(long, m, learning_rates):
                missing.append(_missing_reason(long, m, learning_rates))
            elif len(samples[m]) < tables.MIN_OK_SEEDS:
                unhealthy.append(seed_reasons.get(m, f"{m} has fewer than 2 complete seed curves"))
        a, b = samples[c["model"]], samples[c["other"]]
        row.update({"n_model": len(a), "n_other": len(b),
                    "sd_model": a.std(ddof=1) if len(a) > 1 else math.nan,
                    "sd_other": b.std(ddof=1) if len(b) > 1 else math.nan})
        if missing or unhealthy:
            row.update(margin=math.nan, ci_lo=math.nan, ci_hi=math.nan,
                       verdict="not evaluated" if missing else "not assessable",
                       reason="; ".join(missing + unhealthy))
        else:
            margin, lo, hi = welch_ci(a, b)
            row.update(margin=margin, ci_lo=lo, ci_hi=hi, verdict=verdict(c["relation"], lo, hi),
                       reason="")
        rows.append(row)
    return pd.DataFrame(rows)


def combine(verdicts: Sequence[str]) -> str:
    """A claim from its comparisons (a claim is their conjunction).

    Any comparison that fails sinks the claim, whatever the others: ``fails``. Otherwise a
    claim can hold only if every comparison was judged, so any ``not evaluated`` (not run)
    makes it ``not evaluated`` and then any ``not assessable`` (too few healthy seeds) makes it
    ``not assessable``; all hold -> ``holds``; otherwise ``not resolved``.
    """
    for verdict_ in ("fails", "not evaluated", "not assessable"):
        if verdict_ in verdicts:
            return verdict_
    return "holds" if all(v == "holds" for v in verdicts) else "not resolved"


def claim_verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per claim: verdict, verdict on the published numbers, reason; claim 6 = all of 1-5."""
    out = []
    for claim, group in rows.groupby("claim", sort=True):
        reasons = dict.fromkeys(part for r in group["reason"] if r for part in r.split("; "))
        out.append({
            "claim": int(claim), "text": "; ".join(dict.fromkeys(group["published_text"])),
            "verdict": combine(list(group["verdict"])),
            "published_verdict": "holds" if group["published_holds"].all() else "fails",
            "comparisons": len(group), "reason": "; ".join(reasons),
        })
    parts = [o for o in out if o["claim"] in DERIVED_FROM]
    out.append({
        "claim": DERIVED_CLAIM,
        "text": "all AVA variants are better than VAE and GAN (derived: claims 1-5 all hold)",
        "verdict": combine([o["verdict"] for o in parts]) if len(parts) == len(DERIVED_FROM)
        else "not evaluated",
        "published_verdict": "holds" if all(o["published_verdict"] == "holds" for o in parts)
        else "fails",
        "comparisons": sum(o["comparisons"] for o in parts),
        "reason": "conjunction of claims 1-5",
    })
    return pd.DataFrame(out)


def sensitivity(long: pd.DataFrame, claims: pd.DataFrame, published_t3: pd.DataFrame):
    """The claims again, with Table 3 taken over the learning rates where every seed of every
    model is ok. Returns (those learning rates, comparison rows, claim verdicts); the frames
    are empty when that range is the full sweep (nothing to add) or has fewer than 2 rates.

    The published claims are about all 19 γ, so this is a different statistic: it says what
    the healthy part of the sweep supports, not whether the published numbers hold.
    """
    healthy = tables.healthy_learning_rates(long)
    ran = sorted(set(long["lr"]), reverse=True)
    if len(healthy) < 2 or healthy == ran:
        return healthy, pd.DataFrame(), pd.DataFrame()
    rows = claim_rows(long, claims, published_t3, healthy)
    return healthy, rows, claim_verdicts(rows)


def status_counts(long: pd.DataFrame) -> str:
    """'N seed runs: a ok, b unstable, c diverged' for a headline."""
    counts = long["status"].value_counts()
    parts = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
    return f"{len(long)} seed runs: {parts}"


# ---------------------------------------------------------------------------- (d) summary

def _fmt(value, digits: int = 4) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    return tables.markdown_table(frame.map(lambda v: _fmt(v, digits)))


def _inside_count(frame: pd.DataFrame) -> str:
    judged = frame["inside"].dropna()
    return (f"{int(judged.sum())} / {len(judged)} inside the rule"
            + (f" ({len(frame) - len(judged)} not judged)" if len(judged) < len(frame) else ""))


def summary_markdown(cells, t3, rows, verdicts, dataset: str, protocol: str,
                     equivalences: pd.DataFrame | None = None, long: pd.DataFrame | None = None,
                     sensitive: tuple | None = None) -> str:
    ran = cells[cells["published"].notna()]
    per_model = ran.groupby("model", sort=False)["abs_delta"].mean()
    per_model = per_model.reindex(tables.ordered_models(per_model.index))
    judged = ran["abs_delta"].notna().sum()
    headline = [
        f"# Check against the published numbers — dataset `{dataset}`, protocol `{protocol}`\n",
        "## Headline\n",
        *([] if long is None else [f"* Health ({RULE_NAME}): **{status_counts(long)}**"]),
        f"* Mean |Δ| over {judged} cells with ≥ 2 ok seeds (of the {len(ran)} published cells "
        f"run): **{_fmt(ran['abs_delta'].mean())}**",
        f"* Cells: **{_inside_count(ran)}**",
        f"* Table 3: **{_inside_count(t3)}**",
        "* Claims: " + ", ".join(f"{r['claim']}: **{r['verdict']}**" for r in verdicts.to_dict("records")),
        *_sensitivity_headline(sensitive),
        *([] if equivalences is None or equivalences.empty else [
            "* Equivalences: " + ", ".join(
                f"{r['pair']} **{r['verdict']}** ({r['seeds']} seeds)" for r in equivalences.to_dict("records"))]),
        "",
        "Mean |Δ| per model:\n",
        _table(pd.DataFrame({"model": per_model.index, "mean |Δ|": per_model.to_numpy()})),
        "## Rule\n", RULE, "", HEALTH_RULE, "",
        "## Claims\n",
        _table(verdicts[["claim", "text", "verdict", "published_verdict", "reason"]]),
        "Comparisons (margin = our mean per-seed difference model − other; CI = Welch 95%):\n",
        _table(rows[["claim", "statistic", "model", "relation", "other", "margin", "ci_lo", "ci_hi",
                     "sd_model", "sd_other", "published_diff", "published_holds", "verdict",
                     "reason"]], 5),
        *_sensitivity_section(sensitive),
        equivalence.markdown(equivalences if equivalences is not None else pd.DataFrame()),
        "## Table 3\n",
        _table(t3),
        "## Cells (Tables 1–2)\n",
        _table(cells.drop(columns=["table"]).assign(lr=cells["lr"].map(lr_label))),
    ]
    return "\n".join(headline)


def _healthy_text(healthy) -> str:
    return ", ".join(map(lr_label, healthy))


def _sensitivity_headline(sensitive) -> list[str]:
    if not sensitive or sensitive[2].empty:
        return []
    healthy, _, verdicts = sensitive
    return ["* Claims on the γ where every seed of every model is ok "
            f"({len(healthy)} γ: {_healthy_text(healthy)}): "
            + ", ".join(f"{r['claim']}: **{r['verdict']}**" for r in verdicts.to_dict("records"))]


def _sensitivity_section(sensitive) -> list[str]:
    if not sensitive or sensitive[2].empty:
        return []
    healthy, rows, verdicts = sensitive
    return [
        "## Sensitivity: the claims on the healthy learning rates\n",
        f"Table 3 statistics recomputed over the {len(healthy)} learning rates at which every "
        f"seed of every model is ok (γ = {_healthy_text(healthy)}), then judged by the same rule. "
        "The published claims are about all 19 γ: this shows what the healthy part of the sweep "
        "supports.\n",
        _table(verdicts[["claim", "text", "verdict", "reason"]]),
        _table(rows[["claim", "statistic", "model", "relation", "other", "margin", "ci_lo",
                     "ci_hi", "verdict", "reason"]], 5),
    ]
