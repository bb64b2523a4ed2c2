"""Suite "backtest": one SMA-cross backtest (n1=10, n2=30) on demo bars, warm and cold.

Warm figures run in this process after compilation: the whole `run_backtest` (signals + simulate +
stats, returning a Result), and each stage on its own. Cold figures time a fresh Python process
end to end (interpreter start, imports, loading the bars from an .npz file, one backtest):
with the on-disk numba cache warm (what a user sees on every start after the first), and with an
empty NUMBA_CACHE_DIR (the first start after install or after a kernel changed: compile cost).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import REPO_ROOT
from benchmarks.runner import Context, benchmark, ratio

SUITE = "backtest"
PARAMS = {"n1": 10, "n2": 30}
INIT_CASH = 10_000.0
COMMISSION = 0.002
SIMULATE_TARGET_BARS_PER_S = 50e6

# name suffix -> (bars, bars in --tiny mode, timeframe). 1M daily bars would not fit datetime64[ns].
SIZES = {"10k": (10_000, 2_000, "1d"), "1m": (1_000_000, 20_000, "1m")}


def demo(ctx: Context, n: int, timeframe: str):
    """Demo bars (seeded, so every run and machine times the same data)."""
    from engine.data.demo import generate_bars

    return ctx.shared(f"bars:{n}:{timeframe}", lambda: generate_bars("BENCH", n, timeframe, seed=20240611))


def config(compat: str | None = None):
    from engine.config import SimConfig

    if compat:
        return SimConfig.preset(compat, init_cash=INIT_CASH, commission=COMMISSION)
    return SimConfig(init_cash=INIT_CASH, commission=COMMISSION)


# ----------------------------------------------------------------------------------------------- warm

def _register_warm(key: str) -> None:
    full, tiny, timeframe = SIZES[key]

    def bars_for(ctx: Context):
        return demo(ctx, ctx.size(full, tiny), timeframe)

    @benchmark(suite=SUITE, name=f"sma_cross_{key}_warm", unit="bars/s")
    def _full(ctx: Context):
        """run_backtest: signals + simulate + stats -> Result (after compile)"""
        from engine.backtest import run_backtest

        bars, cfg = bars_for(ctx), config()
        return lambda: len(run_backtest(bars, "sma_cross", PARAMS, cfg).equity), {"bars": len(bars)}

    @benchmark(suite=SUITE, name=f"sma_cross_{key}_signals", unit="bars/s")
    def _signals(ctx: Context):
        """strategy.signals: two SMAs and two crossovers"""
        from engine.strategies import get_strategy, resolve_params

        bars = bars_for(ctx)
        strat = get_strategy("sma_cross")
        params = resolve_params(strat, PARAMS)

        def work() -> int:
            strat.signals(bars, **params)
            return len(bars)
        return work, {"bars": len(bars)}

    @benchmark(suite=SUITE, name=f"sma_cross_{key}_simulate", unit="bars/s")
    def _simulate(ctx: Context):
        """simulate: the simulate kernel on precomputed signals"""
        from engine.simulation import simulate
        from engine.strategies import get_strategy

        bars, cfg = bars_for(ctx), config()
        signals = get_strategy("sma_cross").generate(bars, **PARAMS)
        _, trades, _, _ = simulate(bars, signals, cfg)

        def work() -> int:
            simulate(bars, signals, cfg)
            return len(bars)
        return work, {"bars": len(bars), "trades": len(trades)}

    @benchmark(suite=SUITE, name=f"sma_cross_{key}_stats", unit="bars/s")
    def _stats(ctx: Context):
        """the stats and the drawdown curve of a finished run (the pipeline's measure step)"""
        from engine.pipeline import measure
        from engine.simulation import simulate
        from engine.strategies import get_strategy

        bars, cfg = bars_for(ctx), config()
        signals = get_strategy("sma_cross").generate(bars, **PARAMS)
        equity, trades, _, _ = simulate(bars, signals, cfg)

        def work() -> int:
            measure(bars, equity, trades, cfg)
            return len(bars)
        return work, {"bars": len(bars)}


for _key in SIZES:
    _register_warm(_key)


def _limit_atr_strategy():
    """SMA cross whose entries are limit orders 0.2 % under the signal close, valid 3 bars, with a stop-loss
    2 ATRs from the fill: the same signals as sma_cross (from the same fused kernel, so that the figure
    prices the orders and the ATR, not two ways of writing the crossing), through the order machinery."""
    from engine.kernels.indicators import atr_nb
    from engine.kernels.signals import sma_cross_nb
    from engine.strategies.base import Orders, Param, Signals, Strategy

    class LimitAtr(Strategy):
        name = "bench_limit_atr"
        params = (Param("n1", int, 10, 1, 500, 1), Param("n2", int, 30, 2, 1000, 1))

        def signals(self, bars, n1=10, n2=30):
            up, down = sma_cross_nb(bars.close, n1, n2)  # the builtin's signals, by the same kernel
            atr = atr_nb(bars.high, bars.low, bars.close, 14)
            orders = Orders(limit=bars.close * 0.998, valid=3.0, sl_dist=2.0 * atr)
            return Signals(up & ~np.isnan(atr), down, orders=orders)

    return LimitAtr()


@benchmark(suite=SUITE, name="fused_loop_1m", unit="bars/s")
def _fused(ctx: Context):
    """a hand-written fused numba loop doing the same SMA cross (signals, fills, equity, a few stats)"""
    from benchmarks.fused import fused_sma_cross
    from engine.backtest import run_backtest

    full, tiny, timeframe = SIZES["1m"]
    bars = demo(ctx, ctx.size(full, tiny), timeframe)
    equity, max_dd, n_closed = fused_sma_cross(bars.open, bars.close, PARAMS["n1"], PARAMS["n2"], INIT_CASH,
                                               COMMISSION)
    ours = run_backtest(bars, "sma_cross", PARAMS, config())
    if not (np.allclose(equity, ours.equity, rtol=1e-9) and n_closed == ours.stats["n_trades"]
            and abs(max_dd - ours.stats["max_drawdown_pct"]) < 1e-6):
        raise RuntimeError("the fused loop does other work than run_backtest: its equity or stats differ")
    return (lambda: len(fused_sma_cross(bars.open, bars.close, PARAMS["n1"], PARAMS["n2"], INIT_CASH,
                                        COMMISSION)[0])), {"bars": len(bars)}


@benchmark(suite=SUITE, name="limit_atr_1m_warm", unit="bars/s")
def _orders_warm(ctx: Context):
    """run_backtest with limit entries and ATR stops (per-bar orders), 1M bars, after compile"""
    from engine.backtest import run_backtest

    full, tiny, timeframe = SIZES["1m"]
    bars, cfg, strategy = demo(ctx, ctx.size(full, tiny), timeframe), config(), _limit_atr_strategy()
    return lambda: len(run_backtest(bars, strategy, PARAMS, cfg).equity), {"bars": len(bars)}


# ----------------------------------------------------------------------------------------------- cold

OURS_COLD_SCRIPT = """\
import sys
import numpy as np
from engine.bars import Bars
from engine.backtest import run_backtest
from engine.config import SimConfig
d = np.load(sys.argv[1])
bars = Bars(d["ts"], d["open"], d["high"], d["low"], d["close"], d["volume"], "BENCH", "1d")
cfg = SimConfig.preset({compat!r}, init_cash={cash!r}, commission={commission!r}) if {compat!r} else \\
    SimConfig(init_cash={cash!r}, commission={commission!r})
r = run_backtest(bars, "sma_cross", {params!r}, cfg)
print(repr(float(r.equity[-1])), len(r.trade_records))
"""


def write_npz(ctx: Context, bars) -> Path:
    """The bars as an .npz file that a cold process (ours or a peer's) loads with numpy."""
    path = ctx.scratch / f"bars_{len(bars)}.npz"
    if not path.exists():
        np.savez(path, ts=bars.ts, open=bars.open, high=bars.high, low=bars.low, close=bars.close,
                 volume=bars.volume)
    return path


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def run_child(script: str, args: list[str], env: dict[str, str]) -> str:
    """Run `python -c script args...` from the repository root; its stdout (error if it failed)."""
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        tail = " | ".join(line.strip() for line in proc.stderr.strip().splitlines()[-4:]) or "(no output)"
        raise RuntimeError(f"child process failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def expect_equity(out: str, expected: float, n_trades: int, who: str) -> None:
    """The child printed "<final equity> <trades>"; it must be the run the parent computed."""
    equity_s, trades_s = out.split()[-2:]
    equity = float(equity_s)
    if abs(equity - expected) > 1e-9 * max(1.0, abs(expected)) or int(trades_s) != n_trades:
        raise RuntimeError(f"{who}: cold run gave equity {equity!r} / {trades_s} trades, "
                           f"expected {expected!r} / {n_trades}")


def ours_cold(ctx: Context, compat: str | None, empty_cache: bool):
    """Callable: one fresh process running our backtest on the 10k bars (checked against in-process)."""
    from engine.backtest import run_backtest

    full, tiny, _ = SIZES["10k"]
    bars = demo(ctx, ctx.size(full, tiny), "1d")
    ref = run_backtest(bars, "sma_cross", PARAMS, config(compat))
    path = write_npz(ctx, bars)
    script = OURS_COLD_SCRIPT.format(compat=compat, cash=INIT_CASH, commission=COMMISSION, params=PARAMS)

    def work() -> None:
        if empty_cache:
            cache_dir = tempfile.mkdtemp(prefix="numba-empty-", dir=ctx.scratch)
            try:
                out = run_child(script, [str(path)], child_env(NUMBA_CACHE_DIR=cache_dir))
            finally:
                shutil.rmtree(cache_dir, ignore_errors=True)
        else:
            out = run_child(script, [str(path)], child_env())
        expect_equity(out, float(ref.equity[-1]), len(ref.trade_records), "ours")
        return None
    return work, {"bars": len(bars), "compat": compat, "numba_cache": "empty" if empty_cache else "warm"}


COLD = dict(unit="s", latency=True, tracemalloc=False, repeats=7, quick_repeats=3, min_time=0.0, quick_warmup=0)


@benchmark(suite=SUITE, name="cold_start_10k", **COLD)
def _cold(ctx: Context):
    """fresh process, warm numba cache: python -c 'import engine; load bars; run_backtest'"""
    return ours_cold(ctx, None, empty_cache=False)


@benchmark(suite=SUITE, name="cold_start_10k_empty_cache", **{**COLD, "repeats": 3, "quick_repeats": 1,
                                                               "warmup": 0})
def _cold_empty(ctx: Context):
    """fresh process, empty NUMBA_CACHE_DIR: the same plus compiling every kernel it uses"""
    return ours_cold(ctx, None, empty_cache=True)


@benchmark(suite=SUITE, name="cold_import_only", **COLD)
def _cold_import(ctx: Context):
    """fresh process: python -c 'import engine.backtest' (interpreter + imports, no kernel loaded)"""
    def work() -> None:
        run_child("import engine.backtest, engine.config, engine.bars", [], child_env())
    return work


@benchmark(suite=SUITE, name="python_startup", **COLD)
def _startup(ctx: Context):
    """fresh process: python -c 'import numpy' (the floor under every cold figure)"""
    def work() -> None:
        run_child("import numpy", [], child_env())
    return work


# ----------------------------------------------------------------------------------------------- figures

@ratio(suite=SUITE, name="simulate_kernel_bars_per_s", target=SIMULATE_TARGET_BARS_PER_S, unit="bars/s")
def _simulate_rate(get) -> float:
    """simulate kernel throughput on 1M bars, one core (the kernel is single-threaded)"""
    return get("sma_cross_1m_simulate")["rate"]


@ratio(suite=SUITE, name="backtest_1m_bars_per_s", unit="bars/s")
def _backtest_rate(get) -> float:
    """whole warm backtest (signals + simulate + stats) on 1M bars"""
    return get("sma_cross_1m_warm")["rate"]


@ratio(suite=SUITE, name="api_over_fused_1m", target=2.0, better="lower", unit="x")
def _api_over_fused(get) -> float:
    """warm 1M-bar run_backtest (public API, full stats and Result) / the fused hand-written loop"""
    return get("sma_cross_1m_warm")["median_s"] / get("fused_loop_1m")["median_s"]


@ratio(suite=SUITE, name="orders_over_market_1m", target=1.5, better="lower", unit="x")
def _orders_cost(get) -> float:
    """warm 1M-bar backtest with limit entries and ATR stops / the same with market orders (sma_cross)"""
    return get("limit_atr_1m_warm")["median_s"] / get("sma_cross_1m_warm")["median_s"]


@ratio(suite=SUITE, name="compile_cost_s", unit="s")
def _compile_cost(get) -> float:
    """cold start with an empty numba cache minus cold start with a warm one"""
    return get("cold_start_10k_empty_cache")["median_s"] - get("cold_start_10k")["median_s"]


@ratio(suite=SUITE, name="cold_start_10k_s", target=1.5, better="lower", unit="s")
def _cold_target(get) -> float:
    """first backtest in a fresh process (warm numba cache), end to end"""
    return get("cold_start_10k")["median_s"]


def _stage_share(get: Any, key: str) -> float:
    whole = get(f"sma_cross_{key}_warm")["median_s"]
    parts = sum(get(f"sma_cross_{key}_{s}")["median_s"] for s in ("signals", "simulate", "stats"))
    return parts / whole


@ratio(suite=SUITE, name="stages_over_whole_1m", unit="x")
def _stages_1m(get) -> float:
    """(signals + simulate + stats medians) / whole backtest median on 1M bars (≈1: little overhead)"""
    return _stage_share(get, "1m")
