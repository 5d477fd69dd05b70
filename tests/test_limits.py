"""The work counts behind the benchmark's limits: hand-worked values on tiny sizes, and the
same counts taken from the code itself (numpy calls counted, network passes counted)."""

from collections import Counter

import numpy as np
import pytest
import torch

from avarep import limits, metric, models
from avarep.protocols import author, paper
from avarep.sweep import GENERATIONS_PER_IMAGE, MODELS

# ------------------------------------------------------------------- hand-worked values


def test_author_transcendentals_by_hand():
    # P = 4, n = 10: encoder 4 -> [7] -> 20 and decoder 10 -> [7] -> 4, each hidden layer
    # stored as one unit. VAE per image and channel: encoder 1 + 20 exps, decoder 1 + 4;
    # generation K = 10 decoder passes of 5: 26 + 50 = 76, times 3 channels and 2 images.
    # sqrt: z draws 10 per channel in training and in generation (2 images each): 3 * 10 * 4;
    # BM: one per generated pixel, 2 * 10 * 4.
    assert limits.author_transcendentals_per_seed("VAE", 4, 2) == {"exp": 456, "sqrt": 200}
    # GAN: the fake for d (5), d on real and fake (2 + 2), the generator's pass (5), no
    # encoder and no sqrt in z: (14 + 50) * 3 * 2 = 384; sqrt only in BM.
    assert limits.author_transcendentals_per_seed("GAN", 4, 2) == {"exp": 384, "sqrt": 80}


def test_author_multiply_adds_by_hand():
    # VAE, P = 4, n = 10, one hidden layer per network: encoder forward 4 + 20, update
    # 2 (4 + 40); decoder forward 10 + 4, update 10 + 8: 144 per image and channel;
    # generation 20 x (10 + 4) = 280; BM 20 generated images x 3 x 4 = 240.
    assert limits.author_macs_per_seed("VAE", 4, 2) == 3 * (2 * 144 + 280) + 240


@pytest.mark.parametrize("model", ["VAE", "AVA1", "AVA2", "AVA3", "AVA4", "AVA5", "GAN"])
def test_author_multiply_adds_from_parts_equal_the_per_model_table(model):
    """limits derives the count from the model registry's parts; this is the per-model table
    it replaced (written out per name, the way spec 5.3's steps read)."""
    from avarep.layers import hidden_sizes

    p, n, n_images = 40, 10, 3
    h = len(hidden_sizes(p, n))
    enc_fwd, enc_update = p * h + 2 * n, 2 * (p * h + 2 * (2 * n))
    dec_fwd, dec_update = n * h + p, n * h + 2 * p
    disc = 2 * (p * h + 1) + 2 * (p * h + 2)
    vae = enc_fwd + enc_update + dec_fwd + dec_update
    table = {"VAE": vae, "AVA1": vae + dec_fwd + disc, "AVA2": vae + dec_fwd + disc,
             "AVA3": vae + dec_fwd + enc_fwd + 4 * (n + 2),
             "AVA4": vae + dec_fwd + enc_fwd + 4 * (n + 2),
             "AVA5": vae + dec_fwd + disc + enc_fwd + 4 * (n + 2),
             "GAN": 2 * dec_fwd + dec_update + disc}
    generations = n_images * 10
    expected = 3 * (n_images * table[model] + generations * (n * h + p)) + generations * 3 * p
    assert limits.author_macs_per_seed(model, p, n_images) == expected


def test_paper_bytes_by_hand():
    # P = 2: the wide matrices are 3P x hidden(2, 10)[0] = 6 x 4 float64 = 192 bytes.
    assert limits.paper_wide_matrix_bytes(2) == 192
    # 3 images, updates collected 8 at a time: every matrix adds its collection once (2
    # passes), at the end. VAE: encoder 3 x 1 + 2 + 1 (generation), decoder 3 x 2 + 2 + 1.
    assert limits.paper_passes_per_seed("VAE", 3) == {"encoder": 6, "decoder": 9, "d": 0}
    # AVA5: encoder 3 x 3 + 2 + 1, decoder 3 x 4 + 2 + 1, d 3 x 2 + 2 (6 terms fit in 8).
    assert limits.paper_passes_per_seed("AVA5", 3) == {"encoder": 12, "decoder": 15, "d": 8}
    # GAN: no encoding at generation; generator 3 x 3 + 2 + 1, d 3 x 2 + 2.
    assert limits.paper_passes_per_seed("GAN", 3) == {"encoder": 0, "decoder": 12, "d": 8}
    assert limits.paper_bytes_per_seed("AVA5", 2, 3) == 35 * 192
    # 20 images: the encoder adds its collection after steps 8 and 16 and at the end (6
    # passes) and recomputes the reused product in steps 9 and 17: 20 + 6 + 2 + 1.
    # d's 40 terms fill 5 collections: 20 x 2 + 10.
    assert limits.paper_passes_per_seed("AVA1", 20) == {"encoder": 29, "decoder": 67, "d": 50}
    # d's two terms a step would not fill a collection of 3 exactly: refused, not miscounted.
    with pytest.raises(ValueError, match="capacity 3"):
        limits.paper_passes_per_seed("AVA1", 20, capacity=3)
    assert limits.paper_passes_per_seed("VAE", 20, capacity=3)["encoder"] == 20 + 2 * 7 + 6 + 1
    # The paper's frames: 100 x 19200 float64 matrices of 15.36 MB.
    assert limits.paper_wide_matrix_bytes(6400) == 15_360_000


# ----------------------------------------------------------- the counts, from the code


class CountingNumpy:
    """numpy, except that exp and sqrt count the values they evaluate."""

    def __init__(self, counts):
        self.counts = counts

    def __getattr__(self, name):
        return getattr(np, name)

    def exp(self, x, *args, **kwargs):
        self.counts["exp"] += np.size(x)
        return np.exp(x, *args, **kwargs)

    def sqrt(self, x, *args, **kwargs):
        self.counts["sqrt"] += np.size(x)
        return np.sqrt(x, *args, **kwargs)


@pytest.mark.parametrize("model", MODELS)
def test_author_transcendentals_match_the_code(model, monkeypatch):
    images = np.random.default_rng(0).random((3, 5, 3))
    counts = Counter()
    monkeypatch.setattr(author, "np", CountingNumpy(counts))
    monkeypatch.setattr(metric, "np", CountingNumpy(counts))
    rng = np.random.default_rng(1)
    generated = author.train(images, model, 0.5, rng, author.check_options({})).generate(images, GENERATIONS_PER_IMAGE, rng)
    metric.bm_per_generation(generated, images)
    assert dict(counts) == limits.author_transcendentals_per_seed(model, 5, 3)


def wide_matrices(m):
    """Each network's 3P-wide matrix: the encoder's and d's first layer, the decoder's last."""
    wide = {"encoder": (m.encoder, 0), "decoder": (m.decoder, -1), "d": (m.d, 0)}
    return {name: net.matrices[i] for name, (net, i) in wide.items() if net is not None}


# A capacity of 3 only for the models without d, whose two terms a step would not fill it;
# 0: every update added at once.
PASS_CASES = [(m, c) for c in (8, 4, 0) for m in MODELS] + [
    (m, 3) for m in MODELS if not models.get(m).decoder_discriminator]


@pytest.mark.parametrize("model, capacity", PASS_CASES)
def test_paper_passes_match_the_code(model, capacity, monkeypatch):
    """Train 20 steps and generate with every layer collecting its updates; each wide
    matrix counts its own passes (avarep.deferred.DeferredMatrix.passes)."""
    monkeypatch.setattr(paper, "DEFER_FROM_WEIGHTS", 0)
    monkeypatch.setattr(paper, "PENDING_UPDATES", capacity)
    gen = torch.Generator().manual_seed(0)
    m = paper.build(model, 6, gen, paper.check_options({}), latent=2, hidden=[4],
                    check_each_step=False)
    x = torch.rand(20, 6, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        paper.fit(m, x, 0.1)
        m.sample(x[:2], 3, gen)
    counted = {name: matrix.passes for name, matrix in wide_matrices(m).items()}
    expected = limits.paper_passes_per_seed(model, 20, capacity)
    assert counted == {name: n for name, n in expected.items() if n}


@pytest.mark.parametrize("model", MODELS)
def test_stacked_passes_match_the_code(model):
    """Stacked seeds (avarep.stacked) add every update at once: capacity 0's count per seed.
    Generation runs on a seed's own view, whose passes its own matrices count."""
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    m = paper.build(model, 6, gens, paper.check_options({}), latent=2, hidden=[4],
                    check_each_step=False)
    x = torch.rand(20, 6, generator=gens[0], dtype=torch.float64)
    with torch.no_grad():
        paper.fit(m, x, 0.1)
        one = m.seed(1)
        one.sample(x[:2], 3, gens[1])
    counted = {name: matrix.passes + wide_matrices(one)[name].passes
               for name, matrix in wide_matrices(m).items()}
    expected = limits.paper_passes_per_seed(model, 20, 0)
    assert counted == {name: n for name, n in expected.items() if n}
