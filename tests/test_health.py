"""Numerical health: the bounded-latent rule, the recorded quantities, both dtypes, both protocols."""

import math

import numpy as np
import pytest
import torch

from avarep import health
from avarep.cell import run_seed
from avarep.protocols import author, load, paper
from avarep.sweep import LEARNING_RATES, MODELS

# ------------------------------------------------------------------ the rule, by hand


@pytest.mark.parametrize(
    "quantities,status",
    [
        ({"max_abs_mu": 100.0, "max_sigma2": 100.0}, "ok"),  # the bound itself is healthy
        ({"max_abs_mu": 100.0001, "max_sigma2": 1.0}, "unstable"),
        ({"max_abs_mu": 3.0, "max_sigma2": 250.0}, "unstable"),
        ({"max_abs_mu": 1.2e45, "max_sigma2": 8.9}, "unstable"),
        ({"max_abs_mu": None, "max_sigma2": None}, "ok"),  # GAN: no encoder
    ],
)
def test_classify_by_hand(quantities, status):
    got, reason = health.classify(quantities)
    assert got == status
    assert (reason == "") == (status == "ok")


def test_unstable_reason_names_the_quantity():
    _, reason = health.classify({"max_abs_mu": 1.2e45, "max_sigma2": 250.0})
    assert reason == "largest |μ| 1.2e+45 > 100; largest σ² 250 > 100"


def test_saturated_share_by_hand():
    values = np.array([0.0, 5e-7, 1e-6, 0.5, 1 - 1e-6, 1 - 5e-7, 1.0, 0.3])
    # strictly within 1e-6 of 0 or 1: 0, 5e-7, 1-5e-7, 1  (1e-6 and 1-1e-6 are not)
    assert health.saturated_share(values) == pytest.approx(4 / 8)
    assert math.isnan(health.saturated_share(np.array([])))


def test_saturated_share_across_chunks_of_a_transposed_view():
    """Counted chunk by chunk in memory order: every pinned value counts once, wherever it
    lies, as in a plain count over the values in their logical order."""
    chunk = health.SATURATION_CHUNK
    flat = np.full(2 * chunk + 7, 0.5)
    pinned = [0, chunk - 1, chunk, chunk + 1, 2 * chunk + 6]  # edges of the chunks
    flat[pinned] = [0.0, 1.0, 2e-7, 1 - 2e-7, 1.0]
    stored = flat.reshape(3, -1)  # generated images arrive as a transposed view
    view = np.moveaxis(stored, 0, -1)
    assert health.saturated_share(view) == 5 / flat.size
    plain = sum(1 for v in view.ravel() if v < 1e-6 or v > 1 - 1e-6)
    assert plain == 5


# ------------------------------------------------------------------ the quantities


def test_paper_largest_mu_is_the_encoders_own_output():
    gen = torch.Generator().manual_seed(5)
    options = paper.check_options({})
    m = paper.build("AVA3", 6, gen, options, latent=2, hidden=[4])
    x = torch.tensor([[0.1, 0.9, 0.3, 0.7, 0.2, 0.4]], dtype=torch.float64)
    # Independent forward pass: sigmoid hidden layer, linear mu, softplus sigma2.
    w0, b0, w1, b1 = (t.clone() for t in m.encoder.parameters())
    u = torch.sigmoid(x @ w0.T + b0) @ w1.T + b1
    m._encode(x)
    got = m.health()
    assert got["max_abs_mu"] == pytest.approx(float(u[0, :2].abs().max()), rel=1e-15)
    assert got["max_sigma2"] == pytest.approx(float(torch.nn.functional.softplus(u[0, 2:]).max()),
                                              rel=1e-15)
    # Nothing trained yet: every network is exactly as large as it started.
    assert set(got["parameter_norm_growth"]) == {"encoder", "decoder", "D"}
    assert all(g == 1.0 for g in got["parameter_norm_growth"].values())
    norm = math.sqrt(sum(float((p**2).sum()) for p in m.decoder.parameters()))
    assert got["parameter_norm"]["decoder"] == pytest.approx(norm, rel=1e-15)


def test_author_parameter_norm_counts_every_collapsed_unit(orbit_images):
    options = author.check_options({})
    collapsed = author.train(orbit_images[:3], "AVA5", 0.3, np.random.default_rng(2), author.check_options(options))
    full = author.train(orbit_images[:3], "AVA5", 0.3, np.random.default_rng(2),
                        author.check_options({**options, "collapse_hidden": False}))
    for name, net in full.named_networks():
        # The uncollapsed network's norm straight from its arrays.
        direct = math.sqrt(sum(float((w**2).sum()) for w in net.weights)
                           + sum(float((b**2).sum()) for b in net.biases))
        assert direct > 0
        got = dict(collapsed.named_networks())[name].parameter_norm()
        assert got == pytest.approx(direct, rel=1e-9), name
    assert collapsed.health()["max_abs_mu"] == pytest.approx(full.health()["max_abs_mu"], rel=1e-9)


# ------------------------------------------------------------------ the rule on real seeds


def paper_seed(images, model, lr, seed, dtype):
    run, _ = run_seed(images, load("paper"), model, lr, seed, load("paper").check_options({"dtype": dtype}))
    return run


@pytest.mark.parametrize("seed", [0, 1])
def test_blown_up_paper_seed_is_not_ok_in_either_dtype(orbit_images, seed):
    # AVA1 at γ = 1.0: |μ| reaches ~1e45 in float64 and overflows float32.
    double = paper_seed(orbit_images, "AVA1", 1.0, seed, "float64")
    single = paper_seed(orbit_images, "AVA1", 1.0, seed, "float32")
    assert double["status"] == "unstable" and double["health"]["max_abs_mu"] > 1e20
    assert single["status"] in ("unstable", "diverged")
    assert "μ" in double["reason"]


@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_paper_seed_is_ok_in_both_dtypes_and_agrees(orbit_images, seed):
    double = paper_seed(orbit_images, "VAE", 0.1, seed, "float64")
    single = paper_seed(orbit_images, "VAE", 0.1, seed, "float32")
    assert double["status"] == single["status"] == "ok"
    assert abs(double["bm"] - single["bm"]) < 1e-5
    assert double["health"]["max_abs_mu"] < health.LATENT_BOUND


@pytest.mark.slow
def test_every_author_cell_of_the_default_grid_is_ok(orbit_images):
    # The author's encoder outputs pass through a logistic: they lie in (0, 1) and the
    # rule cannot fire. This runs all 133 cells x 5 seeds to show it on the real frames.
    module = load("author")
    options = module.check_options({})
    for model in MODELS:
        for lr in LEARNING_RATES:
            for seed in range(5):
                run, _ = run_seed(orbit_images, module, model, lr, seed, options)
                assert run["status"] == "ok", (model, lr, seed, run["reason"])
                if model != "GAN":
                    assert 0 < run["health"]["max_abs_mu"] < 1


def test_saturated_share_of_a_torch_tensor_counts_what_numpy_counts():
    torch = pytest.importorskip("torch")
    values = np.array([0.0, 1e-7, 0.5, 1.0, 1 - 1e-7, 0.3, 1e-5, 1 - 1e-5])
    by_hand = health.saturated_share(values)
    assert health.saturated_share(torch.tensor(values)) == by_hand == pytest.approx(4 / 8)
    pixels = np.random.default_rng(2).uniform(-0.01, 1.01, (6, 5, 40, 3))  # 2% out of [0, 1]
    assert health.saturated_share(torch.tensor(pixels)) == health.saturated_share(pixels) > 0
    assert math.isnan(health.saturated_share(torch.tensor([])))
    edges = np.array([0.0, 5e-7, 1e-6, 0.5, 1 - 1e-6, 1 - 5e-7, 1.0, 0.3])  # strictly within 1e-6
    assert health.saturated_share(torch.tensor(edges)) == health.saturated_share(edges) == 4 / 8
