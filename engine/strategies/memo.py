"""Indicator memo: inside `indicator_memo()` (or `memo_scope(table)`), `memo(kernel, *args)` computes each
distinct (kernel, input array, parameters) once. A sweep runs many parameter sets over one dataset, so
SMA(close, 20) is computed once however many combos use it (a pool worker keeps one memo from chunk to
chunk: engine/sweep/worker_memo.py). Outside a memo it just calls the kernel.

The memo is bounded by bytes (the arrays it holds; default `DEFAULT_MAX_BYTES`): past the bound the least
recently used entries are dropped, so a chunk's memory stays flat however many distinct indicators it
needs (at 1,000,000 bars one float64 indicator is 8 MB). A dropped entry is just computed again when
asked for; the sweep orders a chunk's combos so that those sharing an indicator run together
(engine/sweep/order.py), which keeps recomputations rare. The newest entry is always kept. 32 MB by
default: four indicators at 1,000,000 bars, forty at 100,000. A bound of 96 MB made a 1,000-combo sweep of
1,000,000 bars 2-3 % faster for 130 MB more across two workers (docs/performance.md, "Peak memory").

Input arrays are keyed by identity (they are the dataset's columns, alive for the whole task); each
entry keeps a reference to its inputs, so an id cannot be reused while its entry lives.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

DEFAULT_MAX_BYTES = 32 * 2**20


def memo_bound(max_bytes: int | None) -> int:
    """The bound a memo gets for a requested `max_bytes` (None: DEFAULT_MAX_BYTES)."""
    return DEFAULT_MAX_BYTES if max_bytes is None else max(0, int(max_bytes))

_current: ContextVar[IndicatorMemo | None] = ContextVar("indicator_memo", default=None)


class IndicatorMemo:
    """An LRU of kernel results bounded by the bytes of the arrays they hold."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = memo_bound(max_bytes)
        self.nbytes = 0
        self.peak_bytes = 0
        self.computed = 0  # kernel calls (misses)
        self.hits = 0
        self._last_size = 0  # bytes of the last result computed: the room made before the next
        self._table: OrderedDict[tuple, tuple[Any, tuple, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._table)

    def get(self, kernel: Callable, args: tuple) -> Any:
        key = (kernel.__name__, *((id(a), "arr") if isinstance(a, np.ndarray) else a for a in args))
        hit = self._table.get(key)
        if hit is not None:
            self._table.move_to_end(key)
            self.hits += 1
            return hit[0]
        # Make room first, for a result the size of the last one: the entries an insert would drop are the same
        # (the new entry is never the least recent), but they are let go before the kernel allocates, so a
        # worker never holds the full memo and the new array at once (8 MB less at 1M bars).
        self._drop_until(self.max_bytes - self._last_size)
        value = kernel(*args)
        self.computed += 1
        size = _nbytes(value)
        self._last_size = size
        self._table[key] = (value, args, size)
        self.nbytes += size
        self._drop_until(self.max_bytes, keep=1)
        self.peak_bytes = max(self.peak_bytes, self.nbytes)
        return value

    def _drop_until(self, limit: int, keep: int = 0) -> None:
        """Drop the least recent entries while they hold more than `limit` bytes, keeping at least `keep`."""
        while self.nbytes > limit and len(self._table) > keep:
            _, (_, _, dropped) = self._table.popitem(last=False)
            self.nbytes -= dropped

    def clear(self) -> None:
        self._table.clear()
        self.nbytes = 0


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


@contextmanager
def indicator_memo(max_bytes: int | None = None) -> Iterator[IndicatorMemo]:
    """A fresh memo for the block, emptied after it."""
    table = IndicatorMemo(max_bytes)
    with memo_scope(table):
        try:
            yield table
        finally:
            table.clear()


@contextmanager
def memo_scope(table: IndicatorMemo) -> Iterator[IndicatorMemo]:
    """Use `table` (kept by the caller, e.g. from chunk to chunk of one dataset) inside the block."""
    token = _current.set(table)
    try:
        yield table
    finally:
        _current.reset(token)


def memo_active() -> bool:
    """True inside `indicator_memo()` / `memo_scope()`: a strategy may then prefer memoised indicators
    (shared by the sweep's combos) to a fused kernel that would recompute them for every combo."""
    return _current.get() is not None


def memo(kernel: Callable, *args: Any) -> Any:
    table = _current.get()
    if table is None:
        return kernel(*args)
    return table.get(kernel, args)
