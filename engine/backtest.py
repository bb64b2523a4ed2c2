"""Run one backtest: bars -> signals -> simulate -> stats -> Result."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from engine.bars import Bars
from engine.compat import indicator_warmup
from engine.config import SimConfig
from engine.errors import DataError
from engine.kernels.stats import drawdown_nb
from engine.result import Result, status_name
from engine.runtime import profiling
from engine.simulation import compute_stats, simulate
from engine.strategies import Strategy, call_signals, get_strategy, resolve_params

if TYPE_CHECKING:
    from engine.cache import ResultCache

profiling.default_registry()  # created now, so numba compilations of the first run are recorded


def run_backtest(
    bars: Bars,
    strategy: str | Strategy,
    params: dict[str, Any] | None = None,
    config: SimConfig | None = None,
    *,
    strategy_dir: str | None = None,
    cache: ResultCache | None = None,
) -> Result:
    """Run `strategy` with `params` on `bars` under `config` (default SimConfig()).

    With a `cache` (engine.cache.ResultCache), a result computed before for the same bars, strategy
    (name, version, code), params, config and engine version is returned from it (from_cache=True,
    its arrays read-only), and a new result is stored in it.
    Raises StrategyError for an unknown strategy or bad params, DataError for empty bars.
    """
    config = config or SimConfig()
    strat = get_strategy(strategy, user_dir=strategy_dir) if isinstance(strategy, str) else strategy
    resolved = resolve_params(strat, params or {})
    if len(bars) < 2:
        raise DataError(f"bars: {len(bars)} bar(s) given; a backtest needs at least 2")
    # backtesting.py's Buy & Hold starts where the strategy's indicators do (docs/compat.md#the-peers-stats)
    warmup = indicator_warmup(strat.indicators(bars, **resolved)) if config.compat == "backtesting" else 0
    if cache is not None:
        from engine.cache.backtest import lookup_backtest, store_backtest

        key, hit = lookup_backtest(cache, bars, strat, resolved, config)
        if hit is not None:
            profiling.record_backtest(hit.timings, len(bars), from_cache=True)
            hit.indicator_warmup = warmup
            return hit
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    signals = call_signals(strat, bars, resolved)
    t1 = time.perf_counter()
    equity, trades, status, n_cancelled = simulate(bars, signals, config)
    t2 = time.perf_counter()
    stats = compute_stats(bars, equity, trades, config.init_cash)
    drawdown_pct = drawdown_nb(equity) * 100.0
    t3 = time.perf_counter()
    timings.update(signals=t1 - t0, simulate=t2 - t1, stats=t3 - t2)
    result = Result(config=config, strategy=strat.name, params=resolved, bars=bars, equity=equity,
                    drawdown_pct=drawdown_pct, trade_records=trades, stats=stats, status=status_name(status),
                    n_cancelled_orders=int(n_cancelled), timings=timings, indicator_warmup=warmup)
    if cache is not None:
        store_backtest(cache, key, result)
    profiling.record_backtest(timings, len(bars))
    return result
