"""Stacked seeds (issue 13): a cell's seeds trained as one computation with a leading seed axis
(``paper.train_stack``, used on a GPU) give what each seed gives alone (``paper.train``).

The reference is the per-seed path itself, which the rest of the suite checks against
autograd and hand-worked values. ``StackedMatrix`` is checked against numpy per seed.
"""

import numpy as np
import pytest
import torch

from avarep import cell
from avarep.protocols import Diverged, paper
from avarep.stacked import StackedMatrix
from avarep.sweep import MODELS

OPTIONS = paper.check_options({})
TOL = 1e-12


def images(n=8, p=5, seed=2, bad_image=None):
    data = np.random.default_rng(seed).random((n, p, 3))
    if bad_image is not None:
        data[bad_image, 1, 2] = np.nan
    return data


def rngs(seeds, base=40):
    return [np.random.default_rng(base + s) for s in seeds]


def flat_parameters(trained):
    return [p for net in trained.model.networks().values() for p in net.parameters()]


def assert_same_seed(alone, stacked, rng_alone, rng_stacked, data):
    """Parameters, generated images, health and diagnostics to 1e-12; the rng where
    train leaves it."""
    for a, b in zip(flat_parameters(alone), flat_parameters(stacked), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=0, atol=TOL)
    assert stacked.log.keys() == alone.log.keys()
    for key, value in alone.log.items():
        if isinstance(value, float):
            assert stacked.log[key] == pytest.approx(value, rel=0, abs=TOL), key
        else:  # model name, steps, clamp counts
            assert stacked.log[key] == value, key
    health_a, health_b = alone.health(), stacked.health()
    assert health_b["clamped_probability_share"] == health_a["clamped_probability_share"]
    for key in ("max_abs_mu", "max_sigma2"):  # None for the GAN, which has no encoder
        assert (health_b[key] is None) == (health_a[key] is None)
        assert health_b[key] == pytest.approx(health_a[key] or 0.0, rel=0, abs=TOL) or health_b[key] is None
    for key in ("parameter_norm", "parameter_norm_growth"):
        assert health_b[key] == pytest.approx(health_a[key], rel=0, abs=TOL)
    np.testing.assert_allclose(stacked.generate(data, 3, rng_stacked),
                               alone.generate(data, 3, rng_alone), rtol=0, atol=TOL)


# ------------------------------------------------------------------------ the stacked matrix


def test_stacked_matrix_is_each_seeds_own_matrix():
    g = np.random.default_rng(0)
    mats = g.standard_normal((3, 4, 5))
    m = StackedMatrix(torch.tensor(mats.copy()))
    bias_rows, bias_cols = g.standard_normal((3, 4)), g.standard_normal((3, 5))
    h_rows, shared_cols = g.standard_normal((3, 2, 4)), g.standard_normal((2, 5))
    left = m.left_product(torch.tensor(h_rows), torch.tensor(bias_cols)).numpy()
    right = m.right_product(torch.tensor(shared_cols), torch.tensor(bias_rows)).numpy()
    a, b = g.standard_normal((3, 2, 4)), g.standard_normal((2, 5))  # b shared by every seed
    m.add_outer(torch.tensor(a), torch.tensor(b), 0.3)
    for s in range(3):
        np.testing.assert_allclose(left[s], bias_cols[s] + h_rows[s] @ mats[s], atol=1e-13)
        np.testing.assert_allclose(right[s], bias_rows[s] + shared_cols @ mats[s].T, atol=1e-13)
        np.testing.assert_allclose(m.settled()[s].numpy(), mats[s] + 0.3 * a[s].T @ b, atol=1e-13)
    assert m.passes == 4  # two products, one update (read and write)


# ------------------------------------------------------------------------ every model, stacked


@pytest.mark.parametrize("model", MODELS)
def test_stacked_seeds_equal_each_seed_trained_alone(model):
    data = images()
    seeds = [0, 1, 2]
    alone_rngs, stacked_rngs = rngs(seeds), rngs(seeds)
    alone = [paper.train(data, model, 0.3, rng, OPTIONS) for rng in alone_rngs]
    stacked = paper.train_stack(data, model, 0.3, stacked_rngs, OPTIONS)
    assert len(stacked) == len(seeds)
    for a, b, ra, rb in zip(alone, stacked, alone_rngs, stacked_rngs):
        assert isinstance(b, paper.TrainedModel)
        assert_same_seed(a, b, ra, rb, data)
        assert ra.integers(2**62) == rb.integers(2**62)  # both streams where generate left them


@pytest.mark.parametrize("model", ["AVA5", "GAN"])
def test_stacked_seeds_on_the_papers_frames(model, orbit_images):
    """The paper's frames (12 of them, 19200 inputs) at a healthy learning rate, float64."""
    data = orbit_images[:12]
    alone_rngs, stacked_rngs = rngs([3, 4]), rngs([3, 4])
    alone = [paper.train(data, model, 0.01, rng, OPTIONS) for rng in alone_rngs]
    stacked = paper.train_stack(data, model, 0.01, stacked_rngs, OPTIONS)
    for a, b, ra, rb in zip(alone, stacked, alone_rngs, stacked_rngs):
        assert_same_seed(a, b, ra, rb, data[:3])


def test_seeds_of_several_learning_rates_in_stacks_of_a_bounded_size(monkeypatch):
    """One job's cells stack together, each seed at its own rate; a stack holds at most
    STACK_BYTES of weights (here 3 seeds' worth: 7 seeds go as 3 + 3 + 1)."""
    data = images()
    wide = 3 * data.shape[1] * 3 * paper.hidden_sizes(data.shape[1], 10)[0] * 8  # 3 wide matrices
    monkeypatch.setattr(paper, "STACK_BYTES", 3 * wide)
    sizes, stacked_once = [], paper._train_stacked

    def spy(images, model, lrs, rngs, *rest):
        sizes.append(len(rngs))
        return stacked_once(images, model, lrs, rngs, *rest)

    monkeypatch.setattr(paper, "_train_stacked", spy)
    lrs = [1.0, 0.3, 0.3, 0.05, 0.05, 0.01, 0.5]
    alone_rngs, stacked_rngs = rngs(range(7)), rngs(range(7))
    stacked = paper.train_stack(data, "AVA2", lrs, stacked_rngs, OPTIONS)
    assert sizes == [3, 3, 1]
    for lr, ra, rb, b in zip(lrs, alone_rngs, stacked_rngs, stacked):
        assert_same_seed(paper.train(data, "AVA2", lr, ra, OPTIONS), b, ra, rb, data)
    with pytest.raises(ValueError, match="one learning rate per rng"):
        paper.train_stack(data, "AVA2", [0.1], rngs([0, 1]), OPTIONS)


def test_a_stack_of_one_seed_is_that_seed():
    data = images()
    a = paper.train(data, "AVA3", 0.2, np.random.default_rng(5), OPTIONS)
    (b,) = paper.train_stack(data, "AVA3", 0.2, [np.random.default_rng(5)], OPTIONS)
    assert_same_seed(a, b, np.random.default_rng(6), np.random.default_rng(6), data)


# ------------------------------------------------------------------------ divergence in a stack


@pytest.mark.parametrize("model", ["VAE", "AVA5", "GAN"])
def test_every_diverged_seed_gets_the_error_train_raises(model):
    data = images(bad_image=3)
    expected = []
    for rng in rngs([0, 1]):
        with pytest.raises(Diverged) as caught:
            paper.train(data, model, 0.1, rng, OPTIONS)
        expected.append(str(caught.value))
    got = paper.train_stack(data, model, 0.1, rngs([0, 1]), OPTIONS)
    assert all(isinstance(g, Diverged) for g in got)
    assert [str(g) for g in got] == expected
    assert all("at step" in message for message in expected)  # the culprit is named


def test_one_seed_blowing_up_leaves_the_others_alone(monkeypatch):
    """Seed 1's slice is poisoned inside the stack: the other seeds are untouched, and seed 1
    is trained again alone, whose (healthy) answer stands."""
    build = paper.build

    def poisoned(*args, **kwargs):
        m = build(*args, **kwargs)
        if m.lead:
            m.decoder.biases[0][1, 0] = np.nan
        return m

    train, replayed = paper.train, []

    def counted_train(*args, **kwargs):
        replayed.append(args[3])  # the rng
        return train(*args, **kwargs)

    monkeypatch.setattr(paper, "build", poisoned)
    monkeypatch.setattr(paper, "train", counted_train)
    data = images()
    stacked_rngs = rngs([0, 1, 2])
    stacked = paper.train_stack(data, "AVA1", 0.3, stacked_rngs, OPTIONS)
    assert replayed == [stacked_rngs[1]]  # seed 1 alone was trained again
    monkeypatch.setattr(paper, "build", build)
    monkeypatch.setattr(paper, "train", train)
    alone_rngs = rngs([0, 1, 2])
    alone = [paper.train(data, "AVA1", 0.3, rng, OPTIONS) for rng in alone_rngs]
    for a, b, ra, rb in zip(alone, stacked, alone_rngs, stacked_rngs):
        assert isinstance(b, paper.TrainedModel)
        assert_same_seed(a, b, ra, rb, data)


def test_stacks_only_on_a_gpu_and_refuses_what_it_cannot_do():
    assert not paper.stacks(OPTIONS)
    assert paper.stacks({**OPTIONS, "device": "cuda:0"})
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    with pytest.raises(ValueError, match="once per pass"):
        paper.build("VAE", 6, gens, OPTIONS, latent=2, hidden=[3])
    m = paper.build("VAE", 6, gens, OPTIONS, latent=2, hidden=[3], check_each_step=False)
    with pytest.raises(ValueError, match="shuffle"):
        paper.fit(m, torch.zeros(4, 6, dtype=torch.float64), 0.1, shuffle=True)


# ------------------------------------------------------------------------ through a cell


def test_a_cell_of_stacked_seeds_records_what_a_cell_of_single_seeds_does(monkeypatch):
    data = images(n=6)

    def run():
        return cell.run_cell(data, dataset="t", protocol="paper", model="AVA4", lr=0.3,
                             seeds=[0, 1, 2], options={}, data_sha256="0" * 64)

    alone, alone_sample = run()
    monkeypatch.setattr(paper, "stacks", lambda options: True)
    stacked, stacked_sample = run()
    assert [r["status"] for r in stacked["runs"]] == [r["status"] for r in alone["runs"]]
    for a, b in zip(alone["runs"], stacked["runs"]):
        assert b["bm"] == pytest.approx(a["bm"], rel=0, abs=TOL)
        assert b["seconds"] > 0
    assert stacked["settings_hash"] == alone["settings_hash"]
    np.testing.assert_allclose(stacked_sample, alone_sample, rtol=0, atol=TOL)


# ------------------------------------------------------------------------ on a GPU


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("model", MODELS)
def test_stacked_seeds_on_a_gpu_match_each_seed_alone_on_the_cpu(model):
    """What the pipeline runs with device=cuda (stacked) against what it runs on the CPU."""
    data = images()
    cpu_rngs, gpu_rngs = rngs([0, 1, 2]), rngs([0, 1, 2])
    gpu = paper.train_stack(data, model, 0.3, gpu_rngs, paper.check_options({"device": "cuda"}))
    for rng_cpu, rng_gpu, on_gpu in zip(cpu_rngs, gpu_rngs, gpu):
        on_cpu = paper.train(data, model, 0.3, rng_cpu, OPTIONS)
        for a, b in zip(flat_parameters(on_cpu), flat_parameters(on_gpu), strict=True):
            np.testing.assert_allclose(b.cpu().numpy(), a.numpy(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(on_gpu.generate(data, 3, rng_gpu), on_cpu.generate(data, 3, rng_cpu),
                                   rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", ["AVA5", "GAN", "AVA1"])
def test_each_seed_keeps_its_own_clamp_counts(model):
    """At gamma = 30 the discriminators saturate (and AVA5 seed 0's sigma2 hits its floor):
    the counts differ from seed to seed, and each stacked seed reports its own."""
    data = images()
    alone = [paper.train(data, model, 30.0, rng, OPTIONS).log for rng in rngs([0, 1, 2])]
    stacked = [t.log for t in paper.train_stack(data, model, 30.0, rngs([0, 1, 2]), OPTIONS)]
    counts = [(log["clamped_probabilities"], log["clamped_sigma2"]) for log in alone]
    assert len(set(counts)) > 1 and all(p > 0 for p, _ in counts)  # the test bites
    assert [(log["clamped_probabilities"], log["clamped_sigma2"]) for log in stacked] == counts


def test_a_jobs_cells_train_in_stacks_and_record_what_single_seeds_do(monkeypatch):
    """run_cells (one train_cells job): the cells' seeds in stacks of as many cells as one
    stack holds (here 2 cells of 2 seeds), then one record per rate, each as run_cell
    records it seed by seed."""
    data = images(n=6)
    kwargs = dict(dataset="t", protocol="paper", model="GAN", seeds=[0, 1],
                  options={}, data_sha256="0" * 64)
    lrs = [0.3, 0.05, 0.1]
    alone = [cell.run_cell(data, lr=lr, **kwargs)[0] for lr in lrs]
    monkeypatch.setattr(paper, "stacks", lambda options: True)
    monkeypatch.setattr(paper, "seeds_per_stack", lambda n_pixels, options, **sizes: 4)
    calls, train_stack = [], paper.train_stack
    monkeypatch.setattr(paper, "train_stack", lambda *a, **k: calls.append(a[2]) or train_stack(*a, **k))
    stacked = [record for record, _ in cell.run_cells(data, lrs=lrs, **kwargs)]
    assert calls == [[0.3, 0.3, 0.05, 0.05], [0.1, 0.1]]  # rate by rate, seed by seed
    for a, b in zip(alone, stacked, strict=True):
        assert (b["lr"], b["settings_hash"]) == (a["lr"], a["settings_hash"])
        assert [r["bm"] for r in b["runs"]] == pytest.approx([r["bm"] for r in a["runs"]], rel=0, abs=TOL)
        assert b["wall_seconds"] > 0 and all(r["seconds"] > 0 for r in b["runs"])


def test_a_stack_holds_two_gib_of_wide_weights():
    """seeds_per_stack by hand: the paper's 100 x 64 frames, hidden width 100, three
    19200 x 100 matrices a seed: 46 MB in float64 (46 seeds), 23 MB in float32 (93)."""
    assert paper.seeds_per_stack(6400, paper.check_options({})) == 2**31 // (3 * 19200 * 100 * 8) == 46
    assert paper.seeds_per_stack(6400, paper.check_options({"dtype": "float32"})) == 93
