"""Protocol ``author``: the seven models exactly as the author's Java code computed them.

Spec section 5. Every quirk below is deliberate, because these quirks produced the
published numbers:

* per-colour-channel networks: each weight and bias is a 3-vector and all arithmetic is
  element-wise per channel, so a network is three scalar networks sharing the draws r;
* every non-input neuron uses the shifted logistic f(u) = 1 / (1 + exp(0.5 (0.5 - u)));
* every weight and bias starts at zero;
* backpropagation updates a layer and then uses the *already updated* weights to compute
  the error of the layer below; networks trained without a target (encoder, both
  discriminators) are updated twice in a row with the same error;
* the "adversarial" term of an output neuron with value v is A(v) = a'(v) / (1 - v), built
  from the neuron's own value, never from a discriminator -- so the discriminators are
  trained and logged but cannot change the generated images;
* generation does not encode the test image: z comes from the encoder's stored state.

``author_build`` picks the a' convention (spec 5.3/5.6): ``2023-12`` (the build behind the
paper) takes the neuron's output value, a'(v) = 0.5 v (1 - v); ``2024-06`` (the later public
build) feeds that output value to a derivative that expects a net input,
a'(v) = 0.5 f(v) (1 - f(v)).

Speed: with zero initialisation every hidden unit of a layer stays identical for ever, so a
hidden layer of h units is computed as one unit counted h times (``collapse_hidden``). The
tests prove it equal, to rounding, to the full computation on the real layer sizes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..health import SATURATION
from ..layers import hidden_sizes
from .. import models
from ..sweep import LATENT_DIM, LEARNING_RATES
from . import Diverged

#: The smallest variance the Java code lets through (Float.MIN_VALUE), spec 5.3.
MIN_VARIANCE = 1.4e-45

BUILDS = ("2023-12", "2024-06")
DEFAULT_OPTIONS = {
    "author_build": "2023-12",
    "dtype": "float64",
    "collapse_hidden": True,
    # Readings that spec 5.6 tried and rejected; each is off by default and none contains a
    # constant fitted to the published numbers. The fidelity study runs each of them.
    "adversarial_derivative": True,  # False: A(v) added without the f'(u) factor
    "adversarial_source": "activation",  # "discriminator": the paper's a'(d0)/(1 - d0) term
    "z_per_channel": False,  # True: an independent r per colour channel
    "retrain_per_test_image": False,  # True: the 2024 code's fine-tuning before generation
    # Candidate sources of the published run's extra run-to-run spread (issue 14); each is
    # off by default and none contains a constant fitted to the published numbers.
    "retrain_cumulative": False,  # with retraining: one model keeps every test-image step
    "generations_shared": False,  # True: K generations drawn once for all test images
    "step_order": "encoder-first",  # the order of the steps within one training image
    "carried_state": False,  # True: stored mu, var, d outputs left by the previous gamma's cell
}
SOURCES = ("activation", "discriminator")
#: encoder-first: encoder, z, decoder, d, D (spec 5.3). z-first: z from the state the
#: previous image left, then encoder, decoder, d, D. discriminators-first: d and D see the
#: decoder's output before its update.
STEP_ORDERS = ("encoder-first", "z-first", "discriminators-first")
BOOLEAN_OPTIONS = ("collapse_hidden", "adversarial_derivative", "z_per_channel", "retrain_per_test_image",
                   "retrain_cumulative", "generations_shared", "carried_state")


def check_options(options: dict) -> dict:
    """Fill defaults and reject unknown or invalid options, naming the key."""
    # device and threads are the registry's (avarep.protocols): the collapsed networks do
    # O(P) work per step, so the author protocol is registered CPU-only.
    unknown = set(options) - set(DEFAULT_OPTIONS) - {"device", "threads"}
    if unknown:
        raise ValueError(f"unknown author-protocol option(s): {', '.join(sorted(unknown))}")
    merged = {**DEFAULT_OPTIONS, **{k: v for k, v in options.items() if k in DEFAULT_OPTIONS}}
    if merged["author_build"] not in BUILDS:
        raise ValueError(f"author_build must be one of {BUILDS}, got {merged['author_build']!r}")
    if merged["dtype"] not in ("float64", "float32"):
        raise ValueError(f"dtype must be float64 or float32, got {merged['dtype']!r}")
    for key in BOOLEAN_OPTIONS:
        if not isinstance(merged[key], bool):
            raise ValueError(f"{key} must be true or false, got {merged[key]!r}")
    if merged["adversarial_source"] not in SOURCES:
        raise ValueError(f"adversarial_source must be one of {SOURCES}, got {merged['adversarial_source']!r}")
    if merged["step_order"] not in STEP_ORDERS:
        raise ValueError(f"step_order must be one of {STEP_ORDERS}, got {merged['step_order']!r}")
    if merged["retrain_cumulative"] and not merged["retrain_per_test_image"]:
        raise ValueError("retrain_cumulative needs retrain_per_test_image: true")
    if merged["generations_shared"] and merged["retrain_per_test_image"]:
        raise ValueError("generations_shared and retrain_per_test_image exclude each other "
                         "(shared generations come from one model, retraining makes one per test image)")
    return merged


# --- the neuron ------------------------------------------------------------------------


def logistic(u):
    """The author's activation: logistic with slope 0.5, shifted by 0.5."""
    return 1.0 / (1.0 + np.exp(0.5 * (0.5 - u)))


def logistic_inplace(u):
    """logistic(u) computed in u's own memory (the same bits: halving is exact)."""
    np.subtract(0.5, u, out=u)
    u *= 0.5
    np.exp(u, out=u)
    u += 1.0
    return np.reciprocal(u, out=u)


def derivative_at_output(y):
    """f'(u) written through the neuron's output y = f(u)."""
    return 0.5 * y * (1.0 - y)


def a_prime(v, build: str):
    """The derivative function as the adversarial and discriminator terms call it.

    It is always handed an output value v; the 2024-06 build treats v as a net input.
    """
    if build == "2023-12":
        return derivative_at_output(v)
    fv = logistic(v)
    return 0.5 * fv * (1.0 - fv)


def safe_ratio(numerator, denominator):
    """numerator / denominator per neuron, as the Java vector division did it.

    Arrays are (3, neurons): a neuron whose denominator is exactly 0 in any channel gets
    no term at all (the Java division returned null for the whole 3-vector).
    """
    dead = np.any(denominator == 0, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator / denominator
    if dead.any():
        ratio[:, dead] = 0.0
    return ratio


def adversarial_term(v, build: str):
    """A(v) = a'(v) / (1 - v) from the neuron's own output value v (spec 5.3)."""
    return safe_ratio(a_prime(v, build), 1.0 - v)


def discriminator_error(real, fake, build: str):
    """a'(d(x)) / d(x) - a'(d(x')) / (1 - d(x')): the discriminator's output error."""
    return safe_ratio(a_prime(real, build), real) - safe_ratio(a_prime(fake, build), 1.0 - fake)


# --- the network -----------------------------------------------------------------------


def layer_product(a, b, out=None):
    """np.matmul(a, b) for stacks of matrices (3, m, k) @ (3, k, n).

    A collapsed layer makes k = 1, where the product is one multiplication per entry:
    a broadcast multiply gives the same numbers several times faster than matmul's
    batched kernel (the generated images' layer is most of a seed's time).
    """
    if a.shape[-1] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


class ChannelMLP:
    """A fully connected per-channel network with the author's update rule (spec 5.2).

    Activations are arrays (3, width): one row per colour channel. ``weights[l]`` is
    (3, width_l, width_l+1). With ``collapse`` every hidden layer is stored as one unit
    that stands for ``multiplicity`` identical units: sums over a layer's units become a
    multiplication by the multiplicity, which is exact up to rounding because zero
    initialisation keeps every unit of a layer identical.
    """

    def __init__(self, n_in: int, hidden: list[int], n_out: int, dtype, collapse: bool):
        real = [n_in, *hidden, n_out]
        stored = [n_in, *([1] * len(hidden) if collapse else hidden), n_out]
        self.layer_sizes = real
        self.multiplicity = [
            np.full(width, real[i] if (collapse and 0 < i < len(real) - 1) else 1, dtype=dtype)
            for i, width in enumerate(stored)
        ]
        self.weights = [np.zeros((3, a, b), dtype=dtype) for a, b in zip(stored, stored[1:])]
        self.biases = [np.zeros((3, b), dtype=dtype) for b in stored[1:]]

    def forward(self, x, out=None):
        """Activations of every layer for input x of shape (3, n_in) or (3, batch, n_in).

        ``out`` (3, batch, n_out), if given, receives the output layer (no temporary, no copy).
        """
        single = x.ndim == 2
        activations = [x[:, None, :] if single else x]
        last = len(self.weights) - 1
        for layer, (weight, bias, mult) in enumerate(zip(self.weights, self.biases, self.multiplicity)):
            target = out if layer == last else None
            net = layer_product(activations[-1] * mult, weight, out=target)
            net += bias[:, None, :]
            activations.append(logistic_inplace(net))
        return [a[:, 0, :] for a in activations] if single else activations

    def output(self, x, out=None):
        return self.forward(x, out)[-1]

    def update(self, activations, output_error, lr):
        """One backward sweep: update a layer, then propagate through the updated weights."""
        error = output_error
        for layer in range(len(self.weights) - 1, -1, -1):
            below = activations[layer]
            self.biases[layer] += lr * error
            self.weights[layer] += lr * below[:, :, None] * error[:, None, :]
            if layer > 0:
                spread = layer_product(self.weights[layer], (error * self.multiplicity[layer + 1])[:, :, None])
                error = derivative_at_output(below) * spread[:, :, 0]

    def parameter_norm(self) -> float:
        """Euclidean norm of the real (uncollapsed) network's weights and biases: a stored
        entry stands for as many equal entries as its two layers' multiplicities."""
        total = 0.0
        for weight, bias, rows, cols in zip(self.weights, self.biases, self.multiplicity,
                                            self.multiplicity[1:]):
            total += float(np.sum(weight**2 * rows[:, None] * cols[None, :]))
            total += float(np.sum(bias**2 * cols))
        return float(np.sqrt(total))

    def update_twice(self, activations, output_error, lr):
        """The double update of networks trained without a target (same error, same pass)."""
        self.update(activations, output_error, lr)
        self.update(activations, output_error, lr)


# --- the models ------------------------------------------------------------------------


@dataclass
class Networks:
    encoder: ChannelMLP | None
    decoder: ChannelMLP
    decoder_discriminator: ChannelMLP | None
    encoder_discriminator: ChannelMLP | None


def build_networks(n_pixels: int, parts: models.Model, dtype, collapse: bool) -> Networks:
    """Layer sizes of spec 5.1: hidden sizes from (P, n); d borrows the encoder's, D the decoder's."""
    n = LATENT_DIM
    encoder_hidden = hidden_sizes(n_pixels, n)
    decoder_hidden = hidden_sizes(n, n_pixels)
    encoder = None if parts.gan else ChannelMLP(n_pixels, encoder_hidden, 2 * n, dtype, collapse)
    decoder = ChannelMLP(n, decoder_hidden, n_pixels, dtype, collapse)
    d = ChannelMLP(n_pixels, encoder_hidden, 1, dtype, collapse) if parts.decoder_discriminator else None
    big_d = ChannelMLP(n, decoder_hidden, 1, dtype, collapse) if parts.encoder_discriminator else None
    return Networks(encoder, decoder, d, big_d)


class AuthorModel:
    """A model being trained under the author protocol; after training it generates."""

    def __init__(self, model: str, n_pixels: int, options: dict, lr: float | None = None):
        self.model = model
        self.flags = models.get(model)  # the model's parts
        self.build = options["author_build"]
        self.options = options
        self.lr = lr  # kept for retrain_per_test_image
        self.dtype = np.dtype(options["dtype"])
        self.nets = build_networks(n_pixels, self.flags, self.dtype, options["collapse_hidden"])
        n = LATENT_DIM
        # The encoder's stored outputs: those of its most recent forward pass.
        self.mu = np.zeros((3, n), dtype=self.dtype)
        self.variance = np.zeros((3, n), dtype=self.dtype)
        self.log: dict = {"steps": 0}
        # Health (avarep.health): largest stored mu and variance, saturated discriminator outputs.
        self._largest = {"mu": 0.0, "sigma2": 0.0}
        self._discriminator_outputs = [0, 0]  # saturated, total

    # One online SGD step per training image (spec 5.3).
    def step(self, x, lr, rng):
        if self.flags.gan:
            self._gan_step(x, lr, rng)
        else:
            self._vae_step(x, lr, rng)
            self._track_latent()
        self.log["steps"] += 1

    def _track_latent(self):
        self._largest["mu"] = max(self._largest["mu"], float(np.abs(self.mu).max()))
        self._largest["sigma2"] = max(self._largest["sigma2"], float(self.variance.max()))

    def named_networks(self):
        """(name, network) pairs under the names the paper protocol uses too."""
        nets = self.nets
        pairs = (("encoder", nets.encoder), ("decoder", nets.decoder),
                 ("d", nets.decoder_discriminator), ("D", nets.encoder_discriminator))
        return [(name, net) for name, net in pairs if net is not None]

    def health(self) -> dict:
        """Health quantities of avarep.health (zero initialisation: no norm growth ratio)."""
        saturated, total = self._discriminator_outputs
        has_encoder = not self.flags.gan
        return {
            "max_abs_mu": self._largest["mu"] if has_encoder else None,
            "max_sigma2": self._largest["sigma2"] if has_encoder else None,
            "parameter_norm": {name: net.parameter_norm() for name, net in self.named_networks()},
            "discriminator_saturated_share": saturated / total if total else None,
        }

    def _vae_step(self, x, lr, rng):
        order = self.options["step_order"]
        if order == "z-first":
            z = self._draw_z(rng)  # from the state the previous image left behind
        mu, encoder_error = self._encoder_step(x, lr)
        if order != "z-first":
            z = self._draw_z(rng)
        if order == "discriminators-first":
            decoder_pass, decoder_error = self._decoder_error(z, x)
            self._adversary_steps(x, z, mu, encoder_error, decoder_error, lr, decoder_pass[-1])
            self.nets.decoder.update(decoder_pass, decoder_error, lr)
            return
        decoder_error = self._decoder_step(z, x, lr)
        self._adversary_steps(x, z, mu, encoder_error, decoder_error, lr)

    def _encoder_step(self, x, lr):
        """Encoder forward on x and double update; stores mu(x), var(x). Returns (mu, error)."""
        n = LATENT_DIM
        encoder_pass = self.nets.encoder.forward(x)
        out = encoder_pass[-1]
        mu, variance = out[:, :n], out[:, n:]
        encoder_error = np.empty_like(out)
        encoder_error[:, :n] = self._output_error(-mu, mu, self.flags.encoder_discriminator, "D")
        # The paper's "-I" part of the KL gradient is absent in the author's code.
        encoder_error[:, n:] = 0.5 * (1.0 / variance) * derivative_at_output(variance)
        self.nets.encoder.update_twice(encoder_pass, encoder_error, lr)
        self.mu, self.variance = mu, variance
        return mu, encoder_error

    def _adversary_steps(self, x, z, mu, encoder_error, decoder_error, lr, fake=None):
        """Train d on x vs x', then D on mu(x) vs mu(x'); x' = decoder(z) unless given."""
        nets, flags, n = self.nets, self.flags, LATENT_DIM
        if flags.decoder_discriminator:
            if fake is None:
                fake = nets.decoder.output(z)  # the just-updated decoder, the same z
            self._train_d(x, fake, decoder_error if flags.lean_decode else None, lr)
        if flags.encoder_discriminator:
            if fake is None:
                fake = nets.decoder.output(z)
            refake = nets.encoder.output(fake)
            # Re-encoding the fake leaves the encoder's stored state at mu(x'), var(x').
            self.mu, self.variance = refake[:, :n], refake[:, n:]
            lean = encoder_error if flags.lean_encode else None
            self._train_discriminator(
                nets.encoder_discriminator, mu, self.mu, lean, lr, "D"
            )

    def _gan_step(self, x, lr, rng):
        generator = self.nets.decoder
        fake = generator.output(self._standard_z(rng))
        self._train_d(x, fake, None, lr)
        self._decoder_step(self._standard_z(rng), x, lr)  # a fresh z for the generator

    def _decoder_step(self, z, x, lr):
        """Single update of the decoder toward target x; returns the error it used."""
        decoder_pass, error = self._decoder_error(z, x)
        self.nets.decoder.update(decoder_pass, error, lr)
        return error

    def _decoder_error(self, z, x):
        """The decoder's forward pass on z and its output error toward target x."""
        decoder_pass = self.nets.decoder.forward(z)
        out = decoder_pass[-1]
        return decoder_pass, self._output_error(x - out, out, self.flags.decoder_discriminator, "d")

    def _output_error(self, base, out, adversarial: bool, discriminator: str):
        """(base + A) f'(u) at an output layer; base f'(u) + A without the derivative factor."""
        slope = derivative_at_output(out)
        if not adversarial:
            return base * slope
        if self.options["adversarial_source"] == "activation":
            term = adversarial_term(out, self.build)
        else:
            term = self._discriminator_term(out, discriminator)
        if self.options["adversarial_derivative"]:
            return (base + term) * slope
        return base * slope + term

    def _discriminator_term(self, out, discriminator: str):
        """The paper's a'(d0) / (1 - d0), from the trained discriminator (a rejected reading).

        d0 = d(x') for the decoder's current output x'; for the encoder D0 = D(mu(x')) with
        the fake mu the encoder stored last (zeros before the first re-encoding).
        """
        if discriminator == "d":
            d0 = self.nets.decoder_discriminator.output(out)
        else:
            d0 = self.nets.encoder_discriminator.output(self.mu)
        return np.broadcast_to(safe_ratio(a_prime(d0, self.build), 1.0 - d0), out.shape)

    def _train_d(self, real, fake, lean_error, lr):
        self._train_discriminator(self.nets.decoder_discriminator, real, fake, lean_error, lr, "d")

    def _train_discriminator(self, net, real, fake, lean_error, lr, name):
        real_out = net.output(real)
        fake_pass = net.forward(fake)
        fake_out = fake_pass[-1]
        error = discriminator_error(real_out, fake_out, self.build)
        if lean_error is not None:
            error = error + lean_error.sum(axis=1, keepdims=True) * derivative_at_output(fake_out)
        # The whole error is applied with the fake pass's activations.
        net.update_twice(fake_pass, error, lr)
        outputs = np.concatenate([real_out.ravel(), fake_out.ravel()])
        self._discriminator_outputs[0] += np.count_nonzero(
            (outputs < SATURATION) | (outputs > 1.0 - SATURATION))
        self._discriminator_outputs[1] += outputs.size
        self.log[f"{name}_real"] = real_out[:, 0].tolist()
        self.log[f"{name}_fake"] = fake_out[:, 0].tolist()

    def _draw_r(self, rng, *shape):
        """r ~ N(0, I): one draw shared by the three channels (or one each, a rejected reading)."""
        return self._per_channel(rng.standard_normal(self._drawn_shape(shape)).astype(self.dtype))

    def _draw_r_block(self, rng, n_images: int, k: int):
        """``_draw_r(rng, k)`` for n_images test images in one call: a Generator fills an
        array element by element, so one (n_images, ...) draw equals n_images draws in turn."""
        block = rng.standard_normal((n_images, *self._drawn_shape((k,)))).astype(self.dtype)
        return [self._per_channel(r) for r in block]

    def _drawn_shape(self, shape) -> tuple:
        return ((3,) if self.options["z_per_channel"] else ()) + (*shape, LATENT_DIM)

    def _per_channel(self, r):
        """r as (3, ...): as drawn with a draw per channel, else one draw seen by all three."""
        return r if self.options["z_per_channel"] else np.broadcast_to(r, (3, *r.shape))

    def _draw_z(self, rng):
        """z = mu + sqrt(max(var, MIN)) r from the stored state."""
        return self.mu + np.sqrt(np.maximum(self.variance, MIN_VARIANCE)) * self._draw_r(rng)

    def _standard_z(self, rng):
        return np.array(self._draw_r(rng))

    def finish(self):
        """End of the pass: clamp the stored variance (spec 5.3) and check for divergence."""
        self.variance = np.maximum(self.variance, MIN_VARIANCE)
        for net in (self.nets.encoder, self.nets.decoder):
            if net is not None and not all(np.isfinite(w).all() for w in net.weights):
                raise Diverged(f"{self.model}: non-finite weights after training")
        self.log["mu_mean"] = float(self.mu.mean())
        self.log["variance_mean"] = float(self.variance.mean())

    def generate(self, test_images, k: int, rng):
        """K images per test image (spec 5.4); the test image itself is not encoded.

        Returns (N, K, P, 3) float64. With ``retrain_per_test_image`` (the 2024 code, a
        rejected reading) a copy of the model first takes one training step on the test image
        (with ``retrain_cumulative`` the model itself does, so the steps add up). With
        ``generations_shared`` K images are drawn once and scored against every test image.
        """
        n_images, n_pixels = test_images.shape[0], test_images.shape[1]
        if self.options["generations_shared"]:
            with np.errstate(over="ignore", under="ignore"):
                shared = np.moveaxis(self._generate_for_one(k, rng), 0, -1)  # (K, P, 3)
            return np.broadcast_to(shared, (n_images, *shared.shape))
        # Stored channels-first, as the networks compute it, and returned as a (N, K, P, 3)
        # view: no transposing copy, and BM reads contiguous channel planes.
        generated = np.empty((n_images, 3, k, n_pixels))
        with np.errstate(over="ignore", under="ignore"):
            if self.options["retrain_per_test_image"]:
                self._generate_retrained(test_images, k, rng, generated)
            else:
                self._generate_all(k, rng, generated)
        return np.moveaxis(generated, 1, -1)

    def _generate_all(self, k: int, rng, generated):
        """Every test image's K generations from one block of draws (the same numbers, in the
        same order, as one draw per test image), each decoded straight into its slot."""
        draws = self._draw_r_block(rng, generated.shape[0], k)
        into_slot = self.dtype == generated.dtype  # float32 models decode, then convert
        for i, r in enumerate(draws):  # one test image at a time: cache-sized temporaries
            if into_slot:
                self._decode(r, out=generated[i])
            else:
                generated[i] = self._decode(r)

    def _generate_retrained(self, test_images, k: int, rng, generated):
        """The 2024 code: a step on test image i (on a copy unless cumulative), then K images."""
        for i in range(generated.shape[0]):
            model = self if self.options["retrain_cumulative"] else copy.deepcopy(self)
            model.step(channels_first(test_images[i], self.dtype), self.lr, rng)
            model.variance = np.maximum(model.variance, MIN_VARIANCE)
            generated[i] = model._generate_for_one(k, rng)

    def _generate_for_one(self, k: int, rng):
        return self._decode(self._draw_r(rng, k))

    def _decode(self, r, out=None):
        """Decoder output for draws r (3, K, n): z = r (GAN) or mu + sqrt(var) r."""
        z = r if self.flags.gan else self.mu[:, None, :] + np.sqrt(self.variance)[:, None, :] * r
        return self.nets.decoder.output(z, out)


def parameter_counts(model: str, n_pixels: int) -> dict[str, int]:
    """Weights and biases per network (encoder, decoder, d, D) on the real layer sizes."""
    nets = build_networks(n_pixels, models.get(model), np.float64, collapse=True)
    found = {"encoder": nets.encoder, "decoder": nets.decoder,
             "d": nets.decoder_discriminator, "D": nets.encoder_discriminator}
    # Every weight and bias is a 3-vector: one scalar network per colour channel.
    return {name: 3 * sum(a * b + b for a, b in zip(net.layer_sizes, net.layer_sizes[1:]))
            for name, net in found.items() if net is not None}


def channels_first(images, dtype):
    """(..., P, 3) -> (..., 3, P): the per-channel networks work one channel per row."""
    return np.ascontiguousarray(np.moveaxis(images, -1, -2), dtype=dtype)


def train(images, model: str, lr: float, rng, options: dict) -> AuthorModel:
    """One online pass over the images in order, one step per image (spec 5.3). ``options``
    are validated ones (:func:`check_options`, called once where a cell starts)."""
    trained = AuthorModel(model, images.shape[1], options, lr)
    if options["carried_state"]:
        carry_state(trained, images, rng)
    # A discriminator may overflow to inf/NaN (it never touches the images here); the cell
    # records such values in the seed's log instead of printing a warning per step.
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for x in channels_first(images, trained.dtype):
            trained.step(x, lr, rng)
        trained.finish()
    return trained


def previous_lr(lr: float) -> float | None:
    """The learning rate the sweep trains just before lr (1.0 first), None for the first."""
    index = min(range(len(LEARNING_RATES)), key=lambda i: abs(LEARNING_RATES[i] - lr))
    if abs(LEARNING_RATES[index] - lr) > 1e-12:
        raise ValueError(f"carried_state: learning rate {lr} is not one of the sweep's")
    return LEARNING_RATES[index - 1] if index > 0 else None


def carry_state(model: AuthorModel, images, rng) -> None:
    """Give a fresh model the stored state the previous gamma's model left behind.

    The candidate: one model object reused across learning rates, its weights reset but its
    stored mu, var and the discriminators' last outputs surviving. The previous cell is
    trained (without carrying further back) from a child stream of rng: spawning draws
    nothing from rng, so the cell's own draws are those of a cell without carrying.
    """
    before = previous_lr(model.lr)
    if before is None:
        return
    donor = train(images, model.model, before, rng.spawn(1)[0], {**model.options, "carried_state": False})
    model.mu, model.variance = donor.mu.copy(), donor.variance.copy()
    model.log.update({key: value for key, value in donor.log.items() if key.endswith(("_real", "_fake"))})
