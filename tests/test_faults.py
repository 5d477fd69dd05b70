"""Faults: kill -9 and resume, corrupt records, a second run on a locked directory, bad
configuration, a full disk or unwritable folder, the device check, threads per job, and the
benchmark history. Every test here runs in CI (2 cores, each well under a minute)."""

import csv
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, SHARED_DATA
from test_workflow import snakemake

SCRIPTS = REPO / "workflow" / "scripts"
DEFAULT_PROFILE = REPO / "workflow" / "profiles" / "default"

# Six cells of 15 seeds each: a run takes several seconds, long enough to be killed mid-way.
GRID = [
    "dataset=synthetic",
    "protocols=[author]",
    "models=[AVA1,AVA3,GAN]",
    "learning_rates=[0.5,0.05]",
    "seeds=[" + ",".join(str(s) for s in range(15)) + "]",
]
MODELS = ("AVA1", "AVA3", "GAN")
CELLS = [(m, lr) for m in MODELS for lr in ("0.5", "0.05")]
BASE = "results/synthetic/author"
# The check downstream of bm.csv, not the default target: enough for these tests.
TARGET = ["--", f"{BASE}/check/summary.md"]


def snakemake_command(cwd, *args):
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(cwd), *args]


def record_path(root, model, lr):
    return root / BASE / "cells" / model / f"lr{lr}.json"


def records(root):
    """{(model, lr): (mtime_ns, bytes)} of the cell records that exist."""
    found = {}
    for model, lr in CELLS:
        path = record_path(root, model, lr)
        if path.exists():
            found[(model, lr)] = (path.stat().st_mtime_ns, path.read_bytes())
    return found


def trained_models(output):
    """The model of every train_cells job (one job per model) in Snakemake's output."""
    return set(re.findall(r"rule train_cells:\n(?:    .*\n)*?    wildcards: protocol=\w+, model=(\w+)", output))


def complete_models(found):
    """The models all of whose cells have a record in ``found`` (see :func:`records`)."""
    return {m for m in MODELS if all(cell in found for cell in CELLS if cell[0] == m)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of GRID (every output): the results every faulty run must end up with."""
    root = tmp_path_factory.mktemp("reference")
    snakemake("--cores", "2", "--config", *GRID, cwd=root)
    return root


def test_kill_9_then_resume_redoes_only_the_interrupted_job(tmp_path, reference):
    log = open(tmp_path / "killed.log", "w")
    run = subprocess.Popen(
        snakemake_command(tmp_path, "--cores", "1", "--config", *GRID, *TARGET),
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    try:
        while True:  # one job (a model's two cells) finished and a second one started
            done = complete_models(records(tmp_path))
            started = {os.path.basename(p).removesuffix(".log")
                       for p in glob.glob(str(tmp_path / BASE / "logs/cells/*.log"))}
            if done and started - done:
                break
            assert run.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "no cell finished in time"
            time.sleep(0.02)
        time.sleep(0.2)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    finished = records(tmp_path)
    interrupted = started - complete_models(finished)
    assert interrupted and len(finished) < len(CELLS)
    # A temporary file that a killed write would leave must never count as a result.
    model, lr = sorted(interrupted)[0], "0.05"
    leftover = record_path(tmp_path, model, lr).with_name(f".lr{lr}.json.killed.tmp")
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_text('{"format": 1, "runs": [')

    # kill -9 leaves Snakemake's lock behind: the documented resume is --unlock, then the
    # same command with the default profile (rerun-incomplete).
    locked = snakemake("--cores", "1", "--config", *GRID, *TARGET, cwd=tmp_path, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake("--unlock", "--config", *GRID, *TARGET, cwd=tmp_path)
    resumed = snakemake("--workflow-profile", str(DEFAULT_PROFILE), "--cores", "2", "--config", *GRID, *TARGET, cwd=tmp_path)

    redone = trained_models(resumed.stdout + resumed.stderr)
    assert interrupted <= redone
    assert not redone & complete_models(finished), "a finished job was rerun"
    after = records(tmp_path)
    for cell, state in finished.items():
        if cell[0] not in interrupted:
            assert after[cell] == state, f"finished cell {cell} was rewritten"
    assert set(after) == set(CELLS)
    assert (tmp_path / BASE / "bm.csv").read_bytes() == (reference / BASE / "bm.csv").read_bytes()


def test_corrupt_records_are_moved_aside_and_rebuilt_never_aggregated(tmp_path, reference):
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    before = records(tmp_path)
    edited = record_path(tmp_path, "AVA3", "0.05")
    record = json.loads(edited.read_text())
    record["runs"][0]["bm"] = 0.5  # a hand edit that keeps the JSON valid
    edited.write_text(json.dumps(record, indent=2))
    truncated = record_path(tmp_path, "GAN", "0.5")
    truncated.write_bytes(truncated.read_bytes()[:200])

    # The default target (rule all), as a user reruns: Snakemake does not rebuild a missing
    # file whose consumers are up to date, so the hook also removes the run's stale bm.csv.
    done = snakemake("--cores", "2", "--config", *GRID, cwd=tmp_path)
    output = done.stdout + done.stderr
    for path in (edited, truncated):
        assert f"corrupt cell record {path.relative_to(tmp_path)}" in output
        assert path.with_name(path.name + ".corrupt").is_file()  # the evidence is kept
        rebuilt = json.loads(path.read_text())["runs"]
        original = json.loads(record_path(reference, *path_cell(path)).read_text())["runs"]
        assert [r["bm"] for r in rebuilt] == [r["bm"] for r in original]
    # A job is a model's cells: the two corrupt records rerun their models' jobs, no other.
    assert trained_models(output) == {"AVA3", "GAN"}
    after = records(tmp_path)
    for cell in CELLS:
        if cell[0] == "AVA1":
            assert after[cell] == before[cell]
        else:
            rerun, original = (json.loads(state[1])["runs"] for state in (after[cell], before[cell]))
            assert [r["bm"] for r in rerun] == [r["bm"] for r in original]
    assert (tmp_path / BASE / "bm.csv").read_bytes() == (reference / BASE / "bm.csv").read_bytes()


def path_cell(path):
    return path.parent.name, path.stem.removeprefix("lr")


def test_second_run_on_a_locked_directory_is_refused_and_the_first_finishes(tmp_path, reference):
    # 3 models x 8 rates x 25 seeds on one core: the first run holds the lock well past the
    # second's start-up.
    longer = [*GRID[:3], "learning_rates=[0.5,0.05,0.2,0.02,0.1,0.01,0.3,0.03]",
              "seeds=[" + ",".join(str(s) for s in range(25)) + "]"]
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(
        snakemake_command(tmp_path, "--cores", "1", "--config", *longer, *TARGET),
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (glob.glob(str(tmp_path / ".snakemake/locks/*")) and records(tmp_path)):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never locked"
            time.sleep(0.02)
        # --rerun-incomplete: Snakemake checks for incomplete files before it takes the lock,
        # so without it the second run may be refused for the first run's job in flight
        # instead; with it, the lock is the only thing left to stop the second run.
        second = snakemake(
            "--cores", "1", "--rerun-incomplete", "--config", *longer, *TARGET,
            cwd=tmp_path, check=False,
        )
        assert first.poll() is None, "the first run ended before the second one was refused"
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    rows = set((tmp_path / BASE / "bm.csv").read_text().splitlines())
    assert len(rows) == 1 + 3 * 8 * 25
    assert set((reference / BASE / "bm.csv").read_text().splitlines()) <= rows
    assert not glob.glob(str(tmp_path / ".snakemake/locks/*"))


def test_cuda_on_a_machine_without_it_fails_before_any_job(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = snakemake("-n", "--config", "device=cuda", "protocols=[paper]", cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "config key 'device'" in done.stdout + done.stderr
    assert "no CUDA device" in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()


def test_gpu_resource_only_for_cuda_cells(tmp_path):
    """train_cells asks a cluster for a GPU only when the cells run on CUDA (dry run, CPU here)."""
    done = snakemake("-n", "--config", "dataset=synthetic", "protocols=[author]", "models=[AVA1]",
                     "learning_rates=[0.5]", "seeds=[0]", cwd=tmp_path)
    block = done.stdout.split("rule train_cells:")[1].split("\n\n")[0]
    assert re.search(r"resources: .*\bgpu=0\b", block), block


def test_record_threads_follow_the_rule_threads(tmp_path):
    snakemake("--cores", "2", "--set-threads", "train_cells=2", "--config", "dataset=synthetic",
              "protocols=[author,paper]", "models=[AVA1]", "learning_rates=[0.5]", "seeds=[0]", "--",
              *[f"results/synthetic/{p}/cells/AVA1/lr0.5.json" for p in ("author", "paper")], cwd=tmp_path)
    for protocol in ("author", "paper"):
        cell = tmp_path / f"results/synthetic/{protocol}/cells/AVA1/lr0.5.json"
        assert json.loads(cell.read_text())["threads"] == 2
    paper = json.loads((tmp_path / "results/synthetic/paper/cells/AVA1/lr0.5.json").read_text())
    assert paper["options"]["threads"] == 2  # what torch.set_num_threads is given


# --- a full disk or an unwritable results folder -------------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    subprocess.run(
        [sys.executable, SCRIPTS / "prepare_data.py", "--dataset", "synthetic", "--root", root / "results",
         "--manifest", root / "manifest.json"], check=True, capture_output=True,
    )
    return root / "manifest.json"


def train_cells(manifest, records, strips, lrs=("0.5",), limit=None, protocol="author",
                seeds=("0",)):
    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, SCRIPTS / "train_cells.py", "--manifest", manifest, "--dataset", "synthetic",
         "--protocol", protocol, "--model", "AVA1", "--lrs", *lrs, "--seeds", *seeds,
         "--records", *records, "--strips", *strips],
        capture_output=True, text=True, preexec_fn=small_disk if limit else None,
    )


def train_cell(manifest, record, strip, limit=None):
    return train_cells(manifest, [record], [strip], limit=limit)


def test_full_disk_fails_the_job_cleanly(tmp_path, manifest):
    out = tmp_path / "cells"
    done = train_cell(manifest, out / "lr0.5.json", out / "lr0.5.png", limit=1000)
    assert done.returncode == 1
    assert re.search(r"error: cannot write \S+lr0\.5\.png: File too large", done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    assert list(out.iterdir()) == []  # no record, no strip, no .tmp


def test_unwritable_record_folder_fails_the_job_and_leaves_no_strip(tmp_path, manifest):
    (tmp_path / "blocked").write_text("a file where a folder should be\n")
    strip = tmp_path / "strips" / "lr0.5.png"
    done = train_cell(manifest, tmp_path / "blocked" / "lr0.5.json", strip)
    assert done.returncode == 1
    assert "error: cannot write " + str(tmp_path / "blocked" / "lr0.5.json") in done.stderr
    assert "Traceback" not in done.stderr
    assert list(strip.parent.iterdir()) == []  # the strip of an unfinished cell is removed


def test_writes_that_fit_succeed(tmp_path, manifest):
    out = tmp_path / "cells"
    done = train_cell(manifest, out / "lr0.5.json", out / "lr0.5.png", limit=10_000_000)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["lr0.5.json", "lr0.5.png"]


# --- one job, several cells -------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["author", "paper"])
def test_a_cell_trained_beside_others_equals_the_cell_trained_alone(tmp_path, manifest, protocol):
    """A job trains a model's cells in one interpreter: nothing may leak from one cell into
    the next (random streams, thread pools, cached state)."""
    together, alone = tmp_path / "together", tmp_path / "alone"
    lrs, seeds = ("0.5", "0.05"), ("0", "1")
    done = train_cells(manifest, [together / f"lr{lr}.json" for lr in lrs],
                       [together / f"lr{lr}.png" for lr in lrs], lrs=lrs, protocol=protocol, seeds=seeds)
    assert done.returncode == 0, done.stderr
    done = train_cells(manifest, [alone / "lr0.05.json"], [alone / "lr0.05.png"], lrs=("0.05",),
                       protocol=protocol, seeds=seeds)
    assert done.returncode == 0, done.stderr
    first, second = (json.loads((folder / "lr0.05.json").read_text())["runs"] for folder in (together, alone))
    assert [r["bm"] for r in first] == [r["bm"] for r in second]
    assert [r["health"] for r in first] == [r["health"] for r in second]
    assert (together / "lr0.05.png").read_bytes() == (alone / "lr0.05.png").read_bytes()


def test_a_job_with_fewer_records_than_learning_rates_is_refused(tmp_path, manifest):
    done = train_cells(manifest, [tmp_path / "lr0.5.json"], [tmp_path / "lr0.5.png"], lrs=("0.5", "0.05"))
    assert done.returncode == 2
    assert "--lrs, --records and --strips must have one entry per cell, got 2, 1 and 1" in done.stderr
    assert list(tmp_path.iterdir()) == []


# --- benchmark history ----------------------------------------------------------------------


def test_benchmark_appends_one_history_line_per_run(tmp_path):
    command = [sys.executable, SCRIPTS / "benchmark.py", "--data-dir", SHARED_DATA / "orbit-100x64",
               "--seeds", "1", "--paper-seeds", "1", "--bandwidth-mb", "64", "--startup-repeats", "1",
               "--out", tmp_path]
    for _ in range(2):
        subprocess.run(command, check=True, capture_output=True, cwd=tmp_path)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 3
    rows = list(csv.DictReader(lines))
    assert list(rows[0])[:6] == OLD_HISTORY_COLUMNS  # older files stay readable
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row["when"])
        assert float(row["mean_cell_seconds"]) > 0 and float(row["peak_rss_mb"]) > 0
        assert row["full_wall_seconds"] == row["jobs_per_minute"] == row["full_protocols"] == ""
        assert row["device"] == "cpu"  # the paper protocol's (--device)
        for protocol in ("author", "paper"):
            for key in ("seconds_per_seed", "limit_seconds_per_seed", "startup_seconds"):
                assert float(row[f"{protocol}_{key}"]) > 0


OLD_HISTORY_COLUMNS = ["when", "machine", "mean_cell_seconds", "full_wall_seconds",
                       "jobs_per_minute", "peak_rss_mb"]


def test_a_history_of_the_old_format_gains_columns_and_keeps_its_rows(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import benchmark

    history = tmp_path / "history.csv"
    history.write_text(",".join(OLD_HISTORY_COLUMNS) + "\n2025-01-02T03:04:05,old,0.7,457.0,35.0,300\n")
    benchmark.append_history(history, {"when": "2026-01-01T00:00:00", "machine": "new",
                                       "mean_cell_seconds": "0.5", "author_seconds_per_seed": "0.1"})
    rows = list(csv.DictReader(history.read_text().splitlines()))
    assert list(rows[0]) == benchmark.HISTORY_COLUMNS
    assert [rows[0][c] for c in OLD_HISTORY_COLUMNS] == ["2025-01-02T03:04:05", "old", "0.7",
                                                        "457.0", "35.0", "300"]
    assert rows[0]["author_seconds_per_seed"] == "" and rows[1]["author_seconds_per_seed"] == "0.1"
    assert rows[1]["machine"] == "new" and rows[1]["full_wall_seconds"] == ""


def test_a_full_run_fills_the_history_columns_of_the_full_run(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import benchmark

    cells = [{"protocol": p, "seconds_per_seed": s, "limit_seconds_per_seed": s / 2}
             for p, s in (("author", 0.1), ("author", 0.3), ("paper", 0.5))]
    full = {"protocols": ["author", "paper"], "cells": 266, "wall_seconds": 369.44, "cores": 2,
            "jobs_per_minute": 43.21, "jobs": 14, "mean_job_seconds": 46.5,
            "mean_job_overhead_seconds": 4.25}
    result = {"when": "2026-11-30T10:00:00", "machine": "m", "mean_cell_seconds": 1.0,
              "peak_rss_mb": 512.4, "cells": cells, "startup_seconds": {"author": 0.21, "paper": 1.8},
              "full": full}
    line = benchmark.history_line(result)
    assert list(line) == benchmark.HISTORY_COLUMNS
    assert (line["full_wall_seconds"], line["jobs_per_minute"], line["full_protocols"]) == (
        "369.4", "43.2", "author paper")
    assert (line["author_seconds_per_seed"], line["author_limit_seconds_per_seed"]) == ("0.2000", "0.1000")
    assert line["paper_startup_seconds"] == "1.800" and line["peak_rss_mb"] == "512"
    assert line["device"] == "cpu"  # a result written before --device existed
    benchmark.print_full(full)
    assert "266 cells in 369.4 s with --cores 2 (43 cells/min); 14 training jobs" in capsys.readouterr().out


# --- errors a user must see on the terminal, in one line -------------------------------------


@pytest.mark.parametrize("blocker", ["results", "results/synthetic"])
def test_unwritable_results_folder_is_one_clear_line(tmp_path, blocker):
    (tmp_path / blocker).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocker).write_text("a file where a folder should be\n")
    done = snakemake("--cores", "1", "--config", *GRID, cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert f"error: cannot write results/synthetic: {tmp_path / blocker} is a file, not a folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_cell_s_error_reaches_the_terminal(tmp_path):
    snakemake("--cores", "1", "--config", *GRID, "--", "results/synthetic/manifest.json", cwd=tmp_path)
    shutil.rmtree(tmp_path / "results" / "synthetic" / "images")  # cells cannot read the images
    done = snakemake("--cores", "1", "--config", *GRID, "--", f"{BASE}/cells/AVA1/lr0.5.json",
                     cwd=tmp_path, check=False)
    assert done.returncode != 0
    images = (tmp_path / "results" / "synthetic" / "images").resolve()
    assert f"error: image folder {images} does not exist" in done.stderr
