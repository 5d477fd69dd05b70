"""Author, paper and published side by side (results/<dataset>/compare/).

Reads what each protocol's aggregation and check wrote (bm.csv, check/verdicts.csv) and
answers one question: which published claims survive under each protocol? The answer is
built from the verdicts as they came out (holds, fails, not resolved, not assessable, not
evaluated), never from a fixed sentence.
"""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import atomic  # noqa: E402
from .protocols import get as protocol_entry  # noqa: E402
from .figures import PUBLISHED_STYLE, lr_axis, save_figure  # noqa: E402
from .health import RULE_NAME, STATUSES  # noqa: E402
from .tables import cell_text, fmt4, markdown_table, ordered_models, table12  # noqa: E402

#: The order in which an answer lists verdicts.
VERDICT_ORDER = ("holds", "fails", "not resolved", "not assessable", "not evaluated")


def side_by_side(longs: dict[str, pd.DataFrame], published: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, lr): each protocol's mean, sd, n_ok, n_unstable, n_diverged (means
    from ok seeds only, see tables.table12), and the published BM."""
    frame = None
    columns = ("mean", "sd", "n_ok", "n_unstable", "n_diverged")
    for protocol, long in longs.items():
        t12 = table12(long)[["model", "lr", *columns]]
        t12 = t12.rename(columns={c: f"{protocol}_{c}" for c in columns})
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
                        marker="o", markersize=2.5, capsize=2, label=protocol, color=protocol_entry(protocol).colour)
            unhealthy = part[part[f"{protocol}_n_unstable"] + part[f"{protocol}_n_diverged"] > 0]
            ax.plot(unhealthy["lr"], [0.02] * len(unhealthy), "x",
                    color=protocol_entry(protocol).colour, transform=ax.get_xaxis_transform(),
                    clip_on=False)
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
    fig.suptitle("BM against the learning rate (ok seeds): author's code, paper's equations, "
                 "published (◆); × γ with unstable or diverged seeds")
    fig.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.16, wspace=0.12, hspace=0.35)
    save_figure(fig, path_png, "png")
    plt.close(fig)


def table_markdown(table: pd.DataFrame, protocols: list[str]) -> str:
    shown = pd.DataFrame({
        "model": table["model"],
        "γ": table["lr"].map(lambda v: f"{v:g}"),
        "published": table["published"].map(fmt4),
        **{protocol: [cell_text({"mean": r[f"{protocol}_mean"], "sd": r[f"{protocol}_sd"],
                                 **{f"n_{s}": r[f"{protocol}_n_{s}"] for s in STATUSES}})
                      for _, r in table.iterrows()] for protocol in protocols},
    })
    return markdown_table(shown)


def answer(merged: pd.DataFrame, protocols: list[str]) -> list[str]:
    """One line per protocol: which claims got which verdict (from the verdicts themselves)."""
    lines = []
    for protocol in protocols:
        groups = merged.groupby(protocol, sort=False)["claim"].agg(lambda c: ", ".join(map(str, c)))
        parts = [f"{verdict} **{groups[verdict]}**" for verdict in VERDICT_ORDER if verdict in groups]
        lines.append(f"* `{protocol}`: " + "; ".join(parts) + f" (of {len(merged)} claims).")
    return lines


def summary(table: pd.DataFrame, verdicts: dict[str, pd.DataFrame], dataset: str,
            sensitivities: dict[str, pd.DataFrame] | None = None) -> str:
    protocols = list(verdicts)
    healthy = {p: f for p, f in (sensitivities or {}).items() if len(f)}
    lines = [f"# Author's code vs the paper's equations — dataset `{dataset}`", ""]
    per_model = table.groupby("model", sort=False)[[f"{p}_abs_delta" for p in protocols]].mean()
    per_model = per_model.loc[ordered_models(per_model.index)]
    merged = None
    for protocol, frame in verdicts.items():
        part = frame[["claim", "text", "published_verdict", "verdict"]].rename(columns={"verdict": protocol})
        merged = part if merged is None else merged.merge(part.drop(columns=["text", "published_verdict"]), on="claim")
    for protocol, frame in healthy.items():
        merged = merged.merge(frame[["claim", "verdict"]].rename(
            columns={"verdict": f"{protocol} (healthy γ)"}), on="claim")
    health = "; ".join(
        f"{p}: " + ", ".join(f"{int(table[f'{p}_n_{s}'].sum())} {s}" for s in STATUSES)
        for p in protocols)
    lines += ["## Answer", "", "Claim verdicts per protocol (ok seeds only):", "",
              *answer(merged, protocols + [f"{p} (healthy γ)" for p in healthy]), ""]
    for protocol, frame in healthy.items():
        lrs = str(frame["learning_rates"].iloc[0]).split()
        lines += [f"`{protocol} (healthy γ)`: Table 3 over the {len(lrs)} γ at which every seed "
                  f"of every model is ok under `{protocol}` (γ = {', '.join(lrs)}).", ""]
    lines += [
        "", "Mean |Δ| to the published Tables 1–2 per model (cells with ≥ 2 ok seeds):", "",
        markdown_table(pd.DataFrame({"model": per_model.index,
                                     **{p: per_model[f"{p}_abs_delta"].map(fmt4).tolist() for p in protocols}})),
        f"Seed runs by health ({RULE_NAME}): {health}.", "",
        "## Claims", "", markdown_table(merged), "",
        "A verdict is `holds` / `fails` only when the seeds' spread resolves the difference "
        "(each protocol's check/summary.md states the rule).", "",
        "## Per cell", "", table_markdown(table, protocols),
    ]
    return "\n".join(lines) + "\n"


def write(table: pd.DataFrame, verdicts: dict[str, pd.DataFrame], dataset: str, outdir,
          sensitivities: dict[str, pd.DataFrame] | None = None) -> None:
    atomic.write_text(os.path.join(outdir, "compare.csv"), table.to_csv(index=False))
    figure(table, list(verdicts), os.path.join(outdir, "compare.png"))
    atomic.write_text(os.path.join(outdir, "summary.md"),
                      summary(table, verdicts, dataset, sensitivities))
