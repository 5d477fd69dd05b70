"""avarep.distributions against scipy.stats, the implementation it stands in for."""

import numpy as np
import pytest
from scipy import stats

from avarep import distributions

SAMPLES = [  # (a, b): equal and unequal sizes and spreads, one constant sample, a far pair
    ([0.21, 0.22, 0.20, 0.23, 0.215], [0.19, 0.20, 0.18, 0.205, 0.195]),
    ([1.0, 2.0, 4.0], [1.5, 1.6, 1.55, 1.7, 1.45, 1.52]),
    ([0.5, 0.5, 0.5, 0.5], [0.4, 0.6, 0.45, 0.55]),
    ([10.0, 10.1], [0.0, 0.2, 0.1]),
]


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, on the constant sample
@pytest.mark.parametrize("a, b", SAMPLES)
def test_welch_is_scipys_welch(a, b):
    ours = distributions.welch(a, b)
    theirs = stats.ttest_ind(a, b, equal_var=False)
    assert ours.statistic == pytest.approx(float(theirs.statistic), rel=1e-12)
    assert ours.df == pytest.approx(float(theirs.df), rel=1e-12)
    assert ours.pvalue == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-300)
    for confidence in (0.95, 0.8):
        interval = theirs.confidence_interval(confidence)
        np.testing.assert_allclose(ours.confidence_interval(confidence),
                                   (interval.low, interval.high), rtol=1e-12)


def test_welch_refuses_what_it_cannot_test():
    with pytest.raises(ValueError, match="2 values"):
        distributions.welch([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="constant"):
        distributions.welch([1.0, 1.0], [2.0, 2.0])


@pytest.mark.parametrize("p", [0.025, 0.5, 0.8, 0.975])
@pytest.mark.parametrize("df", [1, 4, 7.3, 30])
def test_t_quantile(p, df):
    assert distributions.t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("p", [0.025, 0.8, 0.975])
def test_normal_quantile(p):
    assert distributions.normal_quantile(p) == pytest.approx(stats.norm.ppf(p), rel=1e-12)


@pytest.mark.parametrize("k, n", [(-1, 10), (0, 10), (7, 10), (9, 10), (10, 10), (122, 133), (24, 79)])
def test_binomial_cdf(k, n):
    assert distributions.binomial_cdf(k, n, 0.95) == pytest.approx(stats.binom.cdf(k, n, 0.95), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("x, df", [(0.5, 1), (3.0, 4), (12.0, 7), (80.0, 28)])
def test_chi2(x, df):
    assert distributions.chi2_cdf(x, df) == pytest.approx(stats.chi2.cdf(x, df), rel=1e-12)
    assert distributions.chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-12, abs=1e-300)
