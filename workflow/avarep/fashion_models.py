"""The models of the Fashion-MNIST study and its feature classifier.

Every neural model has the same layer sizes, the author's hidden-size rule with n = 10
(:func:`avarep.layers.hidden_sizes`): encoder 784 -> 100 -> 20, decoder 10 -> 100 -> 784,
image discriminator 784 -> 100 -> 1, latent discriminator 10 -> 100 -> 1, sigmoid hidden
units, and the same epochs and minibatch size.

* ``AVA1`` ... ``AVA5``, ``VAE``, ``GAN``: the paper's equations (``protocols/paper.py``,
  spec section 6) with minibatch-mean steps of gamma (plain SGD, the paper's own rule).
* ``VAE-std``: Kingma & Welling (2014): ELBO with a Bernoulli likelihood, reparameterisation
  (the reconstruction gradient reaches the encoder), mu and log sigma^2 linear, autograd, Adam.
* ``GAN-std``: Goodfellow et al. (2014) with the non-saturating generator loss, autograd,
  Adam (beta1 = 0.5), one discriminator step then one generator step per minibatch.
* Floors: ``real`` (held-out real train images scored like a model), ``GMM-PCA`` (a Gaussian
  mixture on PCA features, scikit-learn), ``mean-image`` (the per-pixel mean, a collapsed
  generator).

Samples of every generative model come from the prior, z ~ N(0, I_n): the standard way to
score a generator (the paper's own generation, decoding an encoded test image, would show
the models the test split).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from . import fmnist
# The study's model names live in its design module (read when the workflow parses);
# here they stay importable as fashion_models.<NAME>.
from .fashion_design import (  # noqa: F401
    ALL_MODELS, FLOORS, HAS_ENCODER, NEURAL, PAPER_MODELS, STANDARD_MODELS,
)
from .layers import hidden_sizes
from .protocols import Diverged
from .protocols import paper

#: The protocol whose equations the seven paper models follow (its registry entry's name).
PROTOCOL = "paper"

LATENT = 10
PIXELS = fmnist.DATASET.width * fmnist.DATASET.height  # 784
PCA_COMPONENTS, GMM_COMPONENTS = 50, 10
ADAM_BETAS = {"VAE-std": (0.9, 0.999), "GAN-std": (0.5, 0.999)}


def torch_gen(rng: np.random.Generator) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.integers(2**63)))


def _mlp(sizes, gen):
    """nn.Linear layers with sigmoid hidden units, initialised from ``gen`` (torch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as the paper protocol)."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(fan_in, fan_out)
        bound = 1.0 / math.sqrt(fan_in)
        with torch.no_grad():
            layer.weight.copy_((torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound)
            layer.bias.copy_((torch.rand(fan_out, generator=gen) * 2 - 1) * bound)
        layers.append(layer)
        if i < len(sizes) - 2:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def sizes():
    """Encoder and decoder hidden sizes of the author's rule (784 -> 100 -> 2n, n -> 100 -> 784)."""
    return hidden_sizes(PIXELS, LATENT), hidden_sizes(LATENT, PIXELS)


def minibatches(n, batch, gen):
    order = torch.randperm(n, generator=gen)
    return [order[i:i + batch] for i in range(0, n, batch)]


# ---------------------------------------------------------------------------- trained models


class Trained:
    """What scoring needs: ``sample(n, gen)`` (n, 784) images; ``reconstruct(x)`` for models
    with an encoder (decode mu(x)); ``health()`` for avarep.health.classify."""

    encoder = True

    def health(self) -> dict:
        return {}


class PaperTrained(Trained):
    def __init__(self, model: paper.PaperModel):
        self.m = model
        self.encoder = model.encoder is not None

    def sample(self, n, gen):
        m = self.m
        z = torch.randn(n, LATENT, generator=gen, dtype=torch.float64).to(m.device, m.dtype)
        with torch.no_grad():
            return m.decoder(z).double().cpu().numpy()

    def reconstruct(self, x):
        m = self.m
        with torch.no_grad():
            mu = m._encode(torch.as_tensor(x).to(m.device, m.dtype))[2]
            return m.decoder(mu).double().cpu().numpy()

    def health(self):
        return self.m.health()


def train_paper(model, x, lr, rng, *, epochs, batch, dtype, device):
    options = paper.check_options({"dtype": dtype, "device": device})
    m = paper.build(model, PIXELS, torch_gen(rng), options, latent=LATENT, channels=1)
    with torch.no_grad():
        x_all = torch.as_tensor(x).to(m.device, m.dtype)
        paper.fit(m, x_all, float(lr), epochs=epochs, batch=batch, shuffle=True)
    return PaperTrained(m)


class StandardVAE(Trained):
    def __init__(self, gen, dtype, device):
        enc_hidden, dec_hidden = sizes()
        self.encoder_net = _mlp([PIXELS, *enc_hidden, 2 * LATENT], gen).to(device, dtype)
        self.decoder_net = _mlp([LATENT, *dec_hidden, PIXELS], gen).to(device, dtype)
        self.dtype, self.device = dtype, device
        self.largest = {key: torch.zeros((), dtype=dtype, device=device)
                        for key in ("max_abs_mu", "max_sigma2")}

    def parameters(self):
        return [*self.encoder_net.parameters(), *self.decoder_net.parameters()]

    def loss(self, x, eps):
        """Negative ELBO per example (Bernoulli likelihood, KL to N(0, I)), minibatch mean."""
        mu, logvar = self.encoder_net(x).split(LATENT, 1)
        logits = self.decoder_net(mu + torch.exp(0.5 * logvar) * eps)
        rec = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        with torch.no_grad():  # tensors: no sync per step
            self.largest["max_abs_mu"] = torch.maximum(self.largest["max_abs_mu"], mu.abs().max())
            self.largest["max_sigma2"] = torch.maximum(self.largest["max_sigma2"],
                                                       logvar.exp().max())
        return (rec + kl).mean()

    def sample(self, n, gen):
        z = torch.randn(n, LATENT, generator=gen).to(self.device, self.dtype)
        with torch.no_grad():
            return torch.sigmoid(self.decoder_net(z)).double().cpu().numpy()

    def reconstruct(self, x):
        with torch.no_grad():
            mu = self.encoder_net(torch.as_tensor(x).to(self.device, self.dtype))[:, :LATENT]
            return torch.sigmoid(self.decoder_net(mu)).double().cpu().numpy()

    def health(self):
        return {key: float(value) for key, value in self.largest.items()}


def train_vae(x, lr, rng, *, epochs, batch, dtype, device):
    gen = torch_gen(rng)
    vae = StandardVAE(gen, dtype, device)
    opt = torch.optim.Adam(vae.parameters(), lr=lr, betas=ADAM_BETAS["VAE-std"])
    x_all = torch.as_tensor(x).to(device, dtype)
    for _ in range(epochs):
        for rows in minibatches(len(x_all), batch, gen):
            eps = torch.randn(len(rows), LATENT, generator=gen).to(device, dtype)
            loss = vae.loss(x_all[rows.to(device)], eps)
            if not torch.isfinite(loss):
                raise Diverged("VAE-std: non-finite ELBO")
            descend(opt, loss)
    return vae


def descend(opt, loss) -> None:
    """One optimiser step on ``loss``."""
    opt.zero_grad()
    loss.backward()
    opt.step()


class StandardGAN(Trained):
    encoder = False

    def __init__(self, gen, dtype, device):
        enc_hidden, dec_hidden = sizes()
        self.generator = _mlp([LATENT, *dec_hidden, PIXELS], gen).to(device, dtype)
        self.discriminator = _mlp([PIXELS, *enc_hidden, 1], gen).to(device, dtype)
        self.dtype, self.device = dtype, device

    def sample(self, n, gen):
        z = torch.randn(n, LATENT, generator=gen).to(self.device, self.dtype)
        with torch.no_grad():
            return torch.sigmoid(self.generator(z)).double().cpu().numpy()


def train_gan(x, lr, rng, *, epochs, batch, dtype, device):
    gen = torch_gen(rng)
    gan = StandardGAN(gen, dtype, device)
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=lr, betas=ADAM_BETAS["GAN-std"])
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=lr, betas=ADAM_BETAS["GAN-std"])
    bce = nn.functional.binary_cross_entropy_with_logits
    x_all = torch.as_tensor(x).to(device, dtype)
    for _ in range(epochs):
        for rows in minibatches(len(x_all), batch, gen):
            real = x_all[rows.to(device)]
            z = torch.randn(len(rows), LATENT, generator=gen).to(device, dtype)
            fake = torch.sigmoid(gan.generator(z))
            ones = torch.ones(len(rows), 1, device=device, dtype=dtype)
            zeros = torch.zeros_like(ones)
            loss_d = bce(gan.discriminator(real), ones) + bce(gan.discriminator(fake.detach()), zeros)
            descend(opt_d, loss_d)
            loss_g = bce(gan.discriminator(fake), ones)  # non-saturating: -log d(g(z))
            if not (torch.isfinite(loss_d) and torch.isfinite(loss_g)):
                raise Diverged("GAN-std: non-finite loss")
            descend(opt_g, loss_g)
    return gan


# ------------------------------------------------------------------------------------ floors


class RealImages(Trained):
    """Held-out real images (train split, never a reference set) scored as a model."""

    encoder = False

    def __init__(self, pool):
        self.pool = pool

    def sample(self, n, gen):
        rows = torch.randperm(len(self.pool), generator=gen)[:n].numpy()
        return self.pool[rows].astype(np.float64)


class MeanImage(Trained):
    encoder = False

    def __init__(self, x):
        self.mean = x.mean(0, dtype=np.float64)

    def sample(self, n, gen):
        return np.repeat(self.mean[None], n, 0)


class GaussianMixturePCA(Trained):
    encoder = False

    def __init__(self, x, rng):
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        seed = int(rng.integers(2**31))
        self.pca = PCA(PCA_COMPONENTS, random_state=seed).fit(x)
        self.gmm = GaussianMixture(GMM_COMPONENTS, covariance_type="full",
                                   random_state=seed).fit(self.pca.transform(x))

    def sample(self, n, gen):
        self.gmm.random_state = int(torch.randint(2**31 - 1, (1,), generator=gen))
        codes, _ = self.gmm.sample(n)
        order = torch.randperm(n, generator=gen).numpy()  # gmm.sample groups by component
        return np.clip(self.pca.inverse_transform(codes[order]), 0.0, 1.0)


def train(model, x, lr, rng, *, epochs, batch, dtype="float32", device="cpu") -> Trained:
    """Train one seed of ``model`` on x (N, 784) in [0, 1]; floors ignore lr and the budget."""
    kwargs = dict(epochs=epochs, batch=batch, dtype=dtype, device=device)
    if model in PAPER_MODELS:
        return train_paper(model, x, lr, rng, **kwargs)
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    kwargs.update(dtype=torch_dtype, device=torch.device(device))
    if model == "VAE-std":
        return train_vae(x, lr, rng, **kwargs)
    if model == "GAN-std":
        return train_gan(x, lr, rng, **kwargs)
    if model == "real":
        return RealImages(x)
    if model == "mean-image":
        return MeanImage(x)
    if model == "GMM-PCA":
        return GaussianMixturePCA(x, rng)
    raise ValueError(f"unknown Fashion-MNIST model {model!r}; expected one of {', '.join(ALL_MODELS)}")


# ------------------------------------------------------------------------ feature classifier


class Classifier(nn.Module):
    """A small CNN: two 3x3 conv + max-pool blocks, a 128-unit penultimate layer (the
    metrics' feature space), 10 logits."""

    FEATURES = 128

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, self.FEATURES), nn.ReLU(),
        )
        self.head = nn.Linear(self.FEATURES, 10)

    def forward(self, x):
        return self.head(self.body(x.view(-1, 1, 28, 28)))

    def features_and_labels(self, images, batch=1000):
        """Penultimate features (float64) and predicted labels of (N, 784) images."""
        feats, labels = [], []
        with torch.no_grad():
            for i in range(0, len(images), batch):
                h = self._body_for_inference(
                    torch.as_tensor(images[i:i + batch], dtype=torch.float32).view(-1, 1, 28, 28))
                feats.append(h.double().numpy())
                labels.append(self.head(h).argmax(1).numpy())
        return np.concatenate(feats), np.concatenate(labels)

    def _body_for_inference(self, x):
        """``self.body(x)`` with each 2x2 max-pool as two element-wise maxima: the same
        numbers (a maximum is exact), several times faster than torch's CPU max_pool2d, which
        took 0.3-0.4 s of the 0.5 s a seed's 2,000 samples spent in the classifier. Training
        keeps nn.MaxPool2d: its gradient picks one of tied inputs."""
        for layer in self.body:
            x = max_pool_2x2(x) if isinstance(layer, nn.MaxPool2d) else layer(x)
        return x


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """nn.MaxPool2d(2) of (N, C, H, W) with H, W even: the larger of each row pair, then of
    each column pair."""
    n, c, h, w = x.shape
    rows = x.reshape(n, c, h // 2, 2 * w)  # rows 2i and 2i + 1 side by side
    pairs = torch.maximum(rows[..., :w], rows[..., w:]).reshape(n, c, h // 2, w // 2, 2)
    return torch.maximum(pairs[..., 0], pairs[..., 1])


def train_classifier(x, y, *, seed, epochs, batch=128, lr=1e-3) -> Classifier:
    """Adam on cross-entropy, every draw from ``seed`` (init, order)."""
    torch.manual_seed(seed)  # nn.Conv2d's default init draws from the global RNG
    net = Classifier()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x_all, y_all = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    for _ in range(epochs):
        for rows in minibatches(len(x_all), batch, gen):
            descend(opt, nn.functional.cross_entropy(net(x_all[rows]), y_all[rows]))
    return net.eval()
