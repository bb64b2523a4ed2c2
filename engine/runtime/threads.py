"""Thread policy: workers x threads never oversubscribe the cores.

Parallelism is across processes (docs/architecture.md, "The sweep's process model"), so each sweep
worker runs single-threaded BLAS, OpenMP and numba, and the main (GUI/CLI) process keeps a few threads.
The thread environment variables are read by each library once, when it is loaded, so
**`apply_thread_caps` must run before numpy, numba or numexpr are imported**: first thing at an entry
point (`cap_main_process()`), first thing in every worker (`worker_init()`, the process pool's
initializer). When a library is already loaded it is too late for the environment; then the caps are
also applied at run time (threadpoolctl for BLAS/OpenMP, numba's config or thread mask, numexpr) and the
result says `too_late`.

Trap: a `spawn` worker re-imports the parent's `__main__` before the initializer runs, so a main module
that imports numpy at top level makes every worker "too late" (still capped at run time).

On macOS a worker also raises its QoS to USER_INITIATED so the scheduler keeps it on P-cores (default QoS
threads have been seen demoted to E-cores on long runs); on Linux hybrid CPUs it is pinned to the P-cores.
OS calls go through an injectable `OSCalls` object, like `engine.runtime.hardware.Reader`.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from engine.errors import ConfigError
from engine.runtime.hardware import HardwareInfo, Reader, darwin_libc, detect, format_cpulist

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "MKL_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
QOS_CLASS_USER_INITIATED = 0x19
GUI_MAX_THREADS = 4
_LATE_MODULES = ("numpy", "numba", "numexpr")


@dataclass(frozen=True)
class CapResult:
    """What `apply_thread_caps` did.

    `env_set`: the variables written (name -> value). `too_late`: some of `late_modules` were already
    imported, so the environment alone does not reach them. `blas_limited`: threadpoolctl limits applied.
    `numba_threads`: numba's thread count afterwards, when numba is loaded (config value, or the
    calling thread's mask once numba's threads were launched), else None.
    """

    threads: int
    env_set: dict[str, str] = field(default_factory=dict)
    too_late: bool = False
    late_modules: tuple[str, ...] = ()
    blas_limited: bool = False
    numba_threads: int | None = None


def apply_thread_caps(threads: int, env: MutableMapping[str, str] | None = None, *, override: bool = True,
                      runtime: bool | None = None) -> CapResult:
    """Cap BLAS/OpenMP/numexpr/numba at `threads` (>= 1) threads. Call before numpy/numba are imported.

    env: where to write the variables (default `os.environ`). override=False keeps values already set
    (lets a user's OMP_NUM_THREADS win at an entry point). runtime: also cap already-loaded libraries
    in this process; defaults to True when `env` is `os.environ`, False for any other mapping.
    Once numba has launched its threads NUMBA_NUM_THREADS cannot change (numba raises on its next compile),
    so then the variable keeps the launched value and `numba.set_num_threads` caps the calling thread.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"thread count {threads!r}: expected an integer >= 1")
    if env is None:
        env = os.environ
    if runtime is None:
        runtime = env is os.environ
    written = {}
    for var in THREAD_ENV_VARS:
        if override or var not in env:
            env[var] = written[var] = str(threads)
    late = tuple(m for m in _LATE_MODULES if m in sys.modules)
    blas_limited, numba_threads = False, None
    if runtime and "numpy" in late:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=threads)  # not used as a context manager: stays in force
        blas_limited = True
    if runtime and "numba" in late:
        numba_threads = _cap_numba(threads, env, written)
    if runtime and "numexpr" in late:
        sys.modules["numexpr"].set_num_threads(threads)
    return CapResult(threads, written, bool(late), late, blas_limited, numba_threads)


def _cap_numba(threads: int, env: MutableMapping[str, str], written: dict[str, str]) -> int:
    import numba
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is not None and getattr(parallel, "_is_initialized", False):
        launched = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        env["NUMBA_NUM_THREADS"] = written["NUMBA_NUM_THREADS"] = str(launched)
        numba.set_num_threads(min(threads, launched))
        return int(numba.get_num_threads())
    numba.config.reload_config()  # re-reads NUMBA_NUM_THREADS; threads not launched yet, so allowed
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


class OSCalls:
    """The real OS calls a worker makes (tests pass a fake with the same methods)."""

    def platform(self) -> str:
        import platform
        return platform.system()

    def set_qos_class_self(self, qos_class: int, relative_priority: int) -> int:
        """macOS `pthread_set_qos_class_self_np`; returns 0 or an errno value (calling thread only)."""
        fn = darwin_libc().pthread_set_qos_class_self_np
        fn.argtypes = [ctypes.c_uint, ctypes.c_int]
        fn.restype = ctypes.c_int
        return int(fn(qos_class, relative_priority))

    def get_affinity(self) -> frozenset[int] | None:
        getter = getattr(os, "sched_getaffinity", None)
        return frozenset(getter(0)) if getter else None

    def set_affinity(self, cpus: frozenset[int]) -> None:
        os.sched_setaffinity(0, cpus)  # this thread; threads it starts later inherit the mask


@dataclass(frozen=True)
class WorkerSetup:
    """What `worker_init` did: thread caps, macOS QoS (class set, or error), Linux P-core pinning."""

    caps: CapResult
    platform: str
    qos_class: int | None = None
    qos_error: str | None = None
    pinned_cpus: frozenset[int] | None = None
    pin_error: str | None = None

    def describe(self) -> str:
        """One line for the log."""
        parts = [f"threads={self.caps.threads}" + (" (env too late: runtime caps)" if self.caps.too_late else "")]
        if self.qos_class is not None:
            parts.append(f"qos=0x{self.qos_class:x}")
        if self.pinned_cpus is not None:
            parts.append(f"pinned to CPUs {format_cpulist(self.pinned_cpus)}")
        parts += [f"{what} failed: {err}" for what, err in (("qos", self.qos_error), ("pin", self.pin_error)) if err]
        return ", ".join(parts)


_last_setup: WorkerSetup | None = None


def last_worker_setup() -> WorkerSetup | None:
    """What the last `worker_init` in this process did (None if it never ran)."""
    return _last_setup


def worker_init(threads: int = 1, info: HardwareInfo | None = None, *, reader: Reader | None = None,
                calls: OSCalls | None = None, env: MutableMapping[str, str] | None = None,
                qos: bool = True, pin: bool = True) -> WorkerSetup:
    """First call in every sweep worker (pass it as the pool's `initializer`; arguments are picklable).

    1. caps BLAS/OpenMP/numba at `threads` (default 1) - see `apply_thread_caps`;
    2. macOS: QoS USER_INITIATED for the calling thread (keeps it on P-cores);
    3. Linux with efficiency cores: pins to the P-cores (`info.pcore_cpus`, detected when `info` is None),
       intersected with the CPUs already allowed; no pinning if that leaves nothing or changes nothing.
    OS failures are recorded in the result, not raised: a worker runs unpinned rather than not at all.
    """
    global _last_setup
    calls = calls if calls is not None else OSCalls()
    caps = apply_thread_caps(threads, env)
    system = calls.platform()
    qos_class = qos_error = pinned = pin_error = None
    if qos and system == "Darwin":
        try:
            rc = calls.set_qos_class_self(QOS_CLASS_USER_INITIATED, 0)
            if rc == 0:
                qos_class = QOS_CLASS_USER_INITIATED
            else:
                qos_error = f"pthread_set_qos_class_self_np returned {rc} ({os.strerror(rc)})"
        except (OSError, AttributeError) as exc:
            qos_error = str(exc)
    if pin and system == "Linux":
        try:
            info = info if info is not None else detect(reader, libraries=False)
            if info.pcore_cpus and info.hybrid:
                allowed = calls.get_affinity()
                target = info.pcore_cpus & allowed if allowed else info.pcore_cpus
                if target and target != allowed:
                    calls.set_affinity(frozenset(target))
                    pinned = frozenset(target)
        except OSError as exc:
            pin_error = str(exc)
    _last_setup = WorkerSetup(caps, system, qos_class, qos_error, pinned, pin_error)
    return _last_setup


def gui_thread_count(info: HardwareInfo) -> int:
    """Threads for the main (GUI/CLI) process: min(4, physical P-cores), at least 1."""
    return max(1, min(GUI_MAX_THREADS, info.perf_physical))


def cap_main_process(reader: Reader | None = None, env: MutableMapping[str, str] | None = None) -> CapResult:
    """Entry-point one-liner: cap this process at `gui_thread_count`, keeping variables the user set.

    Call it before anything imports numpy or numba (it imports neither).
    """
    return apply_thread_caps(gui_thread_count(detect(reader, libraries=False)), env, override=False)
