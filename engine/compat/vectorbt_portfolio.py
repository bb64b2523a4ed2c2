"""vectorbt 1.2.0's group `pf.stats()` for Portfolio.from_signals(..., cash_sharing=True, group_by=True, freq=...),
from our portfolio run (docs/compat.md, "Portfolio").

The same figures as the single-symbol table (engine/compat/vectorbt_stats.py), taken on the group: its value
is our equity; gross exposure the positions' value over that value plus the cash; the benchmark the group's
(the cash split evenly, each close forward- then back-filled, as vectorbt fills it); the trades all symbols'
exit trades. The frequency is the aligned rows' median spacing, the year 365 days.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.compat.values import NS_PER_DAY, days, iso, nan_max, nan_min, seq_sum
from engine.compat.vectorbt_stats import _add, _drawdowns, _return_ratios, _returns, _trade_figures
from engine.kernels.portfolio import equal_weight_index_nb, filled_close_nb

if TYPE_CHECKING:
    from engine.portfolio.align import AlignedBars
    from engine.portfolio.config import PortfolioConfig
    from engine.portfolio.simulate import PortfolioArrays

_YEAR_NS = 365 * NS_PER_DAY


def group_table(aligned: AlignedBars, arrays: PortfolioArrays, config: PortfolioConfig) -> dict[str, Any] | None:
    """The group's stats table, or None for fewer than 2 rows (vectorbt needs a frequency)."""
    ts = aligned.ts
    n = len(ts)
    if n < 2:
        return None
    init_cash = float(config.init_cash)
    freq_ns = int(np.median(np.diff(ts)))
    ann_factor = _YEAR_NS / freq_ns if freq_ns > 0 else math.nan
    value = arrays.equity
    denom = _add(arrays.position_value, arrays.cash)
    exposure = np.divide(arrays.position_value, denom, out=np.zeros(n), where=denom != 0)
    bench_value = init_cash * equal_weight_index_nb(filled_close_nb(aligned.close))
    bench = _returns(bench_value, init_cash)
    tr = arrays.trades
    closed = ~tr["is_open"]
    fees = np.concatenate([tr["entry_fee"], tr["exit_fee"][closed]])
    s: dict[str, Any] = {
        "Start": iso(ts[0]), "End": iso(ts[-1]), "Period": days(n * freq_ns),
        "Start Value": init_cash, "End Value": float(value[-1]),
        "Total Return [%]": (float(value[-1]) - init_cash) / init_cash * 100,
        "Benchmark Return [%]": (float(np.multiply.accumulate(bench + 1)[-1]) - 1) * 100,
        "Max Gross Exposure [%]": float(np.max(exposure)) * 100,
        "Total Fees Paid": seq_sum(fees),
    }
    depth, duration = _drawdowns(value)
    s["Max Drawdown [%]"] = -nan_min(depth) * 100
    s["Max Drawdown Duration"] = days(nan_max(duration) * freq_ns)
    s["Total Trades"] = len(tr)
    s["Total Closed Trades"] = int(closed.sum())
    s["Total Open Trades"] = int((~closed).sum())
    # vectorbt marks an open trade at the last row's close unfilled: NaN (left out of the sum) where its
    # symbol has no bar there
    open_pnl = tr["pnl"][~closed][~np.isnan(aligned.close[-1, tr["symbol"][~closed]])]
    s["Open Trade PnL"] = seq_sum(open_pnl)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = tr["pnl"] / (tr["size"] * tr["entry_price"])
    t = {"pnl": tr["pnl"][closed], "return": ret[closed], "entry_bar": tr["entry_bar"][closed],
         "exit_bar": tr["exit_bar"][closed]}
    s.update(_trade_figures(t, freq_ns))
    s.update(_return_ratios(_returns(value, init_cash), ann_factor))
    return s
