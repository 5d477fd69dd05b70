"""The model registry: every model of the grid, declared once by its parts.

A model is a VAE (encoder + decoder) or a GAN generator, plus adversarial parts (spec 5.3's
table, read with section 6's mathematics):

* ``decoder_discriminator``: a discriminator d on images and the decoder's adversarial term;
* ``lean_decode``: d's extra lean term (needs ``decoder_discriminator``);
* ``encoder_discriminator``: a discriminator D on codes and the encoder's adversarial term;
* ``lean_encode``: D's extra lean term (needs ``encoder_discriminator``);
* ``gan``: a noise-to-image generator with no encoder (needs ``decoder_discriminator``).

Both protocols build their networks from these parts, the sweep and every table and figure
take the order from here, figures take the colour, the equivalence tests take ``twin``.
Adding a model is one :class:`Model` line in :data:`REGISTRY`; the configuration schema's
list of valid names is filled from it (:mod:`avarep.config`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    name: str
    colour: str  # matplotlib colour, the same in every figure
    decoder_discriminator: bool = False
    lean_decode: bool = False
    encoder_discriminator: bool = False
    lean_encode: bool = False
    gan: bool = False
    #: A model this one should equal in distribution (the paper's lean terms change nothing
    #: the author's code computes): the equivalence tests compare the two.
    twin: str | None = None

    def __post_init__(self):
        needs = (("lean_decode", "decoder_discriminator"), ("lean_encode", "encoder_discriminator"),
                 ("gan", "decoder_discriminator"))
        for part, required in needs:
            if getattr(self, part) and not getattr(self, required):
                raise ValueError(f"model {self.name}: part {part!r} needs {required!r}")
        if self.gan and self.encoder_discriminator:
            raise ValueError(f"model {self.name}: a GAN has no encoder, so no encoder discriminator")

    @property
    def has_encoder(self) -> bool:
        return not self.gan


#: Every model, in the paper's column order (Tables 1-3).
REGISTRY: dict[str, Model] = {m.name: m for m in (
    Model("AVA1", "#1f77b4", decoder_discriminator=True),
    Model("AVA2", "#17becf", decoder_discriminator=True, lean_decode=True, twin="AVA1"),
    Model("AVA3", "#2ca02c", encoder_discriminator=True),
    Model("AVA4", "#bcbd22", encoder_discriminator=True, lean_encode=True, twin="AVA3"),
    Model("AVA5", "#9467bd", decoder_discriminator=True, lean_decode=True,
          encoder_discriminator=True, lean_encode=True),
    Model("VAE", "#ff7f0e"),
    Model("GAN", "#d62728", decoder_discriminator=True, gan=True),
)}


def names() -> tuple[str, ...]:
    """Every registered model's name, in display order."""
    return tuple(REGISTRY)


def get(name: str) -> Model:
    """The model called ``name``; a clear error naming the valid ones otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def twins() -> tuple[tuple[str, str], ...]:
    """(twin, model) pairs for the equivalence tests: ("AVA1", "AVA2"), ("AVA3", "AVA4")."""
    return tuple((m.twin, m.name) for m in REGISTRY.values() if m.twin)


def with_decoder_discriminator() -> tuple[str, ...]:
    """The models whose decoder has the adversarial term (the ones the a' convention moves)."""
    return tuple(m.name for m in REGISTRY.values() if m.decoder_discriminator)
