"""The Fashion-MNIST loader: pinned decompressed sums, splits, and a clear early error naming
the file for every kind of bad input (files made in tmp_path)."""

from __future__ import annotations

import gzip
import re
import hashlib
import shutil

import numpy as np
import pytest

from avarep import datasets, fmnist
from conftest import SHARED_DATA

FASHION = SHARED_DATA / "fashion-mnist"
needs_data = pytest.mark.skipif(not FASHION.is_dir(), reason=f"data not found: {FASHION}")


def idx_bytes(magic, shape, body):
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in shape)
    return head + bytes(body)


def write_gz(path, raw):
    path.write_bytes(gzip.compress(raw))
    return hashlib.sha256(raw).hexdigest()


def test_pinned_sums_are_the_shared_folders_decompressed_sums():
    shipped = (FASHION / "SHA256SUMS.decompressed")
    if not shipped.is_file():
        pytest.skip("no shared copy")
    assert fmnist.pinned_sums() == datasets.parse_sums(shipped.read_text())
    assert set(fmnist.pinned_sums()) == set(fmnist.FILES)


@needs_data
def test_load_splits_and_pixel_range():
    s = fmnist.load(FASHION)
    assert s.train_x.shape == (55000, 784) and s.val_x.shape == (5000, 784)
    assert s.test_x.shape == (10000, 784) and s.test_y.shape == (10000,)
    assert s.train_x.min() == 0.0 and s.train_x.max() == 1.0
    # each class has 6,000 train images; the last 5,000 are the validation split
    assert np.bincount(np.concatenate([s.train_y, s.val_y])).tolist() == [6000] * 10
    raw = gzip.decompress((FASHION / "train-images-idx3-ubyte.gz").read_bytes())
    last = np.frombuffer(raw[16:], np.uint8).reshape(60000, 784)[-1] / 255.0
    np.testing.assert_array_equal(s.val_x[-1], last.astype(np.float32))


def test_pixels_scale_to_the_nearest_float32_of_value_over_255():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    # float64 quotients rounded once to float32 (exact: k / 255 is never a float32 tie)
    expected = (np.arange(256) / 255.0).astype(np.float32).reshape(16, 16)
    scaled = fmnist._unit_interval(pixels)
    assert scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, expected)
    assert scaled[0, 0] == 0.0 and scaled[-1, -1] == 1.0


def test_idx_parse_of_a_small_hand_made_file(tmp_path):
    body = list(range(2 * 3 * 4))
    sha = write_gz(tmp_path / "x.gz", idx_bytes(2051, (2, 3, 4), body))
    out = fmnist.read_idx(tmp_path / "x.gz", sha, 2051, (2, 3, 4))
    assert out.shape == (2, 3, 4) and out[1, 2, 3] == 23


@pytest.mark.parametrize("magic,shape,body,message", [
    (2049, (2, 3, 4), range(24), "IDX magic 2049, expected 2051"),
    (2051, (2, 3, 5), range(30), "IDX shape (2, 3, 5)"),
    (2051, (2, 3, 4), range(20), "with 20 bytes"),
])
def test_wrong_magic_or_shape_names_the_file(tmp_path, magic, shape, body, message):
    path = tmp_path / "bad.gz"
    sha = write_gz(path, idx_bytes(magic, shape, body))
    with pytest.raises(fmnist.FashionDataError, match=re.escape(message)) as info:
        fmnist.read_idx(path, sha, 2051, (2, 3, 4))
    assert str(path) in str(info.value)


def copy_data(tmp_path):
    if not FASHION.is_dir():
        pytest.skip("no shared copy")
    for name in fmnist.FILES:
        shutil.copy(FASHION / f"{name}.gz", tmp_path / f"{name}.gz")
    return tmp_path


def test_missing_file_is_named_with_how_to_get_it(tmp_path):
    folder = copy_data(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(fmnist.FashionDataError, match="t10k-labels-idx1-ubyte.gz: file missing.*apt-get"):
        fmnist.load(folder)


def test_wrong_checksum_is_named(tmp_path):
    folder = copy_data(tmp_path)
    path = folder / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: a valid file with other bytes
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(fmnist.FashionDataError, match="train-labels-idx1-ubyte.gz: SHA-256"):
        fmnist.load(folder)


def test_truncated_gzip_is_named(tmp_path):
    folder = copy_data(tmp_path)
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-5000])
    with pytest.raises(fmnist.FashionDataError, match="t10k-images-idx3-ubyte.gz: not a complete gzip"):
        fmnist.load(folder)


def test_no_configured_folder_and_no_debian_package_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fmnist, "DEBIAN_DIR", tmp_path / "absent")
    with pytest.raises(fmnist.FashionDataError, match="dataset-fashion-mnist"):
        fmnist.find_dir(None)
    with pytest.raises(fmnist.FashionDataError, match="fashion_mnist_dir: .*nowhere"):
        fmnist.find_dir(str(tmp_path / "nowhere"))
    monkeypatch.setattr(fmnist, "DEBIAN_DIR", tmp_path)
    assert fmnist.find_dir(None) == tmp_path
