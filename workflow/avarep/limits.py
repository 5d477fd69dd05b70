"""How fast could a seed be? The work a seed must do, and this machine's rates for it.

The benchmark (workflow/scripts/benchmark.py) puts each protocol's measured time per seed
next to its limit:

* ``author``: arithmetic. The collapsed per-channel networks touch few numbers many times, so
  a seed costs its multiply-adds (:func:`author_macs_per_seed`) plus its transcendental
  evaluations (:func:`author_transcendentals_per_seed`: an exp per neuron output, a sqrt per
  draw of z and per BM distance), each at numpy's single-thread rate on cache-sized arrays.
* ``paper``: memory traffic. Each step streams the three 3P x h weight matrices (encoder's
  first layer, decoder's last, d's first; 100 x 19200 float64 = 15.4 MB each on the paper's
  frames); everything else is small. :func:`paper_passes_per_seed` counts the passes,
  :func:`paper_bytes_per_seed` turns them into bytes, to be divided by the measured
  single-thread memory bandwidth (:func:`memory_bandwidth`, arrays far beyond the cache).

A pass is one sweep over such a matrix. Its rank-1 updates are collected
(:mod:`avarep.deferred`, ``PENDING_UPDATES`` terms at a time), so a step pays for its
products: a forward product reads the matrix once, and so does the error the decoder sends
back through its last layer (with the pre-update weights); the encoder's second product with
the same image is reused unless its updates were added in between. Adding the collected
terms reads and writes the matrix (2 passes): whenever the collection is full, and once at
the end of training. Counted from the step functions of ``protocols/paper.py``;
tests/test_limits.py checks the counts against the passes a real training run makes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import models
from .deferred import PENDING_UPDATES
from .layers import hidden_sizes
from .sweep import GENERATIONS_PER_IMAGE, LATENT_DIM

# ----------------------------------------------------------------------------- author


def author_macs_per_seed(model: str, n_pixels: int, n_images: int) -> int:
    """Multiply-adds of one author-protocol cell-seed with collapsed hidden layers.

    Per channel and per weight touched: forward = 1, update = 1, error back through a
    layer = 1. The BM of each generated image costs 3 multiply-adds per pixel.
    """
    p, n = n_pixels, LATENT_DIM
    h = len(hidden_sizes(p, n))  # stored hidden units per layer after collapsing (1 each)
    enc_fwd = p * h + 2 * n
    enc_update = 2 * (p * h + 2 * (2 * n))  # double update: out layer W + error, input W
    dec_fwd = n * h + p
    dec_update = n * h + 2 * p
    disc = 2 * (p * h + 1) + 2 * (p * h + 2)  # real + fake pass, double update
    parts = models.get(model)  # the work follows from the model's parts
    per_image = dec_fwd + dec_update  # the decoder's (or generator's) forward and update
    if parts.has_encoder:
        per_image += enc_fwd + enc_update
    if parts.decoder_discriminator or parts.encoder_discriminator:
        per_image += dec_fwd  # the fake x' the discriminators see (shared by d and D)
    if parts.decoder_discriminator:
        per_image += disc
    if parts.encoder_discriminator:
        per_image += enc_fwd + 4 * (n + 2)  # mu(x') re-encoded, then D's real + fake steps
    generations = n_images * GENERATIONS_PER_IMAGE
    generate = generations * (n * h + p)
    bm = generations * 3 * p
    return 3 * (n_images * per_image + generate) + bm


def _forward_exps(hidden: list, n_out: int) -> int:
    """exp evaluations of one collapsed forward pass, per channel: one per stored non-input
    unit (each hidden layer is stored as one unit)."""
    return len(hidden) + n_out


def author_transcendentals_per_seed(model: str, n_pixels: int, n_images: int) -> dict:
    """exp and sqrt evaluations of one author-protocol cell-seed (default options: the
    2023-12 build's a'(v) needs no exp; collapsed hidden layers).

    Training, per image and channel: the forward passes of each model's step (encoder E,
    decoder G, discriminators d on P inputs and D on n inputs, each on a real and a fake);
    z = mu + sqrt(var) r takes n square roots. Generation: K decoder passes per test image
    and n square roots (sqrt(var) once per test image); BM: one sqrt per generated pixel.
    """
    p, n, k = n_pixels, LATENT_DIM, GENERATIONS_PER_IMAGE
    encoder_hidden, decoder_hidden = hidden_sizes(p, n), hidden_sizes(n, p)  # d, D borrow them
    enc, dec = _forward_exps(encoder_hidden, 2 * n), _forward_exps(decoder_hidden, p)
    d = 2 * _forward_exps(encoder_hidden, 1)  # a real and a fake pass
    big_d = 2 * _forward_exps(decoder_hidden, 1)
    parts = models.get(model)
    has_encoder = parts.has_encoder
    passes = dec + (enc if has_encoder else 0)
    if parts.decoder_discriminator or parts.encoder_discriminator:
        passes += dec  # the fake, from the updated decoder (d and D share it)
    if parts.decoder_discriminator:
        passes += d
    if parts.encoder_discriminator:
        passes += enc + big_d  # the fake is re-encoded for D
    exp = 3 * n_images * (passes + k * dec)
    z_sqrts = 3 * n * (n_images + n_images) if has_encoder else 0  # training z, generation
    sqrt = z_sqrts + n_images * k * p
    return {"exp": exp, "sqrt": sqrt}


# ----------------------------------------------------------------------------- paper

def paper_products_per_step(model: str) -> dict[str, int]:
    """Products per training step that read each 3P-wide matrix (see the module docstring),
    from the model's parts: VAE 1 + 2; AVA1 1 + 3 + 2; AVA3 3 + 4; AVA5 3 + 4 + 2; GAN 3 + 2."""
    parts = models.get(model)
    fresh_fake = parts.decoder_discriminator or parts.encoder_discriminator
    # encoder: x (its second product with x, after the update, reused); with D, x' in the
    # encoder step and in the D step
    encoder = (1 + 2 * parts.encoder_discriminator) if parts.has_encoder else 0
    # decoder: forward and the error sent below; with D, x' for the encoder step; with d or D
    # (the GAN's d included), x' of the updated decoder for the discriminator steps
    decoder = 2 + parts.encoder_discriminator + fresh_fake
    # d: d(x') for the decoder's error, the d step's forward on real and fake (one product)
    d = 2 if parts.decoder_discriminator else 0
    return {"encoder": encoder, "decoder": decoder, "d": d}


def paper_updates_per_step(model: str) -> dict[str, int]:
    """Rank-1 terms each 3P-wide matrix receives per step: d's real and fake are two."""
    parts = models.get(model)
    return {"encoder": int(parts.has_encoder), "decoder": 1,
            "d": 2 if parts.decoder_discriminator else 0}


#: Passes per seed outside training: generation encodes the test images and decodes N K rows.
PAPER_PASSES_PER_GENERATION = {"encoder": 1, "decoder": 1, "d": 0}


def paper_passes_per_seed(model: str, n_images: int,
                          capacity: int = PENDING_UPDATES) -> dict[str, int]:
    """Passes over each 3P-wide matrix in one seed: one step per image, then generation.
    ``capacity`` must be a multiple of every matrix's terms per step (1 or 2), so that a
    collection fills exactly; 0 is an eager update (and a stacked seed's,
    avarep.stacked)."""
    products, updates = paper_products_per_step(model), paper_updates_per_step(model)
    if any(capacity % terms for terms in updates.values() if terms):
        raise ValueError(f"capacity {capacity} is not a multiple of the terms per step "
                         f"{sorted(set(updates.values()) - {0})}")
    passes = {}
    for name, per_step in products.items():
        if capacity:
            # added when the next step's terms would overflow the collection, and at the end
            additions = -(-n_images * updates[name] // capacity)
        else:  # each step's terms added at once, in one product (stacked seeds too)
            additions = n_images if updates[name] else 0
        passes[name] = n_images * per_step + 2 * additions
    if products["encoder"]:
        # the reused product is recomputed after a step whose update added the collection;
        # without a collection nothing is reused: after every step's update
        passes["encoder"] += (n_images - 1) // capacity if capacity else n_images
        generation = PAPER_PASSES_PER_GENERATION
    else:
        generation = {**PAPER_PASSES_PER_GENERATION, "encoder": 0}  # z ~ N(0, I): no encoding
    return {name: passes[name] + generation[name] for name in passes}


def paper_wide_matrix_bytes(n_pixels: int, itemsize: int = 8) -> int:
    """Bytes of one 3P x h weight matrix (h: the widest hidden layer next to the pixels)."""
    return 3 * n_pixels * hidden_sizes(n_pixels, LATENT_DIM)[0] * itemsize


def paper_bytes_per_seed(model: str, n_pixels: int, n_images: int, itemsize: int = 8,
                         capacity: int = PENDING_UPDATES) -> int:
    """Bytes the paper protocol streams over its 3P-wide matrices in one seed: training and
    generation. Activations, errors, the collected updates and the small layers are left
    out (a few per cent on the paper's frames). ``capacity`` 0: stacked seeds on a GPU."""
    passes = sum(paper_passes_per_seed(model, n_images, capacity).values())
    return passes * paper_wide_matrix_bytes(n_pixels, itemsize)


# ----------------------------------------------------------------------------- rates


def _best_seconds(work, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def multiply_add_rate() -> float:
    """Single-thread multiply-adds per second of numpy's a * b + c on cache-sized arrays."""
    a, b, c = (np.random.default_rng(0).random(20_000) for _ in range(3))
    out = np.empty_like(a)

    def work():
        for _ in range(200):
            np.multiply(a, b, out=out)
            np.add(out, c, out=out)

    return 200 * a.size / _best_seconds(work)


def ufunc_rate(ufunc) -> float:
    """Evaluations per second of a numpy ufunc (np.exp, np.sqrt) on cache-sized arrays,
    with arguments in the range the logistic and BM see."""
    x = np.random.default_rng(0).uniform(0.0, 3.0, 20_000)
    out = np.empty_like(x)

    def work():
        for _ in range(200):
            ufunc(x, out=out)

    return 200 * x.size / _best_seconds(work)


def memory_bandwidth(megabytes: int = 512) -> float:
    """Single-thread bytes per second of ``b = a + 1`` over arrays far beyond the cache,
    counted as one read and one write of the array."""
    a = np.ones(megabytes * 2**20 // 8)
    b = np.empty_like(a)
    b.fill(0.0)  # touch the pages before timing

    def work():
        np.add(a, 1.0, out=b)

    return 2 * a.nbytes / _best_seconds(work, repeats=3)


def device_memory_bandwidth(device: str, megabytes: int = 2048) -> float:
    """Bytes per second of ``b = a + 1`` on a torch device (a GPU), counted as one read and
    one write, best of 5 after a warm-up; the work is synchronised before the clock is read."""
    import torch  # only where a device is measured

    a = torch.ones(megabytes * 2**20 // 8, dtype=torch.float64, device=device)
    b = torch.empty_like(a)

    def work():
        torch.add(a, 1.0, out=b)
        torch.cuda.synchronize(device)

    work()
    return 2 * a.numel() * 8 / _best_seconds(work)


def startup_seconds(protocol: str, repeats: int = 5) -> float:
    """Wall time of a fresh interpreter importing what a train_cells job of ``protocol``
    imports (the entry point and the protocol module), best of ``repeats``."""
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    code = (f"import sys; sys.path.insert(0, {str(scripts)!r}); import train_cells; "
            f"from avarep.protocols import load; load({protocol!r})")

    def work():
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)

    return _best_seconds(work, repeats)
