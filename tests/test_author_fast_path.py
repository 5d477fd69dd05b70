"""The author protocol's fast paths give the numbers of the plain per-seed, per-image path.

Speed work (issue 13) replaced matmul by a broadcast multiply where a collapsed layer makes
the inner dimension 1, decodes each test image's generations straight into the output array,
and draws every test image's r in one block. The reference below is the code as it was: plain
``np.matmul`` everywhere and one draw and one decoder pass per test image.
"""

import numpy as np
import pytest

from avarep.protocols import author
from avarep.sweep import MODELS

MULTIPLY_PATH = author.layer_product


def matmul_only(a, b, out=None):
    return np.matmul(a, b, out=out)


def reference_output(net, x):
    """ChannelMLP.forward's last layer, computed the old way (matmul, fresh arrays)."""
    activation = x
    for weight, bias, mult in zip(net.weights, net.biases, net.multiplicity):
        net_input = np.matmul(activation * mult, weight) + bias[:, None, :]
        activation = 1.0 / (1.0 + np.exp(0.5 * (0.5 - net_input)))
    return activation


def reference_generate(model, test_images, k, rng):
    """One draw and one decoder pass per test image, copied into a channels-first array."""
    generated = np.empty((test_images.shape[0], 3, k, test_images.shape[1]))
    for i in range(test_images.shape[0]):
        r = model._draw_r(rng, k)
        z = r if model.flags.gan else model.mu[:, None, :] + np.sqrt(model.variance)[:, None, :] * r
        generated[i] = reference_output(model.nets.decoder, z)
    return np.moveaxis(generated, 1, -1)


def images(n=5, p=40, seed=0):
    return np.random.default_rng(seed).random((n, p, 3))


def train_both(model, data, options, monkeypatch):
    """(fast model, reference model): the same seed, trained with and without the multiply."""
    fast = author.train(data, model, 0.6, np.random.default_rng(3), author.check_options(options))
    with monkeypatch.context() as patch:
        patch.setattr(author, "layer_product", matmul_only)
        slow = author.train(data, model, 0.6, np.random.default_rng(3), author.check_options(options))
    return fast, slow


def assert_same_weights(fast, slow):
    for (name, a), (_, b) in zip(fast.named_networks(), slow.named_networks()):
        for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
            np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("options", [{}, {"z_per_channel": True}, {"collapse_hidden": False}],
                         ids=["default", "z_per_channel", "uncollapsed"])
def test_training_and_generation_equal_the_reference(model, options, monkeypatch):
    data = images()
    fast, slow = train_both(model, data, options, monkeypatch)
    assert_same_weights(fast, slow)
    got = fast.generate(data, 4, np.random.default_rng(8))
    expected = reference_generate(slow, data, 4, np.random.default_rng(8))
    assert got.shape == expected.shape == (5, 4, 40, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("model", ["AVA5", "GAN"])
def test_retraining_before_generation_equals_the_reference(model, monkeypatch):
    """The retraining reading interleaves steps and draws: it keeps its per-image loop."""
    data = images(n=3)
    options = {"retrain_per_test_image": True}
    fast, slow = train_both(model, data, options, monkeypatch)
    got = fast.generate(data, 2, np.random.default_rng(1))
    with monkeypatch.context() as patch:
        patch.setattr(author, "layer_product", matmul_only)
        expected = slow.generate(data, 2, np.random.default_rng(1))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_float32_models_still_return_float64_images():
    data = images(n=2)
    trained = author.train(data, "VAE", 0.5, np.random.default_rng(0), author.check_options({"dtype": "float32"}))
    got = trained.generate(data, 3, np.random.default_rng(2))
    expected = reference_generate(trained, data, 3, np.random.default_rng(2))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_one_block_of_draws_equals_draws_in_turn():
    """What _draw_r_block relies on: numpy fills a block in the order of draws taken in turn."""
    block = np.random.default_rng(4).standard_normal((6, 10, 10))
    rng = np.random.default_rng(4)
    in_turn = np.stack([rng.standard_normal((10, 10)) for _ in range(6)])
    np.testing.assert_array_equal(block, in_turn)


@pytest.mark.parametrize("shapes", [((3, 7, 1), (3, 1, 5)), ((3, 4, 1), (3, 1, 1)),
                                    ((3, 7, 4), (3, 4, 5))])
def test_layer_product_is_matmul(shapes):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    np.testing.assert_array_equal(MULTIPLY_PATH(a, b), np.matmul(a, b))
    out = np.empty(np.matmul(a, b).shape)
    assert MULTIPLY_PATH(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
