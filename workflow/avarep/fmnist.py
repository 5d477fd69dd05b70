"""Fashion-MNIST from its four IDX ``.gz`` files, verified by the SHA-256 of the decompressed
bytes pinned in ``resources/fashion-mnist.sha256`` (Debian recompressed the ``.gz`` files, so
only the decompressed bytes are the same everywhere).

Sources, in order: the ``fashion_mnist_dir`` config key; Debian's ``dataset-fashion-mnist``
location; else a clear error saying how to get the files. Every problem (missing file, wrong
checksum, truncated gzip, wrong IDX magic or shape) stops the run before any training and
names the file.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import datasets

#: The registry's entry: image size, pinned sums, where users get the files.
DATASET = datasets.get("fashion-mnist")
DEBIAN_DIR = Path(datasets.FASHION_MNIST_DEBIAN_DIR)
_SIZE = (DATASET.height, DATASET.width)
#: The IDX files: name -> (magic number, shape)
FILES = {
    "train-images-idx3-ubyte": (2051, (60000, *_SIZE)),
    "train-labels-idx1-ubyte": (2049, (60000,)),
    "t10k-images-idx3-ubyte": (2051, (10000, *_SIZE)),
    "t10k-labels-idx1-ubyte": (2049, (10000,)),
}
#: The validation split: the last VALIDATION train images (the test split only scores).
VALIDATION = 5000
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot")
HOW_TO_GET = DATASET.how_to_get


class FashionDataError(ValueError):
    """A missing, corrupt or unexpected Fashion-MNIST file (the message names it)."""


@dataclass(frozen=True)
class Splits:
    """Pixels in [0, 1] as (N, 784) float32 and labels as int64."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def pinned_sums() -> dict[str, str]:
    return DATASET.pinned_sums()


def find_dir(configured: str | None) -> Path:
    """The folder to read: the configured one (which must exist), else Debian's."""
    if configured:
        folder = Path(configured)
        if not folder.is_dir():
            raise FashionDataError(f"fashion_mnist_dir: {folder} is not a folder; {HOW_TO_GET}")
        return folder
    if DEBIAN_DIR.is_dir():
        return DEBIAN_DIR
    raise FashionDataError(f"Fashion-MNIST not found (fashion_mnist_dir unset, no {DEBIAN_DIR}); "
                           f"{HOW_TO_GET}")


def read_idx(path: Path, expected_sha256: str, magic: int, shape: tuple) -> np.ndarray:
    """Decompress, verify and parse one IDX file; every failure names ``path``."""
    if not path.is_file():
        raise FashionDataError(f"{path}: file missing; {HOW_TO_GET}")
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise FashionDataError(f"{path}: not a complete gzip file ({exc})") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected_sha256:
        raise FashionDataError(f"{path}: SHA-256 of the decompressed bytes is {digest}, "
                               f"expected {expected_sha256} (corrupt or a different file)")
    found_magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found_magic != magic:
        raise FashionDataError(f"{path}: IDX magic {found_magic}, expected {magic}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(len(shape)))
    body = raw[4 + 4 * len(shape):]
    if dims != shape or len(body) != int(np.prod(shape)):
        raise FashionDataError(f"{path}: IDX shape {dims} with {len(body)} bytes, expected {shape}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def _unit_interval(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels / 255 as float32, divided in place: the same numbers as
    ``astype(float32) / 255`` without a second 190 MB array (a run job loads every split)."""
    scaled = pixels.astype(np.float32)
    scaled /= np.float32(255.0)
    return scaled


def load(folder, sums: dict[str, str] | None = None) -> Splits:
    """The three splits: train (first 55,000), validation (last 5,000 train), test."""
    folder = Path(folder)
    sums = pinned_sums() if sums is None else sums
    arrays = {name: read_idx(folder / f"{name}.gz", sums[name], magic, shape)
              for name, (magic, shape) in FILES.items()}
    pixels = DATASET.width * DATASET.height
    images = {k: _unit_interval(arrays[f"{k}-images-idx3-ubyte"].reshape(-1, pixels))
              for k in ("train", "t10k")}
    labels = {k: arrays[f"{k}-labels-idx1-ubyte"].astype(np.int64) for k in ("train", "t10k")}
    cut = len(images["train"]) - VALIDATION
    return Splits(images["train"][:cut], labels["train"][:cut], images["train"][cut:],
                  labels["train"][cut:], images["t10k"], labels["t10k"])
