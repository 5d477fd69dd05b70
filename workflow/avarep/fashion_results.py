"""Aggregation of the Fashion-MNIST study: the long table, the best learning rate per model
(lowest mean validation FD over ok seeds), the model x metric table, the verdicts of every AVA
variant against the baselines, the figures and the summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import fashion_models as fm
from .check import welch_ci
from .equivalence import holm, welch_p
from .fashion import LABELS, METRICS

AVA = ("AVA1", "AVA2", "AVA3", "AVA4", "AVA5")
BASELINES = ("VAE-std", "GAN-std", "VAE", "GAN")
MIN_OK = 2  # a mean needs at least 2 ok seeds, as in the main grid


def long_frame(records) -> pd.DataFrame:
    """One row per (model, lr, seed, split) with every metric (NaN where absent)."""
    rows = []
    for record in records:
        for run in record["runs"]:
            for split in ("val", "test"):
                metrics = (run["metrics"] or {}).get(split, {})
                rows.append({"model": record["model"], "lr": record["lr"], "seed": run["seed"],
                             "status": run["status"], "split": split,
                             **{m: metrics.get(m) for m in (*METRICS, "kid_se")}})
    frame = pd.DataFrame(rows)
    frame[[*METRICS, "kid_se"]] = frame[[*METRICS, "kid_se"]].astype(float)
    return frame


def best_lrs(long: pd.DataFrame) -> dict:
    """model -> the lr of lowest mean validation FD over ok seeds (>= MIN_OK of them)."""
    val = long[(long["split"] == "val") & (long["status"] == "ok")]
    stats = val.groupby(["model", "lr"])["fd"].agg(["mean", "count"]).reset_index()
    stats = stats[stats["count"] >= MIN_OK]
    return {model: group.loc[group["mean"].idxmin(), "lr"] for model, group in stats.groupby("model")}


def ordered(models) -> list:
    return [m for m in fm.ALL_MODELS if m in set(models)]


def table(long: pd.DataFrame, best: dict) -> pd.DataFrame:
    """Per model and metric on the test split: best-lr mean and SD over ok seeds, and the median
    over every ok seed of the whole budget; status counts over the budget."""
    test = long[long["split"] == "test"]
    rows = []
    for model in ordered(test["model"].unique()):
        every = test[test["model"] == model]
        ok = every[every["status"] == "ok"]
        chosen = ok[ok["lr"] == best.get(model)]
        row = {"model": model, "best_lr": best.get(model), "n_ok_best": len(chosen),
               **{f"n_{s}": int((every["status"] == s).sum()) for s in ("ok", "unstable", "diverged")}}
        for metric in METRICS:
            values = chosen[metric].dropna()
            row[f"{metric}_mean"] = values.mean() if len(values) >= MIN_OK else math.nan
            row[f"{metric}_sd"] = values.std(ddof=1) if len(values) >= MIN_OK else math.nan
            row[f"{metric}_median_budget"] = ok[metric].median()
        rows.append(row)
    return pd.DataFrame(rows)


def verdicts(long: pd.DataFrame, best: dict, alpha: float = 0.05) -> pd.DataFrame:
    """Each AVA variant vs each baseline per metric at their best lr (test split, ok seeds):
    Welch 95% CI of the difference, Holm across the whole table; better / worse / not resolved."""
    test = long[(long["split"] == "test") & (long["status"] == "ok")]

    def seeds(model, metric):
        rows = test[(test["model"] == model) & (test["lr"] == best.get(model))]
        return rows[metric].dropna().to_numpy()

    rows = []
    for ava in AVA:
        for base in BASELINES:
            for metric, higher in METRICS.items():
                a, b = seeds(ava, metric), seeds(base, metric)
                if len(a) < MIN_OK or len(b) < MIN_OK:
                    continue  # e.g. no reconstruction for a GAN, or too few ok seeds
                diff, lo, hi = welch_ci(a, b)
                rows.append({"model": ava, "baseline": base, "metric": metric,
                             "higher_is_better": higher, "n_model": len(a), "n_baseline": len(b),
                             "mean_model": a.mean(), "mean_baseline": b.mean(),
                             "difference": diff, "ci_low": lo, "ci_high": hi, "p": welch_p(a, b)})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["holm_rejects"] = holm(frame["p"].to_numpy(), alpha)
    favourable = np.where(frame["higher_is_better"], frame["difference"] > 0, frame["difference"] < 0)
    frame["verdict"] = np.where(~frame["holm_rejects"], "not resolved",
                                np.where(favourable, "better", "worse"))
    return frame


def answer(verdict_frame: pd.DataFrame, tab: pd.DataFrame) -> str:
    """The one-line answer: which AVA variants beat which standard baseline on FD."""
    fd = verdict_frame[verdict_frame["metric"] == "fd"] if len(verdict_frame) else verdict_frame
    wins = {base: sorted(fd[(fd["baseline"] == base) & (fd["verdict"] == "better")]["model"])
            for base in ("VAE-std", "GAN-std")}
    fds = tab.set_index("model")["fd_mean"]
    best_ava = fds.reindex(list(AVA)).idxmin() if fds.reindex(list(AVA)).notna().any() else None
    numbers = ", ".join(f"{m} {fds[m]:.3g}" for m in (best_ava, "VAE-std", "GAN-std", "real")
                        if m is not None and m in fds and not math.isnan(fds[m]))
    if not wins["VAE-std"] and not wins["GAN-std"]:
        head = "No: no AVA variant beats the standard VAE or the standard GAN on Fréchet distance"
    else:
        parts = [f"{', '.join(v)} beat{'s' if len(v) == 1 else ''} the {k}" for k, v in wins.items() if v]
        head = "Partly: on Fréchet distance " + "; ".join(parts)
    # BM is left out of the tally: it ranks the mean image above real images (floor_check)
    std = verdict_frame[verdict_frame["baseline"].isin(["VAE-std", "GAN-std"])
                        & (verdict_frame["metric"] != "bm")] if len(verdict_frame) else verdict_frame
    tally = std["verdict"].value_counts().to_dict() if len(std) else {}
    return (f"{head} on Fashion-MNIST (test FD at the best γ, lower is better: {numbers}); "
            f"over the quality metrics (all but BM) against the two standard baselines the AVA "
            f"variants are better in {tally.get('better', 0)}, worse in {tally.get('worse', 0)} "
            f"and not resolved in {tally.get('not resolved', 0)} of {len(std)} comparisons "
            "(Welch 95% CI, Holm).")


def _fmt(mean, sd, digits=3):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    return f"{mean:.{digits}g} ± {sd:.{digits - 1}g}" if not math.isnan(sd) else f"{mean:.{digits}g}"


def table_markdown(tab: pd.DataFrame) -> str:
    metrics = list(METRICS)
    head = "| model | best γ | ok / unstable / diverged | " + " | ".join(LABELS[m] for m in metrics) + " |"
    lines = [head, "|" + "---|" * (3 + len(metrics))]
    for _, row in tab.iterrows():
        cells = [f"{_fmt(row[f'{m}_mean'], row[f'{m}_sd'])}<br>({_median(row[f'{m}_median_budget'])})"
                 for m in metrics]
        lr = row["best_lr"] if row["best_lr"] is not None else "–"
        lines.append(f"| {row['model']} | {lr} | {row['n_ok']} / {row['n_unstable']} / "
                     f"{row['n_diverged']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _median(value):
    return "–" if value is None or math.isnan(value) else f"{value:.3g}"


def verdict_markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "No comparison had at least 2 ok seeds on both sides.\n"
    pivot = frame.pivot_table(index=["model", "baseline"], columns="metric", values="verdict",
                              aggfunc="first")
    pivot = pivot[[m for m in METRICS if m in pivot.columns]]
    short = {"better": "**better**", "worse": "worse", "not resolved": "n.r."}
    lines = ["| AVA | vs | " + " | ".join(LABELS[m] for m in pivot.columns) + " |",
             "|" + "---|" * (2 + len(pivot.columns))]
    for (model, base), row in pivot.iterrows():
        lines.append(f"| {model} | {base} | " + " | ".join(
            short.get(v, "–") if isinstance(v, str) else "–" for v in row) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(tab, verdict_frame, records, classifier) -> str:
    """The study's summary; its first line is the answer."""
    lines = [
        answer(verdict_frame, tab), "",
        "# Beyond the paper: AVA on Fashion-MNIST", "",
        *_design_lines(records, classifier),
        "## Table (test split)", "",
        "Each cell: mean ± SD over ok seeds at the best γ, and (in brackets) the median over "
        "every ok seed of the whole budget. FD, KID, class KL (of the classifier's label "
        "histogram from uniform) and reconstruction MSE: lower is better; precision, recall, "
        "density, coverage (k = 5): higher is better; BM is the paper's metric, reported for "
        "continuity.", "",
        table_markdown(tab),
        *_verdict_lines(verdict_frame),
        f"**Sanity (floors):** {floor_check(tab)}", "",
        "Seeds are excluded by the main grid's health rule (avarep.health: non-finite numbers "
        "→ diverged; encoder |μ| or σ² above 100 → unstable); the table counts them.", "",
    ]
    return "\n".join(lines)


def _design_lines(records, classifier) -> list[str]:
    """The budget, the features and the compute time, one paragraph each."""
    budget = records[0]["settings"]["budget"]
    wall = sum(r["wall_seconds"] for r in records)
    return [
        f"**Budget (equal for every neural model):** {budget['epochs']} epoch(s) over the first "
        f"{budget['train_images']} train images, minibatch {budget['batch']}, seeds "
        f"{', '.join(map(str, records[0]['seeds']))}; γ ∈ {budget['lrs_paper']} (paper models: "
        f"plain SGD steps, the paper's rule) and {budget['lrs_adam']} (VAE-std, GAN-std: Adam); "
        f"{budget['dtype']} on {budget['device']}. Best γ per model: lowest mean validation FD "
        f"(last 5,000 train images). Every score: the test split, {budget['samples']} generated "
        f"images (prior samples z ~ N(0, I)) against the first {budget['samples']} test images "
        "(reconstruction MSE per pixel: decode(μ(x)) of the same test images; BM pairs "
        "generated image i with test image i).",
        "",
        f"**Features:** a small CNN (seed 0, {classifier['epochs']} epoch(s), "
        f"{classifier['features']}-d penultimate layer) with test accuracy "
        f"**{classifier['test_accuracy']:.4f}** (floor {classifier['minimum_accuracy']}). Not "
        "Inception features: numbers compare models within this study only.",
        "",
        f"**Training and scoring time:** {wall / 60:.1f} min summed over the {len(records)} jobs "
        "(the wall time of a run is less with several cores).",
        "",
    ]


def _verdict_lines(verdict_frame) -> list[str]:
    counts = verdict_frame["verdict"].value_counts().to_dict() if len(verdict_frame) else {}
    return [
        "## Verdicts", "",
        f"Each AVA variant against each baseline at their best γ: Welch 95% CI of the difference "
        f"of means over ok seeds, Holm-corrected across all {len(verdict_frame)} comparisons of "
        f"the table ({counts.get('better', 0)} better, {counts.get('worse', 0)} worse, "
        f"{counts.get('not resolved', 0)} not resolved). VAE and GAN are the paper's own "
        "baselines under its equations; VAE-std and GAN-std the standard ones. BM's "
        "verdicts read the paper's direction (higher is better) and are listed for continuity "
        "only: BM ranks the mean image above real images (see the sanity line).", "",
        verdict_markdown(verdict_frame),
    ]


def floor_check(tab) -> str:
    """Does real-vs-real beat the mean image on each metric (it must on every quality metric)?"""
    rows = tab.set_index("model")
    if not {"real", "mean-image"} <= set(rows.index):
        return "real-vs-real or the mean image is missing."
    verdicts = []
    for metric, higher in METRICS.items():
        real, mean = rows.at["real", f"{metric}_mean"], rows.at["mean-image", f"{metric}_mean"]
        if math.isnan(real) or math.isnan(mean):
            continue
        beats = real > mean if higher else real < mean
        verdicts.append(f"{LABELS[metric]} {'yes' if beats else 'NO'} ({real:.3g} vs {mean:.3g})")
    return "real-vs-real beats the mean image on " + "; ".join(verdicts) + "."
