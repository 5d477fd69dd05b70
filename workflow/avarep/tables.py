"""Aggregation: cell records -> bm.csv (one row per seed) -> Tables 1-3 (spec sections 4, 8).

* ``collect(records)``  the long per-seed frame that bm.csv holds
* ``table12(long)``     per (model, lr): mean and sample SD over ok seeds, n_ok, n_unstable,
  n_diverged (seed statuses: avarep.health)
* ``table3(values)``    the paper's Table 3 semantics, exactly: each per-lr value rounded to
  4 decimals first, then mean, max, min and sample SD (n-1), each rounded to 4 decimals,
  half away from zero on the decimal value (as a spreadsheet does)

Table 1 holds the rows lr >= 0.1 and Table 2 the rows lr < 0.1 (the assumption stated in
``published.py``).
"""

from __future__ import annotations

import math
import os
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Iterable, Mapping, Sequence

import pandas as pd

from . import atomic
from .health import STATUSES
from .published import STATISTICS
from .sweep import LEARNING_RATES, MODELS, lr_label

LONG_COLUMNS = ("dataset", "protocol", "model", "lr", "seed", "bm", "status", "reason")
TABLE12_COLUMNS = ("table", "lr", "model", "mean", "sd", "n_ok", "n_unstable", "n_diverged")
#: A cell's mean is shown (and compared) only when it rests on at least this many ok seeds.
MIN_OK_SEEDS = 2
#: Rows of Table 1 are lr >= this value, rows of Table 2 below it.
TABLE1_MIN_LR = 0.1
_QUANTUM = Decimal("0.0001")


# ---------------------------------------------------------------------------- ordering helpers

def ordered_models(names: Iterable[str]) -> list[str]:
    """Models in the paper's column order; unknown names after them, sorted."""
    names = set(names)
    return [m for m in MODELS if m in names] + sorted(names - set(MODELS))


def table_number(lr: float) -> int:
    return 1 if lr >= TABLE1_MIN_LR else 2


def _sort(frame: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Rows in the paper's order: lr descending (1.0 ... 0.01), then models in MODELS order."""
    rank = {m: i for i, m in enumerate(ordered_models(frame["model"].unique()))}
    keyed = frame.assign(_lr=-frame["lr"], _m=frame["model"].map(rank))
    return keyed.sort_values(["_lr", "_m", *extra]).drop(columns=["_lr", "_m"]).reset_index(drop=True)


# ---------------------------------------------------------------------------- the long frame

def collect(records: Iterable[Mapping]) -> pd.DataFrame:
    """One row per (cell, seed): dataset, protocol, model, lr, seed, bm, status, reason.

    ``bm`` is kept for unstable seeds (finite, for the reader) and NaN for diverged ones;
    everything downstream uses ok seeds only.
    """
    rows = [
        {
            "dataset": rec["dataset"],
            "protocol": rec["protocol"],
            "model": rec["model"],
            "lr": float(rec["lr"]),
            "seed": int(run["seed"]),
            "bm": float(run["bm"]) if run["bm"] is not None else math.nan,
            "status": run["status"],
            "reason": run.get("reason", ""),
        }
        for rec in records
        for run in rec["runs"]
    ]
    long = pd.DataFrame(rows, columns=list(LONG_COLUMNS))
    bad = set(long["status"]) - set(STATUSES)
    if bad:
        raise ValueError(f"unknown run status {sorted(bad)}")
    dup = long.duplicated(["dataset", "protocol", "model", "lr", "seed"], keep=False)
    if dup.any():
        first = long[dup].iloc[0]
        raise ValueError(
            f"duplicate run: {first['model']} lr={first['lr']} seed={first['seed']} "
            "appears in more than one record"
        )
    return _sort(long, ["seed"]) if len(long) else long


def experiment_of(long: pd.DataFrame) -> tuple[str, str]:
    """The single (dataset, protocol) of a long frame; tables never mix experiments."""
    pairs = sorted(set(zip(long["dataset"], long["protocol"])))
    if len(pairs) != 1:
        raise ValueError(f"expected records of one dataset and protocol, got {pairs}")
    return pairs[0]


def read_bm(path: str | os.PathLike) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"dataset": str, "protocol": str, "model": str, "lr": float, "seed": int,
               "bm": float, "status": str, "reason": str},
        keep_default_na=False, na_values={"bm": [""]},
    )


# ---------------------------------------------------------------------------- Tables 1-2

def table12(long: pd.DataFrame) -> pd.DataFrame:
    """Per (model, lr): mean and sample SD of bm over ok seeds, n_ok, n_unstable, n_diverged.

    The mean is NaN unless at least MIN_OK_SEEDS seeds are ok: one healthy seed beside blown-up
    ones is not a cell's result.
    """
    rows = []
    for (model, lr), group in long.groupby(["model", "lr"], sort=False):
        ok = group.loc[group["status"] == "ok", "bm"].to_numpy(dtype=float)
        rows.append({
            "table": table_number(lr),
            "lr": lr,
            "model": model,
            "mean": ok.mean() if len(ok) >= MIN_OK_SEEDS else math.nan,
            "sd": ok.std(ddof=1) if len(ok) >= MIN_OK_SEEDS else math.nan,
            "n_ok": len(ok),
            "n_unstable": int((group["status"] == "unstable").sum()),
            "n_diverged": int((group["status"] == "diverged").sum()),
        })
    frame = pd.DataFrame(rows, columns=list(TABLE12_COLUMNS))
    return _sort(frame) if len(frame) else frame


def mean_curves(t12: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Wide means: index lr (paper order), columns models."""
    wide = t12.pivot(index="lr", columns="model", values="mean").sort_index(ascending=False)
    return wide[list(models) if models is not None else ordered_models(wide.columns)]


# ---------------------------------------------------------------------------- Table 3

def round4(value: float) -> float:
    """Round to 4 decimals, half away from zero on the value's shortest decimal text."""
    if not math.isfinite(value):
        return math.nan
    return float(Decimal(repr(float(value))).quantize(_QUANTUM, rounding=ROUND_HALF_UP))


def table3_stats(values: Sequence[float]) -> dict[str, float]:
    """Table 3 of one model: Mean, Maximum, Minimum, SD of the 4-decimal-rounded values.

    Exact decimal arithmetic, so the only rounding is the paper's. Any non-finite value
    (a diverged cell) makes every statistic NaN: the paper's numbers need all of them.
    """
    values = [float(v) for v in values]
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return dict.fromkeys(STATISTICS, math.nan)
    exact = [Decimal(repr(round4(v))) for v in values]
    with localcontext() as ctx:
        ctx.prec = 50
        mean = sum(exact) / len(exact)
        sd = (sum((v - mean) ** 2 for v in exact) / (len(exact) - 1)).sqrt()
        stats = {"Mean": mean, "Maximum": max(exact), "Minimum": min(exact), "SD": sd}
        return {k: float(v.quantize(_QUANTUM, rounding=ROUND_HALF_UP)) for k, v in stats.items()}


def table3(values: Mapping[str, Sequence[float]] | pd.DataFrame) -> pd.DataFrame:
    """Table 3: index STATISTICS, one column per model (a wide frame's columns, or a mapping)."""
    if isinstance(values, pd.DataFrame):
        values = {m: values[m].to_numpy(dtype=float) for m in values.columns}
    frame = pd.DataFrame({m: table3_stats(v) for m, v in values.items()}, index=list(STATISTICS))
    frame.index.name = "statistic"
    return frame


def table3_of(t12: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Table 3 from the per-lr means, for those of ``models`` (in their order) that have rows
    in Tables 1-2."""
    present = [m for m in models if m in set(t12["model"])]
    return table3(mean_curves(t12, present))


def table3_long(t3: pd.DataFrame) -> pd.DataFrame:
    """Wide Table 3 -> statistic, model, value (the layout of published_table3.csv)."""
    wide = t3.rename_axis(index="statistic").reset_index()
    long = wide.melt(id_vars="statistic", var_name="model", value_name="value")
    order = {s: i for i, s in enumerate(STATISTICS)}
    return long.sort_values("statistic", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def per_seed_table3(long: pd.DataFrame, learning_rates: Sequence[float] = LEARNING_RATES):
    """Each seed's own Table 3 per model, over the seeds that are ok at every learning rate.

    Returns (frame seed, model, statistic, value; dict model -> reason when a model has fewer
    than MIN_OK_SEEDS such seeds). A seed that is unstable or diverged at any lr has no
    complete curve: its Table 3 would mix a blown-up network into a healthy one's statistics.
    """
    rows, reasons = [], {}
    wanted = sorted(set(learning_rates), reverse=True)
    for model, group in long.groupby("model", sort=False):
        group = group[group["lr"].isin(wanted)]
        status = group.pivot(index="seed", columns="lr", values="status").reindex(columns=wanted)
        complete = status.eq("ok").all(axis=1)
        if complete.sum() < MIN_OK_SEEDS:
            reasons[model] = _incomplete_reason(model, status, int(complete.sum()))
            continue
        curves = group.pivot(index="seed", columns="lr", values="bm").reindex(columns=wanted)
        for seed, curve in curves[complete].iterrows():
            for stat, value in table3_stats(curve.to_numpy()).items():
                rows.append({"seed": seed, "model": model, "statistic": stat, "value": value})
    return pd.DataFrame(rows, columns=["seed", "model", "statistic", "value"]), reasons


def _incomplete_reason(model: str, status: pd.DataFrame, n_complete: int) -> str:
    """Why a model has too few complete healthy curves: where its seeds are not ok."""
    bad = [lr for lr in status.columns if not status[lr].eq("ok").all()]
    where = ", ".join(lr_label(lr) for lr in bad[:6]) + (" …" if len(bad) > 6 else "")
    # No "; " inside: a claim's reason is its comparisons' reasons joined by "; "
    return (f"{model}: {n_complete} of {len(status)} seeds ok at every γ, {MIN_OK_SEEDS} "
            f"needed (seeds not ok at γ {where})")


def healthy_learning_rates(long: pd.DataFrame) -> list[float]:
    """The learning rates at which every seed of every model present is ok."""
    healthy = long.groupby("lr")["status"].agg(lambda s: bool(s.eq("ok").all()))
    return sorted((lr for lr, ok in healthy.items() if ok), reverse=True)


def stability_map(long: pd.DataFrame) -> pd.DataFrame:
    """Per (model, lr): seeds, how many are ok / unstable / diverged, and the ok share."""
    counts = (long.groupby(["model", "lr"], sort=False)["status"].value_counts()
              .unstack(fill_value=0).reindex(columns=list(STATUSES), fill_value=0))
    frame = counts.rename(columns=lambda s: f"n_{s}").reset_index()
    frame.columns.name = None
    frame.insert(2, "seeds", frame[[f"n_{s}" for s in STATUSES]].sum(axis=1))
    frame["ok_share"] = frame["n_ok"] / frame["seeds"]
    return _sort(frame)


def stability_markdown(stability: pd.DataFrame, caption: str) -> str:
    """Model x γ grid of 'ok/seeds' with the unstable and diverged counts where there are any."""
    def text(r):
        extra = [f"{r[f'n_{s}']} {s}" for s in STATUSES[1:] if r[f"n_{s}"]]
        return f"{r['n_ok']}/{r['seeds']} ok" + (f" ({', '.join(extra)})" if extra else "")

    models = ordered_models(stability["model"].unique())
    texts = {(r["lr"], r["model"]): text(r) for r in stability.to_dict("records")}
    lrs = sorted(stability["lr"].unique(), reverse=True)
    grid = pd.DataFrame([[lr_label(lr)] + [texts.get((lr, m), "—") for m in models] for lr in lrs],
                        columns=["γ", *models])
    return "# Stability map: healthy seeds per cell\n\n" + caption + "\n\n" + markdown_table(grid)


# ---------------------------------------------------------------------------- writers

def fmt4(value: float) -> str:
    return f"{round4(value):.4f}" if math.isfinite(value) else "—"


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of a frame's string-convertible cells (index not included)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def cell_text(row: Mapping) -> str:
    """'mean ± sd (notes)' from >= MIN_OK_SEEDS ok seeds; otherwise the seeds' status counts."""
    counts = [f"{row[f'n_{status}']} {status}" for status in STATUSES if row.get(f"n_{status}")]
    if row["n_ok"] < MIN_OK_SEEDS:
        return "no result (" + ", ".join(counts) + ")"
    text = fmt4(row["mean"]) + f" ± {fmt4(row['sd'])}"
    unhealthy = [c for c in counts if not c.endswith(" ok")]
    return text + (f" ({', '.join(unhealthy)})" if unhealthy else "")


def table12_markdown(t12: pd.DataFrame, number: int, models: Sequence[str], caption: str) -> str:
    rows = t12[t12["table"] == number]
    title = f"# Table {number}: BM per learning rate, mean ± sample SD over seeds\n\n{caption}\n\n"
    if rows.empty:
        return title + "No learning rate of this table is in the configured sweep.\n"
    lrs = sorted(rows["lr"].unique(), reverse=True)
    texts = {(r["lr"], r["model"]): cell_text(r) for r in rows.to_dict("records")}
    grid = pd.DataFrame(
        [[lr_label(lr)] + [texts.get((lr, m), "—") for m in models] for lr in lrs],
        columns=["γ", *models],
    )
    return title + markdown_table(grid)


def write_table12(t12, number: int, csv_path, md_path, models: Sequence[str], caption: str) -> None:
    atomic.write_text(csv_path, t12[t12["table"] == number].to_csv(index=False))
    atomic.write_text(md_path, table12_markdown(t12, number, models, caption))


def table3_markdown(t3: pd.DataFrame, caption: str) -> str:
    grid = pd.DataFrame(
        [[stat] + [fmt4(t3.at[stat, m]) for m in t3.columns] for stat in t3.index],
        columns=["", *t3.columns],
    )
    return ("# Table 3: statistics of each model's per-learning-rate mean BM\n\n"
            f"{caption}\n\n" + markdown_table(grid))


def write_table3(t3: pd.DataFrame, csv_path, md_path, caption: str) -> None:
    atomic.write_text(csv_path, table3_long(t3).to_csv(index=False))
    atomic.write_text(md_path, table3_markdown(t3, caption))


def write_bm(long: pd.DataFrame, path) -> None:
    atomic.write_text(path, long.to_csv(index=False))


def complete_models(long: pd.DataFrame, learning_rates: Sequence[float] = LEARNING_RATES):
    """Models that have a record at every lr (what Table 3 and the claims need)."""
    wanted = set(learning_rates)
    return [m for m, g in long.groupby("model", sort=False) if wanted <= set(g["lr"])]

