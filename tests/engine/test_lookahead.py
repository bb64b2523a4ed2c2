"""No builtin strategy looks ahead: signals (and the orders they place) on bars[:k] equal the full-data
signals[:k]."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.strategies import BUILTINS
from tests.engine.test_strategies import random_bars

N_BARS = 600

# (strategy, params, first bar at which a signal can fire: one bar after both lines are defined)
CASES = [
    ("sma_cross", {}, 20),
    ("sma_cross", {"n1": 5, "n2": 50}, 50),
    ("ema_cross", {}, 26),
    ("ema_cross", {"n1": 3, "n2": 8}, 8),
    ("rsi_reversion", {}, 15),
    ("rsi_reversion", {"period": 7, "lower": 40, "upper": 60}, 8),
    ("bollinger_breakout", {}, 20),
    ("bollinger_breakout", {"period": 10, "k": 1.0}, 10),
    ("donchian_breakout", {}, 21),
    ("donchian_breakout", {"period": 5}, 6),
    ("donchian_stop", {}, 19),  # a stop entry placed at bar 19's close (the channel's first bar) works from bar 20
    ("donchian_stop", {"period": 5, "exit_period": 3, "atr_period": 9}, 8),
    ("donchian_stop", {"period": 5, "exit_period": 3, "atr_stop": 0.0}, 4),
    ("macd", {}, 34),
    ("macd", {"fast": 5, "slow": 13, "signal": 4}, 16),
]


@pytest.fixture(scope="module")
def bars():
    return random_bars(N_BARS, seed=11)


@pytest.mark.parametrize(("name", "params", "first_signal_bar"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_prefix_signals_equal_full_signals(bars, name, params, first_signal_bar):
    strategy = BUILTINS[name]
    full = strategy.signals(bars, **params)
    assert full.entries.any() and full.exits.any(), "vacuous: no signals on the full data"
    # Warm-up is where it matters: nothing may fire before the first bar both bars are defined.
    assert not full.entries[:first_signal_bar].any() and not full.exits[:first_signal_bar].any()
    w = first_signal_bar
    for k in sorted({1, 2, w - 1, w, w + 1, w + 2, w + 5, 97, 250, 401, N_BARS - 1, N_BARS}):
        part = strategy.signals(bars.slice(0, k), **params)
        np.testing.assert_array_equal(part.entries, full.entries[:k], err_msg=f"entries, k={k}")
        np.testing.assert_array_equal(part.exits, full.exits[:k], err_msg=f"exits, k={k}")
        assert_orders_equal(part.orders, full.orders, k)


@pytest.mark.parametrize(("name", "params", "first_signal_bar"), CASES[::2],
                         ids=[c[0] for c in CASES[::2]])
def test_future_bars_do_not_change_past_signals(bars, name, params, first_signal_bar):
    """Rewriting every bar after k (a crash) leaves signals up to k untouched."""
    strategy = BUILTINS[name]
    k = 300
    base = strategy.signals(bars, **params)
    crash = 0.5
    high, low, close = bars.high.copy(), bars.low.copy(), bars.close.copy()
    for arr in (high, low, close):
        arr[k:] *= crash
    changed = type(bars)(bars.ts, bars.open, high, low, close, bars.volume)
    other = strategy.signals(changed, **params)
    np.testing.assert_array_equal(other.entries[:k], base.entries[:k])
    np.testing.assert_array_equal(other.exits[:k], base.exits[:k])
    assert_orders_equal(other.orders, base.orders, k)


def assert_orders_equal(part, full, k):
    """Every order field of `part` (None, a number or an array) equals `full`'s first k values."""
    assert (part is None) == (full is None)
    if part is None:
        return
    for field in dataclasses.fields(part):
        a, b = getattr(part, field.name), getattr(full, field.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(np.asarray(a)[:k], b[:k], err_msg=f"orders.{field.name}, k={k}")
        else:
            assert a == b, field.name
