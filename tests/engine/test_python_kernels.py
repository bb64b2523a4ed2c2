"""A small run in a process without numba runs the kernels' own source as Python (engine/kernels/jit.py):
it must give what numba gives (equity, trades and the drawdown bit for bit; the stats to a few ulps) and
load no numba.

The Python runs happen in a fresh child process (in this one numba is loaded, so every kernel is numba's);
the child pickles each scenario's equity, trade records and stats, and the test runs the same scenarios here.
Scenarios: every builtin (with its orders: donchian_stop's stop entries and ATR stops), a per-bar
limit/stop/exit-portion strategy and one in backtesting.py's terms, on random bars with gaps, flat stretches
and tick rounding, under plain configs (stops, trailing stops, margin, shorts, accumulate, fills at the
close) and both presets.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.kernels import jit

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = """
from engine.config import SimConfig
from engine.strategies import list_strategies
from tests.engine.market import random_bars
from tests.engine.python_kernel_cases import BacktestingOrdersStrategy, OrdersStrategy, configs

def scenarios():
    strategies = list_strategies() + [OrdersStrategy(), BacktestingOrdersStrategy()]
    for k, cfg in enumerate(configs()):
        for j, strat in enumerate(strategies):
            seed = 100 * k + j
            yield (k, strat.name), random_bars(seed, 300 + 37 * j, tick=0.5 if seed % 3 == 0 else None), strat, cfg
"""

_CHILD = SCENARIOS + """
import pickle, sys
from engine.backtest import run_backtest
out = {}
for key, bars, strat, cfg in scenarios():
    try:
        r = run_backtest(bars, strat, {}, cfg)
        out[key] = (r.equity.copy(), r.trade_records.copy(), dict(r.stats), r.drawdown_pct.copy())
    except Exception as exc:  # the same refusal must happen under numba
        out[key] = ("error", type(exc).__name__, str(exc))
out["numba loaded"] = "numba" in sys.modules
sys.stdout.buffer.write(pickle.dumps(out))
"""


def _same_stat(a, b) -> bool:
    """Equal, NaN with NaN; a float figure within a few ulps (rtol 1e-14): the stats take log, exp and pow of
    their sums, and numpy's scalar functions (Python) and numba's (libm) may round those differently."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-14, abs_tol=0.0)
    return a == b


@pytest.fixture(scope="module")
def python_runs():
    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return pickle.loads(proc.stdout)


def test_small_runs_load_no_numba(python_runs):
    assert python_runs.pop("numba loaded", None) is False


def test_python_runs_equal_numba_runs(python_runs):
    from engine.backtest import run_backtest

    jit.use_numba()  # (this process may not have loaded numba yet: then its small runs would be Python too)
    namespace: dict = {}
    exec(SCENARIOS, namespace)
    checked = errors = 0
    for key, bars, strat, cfg in namespace["scenarios"]():
        got = python_runs[key]
        try:
            r = run_backtest(bars, strat, {}, cfg)
        except Exception as exc:
            assert got == ("error", type(exc).__name__, str(exc)), key
            errors += 1
            continue
        assert not isinstance(got[0], str), (key, got)  # a run here, an error there
        equity, trades, stats, drawdown = got
        np.testing.assert_array_equal(equity, r.equity, err_msg=str(key))
        assert trades.dtype == r.trade_records.dtype and trades.dtype.type is r.trade_records.dtype.type, key
        for field in trades.dtype.names:  # field by field: the padding bytes between fields are not data
            np.testing.assert_array_equal(trades[field], r.trade_records[field], err_msg=f"{key} {field}")
        assert stats.keys() == r.stats.keys()
        assert all(_same_stat(stats[k], r.stats[k]) for k in stats), (key, {
            k: (stats[k], r.stats[k]) for k in stats if not _same_stat(stats[k], r.stats[k])})
        np.testing.assert_array_equal(drawdown, r.drawdown_pct, err_msg=str(key))
        checked += 1
    assert checked >= 65 and errors <= 7  # (the presets refuse the orders strategy's distances and risk sizing)


def test_python_kernels_are_refused_once_numba_is_in_use():
    jit.use_numba()
    with jit.python_kernels() as python:
        assert python is False
    assert jit.kernels_for(10**9).__enter__() is False


def test_a_kernel_forwards_numba_attributes_to_its_dispatcher():
    from engine.kernels.indicators import sma_nb

    sma_nb(np.arange(5.0), 2)
    assert hasattr(sma_nb, "signatures") and sma_nb.signatures


def test_a_kernel_module_imported_after_numba_is_in_use_gets_numba_kernels():
    """A module decorated after use_numba() (the benchmark runner imports the Monte Carlo module after its
    first backtest) gets numba's dispatchers, which numba can compile calls between."""
    code = """
import numpy as np
from engine.kernels.indicators import sma_nb
from engine.kernels import jit
sma_nb(np.arange(6000.0), 3)  # outside a small run: loads numba
assert jit.numba_in_use()
from engine.analysis.montecarlo import draw_indices_nb
assert type(draw_indices_nb).__name__ == "CPUDispatcher", type(draw_indices_nb)
assert draw_indices_nb(1, 20, 4, 3, 7).shape == (20, 4)
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
