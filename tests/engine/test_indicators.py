"""Indicator and signal kernels against the plain-Python references in reference_indicators.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernels.indicators import (
    atr_nb,
    bollinger_nb,
    donchian_nb,
    ema_nb,
    macd_nb,
    rsi_nb,
    sma_nb,
)
from engine.kernels.signals import (
    crossover_level_nb,
    crossover_nb,
    crossunder_level_nb,
    crossunder_nb,
)
from tests.engine import reference_indicators as ref

NAN = float("nan")
PROPS = settings(max_examples=150, deadline=None)

_step = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
_segment = st.one_of(
    st.tuples(st.just("walk"), st.lists(_step, min_size=1, max_size=60)),
    st.tuples(st.just("flat"), st.integers(1, 40)),
    st.tuples(st.just("jump"), st.floats(-80.0, 80.0, allow_nan=False)),
    st.tuples(st.just("nan"), st.integers(1, 3)),
)


@st.composite
def series(draw, interior_nans: bool = True, max_size: int = 300) -> list[float]:
    """1..max_size floats: leading NaNs, random-walk stretches, flat stretches, jumps, NaN gaps."""
    out = [NAN] * draw(st.integers(0, 12))
    level = draw(st.floats(1.0, 500.0, allow_nan=False))
    for kind, arg in draw(st.lists(_segment, min_size=1, max_size=12)):
        if kind == "walk":
            for step in arg:
                level += step
                out.append(level)
        elif kind == "flat":
            out.extend([level] * arg)
        elif kind == "jump":
            level += arg
            out.append(level)
        elif interior_nans:
            out.extend([NAN] * arg)
    if len(out) == 0 or all(math.isnan(v) for v in out):
        out.append(level)
    return out[:max_size]


windows = st.integers(1, 35)


def assert_same(got: np.ndarray, want: list, rel: float = 1e-9, abs_: float = 1e-9) -> None:
    want_arr = np.asarray(want, dtype=np.float64)
    assert got.dtype == np.float64
    assert got.shape == want_arr.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want_arr), err_msg="NaN masks differ")
    ok = ~np.isnan(want_arr)
    np.testing.assert_allclose(got[ok], want_arr[ok], rtol=rel, atol=abs_)


def arr(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


@PROPS
@given(series(), windows)
def test_sma_matches_reference(x, n):
    assert_same(sma_nb(arr(x), n), ref.sma(x, n))


@PROPS
@given(series(), windows)
def test_ema_matches_reference(x, n):
    assert_same(ema_nb(arr(x), n), ref.ema(x, n))


@PROPS
@given(series(), windows)
def test_rsi_matches_reference(x, n):
    got = rsi_nb(arr(x), n)
    assert_same(got, ref.rsi(x, n))
    defined = got[~np.isnan(got)]
    assert np.all((defined >= 0.0) & (defined <= 100.0))


@PROPS
@given(series(), windows, st.floats(0.0, 4.0, allow_nan=False))
def test_bollinger_matches_reference(x, n, k):
    mid, upper, lower = bollinger_nb(arr(x), n, k)
    want_mid, want_upper, want_lower = ref.bollinger(x, n, k)
    assert_same(mid, want_mid)
    assert_same(upper, want_upper)
    assert_same(lower, want_lower)


@PROPS
@given(series(), st.floats(0.0, 5.0, allow_nan=False), windows, st.data())
def test_donchian_matches_reference(x, spread, n, data):
    high = [v + spread for v in x]
    low = [v - spread for v in x]
    if data.draw(st.booleans()):  # a NaN in only one of the two inputs
        j = data.draw(st.integers(0, len(x) - 1))
        high[j] = NAN
    upper, lower = donchian_nb(arr(high), arr(low), n)
    want_upper, want_lower = ref.donchian(high, low, n)
    assert_same(upper, want_upper, rel=0.0, abs_=0.0)
    assert_same(lower, want_lower, rel=0.0, abs_=0.0)


@PROPS
@given(series(), st.integers(1, 15), st.integers(1, 30), st.integers(1, 12))
def test_macd_matches_reference(x, fast, slow, signal):
    got = macd_nb(arr(x), fast, slow, signal)
    want = ref.macd(x, fast, slow, signal)
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)


@PROPS
@given(series(), st.floats(0.0, 5.0, allow_nan=False), windows, st.data())
def test_atr_matches_reference(x, spread, n, data):
    close = list(x)
    high = [v + spread for v in x]
    low = [v - spread * 0.5 for v in x]
    if data.draw(st.booleans()):  # shifted close so |high - prev close| matters
        close = [NAN if math.isnan(v) else v + spread * 0.25 for v in x]
    got = atr_nb(arr(high), arr(low), arr(close), n)
    assert_same(got, ref.atr(high, low, close, n))
    assert np.all(got[~np.isnan(got)] >= 0.0)


def test_leading_nans_define_first_value_where_documented():
    x = arr([NAN, NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    n = 3
    assert np.isnan(sma_nb(x, n)[:4]).all() and sma_nb(x, n)[4] == 2.0
    assert np.isnan(ema_nb(x, n)[:4]).all() and ema_nb(x, n)[4] == 2.0
    rsi = rsi_nb(x, n)
    assert np.isnan(rsi[:5]).all() and rsi[5] == 100.0  # first_valid + n
    atr = atr_nb(x + 1.0, x - 1.0, x, n)
    assert np.isnan(atr[:4]).all() and atr[4] == pytest.approx((2.0 + 2.0 + 2.0) / 3)


def test_ema_nan_after_seed_keeps_state():
    x = arr([1.0, 2.0, 3.0, NAN, 5.0])
    got = ema_nb(x, 3)
    assert got[2] == 2.0 and np.isnan(got[3])
    assert got[4] == pytest.approx(0.5 * 5.0 + 0.5 * 2.0)


def test_rsi_flat_is_50_and_rising_is_100():
    assert rsi_nb(np.full(10, 7.0), 3)[3:].tolist() == [50.0] * 7
    assert rsi_nb(np.arange(10.0), 3)[3:].tolist() == [100.0] * 7


def test_bollinger_flat_window_has_zero_width():
    x = np.concatenate([np.linspace(1.0, 50.0, 30), np.full(25, 0.1 + 0.2)])
    mid, upper, lower = bollinger_nb(x, 20, 2.0)
    assert upper[-1] == pytest.approx(mid[-1], abs=1e-12)
    assert lower[-1] == pytest.approx(mid[-1], abs=1e-12)


@pytest.mark.slow
def test_sma_accurate_on_a_million_bars():
    rng = np.random.default_rng(20240601)
    # Geometric random walk: prices sweep several orders of magnitude, the hard case for a running sum.
    x = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 1_000_000)))
    for n in (1, 20, 250):
        got = sma_nb(x, n)
        assert np.isnan(got[: n - 1]).all()
        idx = np.concatenate([rng.integers(n - 1, len(x), 3000), [n - 1, len(x) - 1]])
        for i in idx:
            want = math.fsum(x[i - n + 1 : i + 1]) / n
            assert got[i] == pytest.approx(want, rel=1e-12, abs=0.0), (n, i)


# ---- signals ----------------------------------------------------------------------------------

tie_values = st.lists(st.sampled_from([NAN, 0.0, 1.0, 2.0, 3.0]), min_size=1, max_size=300)


@PROPS
@given(st.data())
def test_crossover_and_crossunder_match_reference_with_ties(data):
    a = data.draw(tie_values)
    b = data.draw(st.lists(st.sampled_from([NAN, 0.0, 1.0, 2.0, 3.0]), min_size=len(a), max_size=len(a)))
    assert crossover_nb(arr(a), arr(b)).tolist() == ref.crossover(a, b)
    assert crossunder_nb(arr(a), arr(b)).tolist() == ref.crossunder(a, b)
    assert crossover_nb(arr(a), arr(b)).dtype == np.bool_


@PROPS
@given(tie_values, st.sampled_from([0.0, 1.0, 1.5, 2.0, NAN]))
def test_level_crossings_match_reference(a, level):
    assert crossover_level_nb(arr(a), level).tolist() == ref.crossover_level(a, level)
    assert crossunder_level_nb(arr(a), level).tolist() == ref.crossunder_level(a, level)


def test_crossover_below_equal_above_does_not_fire():
    a = arr([1.0, 2.0, 3.0])
    b = arr([2.0, 2.0, 2.0])
    assert not crossover_nb(a, b).any()
    assert not crossover_level_nb(a, 2.0).any()
    assert not crossunder_nb(b, a).any()


def test_crossover_fires_at_the_exact_bar():
    a = arr([1.0, 1.0, 3.0, 4.0, 1.0, 0.5])
    b = arr([2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert crossover_nb(a, b).tolist() == [False, False, True, False, False, False]
    assert crossunder_nb(a, b).tolist() == [False, False, False, False, True, False]
    assert crossover_level_nb(a, 2.0).tolist() == [False, False, True, False, False, False]
    assert crossunder_level_nb(a, 2.0).tolist() == [False, False, False, False, True, False]


def test_crossover_nan_gives_false():
    a = arr([1.0, NAN, 3.0, 1.0, 3.0])
    b = arr([2.0, 2.0, 2.0, NAN, 2.0])
    assert crossover_nb(a, b).tolist() == [False] * 5
    assert crossover_nb(arr([NAN, 3.0]), arr([2.0, 2.0])).tolist() == [False, False]
    assert crossover_level_nb(arr([1.0, 3.0]), NAN).tolist() == [False, False]


def test_first_bar_never_fires():
    assert crossover_nb(arr([3.0]), arr([2.0])).tolist() == [False]
    assert crossover_nb(arr([]), arr([])).tolist() == []
