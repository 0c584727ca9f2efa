"""Order statistics over departures kept as two sorted arrays: a large fixed one and a small changing one.

The pool solver asks "when does the r-th departure happen" and "how many departures by time t" many times
while only a few departures (those of waiting requests) change. Keeping the changing ones apart, in their
own sorted array, makes an update cost a sort of the small, nearly sorted array (or, once rank questions are
asked, a merge that also keeps each one's rank among the fixed ones), and a question a ``searchsorted`` on
the small array — the large array is never re-sorted.
A departure of ``inf`` stands for a request that never leaves (turned away, or never served). Used by
:mod:`._solver` (the waiting set's departures) and :mod:`._capacity`.
"""

from __future__ import annotations

import numpy as np

from costmodel.replay._arrays import FloatArray, IntArray


class Departures:
    """The multiset union of sorted ``fixed`` departures and per-member ``extra`` departures."""

    def __init__(self, fixed: FloatArray, extra: FloatArray) -> None:
        self.fixed = fixed
        self.values = extra.astype(np.float64, copy=True)
        """Member departures in member order."""
        self._sorted = np.sort(self.values, kind="stable")
        self._ranks: tuple[IntArray, IntArray] | None = None
        """See :meth:`_fixed_rank_and_pos`; None until asked after a change."""
        self.size = fixed.size + extra.size

    def update(self, members: IntArray, new: FloatArray) -> None:
        """Set the departures of ``members`` (positions in member order) to ``new``."""
        if members.size == 0:
            return
        old = np.sort(self.values[members], kind="stable")
        self.values[members] = new
        n = self._sorted.size
        keep = np.ones(n, dtype=bool)
        keep[_positions(self._sorted, old)] = False
        kept = self._sorted[keep]
        add = np.sort(new, kind="stable")
        at = kept.searchsorted(add, side="left")
        added = np.zeros(n, dtype=bool)  # where the new values go: before position `at` of the kept ones
        added[at + np.arange(add.size)] = True
        merged = np.empty(n)
        merged[added] = add
        merged[~added] = kept
        self._sorted = merged
        if self._ranks is not None:  # rank questions come after each change: keep them up to date
            rank = np.empty(n, dtype=np.int64)
            rank[added] = self.fixed.searchsorted(add, side="left")
            rank[~added] = self._ranks[0][keep]
            self._ranks = rank, np.arange(n) + rank

    def _fixed_rank_and_pos(self) -> tuple[IntArray, IntArray]:
        """Per sorted extra departure: its rank among the fixed ones, and its position in the union. Only
        :meth:`kth` and :meth:`merged` need them, so they are computed when first asked; from then on
        :meth:`update` keeps them."""
        if self._ranks is None:
            rank = self.fixed.searchsorted(self._sorted, side="left")
            self._ranks = rank, np.arange(rank.size) + rank
        return self._ranks

    def kth(self, rank: IntArray) -> FloatArray:
        """The departure at 0-based ``rank`` in the union: -inf for rank < 0, +inf for rank ≥ size."""
        r = np.asarray(rank, dtype=np.int64)
        if self.size == 0:
            return np.where(r < 0, -np.inf, np.inf)
        # out-of-range ranks are looked up at an end, then replaced (np.minimum/np.maximum: np.clip's overhead)
        rr = np.minimum(np.maximum(r, 0), self.size - 1)
        if self._sorted.size:
            pos = self._fixed_rank_and_pos()[1]
            k = pos.searchsorted(rr, side="right")
            prev = np.maximum(k - 1, 0)
            is_extra = (k > 0) & (pos[prev] == rr)
            if self.fixed.size:
                from_fixed = self.fixed[np.minimum(np.maximum(rr - k, 0), self.fixed.size - 1)]
            else:
                from_fixed = np.full(rr.shape, np.inf)
            value = np.where(is_extra, self._sorted[prev], from_fixed)
        else:
            value = self.fixed[rr]
        return np.where(r < 0, -np.inf, np.where(r >= self.size, np.inf, value))

    def count_le(self, t: FloatArray) -> IntArray:
        """Departures at or before each ``t``."""
        return self.fixed.searchsorted(t, side="right") + self._sorted.searchsorted(t, side="right")

    def merged(self) -> FloatArray:
        """All departures, sorted (inf ones included)."""
        return np.insert(self.fixed, self._fixed_rank_and_pos()[0], self._sorted)


def _positions(sorted_values: FloatArray, values: FloatArray) -> IntArray:
    """Positions in ``sorted_values`` of one occurrence each of sorted ``values`` (all present)."""
    pos = sorted_values.searchsorted(values, side="left")
    return pos + (np.arange(values.size) - values.searchsorted(values, side="left"))


def remove(sorted_values: FloatArray, values: FloatArray) -> FloatArray:
    """``sorted_values`` without one occurrence of each of ``values`` (all present)."""
    if values.size == 0:
        return sorted_values
    return np.delete(sorted_values, _positions(sorted_values, np.sort(values, kind="stable")))
