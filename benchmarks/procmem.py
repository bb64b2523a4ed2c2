"""Memory of a set of processes: peak RSS sampled in a thread, and each process's own high-water mark.

Used inside benchmark child processes (benchmarks/sweep_child.py), which know their own worker pids,
so sampling reads a few /proc files instead of scanning the whole process table. Imports psutil only:
a peer's child process must not pay for our engine's imports.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psutil

MB = 1024.0 * 1024.0


def rss_sum(pids: Iterable[int]) -> int:
    """Sum of the current RSS of `pids` (bytes); processes that are gone count 0.

    Shared pages (e.g. bars in shared memory) count once per process that touched them, so this
    overstates a pool's real footprint: a conservative figure for our own process trees.
    """
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return total


def high_water_mb(pid: int) -> float | None:
    """The kernel's peak RSS of `pid` since it started (Linux VmHWM), in MB; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def pss_sum(pids: Iterable[int]) -> int:
    """Sum of the proportional set size of `pids` (bytes): shared pages split among the processes
    sharing them, so a pool's libraries and shared-memory bars count once. About 2 ms per process with
    numba loaded (it parses /proc/PID/smaps_rollup); 0 where unsupported."""
    total = 0
    for pid in pids:
        try:
            total += getattr(psutil.Process(pid).memory_full_info(), "pss", 0)
        except (psutil.Error, OSError):
            pass
    return total


def alone_pss(pids: Iterable[int]) -> int | None:
    """Bytes of the distinct physical pages that `pids` map (resident, from /proc/PID/pagemap): each page
    counted once however many of them map it. That is their PSS as if no other process shared their pages,
    which plain PSS is not: another process mapping the same libraries (a sibling benchmark child, say)
    takes its share of those pages off theirs. None where page frames cannot be read (not Linux, or without
    CAP_SYS_ADMIN, which reads them as 0)."""
    import numpy as np

    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    frames: list[Any] = []
    for pid in pids:
        try:
            ranges = _resident_ranges(pid)
            with open(f"/proc/{pid}/pagemap", "rb", buffering=0) as f:
                for start, end in ranges:
                    f.seek(start // page * 8)
                    raw = np.frombuffer(f.read((end - start) // page * 8), dtype=np.uint64)
                    present = raw[(raw >> np.uint64(63)) & np.uint64(1) == 1]
                    frames.append(present & np.uint64((1 << 55) - 1))
        except (OSError, ValueError):
            continue
    if not frames:
        return None
    pfns = np.concatenate(frames)
    if len(pfns) and not pfns.any():
        return None  # no CAP_SYS_ADMIN: every frame number reads as 0
    return int(len(np.unique(pfns[pfns != 0]))) * page


def _resident_ranges(pid: int) -> list[tuple[int, int]]:
    """(start, end) of the mappings of `pid` with resident pages (from /proc/PID/smaps)."""
    out: list[tuple[int, int]] = []
    span: tuple[int, int] | None = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                a, b = head.split("-")
                span = (int(a, 16), int(b, 16))
            elif head == "Rss:" and span is not None:
                if int(line.split()[1]) > 0 and "vsyscall" not in line:
                    out.append(span)
                span = None
    return out


class PeakSampler:
    """Peak of `rss_sum(pids())` over the `with` block, sampled every `interval` seconds.

    With `pss`, the PSS of the processes is also read whenever the RSS sum reaches a new high (2 % above
    the last reading), so `pss_peak` approximates the PSS at the RSS peak without paying ~2 ms per
    process on every tick. It is their PSS as if they were alone (`alone_pss`) where page frames can be
    read, else plain PSS.
    """

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.01, pss: bool = False) -> None:
        self.pids = pids
        self.interval = interval
        self.pss = pss
        self.peak = 0
        self.start = 0
        self.pss_peak = 0
        self._pss_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        pids = self.pids()
        rss = rss_sum(pids)
        self.peak = max(self.peak, rss)
        if self.pss and rss > self._pss_at * 1.02:
            self._pss_at = rss
            alone = alone_pss(pids)
            self.pss_peak = max(self.pss_peak, alone if alone is not None else pss_sum(pids))

    def __enter__(self) -> PeakSampler:
        self.start = rss_sum(self.pids())
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    @property
    def peak_mb(self) -> float:
        return self.peak / MB

    @property
    def pss_peak_mb(self) -> float | None:
        return self.pss_peak / MB if self.pss and self.pss_peak else None


def self_and_children() -> list[int]:
    """This process and its descendants (for children whose pids are not known in advance)."""
    me = psutil.Process(os.getpid())
    try:
        return [me.pid, *(c.pid for c in me.children(recursive=True))]
    except psutil.Error:  # pragma: no cover
        return [me.pid]


def release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc `malloc_trim`), so a peak
    measured next starts from what the process really holds, not from what an earlier call freed."""
    import gc

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # pragma: no cover - not glibc
            pass
