"""Helpers for tests that start real processes: which of them are still running."""

import psutil


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of `procs` still running (a zombie has exited; only its parent has not reaped it)."""
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def alive_pids(pids: list[int]) -> list[psutil.Process]:
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return alive(procs)
