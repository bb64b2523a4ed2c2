"""The kernels' `njit`: numba's, or the same Python function run by CPython for a small run in a process
that has not loaded numba (docs/performance.md, "The first backtest without numba").

Loading numba and its CPU target costs ~0.4-0.6 s in a fresh process, more than a whole 2,000-bar backtest
takes as plain Python. So a kernel module's functions are `Kernel`s: until `use_numba()` is called they are
the module's own Python functions; `use_numba()` (called by the first kernel call outside `python_kernels()`,
or by reading a numba attribute such as `signatures`) compiles every kernel with numba, from its on-disk cache,
and makes every module's global that names a `Kernel` name its numba dispatcher, because numba compiles one
kernel's call to another from its module's globals. From then on a `Kernel` is a thin forward to it.

`python_kernels()` runs its block with the kernels as Python (when numba is not loaded yet); the pipeline
uses it for runs of at most PYTHON_MAX_BARS bars (engine/pipeline.py). The source is the same; the results
are the same but for the last bits of log and exp (numpy's and numba's libm may differ in the last place),
which `tests/engine/test_python_kernels.py` bounds.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np

# A run of at most this many bars, in a process that has not loaded numba, runs its kernels as Python
# (~40 ms for 2,000 bars here, against ~0.5 s to load numba and the kernels).
PYTHON_MAX_BARS = 5_000

_KERNELS: list[Kernel] = []
_INTRINSICS: list[Intrinsic] = []
_AFTER_NUMBA: list[Callable[[], Any]] = []  # called once numba is loaded (the profiler's compile listener)
_state = {"numba": False}
_python: ContextVar[bool] = ContextVar("python_kernels", default=False)  # per thread: a GUI thread's small run
_lock = threading.Lock()                                                # leaves another's big one to numba


class Kernel:
    """A kernel: its Python function, and once numba is in use, its numba dispatcher."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any], python: bool = True) -> None:
        self.py_func = func
        self.options = options
        self.python = python  # False: never run as Python (numba's own random generator, for one)
        self.dispatcher: Any = None
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__doc__ = func.__doc__
        self.__wrapped__ = func
        _KERNELS.append(self)

    def __call__(self, *args: Any) -> Any:
        if self.dispatcher is not None:
            return self.dispatcher(*args)
        if _python.get() and self.python:
            return self.py_func(*args)
        use_numba()
        compiled: Any = self.dispatcher
        return compiled(*args)

    def __getattr__(self, name: str) -> Any:
        # numba's own attributes (signatures, overloads, inspect_asm, ...) come from its dispatcher
        if name.startswith("__"):
            raise AttributeError(name)
        use_numba()
        return getattr(self.dispatcher, name)

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__qualname__}>"


class Intrinsic:
    """A numba intrinsic (`build()` makes it once numba is loaded) and what it is in Python: `python`."""

    def __init__(self, python: Callable[..., Any], build: Callable[[], Any]) -> None:
        self.py_func = python
        self.build = build
        self.__name__ = python.__name__
        self.__module__ = python.__module__
        _INTRINSICS.append(self)

    def __call__(self, *args: Any) -> Any:
        return self.py_func(*args)  # (called from Python: numba code calls the built intrinsic)


def njit(func: Callable[..., Any] | None = None, python: bool = True, **options: Any) -> Any:
    """`@njit` or `@njit(cache=True, ...)`: a Kernel with numba's options; once numba is in use (a kernel
    module imported after it), numba's dispatcher itself. `python=False`: a kernel whose Python run would not
    give numba's result (it draws from numba's random generator): it always loads numba."""

    def make(f: Callable[..., Any]) -> Any:
        with _lock:
            if not _state["numba"]:
                return Kernel(f, options, python)
        import numba

        return numba.njit(**options)(f)

    return make(func) if func is not None else make


def intrinsic(python: Callable[..., Any]) -> Callable[[Callable[[], Any]], Any]:
    """`@intrinsic(python_version)` over a function that builds the numba intrinsic (importing numba inside);
    once numba is in use, the built intrinsic itself."""

    def make(build: Callable[[], Any]) -> Any:
        with _lock:
            if not _state["numba"]:
                return Intrinsic(python, build)
        return build()

    return make


def numba_in_use() -> bool:
    return bool(_state["numba"])


def after_numba_loads(callback: Callable[[], Any]) -> None:
    """Call `callback` once `use_numba()` has loaded numba (before it compiles or loads a kernel)."""
    _AFTER_NUMBA.append(callback)


def use_numba() -> None:
    """Compile (or load from numba's cache, on first call) every kernel with numba, and point every module's
    global that names a kernel at its dispatcher. Idempotent."""
    with _lock:
        if not _state["numba"]:
            _compile_all()


def _compile_all() -> None:
    import numba

    for callback in _AFTER_NUMBA:
        callback()
    swap: dict[int, Any] = {}
    for intr in _INTRINSICS:
        swap[id(intr)] = intr.build()
    for kernel in _KERNELS:
        kernel.dispatcher = numba.njit(**kernel.options)(kernel.py_func)
        swap[id(kernel)] = kernel.dispatcher
    for module in list(sys.modules.values()):
        names = getattr(module, "__dict__", None)
        if not isinstance(names, dict):
            continue
        for name, value in list(names.items()):
            if isinstance(value, Kernel | Intrinsic):
                names[name] = swap[id(value)]
    _state["numba"] = True


@contextlib.contextmanager
def python_kernels() -> Iterator[bool]:
    """Run the block's kernel calls (in this thread) as Python if numba is not in use; yields whether they
    will be. Numpy's warnings for what numba computes silently (a division by zero in a kernel with
    error_model="numpy") are off inside."""
    if _state["numba"] or "numba" in sys.modules or _python.get():
        yield _python.get()
        return
    token = _python.set(True)
    try:
        with np.errstate(all="ignore"):
            yield True
    finally:
        _python.reset(token)


def kernels_for(n_bars: int) -> contextlib.AbstractContextManager[bool]:
    """`python_kernels()` for a run of at most PYTHON_MAX_BARS bars, else a block that changes nothing."""
    return python_kernels() if n_bars <= PYTHON_MAX_BARS else contextlib.nullcontext(False)


def compiled_signatures() -> dict[str, int]:
    """{kernel: how many signatures numba has compiled or loaded for it}, for the kernels called so far."""
    out: dict[str, int] = {}
    for kernel in _KERNELS:
        sigs = kernel.dispatcher.signatures if kernel.dispatcher is not None else []
        if sigs:
            out[f"{kernel.__module__}.{kernel.__qualname__}"] = len(sigs)
    return out
