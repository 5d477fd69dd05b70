"""The cell record: non-finite diagnostics are recorded, not fatal; records verify."""

import json
import math

import pytest

from avarep import cell


def test_non_finite_log_values_become_null_and_are_counted():
    log = {"steps": 36, "d_real": [0.5, math.nan, 0.2], "nested": {"d_fake": [math.inf]}, "ok": 1.0}
    cleaned = cell.json_safe_log(log)
    assert cleaned == {"steps": 36, "d_real": [0.5, None, 0.2], "nested": {"d_fake": [None]},
                       "ok": 1.0, "non_finite_values": 2}
    json.dumps(cleaned, allow_nan=False)  # what the record writer requires
    assert "non_finite_values" not in cell.json_safe_log({"d_real": [0.5]})


def test_a_record_with_a_diverged_discriminator_round_trips(tmp_path, orbit_images):
    # Under the 2024-06 reading the GAN's discriminator reaches NaN at lr 0.4 for seed 1 of
    # the full grid; the images, and so BM, stay finite.
    record, _ = cell.run_cell(
        orbit_images, dataset="t", protocol="author", model="GAN", lr=0.4, seeds=[1],
        options={"author_build": "2024-06"}, data_sha256="x",
    )
    path = tmp_path / "r.json"
    cell.write_record(path, record)
    run = cell.read_record(path)["runs"][0]
    assert run["status"] == "ok" and math.isfinite(run["bm"])
    assert run["log"]["non_finite_values"] > 0


def test_non_finite_generated_images_mark_the_seed_diverged(orbit_images):
    import types

    import numpy as np

    class Trained:
        log = {}

        def generate(self, images, k, rng):
            out = np.full((images.shape[0], k, *images.shape[1:]), 0.5)
            out[3, 2, 100, 1] = np.nan  # one bad channel of one pixel is enough
            return out

    fake = types.SimpleNamespace(train=lambda *args: Trained())
    run, _ = cell.run_seed(orbit_images, fake, "AVA1", 0.5, 0, {})
    assert run["status"] == "diverged" and run["bm"] is None


def test_bm_averages_ten_generations_per_test_image():
    """Spec section 3: K = 10 generations per test image. Generation k of every image is a
    constant grey k/10, so BM depends on K; the expected value is worked out here directly."""
    import types

    import numpy as np

    images = np.zeros((3, 4, 3))  # three black 2x2 images
    asked = []

    class Trained:
        log = {}

        def health(self):
            return {}

        def generate(self, test_images, k, rng):
            asked.append(k)
            levels = np.arange(k) / 10.0
            return np.broadcast_to(levels[None, :, None, None], (test_images.shape[0], k, 4, 3)).copy()

    fake = types.SimpleNamespace(train=lambda *args: Trained())
    run, _ = cell.run_seed(images, fake, "VAE", 0.5, 0, {})
    # against black, every pixel of grey g is at distance d = g * sqrt(3); BM_k = |d (1 - d)|
    d = np.arange(10) / 10.0 * math.sqrt(3)
    assert asked == [10]
    assert run["bm"] == pytest.approx(np.mean(np.abs(d * (1 - d))), rel=1e-12)


def test_strip_is_a_light_palette_png_close_to_the_images(orbit_images):
    """A cell's strip: 6 real frames over their first generations, at most 256 colours, a
    fraction of the RGB PNG's size (the report embeds one per cell), and close to the pixels."""
    import io
    import types

    import numpy as np
    from PIL import Image

    from avarep.protocols import author
    from avarep.seeding import rng_for
    from avarep.strip import strip_png

    rng = rng_for("VAE", 0.5, 0)
    generated = author.train(orbit_images, "VAE", 0.5, rng, author.check_options({})).generate(orbit_images, 1, rng)
    images = types.SimpleNamespace(pixels=orbit_images, width=100, height=64)
    data = strip_png(images, generated)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P" and len(image.getcolors(256)) <= 256
        shown = np.asarray(image.convert("RGB"), dtype=float) / 255
    picks = np.linspace(0, 35, 6).round().astype(int)
    expected = np.concatenate(
        [np.concatenate([orbit_images[i].reshape(64, 100, 3), np.ones((64, 2, 3))], axis=1) for i in picks], axis=1
    )[:, :-2]
    assert np.abs(shown[:64] - expected).mean() < 6 / 255  # a 256-colour palette: a few levels off
    fakes = np.concatenate(
        [np.concatenate([generated[i, 0].reshape(64, 100, 3), np.ones((64, 2, 3))], axis=1) for i in picks], axis=1
    )[:, :-2]
    assert np.abs(shown[66:] - fakes).mean() < 6 / 255
    full = io.BytesIO()
    Image.fromarray(np.round(np.concatenate([expected, np.ones((2, 610, 3)), fakes]) * 255).astype(np.uint8)).save(full, "PNG")
    assert len(data) < 0.5 * len(full.getvalue())
