"""The AVA2/AVA1, AVA4/AVA3 equivalence test (avarep.equivalence) on samples with a known answer.

Welch's test and Holm's correction are checked against hand-worked numbers and scipy; the
whole procedure against simulated families where the truth is known: equal distributions
(the family-wise rate of a false "distinguishable" must be at most alpha) and shifted ones
(a shift well above the detectable difference must be found).
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from avarep import equivalence as eq

ALPHA = 0.05
LRS = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1,
       0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01]
Z = 1.959963984540054 + 0.8416212335729143  # z_0.975 + z_0.8


# =========================================================================================
# Holm, Welch, detectable difference: hand-worked
# =========================================================================================


@pytest.mark.parametrize(
    "p, expected",
    [
        # sorted 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop.
        ([0.01, 0.04, 0.03, 0.005], [True, False, False, True]),
        # 0.001 <= 0.05/3, 0.011 <= 0.05/2, 0.03 <= 0.05/1: all rejected.
        ([0.001, 0.03, 0.011], [True, True, True]),
        # 0.012 <= 0.0167, 0.013 <= 0.025, 0.2 > 0.05.
        ([0.012, 0.013, 0.2], [True, True, False]),
        # Step-down stops at the first failure even if a later p is below alpha: 0.02 > 0.05/3.
        ([0.02, 0.021, 0.022], [False, False, False]),
        # Exactly on the threshold 0.05/4 is rejected (p <= alpha / (m - rank)).
        ([0.0125, 0.5, 0.5, 0.5], [True, False, False, False]),
        ([0.3, 0.6], [False, False]),
        ([0.04], [True]),
    ],
)
def test_holm_hand_worked(p, expected):
    assert eq.holm(np.array(p), ALPHA).tolist() == expected


def test_holm_other_alpha_and_empty():
    # alpha = 0.1: 0.02 <= 0.1/3, 0.04 <= 0.1/2, 0.09 <= 0.1.
    assert eq.holm(np.array([0.09, 0.02, 0.04]), 0.1).tolist() == [True, True, True]
    assert eq.holm(np.array([0.09, 0.02, 0.04]), 0.05).tolist() == [False, False, False]
    assert eq.holm(np.array([]), ALPHA).tolist() == []


def test_welch_hand_formula():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([2.0, 4.0, 6.0, 9.0, 10.0])
    # means 2.5 and 6.2; variances 5/3 and 44.8/4 = 11.2
    va, vb = 5.0 / 3.0, 11.2
    se2 = va / 4 + vb / 5
    t = (2.5 - 6.2) / math.sqrt(se2)
    df = se2**2 / ((va / 4) ** 2 / 3 + (vb / 5) ** 2 / 4)
    assert df == pytest.approx(5.3784, abs=1e-4)
    expected = 2 * stats.t.sf(abs(t), df)
    assert eq.welch_p(a, b) == pytest.approx(expected, rel=1e-10)
    assert 0.05 < expected < 0.1  # a hand-checkable order of magnitude


def test_welch_matches_scipy_on_random_samples():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.normal(0.2, 0.01, size=rng.integers(2, 30))
        b = rng.normal(0.2 + rng.normal(0, 0.01), rng.uniform(0.001, 0.05), size=rng.integers(2, 30))
        assert eq.welch_p(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (np.full(4, 0.21), np.full(4, 0.21), 1.0),
        (np.full(3, 0.25), np.full(5, 0.25), 1.0),
        (np.full(4, 0.21), np.full(4, 0.22), 0.0),
        # The SD of np.full(5, 0.21) rounds to 3.1e-17, not 0: constancy must be exact.
        (np.full(5, 0.21), np.full(4, 0.21), 1.0),
        (np.full(5, 0.21), np.full(3, 0.1), 0.0),
    ],
)
def test_welch_constant_samples(a, b, expected):
    assert eq.welch_p(a, b) == expected


def test_welch_one_constant_sample_is_an_ordinary_test():
    a, b = np.full(4, 0.2), np.array([0.19, 0.2, 0.22, 0.21])
    assert eq.welch_p(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_detectable_difference_hand_formula():
    # sqrt(0.01^2/5 + 0.02^2/4) = sqrt(0.00012)
    assert eq.detectable_difference(0.01, 0.02, 5, 4) == pytest.approx(Z * math.sqrt(0.00012), rel=1e-12)
    assert eq.detectable_difference(0.01, 0.02, 5, 4) == pytest.approx(0.030690, abs=1e-6)
    assert eq.detectable_difference(1.0, 1.0, 20, 20) == pytest.approx(Z * math.sqrt(0.1), rel=1e-12)
    assert eq.detectable_difference(0.0, 0.0, 3, 3) == 0.0


# =========================================================================================
# Simulated families with a known answer
# =========================================================================================


def test_same_distribution_family_wise_rate_is_at_most_alpha():
    """400 families of 19 learning rates x 20 seeds per model, both models N(0.2, 0.01^2)."""
    rng = np.random.default_rng(2024)
    reps, n_lr, n = 400, 19, 20
    a = rng.normal(0.2, 0.01, size=(reps, n_lr, n))
    b = rng.normal(0.2, 0.01, size=(reps, n_lr, n))
    # Vectorised Welch p-values (welch_p equals scipy's, tested above; spot-checked here).
    p = stats.ttest_ind(a, b, axis=-1, equal_var=False).pvalue
    for r in range(10):
        assert [eq.welch_p(a[r, j], b[r, j]) for j in range(n_lr)] == pytest.approx(p[r].tolist(), rel=1e-12)
    per_test = (p <= ALPHA).mean()
    family = np.mean([eq.holm(row, ALPHA).any() for row in p])
    se_test = math.sqrt(ALPHA * (1 - ALPHA) / p.size)
    se_family = math.sqrt(ALPHA * (1 - ALPHA) / reps)
    # Each single test is an honest level-alpha test ...
    assert abs(per_test - ALPHA) <= 4 * se_test, per_test
    # ... and the family (19 tests) calls an equal pair distinguishable at most alpha of the time,
    assert family <= ALPHA + 3 * se_family, family
    # without being absurdly conservative (for 19 independent tests Holm gives about 0.049).
    assert family >= 0.01, family


def bm_frame(means_a: dict, means_b: dict, sd=0.01, n=20, seed=0, pair=("AVA1", "AVA2")):
    """A long frame shaped like bm.csv: one row per (model, lr, seed)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, means in zip(pair, (means_a, means_b)):
        for lr in LRS:
            for s, value in enumerate(rng.normal(means[lr], sd, size=n)):
                rows.append({"dataset": "synthetic", "protocol": "author", "model": model,
                             "lr": lr, "seed": s, "bm": value, "status": "ok"})
    return pd.DataFrame(rows)


def test_a_shift_of_three_detectable_differences_at_one_lr_is_found():
    sd, n = 0.01, 20
    shift = 3 * Z * math.sqrt(2 * sd**2 / n)
    base = {lr: 0.2 for lr in LRS}
    per_lr, verdicts = eq.equivalence(bm_frame(base, {**base, 0.3: 0.2 + shift}, sd, n, seed=7))
    assert len(per_lr) == 19 and set(per_lr["pair"]) == {"AVA1 vs AVA2"}
    row = per_lr[per_lr["lr"] == 0.3].iloc[0]
    assert bool(row["distinguishable"])
    assert row["detectable"] == pytest.approx(Z * math.sqrt(row["sd_a"] ** 2 / n + row["sd_b"] ** 2 / n))
    (verdict,) = verdicts.to_dict("records")
    assert verdict["verdict"] == "distinguishable"
    assert verdict["distinguishable_at"] >= 1 and verdict["learning_rates"] == 19


def test_a_large_shift_everywhere_is_found_at_every_lr():
    per_lr, verdicts = eq.equivalence(
        bm_frame({lr: 0.2 for lr in LRS}, {lr: 0.25 for lr in LRS}, seed=8))
    assert per_lr["distinguishable"].all()
    assert verdicts.loc[0, "distinguishable_at"] == 19
    assert (per_lr["difference"] > 0.04).all()


def test_equal_pair_is_not_distinguishable_on_a_seeded_family():
    same = {lr: 0.2 for lr in LRS}
    _, verdicts = eq.equivalence(bm_frame(same, same, seed=1))
    assert verdicts.loc[0, "verdict"] == "not distinguishable"
    assert verdicts.loc[0, "distinguishable_at"] == 0


# =========================================================================================
# equivalence() on a frame shaped like bm.csv, numbers by hand
# =========================================================================================


def test_equivalence_on_a_hand_made_long_frame():
    rows = [
        # model, lr, seed, bm, status
        ("AVA1", 0.5, 0, 0.20, "ok"), ("AVA1", 0.5, 1, 0.22, "ok"), ("AVA1", 0.5, 2, 0.21, "ok"),
        ("AVA2", 0.5, 0, 0.21, "ok"), ("AVA2", 0.5, 1, 0.23, "ok"), ("AVA2", 0.5, 2, 0.22, "ok"),
        ("AVA2", 0.5, 3, np.nan, "diverged"),  # must be ignored
        ("AVA1", 0.1, 0, 0.10, "ok"), ("AVA1", 0.1, 1, 0.10, "ok"),
        ("AVA2", 0.1, 0, 0.10, "ok"), ("AVA2", 0.1, 1, 0.10, "ok"),
        ("AVA1", 0.05, 0, 0.15, "ok"),  # one seed only: no test at this lr
        ("AVA2", 0.05, 0, 0.16, "ok"), ("AVA2", 0.05, 1, 0.17, "ok"),
        ("AVA3", 0.5, 0, 0.12, "ok"), ("AVA3", 0.5, 1, 0.13, "ok"),  # AVA4 absent: no pair
        ("VAE", 0.5, 0, 0.03, "ok"), ("VAE", 0.5, 1, 0.04, "ok"),
    ]
    long = pd.DataFrame(rows, columns=["model", "lr", "seed", "bm", "status"])
    long.insert(0, "protocol", "author")
    long.insert(0, "dataset", "synthetic")
    per_lr, verdicts = eq.equivalence(long)

    assert per_lr["lr"].tolist() == [0.5, 0.1, 0.05]  # descending
    # 0.05: AVA1 has one ok seed -> kept as a row, not assessable, outside the Holm family
    assert per_lr["assessable"].tolist() == [True, True, False]
    assert per_lr["distinguishable"].isna().tolist() == [False, False, True]
    first = per_lr.iloc[0]
    assert (first["n_a"], first["n_b"]) == (3, 3)
    assert first["mean_a"] == pytest.approx(0.21) and first["mean_b"] == pytest.approx(0.22)
    assert first["difference"] == pytest.approx(0.01)
    assert first["sd_a"] == pytest.approx(0.01) and first["sd_b"] == pytest.approx(0.01)
    # Welch with equal SDs and sizes: t = -0.01 / sqrt(2 * 0.01^2 / 3), df = 4.
    t = -0.01 / math.sqrt(2 * 0.01**2 / 3)
    assert first["p"] == pytest.approx(2 * stats.t.sf(abs(t), 4), rel=1e-9)
    assert first["detectable"] == pytest.approx(Z * math.sqrt(2 * 0.01**2 / 3), rel=1e-9)
    second = per_lr.iloc[1]
    assert second["p"] == 1.0 and second["difference"] == 0.0  # constant, equal samples
    # p = 0.1525... and 1.0: Holm rejects neither.
    assert not per_lr["distinguishable"].fillna(False).any()

    (verdict,) = verdicts.to_dict("records")
    assert verdict["pair"] == "AVA1 vs AVA2"
    assert verdict["learning_rates"] == 2 and verdict["seeds"] == 2
    assert verdict["not_assessable"] == 1
    assert verdict["distinguishable_at"] == 0 and verdict["verdict"] == "not distinguishable"
    assert verdict["largest_difference"] == pytest.approx(0.01)
    assert verdict["smallest_p"] == pytest.approx(first["p"])
    assert verdict["median_detectable"] == pytest.approx(first["detectable"] / 2)


def test_diverged_row_with_a_value_is_still_ignored():
    """Even a diverged row that carries a number must not enter the test."""
    rows = [("AVA1", 0.5, s, v, "ok") for s, v in enumerate([0.20, 0.21, 0.22])]
    rows += [("AVA2", 0.5, s, v, "ok") for s, v in enumerate([0.20, 0.21, 0.22])]
    rows += [("AVA2", 0.5, 3, 5.0, "diverged")]
    long = pd.DataFrame(rows, columns=["model", "lr", "seed", "bm", "status"])
    per_lr, _ = eq.equivalence(long)
    assert per_lr.loc[0, "n_b"] == 3 and per_lr.loc[0, "mean_b"] == pytest.approx(0.21)
    assert per_lr.loc[0, "p"] == pytest.approx(1.0)


def test_no_pair_present_gives_empty_frames_and_a_note():
    long = pd.DataFrame([("VAE", 0.5, 0, 0.03, "ok"), ("VAE", 0.5, 1, 0.04, "ok")],
                        columns=["model", "lr", "seed", "bm", "status"])
    per_lr, verdicts = eq.equivalence(long)
    assert per_lr.empty and verdicts.empty
    assert "Not evaluated" in eq.markdown(verdicts)
