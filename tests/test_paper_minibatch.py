"""The paper protocol generalised to C channels and minibatches (the Fashion-MNIST study).

* B = 1, C = 3 is the main grid: ``run_seed`` on 4 orbit frames reproduces, to 1e-12, the
  numbers the code produced *before* the generalisation (commit bc9d944), which
  ``fixtures/paper_main_reference.json`` holds (written by that commit's code, not this one).
* B > 1: one step equals gradient ascent with autograd on the minibatch mean of the
  per-example objectives (the independent reference of ``test_paper_protocol``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avarep.cell import run_seed
from avarep.protocols import paper
from avarep.sweep import MODELS
from test_paper_protocol import F64, HIDDEN, LR, N_LATENT, P_TINY, reference_step, snapshot

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "paper_main_reference.json").read_text())
# A few cells keep the test fast: every kind of model, stable and unstable seeds.
CELLS = [("AVA5", 0.05), ("AVA2", 0.5), ("AVA4", 0.05), ("VAE", 0.5), ("GAN", 0.5)]


@pytest.mark.parametrize("model,lr", CELLS)
def test_main_grid_numbers_do_not_move(orbit_images, model, lr):
    (expected,) = [c for c in REFERENCE["cells"] if c["model"] == model and c["lr"] == lr]
    run, generated = run_seed(orbit_images[:4], paper, model, lr, 0, paper.check_options({}),
                                keep_samples=True)
    assert run["status"] == expected["status"]
    assert run["bm"] == pytest.approx(expected["bm"], rel=0, abs=1e-12)
    assert float(generated.sum()) == pytest.approx(expected["generated_sum"], rel=1e-12)
    np.testing.assert_allclose(generated.reshape(-1)[:5], expected["generated_first"], rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_minibatch_step_is_the_mean_of_per_example_steps(model):
    B = 3
    gen = torch.Generator().manual_seed(5)
    m = paper.build(model, 3 * P_TINY, gen, F64, latent=N_LATENT, hidden=HIDDEN)
    g = np.random.default_rng(8)
    x = torch.tensor(g.random((B, 3 * P_TINY)))
    r = torch.tensor(g.standard_normal((B, N_LATENT)))
    # the objectives sum the per-example terms: ascending them with gamma / B is the mean step
    expected = reference_step(model, snapshot(m), x, r, LR / B)
    with torch.no_grad():
        m.step(x, r, LR)
    got = snapshot(m)
    for name in got:
        for (w, b), (we, be) in zip(got[name], expected[name]):
            assert torch.allclose(w, we, rtol=0, atol=1e-12), (model, name)
            assert torch.allclose(b, be, rtol=0, atol=1e-12), (model, name)


def test_one_channel_images_build_the_author_rule_sizes():
    m = paper.build("AVA5", 784, torch.Generator().manual_seed(0), F64, channels=1)
    assert m.encoder.sizes == [784, 100, 20] and m.decoder.sizes == [10, 100, 784]
    assert m.d.sizes == [784, 100, 1] and m.D.sizes == [10, 100, 1]


def test_fit_with_epochs_and_shuffle_is_deterministic_and_counts_steps():
    x = torch.tensor(np.random.default_rng(0).random((10, 3 * P_TINY)))
    out = []
    for _ in range(2):
        m = paper.build("AVA1", 3 * P_TINY, torch.Generator().manual_seed(1), F64,
                        latent=N_LATENT, hidden=HIDDEN)
        with torch.no_grad():
            paper.fit(m, x, 0.1, epochs=2, batch=4, shuffle=True)
        out.append(snapshot(m))
        assert m.steps == 2 * 3  # ceil(10 / 4) minibatches per epoch
    for name in out[0]:
        for (w, _), (w2, _) in zip(out[0][name], out[1][name]):
            assert torch.equal(w, w2)
