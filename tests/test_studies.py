"""The fidelity and verdict studies: the table on hand-made frames, and both targets end to end.

The end-to-end test runs one tiny synthetic grid (AVA1 and VAE, two learning rates, two
seeds) under every reading, the main ``author`` run and the verdict study, then checks the
study outputs against numbers recomputed independently from the runs' own bm.csv files.
"""

import itertools
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from avarep import studies
from avarep.readings import READINGS

COLUMNS = ["reading", "model", "mean_abs_delta", "max_abs_delta", "inside", "cells",
           "table3_mean_delta", "table3_maximum_delta", "table3_minimum_delta", "table3_sd_delta"]


# =========================================================================================
# fidelity_table on hand-made check frames
# =========================================================================================


def cells_frame(rows):
    """rows: (model, lr, ours_mean, published, inside) -> a frame shaped like check/cells.csv."""
    frame = pd.DataFrame(rows, columns=["model", "lr", "ours_mean", "published", "inside"])
    frame.insert(0, "table", np.where(frame["lr"] >= 0.1, 1, 2))
    frame["abs_delta"] = (frame["ours_mean"] - frame["published"]).abs()
    return frame


def table3_frame(rows):
    return pd.DataFrame(rows, columns=["statistic", "model", "ours", "published"])


@pytest.fixture
def hand_made():
    nan = float("nan")
    cells = {
        "2023-12": cells_frame([
            ("VAE", 0.5, 0.060, 0.070, False),   # |d| 0.010
            ("VAE", 0.1, 0.104, 0.100, True),    # |d| 0.004
            ("VAE", 0.05, 0.081, 0.080, True),   # |d| 0.001
            ("AVA1", 0.5, 0.232, 0.230, True),   # |d| 0.002
            ("AVA1", 0.1, 0.215, 0.210, False),  # |d| 0.005
            ("AVA1", 0.05, 0.170, nan, None),    # not published: not judged
        ]),
        "2024-06": cells_frame([
            ("VAE", 0.5, 0.060, 0.070, False),
            ("VAE", 0.1, 0.104, 0.100, True),
            ("VAE", 0.05, 0.081, 0.080, True),
            ("AVA1", 0.5, 0.200, 0.230, False),  # |d| 0.030
            ("AVA1", 0.1, 0.230, 0.210, False),  # |d| 0.020
            ("AVA1", 0.05, 0.170, nan, None),
        ]),
    }
    t3 = table3_frame([
        ("Mean", "AVA1", 0.2100, 0.2093), ("Maximum", "AVA1", 0.2330, 0.2329),
        ("Minimum", "AVA1", 0.1600, 0.1620), ("SD", "AVA1", 0.0250, 0.0244),
        ("Mean", "VAE", 0.1200, 0.1207),  # the other VAE statistics are missing
    ])
    t3_other = t3.assign(ours=t3["ours"] + 0.01)
    return cells, {"2023-12": t3, "2024-06": t3_other}


def test_fidelity_table_hand_values(hand_made):
    cells, t3 = hand_made
    table = studies.fidelity_table(cells, t3)
    assert list(table.columns) == COLUMNS
    # Readings in the given order, models in the paper's order (AVA1 before VAE).
    assert list(zip(table["reading"], table["model"])) == [
        ("2023-12", "AVA1"), ("2023-12", "VAE"), ("2024-06", "AVA1"), ("2024-06", "VAE")]
    expected = {
        ("2023-12", "AVA1"): (0.0035, 0.005, 1, 2),
        ("2023-12", "VAE"): (0.005, 0.010, 2, 3),
        ("2024-06", "AVA1"): (0.025, 0.030, 0, 2),
        ("2024-06", "VAE"): (0.005, 0.010, 2, 3),
    }
    for row in table.itertuples(index=False):
        mean, worst, inside, n = expected[(row.reading, row.model)]
        assert row.mean_abs_delta == pytest.approx(mean, abs=1e-12)
        assert row.max_abs_delta == pytest.approx(worst, abs=1e-12)
        assert (row.inside, row.cells) == (inside, n)
    first = table.iloc[0]  # 2023-12, AVA1: ours - published per statistic
    assert first["table3_mean_delta"] == pytest.approx(0.0007, abs=1e-12)
    assert first["table3_maximum_delta"] == pytest.approx(0.0001, abs=1e-12)
    assert first["table3_minimum_delta"] == pytest.approx(-0.0020, abs=1e-12)
    assert first["table3_sd_delta"] == pytest.approx(0.0006, abs=1e-12)
    vae = table.iloc[1]
    assert vae["table3_mean_delta"] == pytest.approx(-0.0007, abs=1e-12)
    assert np.isnan(vae["table3_maximum_delta"]) and np.isnan(vae["table3_sd_delta"])
    assert table.iloc[2]["table3_mean_delta"] == pytest.approx(0.0107, abs=1e-12)


def test_fidelity_markdown_totals(hand_made):
    cells, t3 = hand_made
    text = studies.fidelity_markdown(studies.fidelity_table(cells, t3))
    summary = text.split("## Every number")[0]
    lines = {line.split("|")[1].strip(): line for line in summary.splitlines() if line.startswith("| 20")}
    assert set(lines) == {"2023-12", "2024-06"}
    assert "3/5" in lines["2023-12"] and "2/5" in lines["2024-06"]
    assert "0.0300" in lines["2024-06"]  # max |Δ| over the reading
    assert "`2023-12`" in text and "`2024-06`" in text


# =========================================================================================
# End to end on a tiny synthetic grid
# =========================================================================================

CONFIG = ["dataset=synthetic", "models=[AVA1,VAE]", "learning_rates=[0.5,0.05]", "seeds=[0,1]",
          "protocols=[author]", "verdict_seeds=3", "fidelity_seeds=2"]


def snakemake(cwd, *targets, config=CONFIG, check=True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(cwd),
           "--cores", "2", *targets, "--config", *config]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("studies")


@pytest.fixture(scope="module")
def studied(workdir):
    """One Snakemake call builds the default target and the fidelity study (they share the data)."""
    snakemake(workdir, "all", "fidelity")
    return workdir / "results" / "synthetic"


def bm(base, run):
    frame = pd.read_csv(base / run / "bm.csv")
    return frame.set_index(["model", "lr", "seed"]).sort_index()


@pytest.mark.slow
def test_fidelity_outputs_and_table(studied):
    out = studied / "fidelity"
    for ext in ("csv", "md", "png"):
        assert (out / f"fidelity.{ext}").is_file() and (out / f"fidelity.{ext}").stat().st_size > 0
    table = pd.read_csv(out / "fidelity.csv")
    assert list(table.columns) == COLUMNS
    assert len(table) == len(READINGS) * 2
    assert set(zip(table["reading"], table["model"])) == set(itertools.product(READINGS, ["AVA1", "VAE"]))
    text = (out / "fidelity.md").read_text()
    assert all(f"`{reading}`" in text for reading in READINGS)

    # Independently: per reading and model, the mean and max over the published cells of
    # |mean over seeds of bm.csv - published|, with the published values of the check.
    for reading in READINGS:
        seeds = pd.read_csv(studied / f"fidelity-{reading}" / "bm.csv")
        assert (seeds["status"] == "ok").all()
        means = seeds.groupby(["model", "lr"])["bm"].mean()
        published = pd.read_csv(studied / f"fidelity-{reading}" / "check" / "cells.csv")
        published = published[published["published"].notna()].set_index(["model", "lr"])["published"]
        for model in ("AVA1", "VAE"):
            deltas = [abs(means[(model, lr)] - published[(model, lr)]) for lr in (0.5, 0.05)]
            row = table[(table["reading"] == reading) & (table["model"] == model)].iloc[0]
            assert row["cells"] == 2
            assert row["mean_abs_delta"] == pytest.approx(np.mean(deltas), rel=1e-9, abs=1e-15)
            assert row["max_abs_delta"] == pytest.approx(max(deltas), rel=1e-9, abs=1e-15)


@pytest.mark.slow
def test_accepted_reading_equals_the_main_author_run(studied):
    """fidelity-2023-12 has the default options: the same BM, seed for seed, bit for bit."""
    main, accepted = bm(studied, "author"), bm(studied, "fidelity-2023-12")
    assert len(main) == 2 * 2 * 2
    assert main.index.equals(accepted.index)
    assert np.array_equal(main["bm"].to_numpy(), accepted["bm"].to_numpy())


@pytest.mark.slow
def test_the_2024_build_moves_ava1_but_not_the_vae(studied):
    old, new = bm(studied, "fidelity-2023-12"), bm(studied, "fidelity-2024-06")
    ava1_old, ava1_new = old.loc["AVA1", "bm"].to_numpy(), new.loc["AVA1", "bm"].to_numpy()
    assert np.all(ava1_old != ava1_new)
    assert np.abs(ava1_old - ava1_new).max() > 1e-3
    # The VAE has no adversarial term: the a' convention cannot touch it.
    assert np.array_equal(old.loc["VAE", "bm"].to_numpy(), new.loc["VAE", "bm"].to_numpy())
    table = pd.read_csv(studied / "fidelity" / "fidelity.csv").set_index(["reading", "model"])
    assert table.loc[("2023-12", "VAE"), "mean_abs_delta"] == table.loc[("2024-06", "VAE"), "mean_abs_delta"]
    assert table.loc[("2023-12", "AVA1"), "mean_abs_delta"] != table.loc[("2024-06", "AVA1"), "mean_abs_delta"]


@pytest.mark.slow
def test_every_reading_but_the_accepted_one_changes_something(studied):
    """Except two that cannot, for AVA1 and VAE: the carried state is overwritten before it
    is read, and the discriminators' order moves only the re-encoded fake (AVA3-AVA5)."""
    accepted = bm(studied, "fidelity-2023-12")["bm"].to_numpy()
    same = {"2023-12", "carried-state", "discriminators-first"}
    for reading in READINGS:
        values = bm(studied, f"fidelity-{reading}")["bm"].to_numpy()
        assert np.array_equal(values, accepted) == (reading in same), reading


@pytest.mark.slow
def test_spread_outputs(studied):
    """Coverage per reading and seed count (NA: the test grid has 2 seeds, fewer than 5),
    per-cell residuals recomputed from bm.csv, and the residual figure."""
    out = studied / "fidelity"
    coverage = pd.read_csv(out / "coverage.csv")
    assert len(coverage) == 3 * len(READINGS) and coverage["inside"].isna().all()
    resid = pd.read_csv(out / "spread.csv")
    seeds = pd.read_csv(studied / "fidelity-2023-12" / "bm.csv")
    row = resid[(resid.reading == "2023-12") & (resid.model == "AVA1") & (resid.lr == 0.05)].iloc[0]
    values = seeds[(seeds.model == "AVA1") & (seeds.lr == 0.05)]["bm"].to_numpy()
    scale = np.sqrt(np.var(values, ddof=1) * (1 + 1 / len(values)) + 1e-8 / 12)
    assert row["z"] == pytest.approx((row["published"] - values.mean()) / scale, rel=1e-9)
    assert (out / "residuals.png").stat().st_size > 0 and (out / "twins.csv").is_file()
    assert "Does the published run look like one more of our seeds?" in (out / "fidelity.md").read_text()


def check_verdicts(base, models, seeds):
    summary = base / "verdicts" / "summary.md"
    assert summary.is_file()
    text = summary.read_text()
    assert "**Verdicts per protocol**" in text
    assert f"{seeds} seeds per cell" in text
    many = pd.read_csv(base / "verdicts-author" / "bm.csv")
    assert sorted(many["seed"].unique()) == list(range(seeds))
    assert sorted(many["model"].unique()) == sorted(models)
    assert len(many) == len(models) * 2 * seeds
    return text, many


@pytest.mark.slow

def test_verdict_study_without_an_equivalence_pair(studied):
    done = snakemake(studied.parents[1], "verdicts", check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    _, many = check_verdicts(studied, ["AVA1", "VAE"], 3)
    # The verdict run's first two seeds are the main run's: the stream depends on the seed only.
    main = bm(studied, "author")
    again = many.set_index(["model", "lr", "seed"]).sort_index().loc[main.index]
    assert np.array_equal(again["bm"].to_numpy(), main["bm"].to_numpy())


@pytest.mark.slow
def test_verdict_study_with_the_ava1_ava2_pair(tmp_path):
    # A fresh folder: outputs of an earlier run with other models would not be rebuilt.
    config = ["models=[AVA1,AVA2]" if c.startswith("models=") else c for c in CONFIG]
    snakemake(tmp_path, "verdicts", config=config)
    base = tmp_path / "results" / "synthetic"
    text, many = check_verdicts(base, ["AVA1", "AVA2"], 3)
    assert "AVA1 vs AVA2 distinguishable at" in text
    equivalence = pd.read_csv(base / "verdicts-author" / "check" / "equivalence.csv")
    assert sorted(equivalence["lr"]) == [0.05, 0.5] and (equivalence["n_a"] == 3).all()
    # The check's Welch p-values, recomputed from the per-seed BM of the verdict run.
    from scipy import stats

    for row in equivalence.itertuples(index=False):
        a = many[(many["model"] == "AVA1") & (many["lr"] == row.lr)]["bm"].to_numpy()
        b = many[(many["model"] == "AVA2") & (many["lr"] == row.lr)]["bm"].to_numpy()
        assert row.p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)


@pytest.mark.slow
def test_robustness_study_end_to_end(tmp_path):
    # protocols=[author]: the study still trains its own baseline, the paper run, with the
    # main grid's 3 seeds; the study reads every run on seeds 0 and 1 only.
    config = [c for c in CONFIG if not c.startswith(("verdict_seeds", "seeds"))]
    config += ["seeds=[0,1,2]", "robustness_seeds=2"]
    snakemake(tmp_path, "robustness", config=config)
    base = tmp_path / "results" / "synthetic"
    table = pd.read_csv(base / "robustness" / "robustness.csv").set_index("alternative")
    assert list(table.index) == ["baseline", "mu-logistic", "init-0.1x", "float32"]
    for name, run in [("baseline", "paper"), ("init-0.1x", "robustness-init-0.1x")]:
        long = pd.read_csv(base / run / "bm.csv")
        long = long[long["seed"] < 2]
        counts = long["status"].value_counts()
        row = table.loc[name]
        assert (row["n_ok"], row["n_unstable"], row["n_diverged"]) == tuple(
            int(counts.get(s, 0)) for s in ("ok", "unstable", "diverged"))
        assert row["seeds"] == 2
    options = json.loads((base / "robustness-mu-logistic" / "cells" / "VAE" / "lr0.5.json")
                         .read_text())["options"]
    assert options["mu_output"] == "logistic" and options["init_scale"] == 1.0
    assert (base / "robustness" / "robustness.png").stat().st_size > 0
