"""Walk-forward: window arithmetic, in-sample choice, chained out-of-sample segments, no look-ahead."""

import numpy as np
import pytest

from engine.bars import Bars
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.errors import StrategyError
from engine.simulation import simulate
from engine.strategies import get_strategy
from engine.sweep import run_sweep
from engine.sweep.walkforward import parse_walk_forward, walk_forward, windows

GRID = {"n1": [5, 10, 20], "n2": [30, 60]}


def test_windows_rolling_anchored_and_steps():
    assert windows(10, 4, 2, 2) == [(0, 4, 4, 6), (2, 6, 6, 8), (4, 8, 8, 10)]
    assert windows(10, 4, 2, 2, anchored=True) == [(0, 4, 4, 6), (0, 6, 6, 8), (0, 8, 8, 10)]
    assert windows(9, 4, 3, 3) == [(0, 4, 4, 7), (3, 7, 7, 9)]
    assert windows(10, 4, 3, 2) == [(0, 4, 4, 6), (2, 6, 6, 8), (4, 8, 8, 10)]  # step < test: no overlap
    assert windows(3, 4, 2, 2) == []
    assert parse_walk_forward("500:100") == (500, 100, 100)
    assert parse_walk_forward("500:100:50") == (500, 100, 50)
    for bad in ("500", "a:b", "0:10", "1:2:3:4"):
        with pytest.raises(StrategyError, match="TRAIN:TEST"):
            parse_walk_forward(bad)


@pytest.fixture(scope="module")
def bars():
    return generate_bars("WF", 1_600, "1d", seed=11)


@pytest.fixture(scope="module")
def wf(bars):
    return walk_forward(bars, "sma_cross", GRID, train=600, test=250, config=SimConfig(commission=0.001))


def test_each_window_trades_the_in_sample_best_and_segments_chain(bars, wf):
    strat = get_strategy("sma_cross")
    spans = windows(len(bars), 600, 250, 250)
    assert len(wf.windows) == len(spans) == 4
    cash = 10_000.0
    offset = 0
    for k, (tr0, tr1, te0, te1) in enumerate(spans):
        ins = run_sweep(bars.slice(tr0, tr1), strat, GRID, config=SimConfig(commission=0.001)).rows
        best = ins.sort("sharpe_ratio", descending=True, maintain_order=True).row(0, named=True)
        row = wf.windows.row(k, named=True)
        assert (row["n1"], row["n2"]) == (best["n1"], best["n2"])
        history = bars.slice(tr0, te1)
        sig = strat.signals(history, n1=row["n1"], n2=row["n2"])
        seg = type(sig)(*(None if a is None else a[te0 - tr0:] for a in sig))
        cfg = SimConfig(commission=0.001, at_end="close", init_cash=cash)
        eq, _, _, _ = simulate(bars.slice(te0, te1), seg, cfg)
        np.testing.assert_allclose(wf.equity[offset:offset + len(eq)], eq)
        cash = float(eq[-1])
        offset += len(eq)
    assert offset == len(wf.equity) == len(wf.bars)
    assert wf.stats["equity_final"] == pytest.approx(cash)
    assert not wf.trades["is_open"].any()


def test_out_of_sample_results_do_not_see_later_bars(bars, wf):
    changed_close = bars.close.copy()
    changed_close[1_100:] *= np.linspace(1.0, 3.0, len(bars) - 1_100)
    altered = Bars(bars.ts, bars.open, np.maximum(bars.high, changed_close), np.minimum(bars.low, changed_close),
                   changed_close, bars.volume, bars.symbol, bars.timeframe)
    other = walk_forward(altered, "sma_cross", GRID, train=600, test=250, config=SimConfig(commission=0.001))
    # windows 0 and 1 end (train and test) before bar 1100: identical choices and equity
    assert other.windows.head(2).equals(wf.windows.head(2))
    np.testing.assert_array_equal(other.equity[:500], wf.equity[:500])


def test_too_little_data_is_a_clear_error(bars):
    with pytest.raises(StrategyError, match="not enough"):
        walk_forward(bars.slice(0, 100), "sma_cross", GRID, train=600, test=100)
