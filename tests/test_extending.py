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

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avarep import tables
from avarep.cell import run_cell
from avarep.data import prepare
from avarep.sweep import MODELS
from conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]
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


# ------------------------------------------------------------------------ a throwaway model

#: A new combination of parts: both discriminators, D's lean term but not d's.
THROWAWAY = ('    Model("AVA9", "#8c564b", decoder_discriminator=True, encoder_discriminator=True,'
             ' lean_encode=True),\n')


def workflow_copy_with_throwaway_model(tmp_path) -> Path:
    """The repository's workflow, copied, with one line added to the model registry."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, repo / name)
    for folder in ("workflow", "envs"):
        shutil.copytree(REPO / folder, repo / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    registry = repo / "workflow" / "avarep" / "models.py"
    text = registry.read_text()
    anchor = '    Model("VAE", "#ff7f0e"),\n'
    assert anchor in text, "the model registry changed shape; update this test"
    registry.write_text(text.replace(anchor, THROWAWAY + anchor))
    return repo


def expected_parameter_counts(n_pixels: int) -> dict[str, int]:
    """Hand-worked from the parts: encoder 3P -> h -> 2n, decoder n -> h' -> 3P, d 3P -> h -> 1,
    D n -> h' -> 1 (the paper protocol's RGB networks, spec 5.1's hidden sizes)."""
    from avarep.layers import hidden_sizes

    n = 10
    (h,), (h_dec,) = hidden_sizes(n_pixels, n), list(reversed(hidden_sizes(n_pixels, n)))
    dense = lambda sizes: sum(a * b + b for a, b in zip(sizes, sizes[1:]))  # noqa: E731
    return {"encoder": dense([3 * n_pixels, h, 2 * n]), "decoder": dense([n, h_dec, 3 * n_pixels]),
            "d": dense([3 * n_pixels, h, 1]), "D": dense([n, h_dec, 1])}


@pytest.mark.slow
def test_a_throwaway_model_runs_the_grid_after_one_registry_line(tmp_path, synthetic, monkeypatch):
    repo = workflow_copy_with_throwaway_model(tmp_path)
    work = tmp_path / "work"
    grid = ["dataset=synthetic", "models=[AVA9,VAE]", "learning_rates=[0.5]", "seeds=[0,1]"]
    # bm.csv of both protocols, and the report's front page (a `script:` rule, so the copied
    # package must win over the installed one there too).
    summary = "results/synthetic/report/reproducibility_summary.md"
    targets = [f"results/synthetic/{p}/bm.csv" for p in ("author", "paper")] + [summary]
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--directory",
         str(work), "--cores", "2", "--config", *grid, "--", *targets],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "AVA9" in (work / summary).read_text()

    # In this process the same model exists only if registered here: the subprocess's numbers
    # came from the copied registry line and nothing else.
    from avarep import models

    assert "AVA9" not in models.REGISTRY
    monkeypatch.setitem(models.REGISTRY, "AVA9", models.Model(
        "AVA9", "#8c564b", decoder_discriminator=True, encoder_discriminator=True,
        lean_encode=True))
    images, _ = synthetic
    for protocol in ("author", "paper"):
        bm = pd.read_csv(work / f"results/synthetic/{protocol}/bm.csv")
        ours = bm[bm["model"] == "AVA9"].sort_values("seed")
        assert list(ours["seed"]) == [0, 1] and set(ours["status"]) == {"ok"}
        record, _ = run_cell(images.pixels, dataset="synthetic", protocol=protocol, model="AVA9",
                             lr=0.5, seeds=TINY_SEEDS, options=dict(DEFAULT_OPTIONS[protocol]),
                             data_sha256=images.combined_sha256)
        assert [r["bm"] for r in record["runs"]] == pytest.approx(list(ours["bm"]), abs=1e-12)
    # Its networks are the ones its parts name.
    from avarep.protocols import paper

    assert paper.parameter_counts("AVA9", images.pixels.shape[1]) == \
        expected_parameter_counts(images.pixels.shape[1])


def test_a_model_with_an_impossible_combination_of_parts_is_refused():
    from avarep.models import Model

    with pytest.raises(ValueError, match="lean_decode"):
        Model("X", "red", lean_decode=True)
    with pytest.raises(ValueError, match="no encoder"):
        Model("X", "red", decoder_discriminator=True, gan=True, encoder_discriminator=True)


# ------------------------------------------------------------------------- a toy protocol
# The toy protocol is this module: check_options, train and parameter_counts below. Its
# "model" moves the red channel of every test pixel by s = shift * u, u ~ U(0.5, 1) from the
# cell-seed's generator, so every pixel is at distance s and BM = s (1 - s) exactly.


def check_options(options: dict) -> dict:
    unknown = set(options) - {"shift", "device", "threads"}
    if unknown:
        raise ValueError(f"unknown toy option(s): {', '.join(sorted(unknown))}")
    return {"shift": float(options.get("shift", 0.5))}


class _ShiftedCopy:
    def __init__(self, shift):
        self.shift = shift
        self.log = {"shift": shift}

    def generate(self, test_images, k, rng):
        out = np.repeat(np.asarray(test_images, dtype=np.float64)[:, None], k, axis=1)
        out[..., 0] += self.shift
        return out

    def health(self):
        return {"max_abs_mu": None, "max_sigma2": None}


def train(images, model, lr, rng, options):
    return _ShiftedCopy(options["shift"] * rng.uniform(0.5, 1.0))


def parameter_counts(model, n_pixels):
    return {}


@pytest.fixture
def toy_protocol():
    from avarep import protocols

    protocols.register(protocols.Protocol(
        "toy", __name__, "``toy``: a shifted copy of each test image", colour="black",
        config_keys=(), cpu_only=True))
    yield "toy"
    protocols.unregister("toy")


def test_a_toy_protocol_registered_here_runs_a_tiny_grid(toy_protocol, synthetic, tmp_path):
    from avarep import protocols
    from avarep.seeding import rng_for

    images, _ = synthetic
    records = []
    for model in ("AVA1", "GAN"):
        for lr in TINY_LRS:
            record, _ = run_cell(images.pixels, dataset="synthetic", protocol="toy", model=model,
                                 lr=lr, seeds=TINY_SEEDS, options={"shift": 0.4},
                                 data_sha256=images.combined_sha256)
            assert record["versions"].keys() == {"python", "numpy", "avarep"}  # no framework
            assert record["device"] == "cpu" and record["options"] == {"shift": 0.4}
            records.append(record)
    long = tables.collect(records)
    tables.write_bm(long, tmp_path / "bm.csv")
    written = pd.read_csv(tmp_path / "bm.csv")
    assert len(written) == 2 * 2 * 2 and set(written["protocol"]) == {"toy"}
    for row in written.itertuples():
        s = 0.4 * rng_for(row.model, row.lr, row.seed).uniform(0.5, 1.0)
        assert row.bm == pytest.approx(s * (1 - s), abs=1e-12)
    t12 = tables.table12(long)
    assert set(t12["n_ok"]) == {2}
    with pytest.raises(ValueError, match="CPU only"):  # the registry's rule, not the module's
        protocols.check_options("toy", {"device": "cuda"})


# ------------------------------------------------------------------- one place per thing


def test_importing_the_registries_and_the_workflow_helpers_imports_no_torch():
    code = ("import sys; sys.path.insert(0, 'workflow'); "
            "import avarep.protocols, avarep.models, avarep.datasets, avarep.config, avarep.cell; "
            "avarep.protocols.versions('paper'); avarep.config.load_schema(); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_the_schema_takes_its_names_from_the_registries(monkeypatch):
    from avarep import config, datasets, models, protocols

    properties = config.load_schema()["properties"]
    assert properties["models"]["items"]["enum"] == list(models.REGISTRY)
    assert properties["protocols"]["items"]["enum"] == list(protocols.REGISTRY)
    assert properties["dataset"]["enum"] == ["orbit-100x64", "orbit-72x45", "synthetic"]
    assert "fashion-mnist" in datasets.REGISTRY  # its own study's set, not a grid dataset
    monkeypatch.setitem(models.REGISTRY, "AVA9", models.Model("AVA9", "red"))
    assert "AVA9" in config.load_schema()["properties"]["models"]["items"]["enum"]


def protocol_literals(path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        if re.search(r"""["'](author|paper)["']""", code):
            found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    return found


def test_protocol_names_are_spelled_only_where_they_are_declared():
    # The registry declares the protocols; the studies name the protocol they vary
    # (readings: author, robustness and Fashion-MNIST: paper); the benchmark times one.
    allowed = {"avarep/protocols/__init__.py", "avarep/readings.py", "avarep/robustness.py",
               "avarep/fashion_models.py", "avarep/cell.py", "scripts/benchmark.py"}
    files = [*(REPO / "workflow").rglob("*.py"), *(REPO / "workflow").rglob("*.smk")]
    spelled = [hit for path in files if str(path.relative_to(REPO / "workflow")) not in allowed
               for hit in protocol_literals(path)]
    assert not spelled, spelled


def test_the_registered_frame_sizes_are_the_files_sizes():
    from PIL import Image

    from avarep import datasets

    for name in ("orbit-100x64", "orbit-72x45"):
        folder = SHARED_DATA / name
        if not folder.is_dir():
            pytest.skip(f"no {folder}")
        entry = datasets.get(name)
        with Image.open(sorted(folder.glob("*.png"))[0]) as image:
            assert image.size == (entry.width, entry.height)
        assert len(list(folder.glob("*.png"))) == len(entry.pinned_sums())


def test_rule_scripts_import_the_package_beside_them_first(tmp_path):
    """A `script:` job's sys.path already holds workflow/ (late) and an installed copy of
    avarep may come first (an editable install of another checkout): _bootstrap must move
    the package beside the scripts to the front, or a copied workflow runs the wrong code."""
    other = tmp_path / "elsewhere" / "avarep"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("WRONG = True\n")
    scripts, workflow = REPO / "workflow" / "scripts", REPO / "workflow"
    code = (f"import sys; sys.path.insert(0, {str(other.parent)!r}); "
            f"sys.path += [{str(scripts)!r}, {str(workflow)!r}]; "
            "import _bootstrap, avarep; print(avarep.__file__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == workflow / "avarep" / "__init__.py"
