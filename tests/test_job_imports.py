"""An ``author`` job never imports torch (issue 13: torch's import is most of a job's start-up).

The rule's entry point runs, as Snakemake runs it, in a fresh interpreter on a tiny synthetic
data set; the interpreter then reports which of the heavy libraries it had loaded.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from avarep import atomic, data

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "workflow" / "scripts" / "train_cells.py"

# Runs train_cells.main in this interpreter, then prints the heavy modules it loaded.
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


def heavy_modules_of_a_job(manifest, tmp_path, protocol):
    args = ["--manifest", str(manifest), "--dataset", "tiny", "--protocol", protocol,
            "--model", "AVA5", "--lrs", "0.5", "--seeds", "0",
            "--records", str(tmp_path / "cell.json"), "--strips", str(tmp_path / "cell.png")]
    probe = PROBE.format(script=str(SCRIPT), scripts=str(SCRIPT.parent), args=args)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "cell.json").read_text())["protocol"] == protocol
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_author_job_does_not_import_torch(manifest, tmp_path):
    assert heavy_modules_of_a_job(manifest, tmp_path, "author") == []


def test_the_probe_sees_torch_in_a_paper_job(manifest, tmp_path):
    """The same probe on a paper job: it would notice torch if an author job loaded it."""
    assert "torch" in heavy_modules_of_a_job(manifest, tmp_path, "paper")


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
