"""Extending the pipeline: the registries are the only place a model or a protocol lives.

* A tiny grid's ``bm.csv`` is byte-identical to the one the pipeline wrote before the
  registries existed (``tests/fixtures/tiny_grid/``, written by ``snakemake`` at commit
  38c3e0b on the synthetic set: 7 models x 2 learning rates x 2 seeds, both protocols).
* A throwaway model -- a new combination of parts -- runs through both protocols after one
  registry entry, and its numbers follow from its parts.
* A toy protocol registered from this file runs a tiny grid through the cell and the
  aggregation code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avarep import tables
from avarep.cell import run_cell
from avarep.data import prepare
from avarep.sweep import MODELS

FIXTURES = Path(__file__).parent / "fixtures" / "tiny_grid"
TINY_LRS = (0.5, 0.05)
TINY_SEEDS = [0, 1]
#: The options the workflow gives each protocol's cells by default (common.smk).
DEFAULT_OPTIONS = {
    "author": {"dtype": "float64", "author_build": "2023-12", "device": "cpu", "threads": 1},
    "paper": {"dtype": "float64", "device": "cpu", "threads": 1},
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    images, manifest = prepare("synthetic", root=tmp_path_factory.mktemp("data"))
    return images, manifest


def tiny_grid_bm(images, protocol, models, options, tmp_path) -> bytes:
    """Train the tiny grid as the cell jobs do and write bm.csv as the aggregate job does."""
    records = []
    for model in models:
        for lr in TINY_LRS:
            record, _ = run_cell(
                images.pixels, dataset="synthetic", protocol=protocol, model=model, lr=lr,
                seeds=TINY_SEEDS, options=dict(options), data_sha256=images.combined_sha256,
            )
            records.append(record)
    path = tmp_path / f"{protocol}_bm.csv"
    tables.write_bm(tables.collect(records), path)
    return path.read_bytes()


@pytest.mark.parametrize("protocol", ["author", "paper"])
def test_tiny_grid_bm_csv_is_byte_identical_to_before_the_registries(synthetic, protocol, tmp_path):
    images, _ = synthetic
    written = tiny_grid_bm(images, protocol, MODELS, DEFAULT_OPTIONS[protocol], tmp_path)
    assert written == (FIXTURES / f"{protocol}_bm.csv").read_bytes()
