"""The pipeline every run goes through: bars -> signals -> simulate -> stats (docs/architecture.md,
"The pipeline").

`run_backtest` (engine/backtest.py), each combo of a sweep worker (engine/sweep/task.py) and each
out-of-sample segment of a walk-forward (engine/sweep/walkforward.py) call `run_pipeline`; `measure` is
its last step on its own, so a stitched walk-forward run gets its stats and drawdown the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.bars import Bars
from engine.config import SimConfig
from engine.kernels.simulate_records import ORDER_LOG_DTYPE
from engine.simulation import simulate_logged, stats_and_drawdown
from engine.strategies.base import Signals, Strategy, call_signals

if TYPE_CHECKING:
    from engine.result import Result


@dataclass
class Run:
    """What the pipeline made of `bars` (the bars after the lead, if there was one)."""

    bars: Bars
    equity: np.ndarray
    trades: np.ndarray  # TRADE_DTYPE records
    status: int  # STATUS_OK or STATUS_BANKRUPT (engine/kernels/simulate.py)
    n_cancelled: int
    stats: dict[str, Any]
    drawdown_pct: np.ndarray | None  # None when run with drawdown=False
    timings: dict[str, float]  # seconds per stage: signals, simulate, stats
    # the order log (ORDER_LOG_DTYPE; engine/kernels/simulate_log.py), empty unless the config keeps it
    orders: np.ndarray = field(default_factory=lambda: np.empty(0, ORDER_LOG_DTYPE))

    def result(self, config: SimConfig, strategy: str, params: dict[str, Any]) -> Result:
        """This run as a `Result` (its drawdown curve, if the run made none, is made when first read)."""
        from engine.result import Result, status_name  # not at the top: a sweep worker never loads polars

        return Result(config=config, strategy=strategy, params=params, bars=self.bars, equity=self.equity,
                      drawdown=self.drawdown_pct, trade_records=self.trades, stats=self.stats,
                      status=status_name(self.status), n_cancelled_orders=self.n_cancelled,
                      timings=self.timings, order_log=self.orders)


def run_pipeline(bars: Bars, strategy: Strategy, params: dict[str, Any], config: SimConfig, *,
                 lead: int = 0, drawdown: bool = True) -> Run:
    """`strategy.signals(bars, **params)` (params already resolved), simulated under `config`, measured.

    lead: the first `lead` bars only give the indicators their history: the signals are computed on all
        of `bars`, the simulation and the stats cover bars[lead:] (a walk-forward's out-of-sample run).
    drawdown: also compute the drawdown curve (a sweep keeps only the stats and skips it).
    The strategy's errors propagate (call_signals turns a write into the read-only bars into a
    StrategyError); malformed signals raise StrategyError or DataError.
    """
    t0 = time.perf_counter()
    signals = call_signals(strategy, bars, params)
    if lead:
        signals = _cut(signals, lead)
        bars = bars.slice(lead, None)
    t1 = time.perf_counter()
    equity, trades, status, n_cancelled, orders = simulate_logged(bars, signals, config)
    del signals  # freed before the stats allocate: a sweep worker runs combo after combo
    t2 = time.perf_counter()
    stats, drawdown_pct = measure(bars, equity, trades, config, drawdown=drawdown)
    t3 = time.perf_counter()
    return Run(bars, equity, trades, int(status), int(n_cancelled), stats, drawdown_pct,
               {"signals": t1 - t0, "simulate": t2 - t1, "stats": t3 - t2}, orders)


def measure(bars: Bars, equity: np.ndarray, trades: np.ndarray, config: SimConfig, *,
            drawdown: bool = True) -> tuple[dict[str, Any], np.ndarray | None]:
    """The stats (docs/stats.md) of a finished run that started with `config.init_cash`, with its risk-free
    rate, and, if asked, its drawdown in % of the running peak (<= 0)."""
    return stats_and_drawdown(bars, equity, trades, config.init_cash, config.risk_free_rate, drawdown=drawdown)


def _cut(signals: Signals, start: int) -> Signals:
    def tail(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[start:]

    return Signals(signals.entries[start:], signals.exits[start:], tail(signals.short_entries),
                   tail(signals.short_exits))
