"""Sample-quality metrics against independent computations: closed forms, brute force, hand
counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avarep import genmetrics as gm


def test_frechet_of_diagonal_gaussians_is_the_closed_form():
    # diagonal covariances commute: FD = |m1 - m2|^2 + sum (s1 - s2)^2 with s the SDs
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])
    expected = 1 + 0 + 4 + (1 + 0 + 4)
    got = gm.frechet_from_moments(m1, np.diag(s1**2), m2, np.diag(s2**2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_of_a_rotated_gaussian_with_itself_is_zero_and_shift_adds_its_square():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    cov = a @ a.T + np.eye(4)
    mu = rng.standard_normal(4)
    assert gm.frechet_from_moments(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-9)
    assert gm.frechet_from_moments(mu, cov, mu + 3, cov) == pytest.approx(36.0, rel=1e-9)


def test_frechet_from_samples_uses_sample_moments():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((500, 3)), 2 + 3 * rng.standard_normal((400, 3))
    sx, sy = x.std(0, ddof=1), y.std(0, ddof=1)
    # nearly diagonal sample covariances: the closed form of their diagonals is close
    approx = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.sum((sx - sy) ** 2)
    assert gm.frechet_distance(x, y) == pytest.approx(approx, rel=0.05)


def brute_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (np.dot(a, b) / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_mmd2_matches_a_brute_force_double_loop():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) + 0.5
    assert gm.mmd2_unbiased(x, y) == pytest.approx(brute_mmd2(x, y), rel=1e-12)


def test_kid_is_the_mean_over_subsets_and_its_standard_error():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((30, 2)), rng.standard_normal((30, 2)) + 1
    mean, se = gm.kid(x, y, np.random.default_rng(9), subsets=4, size=6)
    draw = np.random.default_rng(9)
    values = [brute_mmd2(x[draw.choice(30, 6, replace=False)], y[draw.choice(30, 6, replace=False)])
              for _ in range(4)]
    assert mean == pytest.approx(np.mean(values), rel=1e-12)
    assert se == pytest.approx(np.std(values, ddof=1) / 2, rel=1e-12)


def test_prdc_on_hand_made_points():
    # real: 4 points on a line at 0, 1, 2, 10; k = 1: radii 1, 1, 1, 8
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    # fake: 0.5 (inside balls of 0, 1), 5 (inside the ball of 10 only), 30 (inside nothing)
    fake = np.array([[0.5], [5.0], [30.0]])
    # fake radii, k = 1: 4.5, 4.5, 25
    out = gm.prdc(real, fake, k=1)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["density"] == pytest.approx((2 + 1 + 0) / (1 * 3))
    # recall: real 0, 1, 2 are within 4.5 of 0.5; real 10 within 4.5 of 5? no (5); of 30? 20 <= 25 yes
    assert out["recall"] == pytest.approx(4 / 4)
    # coverage: nearest fake of 0 is 0.5 <= 1; of 1: 0.5 <= 1; of 2: 1.5 > 1; of 10: 5 <= 8
    assert out["coverage"] == pytest.approx(3 / 4)


def test_prdc_of_a_sample_with_itself_is_perfect():
    x = np.random.default_rng(4).standard_normal((50, 3))
    out = gm.prdc(x, x.copy(), k=5)
    assert out["precision"] == 1 and out["recall"] == 1 and out["coverage"] == 1
    assert out["density"] == pytest.approx(1.0 + 1 / 5)  # every ball holds k + 1 points (itself)


def test_class_kl_from_uniform():
    assert gm.class_kl(np.arange(10).repeat(3)) == pytest.approx(0.0, abs=1e-15)
    assert gm.class_kl(np.zeros(7, int)) == pytest.approx(math.log(10))
    two = gm.class_kl(np.array([0, 1]))  # half and half: log(10 / 2)
    assert two == pytest.approx(math.log(5))


def brute_distances(a, b):
    return np.array([[math.dist(p, q) for q in b] for p in a])


def test_distances_and_knn_radii_match_a_brute_force_loop():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((9, 4)), rng.standard_normal((6, 4)) + 1
    np.testing.assert_allclose(gm._distances(a, b), brute_distances(a, b), rtol=1e-12, atol=1e-7)
    # the k-th nearest other point: column k of each sorted row (column 0 is the point itself)
    expected = np.sort(brute_distances(a, a), axis=1)[:, 3]
    np.testing.assert_allclose(gm._knn_radii(a, 3), expected, rtol=1e-12, atol=1e-7)


def test_prdc_against_a_reference_is_prdc_against_its_features():
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((40, 3)), rng.standard_normal((30, 3)) + 0.7
    reference = gm.Reference.of(real, k=3)
    assert gm.prdc(reference, fake, k=3) == gm.prdc(real, fake, k=3)
    # the hand-made points above through a reference: its radii are 1, 1, 1, 8
    ref = gm.Reference.of(np.array([[0.0], [1.0], [2.0], [10.0]]), k=1)
    assert ref.radii.tolist() == [1.0, 1.0, 1.0, 8.0]
    assert gm.prdc(ref, np.array([[0.5], [5.0], [30.0]]), k=1)["coverage"] == pytest.approx(3 / 4)


def test_a_reference_built_for_another_k_is_refused():
    reference = gm.Reference.of(np.random.default_rng(7).standard_normal((20, 2)), k=5)
    with pytest.raises(ValueError, match="k = 5 used with k = 3"):
        gm.prdc(reference, np.zeros((10, 2)), k=3)
