"""Only ok seeds reach a result: tables, stability map, claims, sensitivity, compare, studies."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from avarep import check, compare, published, studies, tables
from avarep.sweep import LEARNING_RATES


def long_frame(values):
    """{(model, lr): [(bm, status) per seed]} -> the long frame of tables.collect."""
    rows = [
        {"dataset": "d", "protocol": "paper", "model": m, "lr": lr, "seed": s, "bm": bm,
         "status": status, "reason": "" if status == "ok" else "x"}
        for (m, lr), runs in values.items() for s, (bm, status) in enumerate(runs)
    ]
    return pd.DataFrame(rows, columns=list(tables.LONG_COLUMNS))


OK, UNSTABLE, DIVERGED = "ok", "unstable", "diverged"


# ------------------------------------------------------------------ tables


def test_a_cell_needs_two_ok_seeds_for_a_mean():
    long = long_frame({
        ("AVA1", 0.5): [(0.20, OK), (0.237, UNSTABLE), (0.236, UNSTABLE), (math.nan, DIVERGED)],
        ("VAE", 0.5): [(0.10, OK), (0.12, OK), (0.237, UNSTABLE)],
    })
    t12 = tables.table12(long).set_index("model")
    assert math.isnan(t12.at["AVA1", "mean"]) and math.isnan(t12.at["AVA1", "sd"])
    assert (t12.at["AVA1", "n_ok"], t12.at["AVA1", "n_unstable"], t12.at["AVA1", "n_diverged"]) == (1, 2, 1)
    # The unstable seed's 0.237 must not enter: mean of 0.10 and 0.12 only.
    assert t12.at["VAE", "mean"] == pytest.approx(0.11)
    assert t12.at["VAE", "sd"] == pytest.approx(np.std([0.10, 0.12], ddof=1))
    md = tables.table12_markdown(tables.table12(long), 1, ["AVA1", "VAE"], "c")
    assert "| 0.5 | no result (1 ok, 2 unstable, 1 diverged) | 0.1100 ± 0.0141 (1 unstable) |" in md


def test_bm_of_unstable_seeds_is_kept_in_the_long_frame():
    records = [{"dataset": "d", "protocol": "paper", "model": "AVA1", "lr": 1.0, "runs": [
        {"seed": 0, "bm": 0.2373, "status": "unstable", "reason": "largest |μ| 1e+45 > 100"},
        {"seed": 1, "bm": None, "status": "diverged", "reason": "non-finite"}]}]
    long = tables.collect(records)
    assert long["bm"].iloc[0] == 0.2373 and math.isnan(long["bm"].iloc[1])
    assert long["reason"].iloc[0].startswith("largest")
    with pytest.raises(ValueError, match="unknown run status"):
        tables.collect([{**records[0], "runs": [{"seed": 0, "bm": 0.1, "status": "weird"}]}])


def test_stability_map_and_healthy_learning_rates_by_hand():
    long = long_frame({
        ("AVA1", 1.0): [(0.2, UNSTABLE), (0.2, UNSTABLE), (0.2, OK)],
        ("AVA1", 0.1): [(0.2, OK), (0.2, OK), (0.2, OK)],
        ("GAN", 1.0): [(0.2, OK), (0.2, OK), (0.2, OK)],
        ("GAN", 0.1): [(0.2, OK), (math.nan, DIVERGED), (0.2, OK)],
        ("GAN", 0.01): [(0.2, OK), (0.2, OK), (0.2, OK)],
    })
    got = tables.stability_map(long).set_index(["model", "lr"])
    assert got.loc[("AVA1", 1.0), ["seeds", "n_ok", "n_unstable", "n_diverged"]].tolist() == [3, 1, 2, 0]
    assert got.at[("AVA1", 1.0), "ok_share"] == pytest.approx(1 / 3)
    assert got.at[("GAN", 0.1), "n_diverged"] == 1
    assert got.at[("GAN", 0.01), "ok_share"] == 1.0
    # 1.0: AVA1 unstable; 0.1: a GAN seed diverged; 0.01: every seed present is ok.
    assert tables.healthy_learning_rates(long) == [0.01]
    md = tables.stability_markdown(tables.stability_map(long), "c")
    assert "| 1.0 | 1/3 ok (2 unstable) | 3/3 ok |" in md


def test_per_seed_table3_drops_a_seed_unstable_anywhere():
    # seed 0 is unstable at one lr: its whole curve goes; seeds 1 and 2 stay.
    values = {}
    for lr in LEARNING_RATES:
        values[("VAE", lr)] = [(0.1, UNSTABLE if lr == 0.5 else OK), (0.1 + lr, OK), (0.2 + lr, OK)]
    per_seed, reasons = tables.per_seed_table3(long_frame(values))
    assert sorted(per_seed["seed"].unique()) == [1, 2] and reasons == {}
    means = per_seed[per_seed["statistic"] == "Mean"].set_index("seed")["value"]
    assert means[1] == pytest.approx(tables.round4(0.1 + np.mean(LEARNING_RATES)), abs=1e-4)
    # One more unstable seed leaves a single complete curve: not enough, with the reason.
    values[("VAE", 0.3)] = [(0.1, OK), (0.1, UNSTABLE), (0.2, OK)]
    per_seed, reasons = tables.per_seed_table3(long_frame(values))
    assert per_seed.empty
    assert reasons["VAE"] == "VAE: 1 of 3 seeds ok at every γ, 2 needed (seeds not ok at γ 0.5, 0.3)"


# ------------------------------------------------------------------ claims


def curves(offsets, unstable=(), seeds=4, noise=0.001, seed=0):
    """Every lr for each model: published + offset + noise; (model, lr) in ``unstable``:
    every seed unstable there, with a blown-up BM of 0.237."""
    rng = np.random.default_rng(seed)
    pub = published.load_bm()
    values = {}
    for model, offset in offsets.items():
        for lr in LEARNING_RATES:
            base = pub.loc[(pub["lr"] == lr) & (pub["model"] == model), "bm"].item()
            draws = base + offset + noise * rng.standard_normal(seeds)
            status = UNSTABLE if (model, lr) in unstable else OK
            values[(model, lr)] = [(0.237 if status == UNSTABLE else v, status) for v in draws]
    return long_frame(values)


def mean_claim(model, relation, other, claim=1):
    return pd.DataFrame([{"claim": claim, "statistic": "Mean", "model": model,
                          "relation": relation, "other": other, "published_text": "t"}])


def test_a_comparison_needing_an_unhealthy_model_is_not_assessable():
    long = curves({"AVA5": 0.01, "GAN": 0.0}, unstable={("AVA5", 1.0)})
    row = check.claim_rows(long, mean_claim("AVA5", ">", "GAN"), published.load_table3()).iloc[0]
    assert row["verdict"] == "not assessable"
    assert "AVA5: 0 of 4 seeds ok at every γ" in row["reason"]
    assert math.isnan(row["margin"])


def test_a_claim_s_reason_names_each_unhealthy_model_once_and_whole():
    """The paper protocol's claim 1 needs six models: its reason lists each model's reason
    once, every parenthesis closed (they were cut apart at a '; ' inside them)."""
    long = curves({"AVA5": 0.01, "AVA1": 0.0, "GAN": 0.0},
                  unstable={("AVA5", 1.0), ("AVA1", 1.0)})  # the same γ: the same words
    claims = pd.concat([mean_claim("AVA5", ">", "AVA1"), mean_claim("AVA5", ">", "GAN"),
                        mean_claim("AVA1", ">", "GAN")])
    rows = check.claim_rows(long, claims, published.load_table3())
    reason = check.claim_verdicts(rows).set_index("claim").at[1, "reason"]
    assert reason == ("AVA5: 0 of 4 seeds ok at every γ, 2 needed (seeds not ok at γ 1.0); "
                      "AVA1: 0 of 4 seeds ok at every γ, 2 needed (seeds not ok at γ 1.0)")


@pytest.mark.parametrize("verdicts, expected", [
    (["holds", "fails", "not assessable"], "fails"),  # a failed part sinks the claim
    (["holds", "not assessable", "not resolved"], "not assessable"),
    (["holds", "not assessable", "not evaluated"], "not evaluated"),
    (["holds", "holds"], "holds"),
    (["holds", "not resolved"], "not resolved"),
])
def test_how_verdicts_combine(verdicts, expected):
    assert check.combine(verdicts) == expected


def test_sensitivity_judges_the_claims_on_the_healthy_learning_rates():
    unstable = {("AVA5", lr) for lr in (1.0, 0.9)}
    long = curves({"AVA5": 0.002, "GAN": 0.0}, unstable=unstable, seeds=5)
    claims = mean_claim("AVA5", ">", "GAN")
    healthy, rows, verdicts = check.sensitivity(long, claims, published.load_table3())
    assert healthy == [lr for lr in LEARNING_RATES if lr not in (1.0, 0.9)]
    # Independently: each seed's mean of its 4-decimal-rounded BM over the healthy γ.
    wide = long[long["lr"].isin(healthy)].pivot_table(index=["model", "seed"], columns="lr", values="bm")
    per_seed = wide.map(tables.round4).mean(axis=1).map(tables.round4)
    a, b = per_seed["AVA5"].to_numpy(), per_seed["GAN"].to_numpy()
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    row = rows.iloc[0]
    assert row["margin"] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert (row["ci_lo"], row["ci_hi"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert row["verdict"] == "holds" and verdicts.iloc[0]["verdict"] == "holds"
    # Nothing to add when every learning rate is healthy.
    healthy, rows, verdicts = check.sensitivity(curves({"AVA5": 0.0, "GAN": 0.0}), claims,
                                                published.load_table3())
    assert len(healthy) == 19 and rows.empty and verdicts.empty


# ------------------------------------------------------------------ prose from the results


def test_compare_answer_comes_from_the_verdicts():
    merged = pd.DataFrame({"claim": [1, 2, 3, 4, 5, 6],
                           "paper": ["fails", "not assessable", "fails", "holds",
                                     "not assessable", "fails"],
                           "author": ["not evaluated"] * 6})
    lines = compare.answer(merged, ["author", "paper"])
    assert lines[0] == "* `author`: not evaluated **1, 2, 3, 4, 5, 6** (of 6 claims)."
    assert lines[1] == ("* `paper`: holds **4**; fails **1, 3, 6**; not assessable **2, 5** "
                        "(of 6 claims).")


def test_verdict_study_lists_each_verdict_and_the_sensitivity():
    verdicts = pd.DataFrame({"claim": [1, 2], "text": ["a", "b"], "published_verdict": ["holds"] * 2,
                             "verdict": ["not assessable", "holds"]})
    sensitivity = pd.DataFrame({"claim": [1, 2], "text": ["a", "b"], "verdict": ["fails", "holds"],
                                "reason": ["", ""], "learning_rates": ["0.1 0.05"] * 2})
    text = studies.verdicts_markdown({"paper": verdicts}, {}, {}, 20, {"paper": sensitivity})
    assert "* `paper`: holds: claim(s) 2; not assessable: claim(s) 1" in text
    assert ("* Sensitivity, `paper` on the 2 γ where every seed of every model is ok "
            "(γ = 0.1, 0.05): holds: claim(s) 2; fails: claim(s) 1") in text


def test_robustness_row_by_hand():
    long = long_frame({
        ("AVA1", 1.0): [(0.2, UNSTABLE), (0.2, OK)],
        ("AVA1", 0.1): [(0.2, OK), (0.2, OK)],
        ("AVA1", 0.01): [(0.2, OK), (0.2, OK)],
        ("GAN", 1.0): [(0.2, OK), (0.2, OK)],
        ("GAN", 0.1): [(0.2, OK), (0.2, OK)],
        ("GAN", 0.01): [(math.nan, DIVERGED), (0.2, OK)],
    })
    row = studies.robustness_row("init-0.1x", long)
    assert (row["n_ok"], row["n_unstable"], row["n_diverged"]) == (10, 1, 1)
    assert row["AVA1 stable ≤"] == "0.1" and row["GAN stable ≤"] == "none"
    assert row["healthy_lrs"] == 1 and row["seeds"] == 2
    # A partial grid: every claim lacks models or learning rates.
    assert {row[f"claim {c}"] for c in range(1, 7)} == {"not evaluated"}


def test_equivalence_ignores_unstable_seeds():
    from avarep import equivalence

    healthy = {("AVA1", 0.5): [(0.20, OK), (0.22, OK), (0.21, OK)],
               ("AVA2", 0.5): [(0.21, OK), (0.23, OK), (0.22, OK)]}
    blown = {**healthy, ("AVA2", 0.5): healthy[("AVA2", 0.5)] + [(0.9, UNSTABLE), (0.95, UNSTABLE)]}
    expected, _ = equivalence.equivalence(long_frame(healthy))
    got, _ = equivalence.equivalence(long_frame(blown))
    assert got["p"].tolist() == expected["p"].tolist()
    assert got["n_b"].tolist() == [3]
