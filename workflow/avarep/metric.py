"""The paper's balance metric BM, exactly as the published numbers were computed (spec section 3).

For a generated image x' and its test image x (both P pixels x 3 channels in [0, 1]):
    d_j   = || x'[j] - x[j] ||_2          (Euclidean over r, g, b; NOT divided by sqrt(3))
    BM_ik = (1/P) sum_j | d_j (1 - d_j) | (the abs matters: d can exceed 1)
and BM is the mean of BM_ik over all test images i and generations k.
"""

from __future__ import annotations

import numpy as np


def bm_per_generation(generated: np.ndarray, images: np.ndarray) -> np.ndarray:
    """BM_ik for generated images of shape (N, K, P, 3) against test images (N, P, 3).

    Returns an (N, K) array. Generated images may also be (N, P, 3) (one per test image),
    in which case the result is (N,). Generated images that are a torch tensor (a GPU's) are
    scored where they are, in float64, and give a tensor there (:func:`_bm_of_tensor`).
    """
    if not isinstance(generated, np.ndarray) and hasattr(generated, "device"):
        return _bm_of_tensor(generated, images)
    generated = np.asarray(generated, dtype=np.float64)
    images = _paired(generated, np.asarray(images, dtype=np.float64))
    # One test image at a time keeps the temporaries in cache (a cell scores 360 images).
    return np.stack([_bm_rows(g, x) for g, x in zip(generated, images)])


def _paired(generated, images):
    """The test images lined up with the generated ones (an axis for K added when the
    generated images have one), numpy arrays or torch tensors alike; a mismatch is an error."""
    if generated.ndim == images.ndim + 1:
        images = images[:, None]
    if generated.shape[-2:] != images.shape[-2:] or generated.shape[0] != images.shape[0]:
        raise ValueError(f"generated images {tuple(generated.shape)} do not match test "
                         f"images {tuple(images.shape)}")
    return images


def _bm_rows(generated: np.ndarray, image: np.ndarray) -> np.ndarray:
    distance = _squared_distances(generated, image)
    np.sqrt(distance, out=distance)
    term = np.subtract(1.0, distance)
    term *= distance
    return np.abs(term, out=term).mean(axis=-1)


def _squared_distances(generated, image):
    """sum over channels of (generated - image)^2, summed r, then g, then b, as a fresh array,
    in the layout's cheapest way: numpy is several times slower reducing a length-3 axis
    than adding planes."""
    channels = generated.shape[-1]  # 3 (r, g, b); 1 for grayscale images
    if generated.strides[-1] == generated.itemsize:  # r, g, b of a pixel side by side
        diff = np.subtract(generated, image)
        diff *= diff
        squared = diff[..., 0].copy()
        for c in range(1, channels):
            squared += diff[..., c]
        return squared
    # Channel planes (the author protocol's layout): each plane's difference on its own,
    # into two buffers (a fresh pair of temporaries per plane cost a fifth of BM's time).
    squared = np.subtract(generated[..., 0], image[..., 0])
    squared *= squared
    plane = np.empty_like(squared)
    for c in range(1, channels):
        np.subtract(generated[..., c], image[..., c], out=plane)
        plane *= plane
        squared += plane
    return squared


def _bm_of_tensor(generated, images):
    """The same formula on a torch tensor, with its own methods (this module imports no
    torch): the test images are copied to the tensor's device once. Equal to the numpy
    path to rounding (tests/test_metric.py)."""
    generated = generated.double()
    images = _paired(generated, generated.new_tensor(np.asarray(images, dtype=np.float64)))
    distance = (generated - images).square_().sum(-1).sqrt_()
    return (distance * (1.0 - distance)).abs_().mean(-1)


def balance_metric(generated: np.ndarray, images: np.ndarray) -> float:
    """BM of one cell-seed: the mean of :func:`bm_per_generation`."""
    return float(bm_per_generation(generated, images).mean())
