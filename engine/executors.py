"""Executors run sweep chunks: in-process (serial), on a local `spawn` process pool, or on Dask.

All share one interface:
    ref = ex.publish(bars)                         # once per dataset
    ex.map_chunks(tasks, on_done, cancel)          # calls on_done(ChunkResult) as chunks finish
    ex.release(ref); ex.close()

The local pool (DESIGN §6):
- an explicit `spawn` context on every OS (so Linux CI runs the macOS path), sized to the
  performance cores, workers warmed at start (imports + numba kernels loaded from the disk cache);
- bars travel once per dataset through shared memory (engine/shared_bars.py);
- each worker keeps its indicator memo from chunk to chunk of a dataset (engine/worker_memo.py);
- few tasks in flight (2 per worker), so when a worker dies (SIGKILL, segfault) and the whole
  `ProcessPoolExecutor` breaks, we know exactly which chunks to resubmit; finished chunks were
  already delivered, so no row is lost or duplicated. A chunk that was in flight during two
  breaks is run alone; if it breaks the pool alone, its combos are reported as errors.
- `max_tasks_per_child` is not used (it can hang before Python 3.14).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from engine.bars import Bars
from engine.shared_bars import SharedBarsRef, publish, release
from engine.strategies.memo import IndicatorMemo, memo_bound
from engine.sweep_task import ChunkResult, ChunkTask, run_chunk
from engine.worker_memo import WORKER, run_pool_chunk

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")


class SerialExecutor:
    """Runs chunks one after another in this process (reference behaviour, and 1-core machines)."""

    workers = 1

    def publish(self, bars: Bars) -> Bars:
        return bars

    def release(self, ref: Any) -> None:
        pass

    def map_chunks(self, tasks: Iterable[ChunkTask], on_done: Callable[[ChunkResult], None],
                   cancel: threading.Event | None = None) -> None:
        memo: IndicatorMemo | None = None  # one for the whole sweep, as a pool worker keeps one
        try:
            for task in tasks:
                if cancel is not None and cancel.is_set():
                    return
                if memo is None or memo.max_bytes != memo_bound(task.memo_bytes):
                    memo = IndicatorMemo(task.memo_bytes)
                on_done(run_chunk(task, memo=memo))
        finally:
            if memo is not None:
                memo.clear()

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _worker_start(threads: int = 1, nice: int = 0) -> None:
    """Initializer of every pool worker: thread caps, P-core placement, priority, warm kernels."""
    if nice > 0 and hasattr(os, "nice") and sys.platform != "darwin":  # macOS: QoS classes (worker_init)
        os.nice(nice)
    try:
        from engine.threads import worker_init
    except ImportError:  # pragma: no cover
        pass
    else:
        worker_init(threads)
    warm_kernels()
    WORKER.start_janitor()


def warm_kernels() -> None:
    """Load every kernel a chunk uses (from numba's disk cache after the first run)."""
    from engine.config import SimConfig
    from engine.data.demo import generate_bars

    bars = generate_bars("WARM", 64, "1d", seed=1)
    run_chunk(ChunkTask(-1, bars, "sma_cross", None, SimConfig().to_dict(), ((0, {"n1": 2, "n2": 5}),)))


def _ping() -> int:
    return os.getpid()


@contextmanager
def _worker_environment(threads: int = 1) -> Iterator[None]:
    """Environment inherited by workers spawned inside this block: `threads` (default one) per worker for
    every BLAS/OpenMP/numba pool, so workers x threads never oversubscribe the cores."""
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: str(threads) for k in THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class LocalExecutor:
    """A long-lived spawn process pool. Use as a context manager or call close()."""

    def __init__(self, workers: int | None = None, inflight_per_worker: int = 2, warm: bool = True,
                 threads_per_worker: int = 1, nice: int = 0):
        if workers is None:
            workers = default_worker_count()
        if workers < 1:
            raise ValueError(f"workers={workers} must be >= 1")
        if threads_per_worker < 1:
            raise ValueError(f"threads_per_worker={threads_per_worker} must be >= 1")
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        # Niceness added in each worker (Linux/BSD; ignored on macOS and Windows): the GUI runs its
        # workers below the UI thread so a full-core sweep does not starve the event loop.
        self.nice = max(0, int(nice))
        self.max_inflight = max(1, inflight_per_worker) * workers
        self._ctx = mp.get_context("spawn")
        self._shared: dict[str, Any] = {}
        self.restarts = 0
        self._warm = warm
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        with _worker_environment(self.threads_per_worker):
            pool = ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_worker_start,
                                       initargs=(self.threads_per_worker, self.nice))
            if self._warm:  # start every worker now, not at the first task
                for f in [pool.submit(_ping) for _ in range(self.workers)]:
                    f.result()
        return pool

    def run_in_worker(self, fn: Callable, *args: Any) -> Any:
        """Run a picklable top-level function in one worker and return its result (diagnostics)."""
        return self._pool.submit(fn, *args).result()

    def worker_pids(self) -> list[int]:
        return [p.pid for p in getattr(self._pool, "_processes", {}).values() if p.pid]

    def publish(self, bars: Bars) -> SharedBarsRef:
        shm, ref = publish(bars)
        self._shared[ref.shm_name] = shm
        return ref

    def release(self, ref: SharedBarsRef) -> None:
        shm = self._shared.pop(ref.shm_name, None)
        if shm is not None:
            release(shm)

    def map_chunks(self, tasks: Iterable[ChunkTask], on_done: Callable[[ChunkResult], None],
                   cancel: threading.Event | None = None) -> None:
        pending: deque[ChunkTask] = deque(tasks)
        suspects: deque[ChunkTask] = deque()  # in flight during two pool breaks: run alone
        breaks: dict[int, int] = {}
        inflight: dict[Future, ChunkTask] = {}
        while pending or suspects or inflight:
            if cancel is not None and cancel.is_set():
                pending.clear()
                suspects.clear()
            if not inflight and suspects:
                task = suspects.popleft()
                inflight[self._submit(task)] = task
            while pending and not suspects and len(inflight) < self.max_inflight:
                task = pending.popleft()
                inflight[self._submit(task)] = task
            if not inflight:
                continue
            done, _ = wait(inflight, timeout=0.2, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = inflight.pop(fut)
                exc = fut.exception()
                if exc is None:
                    on_done(fut.result())
                elif isinstance(exc, BrokenProcessPool):
                    broken = True
                    inflight[fut] = task  # handled below with the rest of the casualties
                else:
                    raise exc
            if broken:
                alone = len(inflight) == 1
                casualties = []
                for fut, task in inflight.items():
                    if fut.done() and fut.exception() is None:
                        on_done(fut.result())  # finished before the break: keep it
                    else:
                        casualties.append(task)
                inflight.clear()
                self._restart()
                for task in casualties:
                    breaks[task.task_id] = breaks.get(task.task_id, 0) + 1
                    if alone and breaks[task.task_id] >= 2:
                        on_done(_crashed_result(task))
                    elif breaks[task.task_id] >= 2:
                        suspects.append(task)
                    else:
                        pending.appendleft(task)

    def _submit(self, task: ChunkTask) -> Future:
        try:
            return self._pool.submit(run_pool_chunk, task)
        except BrokenProcessPool as exc:  # broke since the last wait: report it like a failed task
            fut: Future = Future()
            fut.set_exception(exc)
            return fut

    def _restart(self) -> None:
        self.restarts += 1
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for name in list(self._shared):
            release(self._shared.pop(name))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _crashed_result(task: ChunkTask) -> ChunkResult:
    errors = [{"combo": i, "dataset": task.dataset_index, "params": p,
               "error": "worker process died while running this parameter set's chunk (crashed twice)"}
              for i, p in task.combos]
    return ChunkResult(task.task_id, [], errors)


def default_worker_count() -> int:
    """Performance cores (engine.hardware), else the CPUs this process may use."""
    try:
        from engine.hardware import default_workers, detect

        return max(1, default_workers(detect(libraries=False)))
    except ImportError:  # pragma: no cover
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def make_executor(spec: str | None, workers: int | None = None, threads_per_worker: int = 1):
    """'local' (default), 'serial', or a Dask scheduler address (tcp://host:8786, tls://...) or 'dask'
    for a LocalCluster. `threads_per_worker`: BLAS/numba threads in each local worker (default 1)."""
    if spec in (None, "", "local"):
        return SerialExecutor() if workers == 1 else LocalExecutor(workers, threads_per_worker=threads_per_worker)
    if spec == "serial":
        return SerialExecutor()
    if spec == "dask" or "://" in spec:
        from engine.dask_executor import DaskExecutor

        return DaskExecutor(None if spec == "dask" else spec, workers=workers)
    raise ValueError(f"executor {spec!r}: expected local, serial, dask or a scheduler address like tcp://host:8786")
