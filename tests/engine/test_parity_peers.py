"""compat presets reproduce backtesting.py 0.6.6 and vectorbt 1.2.0 (run here, same inputs) to 1e-9.

Each scenario pins one rule of docs/compat.md: cancelled orders, re-entry while long,
same-bar entry+exit, a signal on the last bar, an open trade at the end, ties from tick-rounded prices.
"""

import numpy as np
import pytest

from engine.config import SimConfig
from engine.errors import ConfigError
from engine.kernels.simulate_records import EXIT_SIGNAL
from engine.simulation import SignalArrays, simulate
from tests.engine.market import random_bars, random_signals

pytest.importorskip("backtesting")
pytest.importorskip("vectorbt")

from benchmarks.peer_runners import backtesting_py_stats, run_backtesting_py, run_vectorbt  # noqa: E402

pytestmark = pytest.mark.peers
RTOL = 1e-9

SCENARIOS = {
    # name: (seed, n, cash, commission, signal probability, tick, force a signal on the last bar)
    "plain": (1, 300, 10_000.0, 0.002, 0.05, None, False),
    "dense_signals_reentry": (2, 300, 10_000.0, 0.002, 0.3, None, False),
    "no_commission": (3, 250, 10_000.0, 0.0, 0.1, None, False),
    "high_commission": (4, 250, 10_000.0, 0.02, 0.1, None, False),
    "cancelled_orders_small_cash": (5, 300, 102.0, 0.002, 0.15, None, False),
    "signal_on_last_bar": (6, 200, 10_000.0, 0.002, 0.1, None, True),
    "tick_prices_ties": (7, 300, 10_000.0, 0.001, 0.2, 0.5, False),
    "long_run": (8, 2_000, 100_000.0, 0.001, 0.02, None, False),
}
for _s in range(10):
    SCENARIOS[f"random_{_s}"] = (100 + _s, 150 + 37 * _s, 10_000.0, 0.001 * (_s % 4), 0.05 + 0.03 * _s, None,
                                 _s % 3 == 0)


def _case(name):
    seed, n, cash, commission, p, tick, last = SCENARIOS[name]
    bars = random_bars(seed, n, tick=tick)
    entries, exits = random_signals(seed, n, p, last_bar=last)
    return bars, entries, exits, cash, commission


def _rel(a, b):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-9)


def _same_as_backtesting(equity, trades, stats) -> np.ndarray:
    """Our equity curve and every closed trade equal backtesting.py's (its stats Series); returns ours."""
    _rel(equity, stats["_equity_curve"]["Equity"].to_numpy())
    closed = trades[~trades["is_open"]]
    bt = stats["_trades"]
    assert len(closed) == len(bt)
    for ours, theirs in (("entry_bar", "EntryBar"), ("exit_bar", "ExitBar"), ("entry_price", "EntryPrice"),
                         ("exit_price", "ExitPrice"), ("pnl", "PnL")):
        _rel(closed[ours], bt[theirs].to_numpy())
    _rel(closed["size"] * closed["side"], bt["Size"].to_numpy())
    _rel(closed["entry_fee"] + closed["exit_fee"], bt["Commission"].to_numpy())
    return closed


# direction: buy() / sell(); at_end="close": finalize_trades=True; fill="close": trade_on_close=True
OPTIONS = [(d, a, f) for f in ("next_open", "close") for a in ("keep_open", "close") for d in ("long", "short", "both")]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("direction", "at_end", "fill"), OPTIONS, ids=["-".join(o) for o in OPTIONS])
def test_backtesting_preset_matches_backtesting_py(name, direction, at_end, fill):
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction, at_end=at_end,
                           fill=fill)
    equity, trades, status, cancelled = simulate(bars, SignalArrays(entries, exits), cfg)
    bt_equity, bt_trades, bt_open = run_backtesting_py(bars, entries, exits, cash, commission, direction,
                                                       finalize_trades=at_end == "close",
                                                       trade_on_close=fill == "close")

    _rel(equity, bt_equity)
    closed = trades[~trades["is_open"]]
    assert len(closed) == len(bt_trades)
    _rel(closed["entry_bar"], bt_trades["EntryBar"].to_numpy())
    _rel(closed["exit_bar"], bt_trades["ExitBar"].to_numpy())
    _rel(closed["size"] * closed["side"], bt_trades["Size"].to_numpy())
    _rel(closed["entry_price"], bt_trades["EntryPrice"].to_numpy())
    _rel(closed["exit_price"], bt_trades["ExitPrice"].to_numpy())
    _rel(closed["pnl"], bt_trades["PnL"].to_numpy())
    _rel(closed["entry_fee"] + closed["exit_fee"], bt_trades["Commission"].to_numpy())
    still_open = trades[trades["is_open"]]
    assert len(still_open) == len(bt_open)
    for ours, (size, entry_bar, entry_price) in zip(still_open, bt_open, strict=True):
        assert ours["entry_bar"] == entry_bar and ours["size"] == abs(size)
        _rel(ours["entry_price"], entry_price)
    if name == "cancelled_orders_small_cash":
        assert cancelled > 0, "scenario must exercise the broker's cancel rule"
    if name == "dense_signals_reentry":
        reentries = np.sum(closed["exit_bar"][:-1] == closed["entry_bar"][1:])
        assert reentries > 0, "scenario must exercise close-and-rebuy on an entry while long"
    if name == "plain" and direction == "both":
        assert np.any(closed["side"][:-1] != closed["side"][1:]), "scenario must exercise reversals"
    if fill == "close" and name == "signal_on_last_bar":  # the peer never fills the last bar's orders
        assert (entries[-1] or exits[-1]) and not (trades["entry_bar"] == len(bars) - 1).any()
    if at_end == "close":  # finalize_trades: only an entry filled by its last pass may stay open (trade_on_close:
        # at the close before the last bar, booked there)
        assert (still_open["entry_bar"] == len(bars) - (2 if fill == "close" else 1)).all()
        if name == "plain" and direction == "both":
            assert closed["exit_bar"][-1] == len(bars) - (2 if fill == "close" else 1), \
                "scenario must exercise finalize_trades"


# sl_stop, tp_stop, sl_stop + sl_trail (vectorbt has one stop-loss: fixed or trailing, not both)
STOPS = {"none": {}, "sl": {"sl": 0.03}, "tp": {"tp": 0.04}, "trail": {"trail": 0.03},
         "sl_tp": {"sl": 0.03, "tp": 0.05}, "trail_tp": {"trail": 0.02, "tp": 0.06}}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("stops", sorted(STOPS))
def test_vectorbt_preset_matches_vectorbt(name, direction, stops):
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction=direction, **STOPS[stops])
    equity, trades, status, cancelled = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, direction, **STOPS[stops])

    _rel(equity, value)
    assert len(trades) == len(vt)
    _rel(trades["entry_bar"], vt["entry_idx"].to_numpy())
    _rel(trades["exit_bar"], vt["exit_idx"].to_numpy())
    _rel(trades["size"], vt["size"].to_numpy())
    _rel(trades["entry_price"], vt["entry_price"].to_numpy())
    _rel(trades["exit_price"], vt["exit_price"].to_numpy())
    _rel(trades["pnl"], vt["pnl"].to_numpy())
    _rel(trades["entry_fee"], vt["entry_fees"].to_numpy())
    _rel(trades["exit_fee"], vt["exit_fees"].to_numpy())
    np.testing.assert_array_equal(trades["is_open"], vt["status"].to_numpy() == 0)
    if name == "dense_signals_reentry":
        both = entries & exits
        assert both.any(), "scenario must exercise the same-bar entry+exit rule"
    if name == "plain" and direction != "long":
        assert (trades["side"] < 0).any(), "scenario must trade short"
    if name == "plain" and stops != "none":
        assert (trades["exit_reason"] != 0).any(), "scenario must exercise the stops"


# size with size_type amount (our sizing fixed: 5 units fit the cash, 500 do not and are cut, as vectorbt's
# allow_partial does), percent and value; a short of a given size is sold whatever the cash (500 units ruin most
# scenarios, and vectorbt trades on below zero)
SIZES = [("fixed", 5.0, "long"), ("fixed", 500.0, "long"), ("percent", 0.5, "long"), ("percent", 1.0, "short"),
         ("percent", 0.3, "short"), ("fixed", 5.0, "short"), ("fixed", 500.0, "short"), ("value", 500.0, "short"),
         ("fixed", 5.0, "both"), ("value", 500.0, "both")]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("sizing", "size", "direction"), SIZES, ids=[f"{a}-{b:g}-{c}" for a, b, c in SIZES])
def test_vectorbt_preset_sizes_as_vectorbt(name, sizing, size, direction):
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction=direction, sizing=sizing,
                           size=size)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, direction, sizing=sizing, size=size)
    _rel(equity, value)
    assert len(trades) == len(vt)
    _rel(trades["size"], vt["size"].to_numpy())
    _rel(trades["pnl"], vt["pnl"].to_numpy())
    _rel(trades["entry_fee"] + trades["exit_fee"], (vt["entry_fees"] + vt["exit_fees"]).to_numpy())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("opposite", ["close", "ignore"])
def test_vectorbt_percent_sizes_with_both(name, opposite):
    """from_signals(direction="both", size_type="percent", upon_opposite_entry="close" | "ignore"): no
    reversal, which vectorbt refuses for a percent size."""
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction="both", sizing="percent",
                           size=0.5, on_opposite_entry=opposite)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, "both", sizing="percent", size=0.5,
                             upon_opposite_entry=opposite)
    _same_as_vectorbt(equity, trades, value, vt)


@pytest.mark.parametrize(("sizing", "direction"), [("percent", "both"), ("all_units", "long")])
@pytest.mark.parametrize("accumulate", [False, True])
def test_vectorbt_sizes_it_does_not_reproduce_are_refused(sizing, direction, accumulate):
    """vectorbt has no whole-units size, and raises on reversing a position sized by a percent."""
    with pytest.raises(ConfigError, match="cannot be combined with compat='vectorbt'"):
        SimConfig.preset("vectorbt", sizing=sizing, size=0.5, direction=direction, accumulate=accumulate)
    if sizing == "percent":  # closing or ignoring the opposite entry does not reverse: reproduced
        for opposite in ("close", "ignore"):
            SimConfig.preset("vectorbt", sizing=sizing, size=0.5, direction=direction, accumulate=accumulate,
                             on_opposite_entry=opposite)


def test_vectorbt_has_one_stop_loss_fixed_or_trailing():
    with pytest.raises(ConfigError, match="one stop-loss"):
        SimConfig.preset("vectorbt", sl=0.03, trail=0.02)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("kind", ["fraction", "units", "mixed_none"])
def test_backtesting_buy_with_a_size(name, kind):
    """buy(size=f) with f < 1 (whole units of that fraction of the cash) or size=whole units, per bar."""
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case(name)
    rng = np.random.default_rng(len(name))
    n = len(bars)
    if kind == "units":
        sizes, size_type = rng.integers(1, 120, n).astype(float), "units"
    else:
        sizes, size_type = rng.uniform(0.05, 0.99, n), "equity"
        if kind == "mixed_none":
            sizes[rng.random(n) < 0.5] = np.nan  # plain buy() on those bars
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission)
    equity, trades, _, cancelled = simulate(bars, SignalArrays(entries, exits, orders=Orders(size=sizes,
                                                                                           size_type=size_type)), cfg)
    _same_as_backtesting(equity, trades, backtesting_py_stats(bars, entries, exits, cash, commission, sizes=sizes))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("levels", ["sl", "tp", "sl_tp"])
def test_backtesting_buy_with_sl_and_tp(name, direction, levels):
    """buy(sl=..., tp=...) / sell(sl=..., tp=...) with prices set from the signal bar's close."""
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case(name)
    n = len(bars)
    # the side each bar's order opens: short for sells (direction short; exits with both)
    short = np.full(n, direction == "short") | ((direction == "both") & exits & ~entries)
    side = np.where(short, -1.0, 1.0)
    sl = bars.close * (1 - side * 0.03) if "sl" in levels else None
    tp = bars.close * (1 + side * 0.05) if "tp" in levels else None
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=Orders(sl_price=sl, tp_price=tp)), cfg)
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, sl=sl, tp=tp)
    closed = _same_as_backtesting(equity, trades, stats)
    if name == "plain":
        assert (closed["exit_reason"] != 0).any(), "scenario must exercise the stops"


ENTRY_ORDERS = ["limit", "stop", "limit_sl_tp", "stop_sl"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("kind", ENTRY_ORDERS)
def test_backtesting_limit_and_stop_entries(name, direction, kind):
    """buy(limit=...) / buy(stop=...) (and sell), good till filled, with exclusive_orders: a new order cancels
    the working one and closes the open trade; position.close() leaves a working order alone."""
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case(name)
    n = len(bars)
    short = np.full(n, direction == "short") | ((direction == "both") & exits & ~entries)
    side = np.where(short, -1.0, 1.0)
    c = bars.close
    # a limit below the close to buy (above to sell); a stop above to buy (below to sell)
    level = c * (1 - side * 0.01) if kind.startswith("limit") else c * (1 + side * 0.01)
    entry = "limit" if kind.startswith("limit") else "stop"
    sl = c * (1 - side * 0.04) if "sl" in kind else None
    tp = c * (1 + side * 0.06) if "tp" in kind else None
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction)
    orders = Orders(**{entry: level}, sl_price=sl, tp_price=tp)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, sl=sl, tp=tp, **{entry: level})
    _same_as_backtesting(equity, trades, stats)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "both"])
@pytest.mark.parametrize("margin", [0.5, 0.2, 0.05])
def test_backtesting_margin(name, direction, margin):
    """Backtest(..., margin=m): leverage 1 / m sizes positions on m of their value; a ruined account shows
    equity 0 from its ruin on (20x leverage ruins most scenarios)."""

    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction, margin=margin)
    equity, trades, status, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    _same_as_backtesting(equity, trades, backtesting_py_stats(bars, entries, exits, cash, commission, direction,
                                                              margin=margin))
    if status == 1:  # ruined: shown as 0 from then on, as the peer shows it
        assert equity[-1] == 0.0
    if margin == 0.05 and name == "plain":
        assert status == 1, "scenario must exercise a ruin"


def test_orders_the_preset_does_not_reproduce_are_refused():
    from engine.errors import StrategyError
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case("plain")
    cfg = SimConfig.preset("backtesting")
    for orders in (Orders(limit=bars.close * 0.99, valid=3), Orders(size=2.5), Orders(size=1.0, size_type="equity"),
                   Orders(sl_dist=1.0), Orders(trail_dist=1.0)):
        with pytest.raises(StrategyError, match="orders cannot be combined with compat='backtesting'"):
            simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    with pytest.raises(StrategyError, match="compat='vectorbt'"):
        simulate(bars, SignalArrays(entries, exits, orders=Orders(size=0.5, size_type="equity")),
                 SimConfig.preset("vectorbt"))


# -- adding to a position and closing part of it ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("size", ["all", "fraction"])
@pytest.mark.parametrize("fill", ["next_open", "close"])
def test_backtesting_exclusive_orders_false(name, direction, size, fill):
    """Backtest(..., exclusive_orders=False): buy() while long adds a trade (sized on the margin still
    available); with both, sell() on an exit nets against the open trades, oldest first (hedging=False),
    and opens a short with what is left."""
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case(name)
    sizes = np.full(len(bars), 0.3) if size == "fraction" else None
    orders = Orders(size=sizes, size_type="equity") if sizes is not None else None
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction,
                           accumulate=True, fill=fill)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, sizes=sizes,
                                 exclusive_orders=False, trade_on_close=fill == "close")
    closed = _same_as_backtesting(equity, trades, stats)
    still_open = trades[trades["is_open"]]
    assert len(still_open) == len(stats["_strategy"].trades)
    if name == "plain" and size == "fraction" and direction != "both":  # (both: sells net trades one by one)
        assert (closed["exit_bar"][1:] == closed["exit_bar"][:-1]).any(), "scenario must exercise added trades"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "short"])
@pytest.mark.parametrize("portion", ["half", "third", "mixed"])
@pytest.mark.parametrize("exclusive", [True, False])
def test_backtesting_close_a_portion(name, direction, portion, exclusive):
    """position.close(portion): each trade closes that share of its units (rounded, at least one)."""
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case(name)
    n = len(bars)
    rng = np.random.default_rng(n)
    portions = {"half": np.full(n, 0.5), "third": np.full(n, 1 / 3),
                "mixed": np.where(rng.random(n) < 0.5, rng.uniform(0.1, 0.9, n), np.nan)}[portion]
    sizes = np.full(n, 0.4)
    orders = Orders(size=sizes, size_type="equity", exit_portion=portions)
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction,
                           accumulate=not exclusive)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, sizes=sizes,
                                 exclusive_orders=exclusive, portions=portions)
    closed = _same_as_backtesting(equity, trades, stats)
    if name == "plain":
        assert (closed["exit_bar"] < len(bars) - 1).any()
        partial = closed["size"] < np.array([trades[(trades["entry_bar"] == b)]["size"].sum() for b in
                                             closed["entry_bar"]])
        assert partial.any(), "scenario must exercise a partial close"


def _same_as_vectorbt(equity, trades, value, vt) -> None:
    """Our equity and every trade (bars, size, prices, pnl, fees) equal vectorbt's value and trade records."""
    _rel(equity, value)
    assert len(trades) == len(vt)
    for ours, theirs in (("entry_bar", "entry_idx"), ("exit_bar", "exit_idx"), ("size", "size"),
                         ("entry_price", "entry_price"), ("exit_price", "exit_price"), ("pnl", "pnl"),
                         ("entry_fee", "entry_fees"), ("exit_fee", "exit_fees")):
        _rel(trades[ours], vt[theirs].to_numpy())


VBT_ACCUMULATE = [("all", 1.0), ("fixed", 5.0), ("fixed", 500.0), ("value", 2_000.0)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("sizing", "size"), VBT_ACCUMULATE, ids=[f"{a}-{b:g}" for a, b in VBT_ACCUMULATE])
@pytest.mark.parametrize("accumulate", [False, True])
def test_vectorbt_accumulate_and_value_sizes(name, sizing, size, accumulate):
    """from_signals(accumulate=True): each entry buys `size` more, each exit sells `size` (all of it with the
    default size); one exit is one trade at the position's average entry price. size_type="value" too."""
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, sizing=sizing, size=size,
                           accumulate=accumulate)
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, sizing=sizing, size=size,
                             accumulate=accumulate)
    _same_as_vectorbt(equity, trades, value, vt)
    np.testing.assert_array_equal(trades["is_open"], vt["status"].to_numpy() == 0)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("sizing", "size"), VBT_ACCUMULATE[:2] + VBT_ACCUMULATE[3:],
                         ids=[f"{a}-{b:g}" for a, b in VBT_ACCUMULATE[:2] + VBT_ACCUMULATE[3:]])
@pytest.mark.parametrize("stops", ["sl", "tp", "sl_tp", "trail", "trail_tp"])
def test_vectorbt_accumulate_with_stops(name, sizing, size, stops):
    """from_signals(accumulate=True, sl_stop/tp_stop/sl_trail): one set of stops per position, moved to each
    added entry's levels (upon_stop_update="override"); a stop closes the whole position as one trade."""
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, sizing=sizing, size=size,
                           accumulate=True, **STOPS[stops])
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, sizing=sizing, size=size, accumulate=True,
                             **STOPS[stops])
    _same_as_vectorbt(equity, trades, value, vt)
    if name == "random_9" and sizing != "all":  # exercised: stops closing positions of several entries
        averaged = trades["entry_price"] != bars.close[trades["entry_bar"]]
        assert ((trades["exit_reason"] != EXIT_SIGNAL) & averaged).any()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("opposite", ["reverse", "close", "ignore"])
@pytest.mark.parametrize("stops", ["none", "sl_tp"])
def test_vectorbt_upon_opposite_entry(name, opposite, stops):
    """from_signals(direction="both", upon_opposite_entry=...): a short entry while long (an exit signal)
    reverses the position, only closes it, or is ignored."""
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction="both",
                           on_opposite_entry=opposite, **STOPS[stops])
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, "both", upon_opposite_entry=opposite,
                             **STOPS[stops])
    _rel(equity, value)
    assert len(trades) == len(vt)
    for ours, theirs in (("entry_bar", "entry_idx"), ("exit_bar", "exit_idx"), ("size", "size"),
                         ("entry_price", "entry_price"), ("exit_price", "exit_price"), ("pnl", "pnl")):
        _rel(trades[ours], vt[theirs].to_numpy())


def test_accumulation_the_presets_do_not_reproduce_is_refused():
    from engine.errors import StrategyError
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case("plain")
    # several working limit / stop orders are reproduced (tests/engine/test_parity_bt_orders.py); valid is not
    with pytest.raises(StrategyError, match="orders cannot be combined with compat='backtesting'"):
        simulate(bars, SignalArrays(entries, exits, orders=Orders(limit=bars.close * 0.99, valid=3.0)),
                 SimConfig.preset("backtesting", accumulate=True))
    # exclusive_orders=False is the preset's own answer to an entry while long: adding, not re-entering
    cfg = SimConfig.preset("backtesting", accumulate=True)
    assert cfg.on_entry_while_long == "ignore" and SimConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("kind", ["market", "fraction", "sl_tp", "finalize", "accumulate"])
def test_backtesting_spread(name, direction, kind):
    """Backtest(..., spread=s): entries fill s worse (a buy at price × (1 + s)), exits at the price itself; the
    commission of the sizing is priced before the spread, the one charged after it. Our --slippage under the
    preset."""
    from engine.strategies.base import Orders

    bars, entries, exits, cash, commission = _case(name)
    n, spread = len(bars), 0.002
    short = np.full(n, direction == "short") | ((direction == "both") & exits & ~entries)
    side = np.where(short, -1.0, 1.0)
    sizes = np.full(n, 0.4) if kind in ("fraction", "accumulate") else None
    sl = bars.close * (1 - side * 0.03) if kind == "sl_tp" else None
    tp = bars.close * (1 + side * 0.05) if kind == "sl_tp" else None
    orders = None if kind in ("market", "finalize") else Orders(size=sizes, size_type="equity", sl_price=sl,
                                                                tp_price=tp)
    cfg = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction,
                           slippage=spread, at_end="close" if kind == "finalize" else "keep_open",
                           accumulate=kind == "accumulate")
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, exits, orders=orders), cfg)
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, sizes=sizes, sl=sl, tp=tp,
                                 spread=spread, finalize_trades=kind == "finalize",
                                 exclusive_orders=kind != "accumulate")
    _same_as_backtesting(equity, trades, stats)


# -- vectorbt's accumulation short, by a percent, and in both directions --------------------------------------
# Sizes in units and value scale with the cash (5 units and 500 of value per 10,000): vectorbt sells a short of
# a given size whatever its cash, and a short the cash cannot carry ruins the account (below).
VBT_ACCUMULATE_SIDES = [("short", "all", 1.0), ("short", "fixed", 5.0), ("short", "value", 500.0),
                        ("short", "percent", 0.5), ("short", "percent", 1.0), ("long", "percent", 0.5),
                        ("long", "percent", 1.0)]
VBT_BOTH = [(s, z, o) for s, z in (("all", 1.0), ("fixed", 5.0), ("value", 500.0)) for o in ("reverse", "close",
                                                                                             "ignore")]
VBT_BOTH += [("percent", 0.5, o) for o in ("close", "ignore")]  # (vectorbt cannot reverse a percent)


def _vbt_size(sizing, size, cash):
    return size * cash / 10_000.0 if sizing in ("fixed", "value") else size


def _check_vectorbt_accumulation(bars, entries, exits, cash, commission, direction, sizing, size, stops="none",
                                 opposite=None):
    """Our run under the preset and vectorbt's from_signals(accumulate=True, ...) on the same signals: the
    value at every bar and every trade (bars, size, prices, pnl, fees, open or closed) equal. Returns ours."""
    size = _vbt_size(sizing, size, cash)
    more = {} if opposite is None else {"on_opposite_entry": opposite}
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction=direction, sizing=sizing,
                           size=size, accumulate=True, **STOPS[stops], **more)
    equity, trades, status, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, direction, sizing=sizing, size=size,
                             accumulate=True, upon_opposite_entry=opposite, **STOPS[stops])
    assert status == int(bool((value <= 0.0).any()))  # ruined (and trading on, as vectorbt does) or not
    _same_as_vectorbt(equity, trades, value, vt)
    np.testing.assert_array_equal(trades["is_open"], vt["status"].to_numpy() == 0)
    return trades


def _added(trades, bars):
    """Trades of several entries: their average entry price is not one bar's close."""
    return trades["entry_price"] != bars.close[trades["entry_bar"]]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("direction", "sizing", "size"), VBT_ACCUMULATE_SIDES,
                         ids=[f"{d}-{a}-{b:g}" for d, a, b in VBT_ACCUMULATE_SIDES])
@pytest.mark.parametrize("stops", ["none", "sl_tp"])
def test_vectorbt_accumulate_short_and_percent(name, direction, sizing, size, stops):
    """from_signals(accumulate=True, direction="shortonly" | "longonly", size_type=...): an added short is sized
    from vectorbt's free cash (its cash less twice the debt, the short's value at its entry prices), or by its
    size whatever the cash; an exit by a percent sells that share of a long and buys back what that share of
    the cash pays of a short."""
    bars, entries, exits, cash, commission = _case(name)
    trades = _check_vectorbt_accumulation(bars, entries, exits, cash, commission, direction, sizing, size, stops)
    if name == "dense_signals_reentry" and size < 1.0:  # (all the cash leaves none to add)
        assert _added(trades, bars).any(), "scenario must exercise added entries"
        if sizing == "percent" and stops == "none":  # exits of part of a position: its trades share the entry
            assert (trades["entry_bar"][1:] == trades["entry_bar"][:-1]).any(), "scenario must exit in parts"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("direction", "sizing", "size"), VBT_ACCUMULATE_SIDES,
                         ids=[f"{d}-{a}-{b:g}" for d, a, b in VBT_ACCUMULATE_SIDES])
@pytest.mark.parametrize("stops", ["sl", "tp", "trail", "trail_tp"])
def test_vectorbt_accumulate_short_and_percent_with_stops(name, direction, sizing, size, stops):
    """As above, with each of vectorbt's stops: one set per position, moved to each added entry's levels."""
    bars, entries, exits, cash, commission = _case(name)
    _check_vectorbt_accumulation(bars, entries, exits, cash, commission, direction, sizing, size, stops)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("sizing", "size", "opposite"), VBT_BOTH, ids=[f"{a}-{b:g}-{c}" for a, b, c in VBT_BOTH])
@pytest.mark.parametrize("stops", ["none", "sl_tp", "trail"])
def test_vectorbt_accumulate_both(name, sizing, size, opposite, stops):
    """from_signals(accumulate=True, direction="both", upon_opposite_entry=...): an entry on the position's side
    adds to it, one against it reverses, closes or is ignored (the whole position, as one trade)."""
    bars, entries, exits, cash, commission = _case(name)
    trades = _check_vectorbt_accumulation(bars, entries, exits, cash, commission, "both", sizing, size, stops,
                                          opposite)
    if name == "dense_signals_reentry" and stops == "none":
        if opposite != "ignore":  # (ignore: the first position is never closed)
            assert (trades["side"] < 0).any() and (trades["side"] > 0).any()
        if sizing != "all":  # (all the cash leaves none to add)
            assert _added(trades, bars).any(), "scenario must exercise added entries"


def _goog():
    import backtesting.test

    from tests.engine.test_peer_stats import frame_bars

    return frame_bars(backtesting.test.GOOG)


GOOG_CASES = [("short", "all", 1.0, None), ("short", "fixed", 5.0, None), ("short", "value", 500.0, None),
              ("short", "percent", 0.5, None), ("long", "percent", 0.5, None), ("both", "all", 1.0, "reverse"),
              ("both", "fixed", 5.0, "close"), ("both", "value", 500.0, "reverse"), ("both", "percent", 0.5, "close")]


@pytest.mark.parametrize(("direction", "sizing", "size", "opposite"), GOOG_CASES,
                         ids=[f"{d}-{a}-{b:g}-{o}" for d, a, b, o in GOOG_CASES])
@pytest.mark.parametrize("stops", ["none", "sl_tp", "trail"])
@pytest.mark.parametrize("p", [0.05, 0.2])
def test_vectorbt_accumulation_on_goog(direction, sizing, size, opposite, stops, p):
    """backtesting.py's bundled GOOG (2004-2013 daily, prices 100 to 700): random signals, cash 10,000,
    fees 0.2 %."""
    bars = _goog()
    entries, exits = random_signals(int(p * 100), len(bars), p)
    trades = _check_vectorbt_accumulation(bars, entries, exits, 10_000.0, 0.002, direction, sizing, size, stops,
                                          opposite)
    if p == 0.2 and stops == "none" and sizing != "all":
        assert _added(trades, bars).any(), "case must exercise added entries"


@pytest.mark.parametrize("name", ["cancelled_orders_small_cash", "random_4", "random_8", "signal_on_last_bar"])
@pytest.mark.parametrize("accumulate", [False, True])
def test_vectorbt_short_trades_on_below_zero(name, accumulate):
    """A short the cash cannot carry (500 units per 10,000 of cash, sold whatever the cash, as vectorbt sells a
    short of a given size): vectorbt's value goes below zero and it trades on, buying back only what its cash
    pays; so does the preset (the run's status says it was ruined)."""
    bars, entries, exits, cash, commission = _case(name)
    cfg = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction="short", sizing="fixed",
                           size=500.0, accumulate=accumulate)
    equity, trades, status, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, cash, commission, "short", sizing="fixed", size=500.0,
                             accumulate=accumulate)
    _same_as_vectorbt(equity, trades, value, vt)
    assert status == 1 and (value < 0.0).any()
    ruin = int(np.argmax(value <= 0.0))
    assert (trades["exit_bar"] > ruin).any(), "case must trade after the ruin"


def test_vectorbt_all_in_short_bought_back_with_what_its_cash_pays():
    """All the cash short at 100, the price triples: the buy-back costs more than vectorbt's cash (10,000 plus
    the short's proceeds), which buys back what it can, leaving the rest short; a later exit buys nothing."""
    from engine.bars import Bars

    close = np.array([100.0, 150.0, 190.0, 300.0, 320.0, 250.0, 90.0, 80.0])
    bars = Bars.from_arrays(close, close, close, close)
    entries = np.array([1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    exits = np.array([0, 0, 0, 1, 0, 1, 0, 1], dtype=bool)
    cfg = SimConfig.preset("vectorbt", init_cash=10_000.0, commission=0.001, direction="short")
    equity, trades, status, _ = simulate(bars, SignalArrays(entries, exits), cfg)
    value, vt = run_vectorbt(bars, entries, exits, 10_000.0, 0.001, "short")
    _same_as_vectorbt(equity, trades, value, vt)
    assert status == 1 and equity[3] < 0.0 < trades["size"][0] < trades["size"].sum()
