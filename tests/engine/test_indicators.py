"""Indicator and signal kernels against the plain-Python references in reference_indicators.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernels.indicators import (
    _sma_finite_step_nb,
    atr_nb,
    bollinger_nb,
    donchian_nb,
    ema_nb,
    macd_nb,
    rsi_nb,
    sma_finite_into_nb,
    sma_nb,
)
from engine.kernels.signals import (
    cross_nb,
    crossover_level_nb,
    crossover_nb,
    crossunder_level_nb,
    crossunder_nb,
    sma_cross_nb,
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


@st.composite
def series_with_infinities(draw) -> list[float]:
    """series() with some values replaced by +inf or -inf."""
    x = draw(series(max_size=200))
    for i in draw(st.lists(st.integers(0, len(x) - 1), max_size=6)):
        x[i] = draw(st.sampled_from([math.inf, -math.inf]))
    return x


def direct_mean(window: list[float]) -> float:
    """The window's mean as the definition reads: NaN with a NaN (or with +inf and -inf), +-inf with one sign
    of infinity, else the exactly rounded sum / n."""
    if any(math.isnan(v) for v in window) or (math.inf in window and -math.inf in window):
        return NAN
    if math.inf in window or -math.inf in window:
        return math.inf if math.inf in window else -math.inf
    return math.fsum(window) / len(window)


@PROPS
@given(series_with_infinities(), st.integers(1, 80))
def test_sma_with_infinities_is_the_direct_mean(x, n):
    """The running sum counts infinities apart (the finite sum stays exact), and re-adds its window every
    max(n, 64) bars: windows up to 80 over up to 200 bars cross several re-adds."""
    want = [NAN if i < n - 1 else direct_mean(x[i - n + 1 : i + 1]) for i in range(len(x))]
    got = sma_nb(arr(x), n)
    inf_want = np.isinf(want)
    np.testing.assert_array_equal(got[inf_want], np.asarray(want)[inf_want])
    finite = ~inf_want
    assert_same(got[finite], list(np.asarray(want)[finite]))


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


@PROPS
@given(st.data())
def test_cross_nb_is_crossover_and_crossunder_in_one_pass(data):
    a = data.draw(tie_values)
    b = data.draw(st.lists(st.sampled_from([NAN, 0.0, 1.0, 2.0, 3.0]), min_size=len(a), max_size=len(a)))
    up, down = cross_nb(arr(a), arr(b))
    assert up.tolist() == ref.crossover(a, b)
    assert down.tolist() == ref.crossunder(a, b)
    assert up.dtype == down.dtype == np.bool_


@PROPS
@given(st.one_of(series(max_size=400), series_with_infinities()), st.integers(1, 90), st.integers(1, 90))
def test_sma_cross_nb_is_the_crosses_of_two_smas_bit_for_bit(x, n1, n2):
    """The fused kernel runs sma_nb's own step for both windows: its crosses are those of the two SMAs
    sma_nb gives (the references' crosses of them), with NaN, infinities, flat stretches (exact ties) and
    windows past the 64-bar re-add."""
    fast, slow = sma_nb(arr(x), n1), sma_nb(arr(x), n2)
    up, down = sma_cross_nb(arr(x), n1, n2)
    assert up.tolist() == ref.crossover(list(fast), list(slow))
    assert down.tolist() == ref.crossunder(list(fast), list(slow))


def test_sma_cross_nb_on_a_million_bars_equals_the_separate_kernels():
    rng = np.random.default_rng(20240601)
    x = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, 1_000_000)))
    for n1, n2 in ((10, 30), (5, 200), (64, 65)):
        fast, slow = sma_nb(x, n1), sma_nb(x, n2)
        up, down = sma_cross_nb(x, n1, n2)
        np.testing.assert_array_equal(up, crossover_nb(fast, slow))
        np.testing.assert_array_equal(down, crossunder_nb(fast, slow))
        assert up.sum() > 1000


@PROPS
@given(series(interior_nans=False, max_size=400), st.integers(1, 90), st.integers(1, 90))
def test_finite_series_take_the_fast_steps_with_the_same_bits(x, n1, n2):
    """A series with no NaN or inf runs sma_nb's and sma_cross_nb's finite steps (no counting); one NaN
    appended at the end sends the same bars through the counting steps. Every bar before it is the same,
    bit for bit."""
    finite = arr([v if math.isfinite(v) else 1.0 for v in x])
    with_nan = np.append(finite, np.nan)
    np.testing.assert_array_equal(sma_nb(finite, n1), sma_nb(with_nan, n1)[:-1])
    up, down = sma_cross_nb(finite, n1, n2)
    up_nan, down_nan = sma_cross_nb(with_nan, n1, n2)
    np.testing.assert_array_equal(up, up_nan[:-1])
    np.testing.assert_array_equal(down, down_nan[:-1])


def _sma_one_chain(x: np.ndarray, n: int) -> np.ndarray:
    """sma_nb's finite path as the single loop it replaces: `_sma_finite_step_nb` bar after bar."""
    out = np.empty(len(x))
    r = max(n, 64)
    s = c = 0.0
    k = 0
    for i in range(len(x)):
        s, c, k, out[i] = _sma_finite_step_nb(x, i, n, r, s, c, k)
    return out


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2_000), st.integers(1, 150), st.integers(0, 2**32 - 1), st.sampled_from([1e-3, 1.0, 1e6]))
def test_sma_segments_equal_one_chain_bit_for_bit(size, n, seed, scale):
    """sma_finite_into_nb runs four segments side by side: the same additions in the same order as the one
    loop, so the same bits, on lengths around whole groups of segments and with large swings."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=size)) * scale + rng.choice([0.0, 1e4, -1e8])
    x[rng.random(size) < 0.01] *= 1e9  # spikes: far-away magnitudes, where the compensation matters
    want = _sma_one_chain(x, n)
    np.testing.assert_array_equal(sma_finite_into_nb(x, n, np.empty(size)), want)
    np.testing.assert_array_equal(sma_nb(x, n), want)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
@pytest.mark.parametrize("extra", [0, 1, 63])
def test_sma_segments_at_group_edges(n, extra):
    """Lengths that end exactly on, or just past, a group of four segments (r = max(n, 64) bars each)."""
    r = max(n, 64)
    for groups in (1, 2):
        size = r * (1 + 4 * groups) + extra
        x = np.cumsum(np.random.default_rng(size).normal(size=size)) + 100.0
        np.testing.assert_array_equal(sma_nb(x, n), _sma_one_chain(x, n))
