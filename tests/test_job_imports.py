"""An ``author`` job never imports torch, and a Fashion-MNIST run job neither matplotlib nor
pandas (issue 13: imports are most of a job's start-up).

The rule's entry point runs, as Snakemake runs it, in a fresh interpreter on a tiny data set;
the interpreter then reports which of the heavy libraries it had loaded.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from avarep import atomic, data
from conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "workflow" / "scripts" / "train_cells.py"

# Runs a rule's entry point in this interpreter, then prints the heavy modules it loaded.
PROBE = """
import json, runpy, sys
sys.argv = [{script!r}] + {args!r}
sys.path.insert(0, {scripts!r})  # as `python train_cells.py` would
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = ("torch", "scipy", "pandas", "matplotlib")
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    data.make_synthetic(folder / "tiny", width=4, height=3, count=3)
    _, description = data.prepare(None, folder / "tiny", root=folder / "results")
    path = folder / "manifest.json"
    atomic.write_json(path, description)
    return path


def heavy_modules_loaded(script, args):
    probe = PROBE.format(script=str(script), scripts=str(script.parent), args=args)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def heavy_modules_of_a_job(manifest, tmp_path, protocol):
    args = ["--manifest", str(manifest), "--dataset", "tiny", "--protocol", protocol,
            "--model", "AVA5", "--lrs", "0.5", "--seeds", "0",
            "--records", str(tmp_path / "cell.json"), "--strips", str(tmp_path / "cell.png")]
    heavy = heavy_modules_loaded(SCRIPT, args)
    assert json.loads((tmp_path / "cell.json").read_text())["protocol"] == protocol
    return heavy


def test_an_author_job_does_not_import_torch(manifest, tmp_path):
    assert heavy_modules_of_a_job(manifest, tmp_path, "author") == []


def test_the_probe_sees_torch_in_a_paper_job(manifest, tmp_path):
    """The same probe on a paper job: it would notice torch if an author job loaded it."""
    assert "torch" in heavy_modules_of_a_job(manifest, tmp_path, "paper")


def test_a_fashion_run_job_imports_neither_plotting_nor_pandas(tmp_path):
    """39 run jobs each paid 1.3 s for the study's figure and table code they do not use."""
    import numpy as np
    import torch

    from avarep import fashion_models as fm

    folder = SHARED_DATA / "fashion-mnist"
    if not folder.is_dir():
        pytest.skip(f"data not found: {folder}")
    features = np.random.default_rng(0).random((40, fm.Classifier.FEATURES))
    np.savez(tmp_path / "features.npz", val_features=features, test_features=features)
    torch.save(fm.Classifier().state_dict(), tmp_path / "classifier.pt")
    atomic.write_json(tmp_path / "manifest.json", {"data_sha256": "d"})
    budget = {"epochs": 1, "train_images": 40, "batch": 8, "dtype": "float32", "device": "cpu",
              "samples": 40}
    args = ["run", "--dir", str(folder), "--model", "real", "--lr", "none", "--seeds", "0",
            "--budget", json.dumps(budget), "--manifest", str(tmp_path / "manifest.json"),
            "--classifier", str(tmp_path / "classifier.pt"),
            "--features", str(tmp_path / "features.npz"),
            "--record", str(tmp_path / "run.json"), "--samples", str(tmp_path / "run.npy")]
    heavy = heavy_modules_loaded(SCRIPT.parent / "fashion.py", args)
    assert json.loads((tmp_path / "run.json").read_text())["model"] == "real"
    assert "torch" in heavy and "matplotlib" not in heavy and "pandas" not in heavy, heavy


def test_parsing_the_workflow_imports_neither_torch_nor_plotting(tmp_path):
    """Every run parses the Snakefile before its first job; torch's import alone took 4-5 s
    of that on a GPU machine. The Fashion-MNIST and robustness rules read their design
    modules (fashion_design, robustness), not the models or the study code."""
    probe = f"""
import atexit, json, runpy, sys
heavy = ("torch", "scipy", "matplotlib")
atexit.register(lambda: print("HEAVY" + json.dumps(sorted(n for n in heavy if n in sys.modules))))
sys.argv = ["snakemake", "-s", {str(REPO / "Snakefile")!r}, "-n", "--quiet", "--config",
            "dataset=synthetic"]
runpy.run_module("snakemake", run_name="__main__")
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    reported = [line for line in done.stdout.splitlines() if line.startswith("HEAVY")]
    assert reported == ["HEAVY[]"], done.stdout[-2000:]
