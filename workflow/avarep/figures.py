"""Figures: the paper's Figure 5 (Table 3 per model) and BM against the learning rate.

Every figure uses MODEL_COLOURS, so a model has the same colour everywhere, and marks the
published values in black so ours and the paper's are told apart at a glance.
"""

from __future__ import annotations

import math
import os

import matplotlib
import matplotlib.lines
import matplotlib.patches

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402

from . import atomic, models  # noqa: E402
from .published import STATISTICS  # noqa: E402
from .tables import MIN_OK_SEEDS  # noqa: E402

#: model -> colour, from the model registry (avarep.models), in display order.
MODEL_COLOURS: dict[str, str] = {m.name: m.colour for m in models.REGISTRY.values()}
PUBLISHED_STYLE = {"color": "black", "marker": "D", "markersize": 5, "linestyle": "none"}


def colour(model: str) -> str:
    return MODEL_COLOURS.get(model, "grey")


def save_figure(fig, path: str | os.PathLike, fmt: str, crop: bool = True) -> None:
    """Save atomically. ``crop=False`` for a figure whose layout is already fitted
    (tight_layout): cropping (bbox_inches="tight") draws it once more just to measure it,
    a third of the figures job's time."""
    # The atomic temporary file has no meaningful suffix, so the format is given explicitly.
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight" if crop else None)


def figure5(table3_df: pd.DataFrame, published_table3: pd.DataFrame,
            path_png: str | os.PathLike, path_pdf: str | os.PathLike,
            missing: dict[str, str] | None = None) -> None:
    """Figure 5: one panel per Table 3 statistic, a bar per model, published values as ◆.

    ``missing``: model -> why it has no bar (e.g. learning rates without 2 ok seeds), written
    vertically where its bar would stand.
    """
    models = list(table3_df.columns)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, stat in zip(axes.flat, STATISTICS):
        ours = [table3_df.at[stat, m] for m in models]
        ax.bar(models, ours, color=[colour(m) for m in models], edgecolor="black", linewidth=0.5,
               label="ours (bars)")
        pub = [published_table3.at[stat, m] if m in published_table3.columns else math.nan
               for m in models]
        ax.plot(models, pub, label="published", **PUBLISHED_STYLE)
        for x, model in enumerate(models):
            if (missing or {}).get(model) and not math.isfinite(table3_df.at[stat, model]):
                ax.text(x, 0.02, missing[model], rotation=90, ha="center", va="bottom",
                        fontsize=7, color="dimgrey", transform=ax.get_xaxis_transform())
        ax.set_title(stat)
        ax.set_ylabel("BM" if stat != "SD" else "SD of BM")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("model")
    fig.suptitle("Figure 5: mean, maximum, minimum and SD of BM over the learning rates")
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # room at the bottom for the shared legend
    # A neutral swatch for "ours": the bars carry each model's own colour.
    ours = matplotlib.patches.Patch(facecolor="lightgrey", edgecolor="black", linewidth=0.5)
    published_marker = matplotlib.lines.Line2D([], [], **PUBLISHED_STYLE)
    fig.legend([ours, published_marker], ["ours (bars, one colour per model)", "published"],
               loc="lower center", ncol=2, frameon=False)
    save_figure(fig, path_png, "png", crop=False)
    save_figure(fig, path_pdf, "pdf", crop=False)
    plt.close(fig)


def lr_axis(ax) -> None:
    ax.set_xscale("log")
    ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    ax.xaxis.set_major_locator(mticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(mticker.FixedFormatter([f"{t:g}" for t in ticks]))
    # No minor ticks: the log axis' unlabelled ones cost a layout per tick and say nothing the
    # labelled γ do not.
    ax.xaxis.set_minor_locator(mticker.NullLocator())
    ax.set_xlabel("learning rate γ (log scale)")


#: How each non-ok status is drawn on the bottom edge of a BM-vs-γ plot.
UNHEALTHY_STYLE = {"unstable": ("orange", "^"), "diverged": ("red", "x")}


def bm_vs_lr(long_df: pd.DataFrame, published: pd.DataFrame, model: str,
             path_png: str | os.PathLike) -> None:
    """One model's BM against γ: mean and min-max band over ok seeds (where there are at least
    2), published ◆, and the γ with unstable (▲) or diverged (×) seeds, with their counts."""
    runs = long_df[long_df["model"] == model]
    ok = runs[runs["status"] == "ok"].groupby("lr")["bm"].agg(["mean", "min", "max", "count"])
    ok = ok[ok["count"] >= MIN_OK_SEEDS].reindex(sorted(runs["lr"].unique()))  # gaps: no line
    pub = published[published["model"] == model].sort_values("lr")
    n_seeds = runs["seed"].nunique()

    fig, ax = plt.subplots(figsize=(7, 4.5))
    c = colour(model)
    ax.fill_between(ok.index, ok["min"], ok["max"], color=c, alpha=0.25, linewidth=0,
                    label="ours: min–max over ok seeds")
    ax.plot(ok.index, ok["mean"], color=c, marker="o", markersize=3,
            label=f"ours: mean over ok seeds (≥ {MIN_OK_SEEDS})")
    ax.plot(pub["lr"], pub["bm"], label="published", **PUBLISHED_STYLE)
    for row, (status, (mark_colour, marker)) in enumerate(UNHEALTHY_STYLE.items()):
        counts = runs[runs["status"] == status].groupby("lr").size()
        if counts.empty:
            continue
        # Unhealthy seeds' BM is not a result: mark their γ on the bottom edge, with the count.
        height = 0.02 + 0.08 * row
        ax.plot(counts.index, [height] * len(counts), transform=ax.get_xaxis_transform(),
                color=mark_colour, marker=marker, linestyle="none", clip_on=False,
                label=f"{status} seed(s), count above")
        for lr, n in counts.items():
            ax.annotate(str(n), (lr, height + 0.03), xycoords=ax.get_xaxis_transform(),
                        color=mark_colour, ha="center", fontsize=8)
    lr_axis(ax)
    ax.set_ylabel("BM")
    ax.set_title(f"{model}: BM against the learning rate ({n_seeds} seed{'s' * (n_seeds != 1)})")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path_png, "png", crop=False)
    plt.close(fig)


def draw_stability(ax, stability: pd.DataFrame, labels: bool = True):
    """Model x γ heat map of the share of ok seeds on ``ax`` (tiles labelled 'ok/seeds')."""
    models = [m for m in MODEL_COLOURS if m in set(stability["model"])]
    models += sorted(set(stability["model"]) - set(models))
    lrs = sorted(stability["lr"].unique(), reverse=True)
    wide = stability.assign(text=stability["n_ok"].astype(str) + "/" + stability["seeds"].astype(str))
    share = wide.pivot(index="model", columns="lr", values="ok_share").reindex(index=models, columns=lrs)
    image = ax.imshow(share.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    if labels:
        text = wide.pivot(index="model", columns="lr", values="text").reindex(index=models, columns=lrs)
        for i, model in enumerate(models):
            for j, lr in enumerate(lrs):
                value = text.at[model, lr]
                ax.text(j, i, "" if pd.isna(value) else value, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(lrs)), [f"{lr:g}" for lr in lrs], rotation=60, fontsize=8)
    ax.set_yticks(range(len(models)), models, fontsize=8)
    return image


def stability_map(stability: pd.DataFrame, title: str, path_png: str | os.PathLike) -> None:
    """The stability map of one run as a figure file."""
    n_lrs, n_models = stability["lr"].nunique(), stability["model"].nunique()
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * n_lrs + 2), 0.5 * n_models + 1.8))
    image = draw_stability(ax, stability)
    ax.set_xlabel("learning rate γ")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="share of ok seeds", fraction=0.03)
    fig.tight_layout()
    save_figure(fig, path_png, "png", crop=False)
    plt.close(fig)
