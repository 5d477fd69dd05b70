"""The Fashion-MNIST study's design: its models and floors, and the placeholder "learning
rate" of the floors. The workflow reads this module when it parses the Snakefile, so it
imports nothing heavy (torch would cost seconds per run); the models themselves are
:mod:`avarep.fashion_models`, the study :mod:`avarep.fashion`.
"""

from __future__ import annotations

from . import models

PAPER_MODELS = models.names()  # every model of the registry, trained by the paper protocol
STANDARD_MODELS = ("VAE-std", "GAN-std")
FLOORS = ("real", "GMM-PCA", "mean-image")
NEURAL = PAPER_MODELS + STANDARD_MODELS
ALL_MODELS = NEURAL + FLOORS
HAS_ENCODER = tuple(m.name for m in models.REGISTRY.values() if m.has_encoder) + ("VAE-std",)
#: The label of the floors' single "learning rate" (they have none).
NO_LR = "none"


def job_priority(model: str) -> int:
    """Snakemake's priority of a model's run jobs, longest first so that none is left running
    alone at the end: GMM-PCA (its PCA and mixture fits: 41-53 s a job on the 2-core
    reference machine), then the neural models (12-27 s), then the floors that only score
    (6-9 s)."""
    if model == "GMM-PCA":
        return 2
    return 1 if model in NEURAL else 0
