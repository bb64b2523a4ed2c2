"""Compile the numba kernels into numba's on-disk cache ahead of use (`backbench compile`).

A kernel compiles on its first call with new argument types: ~1-12 s each, about a minute for all of them on
an empty cache, after which a process loads them from the cache in milliseconds. `compile_kernels` runs small
workloads through the public API (every builtin strategy, both presets, per-bar orders, a sweep chunk, the
Monte Carlo methods, a portfolio), so it compiles exactly the signatures real runs use. The README's install
commands run it, so the first backtest, sweep or app start does not pay the compile (docs/performance.md,
"Compiling at install").
"""

from __future__ import annotations

import time
from typing import Any


def compile_kernels() -> dict[str, Any]:
    """Compile (or load from the cache) every kernel the app's runs call; returns what it compiled."""
    from engine.analysis.montecarlo import METHODS, run_montecarlo
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import generate_bars
    from engine.kernels.jit import compiled_signatures, use_numba
    from engine.portfolio import PortfolioConfig, run_portfolio
    from engine.simulation import SignalArrays, simulate
    from engine.strategies import list_strategies
    from engine.strategies.base import Orders
    from engine.sweep.executors import warm_kernels

    t0 = time.perf_counter()
    use_numba()  # numba itself: runs this small would otherwise take the kernels' Python path
    warm_kernels()  # a sweep chunk: signals, simulate, stats without the drawdown curve
    bars = generate_bars("WARM", 300, "1d", seed=2)
    for strategy in list_strategies():
        result = run_backtest(bars, strategy.name, {}, SimConfig(commission=0.001))
        result.drawdown_pct  # noqa: B018 - made on first read: its kernel too
    for preset in ("backtesting", "vectorbt"):
        run_backtest(bars, "sma_cross", {}, SimConfig.preset(preset)).to_json_dict()  # the peer's stats
    # backtesting.py's exclusive_orders=False with limit entries: its order book's kernel
    book = SignalArrays(bars.close > bars.open, bars.close < bars.open, orders=Orders(limit=bars.close * 0.99))
    simulate(bars, book, SimConfig.preset("backtesting", accumulate=True))
    for method in METHODS:
        run_montecarlo(result.equity, result.trade_records, 10_000.0, method=method, runs=5)
    other = generate_bars("WARM2", 250, "1d", seed=3)
    run_portfolio([bars, other], "sma_cross", {}, PortfolioConfig(max_positions=1), holdings=True)
    signatures = compiled_signatures()
    return {"kernels": len(signatures), "signatures": sum(signatures.values()),
            "seconds": time.perf_counter() - t0}
