"""Protocols: how a model is trained and how it generates the images that BM scores.

A protocol is one module with one job. Given the training images, a model name, a learning
rate, a random generator and the protocol's options, ``train`` runs the paper's single online
pass and returns a :class:`TrainedModel`; ``TrainedModel.generate`` produces the K images per
test image that BM compares. Everything else (data, metric, seeding, sweep, aggregation) is
shared, and the protocols never import each other.

Each protocol is one entry of :data:`REGISTRY` (its module, the configuration keys it
reads, whether it is CPU-only, the framework whose version a cell records, its description
and colour) and one module. The workflow, the cell, the summary, the comparison and the
report read the entry; importing this package imports neither a protocol module nor torch.

* ``author`` (``protocols/author.py``): the models as the author's Java code computed them
  (spec section 5) -- per-channel MLPs, zero initialisation, the shifted logistic, the
  backprop quirks. numpy.
* ``paper`` (``protocols/paper.py``): the models as the paper's equations define them
  (spec section 6). torch.

The contract, for both::

    train(images, model, lr, rng, options) -> TrainedModel
        images : float array (N, P, 3) in [0, 1], row-major pixels, the training set
        model  : a name of the model registry (avarep.models)
        lr     : the learning rate gamma
        rng    : numpy.random.Generator -- the only source of randomness
        options: this protocol's options, already validated (:func:`check_options` here,
                 once, where a cell starts); ``device`` and ``threads`` travel inside them

    TrainedModel.generate(test_images, k, rng) -> float array (N, K, P, 3)
    TrainedModel.log -> dict of JSON-serialisable diagnostics (e.g. discriminator outputs)
    TrainedModel.health() -> dict of the health quantities avarep.health classifies
        (max_abs_mu, max_sigma2 -- None without an encoder -- and parameter norms)

``train`` raises :class:`Diverged` when the numbers go non-finite; the cell records that
seed as ``diverged`` and carries on.

Optionally, a protocol trains a cell's seeds together where that is faster (``paper`` on a
GPU)::

    stacks(options) -> bool      whether a job's seeds go through train_stack
    seeds_per_stack(n_pixels, options) -> int   how many a stack holds (the job trains
        as many cells together as fit in one)
    train_stack(images, model, lrs, rngs, options) -> [TrainedModel or Diverged, ...]
        one entry per rng (lrs: one rate per rng), each what train(images, model, lr, rng,
        options) would give (to rounding), each rng left as train leaves it
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


class Diverged(ArithmeticError):
    """Training or generation produced a non-finite value."""


@dataclass(frozen=True)
class Protocol:
    name: str
    module: str  # dotted path, imported only when a cell of this protocol runs
    description: str  # one sentence for the report's methodology (reStructuredText)
    colour: str  # matplotlib colour of this protocol in the comparison figure
    #: Configuration keys copied into every cell's options (and so into its settings hash).
    config_keys: tuple[str, ...] = ("dtype",)
    #: Runs on the CPU whatever the configured device (the one owner of that rule).
    cpu_only: bool = False
    #: The distribution whose version every cell records besides python and numpy.
    framework: str | None = None
    #: A training job's time against an ``author`` job of the same model, roughly (2-core
    #: reference machine: a ``paper`` job takes 4-5 times as long). Training jobs start
    #: longest first: in order of job_cost x the model's wide products per step.
    job_cost: int = 1


REGISTRY: dict[str, Protocol] = {p.name: p for p in (
    Protocol(
        "author", f"{__name__}.author",
        "``author``: the models exactly as the author's public code computes them "
        "(per-colour-channel networks, zero initialisation, updated-weight "
        "backpropagation, the double update; spec section 5), quirks included",
        colour="#1f77b4", config_keys=("dtype", "author_build"), cpu_only=True,
    ),
    Protocol(
        "paper", f"{__name__}.paper",
        "``paper``: the models exactly as the paper's equations define them (spec "
        "section 6) — what the paper claims, computed as written",
        colour="#d62728", framework="torch", job_cost=5,
    ),
)}


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(name: str) -> Protocol:
    if name not in REGISTRY:
        raise ValueError(f"unknown protocol {name!r}; expected one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def register(protocol: Protocol) -> None:
    """Add a protocol at run time (a test's toy protocol); the name must be new."""
    if protocol.name in REGISTRY:
        raise ValueError(f"protocol {protocol.name!r} is already registered")
    REGISTRY[protocol.name] = protocol


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def load(name: str) -> ModuleType:
    """Import a protocol's module (lazily: only the protocol in use pays its imports)."""
    return importlib.import_module(get(name).module)


def device_for(name: str, requested: str) -> str:
    """The device a protocol's cells run on: the requested one, or the CPU if CPU-only."""
    return "cpu" if get(name).cpu_only else requested


def check_options(name: str, options: dict) -> dict:
    """Validate a cell's options once: the registry's rules (device, threads), then the
    protocol's own ``check_options`` (which fills its defaults)."""
    device, threads = options.get("device", "cpu"), options.get("threads", 1)
    if get(name).cpu_only and device != "cpu":
        raise ValueError(f"option 'device': the {name} protocol runs on the CPU only, got {device!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"option 'threads' must be a positive integer, got {threads!r}")
    return load(name).check_options(options)


def versions(name: str) -> dict:
    """The framework version a cell of this protocol records (read without importing it)."""
    from importlib import metadata  # 25 ms to import: only when a record is written

    framework = get(name).framework
    return {framework: metadata.version(framework)} if framework else {}
