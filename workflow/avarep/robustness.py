"""Robustness of the ``paper`` protocol's open choices: do its conclusions depend on them?

The paper leaves open the choices that decide whether the single online pass stays stable:
the mu output's activation (the paper calls mu linear), the initialisation's scale, and the
arithmetic's precision. The robustness study trains the ``paper`` grid once per alternative
below (run ``robustness-<name>``) and sets each beside the main grid's ``paper`` run (the
baseline, with the configured options), all read on the same seeds 0..N-1 (config
``robustness_seeds``): per alternative, the stability map and the claim verdicts in one
table (``snakemake --cores 4 robustness``).
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import atomic, check, published, tables  # noqa: E402
from .figures import draw_stability, save_figure  # noqa: E402
from .health import STATUSES  # noqa: E402

#: name -> the paper-protocol options it changes (each one choice away from the defaults).
ALTERNATIVES: dict[str, dict] = {
    "mu-logistic": {"mu_output": "logistic"},
    "init-0.1x": {"init_scale": 0.1},
    "float32": {"dtype": "float32"},
}
DESCRIPTIONS: dict[str, str] = {
    "baseline": "the main grid's paper run: mu linear, default init, the configured dtype",
    "mu-logistic": "mu = sigmoid(u) instead of linear (a_f' = mu (1 - mu) in its errors)",
    "init-0.1x": "initialisation bound 0.1/sqrt(fan_in) instead of 1/sqrt(fan_in)",
    "float32": "single precision instead of double",
}
BASELINE = "baseline"
#: The protocol whose open choices the study varies (its baseline is that protocol's run).
PROTOCOL = "paper"


def options(name: str) -> dict:
    if name not in ALTERNATIVES:
        raise ValueError(f"unknown robustness alternative {name!r}; "
                         f"expected one of {', '.join(ALTERNATIVES)}")
    return dict(ALTERNATIVES[name])


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


def alternative_row(name: str, long: pd.DataFrame) -> dict:
    """One row of the study: health counts, per-model stable range, claim verdicts (all γ
    and the healthy γ, judged by avarep.check on this run's ok seeds)."""
    claims, published_t3 = published.load_claims(), published.load_table3()
    verdicts = check.claim_verdicts(check.claim_rows(long, claims, published_t3))
    sensitivity = check.sensitivity(long, claims, published_t3)[2]
    counts = long["status"].value_counts()
    healthy = tables.healthy_learning_rates(long)
    row = {"alternative": name, "description": DESCRIPTIONS.get(name, name),
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


def study_table(longs: dict) -> pd.DataFrame:
    return pd.DataFrame([alternative_row(name, long) for name, long in longs.items()])


def study_markdown(table: pd.DataFrame) -> str:
    return "\n".join([
        "# Robustness of the paper protocol's open choices", "",
        "Per alternative: seed runs by health, the number of learning rates at which every seed "
        "of every model is ok, per model the largest γ at and below which every seed is ok, and "
        "the claim verdicts on the full sweep and on the healthy γ (ok seeds only).", "",
        tables.markdown_table(table.fillna("—")),
    ]) + "\n"


def study_figure(longs: dict, path_png) -> None:
    """One stability map per alternative, stacked: share of ok seeds per model and γ."""
    fig, axes = plt.subplots(len(longs), 1, figsize=(9, 2.6 * len(longs)), squeeze=False)
    for ax, (name, long) in zip(axes[:, 0], longs.items()):
        image = draw_stability(ax, tables.stability_map(long), labels=False)
        ax.set_title(f"{name}: {DESCRIPTIONS.get(name, '')}", fontsize=9)
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="share of ok seeds", fraction=0.03)
    axes[-1, 0].set_xlabel("learning rate γ")
    save_figure(fig, path_png, "png")
    plt.close(fig)


def write(longs: dict, outdir) -> None:
    """robustness.csv|md|png from each run's long frame (name -> bm.csv rows)."""
    table = study_table(longs)
    atomic.write_text(os.path.join(outdir, "robustness.csv"), table.to_csv(index=False))
    atomic.write_text(os.path.join(outdir, "robustness.md"), study_markdown(table))
    study_figure(longs, os.path.join(outdir, "robustness.png"))
