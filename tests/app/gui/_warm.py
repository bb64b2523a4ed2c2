"""Compile, in the main thread, the numba kernels the app's background jobs run (docs/architecture.md).

The window's jobs run in worker threads; on a cold numba cache their first call compiles there while the
UI thread runs Python, and in a fresh CI clone that once crashed the interpreter (numba/llvmlite
compiling in one thread while the garbage collector runs in another). Compiled once here, before any
window, the jobs only load them from the disk cache."""

from __future__ import annotations


def warm_app_kernels() -> None:
    import numpy as np

    from engine.analysis.montecarlo import run_montecarlo
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import generate_bars
    from engine.portfolio import PortfolioConfig, run_portfolio
    from engine.sweep.executors import warm_kernels

    warm_kernels()  # a sweep chunk: signals, simulate, stats without the drawdown curve
    bars = generate_bars("WARM", 300, "1d", seed=2)
    for strategy in ("sma_cross", "ema_cross"):
        result = run_backtest(bars, strategy, {}, SimConfig(commission=0.001))
    run_montecarlo(result.equity, result.trade_records, 10_000.0, runs=5)
    run_montecarlo(result.equity, result.trade_records, 10_000.0, method="shuffle", runs=5)
    run_montecarlo(result.equity, result.trade_records, 10_000.0, method="blocks", runs=5)
    other = generate_bars("WARM2", 250, "1d", seed=3)
    run_portfolio([bars, other], "sma_cross", {}, PortfolioConfig(max_positions=1), holdings=True)
    assert np.isfinite(result.equity).all()
