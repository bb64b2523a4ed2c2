"""The peers' own stats tables, under a compat preset (docs/compat.md#the-peers-stats).

`peer_stats(result)` gives, for a run under `compat="backtesting"` or `"vectorbt"`, the table that
backtesting.py 0.6.6 (`Backtest.run()`) or vectorbt 1.2.0 (`Portfolio.stats()`) prints for the same
run: its keys, its definitions, in numpy from our equity curve, trades and bars (the peers are not
imported). Times are ISO 8601 strings, durations days, undefined figures NaN (null in JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.compat import backtesting_stats, vectorbt_stats

if TYPE_CHECKING:
    from engine.result import Result

__all__ = ["indicator_warmup", "peer_stats"]


def peer_stats(result: Result) -> dict[str, Any] | None:
    """The peer's stats table for `result`, or None without a compat preset (or with fewer than 2 bars, or for
    vectorbt's accumulation without the run's order log, which its books need: docs/compat.md)."""
    compat = result.config.compat
    bars = result.bars
    accumulate = compat == "vectorbt" and result.config.accumulate
    if compat is None or len(bars) < 2 or (accumulate and result.order_log is None):
        return None
    if compat == "backtesting":
        tr = result.trade_records
        overlap = bool(len(tr) > 1 and (tr["entry_bar"][1:] < tr["exit_bar"][:-1]).any())  # lots, partial exits
        own = overlap or result.config.fill == "close"  # not rebuilt: docs/compat.md
        return backtesting_stats.table(bars.ts, bars.close, result.trade_records, result.config.init_cash,
                                       warmup=result.indicator_warmup, equity=result.equity if own else None)
    # (under accumulation a trade merges its entry orders: the books take each order from the run's log)
    return vectorbt_stats.table(bars.ts, bars.close, result.trade_records, result.config.init_cash,
                                result.config.commission,
                                all_in=result.config.sizing == "all" and result.config.direction == "long",
                                order_log=result.order_log if accumulate else None)


def indicator_warmup(lines: dict[str, np.ndarray]) -> int:
    """backtesting.py's `_indicator_warmup_nbars`: the bar by which every indicator has its first
    non-NaN value (an all-NaN one counts as 0). Our strategies' indicators are `Strategy.indicators()`."""
    firsts = [int(np.isnan(np.asarray(v, dtype=np.float64)).argmin(axis=-1).max())
              for v in lines.values() if np.size(v)]
    return max(firsts, default=0)
