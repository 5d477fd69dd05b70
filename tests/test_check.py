"""The check: the inside rule, claim verdicts, and both scripts end to end."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from avarep import check, published, tables
from avarep.cell import FORMAT, _checksum, write_record
from avarep.sweep import LEARNING_RATES, MODELS

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def long_frame(values):
    """{(model, lr): [bm per seed, None = diverged]} -> the long frame of tables.collect."""
    rows = [
        {"dataset": "d", "protocol": "author", "model": m, "lr": lr, "seed": s,
         "bm": math.nan if bm is None else bm, "status": "diverged" if bm is None else "ok"}
        for (m, lr), bms in values.items() for s, bm in enumerate(bms)
    ]
    return pd.DataFrame(rows, columns=list(tables.LONG_COLUMNS))


# ---------------------------------------------------------------------------- the rule

def test_prediction_interval_formula():
    lo, hi = check.prediction_interval(0.2, 0.001, 5)
    half = stats.t.ppf(0.975, 4) * 0.001 * math.sqrt(1.2) + 0.00005
    assert (lo, hi) == pytest.approx((0.2 - half, 0.2 + half))
    assert all(math.isnan(v) for v in check.prediction_interval(0.2, math.nan, 1))


def cells_for(published_value, seeds):
    long = long_frame({("AVA1", 0.5): seeds})
    pub = pd.DataFrame({"table": [1], "lr": [0.5], "model": ["AVA1"], "bm": [published_value]})
    return check.cell_diff(tables.table12(long), pub)


def test_inside_rule_at_the_edge():
    seeds = [0.2300, 0.2310, 0.2320]  # mean 0.2310, sd 0.001, n 3
    half = stats.t.ppf(0.975, 2) * 0.001 * math.sqrt(1 + 1 / 3) + 0.00005
    just_in = cells_for(0.2310 + half - 1e-9, seeds).iloc[0]
    just_out = cells_for(0.2310 + half + 1e-7, seeds).iloc[0]
    assert bool(just_in["inside"]) is True
    assert bool(just_out["inside"]) is False
    assert just_out["abs_delta"] == pytest.approx(half + 1e-7)
    assert check.failing_cells(cells_for(0.2310 + half + 1e-7, seeds))[0].startswith("AVA1 γ=0.5")
    assert check.failing_cells(cells_for(0.2310, seeds)) == []


def test_rounding_pad_only_when_seeds_agree():
    # identical seeds: interval is the mean ± 0.00005 exactly
    assert bool(cells_for(0.23104, [0.231, 0.231]).iloc[0]["inside"]) is True
    assert bool(cells_for(0.23106, [0.231, 0.231]).iloc[0]["inside"]) is False


def test_single_seed_is_not_judged():
    cell = cells_for(0.5, [0.2, None]).iloc[0]
    assert pd.isna(cell["inside"])
    assert check.failing_cells(cells_for(0.5, [0.2, None])) == []


# ---------------------------------------------------------------------------- verdicts

@pytest.mark.parametrize("relation, lo, hi, expected", [
    (">", 0.001, 0.002, "holds"), (">", -0.002, -0.001, "fails"), (">", -0.001, 0.001, "not resolved"),
    ("<", -0.002, -0.001, "holds"), ("<", 0.001, 0.002, "fails"), ("<", -0.001, 0.001, "not resolved"),
    ("<=", 0.0, 0.0, "holds"), ("<=", 0.001, 0.002, "fails"), ("<=", -0.001, 0.001, "not resolved"),
    (">", 0.0, 0.0, "fails"),
])
def test_verdict(relation, lo, hi, expected):
    assert check.verdict(relation, lo, hi) == expected


def grid(offsets, noise, seeds=6, seed=0):
    """Full 19-lr sweep for the given models: published curve + offset + seed noise."""
    rng = np.random.default_rng(seed)
    pub = published.load_bm()
    values = {}
    for model, offset in offsets.items():
        for lr in LEARNING_RATES:
            base = pub.loc[(pub["lr"] == lr) & (pub["model"] == model), "bm"].item()
            values[(model, lr)] = list(base + offset + noise * rng.standard_normal(seeds))
    return long_frame(values)


def one_claim(statistic, model, relation, other):
    return pd.DataFrame([{"claim": 1, "statistic": statistic, "model": model,
                          "relation": relation, "other": other, "published_text": "t"}])


def test_claim_verdicts_on_synthetic_seeds():
    pub_t3 = published.load_table3()
    separated = grid({"AVA5": 0.01, "GAN": 0.0}, noise=0.0005)
    assert check.claim_rows(separated, one_claim("Mean", "AVA5", ">", "GAN"), pub_t3)["verdict"].item() == "holds"
    assert check.claim_rows(separated, one_claim("Mean", "AVA5", "<", "GAN"), pub_t3)["verdict"].item() == "fails"
    overlapping = grid({"AVA5": 0.0, "GAN": 0.0}, noise=0.01)
    row = check.claim_rows(overlapping, one_claim("Mean", "AVA5", ">", "GAN"), pub_t3).iloc[0]
    assert row["verdict"] == "not resolved"
    assert row["ci_lo"] < row["margin"] < row["ci_hi"]
    assert row["published_diff"] == pytest.approx(0.0007) and row["published_holds"]


def test_missing_model_or_lr_is_not_evaluated():
    pub_t3 = published.load_table3()
    long = grid({"AVA5": 0.0}, noise=0.001)
    row = check.claim_rows(long, one_claim("Mean", "AVA5", ">", "GAN"), pub_t3).iloc[0]
    assert row["verdict"] == "not evaluated" and "GAN was not run" in row["reason"]
    reduced = long[long["lr"] >= 0.1]
    row = check.claim_rows(reduced, one_claim("Mean", "AVA5", ">", "AVA5"), pub_t3).iloc[0]
    assert row["verdict"] == "not evaluated" and "lacks lr 0.09" in row["reason"]
    t3 = check.table3_diff(reduced, pub_t3)
    assert t3["inside"].isna().all() and t3["note"].str.len().gt(0).all()


def test_claim_combination_and_derived_claim_6():
    rows = pd.DataFrame([
        {"claim": c, "published_text": "t", "verdict": v, "published_holds": True, "reason": ""}
        for c, v in [(1, "holds"), (1, "holds"), (2, "holds"), (2, "not resolved"),
                     (3, "holds"), (4, "fails"), (4, "not resolved"), (5, "holds")]
    ])
    verdicts = check.claim_verdicts(rows).set_index("claim")["verdict"]
    assert verdicts.to_dict() == {1: "holds", 2: "not resolved", 3: "holds", 4: "fails",
                                  5: "holds", 6: "fails"}


def test_published_numbers_satisfy_their_own_claims():
    pub_t3 = published.load_table3()
    long = grid({m: 0.0 for m in MODELS}, noise=0.001)
    verdicts = check.claim_verdicts(check.claim_rows(long, published.load_claims(), pub_t3))
    assert (verdicts["published_verdict"] == "holds").all()
    assert list(verdicts["claim"]) == [1, 2, 3, 4, 5, 6]


def test_table3_diff_on_seeds_matching_the_paper():
    long = grid({m: 0.0 for m in MODELS}, noise=0.0005)
    t3 = check.table3_diff(long, published.load_table3())
    assert len(t3) == 28 and (t3["n_seeds"] == 6).all()
    assert t3["abs_delta"].max() < 0.002
    assert t3["inside"].notna().all()


# ---------------------------------------------------------------------------- scripts

def make_record(model, lr, bms, dataset="orbit-100x64", protocol="author"):
    runs = [{"seed": s, "bm": bm, "status": "ok" if bm is not None else "diverged",
             "seconds": 0.01, "log": {}} for s, bm in enumerate(bms)]
    ok = [b for b in bms if b is not None]
    record = {
        "format": FORMAT, "dataset": dataset, "protocol": protocol, "model": model, "lr": float(lr),
        "seeds": list(range(len(bms))), "runs": runs,
        "bm_mean": float(np.mean(ok)) if ok else None,
        "bm_sd": float(np.std(ok, ddof=1)) if len(ok) > 1 else None, "n_ok": len(ok),
        "options": {}, "settings_hash": "x", "settings": {}, "wall_seconds": 0.1,
        "threads": 1, "device": "cpu", "versions": {},
    }
    record["record_sha256"] = _checksum(record)
    return record


def write_records(tmp_path, lrs=LEARNING_RATES, models=MODELS, seeds=4, diverge=None):
    rng = np.random.default_rng(1)
    pub = published.load_bm()
    paths = []
    for model in models:
        for lr in lrs:
            base = pub.loc[(pub["lr"] == lr) & (pub["model"] == model), "bm"].item()
            bms = [float(base + 0.001 * rng.standard_normal()) for _ in range(seeds)]
            if (model, lr) == diverge:
                bms[0] = None
            path = tmp_path / "cells" / f"{model}_{lr}.json"
            write_record(path, make_record(model, lr, bms))
            paths.append(path)
    return paths


def run_script(name, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)],
                          capture_output=True, text=True)


AGGREGATE_OUTPUTS = ["bm.csv", "table1.csv", "table1.md", "table2.csv", "table2.md",
                     "table3.csv", "table3.md", "stability.csv", "stability.md"]
FIGURE_OUTPUTS = ["figure5.png", "figure5.pdf", "figures/stability.png"]
CHECK_OUTPUTS = ["cells.csv", "table3.csv", "claims.csv", "verdicts.csv", "summary.md"]


@pytest.mark.slow
def test_scripts_end_to_end(tmp_path):
    paths = write_records(tmp_path, diverge=("AVA2", 0.3))
    out = tmp_path / "agg"
    done = run_script("aggregate.py", "--cells", *paths, "--outdir", out)
    assert done.returncode == 0, done.stderr
    for name in AGGREGATE_OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    assert len(pd.read_csv(out / "bm.csv")) == 19 * 7 * 4
    assert "(1 diverged)" in (out / "table1.md").read_text()
    # bm.csv holds what the records hold: the figures are drawn from it alone
    pd.testing.assert_frame_equal(tables.read_bm(out / "bm.csv"),
                                  tables.collect(json.loads(p.read_text()) for p in paths))
    done = run_script("draw_figures.py", "--bm", out / "bm.csv", "--outdir", out)
    assert done.returncode == 0, done.stderr
    for name in FIGURE_OUTPUTS + [f"figures/bm_vs_lr_{m}.png" for m in MODELS]:
        assert (out / name).stat().st_size > 0, name

    done = run_script("check.py", "--bm", out / "bm.csv", "--outdir", out / "check", "--strict")
    for name in CHECK_OUTPUTS:
        assert (out / "check" / name).stat().st_size > 0, name
    cells = pd.read_csv(out / "check" / "cells.csv")
    assert len(cells) == 133
    summary = (out / "check" / "summary.md").read_text()
    assert summary.startswith("# Check") and "## Rule" in summary and "Mean |Δ|" in summary
    outside = int((cells["inside"] == False).sum())  # noqa: E712
    assert done.returncode == (1 if outside else 0), done.stderr
    verdicts = pd.read_csv(out / "check" / "verdicts.csv")
    assert list(verdicts["claim"]) == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_scripts_on_a_reduced_sweep(tmp_path):
    paths = write_records(tmp_path, lrs=[1.0, 0.5, 0.1], models=["AVA1", "GAN"], seeds=3)
    out = tmp_path / "agg"
    done = run_script("aggregate.py", "--cells", *paths, "--outdir", out,
                      "--models", "AVA1", "GAN")
    assert done.returncode == 0, done.stderr
    assert "No learning rate" in (out / "table2.md").read_text()
    assert list(pd.read_csv(out / "table2.csv").columns) == list(tables.TABLE12_COLUMNS)
    done = run_script("check.py", "--bm", out / "bm.csv", "--outdir", out / "check")
    assert done.returncode == 0, done.stderr
    verdicts = pd.read_csv(out / "check" / "verdicts.csv")
    assert (verdicts["verdict"] == "not evaluated").all()


def test_corrupt_record_stops_aggregate(tmp_path):
    paths = write_records(tmp_path, lrs=[0.5], models=["AVA1"], seeds=2)
    record = json.loads(paths[0].read_text())
    record["runs"][0]["bm"] = 0.5  # hand-edited: checksum no longer matches
    paths[0].write_text(json.dumps(record))
    done = run_script("aggregate.py", "--cells", *paths, "--outdir", tmp_path / "agg")
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and str(paths[0]) in done.stderr
    assert not (tmp_path / "agg" / "bm.csv").exists()


def test_an_unreadable_bm_stops_the_figures(tmp_path):
    (tmp_path / "bm.csv").write_text("dataset,protocol\nx\n")
    done = run_script("draw_figures.py", "--bm", tmp_path / "bm.csv", "--outdir", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and "bm.csv" in done.stderr
    assert not (tmp_path / "figure5.png").exists()


def test_truncated_record_stops_aggregate(tmp_path):
    paths = write_records(tmp_path, lrs=[0.5], models=["AVA1"], seeds=2)
    paths[0].write_text(paths[0].read_text()[:50])
    done = run_script("aggregate.py", "--cells", *paths, "--outdir", tmp_path / "agg")
    assert done.returncode == 2 and str(paths[0]) in done.stderr


def test_strict_check_exits_1_naming_the_cell(tmp_path):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    write_record(paths[0], make_record("AVA1", 0.5, [0.30, 0.3001, 0.3002]))
    write_record(paths[1], make_record("AVA1", 1.0, [0.2297, 0.2299, 0.2298]))
    out = tmp_path / "agg"
    assert run_script("aggregate.py", "--cells", *paths, "--outdir", out).returncode == 0
    done = run_script("check.py", "--bm", out / "bm.csv", "--outdir", out / "check", "--strict")
    assert done.returncode == 1
    assert "AVA1 γ=0.5" in done.stderr and "γ=1.0" not in done.stderr
    assert (out / "check" / "summary.md").exists()
    lenient = run_script("check.py", "--bm", out / "bm.csv", "--outdir", out / "check2")
    assert lenient.returncode == 0


# ------------------------------------------------------- Welch, sample SDs, Table 3's centre

# Unequal sizes and spreads, where Welch and Student's pooled test differ.
WELCH_A = np.array([0.20, 0.21, 0.22])
WELCH_B = np.array([0.10, 0.30, 0.12, 0.28, 0.15])


def welch_by_hand(a, b):
    """Welch-Satterthwaite, written out: difference, 95% CI, two-sided p."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    diff = a.mean() - b.mean()
    half = stats.t.ppf(0.975, df) * se
    return diff, diff - half, diff + half, 2 * stats.t.sf(abs(diff) / se, df)


def test_claim_ci_is_welch_not_student():
    diff, lo, hi, _ = welch_by_hand(WELCH_A, WELCH_B)
    assert check.welch_ci(WELCH_A, WELCH_B) == pytest.approx((diff, lo, hi), rel=1e-10)
    # the pooled-variance interval is much narrower here: the test tells them apart
    student = stats.ttest_ind(WELCH_A, WELCH_B, equal_var=True).confidence_interval(0.95)
    assert abs((hi - lo) - (student.high - student.low)) > 0.01


def test_equivalence_p_is_welch_not_student():
    from avarep import equivalence

    _, _, _, p = welch_by_hand(WELCH_A, WELCH_B)
    assert equivalence.welch_p(WELCH_A, WELCH_B) == pytest.approx(p, rel=1e-10)
    long = long_frame({("AVA1", 0.5): list(WELCH_A), ("AVA2", 0.5): list(WELCH_B)})
    row = equivalence.pair_tests(long, "AVA1", "AVA2").iloc[0]
    assert row["p"] == pytest.approx(p, rel=1e-10)
    assert row["sd_a"] == pytest.approx(0.01, rel=1e-12)  # sample SD of 0.20, 0.21, 0.22


def test_table_sd_is_the_sample_sd_over_seeds():
    # 0.1, 0.2, 0.3: sample SD (n - 1) is exactly 0.1; the population SD would be 0.0816
    t12 = tables.table12(long_frame({("VAE", 0.5): [0.1, 0.2, 0.3, None]}))
    assert t12.loc[0, "sd"] == pytest.approx(0.1, rel=1e-12)
    assert t12.loc[0, "n_ok"] == 3


def test_table3_delta_and_interval_share_one_centre():
    # Two seeds whose curves cross: the seed-averaged curve is flat at 0.2 (its minimum 0.2),
    # while each seed's own minimum is 0.1. The paper's one run is compared with one run's
    # statistic, so |Δ| and the interval are both centred on the seeds' mean, 0.1.
    lrs = [0.5, 0.1]
    long = long_frame({("VAE", 0.5): [0.1, 0.3], ("VAE", 0.1): [0.3, 0.1]})
    pub = pd.DataFrame({"VAE": [0.2, 0.3, 0.12, 0.1]}, index=list(published.STATISTICS))
    t3 = check.table3_diff(long, pub, lrs)
    minimum = t3[t3["statistic"] == "Minimum"].iloc[0]
    assert minimum["ours"] == pytest.approx(0.2)  # Table 3 of the mean curve, for reference
    assert minimum["seed_mean"] == pytest.approx(0.1)
    assert minimum["abs_delta"] == pytest.approx(0.02)  # |0.1 - 0.12|, not |0.2 - 0.12|
    assert (minimum["lo"] + minimum["hi"]) / 2 == pytest.approx(minimum["seed_mean"])
