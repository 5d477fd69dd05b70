"""The Fashion-MNIST study: one job per (model, learning rate) trains its seeds and scores
them; aggregation builds the table, the verdicts, the figures and the summary.

A run record follows the cell-record conventions (:mod:`avarep.cell`): atomic JSON, settings
hash, library versions, per-seed status by :func:`avarep.health.classify` (ok / unstable /
diverged; only ok seeds enter a mean or a verdict) and a SHA-256 of the record itself.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__, atomic, fashion_models as fm, genmetrics as gm
from .fashion_design import NO_LR
from .cell import CorruptRecord, _checksum, versions
from .health import STATUSES, classify
from .metric import balance_metric
from .protocols import Diverged
from .seeding import rng_for
from .sweep import settings_hash

FORMAT = 1
DATASET = "fashion-mnist"
#: metric -> True when higher is better. BM follows the paper's reading (its claims call the
#: highest BM the best); it is reported for continuity, not as a quality measure.
METRICS = {"fd": False, "kid": False, "precision": True, "recall": True, "density": True,
           "coverage": True, "class_kl": False, "recon_mse": False, "bm": True}
LABELS = {"fd": "FD", "kid": "KID", "precision": "precision", "recall": "recall",
          "density": "density", "coverage": "coverage", "class_kl": "class KL",
          "recon_mse": "recon. MSE", "bm": "BM"}
SPLITS = ("val", "test")


def lr_values(model: str, budget: dict) -> list:
    """The learning rates of a model: the paper's SGD grid, the Adam grid, or none (floors)."""
    if model in fm.PAPER_MODELS:
        return list(budget["lrs_paper"])
    if model in fm.STANDARD_MODELS:
        return list(budget["lrs_adam"])
    return [NO_LR]


def references(features: dict, budget: dict) -> dict[str, gm.Reference]:
    """Each split's first n real feature rows (validation for choosing lr, test for scoring)
    with their k-NN radii, once for all of a job's seeds."""
    n = int(budget["samples"])
    return {split: gm.Reference.of(features[f"{split}_features"][:n]) for split in SPLITS}


def score(trained, splits, clf, refs, budget, rng) -> dict:
    """Every metric of one trained seed, on the validation and on the test split (``refs``:
    :func:`references`)."""
    n = int(budget["samples"])
    gen = torch.Generator().manual_seed(int(rng.integers(2**63)))
    samples = np.asarray(trained.sample(n, gen), dtype=np.float64)
    if not np.all(np.isfinite(samples)):
        raise Diverged("non-finite generated image")
    feats, labels = clf.features_and_labels(samples.astype(np.float32))
    out = {}
    for split in SPLITS:
        real = refs[split].features
        images = (splits.val_x if split == "val" else splits.test_x)[:n].astype(np.float64)
        kid_mean, kid_se = gm.kid(real, feats, rng)
        out[split] = {
            "fd": gm.frechet_distance(real, feats), "kid": kid_mean, "kid_se": kid_se,
            **gm.prdc(refs[split], feats), "class_kl": gm.class_kl(labels),
            # BM pairs generated image i with image i of the split (one channel)
            "bm": balance_metric(samples[:, :, None], images[:, :, None]),
            "recon_mse": reconstruction_mse(trained, images),
        }
    return out, samples[:16]


def reconstruction_mse(trained, images) -> float | None:
    """Mean squared error per pixel of decode(mu(x)); None for models without an encoder."""
    if not trained.encoder:
        return None
    return float(np.mean((trained.reconstruct(images.astype(np.float32)) - images) ** 2))


def run_seed(model, lr, seed, splits, clf, refs, budget):
    """Train and score one seed. Returns (run dict, 16 samples or None)."""
    rng = rng_for(f"fashion-{model}", 0.0 if lr == NO_LR else float(lr), seed)
    started = time.perf_counter()
    metrics, samples, health, reason = None, None, None, ""
    try:
        pool = splits.train_x[: int(budget["train_images"])]
        trained = fm.train(model, pool, lr, rng, epochs=int(budget["epochs"]),
                           batch=int(budget["batch"]), dtype=budget["dtype"],
                           device=budget["device"])
        metrics, samples = score(trained, splits, clf, refs, budget, rng)
        health = _finite(trained.health())
        status, reason = classify(health)
    except Diverged as exc:
        status, reason = "diverged", str(exc)
    run = {"seed": int(seed), "status": status, "reason": reason, "health": health,
           "metrics": metrics, "seconds": round(time.perf_counter() - started, 3)}
    return run, samples


def _finite(health: dict) -> dict:
    """Health quantities as JSON (a non-finite number means the seed diverged)."""
    text = json.dumps(health, default=float)
    if "NaN" in text or "Infinity" in text:
        raise Diverged(f"non-finite health quantity {text}")
    return json.loads(text)


def run_job(model, lr, seeds, splits, clf, features, budget, data_sha256, classifier_sha256):
    """One (model, lr) job: every seed. Returns (record, 16 samples of the first ok seed)."""
    settings = {"study": "fashion", "dataset": DATASET, "data_sha256": data_sha256,
                "classifier_sha256": classifier_sha256, "model": model, "lr": lr,
                "seeds": [int(s) for s in seeds], "budget": budget, "code": __version__}
    started = time.perf_counter()
    runs, sample, refs = [], None, references(features, budget)
    for seed in seeds:
        run, samples = run_seed(model, lr, seed, splits, clf, refs, budget)
        runs.append(run)
        if sample is None and run["status"] == "ok":
            sample = samples
    record = {"format": FORMAT, "study": "fashion", "dataset": DATASET, "model": model,
              "lr": lr, "seeds": settings["seeds"], "runs": runs,
              "status_counts": {s: sum(r["status"] == s for r in runs) for s in STATUSES},
              "settings_hash": settings_hash(settings), "settings": settings,
              "wall_seconds": round(time.perf_counter() - started, 3),
              "device": budget["device"], "versions": versions(fm.PROTOCOL)}
    record["record_sha256"] = _checksum(record)
    return record, sample


def read_run_record(path) -> dict:
    """Read and verify a run record; raise CorruptRecord naming the file."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRecord(f"{path}: unreadable run record ({exc})") from exc
    if not isinstance(record, dict) or record.get("study") != "fashion":
        raise CorruptRecord(f"{path}: not a Fashion-MNIST run record")
    if record.get("format") != FORMAT:
        raise CorruptRecord(f"{path}: run record of format {record.get('format')}, expected {FORMAT}")
    if record.get("record_sha256") != _checksum(record):
        raise CorruptRecord(f"{path}: checksum mismatch (file was truncated or edited)")
    return record


def write_samples(path, samples) -> None:
    """The 16 samples of a job's first ok seed as uint8 (an empty array when none)."""
    array = np.zeros((0, fm.PIXELS), np.uint8) if samples is None else np.round(samples * 255).astype(np.uint8)
    with atomic.atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
