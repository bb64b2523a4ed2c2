"""Executors run sweep chunks: in-process (serial), on a local `spawn` process pool, or on Dask.

All share one interface:
    ref = ex.publish(bars)                         # once per dataset
    ex.map_chunks(tasks, on_done, cancel)          # calls on_done(ChunkResult) as chunks finish
    ex.release(ref); ex.close()

The local pool (docs/architecture.md, "The sweep's process model"):
- an explicit `spawn` context on every OS (so Linux CI runs the macOS path), sized to the
  performance cores, workers warmed at start (imports + numba kernels loaded from the disk cache);
- bars travel once per dataset through shared memory (engine/sweep/shared_bars.py);
- each worker keeps its indicator memo from chunk to chunk of a dataset (engine/sweep/worker_memo.py);
- few tasks in flight (2 per worker), so when a worker dies (SIGKILL, segfault) and the whole
  `ProcessPoolExecutor` breaks, we know exactly which chunks to resubmit; finished chunks were
  already delivered, so no row is lost or duplicated. A chunk that was in flight during two
  breaks is run alone; if it breaks the pool alone, its combos are reported as errors.
- `max_tasks_per_child` is not used (it can hang before Python 3.14).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from engine.bars import Bars
from engine.runtime.hardware import default_worker_count
from engine.runtime.threads import THREAD_ENV_VARS
from engine.strategies.memo import IndicatorMemo, memo_bound
from engine.sweep.shared_bars import SharedBarsRef, share
from engine.sweep.task import ChunkResult, ChunkTask, run_chunk
from engine.sweep.worker_memo import WORKER, run_pool_chunk


class SerialExecutor:
    """Runs chunks one after another in this process (reference behaviour, and 1-core machines)."""

    workers = 1
    memo_bytes: int | None = None  # the indicator memo bound of the sweeps it runs (run_sweep's default)

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


_STARTS: Any = None  # in a pool worker: where it tells the parent when each chunk starts


def _worker_start(threads: int = 1, nice: int = 0, starts: Any = None) -> None:
    """Initializer of every pool worker: exit with the parent, thread caps, P-core placement, priority,
    warm kernels."""
    global _STARTS
    _STARTS = starts
    watch_parent()
    # Ctrl+C in a terminal reaches the whole process group: the parent decides what a sweep does with it
    # (cancel, keep the finished rows); a worker interrupted mid-chunk would only turn it into an error.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0 and hasattr(os, "nice") and sys.platform != "darwin":  # macOS: QoS classes (worker_init)
        os.nice(nice)
    from engine.runtime.heap import hold_freed_heap
    from engine.runtime.threads import worker_init

    worker_init(threads)
    hold_freed_heap()  # reuse a combo's freed arrays; the janitor trims when idle (engine/runtime/heap.py)
    warm_kernels()
    WORKER.start_janitor()


def watch_parent() -> None:
    """Exit this process as soon as its parent dies (kill -9 included), on every OS.

    A daemon thread waits on the parent's sentinel (a pipe the OS closes when the parent exits). Without
    it a spawn-pool worker outlives a killed parent, burning a core on its chunk, and keeps the
    parent's resource tracker alive, so the shared-memory bars and the pool's semaphores are never
    unlinked; once the workers are gone the tracker removes them. (Linux's PR_SET_PDEATHSIG is not used: it
    fires when the *thread* that started the worker ends, and the app starts its pool from a job thread.)
    """
    parent = mp.parent_process()
    if parent is None:
        return

    def wait_for_parent() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=wait_for_parent, name="backbench-parent-watch", daemon=True).start()


def warm_kernels() -> None:
    """Load every kernel a chunk uses (from numba's disk cache after the first run)."""
    from engine.config import SimConfig
    from engine.data.demo import generate_bars

    bars = generate_bars("WARM", 64, "1d", seed=1)
    run_chunk(ChunkTask(-1, bars, "sma_cross", None, SimConfig().to_dict(), ((0, {"n1": 2, "n2": 5}),)))


def _ping() -> int:
    return os.getpid()


def _run_timed_chunk(task: ChunkTask, token: int) -> ChunkResult:
    """`run_pool_chunk`, after telling the parent this chunk (its submission `token`) starts now: a chunk
    waiting in the pool's queue is not running, and must not be timed as if it were."""
    if _STARTS is not None:
        _STARTS.put(token)
    return run_pool_chunk(task)


@contextmanager
def _worker_environment(threads: int = 1) -> Iterator[None]:
    """Environment inherited by workers spawned inside this block: `threads` (default one) per worker for
    every BLAS/OpenMP/numba pool, so workers x threads never oversubscribe the cores."""
    saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    os.environ.update({k: str(threads) for k in THREAD_ENV_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


DEFAULT_CHUNK_TIMEOUT_S = 600.0  # a chunk is at most 64 combos; ten minutes means it hangs
STOP_GRACE_S = 2.0  # how long cancel and close wait for running chunks before killing their workers


class LocalExecutor:
    """A long-lived spawn process pool, started at its first chunk (or by `start()`). Use as a context
    manager or call close().

    Nothing it starts outlives it or its process: workers exit when the parent dies (`watch_parent`);
    a chunk running longer than `chunk_timeout_s` has its workers killed and its combos reported as
    errors while the rest of the sweep goes on; cancel and close wait at most `grace_s` for running
    chunks, then kill the workers (a new pool starts when next needed)."""

    def __init__(self, workers: int | None = None, inflight_per_worker: int = 2, warm: bool = True,
                 threads_per_worker: int = 1, nice: int = 0,
                 chunk_timeout_s: float | None = DEFAULT_CHUNK_TIMEOUT_S, grace_s: float = STOP_GRACE_S):
        if workers is None:
            workers = default_worker_count()
        if workers < 1:
            raise ValueError(f"workers={workers} must be >= 1")
        if threads_per_worker < 1:
            raise ValueError(f"threads_per_worker={threads_per_worker} must be >= 1")
        if chunk_timeout_s is not None and chunk_timeout_s <= 0:
            raise ValueError(f"chunk_timeout_s={chunk_timeout_s} must be > 0 (or None: no limit)")
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        # Niceness added in each worker (Linux/BSD; ignored on macOS and Windows): the GUI runs its
        # workers below the UI thread so a full-core sweep does not starve the event loop.
        self.nice = max(0, int(nice))
        self.max_inflight = max(1, inflight_per_worker) * workers
        self.chunk_timeout_s = chunk_timeout_s
        self.grace_s = grace_s
        self.memo_bytes: int | None = None  # the indicator memo bound of the sweeps it runs (run_sweep's default)
        self._ctx = mp.get_context("spawn")
        self.restarts = 0
        self.kills = 0  # times workers were killed (a chunk over its limit, cancel or close past the grace)
        self._warm = warm
        self._warming: list[Future] = []  # the pool's start-up pings (prestart does not wait for them)
        self._tokens = itertools.count()
        self._token_of: dict[Future, int] = {}
        self._started_at: dict[int, float] = {}
        # Lazy: no worker starts until a chunk needs one, so a sweep served entirely from the result cache
        # (or a command that never sweeps) pays neither the pool's start nor its close (docs/performance.md).
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self, wait: bool = True) -> ProcessPoolExecutor:
        # A new queue per pool: a worker killed while writing to the old one may have left it locked.
        self._starts = self._ctx.SimpleQueue()
        with _worker_environment(self.threads_per_worker):
            pool = ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_worker_start,
                                       initargs=(self.threads_per_worker, self.nice, self._starts))
            if self._warm:  # start every worker now, not at the first task
                self._warming = [pool.submit(_ping) for _ in range(self.workers)]
                for f in self._warming if wait else ():
                    f.result()
        return pool

    @property
    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_pool()
        return self._pool

    def start(self) -> LocalExecutor:
        """Start (and warm) the workers now rather than at the first chunk; returns self."""
        _ = self.pool
        return self

    def prestart(self) -> None:
        """Start the workers in the background and return at once: they import the engine and load its
        kernels while the caller goes on (reading bars, say), and the first chunk waits only for what is
        left of their start. For a caller that knows it will compute (a sweep without the cache)."""
        if self._pool is None:
            self._pool = self._new_pool(wait=False)

    @property
    def started(self) -> bool:
        """Whether worker processes are up (a pool exists)."""
        return self._pool is not None

    def run_in_worker(self, fn: Callable, *args: Any) -> Any:
        """Run a picklable top-level function in one worker and return its result (diagnostics)."""
        return self.pool.submit(fn, *args).result()

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self._processes() if p.pid]

    def _processes(self) -> list[Any]:
        procs = getattr(self._pool, "_processes", None) or {}
        return list(procs.values())

    def publish(self, bars: Bars) -> SharedBarsRef:
        """The bars' shared block (shared_bars.share: it becomes their memory and outlives the sweep, so the
        parent holds the dataset once and the next sweep of the same bars copies nothing)."""
        return share(bars)

    def release(self, ref: SharedBarsRef) -> None:
        """Nothing to do: the block belongs to the bars it holds (unlinked when they are collected)."""

    def map_chunks(self, tasks: Iterable[ChunkTask], on_done: Callable[[ChunkResult], None],
                   cancel: threading.Event | None = None) -> None:
        pending: deque[ChunkTask] = deque(tasks)
        suspects: deque[ChunkTask] = deque()  # in flight during two pool breaks: run alone
        breaks: dict[int, int] = {}
        inflight: dict[Future, ChunkTask] = {}
        cancelled_at: float | None = None
        while pending or suspects or inflight:
            if cancel is not None and cancel.is_set():
                pending.clear()
                suspects.clear()
                cancelled_at = cancelled_at or time.monotonic()
                if inflight and time.monotonic() - cancelled_at > self.grace_s:
                    self._kill_workers()  # chunks that do not finish within the grace are dropped
                    return
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
                if fut.cancelled():  # the pool dropped it while breaking: run it again below
                    broken = True
                    inflight[fut] = task
                    continue
                exc = fut.exception()
                if exc is None:
                    on_done(fut.result())
                elif isinstance(exc, BrokenProcessPool):
                    broken = True
                    inflight[fut] = task  # handled below with the rest of the casualties
                else:
                    raise exc
            overdue = self._overdue(inflight)
            if overdue:
                for fut in overdue:
                    on_done(_timeout_result(inflight.pop(fut), self.chunk_timeout_s or 0.0))
                self._kill_workers()
                broken = True  # the others in flight were killed with them: run them again below
            if broken:
                alone = len(inflight) == 1
                casualties = []
                for fut, task in inflight.items():
                    if finished_ok(fut):
                        on_done(fut.result())  # finished before the break: keep it
                    else:
                        casualties.append(task)
                inflight.clear()
                self._restart()
                for task in casualties:
                    if overdue:  # killed for another chunk's sake: not this chunk's fault
                        pending.appendleft(task)
                        continue
                    breaks[task.task_id] = breaks.get(task.task_id, 0) + 1
                    if alone and breaks[task.task_id] >= 2:
                        on_done(_crashed_result(task))
                    elif breaks[task.task_id] >= 2:
                        suspects.append(task)
                    else:
                        pending.appendleft(task)

    def _overdue(self, inflight: dict[Future, ChunkTask]) -> list[Future]:
        """Futures whose chunk has been running in a worker for longer than the chunk limit (timed from
        the worker's own report that it started the chunk)."""
        if self.chunk_timeout_s is None:
            return []
        starts = self._starts
        while not starts.empty():
            self._started_at[starts.get()] = time.monotonic()
        now = time.monotonic()
        return [fut for fut in inflight if not fut.done()
                and now - self._started_at.get(self._token_of.get(fut, -1), now) > self.chunk_timeout_s]

    def _submit(self, task: ChunkTask) -> Future:
        token = next(self._tokens)
        try:
            fut = self.pool.submit(_run_timed_chunk, task, token)
        except BrokenProcessPool as exc:  # broke since the last wait: report it like a failed task
            fut = Future()
            fut.set_exception(exc)
        self._token_of[fut] = token
        fut.add_done_callback(self._forget)
        return fut

    def _forget(self, fut: Future) -> None:
        token = self._token_of.pop(fut, None)
        if token is not None:
            self._started_at.pop(token, None)

    def _restart(self) -> None:
        self.restarts += 1
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None  # the next submit starts a new pool

    def _kill_workers(self, procs: list[Any] | None = None) -> None:
        """Kill every worker now and drop the pool (a new one starts when next needed)."""
        procs = self._processes() if procs is None else procs
        for p in procs:
            if p.is_alive():
                p.kill()
        self.kills += 1
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        for p in procs:
            p.join(5.0)

    def close(self) -> None:
        """Stop the workers: those still busy after `grace_s` are killed. Returns within about `grace_s`."""
        if self._pool is not None:
            procs = self._processes()
            self._pool.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + self.grace_s
            for p in procs:
                p.join(max(0.0, deadline - time.monotonic()))
            if any(p.is_alive() for p in procs):
                self._kill_workers(procs)  # the pool forgot its processes at shutdown: kill the ones we kept
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _timeout_result(task: ChunkTask, limit_s: float) -> ChunkResult:
    errors = [{"combo": i, "dataset": task.dataset_index, "params": p,
               "error": f"its chunk ran longer than the {limit_s:g} s limit (setting sweep.chunk_timeout_s); "
                        "its worker was stopped"}
              for i, p in task.combos]
    return ChunkResult(task.task_id, [], errors)


def _crashed_result(task: ChunkTask) -> ChunkResult:
    errors = [{"combo": i, "dataset": task.dataset_index, "params": p,
               "error": "worker process died while running this parameter set's chunk (crashed twice)"}
              for i, p in task.combos]
    return ChunkResult(task.task_id, [], errors)


def finished_ok(fut: Future) -> bool:
    """The chunk finished with a result (not running, failed, or cancelled by a pool that broke: asking a
    cancelled future for its exception raises CancelledError, which once ended a whole sweep)."""
    return fut.done() and not fut.cancelled() and fut.exception() is None


def make_executor(spec: str | None, workers: int | None = None, threads_per_worker: int = 1,
                  chunk_timeout_s: float | None = DEFAULT_CHUNK_TIMEOUT_S, insecure: bool = False,
                  nice: int = 0, tls: Any = None, single_in_process: bool = True, memo_bytes: int | None = None):
    """See `_make_executor`; `memo_bytes`: each worker's indicator memo bound in the sweeps it runs (the
    executor's `memo_bytes`, which `run_sweep` uses when not given one; None: memo.DEFAULT_MAX_BYTES)."""
    ex = _make_executor(spec, workers, threads_per_worker, chunk_timeout_s, insecure, nice, tls, single_in_process)
    ex.memo_bytes = memo_bytes
    return ex


def _make_executor(spec: str | None, workers: int | None = None, threads_per_worker: int = 1,
                   chunk_timeout_s: float | None = DEFAULT_CHUNK_TIMEOUT_S, insecure: bool = False,
                   nice: int = 0, tls: Any = None, single_in_process: bool = True) -> Any:
    """'local' (default), 'serial', or a Dask scheduler address (tcp://host:8786, tls://...) or 'dask'
    for a LocalCluster. `threads_per_worker`: BLAS/numba threads in each local worker (default 1);
    `chunk_timeout_s`: a local worker's limit per chunk (None or 0: none); `insecure`: allow a plain
    tcp:// scheduler that is not on this machine (engine/sweep/dask_executor.py says why it is refused);
    `nice`: local workers run this much nicer than the caller; `tls`: a dask_executor.TlsFiles.
    `single_in_process`: "local" with one worker runs in this process (the app keeps a worker process,
    so a sweep never competes with its UI thread)."""
    if spec in (None, "", "local"):
        if workers == 1 and single_in_process:
            return SerialExecutor()
        return LocalExecutor(workers, threads_per_worker=threads_per_worker, chunk_timeout_s=chunk_timeout_s or None,
                             nice=nice)
    if spec == "serial":
        return SerialExecutor()
    if spec == "dask" or "://" in spec:
        from engine.sweep.dask_executor import DaskExecutor

        return DaskExecutor(None if spec == "dask" else spec, workers=workers, insecure=insecure, tls=tls)
    raise ValueError(f"executor {spec!r}: expected local, serial, dask or a scheduler address like tcp://host:8786")
