"""Run one backtest: bars -> signals -> simulate -> stats -> Result (the steps: engine/pipeline.py),
with the result cache around them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.bars import Bars
from engine.compat import indicator_warmup
from engine.config import SimConfig
from engine.errors import DataError
from engine.kernels.jit import kernels_for
from engine.pipeline import run_pipeline
from engine.result import Result
from engine.runtime import profiling
from engine.strategies import Strategy, get_strategy, resolve_params

if TYPE_CHECKING:
    from engine.cache import ResultCache

profiling.default_registry()  # created now, so numba compilations of the first run are recorded


def run_backtest(
    bars: Bars,
    strategy: str | Strategy,
    params: dict[str, Any] | None = None,
    config: SimConfig | None = None,
    *,
    strategies_dir: str | None = None,
    cache: ResultCache | None = None,
) -> Result:
    """Run `strategy` with `params` on `bars` under `config` (default SimConfig()).

    With a `cache` (engine.cache.ResultCache), a result computed before for the same bars, strategy
    (name, version, code), params, config and engine version is returned from it (from_cache=True,
    its arrays read-only), and a new result is stored in it.
    Raises StrategyError for an unknown strategy or bad params, DataError for empty bars.
    """
    config = config or SimConfig()
    strat = get_strategy(strategy, strategies_dir=strategies_dir) if isinstance(strategy, str) else strategy
    resolved = resolve_params(strat, params or {})
    if len(bars) < 2:
        raise DataError(f"bars: {len(bars)} bar(s) given; a backtest needs at least 2")
    # a small run in a process that has not loaded numba runs its kernels as Python (engine/kernels/jit.py)
    with kernels_for(len(bars)):
        # backtesting.py's Buy & Hold starts where the strategy's indicators do (docs/compat.md#the-peers-stats)
        warmup = indicator_warmup(strat.indicators(bars, **resolved)) if config.compat == "backtesting" else 0
        if cache is not None:
            from engine.cache.backtest import lookup_backtest, store_backtest

            key, hit = lookup_backtest(cache, bars, strat, resolved, config)
            if hit is not None:
                profiling.record_backtest(hit.timings, len(bars), from_cache=True)
                hit.indicator_warmup = warmup
                return hit
        result = run_pipeline(bars, strat, resolved, config, drawdown=False).result(config, strat.name, resolved)
    result.indicator_warmup = warmup
    if cache is not None:
        store_backtest(cache, key, result)
    profiling.record_backtest(result.timings, len(bars))
    return result
