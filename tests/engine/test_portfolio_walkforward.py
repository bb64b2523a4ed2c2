"""Portfolio walk-forward: each window picks the in-sample best of a direct portfolio sweep over its training
rows, and the out-of-sample segments chain (each starts with the cash the one before ended with, all closed)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import StrategyError
from engine.portfolio import PortfolioConfig, parse_score
from engine.strategies import get_strategy
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor
from engine.sweep.portfolio_walkforward import run_segment, walk_forward_portfolio, window_bars
from engine.sweep.walkforward import _best
from tests.engine.portfolio_data import random_universe

GRID = {"n1": [3, 5, 8], "n2": [12, 20]}
CONFIG = PortfolioConfig(commission=0.001, max_positions=2, commission_by_symbol={"S0": 0.002})


@pytest.mark.parametrize("anchored, step", [(False, None), (True, 60)])
def test_windows_pick_the_in_sample_best_and_segments_chain(anchored, step):
    datasets = random_universe(7, 5, 400)  # late listings: some symbols sit early windows out
    strat = get_strategy("sma_cross")
    wf = walk_forward_portfolio(datasets, "sma_cross", GRID, train=150, test=50, step=step, anchored=anchored,
                                config=CONFIG, score="momentum:10")
    assert len(wf.spans) == len(wf.segments) == wf.windows.height >= 4
    from engine.portfolio import align

    aligned = align(datasets)
    cash = CONFIG.init_cash
    for k, (tr0, tr1, te0, te1) in enumerate(wf.spans):
        train_sets = [b for b in window_bars(datasets, aligned, tr0, tr1) if len(b)]
        config = CONFIG.replace(commission_by_symbol={s: v for s, v in CONFIG.commission_by_symbol.items()
                                                      if s in {b.symbol for b in train_sets}})
        direct = run_sweep(train_sets, strat, GRID, portfolio=config, score="momentum:10")
        best = _best(direct.rows, "sharpe_ratio", False, strat)
        row = wf.windows.row(k, named=True)
        assert {n: row[n] for n in GRID} == best
        seg = wf.segments[k]
        again = run_segment(datasets, aligned, tr0, te0, te1, strat, best,
                            CONFIG.replace(at_end="close", init_cash=cash), parse_score("momentum:10"))
        assert np.array_equal(seg.equity, again.equity) and len(seg.equity) == te1 - te0
        assert not seg.trades["is_open"].any() and seg.position_value[-1] == 0.0  # all closed at the end
        assert row["oos_return_pct"] == pytest.approx((seg.equity[-1] / cash - 1) * 100, rel=1e-12)
        cash = float(seg.equity[-1])  # the next segment starts with this
    assert np.array_equal(wf.result.equity, np.concatenate([s.equity for s in wf.segments]))
    assert wf.result.stats["equity_final"] == cash
    assert wf.result.stats["n_trades"] == sum(len(s.trades) for s in wf.segments)


def test_the_same_with_a_process_pool():
    datasets = random_universe(8, 4, 300)
    kw = dict(train=120, test=60, config=CONFIG)
    serial = walk_forward_portfolio(datasets, "sma_cross", GRID, **kw)
    with LocalExecutor(2) as ex:
        pooled = walk_forward_portfolio(datasets, "sma_cross", GRID, executor=ex, **kw)
    assert pooled.windows.equals(serial.windows)
    assert np.array_equal(pooled.result.equity, serial.result.equity)


def test_no_look_ahead_data_after_a_window_does_not_change_it():
    datasets = random_universe(9, 4, 360)
    whole = walk_forward_portfolio(datasets, "sma_cross", GRID, train=120, test=60, config=CONFIG)
    from engine.portfolio import align

    end = align(datasets).ts[whole.spans[1][3] - 1]  # the second window's last test row
    cut = [b.slice(0, int(np.searchsorted(b.ts, end, side="right"))) for b in datasets]
    part = walk_forward_portfolio([b for b in cut if len(b)], "sma_cross", GRID, train=120, test=60, config=CONFIG)
    assert part.windows.head(2).equals(whole.windows.head(2))
    n = sum(len(s.equity) for s in whole.segments[:2])
    assert np.array_equal(part.result.equity[:n], whole.result.equity[:n])


def test_too_few_rows_is_an_error():
    with pytest.raises(StrategyError, match="not enough"):
        walk_forward_portfolio(random_universe(1, 3, 50), "sma_cross", GRID, train=100, test=10)
