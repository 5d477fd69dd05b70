"""Collected rank-1 updates (avarep.deferred) give the numbers of updating at once.

A DeferredMatrix is checked against a plain numpy matrix updated eagerly; the paper protocol
with collected updates against the same protocol updating every layer at once, for every
model: on small networks with every layer collecting (so that collections fill and are added
many times), and on the paper's frames at the default setting.
"""

import numpy as np
import pytest
import torch

from avarep import deferred
from avarep.deferred import DeferredMatrix
from avarep.protocols import paper
from avarep.seeding import rng_for
from avarep.sweep import MODELS

ROWS, COLS = 5, 7


def random_ops(rng, count):
    """A mixed sequence: updates of 1, 2 and 4 terms, and products on either side."""
    for _ in range(count):
        kind = rng.choice(["update", "left", "right"])
        n = int(rng.choice([1, 2, 4]))
        if kind == "update":
            yield kind, rng.standard_normal((n, ROWS)), rng.standard_normal((n, COLS)), float(rng.uniform(-1, 1))
        elif kind == "left":
            yield kind, rng.standard_normal((n, ROWS)), rng.standard_normal(COLS), None
        else:
            yield kind, rng.standard_normal((n, COLS)), rng.standard_normal(ROWS), None


@pytest.mark.parametrize("capacity", [0, 1, 3, 8])
def test_a_deferred_matrix_equals_eager_updates(capacity):
    rng = np.random.default_rng(capacity)
    reference = rng.standard_normal((ROWS, COLS))
    m = DeferredMatrix(torch.tensor(reference), capacity)
    for kind, first, second, alpha in random_ops(rng, 200):
        a, b = torch.tensor(first), torch.tensor(second)
        if kind == "update":
            m.add_outer(a, b, alpha)
            reference += alpha * first.T @ second
        elif kind == "left":
            np.testing.assert_allclose(m.left_product(a, b).numpy(), second + first @ reference, rtol=0, atol=1e-12)
            np.testing.assert_allclose(m.left_product(a).numpy(), first @ reference, rtol=0, atol=1e-12)
        else:
            np.testing.assert_allclose(m.right_product(a, b).numpy(), second + first @ reference.T, rtol=0, atol=1e-12)
        assert m.count <= capacity
    np.testing.assert_allclose(m.settled().numpy(), reference, rtol=0, atol=1e-12)
    assert m.count == 0


@pytest.mark.parametrize("pending", [0, 3])
def test_a_product_of_many_rows_adds_its_bias_after_the_product(pending):
    """Generation's products (deferred.MANY_ROWS rows or more: a cell seed's 360 images) add
    the bias after the product; the numbers are the reference's, pending updates included,
    and nothing is settled on the way."""
    rng = np.random.default_rng(pending)
    reference = rng.standard_normal((ROWS, COLS))
    m = DeferredMatrix(torch.tensor(reference), capacity=4)
    for _ in range(pending):
        a, b = rng.standard_normal((1, ROWS)), rng.standard_normal((1, COLS))
        m.add_outer(torch.tensor(a), torch.tensor(b), 0.5)
        reference += 0.5 * a.T @ b
    h, bias = rng.standard_normal((deferred.MANY_ROWS + 1, ROWS)), rng.standard_normal(COLS)
    got = m.left_product(torch.tensor(h), torch.tensor(bias))
    np.testing.assert_allclose(got.numpy(), bias + h @ reference, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.left_product(torch.tensor(h)).numpy(), h @ reference, rtol=0, atol=1e-12)
    assert m.count == pending


def test_a_remembered_product_is_not_reused_after_an_in_place_write():
    """The same input tensor, written in place, or the matrix written through settled(),
    must not get the product remembered from before."""
    m = DeferredMatrix(torch.eye(3, dtype=torch.float64), capacity=4)
    x = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    assert m.right_product(x).tolist() == [[1.0, 2.0, 3.0]]
    assert m.passes == 1
    assert m.right_product(x).tolist() == [[1.0, 2.0, 3.0]]
    assert m.passes == 1  # reused
    x.mul_(2)
    assert m.right_product(x).tolist() == [[2.0, 4.0, 6.0]]
    m.settled().mul_(10)
    assert m.right_product(x).tolist() == [[20.0, 40.0, 60.0]]
    assert m.passes == 3
    # A pending update is applied to a reused product too: M[0, 2] += 0.5 adds 0.5 x_2.
    m.add_outer(torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64),
                torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64), 0.5)
    assert m.right_product(x).tolist() == [[23.0, 40.0, 60.0]]
    assert m.passes == 3


def trained(model, monkeypatch, defer_from, steps=30, lr=0.5):
    """A small model trained online with every layer collecting (defer_from=0) or none."""
    monkeypatch.setattr(paper, "DEFER_FROM_WEIGHTS", defer_from)
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(steps, 12, generator=gen, dtype=torch.float64)
    m = paper.build(model, 12, torch.Generator().manual_seed(11), paper.check_options({}),
                    latent=2, hidden=[6], check_each_step=False)
    with torch.no_grad():
        paper.fit(m, x, lr)
        sample = m.sample(x[:3], 4, torch.Generator().manual_seed(5))
    return m, sample


@pytest.mark.parametrize("model", MODELS)
def test_collected_updates_train_every_model_as_eager_updates(model, monkeypatch):
    collected, collected_sample = trained(model, monkeypatch, defer_from=0)
    eager, eager_sample = trained(model, monkeypatch, defer_from=10**12)
    assert all(matrix.capacity for net in collected.networks().values() for matrix in net.matrices)
    assert not any(matrix.capacity for net in eager.networks().values() for matrix in net.matrices)
    for name, net in eager.networks().items():
        for p_eager, p_collected in zip(net.parameters(), collected.networks()[name].parameters()):
            np.testing.assert_allclose(p_collected.numpy(), p_eager.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(collected_sample.numpy(), eager_sample.numpy(), rtol=0, atol=1e-12)
    for key, value in eager.health().items():
        expected = value if value is None else pytest.approx(value, rel=1e-12, abs=1e-12)
        assert collected.health()[key] == expected, key


@pytest.mark.parametrize("model", ["AVA5", "GAN"])
def test_the_paper_frames_train_with_collected_updates_as_with_eager_ones(model, orbit_images, monkeypatch):
    """At the default setting the 3P-wide layers of the paper's frames collect their updates
    (and nothing else does); BM and every parameter agree with eager updates."""
    images = orbit_images[:12]
    options = paper.check_options({})
    results = {}
    for label, defer_from in (("collected", paper.DEFER_FROM_WEIGHTS), ("eager", 10**12)):
        monkeypatch.setattr(paper, "DEFER_FROM_WEIGHTS", defer_from)
        rng = rng_for(model, 0.01, 0)
        t = paper.train(images, model, 0.01, rng, options)
        results[label] = t, t.generate(images, 2, rng)
    collected, eager = results["collected"][0].model, results["eager"][0].model
    wide = {"encoder": 0, "decoder": -1, "d": 0}
    for name, net in collected.networks().items():
        capacities = [m.capacity for m in net.matrices]
        expected = [0] * len(capacities)
        if name in wide:
            expected[wide[name]] = deferred.PENDING_UPDATES
        assert capacities == expected, name
        for p_collected, p_eager in zip(net.parameters(), eager.networks()[name].parameters()):
            np.testing.assert_allclose(p_collected.numpy(), p_eager.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(results["collected"][1], results["eager"][1], rtol=0, atol=1e-10)
