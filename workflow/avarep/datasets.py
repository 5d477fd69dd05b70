"""The dataset registry: every named dataset, declared once.

An entry says what the set is, how a user obtains it (downloaded from ``base_url`` and
verified against the sums pinned in ``avarep/resources``, generated, or installed by hand),
and its image size and channels. ``frames`` sets are folders of PNG frames the main grid
trains on (the configuration's ``dataset`` key takes their names, see avarep.config);
``idx`` sets are read by their own study (Fashion-MNIST: avarep.fmnist).

Adding a pinned dataset is one :class:`Dataset` entry here plus its ``<name>.sha256`` file
(``sha256sum`` output) in ``avarep/resources``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

_COMMIT = "ae121317c4ad753c1b93e4d74937c0b4e9d92429"
_ORBIT_URL = (
    f"https://raw.githubusercontent.com/ngphloc/ai/{_COMMIT}/3_implementation/datasets/orbit"
)
KINDS = ("frames", "idx")


@dataclass(frozen=True)
class Dataset:
    """A named image set: downloaded and verified (``base_url`` set), synthesised, or
    installed by the user (``how_to_get`` says how)."""

    name: str
    description: str
    width: int
    height: int
    channels: int = 3
    kind: str = "frames"
    base_url: str | None = None  # a file name is appended to it
    sums_resource: str | None = None  # file in avarep/resources with the pinned sha256 sums
    how_to_get: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"dataset {self.name}: kind {self.kind!r} is not one of {KINDS}")

    def pinned_sums(self) -> dict[str, str]:
        """File name -> sha256 of every file of the set, as pinned in the package."""
        if self.sums_resource is None:
            raise ValueError(f"dataset {self.name} has no pinned sums")
        text = resources.files("avarep").joinpath("resources", self.sums_resource).read_text()
        return parse_sums(text)


FASHION_MNIST_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

REGISTRY: dict[str, Dataset] = {d.name: d for d in (
    Dataset(
        "orbit-100x64", "the paper's 36 frames at 100x64 (the author's repository, pinned commit)",
        100, 64, base_url=f"{_ORBIT_URL}/base-100x64/", sums_resource="orbit-100x64.sha256",
    ),
    Dataset(
        "orbit-72x45", "the same 36 frames at 72x45",
        72, 45, base_url=f"{_ORBIT_URL}/base-72x45/", sums_resource="orbit-72x45.sha256",
    ),
    Dataset(
        "synthetic", "36 generated 24x16 frames: a sprite moving over a static textured background",
        24, 16,
    ),
    Dataset(
        "fashion-mnist", "Fashion-MNIST: 70,000 28x28 grey images of 10 clothing classes "
        "(sums of the decompressed IDX files: Debian recompressed the .gz files)",
        28, 28, channels=1, kind="idx", sums_resource="fashion-mnist.sha256",
        how_to_get="install Debian's package (`apt-get install dataset-fashion-mnist`, files "
        f"under {FASHION_MNIST_DEBIAN_DIR}/) or download the four .gz files of the upstream "
        "release (github.com/zalandoresearch/fashion-mnist) into a folder and set "
        "`--config fashion_mnist_dir=/that/folder`",
    ),
)}


def get(name: str) -> Dataset:
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def frame_sets() -> tuple[str, ...]:
    """The datasets the main grid can train on (the configuration's ``dataset`` values)."""
    return tuple(d.name for d in REGISTRY.values() if d.kind == "frames")


def parse_sums(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` output ("<hash>  <name>" or "<hash> *<name>" per line)."""
    sums = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest.lower()
    return sums
