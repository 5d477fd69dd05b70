"""Provenance: the commit, config hash and Snakemake version of cells and runs, never fatal."""

import json
import os
import platform
import subprocess
import sys
import tarfile

import pytest

from avarep import cell, provenance
from conftest import REPO


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def tiny_repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "code.py").write_text("x = 1\n")
    git(repo, "add", "code.py")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    return repo


def test_a_clean_checkout_gives_its_head_and_no_modification(tiny_repo, tmp_path):
    state = provenance.git_state(tiny_repo, archive_file=tmp_path / "absent.txt")
    assert state["commit"] == git(tiny_repo, "rev-parse", "HEAD")
    assert state["modified"] is False and state["reason"] is None


def test_an_edited_file_marks_the_tree_modified_and_names_it(tiny_repo, tmp_path):
    (tiny_repo / "code.py").write_text("x = 2\n")
    state = provenance.git_state(tiny_repo, archive_file=tmp_path / "absent.txt")
    assert state["modified"] is True and state["modified_paths"] == ["code.py"]


def test_no_git_checkout_gives_null_and_a_reason_not_an_error(tmp_path):
    (tmp_path / "plain").mkdir()
    state = provenance.git_state(tmp_path / "plain", archive_file=tmp_path / "absent.txt")
    assert state["commit"] is None and state["modified"] is None
    assert "no git checkout" in state["reason"]


def test_a_subfolder_of_another_checkout_is_not_taken_for_the_code(tiny_repo, tmp_path):
    (tiny_repo / "venv").mkdir()
    state = provenance.git_state(tiny_repo / "venv", archive_file=tmp_path / "absent.txt")
    assert state["commit"] is None and "not the root" in state["reason"]


def test_git_archive_of_this_repository_carries_its_commit(tmp_path):
    """A tarball made by `git archive` has the commit written into archive_commit.txt."""
    try:
        head = git(REPO, "rev-parse", "HEAD")
    except subprocess.CalledProcessError:
        pytest.skip("not running from a git checkout")
    relative = provenance.ARCHIVE_COMMIT.relative_to(REPO)
    if git(REPO, "ls-tree", "HEAD", str(relative)) == "":
        pytest.skip("archive_commit.txt is not committed yet")
    tar = tmp_path / "code.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(tar), "HEAD", str(relative)], check=True)
    with tarfile.open(tar) as archive:
        archive.extractall(tmp_path / "x", filter="data")
    (tmp_path / "plain").mkdir()
    state = provenance.git_state(tmp_path / "plain", archive_file=tmp_path / "x" / relative)
    assert state["commit"] == head and state["modified"] is None
    assert "git archive" in state["reason"]


def test_the_unsubstituted_placeholder_is_not_a_commit(tmp_path):
    placeholder = tmp_path / "archive_commit.txt"
    placeholder.write_text("$Format:%H$\n")
    (tmp_path / "plain").mkdir()
    assert provenance.git_state(tmp_path / "plain", archive_file=placeholder)["commit"] is None


def test_config_hash_ignores_key_order_and_sees_every_value():
    a = {"seeds": [0, 1], "author_build": "2023-12", "strict": False}
    b = {"strict": False, "author_build": "2023-12", "seeds": [0, 1]}
    assert provenance.config_sha256(a) == provenance.config_sha256(b)
    assert provenance.config_sha256(a) != provenance.config_sha256({**a, "seeds": [0, 2]})


def test_cell_provenance_is_recorded_but_not_hashed(orbit_images, monkeypatch, tmp_path):
    """Another commit or config must not change the settings hash (no retraining); the
    record still carries both, and its checksum covers them."""
    kwargs = dict(dataset="t", protocol="author", model="VAE", lr=0.5, seeds=[0],
                  options={}, data_sha256="x")
    monkeypatch.setenv(provenance.CONFIG_HASH_ENV, "a" * 64)
    monkeypatch.setattr(provenance, "git_state", lambda: {"commit": "1" * 40, "modified": False,
                                                          "modified_paths": [], "reason": None})
    first, _ = cell.run_cell(orbit_images, **kwargs)
    monkeypatch.setenv(provenance.CONFIG_HASH_ENV, "b" * 64)
    monkeypatch.setattr(provenance, "git_state", lambda: {"commit": "2" * 40, "modified": True,
                                                          "modified_paths": ["x"], "reason": None})
    second, _ = cell.run_cell(orbit_images, **kwargs)
    assert first["settings_hash"] == second["settings_hash"]
    assert (first["provenance"]["commit"], second["provenance"]["commit"]) == ("1" * 40, "2" * 40)
    assert second["provenance"]["config_sha256"] == "b" * 64
    assert second["provenance"]["tree_modified"] is True
    assert second["provenance"]["host"] == platform.node()
    edited = dict(second, provenance={**second["provenance"], "commit": "3" * 40})
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    with pytest.raises(cell.CorruptRecord, match="checksum"):
        cell.read_record(tmp_path / "edited.json")


def test_outside_the_workflow_the_config_hash_is_null_with_a_reason(monkeypatch):
    monkeypatch.delenv(provenance.CONFIG_HASH_ENV, raising=False)
    monkeypatch.delenv(provenance.SNAKEMAKE_VERSION_ENV, raising=False)
    block = provenance.for_cell()
    assert block["config_sha256"] is None and "not run by the workflow" in block["config_sha256_reason"]
    assert block["snakemake"] is None and block["snakemake_reason"]


def test_a_finished_run_counts_its_jobs():
    start = provenance.run_record({"seeds": [0]}, started="2026-01-01T00:00:00+00:00",
                                  snakemake_version="9.0", planned_jobs={"train_cells": 4, "all": 1},
                                  targets=["all"])
    assert start["status"] == "running" and start["jobs"]["planned_total"] == 5
    done = provenance.finish_run(start, status="success", finished_jobs={"train_cells": 4, "all": 1})
    assert done["jobs"]["finished_total"] == 5 and done["finished"] >= done["started"]
    assert done["config_sha256"] == provenance.config_sha256({"seeds": [0]})


def test_job_counts_per_rule_and_a_dag_without_the_expected_attributes():
    from types import SimpleNamespace as NS

    jobs = [NS(rule="train_cells"), NS(rule="all"), NS(rule="train_cells")]
    assert provenance.job_counts(jobs) == {"all": 1, "train_cells": 2}
    start = provenance.run_record({}, started="2026-01-01T00:00:00+00:00", snakemake_version="9",
                                  planned_jobs={"all": 1}, targets=[])
    done = provenance.finished_record(start, "failed", NS(finished_jobs=jobs[:1]))
    assert done["status"] == "failed" and done["jobs"]["finished"] == {"train_cells": 1}
    moved = provenance.finished_record(start, "success", NS())  # Snakemake's internals changed
    assert moved["jobs"]["finished"] is None and "did not say" in moved["jobs"]["finished_reason"]
    assert provenance.dag_targets(NS()) == []


def test_a_runs_library_versions_are_the_imported_modules_versions():
    import numpy
    import pandas
    import scipy
    import torch

    versions = provenance.library_versions()
    assert versions["python"] == platform.python_version()
    assert {name: versions[name] for name in provenance.LIBRARIES} == {
        "numpy": numpy.__version__, "pandas": pandas.__version__,
        "scipy": scipy.__version__, "torch": torch.__version__}


def test_a_module_without_metadata_is_imported_for_its_version_and_a_missing_one_is_none(
        tmp_path, monkeypatch):
    (tmp_path / "handmade_lib").mkdir()
    (tmp_path / "handmade_lib" / "__init__.py").write_text('__version__ = "9.8.7"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "unversioned_lib.py").write_text("x = 1\n")
    assert provenance._installed_version("handmade_lib") == "9.8.7"
    assert provenance._installed_version("unversioned_lib") is None
    assert provenance._installed_version("no_such_library_anywhere") is None


def test_the_run_record_of_onstart_imports_no_heavy_library():
    """The onstart handler runs before the first job can start: importing torch, scipy and
    pandas there for their versions cost 1.5 s of every run (issue 13)."""
    probe = ("import json, sys\n"
             "from avarep import provenance\n"
             "provenance.run_record({}, started='2026-01-01T00:00:00+00:00', "
             "snakemake_version='9', planned_jobs={'all': 1}, targets=['all'])\n"
             "print(json.dumps(sorted(m for m in ('torch', 'scipy', 'pandas', 'matplotlib') "
             "if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
