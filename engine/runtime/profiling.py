"""Profiling registry: counters, gauges and timers, cheap to record on hot paths, read as snapshots.

    reg = default_registry()
    hits = reg.counter("cache.l1.hits"); hits.inc()            # hold the handle on hot paths
    reg.gauge("worker.3.rss_bytes").set(rss)
    with timer("store.read"): ...                              # context manager (default registry)
    @timer("indicators.sma")                                   # ... or decorator
    def sma(...): ...
    reg.snapshot()   # plain dict of plain numbers, safe to hand to another thread (the GUI sampler)

A timer keeps its count and total since the start, and p50/p95/p99/min/max over a rolling window of
its last `window` observations (a fixed-size ring buffer). A registry's handles share one lock, so
recording from many threads is safe and readers never see a half-written value. Collectors
(`add_collector`) are called at snapshot time only: a component with its own counters (the result
cache) reports through one instead of paying for a registry update on every lookup.

Names used by the engine: backtest.{load,signals,simulate,stats,total,cache} (timers),
backtest.runs, backtest.cached, bar_steps, tasks.done (counters), worker.task and
worker.<id>.task (timers), worker.<id>.rss_bytes (gauges), numba.compile (timer, top-level
compilations only), cache.{l1,l2}.* (collected from the result cache), cache.l2.{read,write}
(timers), store.read / store.write (timers, recorded by the data store); a sweep adds
sweep.combos.{computed,cached,failed}, sweep.chunks, sweep.errors (counters), sweep.workers and
sweep.workers_busy (gauges), sweep.{signals,simulate,stats} (timers of the combos, sent by the workers) and
the app sweep.load, import.rows / import.files and errors.command. app/metrics/ exports all of them for
Prometheus (docs/metrics.md).
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
Collector = Callable[[], Mapping[str, Mapping[str, float]]]

DEFAULT_WINDOW = 1024


class Counter:
    """A monotonically increasing count (int or float)."""

    __slots__ = ("name", "value", "_lock")

    def __init__(self, name: str, lock: threading.Lock | None = None) -> None:
        self.name = name
        self.value: float = 0
        self._lock = lock or threading.Lock()

    def inc(self, n: float = 1) -> None:
        lock = self._lock
        lock.acquire()  # explicit acquire/release: about half the cost of `with` on CPython 3.11
        try:
            self.value += n
        finally:
            lock.release()


class Gauge:
    """A value that goes up and down (last write wins; a float store is atomic under the GIL)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: float = 0.0

    def set(self, value: float) -> None:
        self.value = value


class Timer:
    """Durations in seconds: count and total since start, percentiles over the last `window`.

    The window is a fixed-size ring buffer, a preallocated list (storing into it costs ~15 ns, a
    numpy element store ~110 ns); `summary` copies it under the lock and computes with numpy.
    """

    __slots__ = ("name", "count", "total", "_buf", "_mask", "_lock")

    def __init__(self, name: str, window: int = DEFAULT_WINDOW, lock: threading.Lock | None = None) -> None:
        if window < 1 or window & (window - 1):
            raise ValueError(f"timer {name!r}: window must be a power of two, not {window}")
        self.name = name
        self.count = 0
        self.total = 0.0
        self._buf = [0.0] * window
        self._mask = window - 1
        self._lock = lock or threading.Lock()

    def record(self, seconds: float) -> None:
        lock = self._lock
        lock.acquire()
        try:
            n = self.count
            self._buf[n & self._mask] = seconds
            self.count = n + 1
            self.total += seconds
        finally:
            lock.release()

    def _record_locked(self, seconds: float) -> None:
        """`record` for a caller already holding this timer's lock (batched updates)."""
        n = self.count
        self._buf[n & self._mask] = seconds
        self.count = n + 1
        self.total += seconds

    def time(self) -> Span:
        """A context manager (and decorator) that records the time spent inside it."""
        return Span(self)

    def summary(self) -> dict[str, float]:
        with self._lock:
            count, total = self.count, self.total
            window = np.array(self._buf[: min(count, len(self._buf))], dtype=np.float64)
        out = {"count": count, "total": total, "mean": total / count if count else 0.0}
        if len(window):
            p50, p95, p99 = np.percentile(window, (50, 95, 99))
            out.update(p50=float(p50), p95=float(p95), p99=float(p99),
                       min=float(window.min()), max=float(window.max()))
        else:
            out.update(p50=0.0, p95=0.0, p99=0.0, min=0.0, max=0.0)
        return out


class Span:
    """Times one `with` block into a Timer; as a decorator, times every call of the function."""

    __slots__ = ("_timer", "_t0")

    def __init__(self, timer: Timer) -> None:
        self._timer = timer
        self._t0 = 0.0

    def __enter__(self) -> Span:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.record(time.perf_counter() - self._t0)

    def __call__(self, fn: F) -> F:
        t = self._timer

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                t.record(time.perf_counter() - t0)

        return timed  # type: ignore[return-value]


class Registry:
    """Named counters, gauges and timers. `enabled=False` makes the engine's record_* helpers no-ops.

    All handles of a registry share one data lock, so a batch of updates (one backtest's stages)
    takes it once; handle creation uses a second lock.
    """

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self.enabled = True
        self.window = window
        self._counters: dict[str, Counter] = {}
        self._gauges: dict[str, Gauge] = {}
        self._timers: dict[str, Timer] = {}
        self._collectors: dict[str, Collector] = {}
        self._lock = threading.Lock()
        self._data_lock = threading.Lock()
        self.started = time.time()

    # Handles: look a name up once, keep the handle on hot paths.
    def counter(self, name: str) -> Counter:
        c = self._counters.get(name)
        if c is None:
            with self._lock:
                c = self._counters.setdefault(name, Counter(name, self._data_lock))
        return c

    def gauge(self, name: str) -> Gauge:
        g = self._gauges.get(name)
        if g is None:
            with self._lock:
                g = self._gauges.setdefault(name, Gauge(name))
        return g

    def timer(self, name: str) -> Timer:
        t = self._timers.get(name)
        if t is None:
            with self._lock:
                t = self._timers.setdefault(name, Timer(name, self.window, self._data_lock))
        return t

    # By-name conveniences (one dict lookup more than a held handle).
    def inc(self, name: str, n: float = 1) -> None:
        self.counter(name).inc(n)

    def set_gauge(self, name: str, value: float) -> None:
        self.gauge(name).value = value

    def observe(self, name: str, seconds: float) -> None:
        self.timer(name).record(seconds)

    def time(self, name: str) -> Span:
        return Span(self.timer(name))

    def add_collector(self, name: str, fn: Collector) -> None:
        """`fn()` -> {"counters": {...}, "gauges": {...}}, merged into every snapshot (replaces `name`)."""
        with self._lock:
            self._collectors[name] = fn

    def remove_collector(self, name: str) -> None:
        with self._lock:
            self._collectors.pop(name, None)

    def snapshot(self) -> dict[str, Any]:
        """{"time", "uptime", "counters": {name: n}, "gauges": {name: v}, "timers": {name: summary}}."""
        with self._lock:
            counters = list(self._counters.values())
            gauges = list(self._gauges.values())
            timers = list(self._timers.values())
            collectors = list(self._collectors.values())
        now = time.time()
        snap: dict[str, Any] = {
            "time": now,
            "uptime": now - self.started,
            "counters": {c.name: c.value for c in counters},
            "gauges": {g.name: g.value for g in gauges},
            "timers": {t.name: t.summary() for t in timers},
        }
        for fn in collectors:
            extra = fn()
            snap["counters"].update(extra.get("counters", {}))
            snap["gauges"].update(extra.get("gauges", {}))
        return snap

    def record_worker_report(self, worker_id: int | str, task_seconds: float, rss_bytes: int, bar_steps: int,
                             compile_seconds: float = 0.0, tasks: int = 1) -> None:
        """Record what a sweep worker process sent back with a finished task (or a chunk of `tasks`).

        Only for work done in *another* process: backtests run in this process record themselves.
        """
        if not self.enabled:
            return
        self.timer("worker.task").record(task_seconds)
        self.timer(f"worker.{worker_id}.task").record(task_seconds)
        self.gauge(f"worker.{worker_id}.rss_bytes").set(float(rss_bytes))
        self.counter(f"worker.{worker_id}.tasks").inc(tasks)
        self.counter("tasks.done").inc(tasks)
        self.counter("bar_steps").inc(bar_steps)
        if compile_seconds > 0:
            self.timer("worker.compile").record(compile_seconds)

    def reset(self) -> None:
        """Forget every counter, gauge and timer (collectors stay)."""
        with self._lock:
            self._counters.clear()
            self._gauges.clear()
            self._timers.clear()
        self.started = time.time()


_default: Registry | None = None
_default_lock = threading.Lock()


_listening = False
_waiting = False  # the listener is to be installed when engine/kernels/jit.py loads numba


def default_registry() -> Registry:
    """The process-wide registry. Numba compile times are recorded into it once numba is loaded: the
    listener is installed by the first call after numba's import (engine.backtest and the sweep call this
    when they load), never by importing numba here, so commands that run no kernel (`backbench import`,
    `backbench data`) never load it (tests/engine/test_import_graph.py)."""
    global _default, _listening, _waiting
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Registry()
    if not _listening and "numba" in sys.modules:
        with _default_lock:
            if not _listening:
                install_numba_compile_listener(_default)
                _listening = True
    elif not _listening and not _waiting:
        # a small run may use the kernels as Python and load numba later (engine/kernels/jit.py)
        _waiting = True
        from engine.kernels.jit import after_numba_loads

        after_numba_loads(default_registry)
    return _default


def timer(name: str) -> Span:
    """`with timer("store.read"):` / `@timer("store.read")` on the default registry."""
    return Span(default_registry().timer(name))


_first_backtest_done = False
_STAGE_NAMES: dict[str, str] = {}


def record_backtest(timings: Mapping[str, float], n_bars: int, from_cache: bool = False,
                    registry: Registry | None = None) -> None:
    """Feed one backtest's `Result.timings` (seconds per stage) and its bar count into the registry."""
    global _first_backtest_done
    reg = registry or _default or default_registry()
    if not reg.enabled:
        return
    timers = []
    for stage_name, seconds in timings.items():
        name = _STAGE_NAMES.get(stage_name) or _STAGE_NAMES.setdefault(stage_name, f"backtest.{stage_name}")
        timers.append((reg.timer(name), seconds))
    if from_cache:
        count = reg.counter("backtest.cached")
    else:
        total = sum(timings.values())
        timers.append((reg.timer("backtest.total"), total))
        count, steps = reg.counter("backtest.runs"), reg.counter("bar_steps")
    lock = reg._data_lock
    lock.acquire()  # one acquisition for the whole batch
    try:
        for t, seconds in timers:
            t._record_locked(seconds)
        count.value += 1
        if not from_cache:
            steps.value += n_bars
    finally:
        lock.release()
    if not from_cache and not _first_backtest_done:  # the first run pays for JIT compile / cache load
        _first_backtest_done = True
        reg.gauge("backtest.first_run_seconds").set(total)


def record_worker_report(worker_id: int | str, task_seconds: float, rss_bytes: int, bar_steps: int,
                         compile_seconds: float = 0.0, tasks: int = 1,
                         registry: Registry | None = None) -> None:
    """`Registry.record_worker_report` on `registry` (default: the default registry)."""
    (registry or default_registry()).record_worker_report(worker_id, task_seconds, rss_bytes, bar_steps,
                                                          compile_seconds, tasks)


def install_numba_compile_listener(registry: Registry) -> Any:
    """Record each top-level numba compilation as `numba.compile` (nested callee compiles are
    inside their caller's time). Loads from numba's on-disk cache are not compilations and are not
    counted; `backtest.first_run_seconds` shows that first-call cost. Returns the listener (pass it to
    numba.core.event.unregister("numba:compile", ...) to stop), or None if numba has no events.
    """
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover - numba always has it since 0.53
        return None
    local = threading.local()
    compile_timer = registry.timer("numba.compile")

    class _CompileListener(event.Listener):
        def on_start(self, ev: Any) -> None:
            stack = getattr(local, "stack", None)
            if stack is None:
                stack = local.stack = []
            stack.append(time.perf_counter())

        def on_end(self, ev: Any) -> None:
            stack = getattr(local, "stack", None)
            if not stack:
                return
            t0 = stack.pop()
            if not stack:
                compile_timer.record(time.perf_counter() - t0)

    listener = _CompileListener()
    event.register("numba:compile", listener)
    return listener


def format_snapshot(snap: Mapping[str, Any], prefix: str = "") -> str:
    """A readable table of a snapshot: timers (ms), then counters and gauges."""
    lines: list[str] = []
    timers = {k: v for k, v in snap["timers"].items() if k.startswith(prefix) and v["count"]}
    if timers:
        width = max(len(k) for k in timers)
        lines.append(f"  {'timer':<{width}}  {'count':>7}  {'total ms':>10}  {'p50 ms':>9}  {'p95 ms':>9}  "
                     f"{'p99 ms':>9}")
        for name, t in sorted(timers.items()):
            lines.append(f"  {name:<{width}}  {t['count']:>7}  {t['total'] * 1e3:>10.3f}  {t['p50'] * 1e3:>9.3f}  "
                         f"{t['p95'] * 1e3:>9.3f}  {t['p99'] * 1e3:>9.3f}")
    values = {**snap["counters"], **snap["gauges"]}
    values = {k: v for k, v in values.items() if k.startswith(prefix)}
    if values:
        width = max(len(k) for k in values)
        lines.append("")
        for name, v in sorted(values.items()):
            whole = isinstance(v, int) or (math.isfinite(v) and float(v).is_integer())
            text = f"{int(v):,}" if whole else f"{v:,.6g}"
            lines.append(f"  {name:<{width}}  {text:>16}")
    return "\n".join(lines)
