"""docs/simulation.md, "Several working orders": each worked example with its numbers, and (with the extra
'peers') backtesting.py's own run of it, equal to ours."""

import numpy as np
import pytest

from engine.bars import Bars
from engine.config import SimConfig
from engine.kernels.simulate_records import EXIT_STOP_LOSS, EXIT_TAKE_PROFIT
from engine.simulation import SignalArrays, simulate
from engine.strategies.base import Orders

#                    open  high  low  close  (docs/simulation.md, "Orders")
B = np.array([[100, 101, 99, 100], [100, 102, 97, 101], [101, 104, 100, 103], [103, 106, 102, 105],
              [105, 106, 95, 96], [96, 99, 94, 98]], dtype=float)
BARS = Bars.from_arrays(B[:, 0], B[:, 1], B[:, 2], B[:, 3])
N = np.nan


def _bars(*bars):
    out = np.zeros(6, dtype=bool)
    out[list(bars)] = True
    return out


def run(entries, exits=(), direction="long", at_end="keep_open", **fields):
    """Our run of the example: entry and exit bars, per-bar order fields (6 values each); also backtesting.py's
    (when installed), whose trades and equity must equal ours. Returns (equity, trades, n_cancelled)."""
    e, x = _bars(*entries), _bars(*exits)
    arrs = {k: np.array(v, dtype=float) for k, v in fields.items()}
    sizes = arrs.get("size")
    units = sizes is not None and bool((sizes[~np.isnan(sizes)] >= 1).all())
    orders = Orders(limit=arrs.get("limit"), stop=arrs.get("stop"), size=sizes,
                    size_type="units" if units else "equity", sl_price=arrs.get("sl"), tp_price=arrs.get("tp"),
                    exit_portion=arrs.get("portion"))
    cfg = SimConfig.preset("backtesting", init_cash=1_000.0, accumulate=True, direction=direction, at_end=at_end)
    equity, trades, _, cancelled = simulate(BARS, SignalArrays(e, x, orders=orders), cfg)
    try:
        from benchmarks.peer_runners import backtesting_py_stats
        from tests.engine.test_parity_peers import _same_as_backtesting
    except (ImportError, pytest.skip.Exception):  # (without the extra 'peers')
        return equity, trades, cancelled
    stats = backtesting_py_stats(BARS, e, x, 1_000.0, 0.0, direction, finalize_trades=at_end == "close",
                                 exclusive_orders=False, limit=arrs.get("limit"), stop=arrs.get("stop"), sizes=sizes,
                                 sl=arrs.get("sl"), tp=arrs.get("tp"), portions=arrs.get("portion"))
    _same_as_backtesting(equity, trades, stats)
    assert [(t.entry_bar, t.size, t.entry_price) for t in stats["_strategy"].trades] == [
        (t["entry_bar"], t["side"] * t["size"], t["entry_price"]) for t in trades[trades["is_open"]]]
    return equity, trades, cancelled


def rows(trades):
    return [(int(t["entry_bar"]), int(t["exit_bar"]), int(t["side"] * t["size"]), float(t["entry_price"]),
             float(t["exit_price"]), bool(t["is_open"])) for t in trades]


def test_several_limits_work_at_once():
    equity, trades, _ = run([1, 2], limit=[N, 98, 96, N, N, N], size=[N, 2, 3, N, N, N])
    assert rows(trades) == [(4, 5, 2, 98.0, 98.0, True), (4, 5, 3, 96.0, 98.0, True)]
    assert equity[-1] == 1_006.0


def test_stop_fills_at_its_price_or_a_worse_open():
    _, trades, _ = run([2, 3], stop=[N, N, 104.5, 102, N, N], size=[N, N, 1, 1, N, N])
    assert rows(trades) == [(3, 5, 1, 104.5, 98.0, True), (4, 5, 1, 105.0, 98.0, True)]


def test_a_fraction_is_sized_at_the_fill_on_the_margin_at_the_close():
    _, trades, _ = run([1, 2], limit=[N, N, 98, N, N, N], size=[N, 0.3, 0.5, N, N, N])
    assert rows(trades) == [(2, 5, 2, 101.0, 98.0, True), (4, 5, 4, 98.0, 98.0, True)]


def test_an_opposite_order_nets_the_oldest_trades_first():
    _, trades, _ = run([1, 2], [4], direction="both", limit=[N, N, 98, N, N, N], size=[N, 2, 4, N, 5, N])
    assert rows(trades) == [(2, 5, 2, 101.0, 96.0, False), (4, 5, 3, 98.0, 96.0, False), (4, 5, 1, 98.0, 98.0, True)]
    assert list(trades["pnl"][:2]) == [-10.0, -6.0]


def test_a_market_entry_is_stopped_in_its_fill_bar_a_limit_entry_from_the_next():
    _, trades, _ = run([3], size=[N, N, N, 2, N, N], sl=[N, N, N, 97.5, N, N])
    assert rows(trades) == [(4, 4, 2, 105.0, 97.5, False)] and trades["exit_reason"][0] == EXIT_STOP_LOSS
    _, trades, _ = run([3], limit=[N, N, N, 98, N, N], size=[N, N, N, 2, N, N], sl=[N, N, N, 96, N, N])
    assert rows(trades) == [(4, 5, 2, 98.0, 96.0, False)] and trades["exit_reason"][0] == EXIT_STOP_LOSS


def test_the_books_order_decides_between_a_take_profit_and_an_entry():
    _, trades, _ = run([1], [2], direction="both", limit=[N, N, 105, N, N, N], size=[N, 2, 3, N, N, N],
                       tp=[N, 105.5, N, N, N, N])
    assert rows(trades) == [(2, 3, 2, 101.0, 105.5, False), (3, 5, -3, 105.0, 98.0, True)]
    assert trades["exit_reason"][0] == EXIT_TAKE_PROFIT and trades["pnl"][0] == 9.0
    _, trades, _ = run([1], [2], direction="both", stop=[N, 104.5, N, N, N, N], limit=[N, N, 105, N, N, N],
                       size=[N, 2, 3, N, N, N], tp=[N, 105.5, N, N, N, N])
    assert rows(trades) == [(3, 3, 2, 104.5, 105.0, False), (3, 5, -1, 105.0, 98.0, True)]
    assert trades["exit_reason"][0] != EXIT_TAKE_PROFIT and trades["pnl"][0] == 1.0


def test_close_a_portion_rounds_half_to_even_newest_first():
    _, trades, _ = run([1, 2], [3], stop=[N, 101.5, N, N, N, N], size=[N, 5, 3, N, N, N],
                       portion=[N, N, N, 0.5, N, N])
    assert rows(trades) == [(3, 4, 2, 103.0, 105.0, False), (2, 4, 2, 101.5, 105.0, False),
                            (2, 5, 3, 101.5, 98.0, True), (3, 5, 1, 103.0, 98.0, True)]


def test_finalize_trades_processes_the_last_bars_orders_too():
    _, trades, cancelled = run([1, 5], at_end="close", limit=[N, 98, N, N, N, 95], size=[N, 2, N, N, N, 1])
    assert rows(trades) == [(4, 5, 2, 98.0, 96.0, False), (5, 5, 1, 95.0, 98.0, True)]
    assert cancelled == 0


def test_orders_working_at_the_end_are_dropped_not_cancelled():
    _, trades, cancelled = run([1, 2], limit=[N, 90, 80, N, N, N], size=[N, 2, 3, N, N, N])
    assert len(trades) == 0 and cancelled == 0


@pytest.mark.parametrize("orders", [Orders(limit=98.0, valid=3.0), Orders(stop=104.0, sl_dist=2.0)])
def test_what_the_preset_does_not_reproduce_is_still_refused(orders):
    from engine.errors import StrategyError

    with pytest.raises(StrategyError, match="orders cannot be combined with compat='backtesting'"):
        simulate(BARS, SignalArrays(_bars(1), _bars(), orders=orders), SimConfig.preset("backtesting", accumulate=True))
