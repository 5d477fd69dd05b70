"""Is the published run one more draw of ours? Coverage, standardised residuals, twin spread.

The fidelity study's means say whether a reading of the author's code reproduces the
published values; these three measures say whether it reproduces their *spread* too:

* coverage: the share of published cells inside the 95% prediction interval for one new run
  (check.prediction_interval) given the first 5, 10 and 20 seeds of a reading. A reading
  whose seeds vary as much as the author's runs covers about 95% at every seed count; one
  whose seeds vary too little covers less and less as the intervals narrow.
* standardised residuals z = (published - mean) / sqrt(sd^2 (1 + 1/n) + r^2) per cell, with
  r^2 = 1e-8 / 12 the variance of the published 4-decimal rounding (it dominates at
  gamma = 0.01, where the seeds' SD is ~1e-5), summarised as a root mean square by gamma
  band and model (about 1 when the spread matches).
* twins: AVA2 behaves like AVA1 and AVA4 like AVA3 in distribution (spec 5.3), so the
  published differences AVA1 - AVA2 and AVA3 - AVA4 at each gamma are draws of the same
  difference between two of our independent seeds. Their ratio to our seeds' SD of that
  difference is z; the sum of z^2 over a band is chi-square with one degree of freedom per
  cell when the spreads agree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .check import prediction_interval
from .distributions import chi2_cdf, chi2_sf

SEED_COUNTS = (5, 10, 20)
TWINS = (("AVA1", "AVA2"), ("AVA3", "AVA4"))
#: Learning-rate bands of the issue: where the published run agrees with our spread (the
#: ends) and where it does not (mid gamma).
BANDS = (("γ ≥ 0.2", 0.2, 1.0), ("γ = 0.09–0.1", 0.09, 0.1),
         ("γ = 0.03–0.08", 0.03, 0.08), ("γ ≤ 0.02", 0.0, 0.02))
TWIN_COLUMNS = ["pair", "lr", "band", "published_diff", "ours_sd", "seeds", "z"]
#: Variance of a value rounded to 4 decimals (a uniform error of one unit's width).
ROUNDING_VARIANCE = (1e-4) ** 2 / 12


def band(lr: float) -> str:
    for name, lo, hi in BANDS:
        if lo - 1e-9 <= lr <= hi + 1e-9:
            return name
    raise ValueError(f"learning rate {lr} lies in no band")


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(lr=frame["lr"].astype(float).round(6))


def seed_values(bm: pd.DataFrame) -> pd.DataFrame:
    """The ok seeds of a run's bm.csv (model, lr, seed, bm), sorted by seed."""
    missing = {"model", "lr", "seed", "bm", "status"} - set(bm.columns)
    if missing:
        raise ValueError(f"bm.csv: missing column(s) {', '.join(sorted(missing))}")
    ok = _key(bm[bm["status"] == "ok"])
    return ok[["model", "lr", "seed", "bm"]].sort_values(["model", "lr", "seed"])


def cell_stats(seeds: pd.DataFrame, published: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Per published cell: mean, sd and count of the first n ok seeds (all when n is None)."""
    used = seeds if n is None else seeds.groupby(["model", "lr"]).head(n)
    grouped = used.groupby(["model", "lr"])["bm"]
    ours = pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()})
    merged = _key(published)[["model", "lr", "bm"]].rename(columns={"bm": "published"})
    return merged.merge(ours.reset_index(), on=["model", "lr"], how="inner")


def coverage(seeds: pd.DataFrame, published: pd.DataFrame, counts=SEED_COUNTS) -> pd.DataFrame:
    """Per seed count: published cells inside the 95% prediction interval, out of those judged.

    A count is reported only when every judged cell has at least that many ok seeds.
    """
    rows = []
    for n in counts:
        cells = cell_stats(seeds, published, n)
        if cells.empty or cells["n"].min() < n:
            rows.append({"seeds": n, "inside": math.nan, "cells": len(cells), "share": math.nan})
            continue
        inside = [lo <= p <= hi for p, (lo, hi) in zip(
            cells["published"], (prediction_interval(m, s, k) for m, s, k in
                                 zip(cells["mean"], cells["sd"], cells["n"])))]
        rows.append({"seeds": n, "inside": int(sum(inside)), "cells": len(cells),
                     "share": sum(inside) / len(cells)})
    return pd.DataFrame(rows)


def residuals(seeds: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Per cell: the published value's standardised residual against all ok seeds."""
    cells = cell_stats(seeds, published)
    scale = np.sqrt(cells["sd"] ** 2 * (1 + 1 / cells["n"]) + ROUNDING_VARIANCE)
    return cells.assign(z=(cells["published"] - cells["mean"]) / scale,
                        band=cells["lr"].map(band))


def residual_summary(resid: pd.DataFrame) -> pd.DataFrame:
    """Root mean square of z by band and model (about 1 when the spreads agree)."""
    rms = resid.groupby(["band", "model"])["z"].apply(lambda z: float(np.sqrt(np.mean(z ** 2))))
    return rms.rename("rms_z").reset_index()


def twin_differences(seeds: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Per twin pair and gamma: the published difference against our seeds' differences."""
    wide = seeds.pivot_table(index=["lr", "seed"], columns="model", values="bm")
    pub = _key(published).pivot_table(index="lr", columns="model", values="bm")
    rows = []
    for a, b in TWINS:
        if a not in wide or b not in wide or a not in pub or b not in pub:
            continue
        ours = (wide[a] - wide[b]).dropna().groupby(level="lr")
        for lr, diffs in ours:
            if len(diffs) < 2 or lr not in pub.index:
                continue
            sd = math.sqrt(diffs.var(ddof=1) + 2 * ROUNDING_VARIANCE)  # two rounded values
            diff = pub.loc[lr, a] - pub.loc[lr, b]
            rows.append({"pair": f"{a}−{b}", "lr": lr, "band": band(lr), "published_diff": diff,
                         "ours_sd": sd, "seeds": len(diffs), "z": diff / sd})
    return pd.DataFrame(rows, columns=TWIN_COLUMNS)


def twin_summary(twins: pd.DataFrame) -> pd.DataFrame:
    """Per band: the variance ratio mean(z^2) and the chi-square test that it is 1.

    p: the chance of a ratio at least this large when the spreads agree (ours too small);
    p_low: of one at most this small (ours too large); two-sided: 2 min(p, p_low).
    """
    rows = []
    for name, _, _ in BANDS:
        part = twins[twins["band"] == name]
        if part.empty:
            continue
        chi2 = float((part["z"] ** 2).sum())
        p, p_low = chi2_sf(chi2, len(part)), chi2_cdf(chi2, len(part))
        rows.append({"band": name, "cells": len(part), "variance_ratio": chi2 / len(part),
                     "chi2": chi2, "p": p, "p_low": p_low, "p_two_sided": min(1.0, 2 * min(p, p_low))})
    return pd.DataFrame(rows, columns=["band", "cells", "variance_ratio", "chi2", "p", "p_low", "p_two_sided"])
