"""Suite "portfolio": our cash-sharing portfolio against vectorbt 1.2.0's on the same signals (issue 15).

Workloads (generated: GBM closes, 3 % of rows missing per symbol at random, a quarter of the symbols listed late):
- daily: 100 symbols x 2,520 daily rows;
- minute: 20 symbols x 100,000 minute rows.
Signals: our sma_cross (10/30) on each symbol's own bars, placed on the union of the timestamps. Both sides get
the same [rows x symbols] close (NaN where a symbol has no bar), entries, exits, init cash 100,000, fees 0.1 %,
size_type percent 0.2 (a fifth of the cash left per entry).
- vectorbt: `Portfolio.from_signals(close, entries, exits, ..., cash_sharing=True, group_by=True)` on prebuilt
  DataFrames (its simulation only; its value and trades are computed later, lazily), and, for "full",
  `pf.stats()` as well.
- ours: `simulate_portfolio` (compat="vectorbt": equity, cash, trades), and, for "full", `build_result`
  (our stats, per-symbol figures and vectorbt's group pf.stats() table).
Before anything is timed the two are checked equal: final value to 1e-9 relative and the same trade count.
- portfolio_sweep_500: `sweep --portfolio`, 500 sma_cross combos each a whole 20-symbol x 2,520-row portfolio, on a
  local pool of every core (combos per second).
Memory: the peak tracemalloc of one call, which counts numpy's, Python's and numba's (NRT) allocations; the inputs
(our arrays, vectorbt's DataFrames) are built before and not counted. The RSS growth of one call is no measure
here: the runner's process already holds freed pages the call reuses (it reads ~0 MB for both).
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from benchmarks.runner import Context, benchmark, ratio, requires

SUITE = "portfolio"
INIT_CASH = 100_000.0
FEES = 0.001
SIZE = 0.2
PARAMS = {"n1": 10, "n2": 30}
SHAPES = {"daily": ((100, 2_520), (8, 300), 86_400), "minute": ((20, 100_000), (4, 2_000), 60)}
TARGET_SPEED = 10.0
TARGET_MEMORY = 0.5


def _missing() -> str | None:
    missing = [m for m in ("vectorbt", "pandas") if importlib.util.find_spec(m) is None]
    return f"not installed: {', '.join(missing)} (pip install -e '.[peers]')" if missing else None


requires(SUITE, _missing)


def universe(m: int, n: int, step_s: int, seed: int = 15) -> list:
    from engine.bars import Bars

    rng = np.random.default_rng(seed)
    ts = np.datetime64("2015-01-05", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * step_s * 1_000_000_000
    out = []
    for k in range(m):
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
        keep = rng.random(n) >= 0.03
        if k % 4 == 3:
            keep[: int(rng.integers(1, n // 3))] = False
        out.append(Bars(ts[keep], close[keep], close[keep], close[keep], close[keep], np.zeros(int(keep.sum())),
                        symbol=f"S{k:03d}"))
    return out


def workload(ctx: Context, shape: str) -> dict[str, Any]:
    return ctx.shared(f"portfolio:{shape}", lambda: _workload(ctx, shape))


def _workload(ctx: Context, shape: str) -> dict[str, Any]:
    import pandas as pd

    from engine.portfolio import PortfolioConfig, align
    from engine.portfolio.run import portfolio_signals
    from engine.strategies import get_strategy

    full, tiny, step = SHAPES[shape]
    m, n = tiny if ctx.tiny else full
    data = universe(m, n, step)
    aligned = align(data)
    entries, exits, _ = portfolio_signals(aligned, data, get_strategy("sma_cross"), PARAMS)
    config = PortfolioConfig(init_cash=INIT_CASH, commission=FEES, sizing="percent", size=SIZE, compat="vectorbt")
    idx = pd.DatetimeIndex(aligned.times())
    cols = list(aligned.symbols)
    frames = {"close": pd.DataFrame(aligned.close, index=idx, columns=cols),
              "entries": pd.DataFrame(entries, index=idx, columns=cols),
              "exits": pd.DataFrame(exits, index=idx, columns=cols),
              "freq": pd.Timedelta(step, "s")}
    w = {"aligned": aligned, "entries": entries, "exits": exits, "config": config, "frames": frames,
         "info": {"symbols": m, "rows": int(aligned.n_bars), "cells": int(aligned.close.size)}}
    _parity(ctx, shape, w)
    return w


def vbt_from_signals(frames: dict[str, Any]):
    import vectorbt as vbt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vbt.Portfolio.from_signals(frames["close"], frames["entries"], frames["exits"], init_cash=INIT_CASH,
                                          fees=FEES, size=SIZE, size_type="percent", cash_sharing=True,
                                          group_by=True, freq=frames["freq"])


def _parity(ctx: Context, shape: str, w: dict[str, Any]) -> None:
    from engine.portfolio import simulate_portfolio

    ours = simulate_portfolio(w["aligned"], w["entries"], w["exits"], w["config"])
    pf = vbt_from_signals(w["frames"])
    theirs = float(pf.final_value())
    n_theirs = len(pf.trades.records)
    ok = abs(ours.equity[-1] - theirs) <= 1e-9 * abs(theirs) and len(ours.trades) == n_theirs
    detail = (f"final value {ours.equity[-1]:.10g} vs {theirs:.10g}, trades {len(ours.trades)} vs {n_theirs}")
    ctx.checks.append({"name": f"portfolio_{shape}_parity", "ok": ok, "detail": detail})
    if not ok:
        raise RuntimeError(f"parity check portfolio_{shape} failed: {detail}")


def _register(shape: str) -> None:
    @benchmark(suite=SUITE, name=f"vectorbt_{shape}_sim", unit="cells/s", gate=False, repeats=5, quick_repeats=3,
               description=f"vectorbt from_signals(cash_sharing=True, group_by=True), {shape} workload, warm")
    def _vbt_sim(ctx: Context):
        w = workload(ctx, shape)
        cells = w["info"]["cells"]

        def work() -> int:
            vbt_from_signals(w["frames"])
            return cells
        return work, w["info"]

    @benchmark(suite=SUITE, name=f"ours_{shape}_sim", unit="cells/s",
               description=f"ours: simulate_portfolio (compat=vectorbt), {shape} workload, warm")
    def _ours_sim(ctx: Context):
        from engine.portfolio import simulate_portfolio

        w = workload(ctx, shape)
        cells = w["info"]["cells"]

        def work() -> int:
            simulate_portfolio(w["aligned"], w["entries"], w["exits"], w["config"])
            return cells
        return work, w["info"]

    @benchmark(suite=SUITE, name=f"vectorbt_{shape}_full", unit="cells/s", gate=False, repeats=5, quick_repeats=3,
               description=f"vectorbt from_signals + pf.stats(), {shape} workload, warm")
    def _vbt_full(ctx: Context):
        w = workload(ctx, shape)
        cells = w["info"]["cells"]

        def work() -> int:
            pf = vbt_from_signals(w["frames"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pf.stats()
            return cells
        return work, w["info"]

    @benchmark(suite=SUITE, name=f"ours_{shape}_full", unit="cells/s",
               description=f"ours: simulate_portfolio + build_result (stats, per symbol, peer stats), {shape}")
    def _ours_full(ctx: Context):
        from engine.portfolio import simulate_portfolio
        from engine.portfolio.run import build_result

        w = workload(ctx, shape)
        cells = w["info"]["cells"]

        def work() -> int:
            arrays = simulate_portfolio(w["aligned"], w["entries"], w["exits"], w["config"])
            build_result(w["aligned"], arrays, w["config"], "sma_cross", PARAMS)
            return cells
        return work, w["info"]

    for stage in ("sim", "full"):
        _ratios(shape, stage)


def _ratios(shape: str, stage: str) -> None:
    @ratio(suite=SUITE, name=f"ours_vs_vectorbt_{shape}_{stage}", target=TARGET_SPEED,
           description=f"vectorbt median / ours median, {shape} workload, {stage}")
    def _speed(get) -> float:
        return get(f"vectorbt_{shape}_{stage}")["median_s"] / get(f"ours_{shape}_{stage}")["median_s"]

    @ratio(suite=SUITE, name=f"tracemalloc_ours_over_vectorbt_{shape}_{stage}", target=TARGET_MEMORY,
           better="lower", description=f"ours / vectorbt peak tracemalloc, {shape} workload, {stage}")
    def _tm(get) -> float:
        ours = get(f"ours_{shape}_{stage}")["peak_tracemalloc_mb"]
        theirs = get(f"vectorbt_{shape}_{stage}")["peak_tracemalloc_mb"]
        return float("nan") if ours is None or not theirs else ours / theirs


for _shape in SHAPES:
    _register(_shape)


# ----------------------------------------------------------------------------------------------- sweeps

SWEEP_GRID = {"n1": list(range(2, 52, 2)), "n2": list(range(60, 260, 10))}  # 25 x 20 = 500 combos


@benchmark(suite=SUITE, name="portfolio_sweep_500", unit="combos/s", repeats=3, quick_repeats=1, warmup=1,
           tracemalloc=False, memory="none")
def _portfolio_sweep(ctx: Context):
    """sweep --portfolio: 500 sma_cross combos, each a whole 20-symbol x 2,520-row portfolio (one cash balance),
    on a local pool of every core, no cache (docs/portfolio.md, "Sweeps")"""
    from engine.data.demo import generate_bars
    from engine.portfolio import PortfolioConfig
    from engine.runtime.hardware import default_worker_count
    from engine.sweep import run_sweep
    from engine.sweep.executors import LocalExecutor

    symbols, rows = ctx.size(20, 3), ctx.size(2_520, 300)
    grid = SWEEP_GRID if not ctx.tiny else {"n1": [2, 4], "n2": [60, 70]}
    datasets = [generate_bars(f"S{k:02d}", rows, "1d", seed=k) for k in range(symbols)]
    config = PortfolioConfig(init_cash=INIT_CASH, commission=FEES, sizing="equal", max_positions=5)
    pool = LocalExecutor(default_worker_count())
    pool.__enter__()
    ctx.at_suite_end(lambda: pool.__exit__(None, None, None))

    def work() -> int:
        return run_sweep(datasets, "sma_cross", grid, portfolio=config, executor=pool).total
    return work, {"combos": len(grid["n1"]) * len(grid["n2"]), "symbols": symbols, "rows": rows,
                  "workers": pool.workers}
