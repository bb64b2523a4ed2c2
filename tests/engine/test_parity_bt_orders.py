"""`--compat backtesting --accumulate` with limit and stop entries reproduces backtesting.py 0.6.6's
`Backtest(..., exclusive_orders=False)` (run here, same inputs) trade for trade: several working orders at once,
each filled when its own price is reached, in the broker's order (docs/simulation.md, "Several working orders";
docs/compat.md). Generated bars (tests/engine/test_parity_peers.py's scenarios) and backtesting.py's GOOG."""

import numpy as np
import pytest

from engine.config import SimConfig
from engine.simulation import SignalArrays, simulate
from engine.strategies.base import Orders

pytest.importorskip("backtesting")

from benchmarks.peer_runners import backtesting_py_stats  # noqa: E402
from tests.engine.test_parity_peers import _case, _same_as_backtesting  # noqa: E402

pytestmark = pytest.mark.peers
NAMES = ["plain", "dense_signals_reentry", "high_commission", "cancelled_orders_small_cash", "tick_prices_ties",
         "signal_on_last_bar", "random_3", "random_7"]


def _orders(bars, entries, exits, direction, kind, levels, seed, sizes=None, portions=None):
    """Per-bar buy()/sell() arguments: limit below the close to buy (above to sell) and stop above (below),
    1 % to 4 % away, so orders wait several bars and several work at once; `kind` "mixed": limit, stop or
    market by bar. Stop-loss 3 % and take-profit 5 % from the order's price, on the side backtesting.py
    requires. Returns (our Orders, backtesting.py's keyword arrays)."""
    n = len(bars)
    rng = np.random.default_rng(seed)
    short = np.full(n, direction == "short") | ((direction == "both") & exits & ~entries)
    side = np.where(short, -1.0, 1.0)
    c = bars.close
    pick = rng.integers(0, 3, n) if kind == "mixed" else np.full(n, {"limit": 0, "stop": 1, "market": 2}[kind])
    dist = rng.uniform(0.01, 0.04, n)
    limit = np.where(pick == 0, c * (1 - side * dist), np.nan) if kind in ("limit", "mixed") else None
    stop = np.where(pick == 1, c * (1 + side * dist), np.nan) if kind in ("stop", "mixed") else None
    ref = np.where(pick == 0, c * (1 - side * dist), np.where(pick == 1, c * (1 + side * dist), c))
    sl = ref * (1 - side * 0.03) if "sl" in levels else None
    tp = ref * (1 + side * 0.05) if "tp" in levels else None
    units = sizes is not None and bool((sizes[~np.isnan(sizes)] >= 1).all())
    ours = Orders(limit=limit, stop=stop, sl_price=sl, tp_price=tp, size=sizes,
                  size_type="units" if units else "equity", exit_portion=portions)
    return ours, dict(limit=limit, stop=stop, sl=sl, tp=tp, sizes=sizes, portions=portions)


def _check(bars, entries, exits, cash, commission, direction, kind, levels, seed=0, fill="next_open",
           at_end="keep_open", sizes=None, portions=None, spread=0.0, margin=1.0):
    """Our run equals backtesting.py's (every closed trade, the equity curve, the open trades); returns
    (our trades, backtesting.py's stats, working entry orders per bar as its strategy saw them)."""
    orders, kw = _orders(bars, entries, exits, direction, kind, levels, seed, sizes, portions)
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction,
                           accumulate=True, fill=fill, at_end=at_end, slippage=spread, margin=margin)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    working: list = []
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, exclusive_orders=False,
                                 trade_on_close=fill == "close", finalize_trades=at_end == "close", spread=spread,
                                 margin=margin, working=working, **kw)
    _same_as_backtesting(equity, trades, stats)
    still_open = trades[trades["is_open"]]
    bt_open = stats["_strategy"].trades
    assert len(still_open) == len(bt_open)
    for ours, theirs in zip(still_open, bt_open, strict=True):
        assert (ours["entry_bar"], ours["side"] * ours["size"]) == (theirs.entry_bar, theirs.size)
        np.testing.assert_allclose(ours["entry_price"], theirs.entry_price, rtol=1e-9)
    return trades, stats, np.array(working)


BOOK_CASES = [(k, lv, sz) for k in ("limit", "stop", "mixed") for lv, sz in (("none", None), ("none", 0.25),
                                                                             ("sl_tp", 0.25))]
BOOK_CASES += [("market", "sl_tp", None), ("market", "sl_tp", 0.25), ("market", "sl", 0.3), ("market", "tp", 0.3)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize(("kind", "levels", "size"), BOOK_CASES, ids=["-".join(map(str, c)) for c in BOOK_CASES])
def test_several_working_entries(name, direction, kind, levels, size):
    """buy(limit=..)/buy(stop=..) (sell for shorts; with both, sell() on exits nets against the longs) on each
    entry, all working until filled, with and without sl/tp, all the margin (a later fill is cancelled while it
    is used) or a quarter of it; position.close() on exits leaves them working. Market entries with sl/tp: their
    stop-loss and take-profit orders are working orders too, in the same book."""
    bars, entries, exits, cash, commission = _case(name)
    sizes = None if size is None else np.full(len(bars), size)
    trades, stats, working = _check(bars, entries, exits, cash, commission, direction, kind, levels, sizes=sizes)
    if name == "plain" and kind != "market":
        assert working.max() >= 3, "scenario must have several entry orders working at once"
        if size is not None:
            assert (trades["entry_bar"][1:] < trades["exit_bar"][:-1]).any(), "scenario must hold several trades"
        if levels == "sl_tp":
            reasons = set(trades["exit_reason"][~trades["is_open"]].tolist())
            assert {1, 2} <= reasons, "scenario must exercise the stop-loss and the take-profit"


@pytest.mark.parametrize("name", ["plain", "dense_signals_reentry", "signal_on_last_bar", "random_0", "random_6"])
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize(("fill", "at_end"), [("close", "keep_open"), ("next_open", "close"), ("close", "close")])
def test_trade_on_close_and_finalize_trades(name, direction, fill, at_end):
    """trade_on_close=True (market and hit stop orders at the previous close, a market fill booked a bar
    earlier) and finalize_trades=True (the last pass closes the trades and fills what the last bar placed)."""
    bars, entries, exits, cash, commission = _case(name)
    _check(bars, entries, exits, cash, commission, direction, "mixed", "sl_tp", seed=1, fill=fill, at_end=at_end)


SIZES = ["fraction", "small_fraction", "units", "mixed_fractions"]


@pytest.mark.parametrize("name", ["plain", "dense_signals_reentry", "high_commission", "random_5"])
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("levels", ["none", "sl_tp"])
def test_sizes(name, direction, size, levels):
    """buy(size=fraction) sized on the margin available at its fill (valued at that bar's close), and whole
    units; with both, a sell of n units closes the oldest longs first and opens a short with what is left."""
    bars, entries, exits, cash, commission = _case(name)
    n = len(bars)
    rng = np.random.default_rng(n)
    sizes = {"fraction": np.full(n, 0.3), "small_fraction": np.full(n, 0.1),
             "units": np.where(exits & ~entries, 10.0, 7.0),  # (with both, a sell of 10 nets 1 trade and part of one)
             "mixed_fractions": np.where(rng.random(n) < 0.5, rng.uniform(0.05, 0.6, n), np.nan)}[size]
    trades, _, _ = _check(bars, entries, exits, cash, commission, direction, "mixed", levels, sizes=sizes)
    if name == "plain" and direction == "both" and size == "units" and levels == "none":
        closed = trades[~trades["is_open"]]
        assert ((closed["size"] < 7) & (closed["exit_reason"] == 0)).any(), "scenario must net part of a trade"


@pytest.mark.parametrize("name", ["plain", "dense_signals_reentry", "random_2", "random_9"])
@pytest.mark.parametrize("direction", ["long", "short"])
@pytest.mark.parametrize("portion", ["half", "third", "mixed"])
@pytest.mark.parametrize(("kind", "levels"), [("limit", "none"), ("mixed", "none"), ("mixed", "sl_tp")])
def test_close_a_portion(name, direction, portion, kind, levels):
    """position.close(portion): each open trade closes round(size * portion) units (at least one), the newest
    booked first; the working entry orders stay."""
    bars, entries, exits, cash, commission = _case(name)
    n = len(bars)
    rng = np.random.default_rng(n)
    portions = {"half": np.full(n, 0.5), "third": np.full(n, 1 / 3),
                "mixed": np.where(rng.random(n) < 0.5, rng.uniform(0.1, 0.9, n), np.nan)}[portion]
    trades, _, _ = _check(bars, entries, exits, cash, commission, direction, kind, levels, sizes=np.full(n, 0.4),
                          portions=portions)
    if name == "plain" and levels == "none":
        entered = np.array([trades[trades["entry_bar"] == b]["size"].sum() for b in trades["entry_bar"]])
        assert (trades["size"] < entered).any(), "scenario must exercise a partial close"


@pytest.mark.parametrize("name", ["plain", "random_4"])
@pytest.mark.parametrize("direction", ["long", "both"])
@pytest.mark.parametrize(("spread", "margin"), [(0.002, 1.0), (0.0, 0.5), (0.0, 0.05)])
def test_spread_and_margin(name, direction, spread, margin):
    """spread (our slippage: entries only) and margin (leverage; 20x ruins: equity 0 from then on)."""
    bars, entries, exits, cash, commission = _case(name)
    _check(bars, entries, exits, cash, commission, direction, "mixed", "sl_tp", sizes=np.full(len(bars), 0.5),
           spread=spread, margin=margin)


def test_a_run_ending_with_orders_still_working():
    """Limits 2 % to 60 % below the price: some fill, most never do and are still working at the end."""
    bars, entries, exits, cash, commission = _case("plain")
    n = len(bars)
    limit = bars.close * (1 - np.random.default_rng(3).uniform(0.02, 0.6, n))
    orders = Orders(limit=limit, size=np.full(n, 0.05), size_type="equity")
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, accumulate=True)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, limit=limit, sizes=np.full(n, 0.05),
                                 exclusive_orders=False)
    _same_as_backtesting(equity, trades, stats)
    unfilled = [o for o in stats["_strategy"].orders if not o.is_contingent]
    assert len(unfilled) >= 2 and len(trades) >= 3, "scenario must end with entry orders never filled"


def _goog():
    import backtesting.test

    from tests.engine.test_peer_stats import frame_bars

    return frame_bars(backtesting.test.GOOG)


@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("kind", ["limit", "stop", "mixed"])
@pytest.mark.parametrize(("levels", "size"), [("none", None), ("sl_tp", 0.2), ("sl", 5.0), ("tp", 0.5)])
@pytest.mark.parametrize("p", [0.05, 0.2])
def test_on_goog(direction, kind, levels, size, p):
    """backtesting.py's bundled GOOG (2004-2013 daily): random signals, cash 10,000, commission 0.2 %."""
    bars = _goog()
    n = len(bars)
    rng = np.random.default_rng(int(p * 100) + len(kind))
    entries, exits = rng.random(n) < p, rng.random(n) < p
    sizes = None if size is None else np.full(n, size)
    _, _, working = _check(bars, entries, exits, 10_000.0, 0.002, direction, kind, levels, seed=n, sizes=sizes)
    assert working.max() >= 2


@pytest.mark.parametrize(("data", "kind", "levels", "size", "fill"),
                         [("plain", "mixed", "sl_tp", 0.25, "next_open"), ("goog", "limit", "none", None, "next_open"),
                          ("goog", "stop", "sl_tp", 0.3, "close"), ("random_5", "mixed", "tp", None, "next_open")])
def test_peer_stats(data, kind, levels, size, fill):
    """peer_stats equals backtesting.py's own stats Series for runs with several working orders."""
    from engine.backtest import run_backtest
    from engine.compat import peer_stats
    from tests.engine.test_peer_stats import GivenSignals, assert_same_table

    if data == "goog":
        bars = _goog()
        rng = np.random.default_rng(11)
        entries, exits = rng.random(len(bars)) < 0.1, rng.random(len(bars)) < 0.1
        cash, commission = 10_000.0, 0.002
    else:
        bars, entries, exits, cash, commission = _case(data)
    sizes = None if size is None else np.full(len(bars), size)
    orders, kw = _orders(bars, entries, exits, "long", kind, levels, 5, sizes)
    config = SimConfig.preset("backtesting", init_cash=cash, commission=commission, accumulate=True, fill=fill)
    result = run_backtest(bars, GivenSignals(entries, exits, orders), {}, config)
    theirs = backtesting_py_stats(bars, entries, exits, cash, commission, exclusive_orders=False,
                                  trade_on_close=fill == "close", **kw)
    assert_same_table(peer_stats(result), theirs)
    assert theirs["# Trades"] >= 3


@pytest.mark.parametrize("name", ["plain", "random_4", "dense_signals_reentry"])
@pytest.mark.parametrize("direction", ["long", "short"])
def test_a_ruin_with_several_trades_open(name, direction):
    """20x leverage, a tenth of the margin per limit order, no exits: the account is ruined with several trades
    open; the broker closes every other one at the close (its loop removes from the list it walks), the rest stay
    open in its books, and the equity is 0 from there."""
    bars, entries, exits, cash, commission = _case(name)
    trades, stats, _ = _check(bars, entries, np.zeros_like(exits), cash, commission, direction, "limit", "none",
                              sizes=np.full(len(bars), 0.1), margin=0.05)
    ruined = trades[trades["exit_reason"] == 5]
    if direction == "long":
        assert len(ruined) >= 2 and trades["is_open"].sum() >= 2, "scenario must ruin several trades"
