"""The reproducibility checklist page: what checklists (NeurIPS, ML Reproducibility Challenge)
ask, computed from the run's own cell records, manifest and run.json.

Parameters per network are counted from the networks each protocol really builds: the
``author`` protocol's logical layer sizes (three per-colour-channel networks, spec 5.1; the
collapsed computation stores fewer numbers but computes the same networks), the ``paper``
protocol's tensors. Exclusions are every seed whose ``status`` is not ``ok``, whatever the
status is called, with the reason its record gives.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from . import protocols
from .cell import read_record
from .report import Document

NETWORK_COLUMNS = ("encoder", "decoder", "d", "D")


def parameter_table(protocol: str, models: list[str], n_pixels: int) -> pd.DataFrame:
    count = protocols.load(protocol).parameter_counts
    rows = []
    for model in models:
        nets = count(model, n_pixels)
        rows.append({"model": model, **{n: nets.get(n) for n in NETWORK_COLUMNS},
                     "total": sum(nets.values())})
    return pd.DataFrame(rows)


def load_records(paths) -> list[tuple[Path, dict]]:
    return [(Path(p), read_record(p)) for p in paths]


def runtime_table(records: list[tuple[Path, dict]], models: list[str]) -> pd.DataFrame:
    """Per model: cells, seed runs, training seconds in all, per seed (mean, max), threads, device."""
    rows = []
    for _, rec in records:
        for run in rec["runs"]:
            rows.append({"model": rec["model"], "lr": rec["lr"], "seconds": run["seconds"],
                         "threads": rec["threads"], "device": rec["device"]})
    frame = pd.DataFrame(rows)
    grouped = frame.groupby("model", sort=False)
    return pd.DataFrame({
        "cells": grouped["lr"].nunique(), "seed runs": grouped.size(),
        "seconds in all": grouped["seconds"].sum().round(2),
        "seconds per seed (mean)": grouped["seconds"].mean().round(3),
        "seconds per seed (max)": grouped["seconds"].max().round(3),
        "threads": grouped["threads"].agg(lambda s: ", ".join(map(str, sorted(set(s))))),
        "device": grouped["device"].agg(lambda s: ", ".join(sorted(set(s)))),
    }).reindex([m for m in models if m in grouped.groups]).rename_axis("model").reset_index()


def run_reason(run: dict) -> str:
    """Why a seed is not ok, wherever its record says it (top level first, then its log)."""
    log = run.get("log") or {}
    return str(run.get("reason") or log.get("reason") or "no reason recorded")


def exclusions(records: list[tuple[Path, dict]]) -> pd.DataFrame:
    rows = [{"model": rec["model"], "lr": rec["lr"], "seed": run["seed"], "status": run["status"],
             "reason": run_reason(run), "record": str(path)}
            for path, rec in records for run in rec["runs"] if run["status"] != "ok"]
    return pd.DataFrame(rows, columns=["model", "lr", "seed", "status", "reason", "record"])


def status_counts(records: list[tuple[Path, dict]]) -> Counter:
    return Counter(run["status"] for _, rec in records for run in rec["runs"])


def _run_bullets(run: dict | None) -> list[str]:
    if not run:
        return ["no ``run.json`` beside the results: provenance unknown"]
    commit = run.get("commit") or f"unknown ({run.get('commit_reason')})"
    modified = {True: " (working tree modified)", False: " (clean working tree)"}.get(
        run.get("tree_modified"), "")
    versions = ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items() if v)
    return [f"code: commit ``{commit}``{modified}",
            f"resolved config: SHA-256 ``{run.get('config_sha256')}``",
            f"started {run.get('started')}; targets: {', '.join(run.get('targets') or []) or '—'}",
            f"software: {versions}"]


def _cell_commits(records_by_protocol: dict[str, list]) -> str:
    """Which commits trained the cells: a run reuses cells that earlier commits trained."""
    counts = Counter()
    for records in records_by_protocol.values():
        for _, rec in records:
            block = rec.get("provenance") or {}
            if block.get("commit"):
                label = block["commit"][:10] + (" (modified tree)" if block.get("tree_modified") else "")
            else:
                label = "unknown" if block else "not recorded (older record)"
            counts[label] += 1
    return "cells trained by: " + "; ".join(f"{c} {n} cell(s)" for c, n in counts.most_common())


def _cell_hosts(records_by_protocol: dict[str, list]) -> str:
    counts = Counter()
    for records in records_by_protocol.values():
        for _, rec in records:
            block = rec.get("provenance") or {}
            host = f"{block['host']} ({block.get('cpu')})" if block.get("host") else "not recorded"
            counts[f"{host}, {rec.get('device')}, {rec.get('threads')} thread(s)"] += 1
    return "cells trained on: " + "; ".join(f"{h}: {n} cell(s)" for h, n in counts.most_common())


def _machine_bullets(machine: dict) -> list[str]:
    gpus = ", ".join(machine.get("gpus") or []) or "none"
    return [f"CPU: {machine.get('cpu')} ({machine.get('cpu_count')} logical cores), "
            f"memory {machine.get('memory_gib')} GiB, GPUs: {gpus}",
            f"OS: {machine.get('os')}"]


def _grid_bullets(protocol: str, records) -> str:
    seeds = sorted({s for _, rec in records for s in rec["seeds"]})
    counts = status_counts(records)
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    models = sorted({rec["model"] for _, rec in records})
    lrs = sorted({rec["lr"] for _, rec in records})
    return (f"``{protocol}``: {len(records)} cells ({len(models)} models × {len(lrs)} learning "
            f"rates), seeds {', '.join(map(str, seeds))}; {sum(counts.values())} training runs: "
            f"{statuses}")


def _exclusion_section(doc: Document, protocol: str, records, limit: int = 40) -> None:
    excluded = exclusions(records)
    if excluded.empty:
        doc.para(f"``{protocol}``: no seed excluded (every status is ok).")
        return
    summary = excluded.groupby(["status", "reason"]).size().reset_index(name="seeds")
    doc.para(f"``{protocol}``: {len(excluded)} seed run(s) excluded from means, SDs, tables "
             "and claims, by status and reason:")
    doc.table(summary)
    doc.table(excluded.drop(columns="record").head(limit))
    if len(excluded) > limit:
        doc.para(f"… and {len(excluded) - limit} more (every one is in its cell record).")


def build_page(dataset: str, manifest: dict, run: dict | None, machine: dict,
               records_by_protocol: dict[str, list], models: list[str]) -> Document:
    doc = Document(f"Reproducibility checklist: {dataset}")
    n_pixels = int(manifest["width"]) * int(manifest["height"])
    doc.heading("Code, configuration and software")
    doc.bullets([*_run_bullets(run), _cell_commits(records_by_protocol)])
    doc.heading("Hardware")
    doc.para("The machine that ran the workflow (``run.json``), and where each cell was trained "
             "(its record; they differ on a cluster):")
    doc.bullets([*_machine_bullets(machine), _cell_hosts(records_by_protocol)])
    doc.heading("Data")
    doc.bullets([f"{manifest['count']} images of {manifest['width']}×{manifest['height']} "
                 f"pixels, combined SHA-256 ``{manifest['sha256']}`` (``manifest.json``); "
                 "training and test set are the same images (spec 2)"])
    doc.heading("Number of runs and seeds")
    doc.bullets([_grid_bullets(p, recs) for p, recs in records_by_protocol.items()])
    doc.heading("Parameters per network")
    for protocol in records_by_protocol:
        doc.para(f"``{protocol}`` protocol, {n_pixels} pixels per image (d: decoder "
                 "discriminator, D: encoder discriminator; — = the model has no such network):")
        doc.table(parameter_table(protocol, models, n_pixels))
    doc.heading("Runtime per model")
    for protocol, records in records_by_protocol.items():
        doc.para(f"``{protocol}``: training and scoring time per seed, from the cell records:")
        doc.table(runtime_table(records, models))
    doc.heading("What was excluded and why")
    for protocol, records in records_by_protocol.items():
        _exclusion_section(doc, protocol, records)
    doc.heading("Sources")
    doc.bullets(["runs, seeds, runtimes and exclusions: the cell records "
                 "``<protocol>/cells/<model>/lr<γ>.json`` (``runs[].seconds``, ``runs[].status``)",
                 "parameters: counted from the networks each protocol builds "
                 "(``avarep.checklist``) for the image size in ``manifest.json``",
                 "code, config, software and hardware: ``run.json`` of the run that made this page"])
    return doc
