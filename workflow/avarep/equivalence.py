"""Are two models distinguishable across seeds? (AVA2 vs AVA1, AVA4 vs AVA3.)

Spec 5.6: under the author's code the discriminators never touch the generated images, so
AVA2 should equal AVA1 and AVA4 should equal AVA3 in distribution. For each learning rate
the two models' per-seed BM values are compared with Welch's two-sample t-test; the 19
p-values are corrected with Holm's step-down method, which keeps the chance of calling any
equal pair "distinguishable" at most alpha over the whole curve. Each row also reports the
smallest difference the seeds could detect (80% power), so "not distinguishable" is read
against what the test could have seen.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import models
from .distributions import normal_quantile, welch

PAIRS = models.twins()  # (twin, model) from the model registry: AVA1/AVA2, AVA3/AVA4
COLUMNS = ("pair", "lr", "n_a", "n_b", "mean_a", "mean_b", "difference", "sd_a", "sd_b", "p",
           "detectable", "distinguishable")
ALPHA = 0.05


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch t-test p-value; two constant samples are equal (p = 1) or not (p = 0)."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # exact: a rounded SD of equal values is not 0
        return 1.0 if a[0] == b[0] else 0.0
    return welch(a, b).pvalue


def holm(p_values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Holm's step-down rejections: family-wise error rate at most alpha."""
    order = np.argsort(p_values)
    rejected = np.zeros(len(p_values), dtype=bool)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (len(p_values) - rank):
            break
        rejected[index] = True
    return rejected


def detectable_difference(sd_a: float, sd_b: float, n_a: int, n_b: int, alpha: float = ALPHA) -> float:
    """Smallest mean difference a two-sided test at alpha detects with 80% power (normal approx.)."""
    z = normal_quantile(1 - alpha / 2) + normal_quantile(0.8)
    return float(z * math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b))


def pair_tests(long: pd.DataFrame, a: str, b: str, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per learning rate both models ran: means, SDs, Welch p, Holm decision,
    detectable difference. Only ok seeds count; a learning rate where either model has fewer
    than 2 ok seeds is kept as a row with ``assessable`` False and no test (Holm then runs
    over the assessable rates only)."""
    ran = sorted(set(long.loc[long["model"] == a, "lr"]) & set(long.loc[long["model"] == b, "lr"]),
                 reverse=True)
    ok = long[long["status"] == "ok"]
    rows = []
    for lr in ran:
        x = ok.loc[(ok["model"] == a) & (ok["lr"] == lr), "bm"].to_numpy(float)
        y = ok.loc[(ok["model"] == b) & (ok["lr"] == lr), "bm"].to_numpy(float)
        row = {"pair": f"{a} vs {b}", "lr": lr, "n_a": len(x), "n_b": len(y)}
        if len(x) >= 2 and len(y) >= 2:
            row.update({
                "mean_a": x.mean(), "mean_b": y.mean(), "difference": y.mean() - x.mean(),
                "sd_a": x.std(ddof=1), "sd_b": y.std(ddof=1), "p": welch_p(x, y),
                "detectable": detectable_difference(x.std(ddof=1), y.std(ddof=1), len(x), len(y),
                                                    alpha),
            })
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS[:-1]))
    frame["assessable"] = frame["p"].notna()
    frame["distinguishable"] = pd.array([pd.NA] * len(frame), dtype="boolean")
    assessable = frame["assessable"].to_numpy(dtype=bool)
    if assessable.any():
        frame.loc[assessable, "distinguishable"] = holm(frame.loc[assessable, "p"].to_numpy(), alpha)
    return frame


def equivalence(long: pd.DataFrame, pairs=PAIRS, alpha: float = ALPHA) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-lr tests for every pair present, and a one-line verdict per pair."""
    present = set(long["model"])
    per_lr = [pair_tests(long, a, b, alpha) for a, b in pairs if {a, b} <= present]
    per_lr = (pd.concat(per_lr, ignore_index=True) if per_lr
              else pd.DataFrame(columns=[*COLUMNS[:-1], "assessable", COLUMNS[-1]]))
    verdicts = []
    for pair, group in per_lr.groupby("pair", sort=False) if len(per_lr) else []:
        judged = group[group["assessable"]]
        hits = judged[judged["distinguishable"].astype(bool)]
        verdicts.append({
            "pair": pair,
            "learning_rates": len(judged),
            "not_assessable": len(group) - len(judged),
            "seeds": int(judged["n_a"].min()) if len(judged) else 0,
            "distinguishable_at": len(hits),
            "verdict": ("not assessable" if judged.empty
                        else "distinguishable" if len(hits) else "not distinguishable"),
            "largest_difference": float(judged["difference"].abs().max()),
            "median_detectable": float(judged["detectable"].median()),
            "smallest_p": float(judged["p"].min()),
        })
    return per_lr, pd.DataFrame(verdicts)


def markdown(verdicts: pd.DataFrame, alpha: float = ALPHA) -> str:
    """The check summary's section on the AVA2/AVA1 and AVA4/AVA3 equivalences."""
    lines = ["## Equivalences across seeds", ""]
    if verdicts.empty:
        return "\n".join(lines + ["Not evaluated: a pair's models or 2+ seeds per cell are missing.", ""])
    lines.append(
        f"Welch two-sample t-test per learning rate, Holm-corrected over the learning rates "
        f"(family-wise α = {alpha}); 'detectable' is the difference the seeds could detect with 80% power."
    )
    lines.append("")
    lines.append("Only ok seeds count; a learning rate where either model has fewer than 2 ok "
                 "seeds is not assessable and is left out of the Holm family.")
    lines.append("")
    lines.append("| pair | seeds | learning rates distinguishable | not assessable | largest |Δ mean| | median detectable Δ | smallest p | verdict |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for row in verdicts.itertuples(index=False):
        lines.append(
            f"| {row.pair} | {row.seeds} | {row.distinguishable_at} / {row.learning_rates} | "
            f"{row.not_assessable} | "
            f"{row.largest_difference:.4f} | {row.median_detectable:.4f} | {row.smallest_p:.3g} | **{row.verdict}** |"
        )
    return "\n".join(lines + [""])
