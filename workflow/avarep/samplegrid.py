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


def samples_grid(cells: Sequence[dict], width: int, height: int, models: Sequence[str],
                 learning_rates: Sequence[float], path_png: str | os.PathLike,
                 title: str) -> None:
    """Rows = models, columns = a real frame then every γ (descending), BM mean under each.

    ``cells``: dicts with model, lr, strip (path), bm_mean, n_ok, n_seeds.
    """
    import matplotlib.pyplot as plt

    from .figures import save_figure

    by_key = {(c["model"], float(c["lr"])): c for c in cells}
    lrs = sorted({float(lr) for lr in learning_rates}, reverse=True)
    n_rows, n_cols = len(models), len(lrs) + 1
    tile_w = 1.05
    tile_h = tile_w * height / width
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(n_cols * tile_w + 0.9, n_rows * (tile_h + 0.32) + 0.9))
    for r, model in enumerate(models):
        for ax in axes[r]:
            _bare(ax)
        first = next((by_key[(model, lr)] for lr in lrs if (model, lr) in by_key), None)
        _real_frame(axes[r, 0], model, first, (width, height), last_row=r == n_rows - 1)
        for c, lr in enumerate(lrs, start=1):
            _generated_tile(axes[r, c], by_key.get((model, lr)), (width, height))
            if r == 0:
                axes[r, c].set_title(f"γ = {lr:g}", fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97), h_pad=0.3, w_pad=0.15)
    save_figure(fig, path_png, "png")
    plt.close(fig)


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _real_frame(ax, model: str, cell: dict | None, size: tuple[int, int], last_row: bool) -> None:
    """The row's first tile: the real frame (framed), the model's name beside it."""
    from .figures import colour

    if cell is not None:
        real, _ = strip_tiles(cell["strip"], *size)
        ax.imshow(real, interpolation="nearest")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("black")
            spine.set_linewidth(1.5)
    ax.set_ylabel(model, rotation=0, ha="right", va="center", fontsize=11,
                  fontweight="bold", color=colour(model))
    if last_row:
        ax.set_xlabel("real frame", fontsize=8)


def _generated_tile(ax, cell: dict | None, size: tuple[int, int]) -> None:
    """A cell's first generation with its mean BM under it (or why there is none)."""
    if cell is None:
        ax.text(0.5, 0.5, "not run", ha="center", va="center", fontsize=7,
                transform=ax.transAxes, color="grey")
        return
    _, fake = strip_tiles(cell["strip"], *size)
    ax.imshow(fake, interpolation="nearest")
    label, col = tile_label(cell)
    ax.set_xlabel(label, fontsize=7, color=col, labelpad=1.5)


def tile_label(cell: dict) -> tuple[str, str]:
    """A tile's caption: the mean BM over ok seeds, or that no seed was ok (the tile then
    shows an unstable seed's images, or none if every seed diverged)."""
    bm = cell.get("bm_mean")
    if bm is None or (isinstance(bm, float) and math.isnan(bm)) or not cell.get("n_ok"):
        return "no ok seed", "red"
    return f"BM {bm:.4f}", "black"
