"""The ``paper`` protocol (spec section 6): every injected error, the step order, safety, seeds.

Two independent references check the hand-written back-propagation of ``protocols/paper.py``:

* ``reference_step``: the whole step written as gradient *ascent* on explicit objectives
  with autograd (encoder: -KL + A*Sum(mu); decoder: -|x - x'|^2/2 + A*Sum(x');
  discriminators: log p(real) + log(1 - p(fake)) + c * u(fake) for the lean term), on every
  parameter of every network, for all seven models, over two steps.
* ``test_output_layer_term``: each injected error term written out by hand in numpy at the
  output layer (update = gamma * delta (x) input), one term per case.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avarep import protocols
from avarep.protocols import Diverged, paper
from avarep.sweep import MODELS

F64 = {"dtype": "float64", "device": "cpu", "threads": 1}
P_TINY, N_LATENT, HIDDEN = 2, 2, [4, 3]  # encoder 6 -> 4 -> 3 -> 4, decoder 2 -> 3 -> 4 -> 6
LR = 0.3


def tiny(model, seed=0, **options):
    gen = torch.Generator().manual_seed(seed)
    return paper.build(model, 3 * P_TINY, gen, {**F64, **options}, latent=N_LATENT, hidden=HIDDEN)


def snapshot(m):
    return {name: [(net.weight(i).clone(), net.biases[i].clone()) for i in range(len(net.biases))]
            for name, net in m.networks().items()}


def draws(seed, steps=2):
    g = np.random.default_rng(seed)
    xs = torch.tensor(g.random((steps, 1, 3 * P_TINY)))
    rs = torch.tensor(g.standard_normal((steps, 1, N_LATENT)))
    return xs, rs


# ------------------------------------------------------------------ independent autograd reference


def fwd(params, x, output="sigmoid", mu_logistic=False):
    h = x
    for i, (w, b) in enumerate(params):
        u = h @ w.T + b
        if i < len(params) - 1:
            h = torch.sigmoid(u)
    if output == "sigmoid":
        return u, torch.sigmoid(u)
    n = u.shape[1] // 2
    mu = torch.sigmoid(u[:, :n]) if mu_logistic else u[:, :n]
    return u, torch.cat([mu, F.softplus(u[:, n:])], 1)


def ascend(params, objective_fn, lr):
    leaves = [(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in params]
    with torch.enable_grad():
        objective = objective_fn(leaves)
        grads = torch.autograd.grad(objective, [t for pair in leaves for t in pair])
    out, it = [], iter(grads)
    for w, b in params:
        out.append((w + lr * next(it), b + lr * next(it)))
    return out


#: Spec 5.3's table, written out here independently of the model registry.
FLAGS = {
    "AVA1": dict(d=True, lean_decode=False, D=False, lean_encode=False),
    "AVA2": dict(d=True, lean_decode=True, D=False, lean_encode=False),
    "AVA3": dict(d=False, lean_decode=False, D=True, lean_encode=False),
    "AVA4": dict(d=False, lean_decode=False, D=True, lean_encode=True),
    "AVA5": dict(d=True, lean_decode=True, D=True, lean_encode=True),
    "VAE": dict(d=False, lean_decode=False, D=False, lean_encode=False),
    "GAN": dict(d=True, lean_decode=False, D=False, lean_encode=False),
}


def reference_step(model, net, x, r, lr, mu_logistic=False):
    """One step of spec 6 as gradient ascent on objectives (independent of paper.py).

    ``mu_logistic``: the robustness study's alternative mu = sigmoid(u); autograd then brings
    the a_f' = mu (1 - mu) factor itself, and the lean-encode vector takes it explicitly.
    """
    flags = FLAGS[model]
    n = N_LATENT
    net = dict(net)
    enc = lambda p, inputs: fwd(p, inputs, "encoder", mu_logistic)  # noqa: E731
    if model == "GAN":
        z = r
        d0 = fwd(net["d"], fwd(net["decoder"], z)[1])[1].detach()
        net["decoder"] = ascend(net["decoder"], lambda p: (d0 * fwd(p, z)[1]).sum(), lr)
    else:
        mu, s2 = enc(net["encoder"], x)[1].split(n, 1)
        adv = 0.0
        if flags["D"]:
            z0 = mu + s2.sqrt() * r
            mu_f = enc(net["encoder"], fwd(net["decoder"], z0)[1])[1][:, :n]
            adv = fwd(net["D"], mu_f)[1].detach()  # a'(D0)/(1 - D0) = D0

        def encoder_objective(p):
            mu, s2 = enc(p, x)[1].split(n, 1)
            return (-0.5 * mu**2 + adv * mu).sum() + (-0.5 * (s2 - torch.log(s2))).sum()

        net["encoder"] = ascend(net["encoder"], encoder_objective, lr)
        mu, s2 = enc(net["encoder"], x)[1].split(n, 1)
        z = (mu + s2.sqrt() * r).detach()
        adv = 0.0
        if flags["d"]:
            adv = fwd(net["d"], fwd(net["decoder"], z)[1])[1].detach()

        def decoder_objective(p):
            xf = fwd(p, z)[1]
            return (-0.5 * (x - xf) ** 2).sum() + (adv * xf).sum()

        net["decoder"] = ascend(net["decoder"], decoder_objective, lr)
    xf = fwd(net["decoder"], z)[1].detach()

    def disc_objective(real, fake, lean_vector):
        def objective(p):
            _, p_real = fwd(p, real)
            u_fake, p_fake = fwd(p, fake)
            value = torch.log(p_real).sum() + torch.log(1 - p_fake).sum()
            if lean_vector is not None:
                c = (p_fake * (1 - p_fake)).detach() * lean_vector.sum(1, keepdim=True)
                value = value + (c * u_fake).sum()
            return value
        return objective

    if flags["d"]:
        lean = (x - xf) * xf * (1 - xf) if flags["lean_decode"] else None
        net["d"] = ascend(net["d"], disc_objective(x, xf, lean), lr)
    if flags["D"]:
        mu_r = enc(net["encoder"], x)[1][:, :n].detach()
        mu_f = enc(net["encoder"], xf)[1][:, :n].detach()
        slope = mu_f * (1 - mu_f) if mu_logistic else 1.0
        lean = (mu_r - mu_f) * slope if flags["lean_encode"] else None
        net["D"] = ascend(net["D"], disc_objective(mu_r, mu_f, lean), lr)
    return net


@pytest.mark.parametrize("mu_output", ["linear", "logistic"])
@pytest.mark.parametrize("model", MODELS)
def test_full_step_matches_autograd_objectives(model, mu_output):
    m = tiny(model, seed=3, mu_output=mu_output)
    expected = snapshot(m)
    xs, rs = draws(11)
    for x, r in zip(xs, rs):  # two steps: the second one starts from updated players
        expected = reference_step(model, expected, x, r, LR, mu_output == "logistic")
        with torch.no_grad():
            m.step(x, r, LR)
    got = snapshot(m)
    assert set(got) == set(expected)
    for name in got:
        for (w, b), (we, be) in zip(got[name], expected[name]):
            assert torch.allclose(w, we, rtol=0, atol=1e-12), (model, name)
            assert torch.allclose(b, be, rtol=0, atol=1e-12), (model, name)


# ------------------------------------------------------------------ each term by hand (numpy)


def sig(u):
    return 1.0 / (1.0 + np.exp(-u))


def np_fwd(params, x, output="sigmoid"):
    """Returns (input of the output layer, net input u, output y)."""
    h = x
    for i, (w, b) in enumerate(params):
        u = w @ h + b
        if i < len(params) - 1:
            h = sig(u)
    hidden = h if len(params) > 1 else x
    if output == "sigmoid":
        return hidden, u, sig(u)
    n = u.size // 2
    return hidden, u, np.concatenate([u[:n], np.log1p(np.exp(u[n:]))])


def as_np(snap):
    return {k: [(w.numpy(), b.numpy()) for w, b in v] for k, v in snap.items()}


CASES = [
    ("VAE", "encoder", "mu"),
    ("VAE", "encoder", "sigma2"),
    ("AVA3", "encoder", "mu_adversarial"),
    ("VAE", "decoder", "reconstruction"),
    ("AVA1", "decoder", "reconstruction_adversarial"),
    ("GAN", "decoder", "adversarial_only"),
    ("AVA1", "d", "real_fake"),
    ("AVA2", "d", "lean_decode"),
    ("GAN", "d", "real_fake"),
    ("AVA3", "D", "real_fake"),
    ("AVA4", "D", "lean_encode"),
]


@pytest.mark.parametrize("model,network,term", CASES)
def test_output_layer_term(model, network, term):
    """Output-layer update = gamma * delta (x) (input of the output layer), delta by hand."""
    n = N_LATENT
    m = tiny(model, seed=7)
    xs, rs = draws(5, steps=1)
    x_t, r_t = xs[0], rs[0]
    before = as_np(snapshot(m))
    with torch.no_grad():
        m.step(x_t, r_t, LR)
    after = as_np(snapshot(m))
    x, r = x_t.numpy()[0], r_t.numpy()[0]
    flags = FLAGS[model]

    if network == "encoder":
        h, u, y = np_fwd(before["encoder"], x, "encoder")
        mu, s2 = y[:n], y[n:]
        delta = np.concatenate([-mu, -0.5 * (1 - 1 / s2) * sig(u[n:])])
        if term == "mu_adversarial":
            z0 = mu + np.sqrt(s2) * r
            xf0 = np_fwd(before["decoder"], z0)[2]
            mu_f = np_fwd(before["encoder"], xf0, "encoder")[2][:n]
            D0 = np_fwd(before["D"], mu_f)[2]
            delta[:n] += D0 * (1 - D0) / (1 - D0)
        rows = slice(0, n) if term.startswith("mu") else slice(n, 2 * n)
    elif network == "decoder":
        if model == "GAN":
            z = r
        else:
            mu, s2 = np.split(np_fwd(after["encoder"], x, "encoder")[2], 2)  # updated encoder
            z = mu + np.sqrt(s2) * r
        h, _, xf = np_fwd(before["decoder"], z)
        e = np.zeros_like(x) if term == "adversarial_only" else x - xf
        if flags["d"]:
            d0 = np_fwd(before["d"], xf)[2]
            e = e + d0 * (1 - d0) / (1 - d0)
        delta = e * xf * (1 - xf)
        rows = slice(None)
    else:  # discriminators: deltas at the net input, real and fake passes summed
        if model == "GAN":
            z = r
        else:
            mu, s2 = np.split(np_fwd(after["encoder"], x, "encoder")[2], 2)
            z = mu + np.sqrt(s2) * r
        xf = np_fwd(after["decoder"], z)[2]  # updated decoder
        if network == "d":
            real, fake = x, xf
            lean = (x - xf) * xf * (1 - xf) if flags["lean_decode"] else None
        else:
            real = np_fwd(after["encoder"], x, "encoder")[2][:n]
            fake = np_fwd(after["encoder"], xf, "encoder")[2][:n]
            lean = (real - fake) if flags["lean_encode"] else None
        h_r, _, p_r = np_fwd(before[network], real)
        h_f, _, p_f = np_fwd(before[network], fake)
        delta_r = p_r * (1 - p_r) / p_r
        delta_f = -p_f * (1 - p_f) / (1 - p_f)
        if lean is not None:
            extra = p_f * (1 - p_f) * lean.sum()
            assert abs(extra[0]) > 1e-6  # the lean term is really exercised
            delta_f = delta_f + extra
        w0, b0 = before[network][-1]
        w1, b1 = after[network][-1]
        expected_w = w0 + LR * (np.outer(delta_r, h_r) + np.outer(delta_f, h_f))
        np.testing.assert_allclose(w1, expected_w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b1, b0 + LR * (delta_r + delta_f), rtol=0, atol=1e-12)
        return
    w0, b0 = before[network][-1]
    w1, b1 = after[network][-1]
    np.testing.assert_allclose(w1[rows], (w0 + LR * np.outer(delta, h))[rows], rtol=0, atol=1e-12)
    np.testing.assert_allclose(b1[rows], (b0 + LR * delta)[rows], rtol=0, atol=1e-12)


def test_gan_generator_gets_no_reconstruction_signal():
    """The GAN's generator step never sees the real image: two different images, same rest."""
    a, b = tiny("GAN", seed=2), tiny("GAN", seed=2)
    xs, rs = draws(9, steps=2)
    with torch.no_grad():
        a.step(xs[0], rs[0], LR)
        b.step(xs[1], rs[0], LR)
    for (wa, ba), (wb, bb) in zip(snapshot(a)["decoder"], snapshot(b)["decoder"]):
        assert torch.equal(wa, wb) and torch.equal(ba, bb)
    assert not torch.equal(snapshot(a)["d"][0][0], snapshot(b)["d"][0][0])  # d does see it


# ------------------------------------------------------------------ train / generate contract


def images(n=3, p=5, seed=0):
    return np.random.default_rng(seed).random((n, p, 3))


def test_train_generate_shape_log_and_determinism():
    data = images()
    out = []
    for _ in range(2):
        rng = np.random.default_rng(42)
        trained = paper.train(data, "AVA5", 0.1, rng, paper.check_options({}))
        out.append(trained.generate(data, 4, rng))
    assert out[0].shape == (3, 4, 5, 3) and out[0].dtype == np.float64
    assert np.array_equal(out[0], out[1])
    assert np.all((out[0] >= 0) & (out[0] <= 1))
    json.dumps(trained.log)
    assert trained.log["steps"] == 3
    for key in ("last_d_real", "last_d_fake", "last_D_real", "last_D_fake", "last_mean_sigma2"):
        assert key in trained.log
    other_rng = np.random.default_rng(43)
    other = paper.train(data, "AVA5", 0.1, other_rng, paper.check_options({})).generate(data, 4, other_rng)
    assert not np.array_equal(out[0], other)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_runs_in_float32_too(model):
    data = images()
    rng = np.random.default_rng(1)
    trained = paper.train(data, model, 0.05, rng, paper.check_options({"dtype": "float32"}))
    gen = trained.generate(data, 2, rng)
    assert gen.shape == (3, 2, 5, 3) and gen.dtype == np.float64 and np.all(np.isfinite(gen))


def test_torch_global_rng_untouched():
    state = torch.get_rng_state()
    rng = np.random.default_rng(0)
    paper.train(images(), "VAE", 0.1, rng, paper.check_options({})).generate(images(), 2, rng)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("lr", [1.0, 1000.0])
def test_large_learning_rate_is_finite_or_diverged(model, lr):
    data = images(n=6, p=64, seed=3)
    rng = np.random.default_rng(0)
    try:
        generated = paper.train(data, model, lr, rng, paper.check_options({})).generate(data, 3, rng)
    except Diverged:
        return
    assert np.all(np.isfinite(generated))


def test_non_finite_input_raises_diverged():
    data = images()
    data[1, 2, 0] = np.nan
    with pytest.raises(Diverged):
        paper.train(data, "VAE", 0.1, np.random.default_rng(0), paper.check_options({}))


def test_real_size_layers():
    m = paper.build("AVA5", 3 * 6400, torch.Generator().manual_seed(0), F64)
    assert m.encoder.sizes == [19200, 100, 20]
    assert m.decoder.sizes == [10, 100, 19200]
    assert m.d.sizes == [19200, 100, 1]
    assert m.D.sizes == [10, 100, 1]
    w = m.decoder.weight(1)
    assert w.shape == (19200, 100) and float(w.abs().max()) <= 1 / np.sqrt(100)


# ------------------------------------------------------------------ options


def test_options_defaults_and_json():
    options = paper.check_options({})
    assert options == {"dtype": "float64", "device": "cpu", "threads": 1,
                       "mu_output": "linear", "init_scale": 1.0}
    json.dumps(options)


def test_init_scale_scales_the_same_draws():
    default, scaled = tiny("AVA5", seed=4), tiny("AVA5", seed=4, init_scale=0.1)
    for name, nets in snapshot(default).items():
        for (w, b), (ws, bs) in zip(nets, snapshot(scaled)[name]):
            assert torch.allclose(ws, 0.1 * w, rtol=1e-15, atol=0)
            assert torch.allclose(bs, 0.1 * b, rtol=1e-15, atol=0)
    bound = 1 / np.sqrt(3 * P_TINY)  # the encoder's first layer: U(-bound, bound) by default
    assert float(default.encoder.weight(0).abs().max()) <= bound


@pytest.mark.parametrize(
    "options,key",
    [({"colour": 1}, "colour"), ({"dtype": "float16"}, "dtype"), ({"threads": 0}, "threads"),
     ({"threads": True}, "threads"), ({"device": "tpu"}, "device"),
     ({"mu_output": "tanh"}, "mu_output"), ({"init_scale": 0}, "init_scale"),
     ({"init_scale": "big"}, "init_scale")],
)
def test_bad_options_name_the_key(options, key):
    with pytest.raises(ValueError, match=key):
        protocols.check_options("paper", options)  # what a cell calls


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_a_clear_error(device):
    with pytest.raises(ValueError, match="CUDA is not available"):
        paper.check_options({"device": device})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    data = images()
    cpu_rng, gpu_rng = np.random.default_rng(4), np.random.default_rng(4)
    a = paper.train(data, "AVA5", 0.1, cpu_rng, paper.check_options({})).generate(data, 2, cpu_rng)
    b = paper.train(data, "AVA5", 0.1, gpu_rng, paper.check_options({"device": "cuda"})).generate(data, 2, gpu_rng)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


# ------------------------------------------------------------------ generation and the clamp


@pytest.mark.parametrize("model", [m for m in MODELS if m != "GAN"])
def test_generation_encodes_each_test_image_itself(model):
    """Spec 6: x'_ik = decoder(mu(x_i) + sqrt(sigma2(x_i)) r_ik), each test image encoded on its
    own (here one image at a time through the encoder), with the same r draws."""
    m = tiny(model, seed=3)
    x = torch.tensor(np.random.default_rng(8).random((4, 3 * P_TINY)))
    k = 3
    out = m.sample(x, k, torch.Generator().manual_seed(11))
    r = torch.randn(4, k, N_LATENT, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    for i in range(4):
        _, _, y = m.encoder.forward(x[i : i + 1])
        mu, s2 = y[0, :N_LATENT], y[0, N_LATENT:]
        expected = m.decoder(mu[None, :] + torch.sqrt(s2)[None, :] * r[i])
        torch.testing.assert_close(out[i], expected, rtol=1e-12, atol=1e-14)
    assert not torch.allclose(out[0], out[1])  # different test images, different generations


def test_probabilities_are_clamped_into_the_stated_interval():
    """README and CHOICES: probabilities clamped into [1e-7, 1 - 1e-7] before a division."""
    m = tiny("AVA5")
    p = torch.tensor([[0.0], [1.0], [0.5], [1e-9]], dtype=torch.float64)  # (B, 1) as d gives
    torch.testing.assert_close(m._clamp_p(p), torch.tensor([[1e-7], [1 - 1e-7], [0.5], [1e-7]], dtype=torch.float64),
                               rtol=0, atol=0)
    assert int(m._clamped["probability"]) == 3
    # a saturated discriminator (p = 1) still gives a finite generator error a'(c)/(1 - c),
    # with a'(c) = c (1 - c) for the logistic written through its output: c = 1 - 1e-7
    adv = m._adv(torch.tensor([[1.0]], dtype=torch.float64))
    assert torch.isfinite(adv).all() and adv.item() == pytest.approx(1 - 1e-7, rel=1e-9)


def test_the_open_choices_are_written_once_and_quoted_verbatim():
    """CHOICES is the one text: the module docstring lists it, the README quotes it."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    quoted = readme.split("<!-- choices:start -->\n```text\n", 1)[1].split("\n```\n<!-- choices:end -->", 1)[0]
    assert quoted == paper.choices_text()
    assert paper.choices_text() in paper.__doc__
    # The constants the code uses are the ones the text states.
    assert float(re.search(r"eps = ([0-9.e-]+)", paper.CHOICES["eps"]).group(1)) == paper.EPS
    stated = re.search(r"max\(sigma2, ([0-9.e-]+)\)", paper.CHOICES["sigma2_min"]).group(1)
    assert float(stated) == paper.SIGMA2_MIN


@pytest.mark.parametrize("fan_in, fan_out, bound", [(7, 5, 1 / math.sqrt(7)), (300, 40, 0.37), (4, 9, 1e-3)])
def test_initial_draws_have_the_bits_of_nn_linears_formula(fan_in, fan_out, bound):
    """_drawn_layer computes (u - 0.5) * 2 bound in place; exact arithmetic makes that the
    bits of nn.Linear's (2u - 1) * bound from the same uniform draws, weight then bias."""
    w, b = paper._drawn_layer(fan_in, fan_out, bound, torch.Generator().manual_seed(fan_in))
    twin = torch.Generator().manual_seed(fan_in)
    u_w = torch.rand(fan_out, fan_in, generator=twin, dtype=torch.float64)
    u_b = torch.rand(fan_out, generator=twin, dtype=torch.float64)
    assert torch.equal(w, (u_w * 2 - 1) * bound)
    assert torch.equal(b, (u_b * 2 - 1) * bound)


@pytest.mark.parametrize("network", ["decoder", "d", "D"])
def test_a_sigmoid_output_in_place_has_the_bits_of_one_out_of_place(network):
    """Calling a network (generation, the discriminators' outputs) computes its sigmoid
    output in its net input's memory; forward keeps the net input for the steps that use it."""
    net = getattr(tiny("AVA5", seed=2), network)
    x = torch.rand(5, net.sizes[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, u, y = net.forward(x)
    assert torch.equal(y, torch.sigmoid(u))  # u is still the net input, not y
    assert torch.equal(net(x), y)
