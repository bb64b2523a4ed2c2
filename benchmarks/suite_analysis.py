"""Suite "analysis": what runs after a backtest (engine/analysis/).

- montecarlo_*: `run_montecarlo` on a 500-trade list, 10,000 runs, by each method (trades drawn with
  replacement, shuffled, and 20-bar blocks of a 1,000-bar equity curve): the draws, the paths, their
  figures and the percentile bands, one core (docs/montecarlo.md). Target: under 0.5 s for the trades.
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
    from engine.kernels.simulate import TRADE_DTYPE

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
