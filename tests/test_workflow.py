"""The pipeline as a user runs it: dry run, lint, config errors, and a tiny end-to-end run."""

import csv
import json
import re
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_DATA

REAL = SHARED_DATA / "orbit-100x64"


def snakemake(*args, cwd, check=True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(cwd), *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def job_counts(output: str) -> dict[str, int]:
    """Parse Snakemake's 'Job stats' table."""
    table = output.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def scheduled_records(output: str) -> set[str]:
    """The cell records a dry run would write (one per protocol x model x learning rate)."""
    return set(re.findall(r"results/[\w.-]+/([\w-]+/cells/\w+/lr[0-9.e-]+)\.json", output))


def test_dry_run_schedules_266_cells_in_14_jobs_by_default(tmp_path):
    done = snakemake("-n", "--config", f"data_dir={REAL}", cwd=tmp_path)
    counts = job_counts(done.stdout)
    assert counts["train_cells"] == 2 * 7  # one job per protocol x model
    assert len(scheduled_records(done.stdout)) == 2 * 7 * 19
    assert counts["prepare_data"] == 1
    assert counts["compare"] == 1


def test_dry_run_of_one_protocol_schedules_133_cells(tmp_path):
    done = snakemake("-n", "--config", f"data_dir={REAL}", "protocols=[author]", cwd=tmp_path)
    counts = job_counts(done.stdout)
    assert counts["train_cells"] == 7
    records = scheduled_records(done.stdout)
    assert len(records) == 7 * 19 and {r.split("/")[0] for r in records} == {"author"}
    assert "compare" not in counts


def test_default_dataset_dry_run_downloads_nothing(tmp_path):
    done = snakemake("-n", cwd=tmp_path)
    assert job_counts(done.stdout)["train_cells"] == 14
    assert len(scheduled_records(done.stdout)) == 266
    assert not (tmp_path / "results").exists()


def test_readme_target_needs_the_main_run_only(tmp_path):
    done = snakemake("-n", "readme", cwd=tmp_path)
    counts = job_counts(done.stdout)
    assert counts["train_cells"] == 14  # the main grid; no fidelity reading
    assert "fidelity-" not in done.stdout
    fidelity = job_counts(snakemake("-n", "readme_fidelity", cwd=tmp_path).stdout)
    from avarep.readings import READINGS

    assert fidelity["train_cells"] == len(READINGS) * 7  # every reading of the study


def test_lint_passes(tmp_path):
    done = snakemake("--lint", "--config", f"data_dir={REAL}", cwd=tmp_path)
    assert "Congratulations, your workflow is in a good condition" in done.stdout + done.stderr


@pytest.mark.parametrize(
    "override, key",
    [
        ("models=[AVA9]", "models[0]"),
        ("protocols=[bogus]", "protocols[0]"),
        ("learning_rates=[1.5]", "learning_rates[0]"),
        ("learning_rates=[0]", "learning_rates[0]"),
        ("learning_rates=[abc]", "learning_rates[0]"),
        ("seeds=[]", "seeds"),
        ("seeds=[-1]", "seeds[0]"),
        ("dataset=nope", "dataset"),
        ("device=tpu", "device"),
        ("author_build=2025-01", "author_build"),
        ("strict=maybe", "strict"),
        ("learning_rates=[-0.1]", "learning_rates[0]"),
        ("learning_rates=[.nan]", "learning_rates[0]"),  # NaN slips past the schema's bounds
        ("learning_rates=[.inf]", "learning_rates[0]"),
        ("seeds=[true]", "seeds[0]"),
        ("seeds=[0,0]", "seeds"),
        ("seeds=[1.5]", "seeds[0]"),
        ("device=cuda:x", "device"),
        ("data_dir=", "data_dir"),  # empty: not a silent fall-back to downloading
    ],
)
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, override, key):
    done = snakemake("-n", "--config", override, cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert f"config key '{key}'" in done.stderr + done.stdout
    assert not (tmp_path / "results").exists()


def test_learning_rate_given_as_string_in_a_config_file_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text('learning_rates: ["0.1"]\n')
    done = snakemake("-n", "--configfile", str(bad), cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "config key 'learning_rates[0]'" in done.stderr + done.stdout


def test_every_accepted_learning_rate_is_scheduled_even_below_1e_4(tmp_path):
    rates = "learning_rates=[0.1,0.00005,1e-3,1.5e-7]"  # repr: 5e-05, 1.5e-07 (no dot)
    done = snakemake("-n", "--config", "dataset=synthetic", "protocols=[author]", "models=[VAE]",
                     rates, cwd=tmp_path)
    assert job_counts(done.stdout)["train_cells"] == 1
    for label in ("0.1", "5e-05", "0.001", "1.5e-07"):
        assert f"cells/VAE/lr{label}.json" in done.stdout


def test_unknown_config_key_is_named(tmp_path):
    done = snakemake("-n", "--config", "seed=[1]", cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "unknown config key(s): seed" in done.stderr + done.stdout


def test_missing_data_dir_is_reported_before_any_job(tmp_path):
    done = snakemake("-n", "--config", f"data_dir={tmp_path / 'nowhere'}", cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "nowhere" in done.stderr + done.stdout


TINY = ["dataset=synthetic", "models=[AVA1,AVA3,GAN]", "learning_rates=[0.5,0.05]", "seeds=[0,1]"]


@pytest.mark.slow
def test_tiny_end_to_end_run_produces_every_output(tmp_path):
    first = snakemake("--cores", "2", "--config", *TINY, cwd=tmp_path)
    base = tmp_path / "results" / "synthetic"
    assert_every_job_benchmarked_and_summed(first.stdout + first.stderr, base)
    assert (base / "manifest.json").is_file()
    out = base / "author"
    expected = [
        "bm.csv", "table1.csv", "table1.md", "table2.csv", "table2.md", "table3.csv",
        "table3.md", "figure5.png", "figure5.pdf", "check/cells.csv", "check/table3.csv",
        "check/claims.csv", "check/summary.md",
        *[f"figures/bm_vs_lr_{m}.png" for m in ("AVA1", "AVA3", "GAN")],
        *[f"cells/{m}/lr{lr}.{ext}" for m in ("AVA1", "AVA3", "GAN") for lr in ("0.5", "0.05") for ext in ("json", "png")],
        *[f"logs/cells/{m}.log" for m in ("AVA1", "AVA3", "GAN")],
        *[f"benchmarks/cells/{m}.tsv" for m in ("AVA1", "AVA3", "GAN")],
    ]
    missing = [name for name in expected if not (out / name).is_file()]
    assert not missing, missing
    record = json.loads((out / "cells" / "AVA1" / "lr0.5.json").read_text())
    assert record["seeds"] == [0, 1] and record["n_ok"] == 2
    bm_rows = (out / "bm.csv").read_text().strip().splitlines()
    assert len(bm_rows) == 1 + 3 * 2 * 2  # header + model x lr x seed

    # A second run has nothing to do: finished cells are never recomputed.
    again = snakemake("--cores", "2", "--config", *TINY, cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr

    # The report, asked for without --config, is the report of this run (its recorded settings).
    report = snakemake("--report", "report.html", cwd=tmp_path)
    assert "report: using the settings of the last run" in report.stderr
    assert "--config dataset=synthetic 'models=[AVA1,AVA3,GAN]'" in report.stderr
    assert (tmp_path / "report.html").stat().st_size > 100_000


def assert_every_job_benchmarked_and_summed(output: str, base):
    """Each job Snakemake ran left a benchmark file, and the run statistics count every one
    of them but the summary's own two (benchmarks_summary and report_summary read it)."""
    ran = {rule: n for rule, n in job_counts(output).items() if rule not in ("all", "total")}
    files = list(base.rglob("benchmarks/**/*.tsv"))
    on_disk = {}
    for path in files:
        rule = "train_cells" if path.parent.name == "cells" else path.stem
        on_disk[rule] = on_disk.get(rule, 0) + 1
    assert on_disk == ran
    with open(base / "benchmarks_summary.csv", newline="") as table:
        rows = list(csv.DictReader(table))  # one per (rule, protocol), then "all"
    by_rule = {}
    for row in rows[:-1]:
        by_rule[row["rule"]] = by_rule.get(row["rule"], 0) + int(row["jobs"])
    assert by_rule == {r: n for r, n in ran.items() if r not in ("benchmarks_summary", "report_summary")}
    assert rows[-1]["rule"] == "all" and int(rows[-1]["jobs"]) == len(files) - 2


def test_report_of_settings_never_run_says_what_to_pass(tmp_path):
    done = snakemake("--report", "report.html", cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "report: nothing was run under results/orbit-100x64/ with these settings" in done.stderr
    assert "--config <the same key=value as the run>" in done.stderr
    assert "Missing metadata" not in done.stderr + done.stdout


def write_frames(folder, count=4):
    """A few small frames of the synthetic set, copied into ``folder``."""
    from avarep.data import _synthetic_files

    folder.mkdir(parents=True)
    for name, data in list(_synthetic_files())[:count]:
        (folder / name).write_bytes(data)


@pytest.mark.slow
def test_paths_with_spaces_and_non_ascii_run_end_to_end(tmp_path):
    frames = tmp_path / "my frames é"
    write_frames(frames)
    work = tmp_path / "work dir ü"
    work.mkdir()
    grid = ["models=[VAE]", "learning_rates=[0.5]", "seeds=[0,1]"]
    snakemake("--cores", "2", "--config", f"data_dir={frames}", *grid, cwd=work)
    base = work / "results" / "my frames é"
    for name in ("author/check/summary.md", "paper/check/summary.md", "compare/summary.md",
                 "report/reproducibility_summary.html", "author/cells/VAE/lr0.5.png"):
        assert (base / name).is_file(), name
    folders = sorted(p.name for p in (work / "results").iterdir() if p.is_dir())
    assert folders == ["my frames é"]  # no stray "my"


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason=f"{REAL} not available")
def test_switching_between_local_copy_and_download_retrains_nothing(tmp_path):
    grid = ["protocols=[author]", "models=[VAE]", "learning_rates=[0.5]", "seeds=[0,1]"]
    snakemake("--cores", "2", "--config", f"data_dir={REAL}", *grid, cwd=tmp_path)
    mirror = f"download_base_url={REAL.as_uri()}/"  # the same bytes, downloaded
    again = snakemake("--cores", "2", "--config", mirror, *grid, cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr
    back = snakemake("--cores", "2", "--config", f"data_dir={REAL}", *grid, cwd=tmp_path)
    assert "Nothing to be done" in back.stdout + back.stderr


def test_readme_unlock_recipe_warns_that_no_other_run_may_be_alive():
    text = (REPO / "README.md").read_text()
    recipe = text[text.index("**Resuming after an interruption.**"):]
    recipe = recipe[: recipe.index("\n\n")]
    assert "`snakemake --unlock`" in recipe
    assert "Unlock only when no other Snakemake run on this\nfolder is alive" in recipe


def test_costliest_models_train_first(tmp_path):
    """Training jobs carry their cost as Snakemake priority (longest jobs first, so no long
    job starts last): the products with the wide matrices per step, hand-counted in
    avarep.limits (VAE 1 + 2, AVA1 1 + 3 + 2, AVA3 3 + 4, AVA5 3 + 4 + 2, GAN 3 + 2), times
    5 for a `paper` job, so that every `paper` job comes before every `author` job."""
    done = snakemake("-n", "--config", "dataset=synthetic", cwd=tmp_path)
    found = re.findall(r"rule train_cells:\n(?:    .*\n)*?    wildcards: protocol=(\w+), model=(\w+)\n"
                       r"(?:    .*\n)*?    priority: (\d+)", done.stdout)
    assert len(found) == 14
    expected = {"VAE": 3, "AVA1": 6, "AVA2": 6, "AVA3": 7, "AVA4": 7, "AVA5": 9, "GAN": 5}
    assert {(protocol, model): int(p) for protocol, model, p in found} == {
        (protocol, model): cost * {"author": 1, "paper": 5}[protocol]
        for protocol in ("author", "paper") for model, cost in expected.items()}


def job_priorities(output: str) -> dict[tuple[str, str], int]:
    """{(rule, wildcards): priority} of every job a dry run lists (0 where none is shown)."""
    found = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            priority = re.search(r"^    priority: (\d+)", block, re.M)
            wildcards = re.search(r"^    wildcards: (.*)", block, re.M)
            found[rule[1], wildcards[1] if wildcards else ""] = int(priority[1]) if priority else 0
    return found


def test_jobs_after_training_go_first_and_the_chain_before_the_leaves(tmp_path):
    """A protocol's aggregation, check, figures and report pages run while the other
    protocol's cells still train (above every training job), and at the end the jobs that
    others wait for go before the report's leaves, which nothing but the run statistics
    waits for."""
    jobs = job_priorities(snakemake("-n", "--config", "dataset=synthetic", cwd=tmp_path).stdout)
    of = lambda rule: {p for (r, _), p in jobs.items() if r == rule}  # noqa: E731
    training = of("train_cells")
    assert len(training) > 1
    after = [rule for rule, _ in jobs if rule not in ("prepare_data", "train_cells", "all")]
    assert set(after) >= {"aggregate", "check", "figures", "compare", "samples_grid",
                          "checklist", "report_summary"}
    assert all(min(of(rule)) > max(training) for rule in after)
    one = lambda rule: of(rule).pop() if len(of(rule)) == 1 else of(rule)  # noqa: E731
    assert one("aggregate") > one("check") == one("figures") > one("compare") > one("samples_grid")
    assert one("samples_grid") == one("checklist") == one("report_summary")

