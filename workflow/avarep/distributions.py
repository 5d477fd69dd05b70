"""The few distribution functions and Welch's test the check, the studies and the run diff use.

They are scipy.special's (the functions scipy.stats itself evaluates), called directly:
importing scipy.stats takes 1.5 s on the 2-core reference machine against 0.5 s for
scipy.special, and every report job after the training pays that import on the run's
critical path. Welch's statistic, degrees of freedom and interval are the textbook formulas
scipy.stats.ttest_ind(equal_var=False) computes; tests/test_distributions.py holds each
function to scipy.stats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile (scipy.stats.t.ppf)."""
    return float(special.stdtrit(df, p))


def normal_quantile(p: float) -> float:
    """Standard normal quantile (scipy.stats.norm.ppf)."""
    return float(special.ndtri(p))


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p) (scipy.stats.binom.cdf)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(special.bdtr(k, n, p))


def chi2_cdf(x: float, df: float) -> float:
    """P(X <= x) for X ~ chi2(df) (scipy.stats.chi2.cdf)."""
    return float(special.chdtr(df, x))


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for X ~ chi2(df) (scipy.stats.chi2.sf)."""
    return float(special.chdtrc(df, x))


@dataclass(frozen=True)
class Welch:
    """Welch's two-sample t-test of mean(a) - mean(b)."""

    difference: float
    standard_error: float
    df: float
    statistic: float
    pvalue: float  # two-sided

    def confidence_interval(self, confidence: float) -> tuple[float, float]:
        half = t_quantile(0.5 + confidence / 2, self.df) * self.standard_error
        return self.difference - half, self.difference + half


def welch(a, b) -> Welch:
    """Welch's test of two samples of at least 2 values each, not both constant."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's test needs 2 values per sample, got {len(a)} and {len(b)}")
    share_a, share_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if share_a == 0 and share_b == 0:
        raise ValueError("Welch's test is undefined for two constant samples")
    df = (share_a + share_b) ** 2 / (share_a**2 / (len(a) - 1) + share_b**2 / (len(b) - 1))
    difference = float(a.mean() - b.mean())
    standard_error = math.sqrt(share_a + share_b)
    statistic = difference / standard_error
    pvalue = float(2 * special.stdtr(df, -abs(statistic)))
    return Welch(difference, standard_error, float(df), statistic, pvalue)
