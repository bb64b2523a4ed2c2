"""Handing freed heap memory back to the OS.

glibc keeps memory a process has freed for its next allocations, and a freed block in the middle of the
heap stays counted in the process's memory until `malloc_trim` returns it. A sweep frees tens of MB at
known moments (a worker's memo when idle, the parent's private copy of bars moved to shared memory), so
it trims then. A no-op where the C library is not glibc.

A pool worker does the opposite while it works (`hold_freed_heap`): a combo at 1,000,000 bars allocates and
frees arrays of 8 MB (signals, equity, the indicators its memo drops), and by default glibc serves each from
fresh pages (mmap, or heap it has just trimmed), which the kernel must fault in and zero again: measured,
+23 % on a 1,000-combo sweep with a 32 MB memo (docs/performance.md, "Peak memory"). Held, the freed blocks
are reused; the worker's janitor trims them when it goes idle.
"""

from __future__ import annotations

import sys


def _glibc():
    """The C library's functions where it is glibc (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:  # pragma: no cover - no C library to load
        return None


def release_free_heap() -> None:
    """Hand freed heap pages back to the OS (glibc `malloc_trim`); a no-op elsewhere."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


# mallopt(3) parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
HOLD_MMAP_BYTES = 64 * 2**20  # blocks up to this size come from the heap, not from mmap
HOLD_TRIM_BYTES = 32 * 2**20  # free memory at the heap's top is handed back only past this


def hold_freed_heap(mmap_bytes: int = HOLD_MMAP_BYTES, trim_bytes: int = HOLD_TRIM_BYTES) -> bool:
    """Keep freed blocks for the next allocations instead of handing each back to the OS (glibc `mallopt`);
    True if set, False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_bytes)) and libc.mallopt(_M_TRIM_THRESHOLD, int(trim_bytes)))
