"""The rejected readings of the author's code (spec 5.6): each option's effect, checked by hand.

Every test runs a tiny network (4 pixels, 1-2 images) and compares what the implementation
did against a value worked out by hand (written out below) or a few lines of independent
numpy. The constants used throughout, with zero weights and biases at the first step:

    every neuron's net input is u = 0, so its output is c = f(0) = 1 / (1 + e^0.25)
    f'(0) = 0.5 c (1 - c)
    A(c) = a'(c) / (1 - c) = 0.5 c (1 - c) / (1 - c) = 0.5 c        (2023-12 build)
"""

import copy
import math

import numpy as np
import pytest

from avarep import readings
from avarep.cell import run_seed
from avarep.protocols import author
from avarep.protocols.author import AuthorModel, channels_first

N_LATENT = 10
C = 1.0 / (1.0 + math.exp(0.25))  # f(0)
SLOPE0 = 0.5 * C * (1.0 - C)  # f'(0)

# Two 4-pixel RGB images, channels deliberately different.
X1 = np.array([[0.9, 0.1, 0.5], [0.2, 0.7, 0.3], [0.6, 0.4, 0.8], [0.0, 1.0, 0.25]])
X2 = np.array([[0.3, 0.8, 0.1], [0.5, 0.5, 0.9], [0.1, 0.2, 0.4], [0.7, 0.6, 0.05]])
IMAGES = np.stack([X1, X2])


def model_with(name, collapse=True, **options):
    return AuthorModel(name, 4, author.check_options({"collapse_hidden": collapse, **options}), lr=0.3)


def spy_updates(net):
    """Record (activations, output_error) of every call to ``net.update``."""
    calls = []
    original = net.update

    def spy(activations, output_error, lr):
        calls.append(([a.copy() for a in activations], output_error.copy()))
        return original(activations, output_error, lr)

    net.update = spy
    return calls


def logistic(u):
    return 1.0 / (1.0 + np.exp(0.5 * (0.5 - u)))


def naive_forward(weights, biases, x):
    """A plain per-channel MLP (full layers, no collapse): x (3, n_in) -> (3, n_out)."""
    a = np.asarray(x, dtype=np.float64)
    for w, b in zip(weights, biases):
        a = logistic(np.einsum("ci,cij->cj", a, w) + b)
    return a


# =========================================================================================
# adversarial_derivative
# =========================================================================================


@pytest.mark.parametrize("derivative", [True, False])
def test_decoder_error_with_and_without_derivative_factor_first_step(derivative):
    """AVA1, first step: x' = c everywhere; the decoder's output bias is then lr * error."""
    lr = 0.3
    model = model_with("AVA1", adversarial_derivative=derivative)
    model.step(channels_first(X1, np.float64), lr, np.random.default_rng(0))
    x = X1.T  # (3, 4)
    if derivative:
        error = (x - C + 0.5 * C) * SLOPE0  # (x - x' + A) f'(u)
    else:
        error = (x - C) * SLOPE0 + 0.5 * C  # (x - x') f'(u) + A, A not multiplied by f'
    np.testing.assert_allclose(model.nets.decoder.biases[-1], lr * error, rtol=1e-13, atol=1e-16)


def test_no_derivative_changes_the_decoder_by_a_hand_checked_amount():
    lr = 0.3
    biases = {}
    for derivative in (True, False):
        model = model_with("AVA1", adversarial_derivative=derivative)
        model.step(channels_first(X1, np.float64), lr, np.random.default_rng(0))
        biases[derivative] = model.nets.decoder.biases[-1]
    # The two errors differ by A (1 - f'(0)) = 0.5 c (1 - f'(0)) at every pixel and channel.
    np.testing.assert_allclose(biases[False] - biases[True], lr * 0.5 * C * (1.0 - SLOPE0), rtol=1e-12)


@pytest.mark.parametrize("derivative", [True, False])
def test_encoder_error_with_and_without_derivative_factor_first_step(derivative):
    """AVA3, first step: mu = var = c; the encoder is updated twice, so bias = 2 lr error."""
    lr = 0.2
    model = model_with("AVA3", adversarial_derivative=derivative)
    model.step(channels_first(X1, np.float64), lr, np.random.default_rng(0))
    mu_error = (-C + 0.5 * C) * SLOPE0 if derivative else -C * SLOPE0 + 0.5 * C
    var_error = 0.5 * (1.0 / C) * SLOPE0
    bias = model.nets.encoder.biases[-1]
    np.testing.assert_allclose(bias[:, :N_LATENT], 2 * lr * mu_error, rtol=1e-13)
    np.testing.assert_allclose(bias[:, N_LATENT:], 2 * lr * var_error, rtol=1e-13)


def _trained(model_name, options, lr=0.4, seed=3):
    rng = np.random.default_rng(seed)
    trained = author.train(IMAGES, model_name, lr, rng, author.check_options(options))
    generated = trained.generate(IMAGES, 3, rng)
    return trained, generated


def _all_arrays(trained):
    nets = trained.nets
    out = [trained.mu, trained.variance]
    for net in (nets.encoder, nets.decoder, nets.decoder_discriminator, nets.encoder_discriminator):
        if net is not None:
            out += net.weights + net.biases
    return out


@pytest.mark.parametrize(
    "options", [{"adversarial_derivative": False}, {"adversarial_source": "discriminator"}]
)
def test_adversarial_readings_leave_the_vae_bit_identical(options):
    """The VAE has no adversarial term: these readings cannot change a single bit of it."""
    base, base_gen = _trained("VAE", {})
    other, other_gen = _trained("VAE", options)
    assert all(np.array_equal(a, b) for a, b in zip(_all_arrays(base), _all_arrays(other)))
    assert np.array_equal(base_gen, other_gen)


def test_no_derivative_changes_ava1():
    _, base_gen = _trained("AVA1", {})
    _, other_gen = _trained("AVA1", {"adversarial_derivative": False})
    assert np.abs(base_gen - other_gen).max() > 1e-3


# =========================================================================================
# z_per_channel
# =========================================================================================


@pytest.mark.parametrize("per_channel", [False, True])
def test_draw_z_shares_or_splits_r_across_channels(per_channel):
    model = model_with("VAE", z_per_channel=per_channel)
    model.mu = np.zeros((3, N_LATENT))
    model.variance = np.ones((3, N_LATENT))
    rng = np.random.default_rng(11)
    twin = copy.deepcopy(rng)
    z = model._draw_z(rng)
    assert z.shape == (3, N_LATENT)
    if per_channel:
        expected = twin.standard_normal((3, N_LATENT))
        assert not np.array_equal(z[0], z[1]) and not np.array_equal(z[1], z[2])
    else:
        expected = np.tile(twin.standard_normal(N_LATENT), (3, 1))
        assert np.array_equal(z[0], z[1]) and np.array_equal(z[1], z[2])
    assert np.array_equal(z, expected)
    # Both leave the generator in the state of exactly the draws above.
    assert rng.standard_normal() == twin.standard_normal()


@pytest.mark.parametrize("per_channel", [False, True])
def test_grey_images_stay_grey_only_with_a_shared_draw(per_channel):
    """Three identical channels + one shared r => three identical scalar networks."""
    grey = np.repeat(np.array([0.1, 0.6, 0.3, 0.9])[None, :, None], 3, axis=2)  # (1, 4, 3)
    trained = author.train(grey, "VAE", 0.5, np.random.default_rng(1), author.check_options({"z_per_channel": per_channel}))
    generated = trained.generate(grey, 2, np.random.default_rng(2))
    w = trained.nets.decoder.weights[0]
    if per_channel:
        assert not np.array_equal(w[0], w[1])
        assert not np.array_equal(generated[..., 0], generated[..., 1])
    else:
        assert np.array_equal(w[0], w[1]) and np.array_equal(w[1], w[2])
        assert np.array_equal(generated[..., 0], generated[..., 1])
        assert np.array_equal(generated[..., 1], generated[..., 2])


# =========================================================================================
# dtype
# =========================================================================================


@pytest.mark.parametrize("model", ["AVA1", "AVA3"])
def test_float32_weights_and_state(model):
    trained = author.train(IMAGES, model, 0.5, np.random.default_rng(0), author.check_options({"dtype": "float32"}))
    arrays = _all_arrays(trained)
    assert arrays and all(a.dtype == np.float32 for a in arrays)
    reference = author.train(IMAGES, model, 0.5, np.random.default_rng(0), author.check_options({}))
    assert all(a.dtype == np.float64 for a in _all_arrays(reference))


def test_float32_bm_close_to_float64_but_not_identical():
    rng = np.random.default_rng(42)
    images = rng.uniform(0.0, 1.0, size=(6, 16, 3))
    for model in ("AVA1", "VAE"):
        for lr in (0.5, 0.05):
            double, _ = run_seed(images, author, model, lr, 0, author.check_options({}))
            single, _ = run_seed(images, author, model, lr, 0, author.check_options({"dtype": "float32"}))
            assert double["status"] == single["status"] == "ok"
            assert abs(double["bm"] - single["bm"]) < 1e-3, (model, lr)
            assert double["bm"] != single["bm"], (model, lr)


# =========================================================================================
# retrain_per_test_image
# =========================================================================================


@pytest.mark.parametrize("model", ["AVA1", "VAE"])
def test_retrain_per_test_image_is_one_step_on_a_copy(model):
    lr, k = 0.4, 3
    trained = author.train(IMAGES, model, lr, np.random.default_rng(5), author.check_options({"retrain_per_test_image": True}))
    snapshot = copy.deepcopy(trained)
    rng = np.random.default_rng(9)
    twin = copy.deepcopy(rng)
    generated = trained.generate(IMAGES, k, rng)

    # Independently: a fresh copy per test image, one step on it, then K draws, one stream.
    for i, image in enumerate(IMAGES):
        clone = copy.deepcopy(snapshot)
        clone.step(channels_first(image, np.float64), lr, twin)
        assert clone.log["steps"] == snapshot.log["steps"] + 1
        r = twin.standard_normal((k, N_LATENT))
        z = clone.mu[:, None, :] + np.sqrt(clone.variance)[:, None, :] * r[None]
        expected = np.moveaxis(clone.nets.decoder.output(z), 0, -1)  # (K, P, 3)
        assert np.array_equal(generated[i], expected), i

    # The trained model itself is untouched by generation.
    assert trained.log == snapshot.log
    assert all(np.array_equal(a, b) for a, b in zip(_all_arrays(trained), _all_arrays(snapshot)))

    # And the option matters: without it the same model and stream generate otherwise.
    plain = copy.deepcopy(snapshot)
    plain.options = {**plain.options, "retrain_per_test_image": False}
    assert not np.array_equal(plain.generate(IMAGES, k, np.random.default_rng(9)), generated)


# =========================================================================================
# adversarial_source = "discriminator"
# =========================================================================================


def test_discriminator_term_first_step_hand_value():
    """d has zero weights at the first step: d0 = d(x') = c, term a'(c)/(1 - c) = 0.5 c."""
    lr = 0.3
    model = model_with("AVA1", adversarial_source="discriminator")
    calls = spy_updates(model.nets.decoder)
    model.step(channels_first(X1, np.float64), lr, np.random.default_rng(0))
    (_, error), = calls
    np.testing.assert_allclose(error, (X1.T - C + 0.5 * C) * SLOPE0, rtol=1e-13)


@pytest.mark.parametrize("build", ["2023-12", "2024-06"])
def test_decoder_discriminator_term_second_step(build):
    """At step 2 the term is a'(d0)/(1 - d0) with d0 = d(x') from the trained d, per channel."""
    lr = 0.5
    model = model_with("AVA1", collapse=False, adversarial_source="discriminator", author_build=build)
    rng = np.random.default_rng(4)
    model.step(channels_first(X1, np.float64), lr, rng)
    d = model.nets.decoder_discriminator
    d_weights, d_biases = copy.deepcopy(d.weights), copy.deepcopy(d.biases)
    calls = spy_updates(model.nets.decoder)
    model.step(channels_first(X2, np.float64), lr, rng)
    (activations, error), = calls
    out = activations[-1]  # x', (3, 4)
    d0 = naive_forward(d_weights, d_biases, out)  # (3, 1), d before its step-2 update
    if build == "2023-12":
        term = 0.5 * d0  # a'(d0)/(1 - d0) = 0.5 d0 (1 - d0)/(1 - d0)
    else:
        fd = logistic(d0)
        term = 0.5 * fd * (1.0 - fd) / (1.0 - d0)
    slope = 0.5 * out * (1.0 - out)
    np.testing.assert_allclose(error, (X2.T - out + term) * slope, rtol=1e-12)
    # One value per channel, the same for every pixel ...
    implied = error / slope - (X2.T - out)
    np.testing.assert_allclose(implied, np.repeat(implied[:, :1], 4, axis=1), rtol=1e-10)
    # ... and not the activation reading's A(x'), which varies per pixel.
    activation_term = author.adversarial_term(out, build)
    assert np.abs(activation_term - term).max() > 1e-6


def test_encoder_discriminator_term_uses_the_stored_mu():
    """AVA3: D0 = D(stored mu); zero weights and mu = 0 at step 1 give D0 = c; later D(mu(x'))."""
    lr = 1.0
    model = model_with("AVA3", collapse=False, adversarial_source="discriminator")
    rng = np.random.default_rng(4)
    calls = spy_updates(model.nets.encoder)
    model.step(channels_first(X1, np.float64), lr, rng)
    assert len(calls) == 2  # the double update, the same error twice
    for _, error in calls:
        np.testing.assert_allclose(error[:, :N_LATENT], (-C + 0.5 * C) * SLOPE0, rtol=1e-13)

    for image in (X2, X1):  # two more steps, so that D and the stored mu have moved
        model.step(channels_first(image, np.float64), lr, rng)
    stored_mu = model.mu.copy()  # mu(x') from the last re-encoding
    big_d = model.nets.encoder_discriminator
    d_weights, d_biases = copy.deepcopy(big_d.weights), copy.deepcopy(big_d.biases)
    calls.clear()
    model.step(channels_first(X2, np.float64), lr, rng)
    activations, error = calls[0]
    mu = activations[-1][:, :N_LATENT]
    big_d0 = naive_forward(d_weights, d_biases, stored_mu)  # (3, 1)
    expected = (-mu + 0.5 * big_d0) * 0.5 * mu * (1.0 - mu)
    np.testing.assert_allclose(error[:, :N_LATENT], expected, rtol=1e-12)
    # Evaluating D on this image's mu instead of the stored one gives another error.
    wrong = (-mu + 0.5 * naive_forward(d_weights, d_biases, mu)) * 0.5 * mu * (1.0 - mu)
    assert np.abs(wrong - error[:, :N_LATENT]).max() > 1e-11


# =========================================================================================
# Option handling
# =========================================================================================


@pytest.mark.parametrize(
    "key, bad",
    [
        ("author_build", "2025-01"),
        ("dtype", "float16"),
        ("collapse_hidden", "yes"),
        ("adversarial_derivative", 0),
        ("z_per_channel", "true"),
        ("retrain_per_test_image", 1),
        ("adversarial_source", "both"),
    ],
)
def test_invalid_option_values_name_the_key(key, bad):
    with pytest.raises(ValueError, match=key):
        author.check_options({key: bad})


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match="adversarial_dervative"):
        author.check_options({"adversarial_dervative": False})


def test_readings_options_is_a_copy_and_rejects_unknown_names():
    got = readings.options("2024-06")
    got["dtype"] = "float32"
    assert readings.READINGS["2024-06"] == {"author_build": "2024-06"}
    assert readings.options("2024-06") == {"author_build": "2024-06"}
    with pytest.raises(ValueError, match="no-such-reading"):
        readings.options("no-such-reading")


def test_every_reading_is_valid_and_changes_one_default():
    assert readings.ACCEPTED in readings.READINGS
    assert author.check_options(readings.options(readings.ACCEPTED)) == author.DEFAULT_OPTIONS
    for name in readings.READINGS:
        merged = author.check_options(readings.options(name))
        changed = {k for k in merged if merged[k] != author.DEFAULT_OPTIONS[k]}
        # Cumulative retraining is a variant of retraining: it switches both on.
        expected = {readings.ACCEPTED: 0, "retrain-cumulative": 2}.get(name, 1)
        assert len(changed) == expected, (name, changed)
    assert len(readings.READINGS) == 12


def test_no_option_is_a_fitted_constant():
    """Every option is a switch (bool) or the name of a reading, never a tuned number."""
    known = set(author.BUILDS) | set(author.SOURCES) | set(author.STEP_ORDERS) | {"float64", "float32"}
    for key, value in author.DEFAULT_OPTIONS.items():
        assert isinstance(value, bool) or value in known, (key, value)
    for options in readings.READINGS.values():
        for key, value in options.items():
            assert isinstance(value, bool) or value in known, (key, value)
