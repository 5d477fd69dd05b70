"""A weight matrix whose rank-1 updates are collected and added in blocks.

The ``paper`` protocol's online step moves each 3P x h weight matrix (15 MB on the paper's
frames) by a rank-1 outer product, and passes over such matrices are the step's cost: an
update reads and writes the matrix, the next product reads it again. Kept apart, pending
updates cost almost nothing to apply to a product, because

    (S + a1^T b1 + ... + ak^T bk) x  =  S x + A^T (B x)      (A: k x rows, B: k x cols)

reads S once and k short vectors. So the updates are collected (``capacity`` rank-1 terms)
and added to S in one block product when the collection is full or the matrix is read as a
whole. And while S is unchanged, a one-row product with an input seen just before is reused
(the encoder reads the same image before and after its update). The numbers differ from
adding each update at once only by rounding (tests hold the two to 1e-12 in float64);
``capacity=0`` adds every update at once with the very operations of an eager update and
remembers nothing.

``passes`` counts the sweeps over S (a product 1, adding updates 2), for avarep.limits.
The module needs no torch import of its own: only tensors' methods.
"""

from __future__ import annotations

#: Rank-1 updates a wide layer of the paper protocol collects before adding them: 8 and 6 were
#: the fastest of 0, 3, 4, 6, 8, 12 and 16 for a paper seed on 2 cores, within 0.3 % (the
#: README's Speed section); a multiple of d's two terms a step, as avarep.limits' count needs.
PENDING_UPDATES = 8
#: Remembered one-row products per matrix (the encoder's x, then its x' of the same step).
REMEMBERED = 2
#: Rows from which a product with a wide layer's narrow side adds its bias after the product
#: instead of in addmm, whose output is first filled with the broadcast bias: a third faster
#: for the 360 generated images of a cell seed, with the same bits (MKL adds addmm's bias
#: after one block of the sum, and the inner size here is a layer's narrow side). Training's
#: one- and two-row products keep addmm: there MKL's small kernels round differently.
MANY_ROWS = 256


class DeferredMatrix:
    """``stored`` (rows, cols) plus the pending sum  A[:count]^T B[:count]."""

    def __init__(self, stored, capacity: int):
        self.stored = stored
        self.capacity = int(capacity)
        rows, cols = stored.shape
        self._a = stored.new_empty((self.capacity, rows))
        self._b = stored.new_empty((self.capacity, cols))
        self.count = 0
        self.passes = 0
        self._memo = []  # [(input, (its and S's in-place versions, side), S-only product)]

    def settled(self):
        """The matrix with every pending update added (in place)."""
        if self.count:
            k, self.count = self.count, 0
            self.stored.addmm_(self._a[:k].t(), self._b[:k])
            self.passes += 2
        return self.stored

    def _remembered(self, h, side, product):
        """S-only ``product(h)``, reused while h is the same tensor and neither it nor S was
        written in place since (torch counts in-place writes, also through views)."""
        key = (h._version, self.stored._version, side)
        for seen, seen_key, out in self._memo:
            if seen is h and seen_key == key:
                return out
        out = product(h)
        self.passes += 1
        self._memo = [(h, key, out), *self._memo[: REMEMBERED - 1]]
        return out

    def _pending(self, out, h, first, second):
        """out += (h @ first[:count]^T) @ second[:count]: the pending updates' share."""
        if self.count:
            out.addmm_(h @ first[: self.count].t(), second[: self.count])
        return out

    def left_product(self, h, bias=None):
        """bias + h @ M for h (n, rows)."""
        s = self.stored
        if self.capacity and h.shape[0] == 1:
            out = self._remembered(h, "left", lambda v: v @ s)
            out = out + bias if bias is not None else out.clone()
        else:
            self.passes += 1
            if bias is None:
                out = h @ s
            elif h.shape[0] >= MANY_ROWS:
                out = (h @ s).add_(bias)
            else:
                out = bias.addmm(h, s)
        return self._pending(out, h, self._a, self._b)

    def right_product(self, h, bias=None):
        """bias + h @ M^T for h (n, cols)."""
        s = self.stored
        if self.capacity and h.shape[0] == 1:
            out = self._remembered(h, "right", lambda v: v @ s.t())
            out = out + bias if bias is not None else out.clone()
        else:
            self.passes += 1
            if bias is None:
                out = h @ s.t()
            elif h.shape[0] == 1:  # a matrix-vector product is the faster kernel for one row
                out = bias.addmv(s, h[0]).unsqueeze(0)
            else:
                out = bias.addmm(h, s.t())
        return self._pending(out, h, self._b, self._a)

    def add_outer(self, a, b, alpha: float) -> None:
        """M += alpha * a^T b for a (n, rows), b (n, cols): n rank-1 terms."""
        n = a.shape[0]
        if n > self.capacity:  # more than a collection holds: add them now
            s = self.settled()
            if n == 1:
                s.addr_(a[0], b[0], alpha=alpha)
            else:
                s.addmm_(a.t(), b, alpha=alpha)
            self.passes += 2
            return
        if self.count + n > self.capacity:
            self.settled()
        k = self.count
        self._a[k:k + n].copy_(a).mul_(alpha)
        self._b[k:k + n].copy_(b)
        self.count = k + n
