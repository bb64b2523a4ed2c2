"""Background jobs: engine work off the UI thread, results back as Qt signals.

A `Job` wraps a plain function. It runs on a `QThreadPool`; its `signals` QObject lives in the UI
thread, so `finished` / `failed` / `progress` are delivered there (queued connections). The function
may take `progress` (a callable) and `cancel` (a threading.Event) keyword arguments.

User errors (`BackbenchError`) arrive as their one-line message; anything else as the exception's
type and message plus a traceback in the log, so the app never dies on a bad file or strategy.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from engine.errors import BackbenchError

log = logging.getLogger(__name__)


class JobSignals(QObject):
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()  # after finished or failed


class Job(QRunnable):
    def __init__(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it until `done`
        self.name = name
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.cancel = threading.Event()
        self.signals = JobSignals()
        self.seconds = 0.0
        self.started = False  # set when a pool thread picks the job up
        params = inspect.signature(fn).parameters
        if "progress" in params:
            self.kwargs["progress"] = self.signals.progress.emit
        if "cancel" in params:
            self.kwargs["cancel"] = self.cancel

    def run(self) -> None:
        self.started = True
        t0 = time.perf_counter()
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BackbenchError as exc:
            self.seconds = time.perf_counter() - t0
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug or a broken user strategy: report it, keep the app alive
            self.seconds = time.perf_counter() - t0
            log.exception("job %s failed", self.name)
            self.signals.failed.emit(f"{self.name} failed: {type(exc).__name__}: {exc}")
        else:
            self.seconds = time.perf_counter() - t0
            self.signals.finished.emit(result)
        finally:
            self.signals.done.emit()


class JobRunner(QObject):
    """Owns thread pools and keeps every running job referenced until it is done.

    `engine` runs one job at a time (the DuckDB store is used from one thread only);
    `sweeps` runs sweeps (they only drive the process pool).
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pools = {"engine": QThreadPool(self), "sweeps": QThreadPool(self)}
        for pool in self.pools.values():
            pool.setMaxThreadCount(1)
        self.running: set[Job] = set()
        self.history: list[str] = []  # names of the jobs started, oldest first (diagnostics, tests)

    def start(self, job: Job, pool: str = "engine") -> Job:
        self.running.add(job)
        self.history.append(job.name)
        job.signals.done.connect(lambda j=job: self._done(j))
        if len(self.running) == 1:
            self.busy_changed.emit(True)
        self.pools[pool].start(job)
        return job

    def _done(self, job: Job) -> None:
        self.running.discard(job)
        if not self.running:
            self.busy_changed.emit(False)

    def cancel_all(self) -> None:
        for job in list(self.running):
            job.cancel.set()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return all(pool.waitForDone(timeout_ms) for pool in self.pools.values())
