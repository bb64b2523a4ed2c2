"""Walk-forward: window arithmetic, in-sample choice, chained out-of-sample segments, no look-ahead, and the
stitched run as a Result (drawdown, stats, status and cancelled orders from the pipeline)."""

import numpy as np
import pytest

from engine.bars import Bars
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.errors import StrategyError
from engine.result import Result
from engine.simulation import compute_stats, simulate
from engine.strategies import Param, Signals, Strategy, get_strategy
from engine.sweep import run_sweep
from engine.sweep.walkforward import parse_walk_forward, walk_forward, windows

GRID = {"n1": [5, 10, 20], "n2": [30, 60]}
CFG = SimConfig(commission=0.001, risk_free_rate=0.02)  # the rate reaches the in-sample ranking and the stats


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
    return walk_forward(bars, "sma_cross", GRID, train=600, test=250, config=CFG)


def test_each_window_trades_the_in_sample_best_and_segments_chain(bars, wf):
    strat = get_strategy("sma_cross")
    spans = windows(len(bars), 600, 250, 250)
    assert len(wf.windows) == len(spans) == 4
    cash = 10_000.0
    offset = 0
    for k, (tr0, tr1, te0, te1) in enumerate(spans):
        ins = run_sweep(bars.slice(tr0, tr1), strat, GRID, config=CFG).rows
        best = ins.sort("sharpe_ratio", descending=True, maintain_order=True).row(0, named=True)
        row = wf.windows.row(k, named=True)
        assert (row["n1"], row["n2"]) == (best["n1"], best["n2"])
        history = bars.slice(tr0, te1)
        sig = strat.signals(history, n1=row["n1"], n2=row["n2"])
        seg = type(sig)(*(None if a is None else a[te0 - tr0:] for a in sig))
        cfg = SimConfig(commission=0.001, at_end="close", init_cash=cash)
        eq, _, _, _ = simulate(bars.slice(te0, te1), seg, cfg)
        np.testing.assert_allclose(wf.result.equity[offset:offset + len(eq)], eq)
        cash = float(eq[-1])
        offset += len(eq)
    assert offset == len(wf.result.equity) == len(wf.result.bars)
    assert wf.result.stats["equity_final"] == pytest.approx(cash)
    assert not wf.result.trade_records["is_open"].any()


def test_out_of_sample_results_do_not_see_later_bars(bars, wf):
    changed_close = bars.close.copy()
    changed_close[1_100:] *= np.linspace(1.0, 3.0, len(bars) - 1_100)
    altered = Bars(bars.ts, bars.open, np.maximum(bars.high, changed_close), np.minimum(bars.low, changed_close),
                   changed_close, bars.volume, bars.symbol, bars.timeframe)
    other = walk_forward(altered, "sma_cross", GRID, train=600, test=250, config=CFG)
    # windows 0 and 1 end (train and test) before bar 1100: identical choices and equity
    assert other.windows.head(2).equals(wf.windows.head(2))
    np.testing.assert_array_equal(other.result.equity[:500], wf.result.equity[:500])


def test_too_little_data_is_a_clear_error(bars):
    with pytest.raises(StrategyError, match="not enough"):
        walk_forward(bars.slice(0, 100), "sma_cross", GRID, train=600, test=100)


def test_the_stitched_run_is_a_result_measured_by_the_pipeline(bars, wf):
    res = wf.result
    assert isinstance(res, Result) and res.status == "ok" and res.strategy == "sma_cross"
    assert res.config == SimConfig(commission=0.001, at_end="close", risk_free_rate=0.02)  # how its segments traded
    peak = np.maximum.accumulate(res.equity)
    np.testing.assert_allclose(res.drawdown_pct, (res.equity / peak - 1.0) * 100.0, atol=1e-12)
    assert res.stats["max_drawdown_pct"] == pytest.approx(res.drawdown_pct.min())
    assert res.stats == pytest.approx(compute_stats(res.bars, res.equity, res.trade_records, 10_000.0, 0.02),
                                      nan_ok=True)
    assert res.bars.ts[0] == bars.ts[600] and len(res.trades) == len(res.trade_records) > 0
    assert set(res.timings) == {"signals", "simulate", "stats"}
    out = res.to_json_dict()
    assert out["stats"]["n_trades"] == res.stats["n_trades"] == len(out["trades"])


class AlwaysIn(Strategy):
    """Enters on every bar and never exits."""

    name = "always_in"
    params = (Param("k", int, 1, 1, 3),)

    def signals(self, bars, k):
        n = len(bars)
        return Signals(np.ones(n, dtype=bool), np.zeros(n, dtype=bool))


def test_cancelled_orders_of_every_segment_are_counted():
    bars = generate_bars("WFC", 400, "1d", seed=2)
    # 10,000 units never fit 10,000 of cash: every entry (one per bar but each segment's last) is cancelled
    wf = walk_forward(bars, AlwaysIn(), {"k": [1, 2]}, train=100, test=100,
                      config=SimConfig(sizing="fixed", size=10_000.0))
    spans = windows(len(bars), 100, 100, 100)
    assert wf.result.n_cancelled_orders == sum(te1 - te0 - 1 for _, _, te0, te1 in spans) == 297
    assert wf.result.stats["n_trades"] == 0 and wf.result.status == "ok"


def test_a_bankrupt_segment_makes_the_stitched_run_bankrupt_and_ends_it():
    n = 300
    close = 100.0 * 1.03 ** np.arange(n)  # a short of all the cash is ruined when the price doubles
    bars = Bars.from_arrays(close, close * 1.001, close * 0.999, close)
    wf = walk_forward(bars, AlwaysIn(), {"k": [1]}, train=50, test=50, config=SimConfig(direction="short"))
    res = wf.result
    assert res.status == "bankrupt"
    assert len(wf.windows) == 1 < len(windows(n, 50, 50, 50))  # no window after the ruin
    assert res.equity[-1] <= 0.0 and res.trades["exit_reason"].to_list()[-1] == "bankrupt"


def test_efficiency_and_the_hindsight_curve(bars):
    """WFE = mean annualised OOS return / mean annualised in-sample return of the chosen params; the hindsight
    curve is the grid's best over all bars, over the OOS bars, rebased to the cash at the first of them."""
    from engine.backtest import run_backtest

    wf = walk_forward(bars, "sma_cross", GRID, train=600, test=250, config=CFG, hindsight=True)
    strat = get_strategy("sma_cross")
    assert wf.spans == windows(len(bars), 600, 250, 250)
    for k, (tr0, tr1, _, _) in enumerate(wf.spans):
        row = wf.windows.row(k, named=True)
        rows = run_sweep(bars.slice(tr0, tr1), strat, GRID, config=CFG).rows
        chosen = rows.filter((rows["n1"] == row["n1"]) & (rows["n2"] == row["n2"]))
        assert row["is_return_ann_pct"] == chosen["return_ann_pct"][0]
    mean_is = np.mean(wf.windows["is_return_ann_pct"].to_numpy())
    assert mean_is > 0
    assert wf.efficiency == pytest.approx(np.mean(wf.windows["oos_return_ann_pct"].to_numpy()) / mean_is, rel=1e-12)
    full = run_sweep(bars, strat, GRID, config=CFG).rows
    best = full.sort("sharpe_ratio", descending=True, maintain_order=True).row(0, named=True)
    whole = run_backtest(bars, "sma_cross", {"n1": best["n1"], "n2": best["n2"]}, CFG).equity
    first = wf.spans[0][2]
    want = whole[first:wf.spans[-1][3]] / whole[first - 1] * CFG.init_cash
    np.testing.assert_allclose(wf.hindsight, want, rtol=1e-12)
    assert walk_forward(bars, "sma_cross", GRID, train=600, test=250, config=CFG).hindsight is None  # on request
