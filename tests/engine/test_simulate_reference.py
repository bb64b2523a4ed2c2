"""The simulate kernel equals the plain-Python reference on random data, signals and configs."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bars import Bars
from engine.config import SimConfig
from engine.simulation import SignalArrays, simulate, simulate_logged
from tests.engine.market import random_bars
from tests.engine.reference_simulate import assert_same_run, reference_simulate
from tests.engine.test_orders import _reference_orders


def _config(on_entry_while_long, accumulate, **fields):
    # accumulate and reenter are two answers to one signal (refused together)
    return SimConfig(on_entry_while_long="ignore" if accumulate else on_entry_while_long, accumulate=accumulate,
                     **fields)


configs = st.builds(
    _config,
    init_cash=st.sampled_from([100.0, 1_000.0, 10_000.0]),
    commission=st.sampled_from([0.0, 0.001, 0.002, 0.01]),
    fixed_fee=st.sampled_from([0.0, 1.0]),
    slippage=st.sampled_from([0.0, 0.0005]),
    fill=st.sampled_from(["next_open", "close"]),
    sizing=st.sampled_from(["all", "all_units", "fixed", "percent", "value"]),
    size=st.sampled_from([0.5, 1.0]),
    sl=st.sampled_from([None, 0.02, 0.05]),
    tp=st.sampled_from([None, 0.03, 0.1]),
    trail=st.sampled_from([None, 0.01, 0.04]),
    direction=st.sampled_from(["long", "short", "both"]),
    on_entry_while_long=st.sampled_from(["ignore", "reenter"]),
    same_bar_conflict=st.sampled_from(["ignore", "entry_wins"]),
    at_end=st.sampled_from(["keep_open", "close"]),
    warmup_bars=st.integers(0, 3),
    margin=st.sampled_from([1.0, 1.0, 0.5, 0.2]),
    maintenance=st.sampled_from([0.0, 0.0, 0.1]),
    accumulate=st.sampled_from([False, False, True]),
    on_opposite_entry=st.sampled_from(["reverse", "reverse", "close", "ignore"]),
)


def _preset(compat, direction, at_end, fill, stop, sizing, accumulate, opposite, **money):
    if compat == "vectorbt":
        kind, size = sizing
        if kind == "percent" and direction == "both" and opposite == "reverse":
            kind, size = "all", 1.0  # refused by the preset (vectorbt cannot reverse a percent)
        return SimConfig.preset(compat, direction=direction, sizing=kind, size=size, accumulate=accumulate,
                                on_opposite_entry=opposite, **stop, **money)
    return SimConfig.preset(compat, direction=direction, at_end=at_end, fill=fill, accumulate=accumulate,
                            slippage=0.002 if stop else 0.0, **money)  # (its spread: drawn with the stops)


# the presets, with every option they accept: their preset-only rules (the long wins a tie, finalize_trades,
# trade_on_close's booking, vectorbt's stop order) against the reference too, not only against the peers
presets = st.builds(_preset, compat=st.sampled_from(["backtesting", "vectorbt"]),
                    direction=st.sampled_from(["long", "short", "both"]),
                    at_end=st.sampled_from(["keep_open", "close"]), fill=st.sampled_from(["next_open", "close"]),
                    stop=st.sampled_from([{}, {"sl": 0.03}, {"tp": 0.04}, {"trail": 0.03}, {"sl": 0.02, "tp": 0.03}]),
                    sizing=st.sampled_from([("all", 1.0), ("fixed", 3.0), ("fixed", 500.0), ("percent", 0.5),
                                            ("value", 2_000.0)]),
                    accumulate=st.sampled_from([False, True]),
                    opposite=st.sampled_from(["reverse", "close", "ignore"]),
                    init_cash=st.sampled_from([100.0, 10_000.0]), commission=st.sampled_from([0.0, 0.002]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=st.one_of(configs, presets), seed=st.integers(0, 10_000), n=st.integers(2, 120),
       p=st.sampled_from([0.05, 0.2, 0.5]), tick=st.sampled_from([None, 0.5]))
def test_kernel_equals_reference(cfg, seed, n, p, tick):
    bars = random_bars(seed, n, tick=tick)
    rng = np.random.default_rng(seed)
    e, x, se, sx = (rng.random(n) < p for _ in range(4))
    sig = SignalArrays(e, x, se, sx)
    # what the kernel sees after direction mapping
    from engine.simulation import _directional
    ke, kx, kse, ksx = _directional(sig, cfg.direction, n)
    reference = reference_simulate(bars.open, bars.high, bars.low, bars.close, ke, kx, kse, ksx, cfg, with_log=True)
    assert_same_run(simulate_logged(bars, sig, cfg), reference)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=st.one_of(configs, presets), seed=st.integers(0, 10_000), n=st.integers(50, 400),
       vol=st.sampled_from([0.02, 0.08]))
def test_kernel_equals_reference_with_sparse_signals(cfg, seed, n, vol):
    """Few signals: long stretches of bars where nothing happens, which the kernel marks to the close in a
    tight loop (docs/simulation.md, "Quiet bars"), up to and including equity reaching 0 in one of them."""
    bars = random_bars(seed, n, vol=vol)
    rng = np.random.default_rng(seed)
    e, x, se, sx = (rng.random(n) < 0.01 for _ in range(4))
    e[rng.integers(0, 5)] = True
    sig = SignalArrays(e, x, se, sx)
    from engine.simulation import _directional
    ke, kx, kse, ksx = _directional(sig, cfg.direction, n)
    reference = reference_simulate(bars.open, bars.high, bars.low, bars.close, ke, kx, kse, ksx, cfg, with_log=True)
    assert_same_run(simulate_logged(bars, sig, cfg), reference)


def test_a_position_going_bankrupt_between_signals_equals_the_reference():
    """A 5x long bought at bar 1 and never signalled again: the price falls until the equity is gone on a bar
    with no signal. The kernel stops there, as the reference does."""
    n = 60
    close = 100.0 * np.cumprod(np.r_[1.0, np.full(n - 1, 0.99)])
    bars = Bars.from_arrays(close, close * 1.001, close * 0.999, close)
    e = np.zeros(n, dtype=bool)
    e[0] = True
    z = np.zeros(n, dtype=bool)
    cfg = SimConfig(margin=0.2)
    reference = reference_simulate(bars.open, bars.high, bars.low, bars.close, e, z, z, z, cfg)
    run = simulate(bars, SignalArrays(e, z, z, z), cfg)
    assert_same_run(run, reference)
    assert run[2] != 0  # bankrupt


def _vbt_accumulate(direction, sizing, opposite, stop, **money):
    kind, size = sizing
    if kind == "percent" and direction == "both" and opposite == "reverse":
        opposite = "close"  # refused by the preset (vectorbt cannot reverse a percent)
    return SimConfig.preset("vectorbt", direction=direction, sizing=kind, size=size, accumulate=True,
                            on_opposite_entry=opposite, **stop, **money)


# vectorbt's accumulation in every direction and size: shorts sized from its free cash (cash less twice the
# debt) or by a size whatever the cash, exits by a percent of the position (long) or of the cash (short), lots
# under its min_size rejected
vbt_accumulate = st.builds(
    _vbt_accumulate, direction=st.sampled_from(["long", "short", "both"]),
    sizing=st.sampled_from([("all", 1.0), ("fixed", 3.0), ("fixed", 500.0), ("value", 2_000.0), ("percent", 0.5),
                            ("percent", 0.1), ("percent", 1.0)]),
    opposite=st.sampled_from(["reverse", "close", "ignore"]),
    stop=st.sampled_from([{}, {}, {"sl": 0.03}, {"tp": 0.04}, {"trail": 0.03}, {"sl": 0.02, "tp": 0.03}]),
    init_cash=st.sampled_from([100.0, 10_000.0]), commission=st.sampled_from([0.0, 0.002, 0.02]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=vbt_accumulate, seed=st.integers(0, 10_000), n=st.integers(2, 200),
       p=st.sampled_from([0.02, 0.2, 0.5]), tick=st.sampled_from([None, 0.5]))
def test_kernel_equals_reference_under_vectorbt_accumulation(cfg, seed, n, p, tick):
    bars = random_bars(seed, n, tick=tick)
    rng = np.random.default_rng(seed)
    e, x = rng.random(n) < p, rng.random(n) < p
    sig = SignalArrays(e, x)
    from engine.simulation import _directional
    ke, kx, kse, ksx = _directional(sig, cfg.direction, n)
    if cfg.direction == "both":  # (vectorbt's both: exits are short entries, there are no exits)
        kx = ksx = np.zeros(n, dtype=bool)
    reference = reference_simulate(bars.open, bars.high, bars.low, bars.close, ke, kx, kse, ksx, cfg, with_log=True)
    assert_same_run(simulate_logged(bars, sig, cfg), reference)


def test_a_vectorbt_short_trading_on_below_zero_between_signals_equals_the_reference():
    """vectorbt's preset: a short of 50 units sold whatever the cash of 1,000, the price rising through the
    ruin on bars with no signal: the quiet loop hands those bars to the full bar, which marks them and goes on;
    a later exit buys back what the cash pays."""
    n = 60
    close = 100.0 * np.cumprod(np.r_[1.0, np.full(n - 1, 1.01)])
    bars = Bars.from_arrays(close, close * 1.001, close * 0.999, close)
    e = np.zeros(n, dtype=bool)
    x = np.zeros(n, dtype=bool)
    e[0], x[50] = True, True
    z = np.zeros(n, dtype=bool)
    cfg = SimConfig.preset("vectorbt", direction="short", sizing="fixed", size=50.0, init_cash=1_000.0)
    reference = reference_simulate(bars.open, bars.high, bars.low, bars.close, z, z, e, x, cfg)
    run = simulate(bars, SignalArrays(e, x), cfg)
    assert_same_run(run, reference)
    equity, trades, status, _ = run
    assert status == 1 and equity[-1] < 0.0 and trades["exit_bar"][0] == 50 and trades["is_open"][-1]


# backtesting.py's exclusive_orders=False with limit and stop entries: its order book (several working orders,
# stop-loss and take-profit orders, position.close(portion), finalize_trades' last pass, a ruin), every option of
# the preset; levels on either side of the price (the peer refuses some; the book takes them as they come)
bt_book = st.builds(
    lambda **kw: SimConfig.preset("backtesting", accumulate=True, **kw),
    direction=st.sampled_from(["long", "short", "both"]), fill=st.sampled_from(["next_open", "close"]),
    at_end=st.sampled_from(["keep_open", "close"]), slippage=st.sampled_from([0.0, 0.002]),
    margin=st.sampled_from([1.0, 0.5, 0.05]), init_cash=st.sampled_from([100.0, 10_000.0]),
    commission=st.sampled_from([0.0, 0.002, 0.02]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=bt_book, seed=st.integers(0, 10_000), n=st.integers(2, 150), p=st.sampled_from([0.02, 0.2, 0.5]),
       units=st.booleans(), portions=st.booleans(), tick=st.sampled_from([None, 0.5]), entry_prices=st.booleans())
def test_kernel_equals_reference_with_backtesting_working_orders(cfg, seed, n, p, units, portions, tick,
                                                                entry_prices):
    """(entry_prices False: market entries whose stop-loss and take-profit orders are the working orders)"""
    from engine.simulation import _directional, order_arrays
    from engine.strategies.base import Orders

    b = random_bars(seed, n, tick=tick)
    rng = np.random.default_rng(seed)
    c = b.close
    e, x = rng.random(n) < p, rng.random(n) < p
    kind = rng.random(n) if entry_prices else np.ones(n)
    offset = c * rng.uniform(-0.03, 0.03, n)

    def some(a, share=0.5):
        return np.where(rng.random(n) < share, a, np.nan)

    size = some(np.floor(rng.uniform(1, 30, n)) if units else rng.uniform(0.05, 0.99, n), 0.6)
    orders = Orders(limit=np.where(kind < 0.35, c + offset, np.nan),
                    stop=np.where((kind >= 0.35) & (kind < 0.7), c + offset, np.nan),
                    size=size, size_type="units" if units else "equity",
                    sl_price=some(c * rng.uniform(0.9, 1.1, n), 0.3 if entry_prices else 0.6),
                    tp_price=some(c * rng.uniform(0.9, 1.1, n), 0.3 if entry_prices else 0.6),
                    exit_portion=some(rng.choice([0.25, 0.5, 1 / 3, 1.0], n)) if portions else None)
    sig = SignalArrays(e, x, orders=orders)
    ke, kx, kse, ksx = _directional(sig, cfg.direction, n)
    if cfg.direction == "both":  # (exits are sells, netted against the longs: no exits)
        kx = ksx = np.zeros(n, dtype=bool)
    reference = reference_simulate(b.open, b.high, b.low, b.close, ke, kx, kse, ksx, cfg,
                                   _reference_orders(order_arrays(orders, n, cfg), n))
    assert_same_run(simulate(b, sig, cfg), reference)
