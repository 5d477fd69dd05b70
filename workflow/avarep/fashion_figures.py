"""Figures of the Fashion-MNIST study: metrics vs learning rate, sample grid, precision vs
recall."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402
import numpy as np  # noqa: E402

from . import atomic, fmnist, fashion_models as fm  # noqa: E402
from .fashion import LABELS, METRICS, NO_LR  # noqa: E402
from .fashion_results import ordered  # noqa: E402


def colour(model):
    """One colour per model in every panel (a panel may skip models)."""
    return plt.cm.tab10(fm.ALL_MODELS.index(model) % 10)


def _save(fig, path, crop=True):
    """``crop=False`` for a figure already fitted by tight_layout: cropping draws it once more
    just to measure it."""
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight" if crop else None)
    plt.close(fig)


def metrics_vs_lr(long, path):
    """Each metric (test split) against γ per neural model: mean over ok seeds ± SD; the
    floors as horizontal lines."""
    test = long[(long["split"] == "test") & (long["status"] == "ok")]
    fig, axes = plt.subplots(3, 3, figsize=(13, 10))
    for ax, metric in zip(axes.flat, METRICS):
        for model in ordered(test["model"].unique()):
            rows = test[test["model"] == model]
            if rows[metric].isna().all():
                continue
            if (rows["lr"] == NO_LR).all():
                ax.axhline(rows[metric].mean(), ls=":", lw=1, label=model, color="grey"
                           if model != "real" else "black")
                continue
            stats = rows.assign(g=rows["lr"].astype(float)).groupby("g")[metric].agg(["mean", "std"])
            ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", ms=3,
                        capsize=2, label=model, ls="--" if model.endswith("-std") else "-",
                        color=colour(model))
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())  # unlabelled, and a layout pass per tick
        ax.set_title(LABELS[metric])
        ax.set_xlabel("learning rate γ (paper models: SGD; -std: Adam)")
    axes.flat[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, path, crop=False)


def sample_grid(samples: dict, real: np.ndarray, path, per_row=12):
    """One row of samples per model (best γ, first ok seed) under a row of real test images."""
    rows = [("real test images", real[:per_row])] + [(m, s[:per_row]) for m, s in samples.items()]
    fig, axes = plt.subplots(len(rows), 1, figsize=(per_row * 0.6, len(rows) * 0.72))
    for ax, (name, images) in zip(np.atleast_1d(axes), rows):
        side = fmnist.DATASET.height  # square images
        strip = np.ones((side, per_row * side))
        for i, image in enumerate(images):
            strip[:, i * side:(i + 1) * side] = np.asarray(image, np.float64).reshape(side, side)
        ax.imshow(strip, cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    _save(fig, path)


def precision_recall(tab, path):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for _, row in tab.iterrows():
        if np.isnan(row["precision_mean"]):
            continue
        ax.errorbar(row["recall_mean"], row["precision_mean"], xerr=row["recall_sd"],
                    yerr=row["precision_sd"], marker="o", capsize=2)
        ax.annotate(row["model"], (row["recall_mean"], row["precision_mean"]), fontsize=8,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("recall (k = 5)"), ax.set_ylabel("precision (k = 5)")
    ax.set_xlim(-0.02, 1.02), ax.set_ylim(-0.02, 1.02)
    ax.set_title("Best γ per model, test split, mean ± SD over ok seeds")
    _save(fig, path)
