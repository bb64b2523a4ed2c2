"""A run against a benchmark (engine/analysis/benchmark.py, docs/stats.md "Against a benchmark"): every
figure against a plain-Python computation, the as-of alignment of a benchmark with other bar times, and the
beta against the run's own buy-and-hold equal to the stats' beta."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.analysis.benchmark import BENCHMARK_KEYS, aligned_close, relative_stats
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import demo_bars
from engine.errors import DataError

DAY = 86_400 * 10**9


def reference(ts, equity, bench_ts, bench_close):
    """Plain Python: the last benchmark close at or before each bar, the returns, the figures by their formulas."""
    pairs = []
    for t, e in zip(ts, equity, strict=True):
        before = [c for bt, c in zip(bench_ts, bench_close, strict=True) if bt <= t]
        if before:
            pairs.append((t, e, before[-1]))
    r = [pairs[i][1] / pairs[i - 1][1] - 1 for i in range(1, len(pairs))]
    b = [pairs[i][2] / pairs[i - 1][2] - 1 for i in range(1, len(pairs))]
    n = len(r)
    years = (pairs[-1][0] - pairs[0][0]) / (365.25 * DAY)
    ppy = (len(pairs) - 1) / years
    mr, mb = sum(r) / n, sum(b) / n
    cov = sum((x - mr) * (y - mb) for x, y in zip(r, b, strict=True)) / (n - 1)
    var_b = sum((y - mb) ** 2 for y in b) / (n - 1)
    var_r = sum((x - mr) ** 2 for x in r) / (n - 1)
    a = [x - y for x, y in zip(r, b, strict=True)]
    ma = sum(a) / n
    te = math.sqrt(sum((x - ma) ** 2 for x in a) / (n - 1))
    beta = cov / var_b
    return {"bench_return_pct": (pairs[-1][2] / pairs[0][2] - 1) * 100,
            "bench_alpha_pct": (mr - beta * mb) * ppy * 100, "bench_beta": beta,
            "information_ratio": ma / te * math.sqrt(ppy), "tracking_error_pct": te * math.sqrt(ppy) * 100,
            "correlation": cov / math.sqrt(var_b * var_r)}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 80), gap=st.floats(0.0, 0.5), shift=st.integers(-3, 3))
def test_every_figure_equals_a_plain_computation(seed, n, gap, shift):
    rng = np.random.default_rng(seed)
    ts = np.arange(n, dtype=np.int64) * DAY
    equity = 1000 * np.cumprod(1 + rng.normal(0.001, 0.02, n))
    keep = rng.random(n + 6) >= gap  # a benchmark with missing days, starting a little before or after
    bench_ts = ((np.arange(n + 6) + shift) * DAY)[keep]
    bench_close = (50 * np.cumprod(1 + rng.normal(0, 0.01, n + 6)))[keep]
    overlap = int(np.isfinite(aligned_close(ts, bench_ts, bench_close)).sum())
    if overlap < 2:
        with pytest.raises(DataError):
            relative_stats(ts, equity, bench_ts, bench_close)
        return
    assume(overlap >= 4)  # a variance needs a few returns
    got = relative_stats(ts, equity, bench_ts, bench_close)
    want = reference(ts, equity, bench_ts, bench_close)
    assert list(got) == list(BENCHMARK_KEYS)
    for key in BENCHMARK_KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12, nan_ok=True), key


def test_alignment_is_as_of_each_bar():
    bench_ts = np.array([0, 2, 5]) * DAY
    close = np.array([10.0, 20.0, 50.0])
    np.testing.assert_array_equal(aligned_close(np.arange(7) * DAY - DAY, bench_ts, close),
                                  [np.nan, 10, 10, 20, 20, 20, 50])


def test_against_its_own_buy_and_hold_the_beta_is_the_stats_beta():
    bars = demo_bars("ACME")
    result = run_backtest(bars, "sma_cross", {}, SimConfig(commission=0.001))
    got = relative_stats(bars.ts, result.equity, bars.ts, bars.close)
    assert got["bench_beta"] == pytest.approx(result.stats["beta"], rel=1e-9)
    assert got["bench_return_pct"] == pytest.approx(result.stats["buy_hold_return_pct"], rel=1e-9)


def test_no_overlap_is_an_error():
    with pytest.raises(DataError, match="no close in the run's span"):
        relative_stats(np.arange(10) * DAY, np.ones(10), np.arange(10) * DAY + 100 * DAY, np.ones(10))
