"""The three studies built on top of the runs' checks.

* Fidelity: the author protocol's grid under every reading of the author's code
  (readings.py); per reading and model, how far the published Tables 1-2 and Table 3 are.
* Verdicts: the main grid again with many seeds (config ``verdict_seeds``), so that each
  claim's verdict and the AVA2/AVA1, AVA4/AVA3 equivalences have the power to resolve.
* Robustness: the ``paper`` grid once per alternative open choice (robustness.py), beside
  the main grid's run: health, stable range and claim verdicts per alternative.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from . import atomic, check, models, published, robustness, spread, tables  # noqa: E402
from .figures import PUBLISHED_STYLE, draw_stability, lr_axis, save_figure  # noqa: E402
from .health import STATUSES  # noqa: E402
from .published import load_bm as load_published_bm  # noqa: E402
from .readings import ACCEPTED, DESCRIPTIONS  # noqa: E402
from .tables import markdown_table, ordered_models  # noqa: E402

#: The models whose decoder has the adversarial term: the ones the a' convention moves.
AFFECTED = models.with_decoder_discriminator()


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


def spread_tables(bm: dict[str, pd.DataFrame], published: pd.DataFrame):
    """Per reading: coverage at 5/10/20 seeds, per-cell residuals, twin differences."""
    coverage, resid, twins = [], [], []
    for reading, frame in bm.items():
        seeds = spread.seed_values(frame)
        coverage.append(spread.coverage(seeds, published).assign(reading=reading))
        resid.append(spread.residuals(seeds, published).assign(reading=reading))
        twins.append(spread.twin_differences(seeds, published).assign(reading=reading))
    return pd.concat(coverage), pd.concat(resid), pd.concat(twins)


def _share(row) -> str:
    return "—" if pd.isna(row["inside"]) else f"{int(row['inside'])}/{row['cells']} ({row['share']:.0%})"


def spread_markdown(coverage: pd.DataFrame, resid: pd.DataFrame, twins: pd.DataFrame) -> str:
    """Coverage by seed count, twin variance ratio by band, RMS residual by band and model."""
    readings = list(dict.fromkeys(coverage["reading"]))
    cov = pd.DataFrame({"reading": readings, **{
        f"{n} seeds": [_share(coverage[(coverage.reading == r) & (coverage.seeds == n)].iloc[0])
                       for r in readings] for n in spread.SEED_COUNTS}})
    tw = pd.concat([spread.twin_summary(twins[twins.reading == r]).assign(reading=r) for r in readings])
    tw_wide = pd.DataFrame({"reading": readings, **{
        name: [_twin_cell(tw[(tw.reading == r) & (tw.band == name)]) for r in readings]
        for name, _, _ in spread.BANDS}})
    rms = pd.concat([spread.residual_summary(resid[resid.reading == r]).assign(reading=r) for r in readings])
    mid = rms[rms.band == spread.BANDS[2][0]].pivot(index="reading", columns="model", values="rms_z")
    mid = mid.loc[readings, ordered_models(mid.columns)]
    rms_shown = pd.DataFrame({"reading": readings, **{m: mid[m].map(lambda v: f"{v:.2f}").tolist()
                                                      for m in mid.columns}})
    return "\n".join([
        "## Does the published run look like one more of our seeds?", "",
        "Coverage: published cells inside the 95% prediction interval for one new run, using the "
        "first 5, 10 and 20 seeds of each reading (95% expected when the spreads agree).", "",
        markdown_table(cov),
        "Twin spread: the published AVA1−AVA2 and AVA3−AVA4 differences per γ against the SD of "
        "the same difference between our seeds; variance ratio = mean z² (1 when the spreads "
        "agree), two-sided p from χ² with one degree of freedom per cell (a small p with a ratio "
        "above 1: our seeds vary too little; below 1: too much).", "",
        markdown_table(tw_wide),
        "RMS standardised residual (published − mean) / √(sd² (1 + 1/n) + 10⁻⁸/12) at γ = 0.03–0.08, "
        "all seeds (10⁻⁸/12: the published 4-decimal rounding; about 1 when the spreads agree); "
        "every band in `residuals.png` and `spread.csv`.", "",
        markdown_table(rms_shown),
    ]) + "\n"


def _twin_cell(row: pd.DataFrame) -> str:
    if row.empty:
        return "—"
    r = row.iloc[0]
    return f"{r['variance_ratio']:.2f} (p = {r['p_two_sided']:.2g})"


def residual_figure(resid: pd.DataFrame, path_png) -> None:
    """One heatmap per reading: RMS standardised residual by gamma band (rows) and model."""
    readings = list(dict.fromkeys(resid["reading"]))
    columns = min(4, len(readings))
    rows = -(-len(readings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns + 1.6, 2.4 * rows + 0.8),
                             squeeze=False, layout="constrained")
    norm = TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=5.0)
    bands = [name for name, _, _ in spread.BANDS]
    for ax in axes.flat[len(readings):]:
        ax.axis("off")
    for index, (ax, reading) in enumerate(zip(axes.flat, readings)):
        rms = spread.residual_summary(resid[resid.reading == reading])
        grid = rms.pivot(index="band", columns="model", values="rms_z")
        grid = grid.reindex(index=bands, columns=ordered_models(grid.columns))
        image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", norm=norm, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            dark = value < 0.35 or value > 3.5  # white text on the saturated ends of the map
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
        ax.set_xticks(range(len(grid.columns)), grid.columns, fontsize=7, rotation=45)
        ax.set_yticks(range(len(bands)), bands if index % columns == 0 else [], fontsize=7)
        ax.set_title(reading, fontsize=9, fontweight="bold" if reading == ACCEPTED else "normal")
    fig.colorbar(image, ax=axes, shrink=0.7, label="RMS z (1 = spreads agree)")
    fig.suptitle("Standardised residuals of the published cells, by γ band and model", fontsize=10)
    save_figure(fig, path_png, "png")
    plt.close(fig)


def write_fidelity(cells, table3, outdir, bm=None) -> None:
    """The means table and figure; with the runs' bm.csv also the spread measures."""
    table = fidelity_table(cells, table3)
    atomic.write_text(os.path.join(outdir, "fidelity.csv"), table.to_csv(index=False))
    text = fidelity_markdown(table)
    if bm is not None:
        coverage, resid, twins = spread_tables(bm, load_published_bm())
        atomic.write_text(os.path.join(outdir, "coverage.csv"), coverage.to_csv(index=False))
        atomic.write_text(os.path.join(outdir, "spread.csv"), resid.to_csv(index=False))
        atomic.write_text(os.path.join(outdir, "twins.csv"), twins.to_csv(index=False))
        residual_figure(resid, os.path.join(outdir, "residuals.png"))
        text += "\n" + spread_markdown(coverage, resid, twins)
    atomic.write_text(os.path.join(outdir, "fidelity.md"), text)
    fidelity_figure(cells, os.path.join(outdir, "fidelity.png"))


# ------------------------------------------------------------------ robustness (avarep.robustness)


def stable_up_to(long: pd.DataFrame, model: str) -> float | None:
    """The largest γ at and below which every seed of the model is ok (None: not even the
    smallest γ)."""
    status = long[long["model"] == model].groupby("lr")["status"].agg(lambda s: s.eq("ok").all())
    best = None
    for lr, ok in status.sort_index().items():
        if not ok:
            break
        best = lr
    return best


def robustness_row(name: str, long: pd.DataFrame) -> dict:
    """One row of the study: health counts, per-model stable range, claim verdicts (all γ
    and the healthy γ, judged by avarep.check on this run's ok seeds). The alternatives are
    avarep.robustness's."""
    claims, published_t3 = published.load_claims(), published.load_table3()
    verdicts = check.claim_verdicts(check.claim_rows(long, claims, published_t3))
    sensitivity = check.sensitivity(long, claims, published_t3)[2]
    counts = long["status"].value_counts()
    healthy = tables.healthy_learning_rates(long)
    row = {"alternative": name, "description": robustness.DESCRIPTIONS.get(name, name),
           **{f"n_{s}": int(counts.get(s, 0)) for s in STATUSES},
           "healthy_lrs": len(healthy)}
    for model in tables.ordered_models(long["model"].unique()):
        top = stable_up_to(long, model)
        row[f"{model} stable ≤"] = "none" if top is None else f"{top:g}"
    row["seeds"] = long["seed"].nunique()
    for r in verdicts.to_dict("records"):
        row[f"claim {r['claim']}"] = r["verdict"]
    for r in sensitivity.to_dict("records"):
        row[f"claim {r['claim']} (healthy γ)"] = r["verdict"]
    return row


def robustness_table(longs: dict) -> pd.DataFrame:
    return pd.DataFrame([robustness_row(name, long) for name, long in longs.items()])


def robustness_markdown(table: pd.DataFrame) -> str:
    return "\n".join([
        "# Robustness of the paper protocol's open choices", "",
        "Per alternative: seed runs by health, the number of learning rates at which every seed "
        "of every model is ok, per model the largest γ at and below which every seed is ok, and "
        "the claim verdicts on the full sweep and on the healthy γ (ok seeds only).", "",
        tables.markdown_table(table.fillna("—")),
    ]) + "\n"


def robustness_figure(longs: dict, path_png) -> None:
    """One stability map per alternative, stacked: share of ok seeds per model and γ."""
    fig, axes = plt.subplots(len(longs), 1, figsize=(9, 2.6 * len(longs)), squeeze=False)
    for ax, (name, long) in zip(axes[:, 0], longs.items()):
        image = draw_stability(ax, tables.stability_map(long), labels=False)
        ax.set_title(f"{name}: {robustness.DESCRIPTIONS.get(name, '')}", fontsize=9)
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="share of ok seeds", fraction=0.03)
    axes[-1, 0].set_xlabel("learning rate γ")
    save_figure(fig, path_png, "png")
    plt.close(fig)


def write_robustness(longs: dict, outdir) -> None:
    """robustness.csv|md|png from each run's long frame (name -> bm.csv rows)."""
    table = robustness_table(longs)
    atomic.write_text(os.path.join(outdir, "robustness.csv"), table.to_csv(index=False))
    atomic.write_text(os.path.join(outdir, "robustness.md"), robustness_markdown(table))
    robustness_figure(longs, os.path.join(outdir, "robustness.png"))
