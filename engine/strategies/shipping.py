"""A strategy object's code, as the cache keys it and as a worker process runs it.

The result cache must miss whenever anything that can change a result changes, and a sweep's workers
must run exactly the code the parent keyed (docs/architecture.md, "The cache key"). So a strategy is
identified by the digest of its *whole source file* (not only its class: a module constant or helper
changes results too), and it travels to workers as a `StrategyRef`:

- from a strategies folder (engine/strategies/loader.py): the very source bytes the parent compiled,
  compiled again in the worker, so an edit to the file during a sweep cannot reach any chunk;
- from an importable module (the builtins, a user's package): module and class name, and the worker
  refuses to run if its copy of that file has another digest than the parent's;
- its instance attributes travel along, so `run_sweep(MyStrategy(threshold=3), ...)` runs that object.

A class that cannot be found again in another process (defined in `__main__` or inside a function) is
refused before any work, with what to do instead.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import StrategyError
from engine.strategies.base import Strategy

SOURCE_ATTR = "__backbench_source__"  # set by the loader on each module it compiles from a strategies file
_lock = threading.Lock()
_file_digests: dict[str, str] = {}
_compiled: dict[tuple[str, str], types.ModuleType] = {}


@dataclass(frozen=True)
class StrategyRef:
    """How a worker finds the parent's strategy object: by source or by module, plus its attributes."""

    qualname: str
    module: str
    digest: str  # blake2b of the whole source file the class is defined in
    source: bytes | None = None  # the file's bytes, for strategies loaded from a strategies folder
    filename: str = ""
    state: dict[str, Any] = field(default_factory=dict)


def code_digest(strategy: Strategy | type) -> str:
    """Digest of the whole file the strategy's class is defined in (the text that was compiled)."""
    cls = strategy if isinstance(strategy, type) else type(strategy)
    module = sys.modules.get(cls.__module__)
    source = getattr(module, SOURCE_ATTR, None)
    if source is not None:
        return _digest(source)
    path = _source_file(cls)
    if path is None:  # no file to read (a REPL): the class's own text is all there is
        try:
            return _digest(inspect.getsource(cls).encode())
        except (OSError, TypeError):
            return _digest(f"{cls.__module__}.{cls.__qualname__}".encode())
    with _lock:
        hit = _file_digests.get(path)
        if hit is None:
            hit = _file_digests[path] = _digest(Path(path).read_bytes())
    return hit


def ship(strategy: Strategy) -> StrategyRef:
    """A `StrategyRef` for `strategy`; StrategyError (before any work) if no other process could run it."""
    cls = type(strategy)
    label = f"strategy {getattr(strategy, 'name', cls.__name__)!r} (class {cls.__qualname__})"
    if "<locals>" in cls.__qualname__:
        raise StrategyError(f"{label} is defined inside a function, so worker processes cannot load it: "
                            "define it at the top level of a module or of a file in the strategies folder")
    module = sys.modules.get(cls.__module__)
    source = getattr(module, SOURCE_ATTR, None)
    if source is None and cls.__module__ == "__main__":
        raise StrategyError(f"{label} is defined in the script being run (__main__), so worker processes "
                            "cannot load it: move it into a module or a file in the strategies folder, or "
                            "sweep with executor=SerialExecutor()")
    return StrategyRef(cls.__qualname__, cls.__module__, code_digest(cls), source,
                       getattr(module, "__file__", "") or "", dict(vars(strategy)))


def unship(ref: StrategyRef) -> Strategy:
    """The strategy object `ref` describes, built from the parent's code; StrategyError if this process
    would run other code than the parent keyed."""
    if ref.source is not None:
        module = _compile(ref)
    else:
        module = importlib.import_module(ref.module)
    cls: Any = module
    for part in ref.qualname.split("."):
        cls = getattr(cls, part)
    got = code_digest(cls)
    if got != ref.digest:
        raise StrategyError(f"strategy class {ref.qualname}: {ref.filename or ref.module} changed while the sweep "
                            "ran (this worker would run other code than the results are cached under); run again")
    obj = cls.__new__(cls)
    obj.__dict__.update(ref.state)
    return obj


def _compile(ref: StrategyRef) -> types.ModuleType:
    """The module compiled from the parent's source bytes (once per worker and digest)."""
    assert ref.source is not None
    key = (ref.filename, ref.digest)
    with _lock:
        module = _compiled.get(key)
        if module is None:
            name = f"backbench_shipped_{ref.digest}"
            module = types.ModuleType(name)
            module.__file__ = ref.filename
            setattr(module, SOURCE_ATTR, ref.source)
            sys.modules[name] = module  # dataclasses and typing look the module up by name
            try:
                exec(compile(ref.source, ref.filename or name, "exec", dont_inherit=True), module.__dict__)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            _compiled[key] = module
    return module


def _source_file(cls: type) -> str | None:
    try:
        path = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return None
    return path if path and Path(path).is_file() else None


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
