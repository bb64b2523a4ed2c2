"""Per-task indicator memo: inside `indicator_memo()`, `memo(kernel, *args)` computes each distinct
(kernel, input array, parameters) once. A sweep chunk runs many parameter sets over one dataset, so
SMA(close, 20) is computed once however many combos use it. Outside the context it just calls the kernel.

Input arrays are keyed by identity (they are the dataset's columns, alive for the whole task); the
memo keeps a reference to each input so an id cannot be reused while the memo lives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

_current: ContextVar[dict | None] = ContextVar("indicator_memo", default=None)


@contextmanager
def indicator_memo() -> Iterator[dict]:
    table: dict = {}
    token = _current.set(table)
    try:
        yield table
    finally:
        _current.reset(token)


def memo(kernel: Callable, *args: Any) -> Any:
    table = _current.get()
    if table is None:
        return kernel(*args)
    key = (kernel.__name__, *((id(a), "arr") if isinstance(a, np.ndarray) else a for a in args))
    hit = table.get(key)
    if hit is None:
        hit = (kernel(*args), args)
        table[key] = hit
    return hit[0]
