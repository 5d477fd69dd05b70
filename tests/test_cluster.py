"""A tiny grid through a real cluster executor plugin gives the local run's numbers bit for bit.

snakemake-executor-plugin-cluster-generic submits every train_cells job with a submit command;
here that command starts the job script as a separate background process on this machine
and prints its process id as the job id, as a batch system's `sbatch --parsable` would.
"""

import json
import re
import stat

import pytest

from conftest import REPO
from test_workflow import TINY, snakemake

pytest.importorskip("snakemake_executor_plugin_cluster_generic")

SUBMIT = """#!/bin/bash
# Usage: submit.sh JOBSCRIPT; prints a job id. The job runs detached, like a batch job.
jobscript="${@: -1}"
nohup bash "$jobscript" > "$jobscript.out" 2>&1 < /dev/null &
echo "$!"
"""


def cell_bms(root):
    """{record path: [bm of each seed]}: the numbers of every cell, without its timings."""
    found = {}
    for path in sorted((root / "results").glob("*/*/cells/*/*.json")):
        found[str(path.relative_to(root))] = [run["bm"] for run in json.loads(path.read_text())["runs"]]
    return found


@pytest.mark.slow
def test_cluster_executor_matches_local_run_bit_for_bit(tmp_path):
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    local.mkdir()
    cluster.mkdir()
    submit = tmp_path / "submit.sh"
    submit.write_text(SUBMIT)
    submit.chmod(submit.stat().st_mode | stat.S_IXUSR)
    # Only what the cells feed (bm.csv): every train_cells job goes through the executor,
    # prepare_data and aggregate are localrules.
    grid = ["--config", *TINY, "protocols=[author]", "--", "results/synthetic/author/bm.csv"]

    snakemake("--cores", "2", *grid, cwd=local)
    done = snakemake(
        "--executor", "cluster-generic", "--cluster-generic-submit-cmd", str(submit),
        "--jobs", "6", "--local-cores", "1", "--latency-wait", "10",
        "--max-status-checks-per-second", "10", *grid, cwd=cluster,
    )
    output = done.stdout + done.stderr
    assert output.count("Submitted job") == 3, output  # every model's job went through the executor

    base = "results/synthetic/author"
    assert (cluster / base / "bm.csv").read_bytes() == (local / base / "bm.csv").read_bytes()
    bms = cell_bms(cluster)
    assert len(bms) == 6 and bms == cell_bms(local)
    for name in bms:  # the job really ran as its own process with the rule's threads
        assert json.loads((cluster / name).read_text())["threads"] == 1


RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def rules():
    """{rule name: body} of every rule of the workflow (text of its indented block)."""
    found = {}
    for path in RULE_FILES:
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), re.M):
            found[match[1]] = match[2]
    return found


def local_rules():
    names = set()
    for path in RULE_FILES:
        for block in re.findall(r"^localrules:\n((?:    .*\n)*)", path.read_text(), re.M):
            names |= set(re.findall(r"(\w+),?", block))
    return names


def test_every_job_rule_declares_threads_resources_log_and_benchmark():
    """Cluster-ready: a batch system needs cores, memory and time for each job, and a log;
    and every job leaves a benchmark file (the run statistics)."""
    found = rules()
    assert "train_cells" in found
    for name, body in found.items():
        if not re.search(r"^    output:", body, re.M):
            continue  # a target-only rule (all, fidelity, ...) runs nothing
        assert re.search(r"^    threads:", body, re.M), f"rule {name}: no threads"
        assert re.search(r"^    log:", body, re.M), f"rule {name}: no log"
        assert re.search(r"^    benchmark:", body, re.M), f"rule {name}: no benchmark"
        resources = re.search(r"^    resources:\n((?:        .*\n)*)", body, re.M)
        assert resources, f"rule {name}: no resources"
        for key in ("mem_mb", "runtime"):
            assert re.search(rf"^        {key}=", resources[1], re.M), f"rule {name}: no {key}"
    assert re.search(r"^        gpu=", found["train_cells"], re.M)  # a GPU for cuda cells only


def test_only_training_goes_to_the_cluster():
    local = local_rules()
    assert {"prepare_data", "aggregate", "check", "compare"} <= local
    assert "train_cells" not in local


@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_profiles_load(tmp_path, profile):
    if profile == "slurm":
        pytest.importorskip("snakemake_executor_plugin_slurm")
    option = "--workflow-profile" if profile == "default" else "--profile"
    done = snakemake("-n", option, str(REPO / "workflow" / "profiles" / profile), "--config", *TINY,
                     "protocols=[author]", cwd=tmp_path)
    assert "train_cells" in done.stdout and "This was a dry-run" in done.stdout
