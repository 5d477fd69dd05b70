"""Coverage, standardised residuals and twin spread (avarep.spread) on hand-made seeds.

Every expected number is computed here from its definition (numpy means and SDs, scipy's t
and chi-square), never read back from the code under test.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from avarep import spread


def seeds_frame(values: dict[tuple[str, float], list[float]], status=None) -> pd.DataFrame:
    rows = [{"model": m, "lr": lr, "seed": s, "bm": v, "status": "ok"}
            for (m, lr), vs in values.items() for s, v in enumerate(vs)]
    frame = pd.DataFrame(rows)
    if status:
        for (m, lr, s), st in status.items():
            frame.loc[(frame.model == m) & (frame.lr == lr) & (frame.seed == s), "status"] = st
    return frame


def published(values: dict[tuple[str, float], float]) -> pd.DataFrame:
    return pd.DataFrame([{"table": 2, "lr": lr, "model": m, "bm": v} for (m, lr), v in values.items()])


def half_width(values) -> float:
    n = len(values)
    return stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) * math.sqrt(1 + 1 / n) + 0.00005


def test_bands_cover_the_sweep_at_their_edges():
    assert spread.band(1.0) == spread.band(0.2) == "γ ≥ 0.2"
    assert spread.band(0.1) == spread.band(0.09) == "γ = 0.09–0.1"
    assert spread.band(0.08) == spread.band(0.03) == "γ = 0.03–0.08"
    assert spread.band(0.02) == spread.band(0.01) == "γ ≤ 0.02"
    with pytest.raises(ValueError, match="no band"):
        spread.band(0.15)


def test_coverage_uses_the_first_n_seeds():
    """Seeds 0-4 agree closely, seeds 5-19 scatter: the published value falls outside the
    5-seed interval and inside the 20-seed one. Expected from the closed-form interval."""
    rng = np.random.default_rng(0)
    values = list(0.2 + 1e-5 * np.arange(5)) + list(0.2 + 0.01 * rng.standard_normal(15))
    pub = 0.2 + 0.005
    for n, expected in ((5, False), (10, None), (20, None)):
        first = values[:n]
        inside = abs(pub - np.mean(first)) <= half_width(first)
        if expected is not None:
            assert inside == expected
    cov = spread.coverage(seeds_frame({("AVA1", 0.05): values}), published({("AVA1", 0.05): pub}))
    for n in (5, 10, 20):
        first = values[:n]
        assert cov.set_index("seeds").loc[n, "inside"] == int(abs(pub - np.mean(first)) <= half_width(first))
    assert cov.set_index("seeds").loc[5, "inside"] == 0
    assert cov.set_index("seeds").loc[20, "inside"] == 1


def test_coverage_counts_and_missing_seed_counts():
    """Two cells, 10 seeds: one published value inside, one outside; 20 seeds not available."""
    a = [0.1 + 0.001 * s for s in range(10)]
    b = [0.3 + 0.0001 * (s % 3) for s in range(10)]
    pub = {("VAE", 0.5): float(np.mean(a)) + 0.5 * half_width(a),
           ("VAE", 0.01): float(np.mean(b)) + 2.0 * half_width(b)}
    cov = spread.coverage(seeds_frame({("VAE", 0.5): a, ("VAE", 0.01): b}), published(pub)).set_index("seeds")
    assert cov.loc[10, "inside"] == 1 and cov.loc[10, "cells"] == 2 and cov.loc[10, "share"] == 0.5
    assert math.isnan(cov.loc[20, "inside"]) and math.isnan(cov.loc[20, "share"])


def test_diverged_seeds_are_left_out():
    values = [0.1, 0.2, 0.3, 5.0]
    frame = seeds_frame({("GAN", 0.4): values}, status={("GAN", 0.4, 3): "diverged"})
    cells = spread.cell_stats(spread.seed_values(frame), published({("GAN", 0.4): 0.2}))
    assert cells.loc[0, "n"] == 3
    assert cells.loc[0, "mean"] == pytest.approx(0.2)
    assert cells.loc[0, "sd"] == pytest.approx(0.1)


def test_standardised_residual_hand_value():
    values = [0.10, 0.12, 0.14, 0.16]  # mean 0.13, sd sqrt(0.0020/3)
    resid = spread.residuals(seeds_frame({("AVA3", 0.06): values}), published({("AVA3", 0.06): 0.17}))
    sd = math.sqrt(((0.03 ** 2 + 0.01 ** 2) * 2) / 3)
    # The published value's 4-decimal rounding adds (1e-4)^2 / 12 to the variance.
    assert resid.loc[0, "z"] == pytest.approx(0.04 / math.sqrt(sd ** 2 * 1.25 + 1e-8 / 12), rel=1e-12)
    assert resid.loc[0, "band"] == "γ = 0.03–0.08"
    summary = spread.residual_summary(pd.concat([resid, resid.assign(z=-2 * resid["z"])]))
    assert summary.loc[0, "rms_z"] == pytest.approx(resid.loc[0, "z"] * math.sqrt(2.5), rel=1e-12)


def test_twin_differences_and_chi_square():
    """Seed-paired differences AVA1 - AVA2; z = published difference / their SD (plus the
    rounding of two 4-decimal values); the band's chi-square from scipy."""
    ava1 = {0.05: [0.160, 0.162, 0.161, 0.165], 0.3: [0.2300, 0.2302, 0.2301, 0.2299]}
    ava2 = {0.05: [0.161, 0.160, 0.163, 0.162], 0.3: [0.2301, 0.2300, 0.2300, 0.2302]}
    frame = seeds_frame({**{("AVA1", lr): v for lr, v in ava1.items()},
                         **{("AVA2", lr): v for lr, v in ava2.items()}})
    pub = published({("AVA1", 0.05): 0.1664, ("AVA2", 0.05): 0.1617,
                     ("AVA1", 0.3): 0.2318, ("AVA2", 0.3): 0.2321})
    twins = spread.twin_differences(spread.seed_values(frame), pub).set_index("lr")
    for lr, pub_diff in ((0.05, 0.1664 - 0.1617), (0.3, 0.2318 - 0.2321)):
        diffs = np.subtract(ava1[lr], ava2[lr])
        sd = math.sqrt(np.var(diffs, ddof=1) + 2 * 1e-8 / 12)
        assert twins.loc[lr, "z"] == pytest.approx(pub_diff / sd, rel=1e-9)
        assert twins.loc[lr, "seeds"] == 4
    summary = spread.twin_summary(twins.reset_index()).set_index("band")
    z = twins.loc[0.05, "z"]
    assert summary.loc["γ = 0.03–0.08", "variance_ratio"] == pytest.approx(z ** 2)
    assert summary.loc["γ = 0.03–0.08", "p"] == pytest.approx(stats.chi2.sf(z ** 2, 1))
    assert summary.loc["γ = 0.03–0.08", "p_low"] == pytest.approx(stats.chi2.cdf(z ** 2, 1))
    zs = twins.loc[0.3, "z"]
    two_sided = 2 * min(stats.chi2.sf(zs ** 2, 1), stats.chi2.cdf(zs ** 2, 1))
    assert summary.loc["γ ≥ 0.2", "p_two_sided"] == pytest.approx(two_sided)
    assert set(summary.index) == {"γ = 0.03–0.08", "γ ≥ 0.2"}


def test_bad_bm_table_is_named():
    with pytest.raises(ValueError, match="bm.csv: missing column"):
        spread.seed_values(pd.DataFrame({"model": ["VAE"], "lr": [0.1], "bm": [0.2]}))


def test_screen_script_rows_and_summary(tmp_path, capsys, monkeypatch):
    """The in-process screen: one row per reading x model x gamma x seed, the pipeline's
    seeded values (cell.run_seed), and one summary line per reading."""
    import importlib.util
    from pathlib import Path

    from avarep.cell import run_seed
    from avarep.data import load_folder, make_synthetic
    from avarep.protocols import author

    make_synthetic(tmp_path / "frames", width=6, height=4, count=3)
    script = Path(__file__).parents[1] / "workflow" / "scripts" / "screen_readings.py"
    monkeypatch.syspath_prepend(str(script.parent))  # the script imports its _bootstrap
    spec = importlib.util.spec_from_file_location("screen_readings", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "screen.csv"
    assert module.main(["--data-dir", str(tmp_path / "frames"), "--readings", "2023-12", "shared-generations",
                        "--models", "AVA1", "AVA2", "--lrs", "0.06", "--seeds", "2", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 2 * 2 * 1 * 2
    images = load_folder(tmp_path / "frames").pixels
    expected, _ = run_seed(images, author, "AVA2", 0.06, 1,
                           author.check_options({"generations_shared": True}))
    row = frame[(frame.reading == "shared-generations") & (frame.model == "AVA2") & (frame.seed == 1)]
    assert row["bm"].iloc[0] == pytest.approx(expected["bm"], rel=1e-12)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["2023-12", "shared-generations"]
    assert all("twin variance ratio" in line for line in lines)
