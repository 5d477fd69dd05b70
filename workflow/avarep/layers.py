"""The author's hidden-layer size rule (spec 5.1), shared by both protocols."""

from __future__ import annotations

import math


def hidden_sizes(n_in: int, n_out: int) -> list[int]:
    """Hidden layer widths of a network from ``n_in`` to ``n_out`` neurons.

    lo = min(n_in, n_out) (2 if it is 1), hi = max; k = floor(ln(hi)/ln(lo) - 2).
    k <= 1: one hidden layer of min(lo^2, floor((lo + hi)/2)) neurons; otherwise k layers
    lo^2, lo^3, ..., lo^(k+1), ascending when n_in < n_out and descending otherwise.
    No hidden layer when n_in == n_out.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"layer sizes must be positive, got {n_in} -> {n_out}")
    if n_in == n_out:
        return []
    lo, hi = min(n_in, n_out), max(n_in, n_out)
    lo = 2 if lo == 1 else lo
    k = math.floor(math.log(hi) / math.log(lo) - 2)
    if k <= 1:
        return [min(lo * lo, (lo + hi) // 2)]
    sizes = [lo ** (i + 2) for i in range(k)]
    return sizes if n_in < n_out else sizes[::-1]
