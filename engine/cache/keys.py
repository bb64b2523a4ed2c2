"""Cache keys: stable hex hashes of everything a cached value depends on.

A key is blake2b-128 over a canonical JSON encoding of its parts plus the key format and the engine
version, so the same inputs give the same key in every process and any change gives another key.
A backtest key covers the dataset (symbol, timeframe, rows, first/last timestamp, content hash),
the strategy (name, version and a hash of its class source, so editing a user strategy without
bumping its version still misses), the resolved parameters, the whole SimConfig and the engine
version.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from engine.bars import Bars
from engine.config import SimConfig
from engine.strategies.base import Strategy, resolve_params

KEY_FORMAT = 1

_source_hashes: dict[type, str] = {}


_engine_version: list[str] = []

# The code a cached result depends on besides the strategy: a change to any of these files misses
# even when nobody bumped engine.__version__ (a stale result after an edit would be silently wrong).
_RESULT_CODE = ("kernels/simulate.py", "kernels/stats.py", "kernels/indicators.py", "kernels/signals.py",
                "simulation.py", "backtest.py", "result.py", "config.py", "sweep_task.py")


def engine_version() -> str:
    """engine.__version__ plus a hash of the engine code results depend on (computed once per process)."""
    if not _engine_version:
        import hashlib
        from pathlib import Path

        import engine

        root = Path(engine.__file__).resolve().parent
        h = hashlib.blake2b(digest_size=8)
        for rel in _RESULT_CODE:
            path = root / rel
            h.update(rel.encode())
            h.update(path.read_bytes() if path.exists() else b"-")
        _engine_version.append(f"{engine.__version__}+{h.hexdigest()}")
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


def dataset_identity(bars: Bars) -> dict[str, Any]:
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
    return {"name": strategy.name, "version": strategy.version, "code": _source_hash(type(strategy))}


def _source_hash(cls: type) -> str:
    h = _source_hashes.get(cls)
    if h is None:
        try:
            src = inspect.getsource(cls)
        except (OSError, TypeError):  # defined in a REPL or from a .pyc only
            src = f"{cls.__module__}.{cls.__qualname__}"
        h = _source_hashes[cls] = hashlib.blake2b(src.encode(), digest_size=8).hexdigest()
    return h


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


def backtest_keys(bars: Bars, strategy: str | Strategy, params_list: Iterable[Mapping[str, Any]],
                  config: SimConfig, kind: str = "result") -> list[str]:
    """Keys of many backtests on one dataset and config, equal to `backtest_key(..., kind=kind)`
    for each params but hashing the shared parts once. A sweep caching stats rows passes kind="stats"."""
    strat = _strategy(strategy)
    data, ident, cfg = dataset_identity(bars), strategy_identity(strat), config.key()
    return [make_key("backtest", kind, data, ident, resolve_params(strat, dict(p)), cfg) for p in params_list]


def sweep_row_key(bars: Bars, strategy: str | Strategy, params: Mapping[str, Any], config: SimConfig) -> str:
    """Key of one sweep stats row: `backtest_key(..., kind="stats")` (use `backtest_keys` for many)."""
    return backtest_key(bars, strategy, params, config, kind="stats")
