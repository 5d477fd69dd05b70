"""Provenance: which code, config and machine produced a cell or a run.

A cell record gets ``provenance`` (:func:`for_cell`): the git commit of the code that trained
it, whether the checkout was modified, the Snakemake version and the resolved config's hash.
None of these enter the cell's settings hash: a new commit that does not change the
settings (data, protocol, model, γ, seeds, options, ``avarep.__version__``) must not retrain
266 cells. A change that alters numbers bumps ``avarep.__version__`` (in the settings), and
``scripts/diff_runs.py`` shows whether a rerun after a commit changed anything.

Every field degrades to ``null`` with a ``..._reason`` instead of raising: code run from a
tarball, without git, or outside Snakemake still trains and records honestly.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from . import cuda

#: The checkout this package belongs to (workflow/avarep/provenance.py -> repository root).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: `git archive` writes the commit into this file (export-subst in .gitattributes).
ARCHIVE_COMMIT = Path(__file__).resolve().parent / "resources" / "archive_commit.txt"
#: Set by the workflow (rules/provenance.smk) for every job it starts.
CONFIG_HASH_ENV = "AVAREP_CONFIG_SHA256"
SNAKEMAKE_VERSION_ENV = "AVAREP_SNAKEMAKE_VERSION"
#: At most this many modified paths are listed (the flag says the rest).
MAX_LISTED_PATHS = 20
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def _git(repo: Path, *args: str) -> str:
    """stdout of a git command in ``repo``; raises RuntimeError with git's reason."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=30, check=False)
    except FileNotFoundError:
        raise RuntimeError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError("git did not answer within 30 s") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"git {args[0]} failed: {reason}")
    return done.stdout


def _archive_commit(archive_file: Path) -> str | None:
    """The commit `git archive` substituted into ``archive_file``, if it did."""
    try:
        text = archive_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if _SHA1.match(text) else None


def git_state(repo: Path = REPO_ROOT, archive_file: Path = ARCHIVE_COMMIT) -> dict:
    """{"commit", "modified", "modified_paths", "reason"}; commit/modified null when unknown."""
    state = {"commit": None, "modified": None, "modified_paths": [], "reason": None}
    try:
        top = Path(_git(repo, "rev-parse", "--show-toplevel").strip()).resolve()
        if top != Path(repo).resolve():  # e.g. installed into a venv inside some other repo
            raise RuntimeError(f"the code at {repo} is not the root of a git checkout")
        state["commit"] = _git(repo, "rev-parse", "HEAD").strip()
        changed = [line[3:] for line in _git(repo, "status", "--porcelain").splitlines() if line]
    except RuntimeError as exc:
        archived = _archive_commit(archive_file)
        if archived:
            state.update(commit=archived, reason="from a `git archive` of this commit; "
                         "local modifications cannot be detected")
        else:
            state["reason"] = f"no git checkout ({exc}); e.g. run from a tarball"
        return state
    state["modified"] = bool(changed)
    state["modified_paths"] = changed[:MAX_LISTED_PATHS]
    return state


def config_sha256(config: dict) -> str:
    """SHA-256 of the resolved config as canonical JSON (key order does not matter)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _from_env(name: str, what: str) -> dict:
    value = os.environ.get(name)
    return {what: value, f"{what}_reason": None if value else f"not run by the workflow (${name} unset)"}


def for_cell() -> dict:
    """The provenance block of one cell record (called in the training job)."""
    git = git_state()
    return {
        "commit": git["commit"],
        "tree_modified": git["modified"],
        "modified_paths": git["modified_paths"],
        "commit_reason": git["reason"],
        **_from_env(SNAKEMAKE_VERSION_ENV, "snakemake"),
        **_from_env(CONFIG_HASH_ENV, "config_sha256"),
        # On a cluster the cells run elsewhere than run.json's machine: name each one's host.
        "host": platform.node(),
        "cpu": _cpu_model(),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine() -> dict:
    """What a reader needs to compare timings: CPU, cores, memory, OS, the GPUs torch would use."""
    summary = {"hostname": platform.node(), "os": platform.platform(), "cpu": _cpu_model(),
               "cpu_count": os.cpu_count(), "memory_gib": _memory_gib(), "gpus": []}
    try:  # without importing torch where avarep.cuda can (1.5-5 s before the first job)
        summary["gpus"] = cuda.device_names()
    except Exception as exc:  # noqa: BLE001 - a broken CUDA install must not stop a run
        summary["gpus_reason"] = f"the GPUs could not be listed ({exc})"
    return summary


#: The libraries whose versions a run records, by distribution name.
LIBRARIES = ("numpy", "pandas", "scipy", "torch")


def library_versions() -> dict:
    """The installed versions of :data:`LIBRARIES` (``None`` if one is absent).

    Read from the installed packages' metadata, not by importing them: this runs in the
    workflow's onstart handler, before the first job can start, and importing torch, scipy
    and pandas there cost 1.5 s of every run. A package importable without metadata (a copy
    put on sys.path by hand) is imported instead.
    """
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        found[name] = _installed_version(name)
    from . import __version__

    found["avarep"] = __version__
    return found


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
    try:
        return getattr(__import__(name), "__version__", None)
    except ImportError:
        return None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_record(config: dict, *, started: str, snakemake_version: str,
               planned_jobs: dict, targets: list[str]) -> dict:
    """run.json at the start of a run; :func:`finish_run` completes it."""
    git = git_state()
    return {
        "format": 1,
        "status": "running",
        "started": started,
        "finished": None,
        "targets": list(targets),
        "config": config,
        "config_sha256": config_sha256(config),
        "commit": git["commit"],
        "tree_modified": git["modified"],
        "modified_paths": git["modified_paths"],
        "commit_reason": git["reason"],
        "versions": {**library_versions(), "snakemake": snakemake_version},
        "machine": machine(),
        "jobs": {"planned": planned_jobs, "planned_total": sum(planned_jobs.values()),
                 "finished": None, "finished_total": None},
    }


def finish_run(record: dict, *, status: str, finished_jobs: dict | None,
               finished_jobs_reason: str | None = None) -> dict:
    done = dict(record, status=status, finished=now())
    jobs = dict(record.get("jobs", {}), finished=finished_jobs,
                finished_total=None if finished_jobs is None else sum(finished_jobs.values()))
    if finished_jobs_reason:
        jobs["finished_reason"] = finished_jobs_reason
    done["jobs"] = jobs
    return done


# --- helpers of the workflow's onstart/onsuccess/onerror handlers (rules/provenance.smk)


def job_counts(jobs) -> dict[str, int]:
    """Jobs per rule name, sorted by name."""
    counts: dict[str, int] = {}
    for job in jobs:
        counts[str(job.rule)] = counts.get(str(job.rule), 0) + 1
    return dict(sorted(counts.items()))


def dag_targets(dag) -> list[str]:
    """The rules and files the run was asked for ([] if Snakemake's internals moved)."""
    try:
        return sorted(map(str, dag.targetrules)) + sorted(map(str, dag.targetfiles))
    except AttributeError:
        return []


def finished_record(record: dict, status: str, dag) -> dict:
    """run.json at the end of a run: the jobs Snakemake finished, per rule."""
    try:
        return finish_run(record, status=status, finished_jobs=job_counts(dag.finished_jobs))
    except AttributeError as exc:  # Snakemake's internals moved: say so, do not fail the run
        return finish_run(record, status=status, finished_jobs=None,
                          finished_jobs_reason=f"Snakemake's DAG did not say ({exc})")
