"""Load user strategies from a folder of Python files.

Each `*.py` file (not starting with "_") is imported as its own module, and every `Strategy`
subclass *defined* in it is registered under its `name`. One bad file never stops the others:
it yields a `LoadError(file, line, message)` instead, with the line where Python knows it.

Loading again re-imports every file whose content changed; an unchanged file that loaded
cleanly keeps its module (and its classes' identity). Source is compiled from the file's bytes
each time, never from `__pycache__`, so an edit within the same second is still seen.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import itertools
import sys
import threading
import traceback
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.strategies.base import Param, Strategy
from engine.strategies.builtins import BUILTIN_CLASSES
from engine.strategies.shipping import SOURCE_ATTR

_MODULE_PREFIX = "backbench_user_strategies"
_counter = itertools.count()
_lock = threading.Lock()
# path -> (content digest, module, strategies) for files that loaded cleanly
_cache: dict[Path, tuple[str, types.ModuleType, list[Strategy]]] = {}


@dataclass(frozen=True)
class LoadError:
    """A user strategy file that could not be used: where, and why (one line)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class _FileError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load_user_strategies(folder: str | Path, reserved: Iterable[str] | None = None,
                         ) -> tuple[dict[str, Strategy], list[LoadError]]:
    """Import every strategy file in `folder`; return ({name: strategy}, [LoadError, ...]).

    `reserved` are names a user strategy may not take (defaults to the builtin names). A missing
    folder gives no strategies and no errors. Files load in name order; when two files define
    the same strategy name, the first keeps it and the second gets a LoadError.
    """
    reserved = frozenset(c.name for c in BUILTIN_CLASSES) if reserved is None else frozenset(reserved)
    folder = Path(folder)
    strategies: dict[str, Strategy] = {}
    origin: dict[str, str] = {}
    errors: list[LoadError] = []
    if not folder.is_dir():
        return strategies, errors
    files = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    with _lock:
        for stale in set(_cache) - {p.resolve() for p in files}:
            if stale.parent == folder.resolve():
                _forget(stale)
        for path in files:
            try:
                found = _load_file(path)
            except _FileError as exc:
                errors.append(LoadError(str(path), exc.line, exc.message))
                continue
            for strategy in found:
                line = _class_line(type(strategy))
                if strategy.name in reserved:
                    errors.append(LoadError(str(path), line, f"strategy name {strategy.name!r} is taken "
                                            "by a builtin strategy; choose another name"))
                elif strategy.name in strategies:
                    errors.append(LoadError(str(path), line, f"strategy name {strategy.name!r} is "
                                            f"already defined in {origin[strategy.name]}"))
                else:
                    strategies[strategy.name] = strategy
                    origin[strategy.name] = path.name
    return strategies, errors


def _load_file(path: Path) -> list[Strategy]:
    """The strategies `path` defines (cached while its content is unchanged), or _FileError."""
    key = path.resolve()
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise _FileError(None, f"cannot read file: {exc.strerror or exc}") from None
    digest = hashlib.blake2b(source, digest_size=16).hexdigest()
    cached = _cache.get(key)
    if cached is not None and cached[0] == digest:
        return cached[2]
    _forget(key)
    module = _import(path, source)
    try:
        found = _strategies_in(module, path)
    except _FileError:
        sys.modules.pop(module.__name__, None)
        raise
    _cache[key] = (digest, module, found)
    return found


def _import(path: Path, source: bytes) -> types.ModuleType:
    safe_stem = "".join(ch if ch.isalnum() else "_" for ch in path.stem)
    module_name = f"{_MODULE_PREFIX}_{safe_stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None:
        raise _FileError(None, "not importable as a Python module")
    module = importlib.util.module_from_spec(spec)
    setattr(module, SOURCE_ATTR, source)  # what the cache keys and what sweep workers compile (shipping.py)
    # Registered while executing: dataclasses, pickle and typing look the module up by name.
    sys.modules[module_name] = module
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise _FileError(exc.lineno, f"{type(exc).__name__}: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # any failure in user code, even sys.exit(), is a load error
        sys.modules.pop(module_name, None)
        raise _FileError(_line_in(exc, path), _describe(exc)) from None
    return module


def _strategies_in(module: types.ModuleType, path: Path) -> list[Strategy]:
    found: list[Strategy] = []
    for obj in vars(module).values():
        if not (isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy):
            continue
        if obj.__module__ != module.__name__:
            continue  # imported from elsewhere (a builtin or a shared base), not defined here
        line = _class_line(obj)
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise _FileError(line, f"class {obj.__name__} has no `name` (set name = \"...\" on the class)")
        if obj.signals is Strategy.signals:
            raise _FileError(line, f"class {obj.__name__} does not define signals(self, bars, **params)")
        params = getattr(obj, "params", ())
        if not isinstance(params, tuple) or not all(isinstance(p, Param) for p in params):
            raise _FileError(line, f"class {obj.__name__}: params must be a tuple of Param")
        try:
            found.append(obj())
        except Exception as exc:
            raise _FileError(_line_in(exc, path) or line,
                             f"class {obj.__name__} cannot be created: {_describe(exc)}") from None
    return found


def _forget(key: Path) -> None:
    cached = _cache.pop(key, None)
    if cached is not None:
        sys.modules.pop(cached[1].__name__, None)


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The innermost traceback line that is in `path`, if any."""
    target = str(path)
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == target:
            line = frame.lineno
    return line


def _class_line(cls: type) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
