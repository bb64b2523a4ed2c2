"""Suite "peers": backtesting.py 0.6.6 and vectorbt 1.2.0 against ours on the same 10k-bar SMA-cross.

Workload: demo daily bars, SMA(10) / SMA(30) cross, long only, 10,000 cash, 0.2 % commission.
- backtesting.py: `Backtest(df, SmaCross, cash, commission, exclusive_orders=True).run()`, where
  SmaCross is the classic strategy (pandas rolling-mean SMA via `self.I`, `backtesting.lib.crossover`,
  buy / position.close). Compared with ours under `SimConfig.preset("backtesting")`.
- vectorbt: `vbt.MA.run` x2, `ma_crossed_above/below`, `Portfolio.from_signals(..., freq="1D")`,
  `pf.stats()`, warm (its numba functions compiled). Compared with ours under the "vectorbt" preset.
  Its fastest engine here is numba: `vectorbt-rust` is not installed (the versions block says so).
- ours: `run_backtest(bars, "sma_cross", ...)` with full stats, warm.
- cold start: a fresh process that imports the library, loads the same .npz bars and runs one
  backtest (with stats), each with its on-disk numba cache warm.

Before anything is timed, `parity()` checks that the comparison is of the same work: ours with the
compat preset against each peer fed identical signals (final equity and trade count to 1e-9 rel, as
tests/engine/test_parity_peers.py does), and each peer's native pipeline (its own SMA and crossover)
against ours (signals identical, same final equity and trade count). A mismatch fails the benchmark.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from benchmarks.runner import Context, benchmark, ratio, requires
from benchmarks.suite_backtest import (
    COLD,
    COMMISSION,
    INIT_CASH,
    PARAMS,
    SIZES,
    child_env,
    config,
    demo,
    expect_equity,
    ours_cold,
    run_child,
    write_npz,
)

SUITE = "peers"
RTOL = 1e-9
TARGET_VS_BACKTESTING = 200.0
TARGET_VS_VECTORBT = 20.0
TARGET_VS_VECTORBT_1M = 10.0  # issue 14: at least 10x vectorbt's from_signals + stats at 1M bars
TARGET_COLD_S = 1.5


def _missing() -> str | None:
    missing = [m for m in ("backtesting", "vectorbt", "pandas") if importlib.util.find_spec(m) is None]
    return f"not installed: {', '.join(missing)} (pip install -e '.[peers]')" if missing else None


requires(SUITE, _missing)


def _bars(ctx: Context):
    full, tiny, timeframe = SIZES["10k"]
    return demo(ctx, ctx.size(full, tiny), timeframe)


def _frame(bars):
    import pandas as pd

    return pd.DataFrame({"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close,
                         "Volume": bars.volume}, index=pd.DatetimeIndex(bars.times()))


def _close(bars):
    import pandas as pd

    return pd.Series(bars.close, index=pd.DatetimeIndex(bars.times()), name="Close")


# ----------------------------------------------------------------------------------------------- peers' code

def bt_strategy():
    """The classic backtesting.py SMA-cross strategy (SMA = pandas rolling mean, like backtesting.test.SMA)."""
    import pandas as pd
    from backtesting import Strategy
    from backtesting.lib import crossover

    def sma(values, n):
        return pd.Series(values).rolling(n).mean()

    class SmaCross(Strategy):
        n1 = PARAMS["n1"]
        n2 = PARAMS["n2"]

        def init(self):
            self.sma1 = self.I(sma, self.data.Close, self.n1)
            self.sma2 = self.I(sma, self.data.Close, self.n2)

        def next(self):
            if crossover(self.sma1, self.sma2):
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()

    return SmaCross


def quiet_backtesting() -> None:
    """Turn off backtesting.py's tqdm progress bar: its own no-tqdm fallback (identity), which also
    spares it the progress bar's overhead, so its timing can only improve."""
    import backtesting.backtesting as btmod

    btmod._tqdm = _no_progress


def _no_progress(seq, **_):
    return seq


def bt_backtest(bars):
    from backtesting import Backtest

    quiet_backtesting()
    return Backtest(_frame(bars), bt_strategy(), cash=INIT_CASH, commission=COMMISSION, exclusive_orders=True)


def bt_run(bt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bt.run()


def vbt_pipeline(close, stats: bool = True):
    """vectorbt's own signals + simulate (+ stats): returns (portfolio, entries, exits, stats)."""
    import vectorbt as vbt

    fast = vbt.MA.run(close, PARAMS["n1"])
    slow = vbt.MA.run(close, PARAMS["n2"])
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    pf = vbt.Portfolio.from_signals(close, entries, exits, init_cash=INIT_CASH, fees=COMMISSION, freq="1D")
    return pf, entries, exits, (pf.stats() if stats else None)


def vectorbt_engine() -> str:
    import vectorbt as vbt

    rust = importlib.util.find_spec("vectorbt_rust") is not None
    try:
        setting = vbt.settings["engine"] if "engine" in vbt.settings else "numba"
    except (KeyError, TypeError):  # pragma: no cover - older vectorbt
        setting = "numba"
    return f"{setting} -> {'rust' if rust and setting in ('auto', 'rust') else 'numba'}"


# ----------------------------------------------------------------------------------------------- parity

def _close_enough(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(1.0, abs(a), abs(b))


def _check(ctx: Context, name: str, ours: tuple[float, int], theirs: tuple[float, int], extra: str = "") -> None:
    ok = _close_enough(ours[0], theirs[0]) and ours[1] == theirs[1]
    detail = (f"final equity {ours[0]:.10g} vs {theirs[0]:.10g}, trades {ours[1]} vs {theirs[1]}"
              + (f"; {extra}" if extra else ""))
    ctx.checks.append({"name": name, "ok": ok, "detail": detail, "ours": list(ours), "theirs": list(theirs)})
    if not ok:
        raise RuntimeError(f"parity check {name} failed: {detail}")


def parity(ctx: Context) -> dict[str, Any]:
    """Run once per run (shared): every check of the module docstring; raises on a mismatch."""
    return ctx.shared("peers:parity", lambda: _parity(ctx))


def _parity(ctx: Context) -> dict[str, Any]:
    from benchmarks.peer_runners import run_backtesting_py, run_vectorbt
    from engine.backtest import run_backtest
    from engine.simulation import SignalArrays, simulate
    from engine.strategies import get_strategy

    quiet_backtesting()
    bars = _bars(ctx)
    signals = get_strategy("sma_cross").generate(bars, **PARAMS)
    ent, ext = signals.entries, signals.exits
    if not ent.any() or not ext.any():
        raise RuntimeError("the SMA-cross workload produced no signals")
    out: dict[str, Any] = {"bars": len(bars), "entries": int(ent.sum()), "exits": int(ext.sum())}

    # 1. identical signals fed to each peer (test_parity_peers.py's way)
    cfg_bt, cfg_vbt = config("backtesting"), config("vectorbt")
    eq, tr, _, _ = simulate(bars, SignalArrays(ent, ext), cfg_bt)
    bt_eq, bt_trades, _ = run_backtesting_py(bars, ent, ext, INIT_CASH, COMMISSION)
    _check(ctx, "backtesting.py, identical signals", (float(eq[-1]), int((~tr["is_open"]).sum())),
           (float(bt_eq[-1]), len(bt_trades)))
    eq, tr, _, _ = simulate(bars, SignalArrays(ent, ext), cfg_vbt)
    vbt_value, vbt_trades = run_vectorbt(bars, ent, ext, INIT_CASH, COMMISSION)
    _check(ctx, "vectorbt, identical signals", (float(eq[-1]), len(tr)), (float(vbt_value[-1]), len(vbt_trades)))

    # 2. the pipelines that are timed: each peer's own indicators and crossover vs our whole run
    ours_bt = run_backtest(bars, "sma_cross", PARAMS, cfg_bt)
    stats = bt_run(bt_backtest(bars))
    _check(ctx, "backtesting.py native SmaCross vs ours (compat=backtesting)",
           (float(ours_bt.equity[-1]), int((~ours_bt.trade_records["is_open"]).sum())),
           (float(stats["Equity Final [$]"]), int(stats["# Trades"])))
    ours_vbt = run_backtest(bars, "sma_cross", PARAMS, cfg_vbt)
    pf, v_ent, v_ext, _ = vbt_pipeline(_close(bars), stats=False)
    same = bool(np.array_equal(v_ent.to_numpy(), ent) and np.array_equal(v_ext.to_numpy(), ext))
    _check(ctx, "vectorbt native MA pipeline vs ours (compat=vectorbt)",
           (float(ours_vbt.equity[-1]), len(ours_vbt.trade_records)),
           (float(pf.final_value()), len(pf.trades.records)), extra=f"signals identical: {same}")
    if not same:
        raise RuntimeError("vectorbt's MA crossover signals differ from ours on this data (docs/compat.md)")
    out["vectorbt_engine"] = vectorbt_engine()
    ctx.note(f"vectorbt engine: {out['vectorbt_engine']} (vectorbt-rust is not installed, numba is its "
             "fastest engine here)" if importlib.util.find_spec("vectorbt_rust") is None
             else f"vectorbt engine: {out['vectorbt_engine']}")
    return out


# ----------------------------------------------------------------------------------------------- warm

@benchmark(suite=SUITE, name="backtesting_py_10k", unit="bars/s", repeats=5, quick_repeats=3, gate=False)
def _bt(ctx: Context):
    """backtesting.py Backtest.run() with the classic SmaCross (exclusive_orders, commission), incl. stats"""
    info = parity(ctx)
    bt = bt_backtest(_bars(ctx))
    n = len(_bars(ctx))

    def work() -> int:
        bt_run(bt)
        return n
    return work, info


@benchmark(suite=SUITE, name="vectorbt_10k_warm", unit="bars/s", gate=False)
def _vbt(ctx: Context):
    """vectorbt MA.run x2 + crossed_above/below + Portfolio.from_signals + pf.stats(), warm"""
    return _vbt_work(_close(_bars(ctx))), parity(ctx)


def _vbt_work(close):
    """vectorbt's whole pipeline on `close`, as a timed call returning the bar count."""
    def work() -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vbt_pipeline(close)
        return len(close)
    return work


def _ours(ctx: Context, compat: str):
    from engine.backtest import run_backtest

    info = parity(ctx)
    bars, cfg = _bars(ctx), config(compat)
    return lambda: len(run_backtest(bars, "sma_cross", PARAMS, cfg).equity), {**info, "compat": compat}


@benchmark(suite=SUITE, name="ours_10k_compat_backtesting", unit="bars/s")
def _ours_bt(ctx: Context):
    """ours: run_backtest with full stats, compat="backtesting" preset, warm"""
    return _ours(ctx, "backtesting")


@benchmark(suite=SUITE, name="ours_10k_compat_vectorbt", unit="bars/s")
def _ours_vbt(ctx: Context):
    """ours: run_backtest with full stats, compat="vectorbt" preset, warm"""
    return _ours(ctx, "vectorbt")


def _bars_1m(ctx: Context):
    full, tiny, timeframe = SIZES["1m"]
    return demo(ctx, ctx.size(full, tiny), timeframe)


@benchmark(suite=SUITE, name="vectorbt_1m_warm", unit="bars/s", gate=False, repeats=5, quick_repeats=3)
def _vbt_1m(ctx: Context):
    """vectorbt MA.run x2 + crossed_above/below + Portfolio.from_signals + pf.stats() on 1M minute bars, warm"""
    close = _close(_bars_1m(ctx))
    return _vbt_work(close), {"bars": len(close)}


@benchmark(suite=SUITE, name="ours_1m_compat_vectorbt", unit="bars/s")
def _ours_vbt_1m(ctx: Context):
    """ours: run_backtest with full stats, compat="vectorbt" preset, 1M minute bars, warm"""
    from engine.backtest import run_backtest

    bars, cfg = _bars_1m(ctx), config("vectorbt")
    return lambda: len(run_backtest(bars, "sma_cross", PARAMS, cfg).equity), {"bars": len(bars)}


# ----------------------------------------------------------------------------------------------- cold

VBT_COLD_SCRIPT = """\
import sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import pandas as pd
import vectorbt as vbt
d = np.load(sys.argv[1])
close = pd.Series(d["close"], index=pd.DatetimeIndex(d["ts"].astype("datetime64[ns]")), name="Close")
fast = vbt.MA.run(close, {n1})
slow = vbt.MA.run(close, {n2})
pf = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow),
                                init_cash={cash!r}, fees={commission!r}, freq="1D")
stats = pf.stats()
print(repr(float(pf.final_value())), len(pf.trades.records))
"""


# One call is ~12 s (vectorbt compiles its numba functions in every fresh process): heavy, so a plain
# --quick run leaves it out (it is a peer's own figure, not gated); `--quick --suite peers` runs it once.
@benchmark(suite=SUITE, name="vectorbt_cold_start_10k", gate=False, heavy=True,
           **{**COLD, "repeats": 5, "quick_repeats": 1, "quick_warmup": 0})
def _vbt_cold(ctx: Context):
    """fresh process, warm numba cache: import vectorbt, load bars, MA pipeline + from_signals + stats"""
    info = parity(ctx)
    bars = _bars(ctx)
    pf, _, _, _ = vbt_pipeline(_close(bars), stats=False)
    expected, n_trades = float(pf.final_value()), len(pf.trades.records)
    path = write_npz(ctx, bars)
    script = VBT_COLD_SCRIPT.format(n1=PARAMS["n1"], n2=PARAMS["n2"], cash=INIT_CASH, commission=COMMISSION)

    def work() -> None:
        expect_equity(run_child(script, [str(path)], child_env()), expected, n_trades, "vectorbt")
    return work, info


@benchmark(suite=SUITE, name="ours_cold_start_10k", **{**COLD, "repeats": 5})
def _ours_cold(ctx: Context):
    """fresh process, warm numba cache: import engine, load bars, run_backtest (compat=vectorbt) + stats"""
    parity(ctx)
    return ours_cold(ctx, "vectorbt", empty_cache=False)


# ----------------------------------------------------------------------------------------------- figures

@ratio(suite=SUITE, name="ours_vs_backtesting_py", target=TARGET_VS_BACKTESTING)
def _vs_bt(get) -> float:
    """backtesting.py median / ours (compat=backtesting) median, same 10k-bar SMA cross"""
    return get("backtesting_py_10k")["median_s"] / get("ours_10k_compat_backtesting")["median_s"]


@ratio(suite=SUITE, name="ours_vs_vectorbt", target=TARGET_VS_VECTORBT)
def _vs_vbt(get) -> float:
    """vectorbt (warm, signals+simulate+stats) median / ours (compat=vectorbt) median"""
    return get("vectorbt_10k_warm")["median_s"] / get("ours_10k_compat_vectorbt")["median_s"]


@ratio(suite=SUITE, name="ours_vs_vectorbt_1m", target=TARGET_VS_VECTORBT_1M)
def _vs_vbt_1m(get) -> float:
    """vectorbt (warm, signals+simulate+stats) median / ours (compat=vectorbt) median, 1M bars"""
    return get("vectorbt_1m_warm")["median_s"] / get("ours_1m_compat_vectorbt")["median_s"]


@ratio(suite=SUITE, name="ours_vs_vectorbt_cold_start")
def _vs_vbt_cold(get) -> float:
    """vectorbt first backtest in a fresh process / ours, both with a warm numba cache"""
    return get("vectorbt_cold_start_10k")["median_s"] / get("ours_cold_start_10k")["median_s"]


@ratio(suite=SUITE, name="ours_cold_start_s", target=TARGET_COLD_S, better="lower", unit="s")
def _cold_s(get) -> float:
    """our first backtest in a fresh process (imports included), seconds"""
    return get("ours_cold_start_10k")["median_s"]


# Whole-process figure (issue 17): `backbench run --file GOOG.csv` against backtesting.py, command to exit.
from benchmarks import fresh_backtest  # noqa: E402, F401  (registers its benchmarks in this suite)
