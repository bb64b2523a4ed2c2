"""Suite "analysis": what runs after a backtest (engine/analysis/).

- montecarlo_*: `run_montecarlo` on a 500-trade list, 10,000 runs, by each method (trades drawn with
  replacement, shuffled, and 20-bar blocks of a 1,000-bar equity curve): the draws, the paths, their
  figures and the percentile bands, one core (docs/montecarlo.md). Target: under 0.5 s for the trades.
- optimize_tpe_60 / grid_300: `sweep --optimize tpe` with 60 trials against the whole 300-combo grid it
  samples (docs/optimize.md), serial: the sampler's own cost.
"""

from __future__ import annotations

import numpy as np

from benchmarks.runner import Context, benchmark, ratio

SUITE = "analysis"
RUNS = 10_000
TRADES = 500
TARGET_S = 0.5


def _run_of(n_trades: int):
    """A finished run's equity and trade records: one trade every two bars, P&L ~ N(10, 100)."""
    from engine.kernels.simulate_records import TRADE_DTYPE

    rng = np.random.default_rng(7)
    trades = np.zeros(n_trades, dtype=TRADE_DTYPE)
    trades["entry_bar"] = np.arange(n_trades) * 2 + 1
    trades["exit_bar"] = trades["entry_bar"] + 1
    trades["pnl"] = rng.normal(10.0, 100.0, n_trades)
    after = 10_000.0 + np.cumsum(trades["pnl"])  # each trade marked at half its P&L on its entry bar
    before = np.r_[10_000.0, after[:-1]]
    equity = np.r_[10_000.0, np.column_stack([before + trades["pnl"] / 2, after]).ravel()]
    return equity, trades


for _method in ("trades", "shuffle", "blocks"):
    def _register(method: str) -> None:
        @benchmark(suite=SUITE, name=f"montecarlo_{method}", unit="runs/s", repeats=7, quick_repeats=3)
        def _mc(ctx: Context):
            """run_montecarlo: 10,000 runs of a 500-trade list (blocks: of its 1,001-bar equity curve)"""
            from engine.analysis.montecarlo import run_montecarlo

            runs, n = ctx.size(RUNS, 100), ctx.size(TRADES, 20)
            equity, trades = _run_of(n)
            run_montecarlo(equity, trades, 10_000.0, method=method, runs=10)  # compiled before timing

            def work() -> int:
                run_montecarlo(equity, trades, 10_000.0, method=method, runs=runs, seed=1)
                return runs
            return work, {"runs": runs, "trades": n}
    _register(_method)


@ratio(suite=SUITE, name="montecarlo_10k_runs_s", target=TARGET_S, better="lower", unit="s")
def _mc_seconds(get) -> float:
    """seconds for 10,000 Monte Carlo runs of a 500-trade list (trades drawn with replacement), one core"""
    return get("montecarlo_trades")["median_s"]


GRID = {"n1": list(range(5, 101, 5)), "n2": list(range(10, 201, 10))}  # docs/optimize.md's case


@benchmark(suite=SUITE, name="optimize_tpe_60", unit="trials/s", repeats=5, quick_repeats=2, warmup=1)
def _tpe(ctx: Context):
    """sweep --optimize tpe: 60 trials of the 300-combo sma_cross grid on the demo's ACME, serial, no cache"""
    from engine.data.demo import demo_bars
    from engine.sweep.optimize import optimize

    bars, trials = demo_bars("ACME"), ctx.size(60, 8)

    def work() -> int:
        optimize(bars, "sma_cross", GRID, metric="sharpe_ratio", trials=trials, seed=1, where="n1 < n2")
        return trials
    return work, {"trials": trials}


@benchmark(suite=SUITE, name="grid_300", unit="combos/s", repeats=5, quick_repeats=2, warmup=1)
def _grid(ctx: Context):
    """the same 300-combo grid, serial, no cache"""
    from engine.data.demo import demo_bars
    from engine.sweep import run_sweep

    bars = demo_bars("ACME")
    return lambda: run_sweep(bars, "sma_cross", GRID, where="n1 < n2").total, {"combos": 300}


@ratio(suite=SUITE, name="optimize_tpe_60_over_grid_300", unit="x", better="lower")
def _tpe_over_grid(get) -> float:
    """60 TPE trials / the whole 300-combo grid, wall time (the sampler's own cost shows here)"""
    return get("optimize_tpe_60")["median_s"] / get("grid_300")["median_s"]
