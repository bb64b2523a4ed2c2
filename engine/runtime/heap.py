"""Handing freed heap memory back to the OS.

glibc keeps memory a process has freed for its next allocations, and a freed block in the middle of the
heap stays counted in the process's memory until `malloc_trim` returns it. A sweep frees tens of MB at
known moments (a worker's memo when idle, the parent's private copy of bars moved to shared memory), so
it trims then. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import sys


def release_free_heap() -> None:
    """Hand freed heap pages back to the OS (glibc `malloc_trim`); a no-op elsewhere."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):  # pragma: no cover - not glibc
            pass
