"""Standard sample-quality metrics in a feature space (the Fashion-MNIST study).

Features are the penultimate layer of the study's own small CNN classifier
(:mod:`avarep.fashion_models`), not Inception: the numbers compare models within this study,
not with published FIDs.

* Frechet distance (FD) between Gaussian fits: |m1 - m2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)).
* KID: the unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3
  (Binkowski et al. 2018), averaged over random subsets; its standard error is the SD over
  subsets / sqrt(subsets).
* Precision, recall, density, coverage (Naeem et al. 2020) with k nearest neighbours.
* Class coverage: KL divergence of the classifier's label histogram from uniform (0 when all
  classes are equally generated, log 10 when one class only).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

KID_SUBSETS = 10
KID_SUBSET_SIZE = 1000
PRDC_K = 5


def frechet_from_moments(mu1, cov1, mu2, cov2) -> float:
    """FD of two Gaussians N(mu1, cov1), N(mu2, cov2)."""
    with warnings.catch_warnings():  # dead ReLU features make covariances singular
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        root = linalg.sqrtm(cov1 @ cov2)
    root = np.real(root)  # numerical noise gives tiny imaginary parts
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(root))
    return max(value, 0.0)


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    return frechet_from_moments(real.mean(0), np.cov(real, rowvar=False),
                                fake.mean(0), np.cov(fake, rowvar=False))


def _cubic(a, b):
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of samples x (m, d) and y (n, d) with the cubic polynomial kernel."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _cubic(x, x), _cubic(y, y), _cubic(x, y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def kid(real, fake, rng: np.random.Generator, subsets=KID_SUBSETS, size=KID_SUBSET_SIZE):
    """(mean, standard error) of the unbiased MMD^2 over random subsets drawn from ``rng``."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(size, len(real), len(fake))
    values = [mmd2_unbiased(real[rng.choice(len(real), size, replace=False)],
                            fake[rng.choice(len(fake), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(subsets))


def _distances(a, b):
    """Euclidean distances (len(a), len(b)) as |a|^2 + |b|^2 - (2a) . b, clipped at 0: the
    same operations in the same order as the plain expression, in two (len(a), len(b)) arrays
    (the sum and the product) instead of its five (32 MB each for 2,000 samples)."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :]
    squared -= 2 * a @ b.T
    np.maximum(squared, 0.0, out=squared)
    return np.sqrt(squared, out=squared)


def _knn_radii(points, k):
    """Distance of each point to its k-th nearest neighbour among the others."""
    d = _distances(points, points)
    d.partition(k, axis=1)  # in place: column 0 is then the point itself
    return d[:, k].copy()


@dataclass(frozen=True)
class Reference:
    """Real features with their k-NN radii: what every sample scored against them shares,
    computed once (a Fashion-MNIST job scores each of its seeds against the same two)."""

    features: np.ndarray
    k: int
    radii: np.ndarray

    @classmethod
    def of(cls, real, k=PRDC_K) -> "Reference":
        real = np.asarray(real, np.float64)
        return cls(real, k, _knn_radii(real, k))


def prdc(real, fake, k=PRDC_K) -> dict[str, float]:
    """Precision, recall, density and coverage of Naeem et al. (2020). ``real``: features, or
    a :class:`Reference` of them built with the same k."""
    ref = real if isinstance(real, Reference) else Reference.of(real, k)
    if ref.k != k:
        raise ValueError(f"prdc: a reference built for k = {ref.k} used with k = {k}")
    fake = np.asarray(fake, np.float64)
    fake_radii = _knn_radii(fake, k)
    d = _distances(ref.features, fake)  # (real, fake)
    inside_real = d <= ref.radii[:, None]  # fake j inside real i's ball
    return {
        "precision": float(inside_real.any(0).mean()),
        "recall": float((d <= fake_radii[None, :]).any(1).mean()),
        "density": float(inside_real.sum() / (k * len(fake))),
        "coverage": float((d.min(1) <= ref.radii).mean()),
    }


def class_kl(labels, classes=10) -> float:
    """KL(label histogram || uniform) in nats: 0 = every class equally often."""
    counts = np.bincount(np.asarray(labels), minlength=classes).astype(np.float64)
    p = counts / counts.sum()
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] * classes)))
