"""Bars in `multiprocessing.shared_memory`: the parent publishes a dataset once, workers attach to it.

Layout of one block: ts (int64) then open, high, low, close, volume (float64), n values each.
The parent creates and unlinks; a worker maps a block once per dataset and keeps it while the block
exists. An unlinked block's memory lives on while any process maps it, so on each attach a worker
forgets the blocks the parent has released (else a long-lived worker would hold up to MAX_ATTACHED
stale copies of the bars). Nothing is pickled per task but the small `SharedBarsRef`.

`share(bars)` is what the local pool publishes with: the block it makes becomes the bars' own memory
(their arrays view it, same values, read-only) and the private copy is freed, so the parent does not hold
the dataset twice during a sweep, and later sweeps of the same `Bars` reuse the block without copying.
The block's name lives as long as that `Bars` object: it is unlinked when the object is collected, at exit,
or, if the process dies, by multiprocessing's resource tracker (docs/performance.md, "Peak memory").

Arrays view a block through an `mmap` of its own that nobody closes (`_map`): numpy keeps the mapping
alive as the arrays' base, so it is unmapped with the last array that views it. (A `SharedMemory`'s
`close()` unmaps even while numpy arrays view its buffer, and a later read of them crashes the process.)
"""

from __future__ import annotations

import mmap
import os
import threading
import weakref
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory

import numpy as np

from engine.bars import Bars
from engine.runtime.heap import release_free_heap

_COLUMNS = 6
MAX_ATTACHED = 4
_attached: dict[str, Bars] = {}


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
    shm = shared_memory.SharedMemory(create=True, size=_size(n))
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


def share(bars: Bars) -> SharedBarsRef:
    """The shared block holding `bars`, made on the first call (see the module doc): afterwards `bars`' arrays
    view the block. The block belongs to `bars`: a caller must not `release` it."""
    with _owned_lock:
        hit = _owned.get(id(bars))
        if hit is not None and hit[0]() is bars:
            return hit[1]
        shm, ref = publish(bars)
        try:
            columns = _columns(ref)
        except BaseException:
            release(shm)
            raise
        shm.close()  # the creator's mapping; the name stays until `bars` goes
        bars._move_to(columns[0].view(np.int64), list(columns[1:]))
        release_free_heap()  # the private copy, if it was on the heap
        _owned[id(bars)] = (weakref.ref(bars), ref)
        weakref.finalize(bars, _unlink_owned, id(bars), ref.shm_name)
        return ref


_owned: dict[int, tuple[weakref.ref, SharedBarsRef]] = {}
_owned_lock = threading.Lock()


def _unlink_owned(key: int, name: str) -> None:
    with _owned_lock:
        _owned.pop(key, None)
    if os.name != "posix":  # Windows: a named block is freed with its last handle
        return
    import _posixshmem

    try:
        _posixshmem.shm_unlink("/" + name)
    except FileNotFoundError:
        return
    resource_tracker.unregister("/" + name, "shared_memory")  # as SharedMemory.unlink() does


def attach(ref: SharedBarsRef) -> Bars:
    """Bars viewing the shared block (no copy); cached per process."""
    drop_released(keep=ref.shm_name)
    hit = _attached.pop(ref.shm_name, None)
    if hit is not None:
        _attached[ref.shm_name] = hit  # most recently used last
        return hit
    while len(_attached) >= MAX_ATTACHED:  # long-lived workers keep only the recent datasets mapped
        del _attached[next(iter(_attached))]
    view = _columns(ref)
    bars = Bars(view[0].view(np.int64), view[1], view[2], view[3], view[4], view[5], ref.symbol, ref.timeframe)
    bars._fingerprint.append(ref.fingerprint)
    _attached[ref.shm_name] = bars
    return bars


def drop_released(keep: str | None = None) -> None:
    """Forget the blocks (other than `keep`) that the parent has unlinked: each is unmapped once no array
    of it is left."""
    for name in [n for n in _attached if n != keep and not _exists(n)]:
        del _attached[name]


def _size(n: int) -> int:
    return max(1, n * 8 * _COLUMNS)


def _columns(ref: SharedBarsRef) -> np.ndarray:
    """The block's (6, n) float64 view, on a mapping of its own that lives as long as the view's arrays."""
    size = _size(ref.n)
    if os.name == "posix":
        import _posixshmem

        fd = _posixshmem.shm_open("/" + ref.shm_name, os.O_RDONLY, mode=0o600)
        try:
            mapping = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
    else:  # pragma: no cover - Windows: named file mappings
        mapping = mmap.mmap(-1, size, tagname=ref.shm_name, access=mmap.ACCESS_READ)  # type: ignore[call-arg]
    return np.ndarray((_COLUMNS, ref.n), dtype=np.float64, buffer=mapping)


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
    _attached.clear()
