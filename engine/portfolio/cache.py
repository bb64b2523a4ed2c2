"""Portfolio results in the result cache (engine/cache/): the arrays and figures, rebuilt into a result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.kernels.portfolio import PF_TRADE_DTYPE
from engine.portfolio.align import AlignedBars
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.result import PortfolioResult

if TYPE_CHECKING:
    from engine.cache.result_cache import ResultCache

_ARRAYS = ("equity", "cash", "position_value", "traded_value")


def lookup(cache: ResultCache, key: str, config: PortfolioConfig, strategy: str, params: dict[str, Any],
           aligned: AlignedBars) -> PortfolioResult | None:
    """The cached result under `key`, or None (a malformed entry counts as none and is overwritten later)."""
    entry = cache.get(key)
    n = len(aligned.ts)
    if not isinstance(entry, dict):
        return None
    try:
        arrays = {name: entry[name] for name in _ARRAYS}
        trades = entry["trades"]
        ok = (all(isinstance(a, np.ndarray) and a.shape == (n,) for a in arrays.values())
              and isinstance(trades, np.ndarray) and trades.dtype == PF_TRADE_DTYPE)
        if not ok:
            return None
        return PortfolioResult(config, strategy, params, aligned.symbols, aligned.ts, trade_records=trades,
                               stats=dict(entry["stats"]), per_symbol=dict(entry["per_symbol"]),
                               n_skipped_entries=int(entry["n_skipped"]), turnover=float(entry["turnover"]),
                               peer_stats=entry["peer_stats"], from_cache=True, **arrays)
    except (KeyError, TypeError, ValueError):
        return None


def store(cache: ResultCache, key: str, result: PortfolioResult) -> None:
    cache.put(key, {"equity": result.equity, "cash": result.cash, "position_value": result.position_value,
                    "traded_value": result.traded_value, "trades": result.trade_records, "stats": result.stats,
                    "per_symbol": result.per_symbol, "n_skipped": result.n_skipped_entries,
                    "turnover": result.turnover, "peer_stats": result.peer_stats})
