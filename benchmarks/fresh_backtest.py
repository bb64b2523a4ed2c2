"""Suite "peers", whole process (issue 17): the first backtest in a fresh process, ours against backtesting.py.

GOOG daily (2,148 bars, 2004-2013), the data set backtesting.py ships (`backtesting.test.GOOG`), written
once as GOOG.csv. Two fresh processes, timed from start to exit:

- ours: `backbench run --file GOOG.csv --compat backtesting --cash 10000 --commission 0.002 -p n1=10
  -p n2=30 --no-cache --json` (read and validate the CSV, signals, simulate, stats, print; `--no-cache`
  so the backtest is computed, not served from the result cache; numba's on-disk cache is warm, as after
  the first run of an install);
- backtesting.py: `python -c` importing it and running its README's SmaCross (`backtesting.test.SMA`,
  `crossover`, buy / position.close) on GOOG with the same cash and commission, `exclusive_orders=True`,
  its progress bar off (which only makes it faster).

Before timing, both must give the same final equity (1e-9 relative) and closed-trade count. Figure:
backtesting.py's time / ours, target at least 1.5x.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from benchmarks.fresh_process import backbench_argv, fresh_env, run_process
from benchmarks.runner import Context, benchmark, ratio

SUITE = "peers"
TARGET_VS_BACKTESTING_FRESH = 1.5
CASH, COMMISSION, N1, N2 = 10_000, 0.002, 10, 30

BACKTESTING_GOOG = f"""\
import warnings
import backtesting.backtesting as btmod
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA
btmod._tqdm = lambda seq, **_: seq
class SmaCross(Strategy):
    n1 = {N1}
    n2 = {N2}
    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)
    def next(self):
        if crossover(self.sma1, self.sma2):
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    stats = Backtest(GOOG, SmaCross, cash={CASH}, commission={COMMISSION}, exclusive_orders=True).run()
print(repr(float(stats["Equity Final [$]"])), int(stats["# Trades"]))
"""


def _goog_csv(ctx: Context):
    path = ctx.scratch / "GOOG.csv"
    if not path.exists():
        from backtesting.test import GOOG

        GOOG.to_csv(path, index_label="Date")
    return path


def _ours_argv(ctx: Context) -> list[str]:
    return [*backbench_argv(), "run", "--file", str(_goog_csv(ctx)), "--compat", "backtesting", "--cash", str(CASH),
            "--commission", str(COMMISSION), "-p", f"n1={N1}", "-p", f"n2={N2}", "--no-cache", "--json",
            "--store", str(ctx.scratch / "fresh-backtest-unused.duckdb")]


def _ours_answer(out: str) -> tuple[float, int]:
    stats = json.loads(out)["stats"]
    return float(stats["equity_final"]), int(stats["n_trades"])


def _bt_answer(out: str) -> tuple[float, int]:
    equity, trades = out.split()[-2:]
    return float(equity), int(trades)


def _check(ctx: Context) -> dict:
    """Run both once; they must agree before either is timed."""
    if "fresh_goog" not in ctx.cache:
        env = fresh_env(ctx)
        ours = _ours_answer(run_process(_ours_argv(ctx), env))
        theirs = _bt_answer(run_process([sys.executable, "-c", BACKTESTING_GOOG], env))
        if abs(ours[0] - theirs[0]) > 1e-9 * abs(theirs[0]) or ours[1] != theirs[1]:
            raise RuntimeError(f"GOOG SmaCross: ours gave equity {ours[0]!r} / {ours[1]} trades, "
                               f"backtesting.py {theirs[0]!r} / {theirs[1]}")
        ctx.cache["fresh_goog"] = {"bars": 2148, "equity_final": ours[0], "closed_trades": ours[1]}
    return ctx.cache["fresh_goog"]


FRESH: dict[str, Any] = dict(unit="s", latency=True, tracemalloc=False, rss=False, repeats=9, quick_repeats=3,
                             min_time=0.0, warmup=1, quick_warmup=1)


@benchmark(suite=SUITE, name="backbench_run_goog_process", **FRESH)
def _ours(ctx: Context):
    """fresh process: backbench run --file GOOG.csv (SmaCross 10/30, compat=backtesting, --no-cache), to exit"""
    info = _check(ctx)
    argv, env = _ours_argv(ctx), fresh_env(ctx)

    def work() -> None:
        if _ours_answer(run_process(argv, env)) != (info["equity_final"], info["closed_trades"]):
            raise RuntimeError("backbench run gave a different answer from one call to the next")
    return work, info


@benchmark(suite=SUITE, name="backtesting_py_goog_process", gate=False, **FRESH)
def _theirs(ctx: Context):
    """fresh process: python -c importing backtesting.py and running its SmaCross on GOOG, to exit"""
    info = _check(ctx)
    env = fresh_env(ctx)

    def work() -> None:
        run_process([sys.executable, "-c", BACKTESTING_GOOG], env)
    return work, info


@ratio(suite=SUITE, name="first_backtest_goog_vs_backtesting_py", target=TARGET_VS_BACKTESTING_FRESH)
def _fresh_ratio(get) -> float:
    """backtesting.py fresh process / ours (backbench run --file), GOOG daily SmaCross (medians)"""
    return get("backtesting_py_goog_process")["median_s"] / get("backbench_run_goog_process")["median_s"]
