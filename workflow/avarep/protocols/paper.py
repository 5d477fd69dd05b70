"""Protocol ``paper``: the seven models as the paper's equations define them (spec section 6).

Ordinary RGB MLPs with seeded framework-default initialisation; every update injects the
paper's output-layer error and back-propagates it through the network (plain gradient
back-propagation with the weights *before* the update, i.e. exactly what autograd would give
for the surrogate ``-(e.detach() * y).sum()``; the tests check it against an independent
autograd formulation). The backward pass is written out by hand only for speed: a rank-1
in-place update of a 100 x 19200 weight matrix is ~10x faster than autograd's gradient
tensor plus a separate ``sub_``.

Choices the paper leaves open
=============================
Every choice is made in :data:`CHOICES` below and nowhere else: this docstring lists them
from it, and the README quotes it (``tests/test_paper_protocol.py`` checks both).
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from ..deferred import PENDING_UPDATES, DeferredMatrix
from ..stacked import StackedMatrix
from ..layers import hidden_sizes
from .. import models
from ..sweep import LATENT_DIM
from . import Diverged

#: Probability clamp before a division (see module docstring, ``eps``).
EPS = 1e-7
#: Lower bound of sigma2 where 1/sigma2 is taken.
SIGMA2_MIN = 1e-12
#: A layer of this many weights or more collects its rank-1 updates (avarep.deferred): the
#: 3P-wide layers of the paper's frames (1.9M and 0.97M weights), not the small layers nor
#: Fashion-MNIST's (78k), whose minibatch updates are added at once anyway.
DEFER_FROM_WEIGHTS = 2**18

CHOICES: dict[str, str] = {
    "input_layout": (
        'an image (P, 3) enters a network as 3P values, **interleaved**\n'
        '(r0, g0, b0, r1, g1, b1, ...), i.e. the row-major (P, 3) array flattened; decoder outputs\n'
        'are read back the same way.'
    ),
    "hidden_sizes": (
        "spec 5.1's rule applied to the *per-pixel* counts, hidden(P, n) from\n"
        ':func:`avarep.layers.hidden_sizes` (not hidden(3P, n)): encoder 3P -> hidden(P, n) ->\n'
        "(mu: n, sigma2: n); decoder n -> reversed -> 3P; d: 3P -> encoder's hidden -> 1;\n"
        "D: n -> decoder's hidden -> 1. 100x64: encoder 19200->100->20, decoder 10->100->19200,\n"
        'd 19200->100->1, D 10->100->1; GAN generator 10->100->19200, discriminator 19200->100->1.'
    ),
    "init": (
        "torch's ``nn.Linear`` default, drawn from the cell's seed: weights and biases\n"
        'U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in float64 (then cast to the working dtype) from\n'
        'a ``torch.Generator`` seeded by ``rng.integers(2**63)``.'
    ),
    "activations": (
        'logistic sigmoid on hidden layers, decoder/generator output and both\n'
        "discriminator outputs; mu linear (so a_f' = 1 at the mu outputs, also in lean encode);\n"
        "sigma2 = softplus(u) = log(1 + e^u) (computed as logaddexp(u, 0)), a_f' = sigmoid(u).\n"
        'a\'(y) for a logistic output y is y(1 - y) ("derivative at the neuron\'s output value").'
    ),
    "error_injection": (
        'for the encoder and decoder the spec gives an error e *without* the\n'
        "derivative factor (its delta is e * a'): e is injected on the output y and the a' factor\n"
        "comes from back-propagation. For d and D the spec's output errors\n"
        "a'(d(x))/d(x), -a'(d(x'))/(1-d(x')) and the lean terms a_d'(d0)*Sum... already *contain*\n"
        "the derivative factor (they are d/du of log d(x), log(1 - d(x')), i.e. deltas at the\n"
        "output neuron's net input); they are injected at the net input, not multiplied by a' again."
    ),
    "step_order": (
        'per image: encoder, decoder, d, D (Gauss-Seidel: each player uses the\n'
        "others' current, i.e. already-updated-this-step, parameters).\n"
        "- encoder: mu(x), sigma2(x) from the current encoder; with D, D0 = D(mu(x')) with\n"
        "  x' = g(z) (current decoder) and z = mu(x) + sqrt(sigma2(x)) r from the same forward pass.\n"
        '- decoder: z = mu(x) + sqrt(sigma2(x)) r from the **updated** encoder (re-encoded), with the\n'
        "  **same r** as the encoder step (one r ~ N(0, I_n) per image); x' = g(z) and d0 = d(x')\n"
        '  with the current (not yet updated) d.\n'
        "- d: x' = g(z) from the **updated** decoder (same z); real pass on x, fake pass on x'; the\n"
        "  lean term uses this x' and d0 = d(x') of this fake pass.\n"
        "- D: mu(x) from the updated encoder (real), mu(x') by re-encoding the x' of the updated\n"
        "  decoder (fake); the lean term uses these and D0 = D(mu(x')) of this fake pass.\n"
        "- GAN: one z ~ N(0, I_n) per image; generator step (x' = g(z), d0 = d(x') with the\n"
        '  current d), then d step on x vs g(z) from the updated generator (same z).\n'
        'Real and fake passes of d (or D) are computed as one batch of two and their two\n'
        'parameter updates are summed (each back-propagated through its own pass).'
    ),
    "eps": (
        'probabilities p of d and D are clamped into [eps, 1 - eps] before any division\n'
        "a'(p)/p or a'(p)/(1 - p) (and a' is then taken at the clamped p), eps = 1e-7 (both dtypes).\n"
        'Lean terms, which divide by nothing, use the unclamped p.'
    ),
    "sigma2_min": (
        '1/sigma2 in the sigma2 error uses max(sigma2, 1e-12); sqrt(sigma2) in z uses\n'
        'sigma2 as it is (softplus >= 0).'
    ),
    "divergence": (
        'any non-finite output, error or (at the end) parameter raises\n'
        ':class:`~avarep.protocols.Diverged`; so does a non-finite generated image.'
    ),
    "generation": (
        'for test image i, encode x_i with the trained encoder and decode\n'
        'z = mu(x_i) + sqrt(sigma2(x_i)) r for k fresh r; GAN: z ~ N(0, I_n). No retraining.'
    ),
    "minibatches": (
        '(the Fashion-MNIST study, :mod:`avarep.fashion`): images of C channels\n'
        'enter as CP values (channel-interleaved as above) with hidden(P, n); a step takes B images,\n'
        'computes every per-example output error of section 6 row by row and moves each network by\n'
        'the **minibatch mean** of the per-example steps (the summed update times gamma / B). Each\n'
        "player's step still follows the order encoder, decoder, d, D. B = 1 and C = 3 is exactly\n"
        "the main grid's online step (``tests/test_paper_minibatch.py`` pins it to 1e-12 against\n"
        'the code before the generalisation).'
    ),
    "randomness": (
        'a fresh ``torch.Generator`` (CPU, also for CUDA runs, so results do not\n'
        "depend on the device's RNG) seeded from ``rng.integers(2**63)`` once for initialisation +\n"
        "training and once per ``generate`` call; torch's global RNG is never used."
    ),
}


def choices_text(bullet: str = "*") -> str:
    """The open choices as a bullet list (the module docstring and the README quote it)."""
    return "\n".join(f"{bullet} ``{key}``: " + text.replace("\n", "\n  ")
                     for key, text in CHOICES.items())


__doc__ += "\n" + choices_text() + "\n"

DEFAULTS = {"dtype": "float64", "device": "cpu", "threads": 1,
            # Alternatives to two open choices, for the robustness study (avarep.robustness):
            "mu_output": "linear",  # "logistic": mu = sigmoid(u), a_f' = mu (1 - mu)
            "init_scale": 1.0}  # multiplies the default initialisation's bound 1/sqrt(fan_in)
MU_OUTPUTS = ("linear", "logistic")
_DTYPES = {"float64": torch.float64, "float32": torch.float32}


# ------------------------------------------------------------------------------------ options


def check_options(options: dict) -> dict:
    """Validate the ``paper`` protocol's options and fill defaults (JSON-serialisable)."""
    if not isinstance(options, dict):
        raise ValueError(f"paper protocol options must be a mapping, got {type(options).__name__}")
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown paper protocol option {unknown[0]!r}; expected {', '.join(sorted(DEFAULTS))}"
        )
    merged = {**DEFAULTS, **options}
    if merged["dtype"] not in _DTYPES:
        raise ValueError(f"option 'dtype' must be 'float64' or 'float32', got {merged['dtype']!r}")
    device = merged["device"]
    if not isinstance(device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ValueError(f"option 'device' must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"option 'device' is {device!r} but CUDA is not available to torch "
                f"{torch.__version__} on this machine; use device 'cpu'"
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"option 'device' is {device!r} but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible"
            )
    threads = merged["threads"]  # validated by the registry (avarep.protocols.check_options)
    if merged["mu_output"] not in MU_OUTPUTS:
        raise ValueError(f"option 'mu_output' must be one of {', '.join(MU_OUTPUTS)}, "
                         f"got {merged['mu_output']!r}")
    scale = merged["init_scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
        raise ValueError(f"option 'init_scale' must be a positive number, got {scale!r}")
    return {"dtype": merged["dtype"], "device": device, "threads": int(threads),
            "mu_output": merged["mu_output"], "init_scale": float(scale)}


# --------------------------------------------------------------------------------- networks


def logistic_prime(y: torch.Tensor) -> torch.Tensor:
    """a'(y) of the logistic sigmoid expressed through its output y."""
    return y * (1.0 - y)


class MLP:
    """A fully connected network: sigmoid hidden layers, a chosen output activation.

    ``output`` is ``"sigmoid"`` (decoder, d, D) or ``"encoder"`` (the first ``n`` outputs
    linear = mu, the last ``n`` softplus = sigma2). :meth:`weight` gives layer i's weight as
    (out, in) like nn.Linear; a layer wider at its output is *stored* transposed (in, out),
    which only makes the 1-row matrix products fast (x @ W^T with W (19200, 100) is ~4x
    slower than x @ W^T stored as (100, 19200)). A layer of ``defer_from`` weights or more
    collects its updates (:class:`avarep.deferred.DeferredMatrix`; default
    ``DEFER_FROM_WEIGHTS``, read when the network is built).

    ``gen`` is one ``torch.Generator`` (one seed) or a list of them: then every tensor has a
    leading seed axis, seed s drawn from ``gen[s]`` exactly as alone, and the weights are
    :class:`avarep.stacked.StackedMatrix` (see :func:`train_stack`). Activations are
    (..., B, features) either way; an input without the seed axis is shared by every seed.
    """

    def __init__(self, sizes, output, gen, dtype, device, init_scale=1.0, mu_logistic=False,
                 defer_from=None, draw_threads=1):
        self.sizes = list(sizes)
        self.output = output
        self.mu_logistic = mu_logistic  # encoder only: mu = sigmoid(u) instead of u
        self.matrices, self.biases, self.transposed = [], [], []
        defer_from = DEFER_FROM_WEIGHTS if defer_from is None else defer_from
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = init_scale / math.sqrt(fan_in)
            t = fan_out > fan_in
            self.transposed.append(t)
            if isinstance(gen, torch.Generator):
                w, b = _drawn_layer(fan_in, fan_out, bound, gen)
                stored = (w.t() if t else w).contiguous().to(device=device, dtype=dtype)
                capacity = PENDING_UPDATES if fan_in * fan_out >= defer_from else 0
                self.matrices.append(DeferredMatrix(stored, capacity))
                self.biases.append(b.to(device=device, dtype=dtype))
                continue
            shape = (fan_in, fan_out) if t else (fan_out, fan_in)
            stored = torch.empty((len(gen), *shape), dtype=dtype, device=device)
            biases = torch.empty((len(gen), fan_out), dtype=dtype, device=device)

            def draw(s, fan_in=fan_in, fan_out=fan_out, bound=bound, t=t, stored=stored,
                     biases=biases):
                w, b = _drawn_layer(fan_in, fan_out, bound, gen[s])
                stored[s].copy_(w.t() if t else w)
                biases[s].copy_(b)

            # torch's CPU draws (most of a GPU seed's time) in threads, one seed's generator
            # each: the numbers are the same in any order
            with ThreadPoolExecutor(max(1, draw_threads)) as pool:
                list(pool.map(draw, range(len(gen))))
            self.matrices.append(StackedMatrix(stored))
            self.biases.append(biases)

    def seed(self, s: int) -> "MLP":
        """Seed s of a stacked network: an unstacked network over views of its slices."""
        one = MLP.__new__(MLP)
        one.sizes, one.output, one.mu_logistic = self.sizes, self.output, self.mu_logistic
        one.transposed = self.transposed
        one.matrices = [DeferredMatrix(m.settled()[s], 0) for m in self.matrices]
        one.biases = [b[s] for b in self.biases]
        return one

    def weight(self, i):
        """Layer i's weight as an (out, in) view (writable: ``copy_`` into it works)."""
        stored = self.matrices[i].settled()
        return stored.t() if self.transposed[i] else stored

    def parameters(self):
        for i, b in enumerate(self.biases):
            yield self.weight(i)
            yield b

    def forward(self, x, output_only=False):
        """x: (..., B, in). Returns (activations of every layer's input, net input u, output y).
        ``output_only``: a sigmoid output is computed in u's own memory (u is then y): the
        same bits, and for 360 generated images no fresh 55 MB tensor."""
        acts = [x]
        h = x
        last = len(self.matrices) - 1
        for i, (m, b, t) in enumerate(zip(self.matrices, self.biases, self.transposed)):
            # u = b + h @ W^T: W^T is the stored matrix when transposed, its transpose if not
            u = m.left_product(h, b) if t else m.right_product(h, b)
            if i < last:
                h = torch.sigmoid(u)
                acts.append(h)
        if self.output == "sigmoid":
            y = u.sigmoid_() if output_only else torch.sigmoid(u)
        else:
            n = u.shape[-1] // 2
            zero = torch.zeros((), dtype=u.dtype, device=u.device)
            mu = torch.sigmoid(u[..., :n]) if self.mu_logistic else u[..., :n]
            y = torch.cat([mu, torch.logaddexp(u[..., n:], zero)], -1)  # mu | softplus
        return acts, u, y

    def __call__(self, x):
        return self.forward(x, output_only=True)[2]

    def update(self, acts, delta, lr):
        """Gradient *ascent* step theta += lr * delta . d u / d theta, back-propagated through
        the sigmoid hidden layers with the pre-update weights. ``delta``: (..., B, out) at the
        output neuron's net input; the rows of a batch are summed."""
        for i in range(len(self.matrices) - 1, -1, -1):
            m, b, t, h = self.matrices[i], self.biases[i], self.transposed[i], acts[i]
            below = None
            if i > 0:  # delta @ W, W = stored^T when transposed
                below = (m.right_product(delta) if t else m.left_product(delta)) * (h * (1.0 - h))
            if t:
                m.add_outer(h, delta, lr)
            else:
                m.add_outer(delta, h, lr)
            step = delta[..., 0, :] if delta.shape[-2] == 1 else delta.sum(-2)
            if isinstance(lr, torch.Tensor):  # stacked seeds, one rate each: (S,)
                b.addcmul_(step, lr.unsqueeze(-1))
            else:
                b.add_(step, alpha=lr)
            delta = below


def _drawn_layer(fan_in, fan_out, bound, gen):
    """torch's nn.Linear default U(-bound, bound), weight then bias, in float64: in place, so
    no 15 MB temporaries, and as (u - 0.5) * (2 bound), two passes for (u * 2 - 1) * bound's
    three with the same bits: u is a multiple of 2^-53 in [0, 1), so u - 0.5 is exact, and
    both products round the same real number."""
    w = torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64).sub_(0.5).mul_(2 * bound)
    b = torch.rand(fan_out, generator=gen, dtype=torch.float64).sub_(0.5).mul_(2 * bound)
    return w, b


def parameter_norm(net: MLP) -> float:
    """Euclidean norm of all of a network's weights and biases together, as float64 dot
    products of the stored tensors (one pass each, no temporaries; transposes do not matter)."""
    flat = [m.settled().reshape(-1) for m in net.matrices] + list(net.biases)
    return math.sqrt(sum(float(torch.dot(v, v)) for v in (f.double() for f in flat)))


class NonFiniteInPass(Diverged):
    """A deferred check failed: the step is known, the culprit not (train replays to name it)."""

    def __init__(self, step: int):
        super().__init__(f"paper protocol: non-finite value at step {step}")
        self.step = step


def _all_finite(t: torch.Tensor) -> bool:
    """Whether every element is finite. A finite sum proves it in one pass without a mask
    (any inf or NaN makes the sum inf or NaN); only a non-finite sum, which finite values can
    also give by overflowing, needs the element-wise test."""
    return math.isfinite(float(t.sum())) or bool(torch.isfinite(t).all())


def _per_seed_sum(t):
    """The sum over a (..., B, k) tensor's last two axes: one number per seed."""
    return t.flatten(-2).sum(-1)


def _check(name, *tensors):
    for t in tensors:
        if not _all_finite(t):
            raise Diverged(f"paper protocol: non-finite {name}")


# ------------------------------------------------------------------------------------ models


@dataclass
class PaperModel:
    """One model of the ``paper`` protocol: its networks, its flags and its training step."""

    model: str
    n_in: int  # 3P
    latent: int
    hidden: list  # encoder's hidden sizes (decoder's are reversed)
    gen: torch.Generator
    dtype: torch.dtype
    device: torch.device
    init_scale: float = 1.0
    mu_logistic: bool = False
    # True: the finiteness check syncs with the device after every step and names the culprit
    # at once. False (train's first attempt): a device-side flag, read once per pass.
    check_each_step: bool = True
    draw_threads: int = 1  # stacked seeds: threads drawing their initial weights

    def __post_init__(self):
        self.flags = models.get(self.model)  # the model's parts (spec 5.3's table)
        self.is_gan = self.flags.gan
        enc_hidden, dec_hidden = list(self.hidden), list(reversed(self.hidden))
        mk = lambda sizes, out: MLP(sizes, out, self.gen, self.dtype, self.device,  # noqa: E731
                                    self.init_scale, self.mu_logistic and out == "encoder",
                                    draw_threads=self.draw_threads)
        # Construction order fixes the initial draws: encoder, decoder, d, D.
        self.encoder = (
            None if self.is_gan else mk([self.n_in, *enc_hidden, 2 * self.latent], "encoder")
        )
        self.decoder = mk([self.latent, *dec_hidden, self.n_in], "sigmoid")
        self.d = mk([self.n_in, *enc_hidden, 1], "sigmoid") if self.flags.decoder_discriminator else None
        self.D = mk([self.latent, *dec_hidden, 1], "sigmoid") if self.flags.encoder_discriminator else None
        # Every per-seed quantity below has shape ``lead``: () for one seed, (S,) stacked.
        self.lead = () if isinstance(self.gen, torch.Generator) else (len(self.gen),)
        if self.lead and self.check_each_step:
            raise ValueError("stacked seeds check finiteness once per pass (check_each_step=False)")
        zero = torch.zeros(self.lead, dtype=torch.int64, device=self.device)
        self._clamped = {"probability": zero.clone(), "sigma2": zero.clone()}
        self._probabilities = 0  # discriminator probabilities (per seed) through the clamp
        # Largest |mu| and sigma2 the encoder produced (training and generation), kept on the
        # device so that tracking them costs no sync; see avarep.health.
        self._largest = {"mu": torch.zeros(self.lead, dtype=self.dtype, device=self.device),
                         "sigma2": torch.zeros(self.lead, dtype=self.dtype, device=self.device)}
        self.initial_norms = (
            [self._seed_norms(s) for s in range(self.lead[0])] if self.lead
            else {name: parameter_norm(net) for name, net in self.networks().items()}
        )
        self._pending = []  # (name, tensor) to check for finiteness at the end of the step
        # Deferred checking: all watched values finite so far, and how many steps were.
        self._finite_so_far = torch.ones(self.lead, dtype=torch.bool, device=self.device)
        self._finite_steps = torch.zeros(self.lead, dtype=torch.int64, device=self.device)
        self._last, self._last_disc = {}, {}  # diagnostics of the last step (tensors)
        self.steps = 0

    def _seed_norms(self, s):
        return {name: parameter_norm(net.seed(s)) for name, net in self.networks().items()}

    def seed(self, s: int) -> "PaperModel":
        """Seed s of a stacked model as a model of its own (views of its slices: no copy),
        its bookkeeping included; what it computes next it computes alone."""
        one = PaperModel.__new__(PaperModel)
        one.__dict__.update(self.__dict__)
        for name, net in self.networks().items():
            setattr(one, name, net.seed(s))
        one.gen, one.lead = self.gen[s], ()
        one._clamped = {k: v[s] for k, v in self._clamped.items()}
        one._largest = {k: v[s] for k, v in self._largest.items()}
        one.initial_norms = self.initial_norms[s]
        one._finite_so_far, one._finite_steps = self._finite_so_far[s], self._finite_steps[s]
        one._last = {k: v[s] for k, v in self._last.items()}
        one._last_disc = {k: v[s] for k, v in self._last_disc.items()}
        one._pending = []
        return one

    @property
    def clamped(self) -> dict:
        return {k: int(v) for k, v in self._clamped.items()}

    def _watch(self, name, *tensors):
        self._pending.extend((name, t) for t in tensors)

    def _check_pending(self):
        """One finiteness check per step: a device sync that names the culprit on failure,
        or (deferred) an update of the device-side flag that ``finish_checks`` reads."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        flat = torch.cat([t.reshape(*self.lead, -1) for _, t in pending], -1)
        if not self.check_each_step:
            torch.logical_and(self._finite_so_far, torch.isfinite(flat).all(-1), out=self._finite_so_far)
            self._finite_steps += self._finite_so_far
            return
        if not bool(torch.isfinite(flat).all()):
            for name, t in pending:
                if not bool(torch.isfinite(t).all()):
                    raise Diverged(f"paper protocol: non-finite {name} at step {self.steps + 1}")
            raise Diverged(f"paper protocol: non-finite value at step {self.steps + 1}")

    def finish_checks(self):
        """End of a pass with deferred checks: one sync; raise NonFiniteInPass naming the
        first step whose watched values were not all finite."""
        if not self.check_each_step and not self.lead and not bool(self._finite_so_far):
            raise NonFiniteInPass(int(self._finite_steps) + 1)

    def networks(self):
        return {k: v for k, v in (("encoder", self.encoder), ("decoder", self.decoder),
                                  ("d", self.d), ("D", self.D)) if v is not None}

    # -- helpers
    def _clamp_p(self, p):
        c = p.clamp(EPS, 1.0 - EPS)
        self._clamped["probability"] += _per_seed_sum(c != p)
        self._probabilities += p.shape[-2] * p.shape[-1]
        return c

    def _adv(self, p):
        """a'(p)/(1 - p) at the clamped probability (the generator-side adversarial error)."""
        c = self._clamp_p(p)
        return logistic_prime(c) / (1.0 - c)

    def _mu_prime(self, mu):
        """a_f' at the mu outputs: 1 when linear (the default), mu (1 - mu) when logistic."""
        return logistic_prime(mu) if self.mu_logistic else torch.ones_like(mu)

    def _encode(self, x):
        acts, u, y = self.encoder.forward(x)
        mu, s2 = y[..., : self.latent], y[..., self.latent:]
        torch.maximum(self._largest["mu"], mu.abs().amax((-2, -1)), out=self._largest["mu"])
        torch.maximum(self._largest["sigma2"], s2.amax((-2, -1)), out=self._largest["sigma2"])
        return acts, u, mu, s2

    # -- one step
    def step(self, x, r, lr):
        """One step on a minibatch x (B, CP) with normal draws r (B, n): each network moves by
        the mean of the B per-example steps (B = 1: the paper's online step). The players
        move in the order of CHOICES["step_order"]."""
        lr = lr / x.shape[0]  # the updates sum the rows; lr / 1 == lr exactly
        if self.is_gan:
            return self._gan_step(x, r, lr)
        self._encoder_step(x, r, lr)
        mu, s2, z = self._decoder_step(x, r, lr)
        self._discriminator_steps(x, mu, z, lr)
        self._check_pending()
        self.steps += 1
        self._last = {"mean_sigma2": s2.mean((-2, -1)), "mean_abs_mu": mu.abs().mean((-2, -1))}

    def _encoder_step(self, x, r, lr):
        n = self.latent
        acts, u, mu, s2 = self._encode(x)
        z = mu + torch.sqrt(s2) * r
        e_mu = -mu
        if self.flags.encoder_discriminator:
            xf = self.decoder(z)
            mu_f = self._encode(xf)[2]
            D0 = self.D(mu_f)
            self._watch("D(mu(x')) in the encoder step", D0)
            e_mu = e_mu + self._adv(D0)
        s2c = s2.clamp_min(SIGMA2_MIN)
        self._clamped["sigma2"] += _per_seed_sum(s2c != s2)
        e_s2 = -0.5 * (1.0 - 1.0 / s2c)
        # a_f' = 1 at linear mu outputs (mu(1 - mu) at logistic ones), softplus'(u) = sigmoid(u)
        # at the sigma2 outputs
        delta = torch.cat([e_mu * self._mu_prime(mu), e_s2 * torch.sigmoid(u[..., n:])], -1)
        self._watch("encoder output or error", mu, s2, delta)
        self.encoder.update(acts, delta, lr)

    def _decoder_step(self, x, r, lr):
        """z from the updated encoder with the encoder step's r. Returns (mu, sigma2, z)."""
        _, _, mu, s2 = self._encode(x)
        z = mu + torch.sqrt(s2) * r
        acts, _, xf = self.decoder.forward(z)
        e = x - xf
        if self.flags.decoder_discriminator:
            d0 = self.d(xf)
            self._watch("d(x') in the decoder step", d0)
            e = e + self._adv(d0)
        delta = e * logistic_prime(xf)
        self._watch("decoder output or error", delta)
        self.decoder.update(acts, delta, lr)
        return mu, s2, z

    def _discriminator_steps(self, x, mu, z, lr):
        """d, then D (the encoder already updated: mu is current), on x' from the updated
        decoder."""
        f = self.flags
        xf = None
        if f.decoder_discriminator:
            xf = self.decoder(z)
            lean = (x - xf) * logistic_prime(xf) if f.lean_decode else None
            self._train_disc(self.d, x, xf, lr, lean=lean, name="d")
        if f.encoder_discriminator:
            if xf is None:
                xf = self.decoder(z)
            mu_f = self._encode(xf)[2]
            lean = (mu - mu_f) * self._mu_prime(mu_f) if f.lean_encode else None
            self._train_disc(self.D, mu, mu_f, lr, lean=lean, name="D")

    def _train_disc(self, net, real, fake, lr, lean, name):
        """Real pass error a'(p)/p, fake pass -a'(p)/(1-p) (+ a'(p_fake) * Sum(lean)); both
        are deltas at the output's net input (they already contain a')."""
        B = real.shape[-2]
        acts, _, p = net.forward(torch.cat([real.expand_as(fake), fake], -2))
        self._watch(f"{name} output", p)
        c = self._clamp_p(p)
        delta = torch.empty_like(p)
        real_rows, fake_rows = (..., slice(None, B), slice(None)), (..., slice(B, None), slice(None))
        delta[real_rows] = logistic_prime(c[real_rows]) / c[real_rows]
        delta[fake_rows] = -logistic_prime(c[fake_rows]) / (1.0 - c[fake_rows])
        if lean is not None:  # Sum over one example's outputs, per example
            delta[fake_rows] += logistic_prime(p[fake_rows]) * lean.sum(-1, keepdim=True)
        self._watch(f"{name} error", delta)
        net.update(acts, delta, lr)
        self._last_disc[name] = p[..., [0, B], :]  # the first real and the first fake

    def _gan_step(self, x, z, lr):
        acts, _, xf = self.decoder.forward(z)
        d0 = self.d(xf)
        self._watch("generator output or d(x')", d0)
        delta = self._adv(d0) * logistic_prime(xf)  # adversarial error only, no reconstruction
        self._watch("generator error", delta)
        self.decoder.update(acts, delta, lr)
        xf = self.decoder(z)
        self._train_disc(self.d, x, xf, lr, lean=None, name="d")
        self._check_pending()
        self.steps += 1

    def health(self) -> dict:
        """Health quantities of avarep.health (JSON-serialisable; one sync)."""
        has_encoder = self.encoder is not None
        norms = {k: parameter_norm(n) for k, n in self.networks().items()}
        return {
            "max_abs_mu": float(self._largest["mu"]) if has_encoder else None,
            "max_sigma2": float(self._largest["sigma2"]) if has_encoder else None,
            "parameter_norm": norms,
            "parameter_norm_growth": {k: norms[k] / self.initial_norms[k] for k in norms},
            "clamped_probability_share": (
                int(self._clamped["probability"]) / self._probabilities
                if self._probabilities else None
            ),
        }

    # -- generation
    def sample(self, x, k, gen):
        """(N, 3P) test images -> (N, k, 3P) generated images (same dtype/device)."""
        N = x.shape[0]
        r = torch.randn(N, k, self.latent, generator=gen, dtype=torch.float64).to(x.device, x.dtype)
        if self.is_gan:
            z = r
        else:
            _, _, mu, s2 = self._encode(x)
            _check("encoder output at generation", mu, s2)
            z = mu[:, None, :] + torch.sqrt(s2)[:, None, :] * r
        out = self.decoder(z.reshape(N * k, self.latent))
        return out.reshape(N, k, -1)


class TrainedModel:
    """A trained ``paper`` model: ``generate`` for BM and ``log`` (JSON-serialisable)."""

    def __init__(self, model: PaperModel, options: dict):
        self.model = model
        self.options = options
        m = model
        clamped = m.clamped
        self.log = {
            "model": m.model,
            "steps": m.steps,
            "clamped_probabilities": clamped["probability"],
            "clamped_sigma2": clamped["sigma2"],
            "clamping_happened": bool(clamped["probability"] or clamped["sigma2"]),
        }
        for key, value in sorted(m._last.items()):
            self.log[f"last_{key}"] = float(value)
        for name, p in sorted(m._last_disc.items()):
            # the last step's discriminator outputs on its real and fake inputs
            self.log[f"last_{name}_real"] = float(p[0, 0])
            self.log[f"last_{name}_fake"] = float(p[1, 0])

    def health(self) -> dict:
        return self.model.health()

    def generate(self, test_images, k, rng):
        return self.generate_on_device(test_images, k, rng).to("cpu", torch.float64).numpy()

    def generate_on_device(self, test_images, k, rng):
        """:meth:`generate`'s images as a tensor (N, K, P, C) where the model is: a cell of
        stacked seeds scores them there (avarep.metric), moving 55 MB less per seed."""
        test_images = np.asarray(test_images, dtype=np.float64)
        N, P, C = test_images.shape
        if C * P != self.model.n_in:
            raise ValueError(
                f"test images {test_images.shape} do not fit a model of {self.model.n_in} inputs"
            )
        torch.set_num_threads(self.options["threads"])
        gen = torch.Generator().manual_seed(int(rng.integers(2**63)))
        m = self.model
        x = torch.tensor(test_images.reshape(N, C * P), dtype=m.dtype, device=m.device)
        with torch.no_grad():
            out = self.model.sample(x, int(k), gen)
        if not _all_finite(out):
            raise Diverged("paper protocol: non-finite generated image")
        return out.reshape(N, int(k), P, C)


def build(model, n_in, rng_or_gen, options, latent=LATENT_DIM, hidden=None, channels=3,
          check_each_step=True):
    """Construct a model (parameters initialised from the seed). ``hidden`` overrides the
    encoder's hidden sizes (tests only); default hidden_sizes(n_in // channels, latent).
    ``check_each_step=False`` defers the finiteness checks to the end of each pass."""
    gen = rng_or_gen  # a torch.Generator, a list of them (stacked seeds) or a numpy rng
    if isinstance(rng_or_gen, np.random.Generator):
        gen = torch.Generator().manual_seed(int(rng_or_gen.integers(2**63)))
    if hidden is None:
        hidden = hidden_sizes(n_in // channels, latent)
    return PaperModel(model, n_in, latent, list(hidden), gen,
                      _DTYPES[options["dtype"]], torch.device(options["device"]),
                      options.get("init_scale", 1.0), options.get("mu_output") == "logistic",
                      check_each_step, options.get("threads", 1))


def parameter_counts(model: str, n_pixels: int) -> dict[str, int]:
    """Weights and biases per network (encoder, decoder, d, D) of an RGB model."""
    options = check_options({"dtype": "float64", "device": "cpu", "threads": 1})
    built = build(model, 3 * n_pixels, np.random.default_rng(0), options)
    return {name: sum(int(p.numel()) for p in net.parameters())
            for name, net in built.networks().items()}


def train(images, model, lr, rng, options, *, latent=LATENT_DIM, hidden=None):
    """One online pass over ``images`` (N, P, 3) in order, one step per image, fixed ``lr``.
    ``options`` are validated ones (:func:`check_options`, called once where a cell starts)."""
    images = _training_images(images, options)
    N, P, _ = images.shape
    drawn_from = rng.bit_generator.state
    m = build(model, 3 * P, rng, options, latent=latent, hidden=hidden, check_each_step=False)
    with torch.no_grad():
        x_all = torch.tensor(images.reshape(N, 3 * P), dtype=m.dtype, device=m.device)
        try:
            fit(m, x_all, float(lr))
        except NonFiniteInPass as deferred:
            # Rare (a diverging seed): replay the same draws, checking every step, so that
            # Diverged names the culprit and the step as a per-step check would have.
            rng.bit_generator.state = drawn_from
            m = build(model, 3 * P, rng, options, latent=latent, hidden=hidden)
            fit(m, x_all, float(lr))
            raise deferred
    return TrainedModel(m, options)


def _training_images(images, options):
    """The (N, P, 3) training images as float64 (torch's threads set on the way)."""
    torch.set_num_threads(options["threads"])
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[2] != 3:
        raise ValueError(f"images must be (N, P, 3), got {images.shape}")
    return images


def stacks(options: dict) -> bool:
    """Whether a job's seeds train stacked (:func:`train_stack`): on a GPU, where a step's
    hundred-odd small kernel launches, not its arithmetic, are the cost. On the CPU a seed
    alone is faster: its collected updates (avarep.deferred) save memory passes that a
    stack cannot (five seeds of the paper's frames: 1.6 s alone against 2.4 s stacked)."""
    return options["device"] != "cpu"


def train_stack(images, model, lrs, rngs, options, *, latent=LATENT_DIM, hidden=None):
    """Seeds (one rng and one learning rate each: ``lrs`` a list, or one rate for all)
    trained as stacked computations of at most :data:`STACK_BYTES` of weights each.

    Returns, per seed, what :func:`train` with that rng and rate gives: a
    :class:`TrainedModel`, or the :class:`Diverged` it raises (returned, not raised). Each
    seed draws from its own rng exactly as alone, and no operation mixes seeds, so the
    numbers equal the per-seed path's up to the rounding of the batched products
    (``tests/test_stacked.py``: 1e-12 in float64). A seed whose values went non-finite is
    trained again alone by :func:`train`, which names the culprit and step as it always does
    and whose answer stands.
    """
    images = _training_images(images, options)
    P = images.shape[1]
    lrs = [float(lr) for lr in lrs] if isinstance(lrs, (list, tuple)) else [float(lrs)] * len(rngs)
    if len(lrs) != len(rngs):
        raise ValueError(f"train_stack needs one learning rate per rng, got {len(lrs)} for {len(rngs)}")
    chunk = seeds_per_stack(P, options, latent=latent, hidden=hidden)
    results = []
    for first in range(0, len(rngs), chunk):
        part = slice(first, first + chunk)
        results += _train_stacked(images, model, lrs[part], rngs[part], options, latent, hidden)
    return results


#: The most weight bytes one stacked computation holds, counted as the three 3P-wide
#: matrices per seed (the rest of a seed is small): 2 GiB, 46 seeds of the paper's frames in
#: float64. A job holds one stack at a time (avarep.cell.run_cells), so a run's seven
#: training jobs hold at most 15 GB of weights on the GPU.
STACK_BYTES = 2**31
WIDE_NETWORKS = ("encoder", "decoder", "d")


def seeds_per_stack(n_pixels: int, options: dict, *, latent=LATENT_DIM, hidden=None) -> int:
    """How many seeds of images of ``n_pixels`` RGB pixels one stack holds (at least 1)."""
    hidden_width = (hidden or hidden_sizes(n_pixels, latent))[0]
    wide_bytes = 3 * n_pixels * hidden_width * torch.finfo(_DTYPES[options["dtype"]]).bits // 8
    return max(1, STACK_BYTES // (len(WIDE_NETWORKS) * wide_bytes))


def _train_stacked(images, model, lrs, rngs, options, latent, hidden):
    N, P, _ = images.shape
    drawn_from = [rng.bit_generator.state for rng in rngs]
    gens = [torch.Generator().manual_seed(int(rng.integers(2**63))) for rng in rngs]
    m = build(model, 3 * P, gens, options, latent=latent, hidden=hidden, check_each_step=False)
    with torch.no_grad():
        x_all = torch.tensor(images.reshape(N, 3 * P), dtype=m.dtype, device=m.device)
        fit(m, x_all, torch.tensor(lrs, dtype=m.dtype, device=m.device))
    finite = m._finite_so_far.tolist()
    results = []
    for s, (lr, rng) in enumerate(zip(lrs, rngs)):
        try:
            if not finite[s]:
                rng.bit_generator.state = drawn_from[s]
                results.append(train(images, model, lr, rng, options, latent=latent, hidden=hidden))
                continue
            one = m.seed(s)
            for name, net in one.networks().items():
                _check(f"{name} parameters after training", *net.parameters())
            results.append(TrainedModel(one, options))
        except Diverged as exc:
            results.append(exc)
    return results


def fit(m: PaperModel, x_all: torch.Tensor, lr, *, epochs=1, batch=1, shuffle=False):
    """Train ``m`` on the rows of x_all (N, CP) at rate ``lr`` (stacked seeds: one per seed,
    a tensor (S,)): per epoch one r ~ N(0, I_n) per image, drawn
    as one block before the (optionally shuffled) pass, then minibatches of ``batch``
    images. epochs=1, batch=1, shuffle=False is the main grid's single online pass."""
    N = x_all.shape[0]
    if m.lead and shuffle:
        raise ValueError("stacked seeds share their images' order: shuffle=False")
    for _ in range(int(epochs)):
        r_all = _normal_draws(m.gen, (N, m.latent)).to(m.device, m.dtype)
        order = torch.randperm(N, generator=m.gen).to(m.device) if shuffle else None
        for start in range(0, N, batch):
            rows = slice(start, start + batch) if order is None else order[start:start + batch]
            m.step(x_all[rows], r_all[..., rows, :], lr)
        m.finish_checks()
    if not m.lead:  # stacked seeds: per seed, in train_stack
        for name, net in m.networks().items():
            _check(f"{name} parameters after training", *net.parameters())


def _normal_draws(gen, shape):
    """N(0, 1) draws in float64 from one generator, or stacked from each of a list."""
    if isinstance(gen, torch.Generator):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)
    return torch.stack([torch.randn(*shape, generator=g, dtype=torch.float64) for g in gen])
