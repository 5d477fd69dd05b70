"""Protocols: how a model is trained and how it generates the images that BM scores.

A protocol is one module with one job. Given the training images, a model name, a learning
rate, a random generator and the protocol's options, ``train`` runs the paper's single online
pass and returns a :class:`TrainedModel`; ``TrainedModel.generate`` produces the K images per
test image that BM compares. Everything else (data, metric, seeding, sweep, aggregation) is
shared, and the protocols never import each other.

* ``author`` (``protocols/author.py``): the models as the author's Java code computed them
  (spec section 5) -- per-channel MLPs, zero initialisation, the shifted logistic, the
  backprop quirks. numpy.
* ``paper`` (``protocols/paper.py``): the models as the paper's equations define them
  (spec section 6). torch.

The contract, for both::

    train(images, model, lr, rng, options) -> TrainedModel
        images : float array (N, P, 3) in [0, 1], row-major pixels, the training set
        model  : one of sweep.MODELS
        lr     : the learning rate gamma
        rng    : numpy.random.Generator -- the only source of randomness
        options: dict of this protocol's options (validated by ``check_options``)

    TrainedModel.generate(test_images, k, rng) -> float array (N, K, P, 3)
    TrainedModel.log -> dict of JSON-serialisable diagnostics (e.g. discriminator outputs)
    TrainedModel.health() -> dict of the health quantities avarep.health classifies
        (max_abs_mu, max_sigma2 -- None without an encoder -- and parameter norms)

``train`` raises :class:`Diverged` when the numbers go non-finite; the cell records that
seed as ``diverged`` and carries on.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class Diverged(ArithmeticError):
    """Training or generation produced a non-finite value."""


def load(name: str) -> ModuleType:
    """Import a protocol module by name (lazily: only the protocol in use pays its imports)."""
    from ..sweep import PROTOCOLS

    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; expected one of {', '.join(PROTOCOLS)}")
    return importlib.import_module(f"{__name__}.{name}")
