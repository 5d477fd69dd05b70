"""The experiment's grid: models, learning rates, and the hash of the settings of a cell."""

from __future__ import annotations

import hashlib
import json

from . import models

#: Every registered model (avarep.models), in the paper's column order (Tables 1-3).
MODELS: tuple[str, ...] = models.names()

#: The paper's 19 learning rates (spec section 4), in the paper's row order.
LEARNING_RATES: tuple[float, ...] = (
    1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1,
    0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01,
)

#: Generations per test image for BM (spec section 3).
GENERATIONS_PER_IMAGE = 10
#: Latent dimension n (spec section 1).
LATENT_DIM = 10


#: Every text :func:`lr_label` can produce for a rate in (0, 1]: '0.5', '1.0', but also
#: '5e-05' and '1.5e-07' (repr drops the dot below 1e-4). File names and the workflow's
#: wildcard use it, so a rate the schema accepts is never silently left out.
LR_LABEL_PATTERN = r"[0-9]+(\.[0-9]+)?(e-[0-9]+)?"


def lr_label(lr: float) -> str:
    """Canonical text of a learning rate, used in file names: 1.0 -> '1.0', 0.05 -> '0.05'."""
    text = repr(float(lr))
    if float(text) != float(lr):  # pragma: no cover - repr round-trips by definition
        raise ValueError(f"learning rate {lr!r} has no exact text form")
    return text


def parse_lr(label: str) -> float:
    return float(label)


def settings_hash(settings: dict) -> str:
    """A stable SHA-256 over everything that determines a cell's numbers."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
