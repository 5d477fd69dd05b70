"""Tables 1-3: the published numbers as data, and the paper's Table 3 semantics."""

import math

import pandas as pd
import pytest

from avarep import published, tables
from avarep.sweep import LEARNING_RATES, MODELS


def published_wide():
    bm = published.load_bm()
    return bm.pivot(index="lr", columns="model", values="bm").sort_index(ascending=False)[list(MODELS)]


def test_published_tables_reproduce_published_table3_exactly():
    ours = tables.table3(published_wide())
    expected = published.load_table3()
    assert list(ours.index) == list(expected.index)
    assert list(ours.columns) == list(expected.columns) == list(MODELS)
    for stat in expected.index:
        for model in MODELS:
            assert ours.at[stat, model] == expected.at[stat, model], (stat, model)


def test_published_bm_file_shape():
    bm = published.load_bm()
    assert len(bm) == 133 and bm["bm"].notna().all()
    assert sorted(set(bm["lr"]), reverse=True) == list(LEARNING_RATES)
    assert set(bm["model"]) == set(MODELS)
    assert set(bm.loc[bm["lr"] >= 0.1, "table"]) == {1}
    assert set(bm.loc[bm["lr"] < 0.1, "table"]) == {2}
    assert not bm.duplicated(["lr", "model"]).any()


@pytest.mark.parametrize("lr, model, value", [
    # typed independently from spec section 8
    (1.0, "AVA4", 0.0766),
    (0.9, "VAE", 0.0681),
    (0.5, "AVA1", 0.2318),
    (0.2, "AVA4", 0.0929),
    (0.1, "AVA5", 0.2114),
    (0.08, "AVA5", 0.1978),
    (0.06, "AVA2", 0.1772),
    (0.05, "VAE", 0.1805),
    (0.03, "GAN", 0.1857),
    (0.01, "GAN", 0.2148),
])
def test_published_bm_spot_checks(lr, model, value):
    bm = published.load_bm()
    assert bm.loc[(bm["lr"] == lr) & (bm["model"] == model), "bm"].item() == value


def test_published_table3_spot_checks():
    t3 = published.load_table3()
    assert t3.at["Mean", "AVA5"] == 0.2096
    assert t3.at["Maximum", "AVA2"] == 0.2329
    assert t3.at["Minimum", "VAE"] == 0.0568
    assert t3.at["SD", "AVA4"] == 0.0586


def test_claims_file():
    claims = published.load_claims()
    assert set(claims["claim"]) == {1, 2, 3, 4, 5}
    assert set(claims["relation"]) <= {">", "<", "<="}
    # "highest / lowest / smallest of all" expand to one row per other model
    assert len(claims[(claims["claim"] == 1) & (claims["model"] == "AVA5")]) == 6
    assert len(claims[(claims["claim"] == 2) & (claims["model"] == "AVA3")]) == 6
    assert len(claims[(claims["claim"] == 5) & (claims["model"] == "AVA5")]) == 6


@pytest.mark.parametrize("value, expected", [
    (0.12345, 0.1235),      # half-way on the decimal value: away from zero (binary is below)
    (0.12344999, 0.1234),
    (-0.12345, -0.1235),
    (0.00005, 0.0001),
    (1.0, 1.0),
])
def test_round4_half_away_from_zero(value, expected):
    assert tables.round4(value) == expected


def test_table3_rounds_values_before_the_statistics():
    # raw 0.10004 and 0.10006 round to 0.1000 and 0.1001, whose mean is exactly 0.10005 -> 0.1001
    stats = tables.table3_stats([0.10004, 0.10006])
    assert stats["Mean"] == 0.1001
    assert stats["Maximum"] == 0.1001 and stats["Minimum"] == 0.1000
    # rounded values 0.1000, 0.1001: sample SD = 0.0001/sqrt(2) = 0.0000707 -> 0.0001
    assert stats["SD"] == 0.0001


def test_table3_sample_sd_uses_n_minus_1():
    # 0.1, 0.2, 0.3: population SD 0.0816, sample SD 0.1 exactly
    stats = tables.table3_stats([0.1, 0.2, 0.3])
    assert stats == {"Mean": 0.2, "Maximum": 0.3, "Minimum": 0.1, "SD": 0.1}
    # 0.1, 0.2: sample SD = 0.1/sqrt(2) = 0.070710... -> 0.0707
    assert tables.table3_stats([0.1, 0.2])["SD"] == 0.0707


def test_table3_mean_half_way_case():
    # rounded values 0.1000 and 0.1003: mean 0.10015 exactly -> 0.1002 (half away from zero);
    # float arithmetic gives 0.10015000000000002 or 0.10014999999999999 depending on order.
    assert tables.table3_stats([0.1, 0.1003])["Mean"] == 0.1002


def test_table3_nan_makes_statistics_nan():
    stats = tables.table3_stats([0.1, math.nan, 0.2])
    assert all(math.isnan(v) for v in stats.values())


def records_for(values, statuses=None):
    """Minimal records: {(model, lr): [bm per seed]}."""
    out = []
    for (model, lr), bms in values.items():
        runs = []
        for seed, bm in enumerate(bms):
            status = "ok" if bm is not None else "diverged"
            runs.append({"seed": seed, "bm": bm, "status": status})
        out.append({"dataset": "d", "protocol": "author", "model": model, "lr": lr, "runs": runs})
    return out


def test_collect_and_table12():
    long = tables.collect(records_for({
        ("GAN", 0.05): [0.2, 0.3, None],
        ("AVA1", 0.05): [0.1, 0.1, 0.1],
        ("AVA1", 1.0): [None, None, None],
    }))
    assert list(long.columns) == list(tables.LONG_COLUMNS)
    assert len(long) == 9
    assert list(long["lr"].unique()) == [1.0, 0.05]  # paper order: gamma descending
    t12 = tables.table12(long)
    gan = t12[(t12["model"] == "GAN")].iloc[0]
    assert gan["mean"] == pytest.approx(0.25) and gan["sd"] == pytest.approx(0.0707106781)
    assert (gan["n_ok"], gan["n_diverged"], gan["table"]) == (2, 1, 2)
    dead = t12[(t12["model"] == "AVA1") & (t12["lr"] == 1.0)].iloc[0]
    assert dead["n_ok"] == 0 and math.isnan(dead["mean"])
    assert list(t12["model"]) == ["AVA1", "AVA1", "GAN"]


def test_collect_rejects_duplicate_runs():
    recs = records_for({("GAN", 0.05): [0.2]}) * 2
    with pytest.raises(ValueError, match="duplicate"):
        tables.collect(recs)


def test_markdown_marks_diverged_cells():
    long = tables.collect(records_for({
        ("AVA1", 0.5): [0.1234, 0.1244, None],
        ("GAN", 0.5): [None, None],
        ("VAE", 0.5): [0.2, 0.21],
    }))
    md = tables.table12_markdown(tables.table12(long), 1, ["AVA1", "VAE", "GAN"], "caption")
    assert "0.1239 ± 0.0007 (1 diverged)" in md
    assert "| 0.5 | 0.1239 ± 0.0007 (1 diverged) | 0.2050 ± 0.0071 | no result (2 diverged) |" in md
    empty = tables.table12_markdown(tables.table12(long), 2, ["AVA1"], "caption")
    assert "No learning rate" in empty


def test_table3_long_layout_matches_published_file():
    long = tables.table3_long(published.load_table3())
    assert list(long.columns) == ["statistic", "model", "value"]
    assert list(long["statistic"].unique()) == list(published.STATISTICS)
    assert len(long) == 28
    assert isinstance(long, pd.DataFrame)
