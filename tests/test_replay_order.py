"""The pool solver's order statistics (:class:`costmodel.replay._order.Departures`) against the sorted union
computed directly: after any sequence of updates (ties, departures that never come, zeros), the k-th
departure, the count by a time and the merged array are those of ``np.sort`` of all departures."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.replay._order import Departures

# few distinct values, so that ties between fixed and member departures are common
_VALUES = st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0, 3.5, np.inf])


@settings(max_examples=300, deadline=None)
@given(
    fixed=st.lists(_VALUES, max_size=12),
    extra=st.lists(_VALUES, min_size=1, max_size=10),
    moves=st.lists(
        st.tuples(st.lists(st.integers(0, 9), min_size=1, max_size=4), st.lists(_VALUES, min_size=4, max_size=4)),
        max_size=6,
    ),
)
def test_departures_agree_with_the_sorted_union(
    fixed: list[float], extra: list[float], moves: list[tuple[list[int], list[float]]]
) -> None:
    deps = Departures(np.sort(np.array(fixed, dtype=np.float64)), np.array(extra, dtype=np.float64))
    values = np.array(extra, dtype=np.float64)
    for rows, new in [([], []), *moves]:
        members = np.unique(np.array(rows, dtype=np.int64) % values.size)
        new_values = np.array(new[: members.size], dtype=np.float64)
        deps.update(members, new_values)
        values[members] = new_values
        union = np.sort(np.concatenate([fixed, values]))
        assert np.array_equal(deps.values, values)
        assert np.array_equal(deps.merged(), union)
        ranks = np.arange(-2, union.size + 2)
        expected = np.concatenate([[-np.inf, -np.inf], union, [np.inf, np.inf]])
        assert np.array_equal(deps.kth(ranks), expected)
        times = np.array([-1.0, 0.0, 0.75, 1.0, 3.5, np.inf])
        assert np.array_equal(deps.count_le(times), np.searchsorted(union, times, side="right"))
