"""The paper's published numbers and claims, as data (spec sections 8 and 9).

Files in ``resources/``:

* ``published_bm.csv`` -- ``table,lr,model,bm``: the 133 BM values of Tables 1-2 (19 learning
  rates x 7 models), 4 decimals as printed. Assumption: the spec gives Tables 1-2 as one grid;
  we take Table 1 to be the rows gamma = 1.0 ... 0.1 and Table 2 the rows gamma = 0.09 ... 0.01.
* ``published_table3.csv`` -- ``statistic,model,value``: Table 3 (Mean, Maximum, Minimum, SD).
* ``claims.csv`` -- ``claim,statistic,model,relation,other,published_text``: claims 1-5 of
  section 9, one row per atomic comparison "statistic(model) relation statistic(other)" with
  relation one of ``>``, ``<``, ``<=``. "Highest / lowest / smallest of all" expands to one
  row per other model. Claim 6 ("all AVA variants are better than VAE and GAN") has no rows:
  it is derived, and holds exactly when claims 1-5 all hold (see ``check.claim_verdicts``).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

#: Table 3's statistics in the paper's row order.
STATISTICS: tuple[str, ...] = ("Mean", "Maximum", "Minimum", "SD")
#: Claim 6 is the conjunction of these claims.
DERIVED_CLAIM = 6
DERIVED_FROM: tuple[int, ...] = (1, 2, 3, 4, 5)
RELATIONS: tuple[str, ...] = (">", "<", "<=")


def _read(name: str, **kwargs) -> pd.DataFrame:
    with resources.files("avarep").joinpath("resources", name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, **kwargs)


def load_bm() -> pd.DataFrame:
    """Tables 1-2 in long form: columns table (1 or 2), lr, model, bm."""
    return _read("published_bm.csv", dtype={"table": int, "lr": float, "model": str, "bm": float})


def load_table3() -> pd.DataFrame:
    """Table 3 as a wide frame: index = STATISTICS, columns = models (paper order)."""
    long = _read("published_table3.csv", dtype={"statistic": str, "model": str, "value": float})
    wide = long.pivot(index="statistic", columns="model", values="value")
    return wide.loc[list(STATISTICS), list(dict.fromkeys(long["model"]))]


def load_claims() -> pd.DataFrame:
    """Atomic comparisons of claims 1-5 (claim 6 is derived, see module docstring)."""
    claims = _read("claims.csv", dtype={"claim": int, "relation": str})
    unknown = set(claims["relation"]) - set(RELATIONS)
    if unknown:
        raise ValueError(f"claims.csv: unknown relation(s) {sorted(unknown)}")
    return claims
