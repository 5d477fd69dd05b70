"""`script:` of rule samples_grid: models x learning rates of generated images, one tile per
cell cut from its strip, with the cell's mean BM under it."""

import contextlib
import json

import _bootstrap  # noqa: F401

from avarep.samplegrid import samples_grid


def cell_summary(record_path: str, strip: str) -> dict:
    with open(record_path) as handle:
        record = json.load(handle)
    return {"model": record["model"], "lr": record["lr"], "strip": strip,
            "bm_mean": record.get("bm_mean"), "n_ok": record.get("n_ok"),
            "n_seeds": len(record.get("seeds", []))}


def write_grid(sm) -> None:
    with open(sm.input.manifest) as handle:
        manifest = json.load(handle)
    cells = [cell_summary(r, s) for r, s in zip(sm.input.records, sm.input.strips, strict=True)]
    lrs = sorted({float(c["lr"]) for c in cells}, reverse=True)
    samples_grid(cells, manifest["width"], manifest["height"], list(sm.params.models), lrs,
                 sm.output.grid, sm.params.title)


with open(snakemake.log[0], "w") as log, contextlib.redirect_stdout(log), \
        contextlib.redirect_stderr(log):  # noqa: F821 (snakemake: the `script:` object)
    write_grid(snakemake)  # noqa: F821
