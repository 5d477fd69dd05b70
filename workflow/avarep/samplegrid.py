"""The sample grid: models x learning rates of generated images, cut from the cell strips."""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np


def strip_tiles(strip_png: str | os.PathLike, width: int, height: int):
    """(real frame, first generation) of a cell strip: its top-left and bottom-left tiles."""
    from PIL import Image

    with Image.open(strip_png) as image:
        pixels = np.asarray(image.convert("RGB"))
    gap = 2  # avarep.strip's gap between the rows
    if pixels.shape[0] != 2 * height + gap or pixels.shape[1] < width:
        raise ValueError(f"{strip_png}: {pixels.shape[1]}x{pixels.shape[0]} is not a strip of "
                         f"{width}x{height} frames")
    return pixels[:height, :width], pixels[height + gap:, :width]


#: Layout, in tile widths or heights: the gap between tiles, the room for a caption under
#: each, and a tile's printed width in inches.
GAP, CAPTION, TILE_INCHES = 0.05, 0.45, 1.05


def samples_grid(cells: Sequence[dict], width: int, height: int, models: Sequence[str],
                 learning_rates: Sequence[float], path_png: str | os.PathLike,
                 title: str) -> None:
    """Rows = models, columns = a real frame then every γ (descending), BM mean under each.

    ``cells``: dicts with model, lr, strip (path), bm_mean, n_ok, n_seeds. The tiles are
    pasted into one image shown on one axes, with the labels as text in its pixel units: a
    grid of 140 axes took matplotlib 6-7 s to lay out and draw, this well under one.
    """
    import matplotlib.pyplot as plt

    from .figures import save_figure

    by_key = {(c["model"], float(c["lr"])): c for c in cells}
    # each strip read once: (real frame, first generation)
    tiles = {key: strip_tiles(c["strip"], width, height) for key, c in by_key.items()}
    lrs = sorted({float(lr) for lr in learning_rates}, reverse=True)
    step_x, step_y = width + round(GAP * width), height + round(CAPTION * height)
    canvas = np.full((len(models) * step_y, (len(lrs) + 1) * step_x, 3), 255, dtype=np.uint8)
    left, top = 0.9 * width, 0.75 * height  # room for the model names, the title, γ
    per_inch = width / TILE_INCHES
    fig = plt.figure(figsize=((canvas.shape[1] + left) / per_inch,
                              (canvas.shape[0] + top) / per_inch))
    ax = fig.add_axes((0, 0, 1, 1))
    for c, lr in enumerate(lrs, start=1):
        ax.text(c * step_x + width / 2, -0.1 * height, f"γ = {lr:g}", ha="center",
                va="bottom", fontsize=8)
    for r, model in enumerate(models):
        real = next((tiles[(model, lr)][0] for lr in lrs if (model, lr) in tiles), None)
        _real_frame(ax, canvas, r * step_y, model, real, (width, height))
        for c, lr in enumerate(lrs, start=1):
            key = (model, lr)
            _generated_tile(ax, canvas, (c * step_x, r * step_y), by_key.get(key),
                            tiles[key][1] if key in tiles else None, (width, height))
    ax.text(width / 2, (len(models) - 1) * step_y + 1.1 * height, "real frame",
            ha="center", va="top", fontsize=8)
    ax.text(canvas.shape[1] / 2, -top, title, ha="center", va="top", fontsize=12)
    ax.imshow(canvas, interpolation="nearest", extent=(0, canvas.shape[1], canvas.shape[0], 0))
    ax.set_xlim(-left, canvas.shape[1])
    ax.set_ylim(canvas.shape[0], -top)
    ax.axis("off")
    save_figure(fig, path_png, "png")
    plt.close(fig)


def _real_frame(ax, canvas, y, model: str, real, size: tuple[int, int]) -> None:
    """The row's first tile: the real frame (framed; none if the model has no cell), the
    model's name beside it."""
    from matplotlib.patches import Rectangle

    from .figures import colour

    width, height = size
    if real is not None:
        canvas[y:y + height, :width] = real
        ax.add_patch(Rectangle((0, y), width, height, fill=False, edgecolor="black",
                               linewidth=1.5))
    ax.text(-0.08 * width, y + height / 2, model, ha="right", va="center", fontsize=11,
            fontweight="bold", color=colour(model))


def _generated_tile(ax, canvas, corner, cell: dict | None, fake, size: tuple[int, int]) -> None:
    """A cell's first generation with its mean BM under it (or why there is none)."""
    (x, y), (width, height) = corner, size
    if cell is None:
        ax.text(x + width / 2, y + height / 2, "not run", ha="center", va="center",
                fontsize=7, color="grey")
        return
    canvas[y:y + height, x:x + width] = fake
    label, col = tile_label(cell)
    ax.text(x + width / 2, y + 1.05 * height, label, ha="center", va="top", fontsize=7,
            color=col)


def tile_label(cell: dict) -> tuple[str, str]:
    """A tile's caption: the mean BM over ok seeds, or that no seed was ok (the tile then
    shows an unstable seed's images, or none if every seed diverged)."""
    bm = cell.get("bm_mean")
    if bm is None or (isinstance(bm, float) and math.isnan(bm)) or not cell.get("n_ok"):
        return "no ok seed", "red"
    return f"BM {bm:.4f}", "black"
