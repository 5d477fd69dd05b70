"""One weight matrix of several seeds, stacked along a leading seed axis.

The ``paper`` protocol trains the seeds of a cell as one computation on a GPU
(:func:`avarep.protocols.paper.train_stack`): a step of one seed is about a hundred small
operations, each a kernel launch that costs more than its arithmetic, so S seeds stacked
pay those launches once instead of S times. Each seed keeps its own slice ``stored[s]``;
no operation mixes slices, so one seed's numbers never depend on another's, and a seed that
blows up leaves the others untouched. The interface is :class:`avarep.deferred.DeferredMatrix`'s
(``left_product``, ``right_product``, ``add_outer``, ``settled``, ``passes``), so the
networks run either unchanged. An input without the seed axis (the training image, which
every seed sees) is broadcast as a view, never copied per seed.

The module needs no torch import of its own: only tensors' methods.
"""

from __future__ import annotations


class StackedMatrix:
    """``stored`` (S, rows, cols): seed s's matrix is ``stored[s]``."""

    def __init__(self, stored):
        self.stored = stored
        self.passes = 0  # sweeps over the stack, as DeferredMatrix counts them

    def settled(self):
        return self.stored

    def _per_seed(self, h):
        """h (S, n, k), or (n, k) shared by every seed as a broadcast view."""
        return h if h.dim() == 3 else h.expand(self.stored.shape[0], *h.shape)

    def left_product(self, h, bias=None):
        """bias + h @ M per seed; bias (S, cols)."""
        self.passes += 1
        h = self._per_seed(h)
        if bias is None:
            return h.bmm(self.stored)
        return bias.unsqueeze(1).baddbmm(h, self.stored)

    def right_product(self, h, bias=None):
        """bias + h @ M^T per seed; bias (S, rows)."""
        self.passes += 1
        h, s = self._per_seed(h), self.stored.transpose(1, 2)
        if bias is None:
            return h.bmm(s)
        return bias.unsqueeze(1).baddbmm(h, s)

    def add_outer(self, a, b, alpha) -> None:
        """M += alpha * a^T b per seed for a (S, n, rows), b (S, n, cols); ``alpha`` a number,
        or a tensor (S,) of one rate per seed (then a, the short side, is scaled)."""
        self.passes += 2
        a = self._per_seed(a)
        if not isinstance(alpha, (int, float)):
            a, alpha = a * alpha.view(-1, 1, 1), 1.0
        self.stored.baddbmm_(a.transpose(1, 2), self._per_seed(b), alpha=alpha)
