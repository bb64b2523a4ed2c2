"""The order a sweep runs its combos in, so that combos sharing an indicator run together.

A worker's indicator memo (engine/strategies/memo.py) is bounded by bytes: at 1,000,000 bars it holds
about four float64 arrays (a dozen at 96 MB). Run in grid order (first parameter major), a chunk of an SMA-cross grid
needs one array per distinct n2 it meets, and n2 changes on every combo; a sparse grid (a random sample)
meets dozens. So combos are run in bands of the second varying parameter: `tile` of its values at a
time, and within a band by the first parameter (ascending in even bands, descending in odd ones, so
the arrays of a band's last first-parameter value are still there when the next band starts), and
every other first-parameter group runs the second parameter backwards (see below). Inside a
band the memo needs the band's `tile` second-parameter arrays plus the current (and the previous)
first-parameter one, which fit, so each distinct indicator is computed about once per band.

Only the run order changes: the result table is sorted back to grid order, so it is identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def execution_order(combos: Sequence[dict[str, Any]], tile: int) -> list[int]:
    """Indices of `combos` in the order to run them (see the module doc). `tile` < 1 means no bands."""
    if not combos:
        return []
    names = list(combos[0])
    varying = [k for k in names if len({_value(c[k]) for c in combos}) > 1]
    if len(varying) < 2 or tile < 1:
        return sorted(range(len(combos)), key=lambda i: tuple(_value(combos[i][k]) for k in varying))
    first, second, *rest = varying
    ranks = {v: r for r, v in enumerate(sorted({_value(c[second]) for c in combos}))}

    def group(i: int) -> tuple:
        band = ranks[_value(combos[i][second])] // tile
        a = _value(combos[i][first])
        return (band, a if band % 2 == 0 or isinstance(a, str) else -a)

    def within(i: int) -> tuple:
        return (_value(combos[i][second]), *(_value(combos[i][k]) for k in rest))

    order = sorted(range(len(combos)), key=lambda i: (group(i), within(i)))
    # Boustrophedon: every other first-parameter group runs its second parameter backwards, so a group
    # starts with the arrays the previous one used last (the most recent in the LRU), and the arrays the
    # LRU drops first are the ones needed last. In plain cyclic order a group that starts mid-way (a chunk
    # boundary) makes every lookup evict the array needed next.
    out: list[int] = []
    start = 0
    flip = False
    for end in range(1, len(order) + 1):
        if end == len(order) or group(order[end]) != group(order[start]):
            run = order[start:end]
            out.extend(reversed(run) if flip else run)
            flip = not flip
            start = end
    return out


def band_width(memo_bytes: int, n_bars: int) -> int:
    """How many second-parameter values a band holds: the float64 indicator arrays of `n_bars` that fit
    the memo, less two for the first parameter's arrays (when the first parameter moves on, the previous
    one's array is still more recent than some of the band's, so the LRU must hold both)."""
    per_array = max(1, n_bars) * 8
    return max(1, memo_bytes // per_array - 2)


def _value(v: Any) -> Any:
    """Sort key of a parameter value (numbers; anything else by its text)."""
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
