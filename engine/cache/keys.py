"""Cache keys: stable hex hashes of everything a cached value depends on.

A key is blake2b-128 over a canonical JSON encoding of its parts plus the key format and the engine
version, so the same inputs give the same key in every process and any change gives another key.
A backtest key covers the dataset (symbol, timeframe, rows, first/last timestamp, content hash),
the strategy (name, version, class, the digest of the whole file it is defined in and the instance's
attributes, so any edit to a strategy file misses), the resolved parameters, the whole SimConfig and the
engine version, which hashes every engine module on the path from bars to stats (found by reading the
import statements, not listed by hand).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import DataError
from engine.strategies.base import Strategy, resolve_params
from engine.strategies.shipping import code_digest

KEY_FORMAT = 1

_engine_version: list[str] = []

# The modules a result is computed by: everything they import inside the engine, found by reading their
# import statements (engine_modules), is hashed into every key, so an edit anywhere on the path from bars
# to stats misses even when nobody bumped engine.__version__.
RESULT_ROOTS = ("engine.backtest", "engine.sweep.task")


def engine_modules(roots: Iterable[str] = RESULT_ROOTS, base: Path | None = None) -> list[str]:
    """Every `engine` module reachable from `roots` through import statements (also those inside
    functions), by name, sorted. Read from the source with `ast`; nothing is imported.

    Reading ~50 sources with `ast` takes ~0.35 s, which a command served from the result cache would pay on
    every run, so the answer is kept in `engine/__pycache__/` with a stamp of every engine source's path,
    size and modification time: any edit, new or removed file walks the sources again, and a stamp or list
    that does not read back whole is ignored (docs/architecture.md, the result cache). `base`: the engine
    package's folder."""
    import engine

    roots = tuple(roots)
    if base is None and getattr(sys, "frozen", False):  # the app bundle is never written to
        return _walk_imports(roots, Path(engine.__file__).resolve().parent)
    base = base or Path(engine.__file__).resolve().parent
    stamp = _sources_stamp(base, roots)
    # one file per set of roots: two callers with other roots would otherwise overwrite each other's answer
    tag = "" if roots == RESULT_ROOTS else "-" + hashlib.blake2b(json.dumps(roots).encode(), digest_size=4).hexdigest()
    store = base / "__pycache__" / f"backbench-import-graph{tag}.json"
    try:
        kept = json.loads(store.read_text())
        if (isinstance(kept, dict) and kept.get("stamp") == stamp and isinstance(kept.get("modules"), list)
                and all(isinstance(m, str) and m.startswith("engine") for m in kept["modules"])):
            return list(kept["modules"])
    except (OSError, ValueError):
        pass
    modules = _walk_imports(roots, base)
    try:  # a read-only install walks every time
        store.parent.mkdir(exist_ok=True)
        tmp = store.with_name(f"{store.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"stamp": stamp, "modules": modules}))
        os.replace(tmp, store)
    except OSError:
        pass
    return modules


def _sources_stamp(base: Path, roots: tuple[str, ...]) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(roots).encode())
    for path in sorted(base.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(base)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _walk_imports(roots: tuple[str, ...], base: Path) -> list[str]:
    import ast

    def path_of(name: str) -> Path | None:
        rel = Path(*name.split(".")[1:])
        for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    seen: set[str] = set()
    todo = [r for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = path_of(name)
        if path is None:
            continue
        seen.add(name)
        parts = name.split(".")
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
                mod = ".".join(p for p in (mod, node.module or "") if p)
                found = [mod, *(f"{mod}.{a.name}" for a in node.names)]  # `from pkg import module`
            for target in found:
                if target == "engine" or target.startswith("engine."):
                    for k in range(2, target.count(".") + 2):  # the packages on the way are imported too
                        todo.append(".".join(target.split(".")[:k]))
    return sorted(seen)


def modules_digest(roots: Iterable[str] = RESULT_ROOTS) -> str:
    """A hash of the names and sources of every engine module reachable from `roots` (`engine_modules`)."""
    import engine

    base = Path(engine.__file__).resolve().parent
    h = hashlib.blake2b(digest_size=8)
    for name in engine_modules(roots):
        rel = Path(*name.split(".")[1:])
        path = base / rel.with_suffix(".py")
        if not path.is_file():
            path = base / rel / "__init__.py"
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def engine_version() -> str:
    """engine.__version__ plus a hash of every engine module results depend on (computed once per process)."""
    if not _engine_version:
        import engine

        _engine_version.append(f"{engine.__version__}+{modules_digest()}")
    return _engine_version[0]


def canonical(obj: Any) -> Any:
    """`obj` as JSON-able data with one spelling per value; TypeError for what cannot be keyed."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ["__float__", repr(obj)]
    if isinstance(obj, np.generic):
        return canonical(obj.item())
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"cache key: mapping keys must be str, not {type(k).__name__}")
            out[k] = canonical(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, Bars):
        return ["__bars__", dataset_identity(obj)]
    if isinstance(obj, SimConfig):
        return ["__config__", obj.key()]
    if isinstance(obj, Strategy):
        return ["__strategy__", strategy_identity(obj)]
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("cache key: object arrays cannot be keyed")
        digest = hashlib.blake2b(np.ascontiguousarray(obj).tobytes(), digest_size=16).hexdigest()
        return ["__ndarray__", obj.dtype.str, list(obj.shape), digest]
    raise TypeError(f"cache key: cannot key a {type(obj).__name__} (use str, numbers, lists, dicts, "
                    "arrays, Bars, SimConfig or Strategy)")


def make_key(*parts: Any) -> str:
    """Hex key of `parts` (canonicalised), the key format and the engine version."""
    blob = json.dumps([KEY_FORMAT, engine_version(), *(canonical(p) for p in parts)],
                      sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class NamedDataset:
    """A dataset known by its identity before its bars are read (a file read before:
    engine/cache/file_dataset.py). `load()` reads the bars, which must give that identity."""

    source: str  # what the bars are read from, for messages
    identity: dict[str, Any] = field(hash=False)
    loader: Callable[[], Bars] = field(hash=False, repr=False)

    @property
    def symbol(self) -> str:
        return str(self.identity["symbol"])

    def __len__(self) -> int:
        return int(self.identity["rows"])

    def load(self) -> Bars:
        bars = self.loader()
        if dataset_identity(bars) != self.identity:  # rows computed from them would be keyed by other data
            raise DataError(f"{self.source}: the file changed while the sweep read it; run the sweep again")
        return bars


def dataset_identity(bars: Bars | NamedDataset) -> dict[str, Any]:
    if isinstance(bars, NamedDataset):
        return dict(bars.identity)
    n = len(bars)
    return {
        "symbol": bars.symbol,
        "timeframe": bars.timeframe,
        "rows": n,
        "first_ts": int(bars.ts[0]) if n else None,
        "last_ts": int(bars.ts[-1]) if n else None,
        "content": bars.fingerprint(),
    }


def strategy_identity(strategy: Strategy) -> dict[str, Any]:
    """Name, version, class and a digest of the whole file the class is defined in (a module constant or
    helper changes results as much as the class does), plus the instance's own attributes."""
    cls = type(strategy)
    return {"name": strategy.name, "version": strategy.version, "class": cls.__qualname__,
            "code": code_digest(cls), "state": _state(strategy)}


def _state(strategy: Strategy) -> Any:
    try:
        return canonical(dict(vars(strategy)))
    except TypeError:  # attributes a key cannot hold: name them by type, the code digest still applies
        return sorted(f"{k}:{type(v).__name__}" for k, v in vars(strategy).items())


def _strategy(strategy: str | Strategy) -> Strategy:
    if isinstance(strategy, Strategy):
        return strategy
    from engine.strategies import get_strategy

    return get_strategy(strategy)


def backtest_key(bars: Bars, strategy: str | Strategy, params: Mapping[str, Any] | None,
                 config: SimConfig, kind: str = "result") -> str:
    """Key of one backtest; `params` are resolved first, so "10", 10 and 10.0 (int param) agree.

    `kind` names what is stored under the key: "result" (what `run_backtest` caches) or, for
    sweeps, "stats" (a stats row), so the two never collide.
    """
    strat = _strategy(strategy)
    return make_key("backtest", kind, dataset_identity(bars), strategy_identity(strat),
                    resolve_params(strat, dict(params or {})), config.key())


def backtest_keys(bars: Bars | NamedDataset, strategy: str | Strategy, params_list: Iterable[Mapping[str, Any]],
                  config: SimConfig, kind: str = "result") -> list[str]:
    """Keys of many backtests on one dataset and config, equal to `backtest_key(..., kind=kind)`
    for each params but hashing the shared parts once. A sweep caching stats rows passes kind="stats"."""
    strat = _strategy(strategy)
    data, ident, cfg = dataset_identity(bars), strategy_identity(strat), config.key()
    return [make_key("backtest", kind, data, ident, resolve_params(strat, dict(p)), cfg) for p in params_list]


def sweep_row_key(bars: Bars, strategy: str | Strategy, params: Mapping[str, Any], config: SimConfig) -> str:
    """Key of one sweep stats row: `backtest_key(..., kind="stats")` (use `backtest_keys` for many)."""
    return backtest_key(bars, strategy, params, config, kind="stats")
