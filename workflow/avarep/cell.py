"""One cell = one (protocol, model, learning rate): train every seed, score BM, write the record.

The cell record (JSON) is the contract between training and aggregation::

    {
      "format": 2,
      "dataset": "orbit-100x64", "protocol": "author", "model": "AVA1", "lr": 0.5,
      "seeds": [0, 1, 2, 3, 4],
      "runs": [{"seed": 0, "bm": 0.2311, "status": "ok", "reason": "",
                "health": {"max_abs_mu": 3.1, ...}, "seconds": 0.08, "log": {...}}, ...],
      "bm_mean": 0.2312, "bm_sd": 0.0004,   # over the seeds whose status is "ok"; sd is n-1
      "n_ok": 5, "status_counts": {"ok": 5, "unstable": 0, "diverged": 0},
      "health_rule": "bounded-latent rule",
      "options": {...}, "settings_hash": "<sha256>", "settings": {...},
      "wall_seconds": 0.41, "threads": 1, "device": "cpu",
      "versions": {"python": "...", "numpy": "...", "avarep": "..."},
      "record_sha256": "<sha256 of this JSON without this key>"
    }

``status`` is ``ok``, ``unstable`` (finite but blown up: bm kept, never used) or ``diverged``
(non-finite numbers: bm is then null), by the rule in :mod:`avarep.health`. ``record_sha256``
lets aggregation reject a truncated or hand-edited record instead of silently using it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from . import __version__, atomic, provenance
from .metric import bm_per_generation
from .health import RULE_NAME, STATUSES, classify, saturated_share
from . import protocols
from .protocols import Diverged
from .seeding import rng_for
from .sweep import GENERATIONS_PER_IMAGE, settings_hash

#: Format 2 added each seed's health quantities and the ``unstable`` status.
FORMAT = 2


class CorruptRecord(ValueError):
    """A cell record that is unreadable, incomplete or altered after it was written."""


def _checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def run_seed(images, protocol_module, model, lr, seed, options, keep_samples=False):
    """Train and score one seed. Returns (run dict, generated images or None).

    The run's status follows avarep.health: ``diverged`` (non-finite; bm null), ``unstable``
    (finite but blown up; bm kept for the reader, never used in a table or a verdict) or
    ``ok``.
    """
    rng = rng_for(model, lr, seed)
    started = time.perf_counter()
    try:
        trained = protocol_module.train(images, model, lr, rng, options)
    except Diverged as exc:
        trained = exc
    return score_seed(images, trained, rng, seed, keep_samples, started)


def score_seed(images, trained, rng, seed, keep_samples=False, started=None, shared_seconds=0.0,
               on_device=False):
    """Score one trained seed (or record the Diverged its training raised): generate from
    ``rng`` (as training left it), BM, health, status. ``seconds`` is the time since
    ``started`` plus ``shared_seconds`` (its share of seeds trained together). ``on_device``:
    the images stay where the model made them (``generate_on_device``) and are scored there;
    only a kept sample comes back as numpy."""
    started = time.perf_counter() if started is None else started
    reason, seed_health = "", None
    try:
        if isinstance(trained, Diverged):
            raise trained
        generate = trained.generate_on_device if on_device else trained.generate
        generated = generate(images, GENERATIONS_PER_IMAGE, rng)
        bm = float(bm_per_generation(generated, images).mean())
        if not math.isfinite(bm):  # any NaN or inf pixel propagates into BM: no extra pass
            raise Diverged("generated images contain non-finite values")
        seed_health = {**trained.health(), "generated_saturated_share": saturated_share(generated)}
        status, reason = classify(seed_health)
        log = json_safe_log(trained.log)
    except Diverged as exc:
        bm, status, log, generated = None, "diverged", {"reason": str(exc)}, None
        reason = str(exc)
    run = {
        "seed": int(seed),
        "bm": bm,
        "status": status,
        "reason": reason,
        "health": json_safe_log(seed_health) if seed_health is not None else None,
        "seconds": round(time.perf_counter() - started + shared_seconds, 6),
        "log": log,
    }
    if keep_samples and on_device and generated is not None:
        generated = generated.to("cpu").double().numpy()
    return run, (generated if keep_samples else None)


def json_safe_log(log: dict) -> dict:
    """Diagnostics with every non-finite number replaced by null, and how many there were.

    A discriminator may diverge while the images stay finite (under the author protocol it
    never touches them): that is worth recording, not a reason to lose the cell.
    """
    count = 0

    def clean(value):
        nonlocal count
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        if isinstance(value, float) and not math.isfinite(value):
            count += 1
            return None
        return value

    cleaned = clean(log)
    if count:
        cleaned["non_finite_values"] = count
    return cleaned


def summarise(runs: list[dict]) -> tuple[float | None, float | None, int]:
    values = [r["bm"] for r in runs if r["status"] == "ok"]
    mean = statistics.fmean(values) if values else None
    sd = statistics.stdev(values) if len(values) > 1 else None
    return mean, sd, len(values)


def versions(protocol: str) -> dict:
    """python, numpy, avarep and the protocol's framework (its registry entry says which)."""
    return {"python": platform.python_version(), "numpy": np.__version__, "avarep": __version__,
            **protocols.versions(protocol)}


def run_cell(images, *, lr: float, **kwargs):
    """Train every seed of one cell. Returns (record, generated images of the first ok seed,
    else of the first unstable one, else None). Keywords as :func:`run_cells`."""
    return next(run_cells(images, lrs=[lr], **kwargs))


def run_cells(
    images,
    *,
    dataset: str,
    protocol: str,
    model: str,
    lrs: list[float],
    seeds: list[int],
    options: dict,
    data_sha256: str,
    progress=None,
):
    """The cells of one model, one per learning rate: yields (record, sample) per rate, in
    order, as :func:`run_cell` returns them, each as soon as it is done. ``progress(settings,
    run, done, total)`` is called after each seed.

    Where the protocol stacks seeds on this device (``stacks(options)``: ``paper`` on a GPU),
    the seeds of as many cells as a stack holds train first, stacked (``train_stack``), each
    from its own rng; then each of those cells scores its seeds. A seed's ``seconds`` and a
    cell's ``wall_seconds`` then carry an even share of that training. ``options`` are
    validated here, once (avarep.protocols.check_options); ``device`` and ``threads`` travel
    inside them."""
    options = {"device": "cpu", "threads": 1, **options}
    validated = protocols.check_options(protocol, options)
    module = protocols.load(protocol)
    for group in cell_groups(images, module, lrs, seeds, validated):
        trained, share = train_stacked(images, module, model, group, seeds, validated)
        for i, lr in enumerate(group):
            settings = {
                "dataset": dataset,
                "data_sha256": data_sha256,
                "protocol": protocol,
                "model": model,
                "lr": float(lr),
                "seeds": [int(s) for s in seeds],
                "options": validated,
                "generations_per_image": GENERATIONS_PER_IMAGE,
                "code": __version__,
            }
            started = time.perf_counter()
            runs, sample = train_seeds(images, module, settings, progress,
                                       trained[i] if trained else None, share)
            record = cell_record(settings, runs, execution={
                "wall_seconds": round(time.perf_counter() - started + share * len(seeds), 6),
                "threads": options["threads"],
                "device": options["device"],
            })
            yield record, sample


def stacks(module, options) -> bool:
    """Whether the protocol trains seeds stacked on this device (its optional ``stacks``)."""
    return getattr(module, "stacks", lambda options: False)(options)


def cell_groups(images, module, lrs, seeds, options) -> list[list]:
    """The rates in groups trained together: as many cells as one stack holds (the
    protocol's ``seeds_per_stack``), so a job keeps one stack's weights at a time; one cell
    per group where seeds are not stacked."""
    size = 1
    if stacks(module, options):
        size = max(1, module.seeds_per_stack(np.shape(images)[1], options) // len(seeds))
    return [list(lrs[i:i + size]) for i in range(0, len(lrs), size)]


def train_stacked(images, module, model, lrs, seeds, options):
    """Every (rate, seed) trained as stacked computations where the protocol stacks them on
    this device: per rate, a list of (trained model or Diverged, its rng as training left it),
    and each seed's share of the time. ([], 0.0) where it does not."""
    if not stacks(module, options):
        return [], 0.0
    started = time.perf_counter()
    pairs = [(float(lr), int(seed)) for lr in lrs for seed in seeds]
    rngs = [rng_for(model, lr, seed) for lr, seed in pairs]
    results = module.train_stack(images, model, [lr for lr, _ in pairs], rngs, options)
    share = (time.perf_counter() - started) / len(pairs)
    per_seed = list(zip(results, rngs))
    return [per_seed[i:i + len(seeds)] for i in range(0, len(pairs), len(seeds))], share


def train_seeds(images, module, settings: dict, progress=None, trained=None,
                share: float = 0.0) -> tuple[list[dict], object]:
    """Every seed of a cell, in order; the strip shows the first ok seed's images, else the
    first finite (unstable) seed's. ``trained``: the seeds already trained (stacked), as
    (trained model or Diverged, rng) pairs, each carrying ``share`` seconds of it, and scored
    where they were trained if they can be (``generate_on_device``)."""
    runs, sample, sample_ok = [], None, False
    seeds = settings["seeds"]
    for i, seed in enumerate(seeds):
        if trained is None:
            run, generated = run_seed(images, module, settings["model"], settings["lr"], seed,
                                      settings["options"], not sample_ok)
        else:
            result = trained[i][0]
            run, generated = score_seed(images, *trained[i], seed, not sample_ok,
                                        shared_seconds=share,
                                        on_device=hasattr(result, "generate_on_device"))
        runs.append(run)
        if generated is not None and (sample is None or run["status"] == "ok"):
            sample, sample_ok = generated, run["status"] == "ok"
        if progress is not None:
            progress(settings, run, len(runs), len(seeds))
    return runs, sample


def cell_record(settings: dict, runs: list[dict], execution: dict) -> dict:
    """The record (format 2) of a trained cell, checksummed."""
    mean, sd, n_ok = summarise(runs)
    record = {
        "format": FORMAT,
        **{key: settings[key] for key in ("dataset", "protocol", "model", "lr", "seeds")},
        "runs": runs,
        "bm_mean": mean,
        "bm_sd": sd,
        "n_ok": n_ok,
        "status_counts": {status: sum(r["status"] == status for r in runs) for status in STATUSES},
        "health_rule": RULE_NAME,
        "options": settings["options"],
        "settings_hash": settings_hash(settings),
        "settings": settings,
        **execution,
        "versions": versions(settings["protocol"]),
        "provenance": provenance.for_cell(),  # not hashed: a commit alone must not retrain
    }
    record["record_sha256"] = _checksum(record)
    return record


def write_record(path: str | os.PathLike, record: dict) -> None:
    atomic.write_json(path, record)


def read_record(path: str | os.PathLike) -> dict:
    """Read and verify a cell record; raise :class:`CorruptRecord` naming the file if bad."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRecord(f"{path}: unreadable cell record ({exc})") from exc
    if not isinstance(record, dict) or "format" not in record:
        raise CorruptRecord(f"{path}: not a cell record")
    if record["format"] != FORMAT:
        raise CorruptRecord(f"{path}: cell record of format {record['format']}, written by an "
                            f"older version (this one writes format {FORMAT})")
    if record.get("record_sha256") != _checksum(record):
        raise CorruptRecord(f"{path}: checksum mismatch (file was truncated or edited)")
    for run in record["runs"]:
        if run["status"] == "ok" and not (isinstance(run["bm"], float) and math.isfinite(run["bm"])):
            raise CorruptRecord(f"{path}: seed {run['seed']} is ok but has no finite bm")
    return record


def quarantine_corrupt(paths, warn=None) -> list[Path]:
    """Move every existing but corrupt cell record aside to ``<name>.corrupt``.

    Called when the workflow is parsed, before the DAG is built: a truncated or hand-edited
    record then looks missing, so Snakemake retrains that cell instead of aggregation stopping
    on it. The bad file is kept as evidence (an older ``.corrupt`` file is replaced). Missing
    records are skipped. Returns the paths that were moved aside.
    """
    moved = []
    for path in map(Path, paths):
        if not path.exists():
            continue
        try:
            read_record(path)
        except (CorruptRecord, KeyError, TypeError) as exc:
            target = path.with_name(path.name + ".corrupt")
            os.replace(path, target)
            moved.append(path)
            message = (f"WARNING: corrupt cell record {path} ({exc}); "
                       f"moved aside to {target}, the cell will be retrained")
            (warn or print)(message)
    return moved
