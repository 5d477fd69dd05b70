"""Numerical health of one trained seed: the bounded-latent rule, shared by every protocol.

A seed is

* ``diverged`` when training or generation produced a non-finite number (the protocol
  raises :class:`~avarep.protocols.Diverged`);
* ``unstable`` when every number is finite but the encoder's output left the range that a
  network of these sizes can reach without blowing up (below);
* ``ok`` otherwise.

Why these bounds. The encoder's mu outputs are linear units over a hidden layer of sigmoid
units h in (0, 1), so |mu_j| <= |b_j| + sum_k |W_jk|. Both the paper's default initialisation
(U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and any training step that keeps the weights of that
order bound |mu| by sqrt(fan_in) + 1/sqrt(fan_in) = 10.1 for the 100 hidden units of both
image sizes; the KL error -mu pulls mu towards 0 and the adversarial error a'(D0)/(1 - D0) =
D0 adds at most 1 per step. Past 100 -- ten times the largest value the initialisation can
produce, and 10^23 standard deviations of the N(0, I) prior beyond any plausible code -- mu
has grown geometrically, which is what an online step with gamma * (|h|^2 + 1) > 2 does to a
linear output (gradient descent on a quadratic diverges past twice the inverse curvature).
The decoder then sees z of that size: its first layer's net inputs exceed 30 and its hidden
units are pinned at 0 or 1, so its output no longer depends on z and the BM of its images
says nothing about the method. The same bound holds sigma2 (softplus of the same kind of
net input, at most 10.8 at initialisation). The author protocol's encoder outputs pass
through a logistic and lie in (0, 1): the rule can never fire there, which is checked on
the whole default grid by the tests.

The rule uses only quantities of the seed itself, fixed before any claim was evaluated; it
does not look at BM. The other health quantities (parameter norms, saturated pixels,
saturated discriminator outputs) are recorded for the reader but do not decide the status:
a generator pinned at white by its adversarial error is a property of the method, not a
numerical fault.
"""

from __future__ import annotations

import math

import numpy as np

#: Largest |mu| and sigma2 a seed may reach and still count as healthy (see module docstring).
LATENT_BOUND = 100.0
#: A value within this distance of 0 or 1 is "saturated" (a logistic's slope is < 1e-6 there).
SATURATION = 1e-6

STATUSES = ("ok", "unstable", "diverged")

RULE_NAME = "bounded-latent rule"
RULE = (
    "A seed is **diverged** when training or generation produced a non-finite number, "
    f"**unstable** when every number is finite but the encoder's largest |μ| or σ² during "
    f"training and generation exceeded {LATENT_BOUND:g} — ten times the largest value its "
    "initialisation can produce (√100 + 1/√100 ≈ 10.1 for a linear output over 100 sigmoid "
    "units) — and **ok** otherwise. Past that bound μ has grown geometrically, the decoder's "
    "hidden units are pinned at 0 or 1 and the images no longer depend on z. The thresholds "
    "come from the layer sizes, not from the published numbers or the claims. Only ok seeds "
    "enter means, tables, equivalence tests and claim verdicts; a cell's mean is shown only "
    "from at least 2 ok seeds."
)


SATURATION_CHUNK = 1 << 16


def saturated_share(values) -> float:
    """Share of values within SATURATION of 0 or 1 (generated pixels, probabilities); a torch
    tensor (a GPU's) is counted where it is."""
    if not isinstance(values, np.ndarray) and hasattr(values, "device"):
        if values.numel() == 0:
            return math.nan
        pinned = (values < SATURATION).sum() + (values > 1.0 - SATURATION).sum()
        return int(pinned) / values.numel()
    # Counted in memory order (a count does not depend on the order) and in cache-sized
    # chunks: a seed's 6.9 million generated pixels would otherwise make two 7 MB masks.
    values = np.ravel(np.asarray(values), order="K")
    if values.size == 0:
        return math.nan
    pinned = 0
    for start in range(0, values.size, SATURATION_CHUNK):
        chunk = values[start : start + SATURATION_CHUNK]
        pinned += np.count_nonzero(chunk < SATURATION) + np.count_nonzero(chunk > 1.0 - SATURATION)
    return pinned / values.size


def classify(health: dict) -> tuple[str, str]:
    """(status, reason) of a finite seed from its health quantities; reason is '' when ok."""
    reasons = []
    for key, label in (("max_abs_mu", "|μ|"), ("max_sigma2", "σ²")):
        value = health.get(key)
        if value is not None and value > LATENT_BOUND:
            reasons.append(f"largest {label} {value:.3g} > {LATENT_BOUND:g}")
    return ("unstable", "; ".join(reasons)) if reasons else ("ok", "")
