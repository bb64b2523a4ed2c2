"""What `run_backtest` caches: equity, drawdown, trade records, stats, status, n_cancelled and the order log
(empty unless the config keeps one; vectorbt's peer_stats under accumulation books it, so a hit must have it).

The bars are not stored (the caller has them); a hit is rebuilt into a `Result` with from_cache=True.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.bars import Bars
from engine.cache.keys import backtest_key
from engine.config import SimConfig
from engine.kernels.simulate_records import ORDER_LOG_DTYPE, TRADE_DTYPE
from engine.result import Result
from engine.strategies.base import Strategy

if TYPE_CHECKING:
    from engine.cache.result_cache import ResultCache

_FIELDS = ("equity", "drawdown_pct", "trades", "stats", "status", "n_cancelled", "orders")


def lookup_backtest(cache: ResultCache, bars: Bars, strategy: Strategy, params: dict[str, Any],
                    config: SimConfig) -> tuple[str, Result | None]:
    """(key, Result rebuilt from the cache or None). `params` are the resolved params."""
    t0 = time.perf_counter()
    key = backtest_key(bars, strategy, params, config)
    entry = cache.get(key)
    if entry is None or not _valid(entry, len(bars)):
        return key, None
    return key, Result(config=config, strategy=strategy.name, params=params, bars=bars,
                       equity=entry["equity"], drawdown=entry["drawdown_pct"],
                       trade_records=entry["trades"], stats=dict(entry["stats"]), status=entry["status"],
                       n_cancelled_orders=int(entry["n_cancelled"]), order_log=entry["orders"],
                       timings={"cache": time.perf_counter() - t0}, from_cache=True)


def store_backtest(cache: ResultCache, key: str, result: Result) -> None:
    cache.put(key, {"equity": result.equity, "drawdown_pct": result.drawdown_pct,
                    "trades": result.trade_records, "stats": result.stats, "status": result.status,
                    "n_cancelled": result.n_cancelled_orders,
                    "orders": result.order_log if result.order_log is not None else np.empty(0, ORDER_LOG_DTYPE)})


def _valid(entry: Any, n_bars: int) -> bool:
    """A well-formed entry for `n_bars` bars (anything else is recomputed and overwritten: an entry stored
    before the order log was cached has none)."""
    if not isinstance(entry, dict) or any(f not in entry for f in _FIELDS):
        return False
    eq, dd, tr = entry["equity"], entry["drawdown_pct"], entry["trades"]
    return (isinstance(eq, np.ndarray) and eq.shape == (n_bars,) and eq.dtype == np.float64
            and isinstance(dd, np.ndarray) and dd.shape == (n_bars,)
            and isinstance(tr, np.ndarray) and tr.dtype == TRADE_DTYPE and tr.ndim == 1
            and isinstance(entry["orders"], np.ndarray) and entry["orders"].dtype == ORDER_LOG_DTYPE
            and entry["orders"].ndim == 1
            and isinstance(entry["stats"], dict) and isinstance(entry["status"], str)
            and isinstance(entry["n_cancelled"], int))
