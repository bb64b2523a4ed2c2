"""Orders: limit and stop entries, their validity, per-order sizes, stops and targets (docs/simulation.md,
"Orders"). The kernel against the plain-Python reference on random orders, then one worked example per rule."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import SimConfig
from engine.errors import StrategyError
from engine.kernels.checks import RULE_AT_MOST_ONE, RULE_FRACTION, RULE_POSITIVE, RULE_WHOLE, first_bad_nb
from engine.kernels.simulate_records import EXIT_SIGNAL, EXIT_STOP_LOSS, EXIT_TAKE_PROFIT, EXIT_TRAILING, TRADE_DTYPE
from engine.simulation import SignalArrays, _directional, order_arrays, simulate
from engine.strategies.base import ORDER_SIZE_TYPES, Orders
from tests.engine.market import random_bars
from tests.engine.reference_simulate import assert_same_run, reference_simulate
from tests.engine.test_simulate_rules import bars

F, T = False, True

def _config(on_entry_while_long, accumulate, **fields):
    # accumulate and reenter are two answers to one signal (refused together)
    return SimConfig(on_entry_while_long="ignore" if accumulate else on_entry_while_long, accumulate=accumulate,
                     **fields)


configs = st.builds(
    _config,
    init_cash=st.sampled_from([1_000.0, 10_000.0]),
    commission=st.sampled_from([0.0, 0.002]),
    fixed_fee=st.sampled_from([0.0, 1.0]),
    slippage=st.sampled_from([0.0, 0.0005]),
    fill=st.sampled_from(["next_open", "close"]),
    sizing=st.sampled_from(["all", "percent"]),
    size=st.sampled_from([0.5, 1.0]),
    sl=st.sampled_from([None, 0.03]),
    tp=st.sampled_from([None, 0.05]),
    trail=st.sampled_from([None, 0.02]),
    direction=st.sampled_from(["long", "short", "both"]),
    on_entry_while_long=st.sampled_from(["ignore", "reenter"]),
    same_bar_conflict=st.sampled_from(["ignore", "entry_wins"]),
    at_end=st.sampled_from(["keep_open", "close"]),
    accumulate=st.sampled_from([False, True]),
    on_opposite_entry=st.sampled_from(["reverse", "close", "ignore"]),
)


def _random_orders(rng, bars, size_type):
    """Orders near the market: limits below / stops above the close (or the other way), some per-bar
    sizes, levels and distances; about half of each field unset (NaN)."""
    n = len(bars)
    c = np.asarray(bars.close)

    def some(values, p=0.5):
        return np.where(rng.random(n) < p, values, np.nan)

    kind = rng.random(n)
    offset = c * rng.uniform(-0.03, 0.03, n)
    limit = np.where(kind < 0.35, c + offset, np.nan)
    stop = np.where((kind >= 0.35) & (kind < 0.7), c + offset, np.nan)
    size = {"units": rng.uniform(0.5, 5, n), "equity": rng.uniform(0.1, 1.0, n), "value": rng.uniform(100, 900, n),
            "risk": rng.uniform(0.005, 0.05, n)}[size_type]
    sl_dist = some(c * rng.uniform(0.005, 0.05, n), 0.9 if size_type == "risk" else 0.4)
    valid = some(rng.integers(0, 6, n).astype(float)) if rng.random() < 0.5 else float(rng.integers(0, 4))
    exit_portion = some(rng.choice([0.25, 0.5, 1.0], n), 0.5) if rng.random() < 0.6 else None
    return Orders(limit=limit, stop=stop, valid=valid, exit_portion=exit_portion,
                  size=some(size, 0.6), size_type=size_type,
                  sl_price=some(c * rng.uniform(0.9, 1.1, n), 0.2) if size_type != "risk" else None,
                  tp_price=some(c * rng.uniform(0.9, 1.1, n), 0.2), sl_dist=sl_dist,
                  tp_dist=some(c * rng.uniform(0.005, 0.08, n), 0.4),
                  trail_dist=some(c * rng.uniform(0.005, 0.05, n), 0.3) if rng.random() < 0.7 else float(c[0] * 0.02))


def _reference_orders(arrays, n):
    """The kernel's order arrays as the reference reads them: a dict per bar of the fields set there."""
    out = []
    for k in range(n):
        d = {}
        for f in arrays._fields:
            a = getattr(arrays, f)
            if f != "size_type" and len(a) and not math.isnan(a[k if len(a) > 1 else 0]):
                d[f] = float(a[k if len(a) > 1 else 0])
        d["size_type"] = int(arrays.size_type[0])
        out.append(d)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs, seed=st.integers(0, 10_000), n=st.integers(2, 120), p=st.sampled_from([0.05, 0.2, 0.5]),
       size_type=st.sampled_from(ORDER_SIZE_TYPES))
def test_kernel_equals_reference_with_orders(cfg, seed, n, p, size_type):
    _kernel_vs_reference(cfg, seed, n, p, size_type)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs, seed=st.integers(0, 10_000), n=st.integers(100, 400), size_type=st.sampled_from(ORDER_SIZE_TYPES))
def test_kernel_equals_reference_with_orders_and_sparse_signals(cfg, seed, n, size_type):
    """Few signals: working orders wait through bars that do not reach them, and positions through bars that
    reach none of their levels: the kernel's quiet-bar loops (docs/simulation.md, "Quiet bars")."""
    _kernel_vs_reference(cfg, seed, n, 0.01, size_type)


def _kernel_vs_reference(cfg, seed, n, p, size_type):
    b = random_bars(seed, n)
    rng = np.random.default_rng(seed)
    e, x, se, sx = (rng.random(n) < p for _ in range(4))
    orders = _random_orders(rng, b, size_type)
    sig = SignalArrays(e, x, se, sx, orders)
    if size_type == "risk" and not cfg.sl:
        orders = Orders(**{**orders.__dict__, "sl_dist": np.where(np.isnan(orders.sl_dist), b.close * 0.02,
                                                                  orders.sl_dist)})
        sig = SignalArrays(e, x, se, sx, orders)
    ke, kx, kse, ksx = _directional(sig, cfg.direction, n)
    reference = reference_simulate(b.open, b.high, b.low, b.close, ke, kx, kse, ksx, cfg,
                                   _reference_orders(order_arrays(orders, n, cfg), n))
    assert_same_run(simulate(b, sig, cfg), reference)


# -- worked examples (docs/simulation.md, "Orders") --------------------------------------------------------
#            open  high  low  close
B = bars([(100, 101, 99, 100),     # 0
          (100, 102, 97, 101),     # 1
          (101, 104, 100, 103),    # 2
          (103, 106, 102, 105),    # 3
          (105, 106, 95, 96),      # 4
          (96, 99, 94, 98)])       # 5
NONE = [F] * 6


def run(entries, exits=NONE, orders=None, **cfg):
    cfg.setdefault("init_cash", 1000.0)
    return simulate(B, SignalArrays(np.array(entries), np.array(exits), orders=orders), SimConfig(**cfg))


def at(k, value, n=6):
    a = np.full(n, np.nan)
    a[k] = value
    return a


def test_a_limit_entry_fills_at_its_price_when_the_low_reaches_it():
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(limit=at(0, 98.0)))
    t = tr[0]
    assert (t["entry_bar"], t["entry_price"]) == (1, 98.0)  # bar 1: low 97 <= 98
    assert t["size"] == pytest.approx(1000 / 98)


def test_a_limit_entry_below_a_gap_fills_at_the_open():
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(limit=at(0, 100.5)))
    assert (tr[0]["entry_bar"], tr[0]["entry_price"]) == (1, 100.0)  # opened at 100, better than 100.5


def test_a_stop_entry_fills_when_the_high_reaches_it_and_lapses_after_valid_bars():
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(stop=at(0, 103.5), valid=at(0, 2.0)))
    assert (tr[0]["entry_bar"], tr[0]["entry_price"]) == (2, 103.5)  # bar 2: high 104
    _, tr, _, n_cancelled = run([T, F, F, F, F, F], orders=Orders(stop=at(0, 105.0), valid=at(0, 2.0)))
    assert len(tr) == 0 and n_cancelled == 0  # bars 1-2 never reached 105; at bar 3 it had lapsed
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(stop=at(0, 105.0)))  # until filled
    assert (tr[0]["entry_bar"], tr[0]["entry_price"]) == (3, 105.0)


def test_an_exit_signal_cancels_a_working_entry_and_a_new_entry_replaces_it():
    _, tr, _, _ = run([T, F, F, F, F, F], [F, T, F, F, F, F], orders=Orders(stop=at(0, 105.0)))
    assert len(tr) == 0
    _, tr, _, _ = run([T, T, F, F, F, F], orders=Orders(stop=np.array([105.0, 103.5, np.nan, np.nan, np.nan, np.nan])))
    assert (tr[0]["entry_bar"], tr[0]["entry_price"]) == (2, 103.5)


def test_a_stop_order_on_the_other_side_reverses_the_position_when_it_fills():
    entries, short_entries = np.array([T, F, F, F, F, F]), np.array([F, F, T, F, F, F])
    orders = Orders(stop=at(2, 99.0))  # short entry: a stop below the market
    sig = SignalArrays(entries, np.array(NONE), short_entries, np.array(NONE), orders)
    _, tr, _, _ = simulate(B, sig, SimConfig(init_cash=1000, direction="both"))
    first, second = tr[0], tr[1]
    assert (first["entry_bar"], first["exit_bar"], first["exit_price"], first["exit_reason"]) == (1, 4, 99.0,
                                                                                                  EXIT_SIGNAL)
    assert (second["side"], second["entry_bar"], second["entry_price"]) == (-1, 4, 99.0)


def test_stop_loss_and_take_profit_as_prices_and_as_distances_from_the_fill():
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(tp_price=at(0, 103.0)))
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (2, 103.0, EXIT_TAKE_PROFIT)
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(sl_dist=at(0, 2.5)))  # fill 100 -> stop 97.5
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (1, 97.5, EXIT_STOP_LOSS)
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(trail_dist=at(0, 4.0)))  # best 106 by bar 3 -> 102
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (4, 102.0, EXIT_TRAILING)


def test_an_order_level_wins_over_the_runs_fraction():
    _, tr, _, _ = run([T, F, F, F, F, F], sl=0.01)  # 1 % below the fill at 100: bar 1's low 97 hits it
    assert (tr[0]["exit_bar"], tr[0]["exit_price"]) == (1, 99.0)
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(sl_price=at(0, 90.0)), sl=0.01)
    assert tr[0]["is_open"]  # the order's own stop at 90 is never reached


def test_the_stop_loss_is_checked_in_the_bar_a_stop_entry_fills_the_worst_case_assumed():
    # stop entry at 103.5 fills in bar 2 (high 104); its stop 3 below, 100.5, is inside bar 2 (low 100)
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(stop=at(0, 103.5), sl_dist=at(0, 3.0)))
    t = tr[0]
    assert (t["entry_bar"], t["exit_bar"], t["exit_price"], t["exit_reason"]) == (2, 2, 100.5, EXIT_STOP_LOSS)


def test_a_level_already_passed_at_the_fill_closes_the_trade_at_once():
    _, tr, _, _ = run([T, F, F, F, F, F], orders=Orders(limit=at(0, 98.0), sl_price=at(0, 99.0)))
    t = tr[0]
    assert (t["entry_bar"], t["exit_bar"], t["entry_price"], t["exit_price"]) == (1, 1, 98.0, 98.0)
    assert t["exit_reason"] == EXIT_STOP_LOSS


@pytest.mark.parametrize(("size_type", "size", "units"), [
    ("units", 3.0, 3.0),
    ("value", 500.0, 5.0),
    ("equity", 0.5, 5.0),
    ("risk", 0.01, 5.0),  # 1 % of 1000 = 10 lost at the stop 2 below the fill at 100
])
def test_per_order_sizes(size_type, size, units):
    orders = Orders(size=at(0, size), size_type=size_type, sl_dist=at(0, 2.0) if size_type == "risk" else None)
    _, tr, _, _ = run([T, F, F, F, F, F], orders=orders)
    assert tr[0]["size"] == pytest.approx(units)


def test_an_order_bigger_than_the_cash_is_cancelled():
    _, tr, _, n_cancelled = run([T, F, F, F, F, F], orders=Orders(size=at(0, 11.0)))  # 1,100 > 1,000
    assert len(tr) == 0 and n_cancelled == 1


@pytest.mark.parametrize(("orders", "message"), [
    (Orders(limit=at(1, 99.0), stop=at(1, 101.0)), "bar 1 sets both limit and stop"),
    (Orders(limit=at(2, -5.0)), r"limit\[2\] = -5.0 must be a finite number > 0"),
    (Orders(valid=at(0, 1.5)), "valid"),
    (Orders(valid=at(4, -1.0)), r"valid\[4\] = -1.0 must be a whole number of bars >= 0"),
    (Orders(sl_dist=at(5, np.inf)), r"sl_dist\[5\] = inf must be a finite number > 0"),
    (Orders(exit_portion=at(1, 0.0)), r"exit_portion\[1\] = 0.0 must be a fraction in \(0, 1\]"),
    (Orders(size=at(0, 1.5), size_type="equity"), "fraction of equity <= 1"),
    (Orders(size=at(3, 0.01), size_type="risk"), "bar 3 sizes by risk but sets no stop-loss"),
    (Orders(size_type="lots"), "size_type 'lots' is not one of"),
    (Orders(sl_dist=np.ones(4)), r"sl_dist has shape \(4,\), expected \(6,\)"),
])
def test_bad_orders_are_refused_naming_the_field_and_bar(orders, message):
    with pytest.raises(StrategyError, match=message):
        run([T, F, F, F, F, F], orders=orders)


def test_market_orders_are_unchanged_by_an_orders_object_that_sets_nothing():
    plain = run([T, F, T, F, F, F], [F, T, F, F, T, F])
    empty = run([T, F, T, F, F, F], [F, T, F, F, T, F], orders=Orders())
    assert np.array_equal(plain[0], empty[0]) and len(plain[1]) == len(empty[1]) == 2
    assert all(np.array_equal(plain[1][f], empty[1][f]) for f in TRADE_DTYPE.names)  # (padding bytes differ)


def test_a_compat_preset_refuses_orders_it_does_not_reproduce():
    with pytest.raises(StrategyError, match="cannot be combined with compat='backtesting'"):
        simulate(B, SignalArrays(np.array([T, F, F, F, F, F]), np.array(NONE), orders=Orders(sl_dist=at(0, 2.0))),
                 SimConfig.preset("backtesting"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 120), units=st.booleans(),
       direction=st.sampled_from(["long", "short", "both"]), commission=st.sampled_from([0.0, 0.002]),
       levels=st.sampled_from(["", "sl", "tp", "sl_tp"]), entry=st.sampled_from(["market", "limit", "stop"]))
def test_backtesting_buy_size_kernel_equals_reference(seed, n, units, direction, commission, levels, entry):
    """The backtesting preset's buy(size=..., limit=..., stop=..., sl=..., tp=...) (a fraction below 1 in whole
    units, or whole units; exclusive orders; stop-loss before take-profit) against the reference;
    tests/engine/test_parity_peers.py checks the same against backtesting.py itself."""
    b = random_bars(seed, n)
    rng = np.random.default_rng(seed)
    e, x = rng.random(n) < 0.2, rng.random(n) < 0.2
    sizes = rng.integers(1, 50, n).astype(float) if units else rng.uniform(0.05, 0.99, n)
    sizes[rng.random(n) < 0.3] = np.nan
    c = np.asarray(b.close)
    sl = c * rng.uniform(0.9, 1.1, n) if "sl" in levels else None
    tp = c * rng.uniform(0.9, 1.1, n) if "tp" in levels else None
    price = {} if entry == "market" else {entry: c * rng.uniform(0.97, 1.03, n)}
    orders = Orders(size=sizes, size_type="units" if units else "equity", sl_price=sl, tp_price=tp, **price)
    cfg = SimConfig.preset("backtesting", commission=commission, direction=direction)
    sig = SignalArrays(e, x, orders=orders)
    ke, kx, kse, ksx = _directional(sig, cfg.direction, n)
    reference = reference_simulate(b.open, b.high, b.low, b.close, ke, kx, kse, ksx, cfg,
                                   _reference_orders(order_arrays(orders, n, cfg), n))
    assert_same_run(simulate(b, sig, cfg), reference)


# -- adding to a position and closing part of it (docs/simulation.md) -----------------------------------------


def test_accumulate_adds_a_lot_sized_from_the_free_cash():
    eq, tr, _, _ = run([T, T, F, F, F, F], [F, F, F, T, F, F], sizing="percent", size=0.5, accumulate=True)
    assert [(t["entry_bar"], t["exit_bar"], t["entry_price"], t["exit_price"]) for t in tr] == [
        (1, 4, 100.0, 105.0), (2, 4, 101.0, 105.0)]
    assert tr[0]["size"] == 5.0 and tr[1]["size"] == pytest.approx(0.5 * 500 / 101)
    assert tr[0]["pnl"] == 25.0 and tr[1]["pnl"] == pytest.approx(4 * 0.5 * 500 / 101)
    assert len(run([T, T, F, F, F, F], [F, F, F, T, F, F], sizing="percent", size=0.5)[1]) == 1  # ignored


def test_an_exit_portion_closes_that_share_and_keeps_the_rest_open():
    _, tr, _, _ = run([T, F, F, F, F, F], [F, F, T, F, T, F], orders=Orders(exit_portion=at(2, 0.5)))
    assert [(t["size"], t["exit_bar"], t["exit_price"], t["pnl"]) for t in tr] == [(5.0, 3, 103.0, 15.0),
                                                                                   (5.0, 5, 96.0, -20.0)]
    with pytest.raises(StrategyError, match="exit_portion"):
        run([T, F, F, F, F, F], [F, F, T, F, F, F], orders=Orders(exit_portion=1.5))


@pytest.mark.parametrize(("mode", "want"), [("reverse", [(1, 1, 3, 30.0), (-1, 3, 5, None)]),
                                            ("close", [(1, 1, 3, 30.0)]), ("ignore", [(1, 1, 5, -20.0)])])
def test_an_entry_against_the_position_reverses_closes_or_is_ignored(mode, want):
    short = np.array([F, F, T, F, F, F])
    _, tr, _, _ = simulate(B, SignalArrays(np.array([T, F, F, F, F, F]), np.array(NONE), short, np.array(NONE)),
                           SimConfig(init_cash=1000.0, direction="both", on_opposite_entry=mode))
    assert len(tr) == len(want)
    for t, (side, entry_bar, exit_bar, pnl) in zip(tr, want, strict=True):
        assert (t["side"], t["entry_bar"], t["exit_bar"]) == (side, entry_bar, exit_bar)
        if pnl is not None:
            assert t["pnl"] == pytest.approx(pnl)


def test_value_sizing_buys_that_much_currency():
    _, tr, _, _ = run([T, F, F, F, F, F], sizing="value", size=250.0)
    assert tr[0]["size"] == 2.5
    _, tr, _, cancelled = run([T, F, F, F, F, F], sizing="value", size=2_000.0)
    assert len(tr) == 0 and cancelled == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([np.nan, -np.inf, -2.0, -0.0, 0.0, 0.25, 1.0, 1.5, 3.0, np.inf]), max_size=40),
       st.sampled_from([RULE_POSITIVE, RULE_FRACTION, RULE_WHOLE, RULE_AT_MOST_ONE]))
def test_the_one_pass_order_check_finds_the_first_value_numpy_masks_find(values, rule):
    """first_bad_nb (engine/kernels/checks.py) against the rules written as numpy masks."""
    v = np.array(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = {RULE_POSITIVE: np.isfinite(v) & (v > 0), RULE_FRACTION: (v > 0) & (v <= 1),
              RULE_WHOLE: (v >= 0) & (v == np.floor(v)) & np.isfinite(v), RULE_AT_MOST_ONE: v <= 1.0}[rule]
    bad = ~np.isnan(v) & ~ok
    assert first_bad_nb(v, rule) == (int(np.argmax(bad)) if bad.any() else -1)
