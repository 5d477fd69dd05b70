"""BM (spec section 3) against hand-worked values, a naive scalar implementation, and the
calibration points of the 100x64 data set."""

import math

import numpy as np
import pytest

from avarep.metric import balance_metric, bm_per_generation


@pytest.fixture(scope="module")
def images(orbit_images):
    return orbit_images


def naive_bm(generated, images):
    """Scalar loops over images, generations, pixels and channels."""
    total, count = 0.0, 0
    for i in range(len(generated)):
        for k in range(len(generated[i])):
            s = 0.0
            n_pix = len(images[i])
            for j in range(n_pix):
                sq = 0.0
                for c in range(3):
                    sq += (float(generated[i][k][j][c]) - float(images[i][j][c])) ** 2
                d = math.sqrt(sq)
                s += abs(d * (1.0 - d))
            total += s / n_pix
            count += 1
    return total / count


# --- calibration points of spec section 3 ------------------------------------------------


@pytest.mark.parametrize("value, expected", [(0.5, 0.2184), (0.4378, 0.2159), (1.0, 0.2377)])
@pytest.mark.parametrize("with_k", [False, True])
def test_calibration_constant_images(images, value, expected, with_k):
    generated = np.full_like(images, value)
    if with_k:
        generated = generated[:, None]
    assert round(balance_metric(generated, images), 4) == expected


@pytest.mark.parametrize("with_k", [False, True])
def test_calibration_mean_image(images, with_k):
    generated = np.broadcast_to(images.mean(axis=0), images.shape).copy()
    if with_k:
        generated = generated[:, None]
    assert round(balance_metric(generated, images), 4) == 0.0498


def test_real_images_match_naive_on_a_few_pixels(images):
    rng = np.random.default_rng(0)
    x = images[:2, ::400]  # 2 images x 16 pixels
    g = rng.uniform(0, 1, size=(2, 3) + x.shape[1:])
    assert balance_metric(g, x) == pytest.approx(naive_bm(g, x), rel=1e-12)


# --- hand-worked tiny cases ----------------------------------------------------------------


def test_distance_above_one_takes_the_absolute_value():
    # x = (0,0,0), x' = (1,1,0): d = sqrt(2); d(1-d) = sqrt(2) - 2 < 0; |.| = 2 - sqrt(2) = 0.585786...
    x = np.zeros((1, 1, 3))
    g = np.array([[[1.0, 1.0, 0.0]]])
    assert balance_metric(g, x) == pytest.approx(2.0 - math.sqrt(2.0), abs=1e-15)
    assert balance_metric(g, x) == pytest.approx(0.5857864376269049, abs=1e-15)
    # x' = (1,1,1): d = sqrt(3) (not normalised to 1): |sqrt3 (1 - sqrt3)| = 3 - sqrt3 = 1.267949...
    g = np.ones((1, 1, 3))
    assert balance_metric(g, x) == pytest.approx(3.0 - math.sqrt(3.0), abs=1e-15)


def test_distance_is_euclidean_and_not_normalised():
    x = np.zeros((1, 1, 3))
    # x' = (0.5, 0, 0): d = 0.5 -> 0.25. (Divided by sqrt(3): d = 0.2887 -> 0.2053.)
    assert balance_metric(np.array([[[0.5, 0.0, 0.0]]]), x) == pytest.approx(0.25, abs=1e-15)
    # x' = (0.3, 0.4, 0): Euclidean d = 0.5 -> 0.25 (L1 would give 0.7 -> 0.21; mean -> 0.2122)
    assert balance_metric(np.array([[[0.3, 0.4, 0.0]]]), x) == pytest.approx(0.25, abs=1e-15)
    # the difference is symmetric and relative to the test image: x = (0.2,0.2,0.2), x' = (0.5,0.6,0.2)
    # -> d = sqrt(0.09 + 0.16) = 0.5 -> 0.25
    x2 = np.full((1, 1, 3), 0.2)
    assert balance_metric(np.array([[[0.5, 0.6, 0.2]]]), x2) == pytest.approx(0.25, abs=1e-15)


def test_mean_over_pixels():
    # pixel 1: d = 0.5 -> 0.25; pixel 2: d = sqrt(2) -> 2 - sqrt(2); pixel 3: d = 0 -> 0
    x = np.zeros((1, 3, 3))
    g = np.array([[[0.5, 0, 0], [1, 1, 0], [0, 0, 0]]], dtype=float)
    assert balance_metric(g, x) == pytest.approx((0.25 + 2 - math.sqrt(2)) / 3, abs=1e-15)


def test_average_over_k_and_n():
    # N = 2 test images of one pixel, K = 3 generations each.
    x = np.array([[[0.0, 0.0, 0.0]], [[1.0, 1.0, 1.0]]])
    g = np.zeros((2, 3, 1, 3))
    g[0, 0, 0] = [0.5, 0, 0]      # d = 0.5     -> 0.25
    g[0, 1, 0] = [0.1, 0, 0]      # d = 0.1     -> 0.09
    g[0, 2, 0] = [0, 0, 0]        # d = 0       -> 0
    g[1, 0, 0] = [1, 1, 1]        # d = 0       -> 0
    g[1, 1, 0] = [0, 0, 1]        # d = sqrt(2) -> 2 - sqrt(2)
    g[1, 2, 0] = [1, 1, 0.2]      # d = 0.8     -> 0.16
    per = bm_per_generation(g, x)
    assert per.shape == (2, 3)
    np.testing.assert_allclose(per, [[0.25, 0.09, 0.0], [0.0, 2 - math.sqrt(2), 0.16]], atol=1e-14)
    assert balance_metric(g, x) == pytest.approx((0.25 + 0.09 + 2 - math.sqrt(2) + 0.16) / 6, abs=1e-15)
    # K = 1 with a (N, P, 3) array gives one value per test image
    assert bm_per_generation(g[:, 1], x).shape == (2,)
    np.testing.assert_allclose(bm_per_generation(g[:, 1], x), [0.09, 2 - math.sqrt(2)], atol=1e-14)


def test_matches_naive_implementation_on_random_arrays():
    rng = np.random.default_rng(42)
    x = rng.uniform(0, 1, size=(3, 7, 3))
    g = rng.uniform(-0.2, 1.2, size=(3, 4, 7, 3))
    assert balance_metric(g, x) == pytest.approx(naive_bm(g, x), rel=1e-12)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_any_number_of_channels_matches_a_direct_formula(channels):
    """Grayscale (1 channel) and other counts: d is the Euclidean distance over the channels."""
    rng = np.random.default_rng(channels)
    x = rng.uniform(0, 1, size=(2, 5, channels))
    g = rng.uniform(-0.5, 1.5, size=(2, 3, 5, channels))
    d = np.sqrt(((g - x[:, None]) ** 2).sum(-1))
    np.testing.assert_allclose(bm_per_generation(g, x), np.abs(d * (1 - d)).mean(-1), rtol=0, atol=1e-15)


def test_channel_planes_give_the_bits_of_interleaved_channels():
    """The author protocol hands BM (N, K, P, 3) views of channel planes, read plane by plane;
    the numbers are those of the same images with their channels side by side, to the bit."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(2, 5, 3))
    generated = np.moveaxis(rng.uniform(-0.5, 1.5, size=(2, 3, 4, 5)), 1, -1)
    assert generated.strides[-1] != generated.itemsize
    got = bm_per_generation(generated, x)
    assert np.array_equal(got, bm_per_generation(np.ascontiguousarray(generated), x))
    d = np.sqrt(((generated - x[:, None]) ** 2).sum(-1))
    np.testing.assert_allclose(got, np.abs(d * (1 - d)).mean(-1), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "gshape, xshape",
    [
        ((2, 3, 5, 3), (2, 4, 3)),   # different P
        ((2, 3, 5, 3), (3, 5, 3)),   # different N
        ((2, 5, 3), (3, 5, 3)),      # different N, no K
        ((2, 3, 5, 3), (2, 5, 4)),   # different channels
        ((2, 5, 3), (2, 6, 3)),      # different P, no K
    ],
)
def test_shape_mismatch_raises(gshape, xshape):
    with pytest.raises(ValueError):
        balance_metric(np.zeros(gshape), np.zeros(xshape))


def test_bm_of_a_torch_tensor_is_the_numpy_bm():
    """A GPU's images are scored where they are (cell.score_seed with on_device): the tensor
    path computes the formula above to rounding, distances over 1 included, in float64
    also for a float32 tensor."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    images = rng.random((3, 7, 3))
    generated = rng.uniform(-0.5, 1.5, (3, 4, 7, 3))  # some distances exceed 1
    expected = bm_per_generation(generated, images)
    got = bm_per_generation(torch.tensor(generated), images)
    assert isinstance(got, torch.Tensor) and got.shape == (3, 4)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-15)
    as_float32 = torch.tensor(generated, dtype=torch.float32)
    np.testing.assert_allclose(bm_per_generation(as_float32, images).numpy(),
                               bm_per_generation(as_float32.numpy(), images), rtol=0, atol=1e-15)
    one_each = bm_per_generation(torch.tensor(generated[:, 0]), images)  # (N, P, 3): one per image
    np.testing.assert_allclose(one_each.numpy(), expected[:, 0], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="do not match"):
        bm_per_generation(torch.tensor(generated[:2]), images)
