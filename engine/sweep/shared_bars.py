"""Bars in `multiprocessing.shared_memory`: the parent publishes a dataset once, workers attach to it.

Layout of one block: ts (int64) then open, high, low, close, volume (float64), n values each.
The parent creates and unlinks; a worker attaches once per dataset and keeps the mapping while the
block exists. An unlinked block's memory lives on while any process maps it, and every sweep publishes
a block of its own, so on each attach a worker closes the mappings of blocks the parent has released
(else a long-lived worker would hold up to MAX_ATTACHED stale copies of the bars). Nothing is pickled
per task but the small `SharedBarsRef`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

from engine.bars import Bars

_COLUMNS = 6
MAX_ATTACHED = 4
_attached: dict[str, tuple[shared_memory.SharedMemory, Bars]] = {}


@dataclass(frozen=True)
class SharedBarsRef:
    """What a task carries to find its dataset in shared memory."""

    shm_name: str
    n: int
    symbol: str
    timeframe: str
    fingerprint: str


def publish(bars: Bars) -> tuple[shared_memory.SharedMemory, SharedBarsRef]:
    """Copy `bars` into a new shared block. The caller must `release` it when done."""
    n = len(bars)
    shm = shared_memory.SharedMemory(create=True, size=max(1, n * 8 * _COLUMNS))
    view = np.ndarray((_COLUMNS, n), dtype=np.float64, buffer=shm.buf)
    view[0] = bars.ts.view(np.float64)
    for row, col in enumerate((bars.open, bars.high, bars.low, bars.close, bars.volume), start=1):
        view[row] = col
    del view
    return shm, SharedBarsRef(shm.name, n, bars.symbol, bars.timeframe, bars.fingerprint())


def release(shm: shared_memory.SharedMemory) -> None:
    shm.close()
    try:
        shm.unlink()
    except FileNotFoundError:
        pass


def attach(ref: SharedBarsRef) -> Bars:
    """Bars viewing the shared block (no copy); cached per process."""
    drop_released(keep=ref.shm_name)
    hit = _attached.pop(ref.shm_name, None)
    if hit is not None:
        _attached[ref.shm_name] = hit  # most recently used last
        return hit[1]
    # Spawned workers share the parent's resource tracker, so the registration this attach makes
    # (Python < 3.13) is the parent's own entry again: the parent's unlink clears it; nothing to undo.
    shm = shared_memory.SharedMemory(name=ref.shm_name)
    while len(_attached) >= MAX_ATTACHED:  # long-lived workers keep only the recent datasets mapped
        _close(_attached.pop(next(iter(_attached)))[0])
    view = np.ndarray((_COLUMNS, ref.n), dtype=np.float64, buffer=shm.buf)
    bars = Bars(view[0].view(np.int64), view[1], view[2], view[3], view[4], view[5], ref.symbol, ref.timeframe)
    bars._fingerprint.append(ref.fingerprint)
    _attached[ref.shm_name] = (shm, bars)
    return bars


def drop_released(keep: str | None = None) -> None:
    """Close the mappings of blocks (other than `keep`) that the parent has unlinked."""
    for name in [n for n in _attached if n != keep and not _exists(n)]:
        _close(_attached.pop(name)[0])


def _exists(name: str) -> bool:
    if os.name != "posix":  # Windows: a named block is freed with its last handle; nothing to check
        return True
    import _posixshmem

    try:
        os.close(_posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0o600))
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True


def attached_names() -> list[str]:
    """The blocks this process maps now (diagnostics and tests)."""
    return list(_attached)


def detach_all() -> None:
    for shm, _ in _attached.values():
        _close(shm)
    _attached.clear()


def _close(shm: shared_memory.SharedMemory) -> None:
    try:
        shm.close()
    except BufferError:  # a view of it is still alive somewhere; the OS unmaps it at exit
        pass
