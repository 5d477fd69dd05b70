"""Every random draw comes from a stream derived from an explicit seed.

A cell-seed's stream depends only on (model, learning rate, seed), never on scheduling,
parallelism or the order in which cells run. Different models and learning rates get
independent streams, as the author's cells were independent runs.
"""

from __future__ import annotations

import zlib

import numpy as np


def seed_sequence(model: str, lr: float, seed: int) -> np.random.SeedSequence:
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    # crc32 and integer micro-units keep the key stable across Python runs (unlike hash()).
    key = (zlib.crc32(model.encode("utf-8")), int(round(float(lr) * 1_000_000)))
    return np.random.SeedSequence(entropy=int(seed), spawn_key=key)


def rng_for(model: str, lr: float, seed: int) -> np.random.Generator:
    """The numpy generator that drives every draw of one cell-seed."""
    return np.random.Generator(np.random.PCG64(seed_sequence(model, lr, seed)))
