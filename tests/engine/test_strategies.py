"""Builtin strategies: output shape and type, parameter resolution and its error messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine.bars import Bars
from engine.errors import StrategyError
from engine.strategies import (
    BUILTINS,
    Param,
    Signals,
    Strategy,
    get_strategy,
    list_strategies,
    resolve_params,
)

BUILTIN_NAMES = ["sma_cross", "ema_cross", "rsi_reversion", "bollinger_breakout", "donchian_breakout", "donchian_stop",
                 "macd"]


def random_bars(n: int, seed: int = 7) -> Bars:
    """Demo-like daily OHLC: a geometric random walk with consistent high/low around open/close."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, n)))
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.004, n - 1))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.006, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.006, n)))
    volume = rng.integers(1_000, 100_000, n).astype(np.float64)
    return Bars.from_arrays(open_, high, low, close, volume, symbol="TEST", timeframe="1d")


def test_random_bars_are_consistent():
    bars = random_bars(300)
    assert (bars.close > 0).all() and (bars.low > 0).all()
    assert (bars.high >= np.maximum(bars.open, bars.close)).all()
    assert (bars.low <= np.minimum(bars.open, bars.close)).all()


def test_builtins_have_the_documented_names_and_order():
    assert list(BUILTINS) == BUILTIN_NAMES
    assert [s.name for s in list_strategies()] == BUILTIN_NAMES
    for strategy in BUILTINS.values():
        assert strategy.description
        assert all(isinstance(p, Param) for p in strategy.params)
        assert strategy.constraints(strategy.defaults()) is None


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builtin_returns_bool_arrays_of_len_bars(name):
    bars = random_bars(800)
    strategy = get_strategy(name)
    signals = strategy.signals(bars)
    assert isinstance(signals, Signals)
    for arr in (signals.entries, signals.exits):
        assert arr.dtype == np.bool_ and arr.shape == (len(bars),)
    assert signals.short_entries is None and signals.short_exits is None
    assert signals.entries.any() and signals.exits.any()
    assert not (signals.entries & signals.exits).any()
    assert not signals.entries[0] and not signals.exits[0]
    for line in strategy.indicators(bars).values():
        assert line.dtype == np.float64 and line.shape == (len(bars),)
    # generate() resolves CLI strings and returns the same signals
    as_strings = {k: str(v) for k, v in strategy.defaults().items()}
    again = strategy.generate(bars, **as_strings)
    np.testing.assert_array_equal(again.entries, signals.entries)
    np.testing.assert_array_equal(again.exits, signals.exits)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builtin_handles_fewer_bars_than_its_window(name):
    bars = random_bars(5)
    signals = get_strategy(name).signals(bars)
    assert signals.entries.shape == (5,) and not signals.entries.any() and not signals.exits.any()


def test_sma_cross_hand_checked_example():
    # n1=2, n2=3:
    # bar:     0   1   2     3      4     5      6      7      8      9
    # close:  10  10  10     9      8     9     12     14     11      8
    # sma2:    -  10  10   9.5    8.5   8.5   10.5     13   12.5    9.5
    # sma3:    -   -  10  9.67      9  8.67   9.67  11.67  12.33     11
    # bar 2 is equal, so bar 3 (equal -> below) is not an exit; bar 6 goes below -> above (entry),
    # bar 9 goes above -> below (exit).
    close = np.array([10, 10, 10, 9, 8, 9, 12, 14, 11, 8], dtype=float)
    bars = Bars.from_arrays(close, close, close, close)
    signals = get_strategy("sma_cross").signals(bars, n1=2, n2=3)
    assert np.flatnonzero(signals.entries).tolist() == [6]
    assert np.flatnonzero(signals.exits).tolist() == [9]


@pytest.mark.parametrize("name", ["sma_cross", "ema_cross", "macd"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_signals_are_the_same_inside_and_outside_an_indicator_memo(name, seed):
    """A sweep (memo active) shares each indicator between combos; one backtest may use a fused kernel
    (sma_cross does): both must give the same signals, or a sweep's row would not be run_backtest's."""
    from engine.strategies.memo import indicator_memo

    bars = random_bars(3_000, seed)
    strategy = get_strategy(name)
    for params in ({}, {"n1": 3, "n2": 90} if name != "macd" else {"fast": 3, "slow": 90, "signal": 4}):
        if name == "ema_cross" and params:
            params = {"n1": 3, "n2": 90}
        alone = strategy.signals(bars, **params)
        with indicator_memo():
            memoised = strategy.signals(bars, **params)
            again = strategy.signals(bars, **params)  # from the memo
        for got in (memoised, again):
            np.testing.assert_array_equal(got.entries, alone.entries)
            np.testing.assert_array_equal(got.exits, alone.exits)
        assert alone.entries.any() and alone.exits.any()


def test_donchian_does_not_include_the_current_bar():
    # A close above every previous high: the channel of the previous 3 bars is 11, so bar 4 enters.
    close = np.array([10, 10.5, 10, 10, 12, 12], dtype=float)
    high = close + 1.0
    low = close - 1.0
    bars = Bars.from_arrays(close, high, low, close)
    signals = get_strategy("donchian_breakout").signals(bars, period=3)
    assert np.flatnonzero(signals.entries).tolist() == [4]


def test_rsi_reversion_enters_when_leaving_oversold():
    close = np.array([50, 49, 48, 47, 46, 45, 44, 47, 50, 53, 56, 59, 62], dtype=float)
    bars = Bars.from_arrays(close, close, close, close)
    signals = get_strategy("rsi_reversion").signals(bars, period=3, lower=30, upper=90)
    # rsi is 0 through bar 6, then jumps above 30 at bar 7
    assert np.flatnonzero(signals.entries).tolist() == [7]


# ---- resolve_params ---------------------------------------------------------------------------


def test_resolve_fills_defaults_and_converts_strings():
    sma = BUILTINS["sma_cross"]
    assert resolve_params(sma, {}) == {"n1": 10, "n2": 20}
    got = resolve_params(sma, {"n1": "5", "n2": 30.0})
    assert got == {"n1": 5, "n2": 30} and all(type(v) is int for v in got.values())
    got = resolve_params(BUILTINS["rsi_reversion"], {"lower": "25.5", "upper": 80})
    assert got == {"period": 14, "lower": 25.5, "upper": 80.0} and type(got["upper"]) is float
    assert resolve_params(sma, {"n1": np.int64(3)})["n1"] == 3


@pytest.mark.parametrize(
    ("name", "given", "message"),
    [
        ("sma_cross", {"n3": 5}, "strategy 'sma_cross': unknown parameter 'n3' (known: n1, n2)"),
        ("sma_cross", {"n1": 0}, "strategy 'sma_cross': parameter n1=0 is outside [1, 500]"),
        ("bollinger_breakout", {"k": 9.5}, "strategy 'bollinger_breakout': parameter k=9.5 is outside [0.1, 5.0]"),
        ("sma_cross", {"n1": "1.5"}, "strategy 'sma_cross': parameter n1='1.5' must be a whole number"),
        ("sma_cross", {"n1": 2.5}, "strategy 'sma_cross': parameter n1=2.5 must be a whole number"),
        ("sma_cross", {"n1": True}, "strategy 'sma_cross': parameter n1=True must be a whole number"),
        ("bollinger_breakout", {"k": "wide"}, "strategy 'bollinger_breakout': parameter k='wide' must be a number"),
        ("bollinger_breakout", {"k": float("nan")}, "strategy 'bollinger_breakout': parameter k=nan must be a number"),
        ("sma_cross", {"n1": 30, "n2": 20},
         "strategy 'sma_cross': n1 must be less than n2 (got n1=30, n2=20)"),
        ("ema_cross", {"n1": 26}, "strategy 'ema_cross': n1 must be less than n2 (got n1=26, n2=26)"),
        ("rsi_reversion", {"lower": 70, "upper": 60},
         "strategy 'rsi_reversion': lower must be less than upper (got lower=70.0, upper=60.0)"),
        ("macd", {"fast": 30}, "strategy 'macd': fast must be less than slow (got fast=30, slow=26)"),
    ],
)
def test_resolve_errors_name_strategy_and_parameter(name, given, message):
    with pytest.raises(StrategyError, match=f"^{re.escape(message)}$"):
        resolve_params(BUILTINS[name], given)


def test_signals_validate_params_too():
    with pytest.raises(StrategyError, match="n1 must be less than n2"):
        BUILTINS["sma_cross"].signals(random_bars(50), n1=20, n2=10)


def test_get_strategy_unknown_lists_available():
    with pytest.raises(StrategyError) as info:
        get_strategy("smacross")
    assert str(info.value) == f"unknown strategy 'smacross' (available: {', '.join(BUILTIN_NAMES)})"


# ---- the Strategy contract --------------------------------------------------------------------


class _TupleStrategy(Strategy):
    name = "tuple_strategy"
    params = (Param("threshold", float, 100.0, 0.0, 1e9, 1.0),)

    def signals(self, bars, **params):
        p = resolve_params(self, params)
        above = bars.close > p["threshold"]
        return above, ~above


class _BadShape(Strategy):
    name = "bad_shape"

    def signals(self, bars, **params):
        return Signals(np.zeros(3, dtype=bool), np.zeros(len(bars), dtype=bool))


def test_generate_accepts_a_plain_tuple():
    bars = random_bars(40)
    signals = _TupleStrategy().generate(bars, threshold="100")
    assert isinstance(signals, Signals)
    np.testing.assert_array_equal(signals.entries, bars.close > 100.0)


def test_generate_rejects_wrong_shape():
    with pytest.raises(StrategyError, match=r"strategy 'bad_shape': entries has shape \(3,\), expected \(40,\)"):
        _BadShape().generate(random_bars(40))


def test_strategy_without_signals_says_so():
    class NoSignals(Strategy):
        name = "no_signals"

    with pytest.raises(NotImplementedError, match="no_signals"):
        NoSignals().signals(random_bars(5))


def test_param_rejects_bad_definitions():
    with pytest.raises(TypeError):
        Param("n", str, "a", "a", "z", 1)
    with pytest.raises(ValueError, match="outside"):
        Param("n", int, 0, 1, 10, 1)
