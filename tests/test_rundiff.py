"""Comparing two runs: flags against hand-computed Welch tests, and two real runs that differ
in one setting, where the spec says which cells must move and which must not."""

import json
import math
import re
import subprocess
import sys

import pytest
from scipy import stats

from avarep import cell, rundiff
from conftest import REPO, SHARED_DATA

DIFF_RUNS = REPO / "workflow" / "scripts" / "diff_runs.py"


def write_cell(folder, model, lr, bms, run="author", settings=None):
    """A valid cell record whose ok seeds have the BM values ``bms`` (None = diverged)."""
    runs = [{"seed": s, "bm": bm, "status": "ok" if bm is not None else "diverged",
             "seconds": 0.1, "log": {}} for s, bm in enumerate(bms)]
    record = {"format": cell.FORMAT, "model": model, "lr": lr, "runs": runs,
              "settings": settings or {"options": {"author_build": "2023-12"}}}
    record["record_sha256"] = cell._checksum(record)
    path = folder / run / "cells" / model / f"lr{lr}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_welch_matches_the_hand_computation():
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]
    # means 2 and 5.5, variances 1 and 5/3: se² = 1/3 + 5/12 = 3/4
    t_hand = 3.5 / math.sqrt(0.75)
    df_hand = 0.75**2 / ((1 / 3) ** 2 / 2 + (5 / 12) ** 2 / 3)
    t, p = rundiff.welch(a, b)
    assert t == pytest.approx(t_hand, rel=1e-12)
    assert p == pytest.approx(2 * stats.t.sf(t_hand, df_hand), rel=1e-9)


def test_holm_matches_the_hand_computation():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, 2*0.03, max(0.06, 1*0.04)
    assert rundiff.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_flags_identical_noise_differs_untestable_and_missing(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_cell(a, "VAE", 0.5, [0.20, 0.21, 0.22])
    write_cell(b, "VAE", 0.5, [0.20, 0.21, 0.22])            # same numbers
    write_cell(a, "AVA1", 0.5, [0.200, 0.210, 0.220])
    write_cell(b, "AVA1", 0.5, [0.205, 0.215, 0.225])        # shift of half an SD
    write_cell(a, "GAN", 0.5, [0.200, 0.201, 0.202])
    write_cell(b, "GAN", 0.5, [0.300, 0.301, 0.302], settings={"options": {"author_build": "2024-06"}})
    write_cell(a, "AVA3", 0.5, [0.20, None, None])            # one ok seed only
    write_cell(b, "AVA3", 0.5, [0.25, 0.26, 0.27])
    write_cell(a, "AVA5", 0.5, [0.2, 0.2])
    frame = rundiff.diff(a, b).set_index("model")
    assert frame.loc["VAE", "flag"] == "identical"
    assert frame.loc["AVA1", "flag"] == "within noise"
    assert frame.loc["GAN", "flag"] == "differs"
    assert frame.loc["GAN", "delta"] == pytest.approx(0.1)
    assert frame.loc["GAN", "settings_differ"] == "options.author_build: 2023-12 → 2024-06"
    assert frame.loc["AVA3", "flag"] == "untestable" and frame.loc["AVA3", "a_excluded"] == 2
    assert frame.loc["AVA5", "flag"] == "only in A"
    # Holm over the two tested cells (AVA1, GAN): GAN's p doubled at most.
    _, p_gan = rundiff.welch([0.200, 0.201, 0.202], [0.300, 0.301, 0.302])
    assert frame.loc["GAN", "p_holm"] == pytest.approx(min(1, 2 * p_gan))


def test_zero_spread_on_both_sides_differs_only_when_the_means_do():
    assert rundiff.welch([0.2, 0.2], [0.2, 0.2]) == (0.0, 1.0)
    t, p = rundiff.welch([0.2, 0.2], [0.3, 0.3])
    assert t == math.inf and p == 0.0


def test_a_folder_without_cells_is_an_early_clear_error(tmp_path):
    done = subprocess.run([sys.executable, str(DIFF_RUNS), str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no cell records" in done.stderr and str(tmp_path) in done.stderr


def snakemake_run(folder, *config):
    data = SHARED_DATA / "orbit-100x64"
    if not data.is_dir():
        pytest.skip(f"data not found: {data}")
    folder.mkdir()
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
           str(folder), "--cores", "2", "--config", f"data_dir={data}", "protocols=[author]",
           "models=[VAE,GAN]", "learning_rates=[0.5]", "seeds=[0,1,2]", *config]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "results" / "orbit-100x64"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two tiny runs on the real frames that differ only in author_build."""
    base = tmp_path_factory.mktemp("runs")
    return snakemake_run(base / "a"), snakemake_run(base / "b", "author_build=2024-06")


@pytest.mark.slow
def test_two_real_runs_that_differ_in_author_build(two_runs, tmp_path):
    """Spec 5.6: the a′ convention only enters the adversarial term, so VAE (none) must be
    bit-identical across builds and GAN must move far beyond its seeds' spread."""
    a, b = two_runs
    out = tmp_path / "diff.md"
    done = subprocess.run([sys.executable, str(DIFF_RUNS), str(a), str(b), "--out", str(out),
                           "--fail-on-difference"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # something moved
    text = out.read_text()
    assert "2 cells — identical: 1, within noise: 0, differs: 1, untestable: 0" in text
    assert "`author_build: 2023-12 → 2024-06`" in text
    assert "| author | GAN | 0.5 |" in text and "| author | VAE |" not in text
    same = subprocess.run([sys.executable, str(DIFF_RUNS), str(a), str(a), "--fail-on-difference"],
                          capture_output=True, text=True)
    assert same.returncode == 0 and "identical: 2," in same.stdout


@pytest.mark.slow
def test_each_run_records_its_provenance_outcome_and_checklist(two_runs):
    a, b = two_runs
    run_a, run_b = (json.loads((x / "run.json").read_text()) for x in (a, b))
    assert run_a["status"] == "success" and run_a["jobs"]["finished"]["train_cells"] == 2
    assert run_b["config"]["author_build"] == "2024-06"
    assert run_a["config_sha256"] != run_b["config_sha256"]
    # the onstart handler's versions and GPUs, read without importing the libraries
    import numpy
    import torch

    assert run_a["versions"]["numpy"] == numpy.__version__
    assert run_a["versions"]["torch"] == torch.__version__
    assert run_a["machine"]["gpus"] == [torch.cuda.get_device_name(i)
                                        for i in range(torch.cuda.device_count())]
    record = cell.read_record(b / "author" / "cells" / "GAN" / "lr0.5.json")
    assert record["provenance"]["config_sha256"] == run_b["config_sha256"]
    assert record["provenance"]["commit"] == run_b["commit"]
    result = json.loads((b / "outcome.json").read_text())
    assert result["run"]["config_sha256"] == run_b["config_sha256"]
    claims = result["protocols"]["author"]["claims"]
    assert {c["outcome"] for c in claims} == {"not evaluated"}  # the claims need AVA1-AVA5
    page = (b / "report" / "checklist.md").read_text()
    assert "| GAN | — | 1942500 | 1920603 | — | 3863103 |" in page  # 3 x (10-100-6400 + 6400-100-1)
    assert "6 training runs: 6 ok" in page


SOURCE_FILE = re.compile(r"`([\w<>/{}.-]+\.(?:csv|json))`")


@pytest.mark.slow
def test_the_sources_sections_name_files_that_exist_and_numbers_that_trace(two_runs):
    """Every file a Sources table names exists, and a traced number recomputes from it."""
    import pandas as pd

    a, _ = two_runs
    summary = (a / "author" / "check" / "summary.md").read_text()
    front = (a / "report" / "reproducibility_summary.md").read_text()
    assert "## Sources" in summary and "## Sources" in front
    named = set(SOURCE_FILE.findall(summary.split("## Sources")[1]))
    named |= {n.replace("<protocol>", "author")
              for n in SOURCE_FILE.findall(front.split("## Sources")[1].replace("\\", ""))}
    named = {n for n in named if "<model>" not in n}  # a pattern, not a file
    assert {"author/check/cells.csv", "author/bm.csv", "manifest.json"} <= named
    assert [n for n in named if not (a / n).is_file()] == []
    cells = pd.read_csv(a / "author" / "check" / "cells.csv")
    traced = cells.loc[cells["published"].notna(), "abs_delta"].mean()
    headline = summary.split("## Headline")[1].split("\n")
    mean_line = next(line for line in headline if line.startswith("* Mean |Δ|"))
    assert f"**{traced:.4f}**" in mean_line


def test_holm_keeps_two_borderline_cells_within_noise(tmp_path):
    """Each cell alone would differ at 5% (p ≈ 0.033); corrected over two it does not."""
    a, b = tmp_path / "a", tmp_path / "b"
    for model in ("AVA1", "AVA2"):
        write_cell(a, model, 0.5, [0.2000, 0.2010, 0.2020])
        write_cell(b, model, 0.5, [0.2026, 0.2036, 0.2046])
    _, p = rundiff.welch([0.2000, 0.2010, 0.2020], [0.2026, 0.2036, 0.2046])
    assert 0.025 < p < 0.05 < 2 * p
    frame = rundiff.diff(a, b)
    assert list(frame["flag"]) == ["within noise", "within noise"]
    assert list(rundiff.diff(a, b, alpha=0.1)["flag"]) == ["differs", "differs"]
