"""The pipeline (engine/pipeline.py): the steps done by hand give the same run, a lead simulates only the
bars after it, and run_backtest and a sweep row are that run."""

import numpy as np
import pytest

from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.kernels.stats import drawdown_nb
from engine.pipeline import run_pipeline
from engine.simulation import compute_stats, simulate
from engine.strategies import Signals, get_strategy
from engine.sweep import run_sweep

CFG = SimConfig(commission=0.001, sl=0.05, risk_free_rate=0.03)  # the rate reaches the stats
PARAMS = {"n1": 10, "n2": 40}


@pytest.fixture(scope="module")
def bars():
    return generate_bars("PIPE", 1_200, "1d", seed=5)


def _running_drawdown_pct(equity):
    return (equity / np.maximum.accumulate(equity) - 1.0) * 100.0


def test_the_steps_by_hand_give_the_same_run(bars):
    strat = get_strategy("sma_cross")
    run = run_pipeline(bars, strat, PARAMS, CFG)
    signals = strat.signals(bars, **PARAMS)
    equity, trades, status, n_cancelled = simulate(bars, signals, CFG)
    np.testing.assert_array_equal(run.equity, equity)
    np.testing.assert_array_equal(run.trades, trades)
    assert (run.status, run.n_cancelled) == (status, n_cancelled)
    assert run.stats == pytest.approx(compute_stats(bars, equity, trades, CFG.init_cash, 0.03), nan_ok=True)
    np.testing.assert_allclose(run.drawdown_pct, _running_drawdown_pct(equity), atol=1e-12)
    assert set(run.timings) == {"signals", "simulate", "stats"} and min(run.timings.values()) >= 0.0
    assert run_pipeline(bars, strat, PARAMS, CFG, drawdown=False).drawdown_pct is None


def test_a_lead_gives_history_to_the_signals_and_simulates_only_the_bars_after_it(bars):
    strat = get_strategy("sma_cross")
    cfg = CFG.replace(init_cash=2_500.0)
    run = run_pipeline(bars, strat, PARAMS, cfg, lead=700)
    full = strat.signals(bars, **PARAMS)
    tail = bars.slice(700)
    equity, trades, _, _ = simulate(tail, Signals(full.entries[700:], full.exits[700:]), cfg)
    assert len(run.bars) == len(run.equity) == 500 and run.bars.ts[0] == bars.ts[700]
    np.testing.assert_array_equal(run.equity, equity)
    np.testing.assert_array_equal(run.trades, trades)
    assert run.stats["return_pct"] == pytest.approx((equity[-1] / 2_500.0 - 1) * 100)
    # the signals on the tail alone differ (the SMAs start over): the lead is what gives them history
    alone = run_pipeline(tail, strat, PARAMS, cfg)
    assert not np.array_equal(alone.equity, run.equity)


def test_run_backtest_and_a_sweep_row_are_the_pipeline_run(bars):
    run = run_pipeline(bars, get_strategy("sma_cross"), PARAMS, CFG)
    result = run_backtest(bars, "sma_cross", PARAMS, CFG)
    np.testing.assert_array_equal(result.equity, run.equity)
    np.testing.assert_array_equal(result.drawdown_pct, drawdown_nb(run.equity) * 100.0)
    assert result.stats == pytest.approx(run.stats, nan_ok=True)
    row = run_sweep(bars, "sma_cross", {"n1": [10], "n2": [40]}, config=CFG).rows.row(0, named=True)
    for k, v in run.stats.items():
        assert row[k] == pytest.approx(v, nan_ok=True), k


def test_a_result_makes_its_drawdown_curve_on_first_read_with_the_pipelines_bits(bars):
    lazy = run_pipeline(bars, get_strategy("sma_cross"), PARAMS, CFG, drawdown=False).result(CFG, "sma_cross",
                                                                                              PARAMS)
    eager = run_pipeline(bars, get_strategy("sma_cross"), PARAMS, CFG).result(CFG, "sma_cross", PARAMS)
    assert lazy.drawdown is None  # nothing made until read
    curve = lazy.drawdown_pct
    np.testing.assert_array_equal(curve, eager.drawdown_pct)  # the stats kernel's curve, bit for bit
    assert lazy.drawdown_pct is curve  # made once
    assert run_backtest(bars, "sma_cross", PARAMS, CFG).drawdown is None


SIGNATURES_SCRIPT = """
import numpy as np
from engine.bars import Bars
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.kernels.simulate import simulate_nb
from engine.simulation import simulate
from engine.strategies.base import Orders, Signals

b = generate_bars("SIG", 300, "1d", seed=3)
writable = Bars(*(np.array(a) for a in (b.ts, b.open, b.high, b.low, b.close, b.volume)), "SIG", "1d")
up = np.zeros(300, dtype=bool)
up[[20, 120]] = True
down = np.zeros(300, dtype=bool)
down[[60, 200]] = True
locked = up.copy()
locked.flags.writeable = False
limit = b.close * 0.99
limit.flags.writeable = False
for bars in (b, writable):
    for sig in (Signals(up, down), Signals(locked, down), Signals(up, down, orders=Orders(limit=limit)),
                Signals(up, down, orders=Orders(sl_dist=np.full(300, 2.0)))):
        simulate(bars, sig, SimConfig())
print(len(simulate_nb.overloads))
"""


def test_the_simulate_kernel_is_compiled_once_whatever_the_inputs_writability(tmp_path):
    """Writable and read-only bars, signals and order arrays all reach the kernel as one signature: each
    other one would cost ~12 s of compiling with an empty numba cache (docs/performance.md)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", SIGNATURES_SCRIPT], capture_output=True, text=True, env=env,
                         timeout=600, check=True).stdout
    assert out.split()[-1] == "1"
