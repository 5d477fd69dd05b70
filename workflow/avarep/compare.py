"""Author, paper and published side by side (results/<dataset>/compare/).

Reads what each protocol's aggregation and check wrote (bm.csv, check/verdicts.csv) and
answers one question: which published claims survive under the paper's own equations?
"""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import atomic  # noqa: E402
from .figures import PUBLISHED_STYLE, lr_axis, save_figure  # noqa: E402
from .tables import cell_text, fmt4, markdown_table, ordered_models, table12  # noqa: E402

PROTOCOL_STYLE = {"author": {"color": "#1f77b4"}, "paper": {"color": "#d62728"}}


def side_by_side(longs: dict[str, pd.DataFrame], published: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, lr): each protocol's mean, sd, n_ok, n_diverged, and the published BM."""
    frame = None
    for protocol, long in longs.items():
        t12 = table12(long)[["model", "lr", "mean", "sd", "n_ok", "n_diverged"]]
        t12 = t12.rename(columns={c: f"{protocol}_{c}" for c in ("mean", "sd", "n_ok", "n_diverged")})
        frame = t12 if frame is None else frame.merge(t12, on=["model", "lr"], how="outer")
    # Only the cells that were run, each with its published value (none for other data).
    pub = published.rename(columns={"bm": "published"})[["model", "lr", "published"]]
    frame = pub.merge(frame, on=["model", "lr"], how="right")
    for protocol in longs:
        frame[f"{protocol}_abs_delta"] = (frame[f"{protocol}_mean"] - frame["published"]).abs()
    order = {m: i for i, m in enumerate(ordered_models(frame["model"].unique()))}
    return frame.sort_values(["model", "lr"], key=lambda s: s.map(order) if s.name == "model" else -s)


def figure(table: pd.DataFrame, protocols: list[str], path_png: str | os.PathLike) -> None:
    """One panel per model: BM vs gamma for each protocol (mean, with SD error bars), published."""
    models = ordered_models(table["model"].unique())
    cols = min(4, len(models))
    rows = math.ceil(len(models) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.3 * rows), squeeze=False, sharey=True)
    for ax, model in zip(axes.flat, models):
        part = table[table["model"] == model].sort_values("lr")
        for protocol in protocols:
            ax.errorbar(part["lr"], part[f"{protocol}_mean"], yerr=part[f"{protocol}_sd"].fillna(0),
                        marker="o", markersize=2.5, capsize=2, label=protocol, **PROTOCOL_STYLE[protocol])
            diverged = part[part[f"{protocol}_n_diverged"] > 0]
            ax.plot(diverged["lr"], [0.02] * len(diverged), "x", color=PROTOCOL_STYLE[protocol]["color"],
                    transform=ax.get_xaxis_transform(), clip_on=False)
        ax.plot(part["lr"], part["published"], label="published", **PUBLISHED_STYLE)
        lr_axis(ax)
        ax.set_title(model)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("BM")
    for index, ax in enumerate(axes.flat):  # one x label per column, under its lowest panel
        if index + cols < len(models):
            ax.set_xlabel("")
    for ax in list(axes.flat)[len(models):]:
        ax.set_visible(False)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=len(protocols) + 1,
               frameon=False)
    fig.suptitle("BM against the learning rate: author's code, paper's equations, published (◆); × diverged")
    fig.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.16, wspace=0.12, hspace=0.35)
    save_figure(fig, path_png, "png")
    plt.close(fig)


def table_markdown(table: pd.DataFrame, protocols: list[str]) -> str:
    shown = pd.DataFrame({
        "model": table["model"],
        "γ": table["lr"].map(lambda v: f"{v:g}"),
        "published": table["published"].map(fmt4),
        **{protocol: [cell_text({"mean": r[f"{protocol}_mean"], "sd": r[f"{protocol}_sd"],
                                 "n_ok": r[f"{protocol}_n_ok"], "n_diverged": r[f"{protocol}_n_diverged"]})
                      for _, r in table.iterrows()] for protocol in protocols},
    })
    return markdown_table(shown)


def summary(table: pd.DataFrame, verdicts: dict[str, pd.DataFrame], dataset: str) -> str:
    protocols = list(verdicts)
    lines = [f"# Author's code vs the paper's equations — dataset `{dataset}`", ""]
    per_model = table.groupby("model", sort=False)[[f"{p}_abs_delta" for p in protocols]].mean()
    per_model = per_model.loc[ordered_models(per_model.index)]
    diverged = {p: int(table[f"{p}_n_diverged"].sum()) for p in protocols}
    merged = None
    for protocol, frame in verdicts.items():
        part = frame[["claim", "text", "published_verdict", "verdict"]].rename(columns={"verdict": protocol})
        merged = part if merged is None else merged.merge(part.drop(columns=["text", "published_verdict"]), on="claim")
    surviving = merged.loc[merged.get("paper", pd.Series(dtype=str)) == "holds", "claim"].tolist() if "paper" in protocols else []
    lines += ["## Answer", ""]
    if "paper" in protocols:
        survived = ", ".join(map(str, surviving)) if surviving else "none"
        lines.append(f"Claims that hold under the paper's own equations (`paper` protocol): **{survived}** "
                     f"(of {len(merged)}).")
    lines += [
        "", "Mean |Δ| to the published Tables 1–2 per model:", "",
        markdown_table(pd.DataFrame({"model": per_model.index,
                                     **{p: per_model[f"{p}_abs_delta"].map(fmt4).tolist() for p in protocols}})),
        "Diverged seeds: " + ", ".join(f"{p} {n}" for p, n in diverged.items()) + ".", "",
        "## Claims", "", markdown_table(merged), "",
        "A verdict is `holds` / `fails` only when the seeds' spread resolves the difference "
        "(each protocol's check/summary.md states the rule).", "",
        "## Per cell", "", table_markdown(table, protocols),
    ]
    return "\n".join(lines) + "\n"


def write(table: pd.DataFrame, verdicts: dict[str, pd.DataFrame], dataset: str, outdir) -> None:
    atomic.write_text(os.path.join(outdir, "compare.csv"), table.to_csv(index=False))
    figure(table, list(verdicts), os.path.join(outdir, "compare.png"))
    atomic.write_text(os.path.join(outdir, "summary.md"), summary(table, verdicts, dataset))
