"""The two studies built on top of the runs' checks.

* Fidelity: the author protocol's grid under every reading of the author's code
  (readings.py); per reading and model, how far the published Tables 1-2 and Table 3 are.
* Verdicts: the main grid again with many seeds (config ``verdict_seeds``), so that each
  claim's verdict and the AVA2/AVA1, AVA4/AVA3 equivalences have the power to resolve.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import atomic  # noqa: E402
from .figures import PUBLISHED_STYLE, lr_axis, save_figure  # noqa: E402
from .readings import ACCEPTED, DESCRIPTIONS  # noqa: E402
from .tables import markdown_table, ordered_models  # noqa: E402

#: The models whose decoder has the adversarial term: the ones the a' convention moves.
AFFECTED = ("AVA1", "AVA2", "AVA5", "GAN")


def fidelity_table(cells: dict[str, pd.DataFrame], table3: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (reading, model): mean/max |Δ| to Tables 1-2, cells inside, Table 3 deltas."""
    rows = []
    for reading, frame in cells.items():
        judged = frame[frame["published"].notna()]
        t3 = table3[reading]
        for model, group in judged.groupby("model", sort=False):
            stats = t3[t3["model"] == model].set_index("statistic")
            rows.append({
                "reading": reading,
                "model": model,
                "mean_abs_delta": group["abs_delta"].mean(),
                "max_abs_delta": group["abs_delta"].max(),
                "inside": int(group["inside"].fillna(False).astype(bool).sum()),
                "cells": len(group),
                **{f"table3_{stat.lower()}_delta": stats["ours"].get(stat, float("nan"))
                   - stats["published"].get(stat, float("nan"))
                   for stat in ("Mean", "Maximum", "Minimum", "SD")},
            })
    frame = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(ordered_models(frame["model"].unique()))}
    readings = {r: i for i, r in enumerate(cells)}
    return frame.sort_values(["reading", "model"], key=lambda s: s.map(readings if s.name == "reading" else order))


def fidelity_markdown(table: pd.DataFrame) -> str:
    """Readings x models of mean |Δ|, then the per-reading totals, then every number."""
    wide = table.pivot(index="reading", columns="model", values="mean_abs_delta")
    wide = wide.loc[list(dict.fromkeys(table["reading"])), ordered_models(wide.columns)]
    totals = table.groupby("reading", sort=False).agg(
        mean_abs_delta=("mean_abs_delta", "mean"), max_abs_delta=("max_abs_delta", "max"),
        inside=("inside", "sum"), cells=("cells", "sum"))
    shown = pd.DataFrame({
        "reading": wide.index,
        **{m: wide[m].map(lambda v: f"{v:.4f}").tolist() for m in wide.columns},
        "all: mean |Δ|": [f"{totals.loc[r, 'mean_abs_delta']:.4f}" for r in wide.index],
        "max |Δ|": [f"{totals.loc[r, 'max_abs_delta']:.4f}" for r in wide.index],
        "inside": [f"{totals.loc[r, 'inside']}/{totals.loc[r, 'cells']}" for r in wide.index],
    })
    lines = [
        "# Fidelity study: which reading of the author's code reproduces the paper?", "",
        "Mean |Δ| to the published Tables 1–2 per reading and model (the author's own two runs of "
        "the grid differ by 0.0009–0.0048 per model, spec 5.5); `inside` counts cells whose "
        "published value lies in the 95% prediction interval of one run given our seeds.", "",
        markdown_table(shown),
        "Readings:", "",
        *[f"* `{r}`: {DESCRIPTIONS[r]}" for r in wide.index], "",
        "## Every number", "",
        markdown_table(table.assign(**{c: table[c].map(lambda v: f"{v:.4f}") for c in table.columns
                                       if c.endswith("delta")})),
    ]
    return "\n".join(lines) + "\n"


def fidelity_figure(cells: dict[str, pd.DataFrame], path_png) -> None:
    """BM vs gamma for the affected models: one line per reading, the published curve in black."""
    models = [m for m in AFFECTED if any((f["model"] == m).any() for f in cells.values())]
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.8), sharey=True, squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, model in zip(axes[0], models):
        for i, (reading, frame) in enumerate(cells.items()):
            part = frame[frame["model"] == model].sort_values("lr")
            ax.plot(part["lr"], part["ours_mean"], color=colours(i), label=reading,
                    linewidth=2.4 if reading == ACCEPTED else 1.2, alpha=0.9)
        published = next(iter(cells.values()))
        part = published[published["model"] == model].sort_values("lr")
        ax.plot(part["lr"], part["published"], label="published", **PUBLISHED_STYLE)
        lr_axis(ax)
        ax.set_title(model)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("BM (mean over seeds)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=4, frameon=False)
    fig.suptitle("Fidelity study: BM against γ under each reading of the author's code")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    save_figure(fig, path_png, "png")
    plt.close(fig)


def verdicts_markdown(verdicts: dict[str, pd.DataFrame], claims: dict[str, pd.DataFrame],
                      equivalences: dict[str, pd.DataFrame], seeds: int,
                      sensitivities: dict[str, pd.DataFrame] | None = None) -> str:
    """Each claim's verdict under each protocol with its margin and spread, and the answer."""
    merged = None
    for protocol, frame in verdicts.items():
        part = frame[["claim", "text", "published_verdict", "verdict"]].rename(columns={"verdict": protocol})
        merged = part if merged is None else merged.merge(part[["claim", protocol]], on="claim")
    lines = [
        f"# Verdict study: the paper's claims with {seeds} seeds per cell", "",
        "**Verdicts per protocol** (ok seeds only; a claim holds when every comparison is "
        "resolved in the claimed direction):", "",
        *[f"* `{p}`: {verdict_groups(merged[p], merged['claim'])}" for p in verdicts], "",
        markdown_table(merged), "",
        "A comparison holds when the Welch 95% CI of the per-seed difference lies on the claimed side, "
        "fails when it lies on the other side and is not resolved otherwise (margin = our mean "
        "difference; spread = its CI and the per-seed SDs); it is not assessable when fewer than "
        "2 seeds of a model are ok at every γ.", "",
        *_sensitivity_lines(sensitivities or {}),
    ]
    for protocol, frame in claims.items():
        shown = frame[["claim", "statistic", "model", "relation", "other", "published_diff", "margin",
                       "ci_lo", "ci_hi", "sd_model", "sd_other", "verdict"]].copy()
        for column in ("published_diff", "margin", "ci_lo", "ci_hi"):
            shown[column] = shown[column].map(lambda v: f"{v:+.5f}" if v == v else "—")  # signed
        for column in ("sd_model", "sd_other"):
            shown[column] = shown[column].map(lambda v: f"{v:.5f}" if v == v else "—")
        lines += [f"## Comparisons under `{protocol}`", "", markdown_table(shown), ""]
    for protocol, frame in equivalences.items():
        if len(frame):
            lines.append(f"* Equivalences under `{protocol}`: " + equivalence_counts(frame))
    return "\n".join(lines) + "\n"


def verdict_groups(verdicts: pd.Series, claims: pd.Series) -> str:
    """'holds: 4; fails: 1, 3; not assessable: 2, 5, 6' in a fixed order of verdicts."""
    order = ("holds", "fails", "not resolved", "not assessable", "not evaluated")
    groups = claims.groupby(verdicts.to_numpy(), sort=False).agg(lambda c: ", ".join(map(str, c)))
    return "; ".join(f"{v}: claim(s) {groups[v]}" for v in order if v in groups)


def equivalence_counts(frame: pd.DataFrame) -> str:
    """Per pair: distinguishable at k of the assessable learning rates (+ how many were not)."""
    parts = []
    for pair, group in frame.groupby("pair", sort=False):
        judged = group[group["assessable"].astype(str).eq("True")]
        hits = int(judged["distinguishable"].astype(str).eq("True").sum())
        skipped = len(group) - len(judged)
        parts.append(f"{pair} distinguishable at {hits}/{len(judged)} learning rates"
                     + (f" ({skipped} not assessable: < 2 ok seeds)" if skipped else ""))
    return ", ".join(parts)


def _sensitivity_lines(sensitivities: dict[str, pd.DataFrame]) -> list[str]:
    lines = []
    for protocol, frame in sensitivities.items():
        if len(frame):
            lrs = str(frame["learning_rates"].iloc[0]).split()
            lines.append(f"* Sensitivity, `{protocol}` on the {len(lrs)} γ where every seed of "
                         f"every model is ok (γ = {', '.join(lrs)}): "
                         + verdict_groups(frame["verdict"], frame["claim"]))
    return lines + ([""] if lines else [])


def write_fidelity(cells, table3, outdir) -> None:
    table = fidelity_table(cells, table3)
    atomic.write_text(os.path.join(outdir, "fidelity.csv"), table.to_csv(index=False))
    atomic.write_text(os.path.join(outdir, "fidelity.md"), fidelity_markdown(table))
    fidelity_figure(cells, os.path.join(outdir, "fidelity.png"))
