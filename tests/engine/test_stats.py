"""The stats kernel equals a plain-Python reading of its definitions, and agrees with backtesting.py's
own stats where the definitions coincide (trade stats, drawdown, returns)."""

import math
import statistics

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.config import SimConfig
from engine.kernels.stats import NS_PER_DAY, STAT_KEYS, drawdown_nb
from engine.simulation import SignalArrays, compute_stats, simulate
from tests.engine.market import random_bars, random_signals


def reference_beta_alpha(equity, close, rf_bar):
    """beta = cov(r, b) / var(b) and the least-squares intercept of r - rf_bar on b - rf_bar, on bars 1..n-1."""
    r = [e / p - 1 if p > 0 else -1.0 for e, p in zip(equity[1:], equity[:-1], strict=True)]
    b = [c / p - 1 for c, p in zip(close[1:], close[:-1], strict=True)]
    if len(b) < 2 or statistics.pvariance(b) == 0:
        return math.nan, math.nan
    beta = statistics.covariance(r, b) / statistics.variance(b)
    return beta, statistics.mean(x - rf_bar for x in r) - beta * statistics.mean(x - rf_bar for x in b)


def reference_stats(equity, ts, close, trades, init_cash, rf=0.0):
    n = len(equity)
    years = (ts[-1] - ts[0]) / (365.25 * NS_PER_DAY)
    A = (n - 1) / years if n > 1 and years > 0 else 252.0
    rf_bar = (1 + rf) ** (1 / A) - 1
    out = {"duration": (ts[-1] - ts[0]) / NS_PER_DAY}
    held = set()
    for t in trades:
        held.update(range(int(t["entry_bar"]), int(t["exit_bar"]) + 1))
    out["exposure_time_pct"] = len(held) / n * 100
    out["equity_final"] = equity[-1]
    out["equity_peak"] = max(equity)
    out["commissions"] = sum(float(t["entry_fee"]) + float(t["exit_fee"]) for t in trades)
    out["return_pct"] = (equity[-1] / init_cash - 1) * 100
    out["buy_hold_return_pct"] = (close[-1] / close[0] - 1) * 100
    prev = [init_cash, *equity[:-1]]
    r = [e / p - 1 for e, p in zip(equity, prev, strict=True)]
    g = 0.0 if any(1 + x <= 0 for x in r) else math.exp(sum(math.log(1 + x) for x in r) / n) - 1
    var = statistics.variance(r) if n > 1 else float("nan")
    ann = (1 + g) ** A - 1
    # the definition (var + (1+g)^2)^A - (1+g)^(2A), in a form that does not cancel catastrophically
    vol = (1 + g) ** A * math.sqrt(math.expm1(A * math.log1p(var / (1 + g) ** 2))) if n > 1 else float("nan")
    out["return_ann_pct"] = ann * 100
    out["volatility_ann_pct"] = vol * 100
    if years > 0:
        out["cagr_pct"] = ((equity[-1] / init_cash) ** (1 / years) - 1) * 100 if equity[-1] > 0 else -100.0
    else:
        out["cagr_pct"] = math.nan
    out["sharpe_ratio"] = (ann - rf) / vol if vol > 0 else float("nan")
    down = math.sqrt(sum(min(x, 0) ** 2 for x in r) / n) * math.sqrt(A)
    out["sortino_ratio"] = (ann - rf) / down if down > 0 else float("nan")
    beta, alpha = reference_beta_alpha(equity, close, rf_bar)
    out["beta"] = beta
    out["alpha_pct"] = ((1 + alpha) ** A - 1) * 100 if alpha > -1 else math.nan
    # drawdown periods: peak index -> recovery index
    peak, peak_i, periods, cur = equity[0], 0, [], None
    for i, e in enumerate(equity):
        if e >= peak:
            if cur is not None:
                periods.append((cur, (ts[i] - ts[peak_i]) / NS_PER_DAY))
                cur = None
            peak, peak_i = e, i
        else:
            d = e / peak - 1
            cur = d if cur is None else min(cur, d)
    if cur is not None:
        periods.append((cur, (ts[-1] - ts[peak_i]) / NS_PER_DAY))
    mdd = min([0.0] + [p[0] for p in periods])
    out["max_drawdown_pct"] = mdd * 100
    out["avg_drawdown_pct"] = statistics.mean(p[0] for p in periods) * 100 if periods else 0.0
    out["max_drawdown_duration"] = max([0.0] + [p[1] for p in periods])
    out["calmar_ratio"] = ann / -mdd if mdd < 0 else float("nan")
    closed = [t for t in trades if not t["is_open"]]
    rets = [float(t["return_pct"]) for t in closed]
    pnls = [float(t["pnl"]) for t in closed]
    durs = [(ts[t["exit_bar"]] - ts[t["entry_bar"]]) / NS_PER_DAY for t in closed]
    nan = float("nan")
    out["n_trades"] = len(closed)
    out["win_rate_pct"] = sum(p > 0 for p in pnls) / len(closed) * 100 if closed else nan
    out["best_trade_pct"] = max(rets) if rets else nan
    out["worst_trade_pct"] = min(rets) if rets else nan
    out["avg_trade_pct"] = ((math.exp(sum(math.log(1 + x / 100) for x in rets) / len(rets)) - 1) * 100
                            if rets else nan)
    out["max_trade_duration"] = max(durs) if durs else nan
    out["avg_trade_duration"] = statistics.mean(durs) if durs else nan
    neg = sum(x for x in rets if x < 0)
    out["profit_factor"] = sum(x for x in rets if x > 0) / -neg if neg < 0 else nan
    out["expectancy_pct"] = statistics.mean(rets) if rets else nan
    sd = statistics.stdev(pnls) if len(pnls) > 1 else 0.0
    out["sqn"] = math.sqrt(len(pnls)) * statistics.mean(pnls) / sd if sd > 0 else nan
    won, lost = [p for p in pnls if p > 0], [p for p in pnls if p < 0]
    w = len(won) / len(pnls) if pnls else nan
    out["kelly"] = w - (1 - w) / (statistics.mean(won) / -statistics.mean(lost)) if won and lost else nan
    return out


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(2, 150), p=st.sampled_from([0.05, 0.3]),
       commission=st.sampled_from([0.0, 0.003]), fill=st.sampled_from(["next_open", "close"]),
       at_end=st.sampled_from(["keep_open", "close"]), rf=st.sampled_from([0.0, 0.04, -0.005]))
def test_stats_kernel_equals_reference(seed, n, p, commission, fill, at_end, rf):
    bars = random_bars(seed, n)
    e, x = random_signals(seed, n, p)
    cfg = SimConfig(commission=commission, fill=fill, at_end=at_end, sl=0.05, risk_free_rate=rf)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), cfg)
    got = compute_stats(bars, equity, trades, cfg.init_cash, rf)
    want = reference_stats(list(equity), bars.ts, bars.close, list(trades), cfg.init_cash, rf)
    assert set(STAT_KEYS) <= set(got)
    for key in STAT_KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9, nan_ok=True), key


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(250, 1300), p=st.sampled_from([0.02, 0.3]),
       commission=st.sampled_from([0.0, 0.003]), rf=st.sampled_from([0.0, 0.04]))
def test_stats_kernel_equals_reference_across_moment_blocks(seed, n, p, commission, rf):
    """The kernel sums the returns' moments per block of MOMENTS_BLOCK bars and merges the blocks: runs
    longer than a block (a few blocks and a partial one) equal the exact reference too."""
    from engine.kernels.stats import MOMENTS_BLOCK

    assert n < 6 * MOMENTS_BLOCK
    bars = random_bars(seed, n)
    e, x = random_signals(seed, n, p)
    cfg = SimConfig(commission=commission, risk_free_rate=rf)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), cfg)
    got = compute_stats(bars, equity, trades, cfg.init_cash, rf)
    want = reference_stats(list(equity), bars.ts, bars.close, list(trades), cfg.init_cash, rf)
    for key in STAT_KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9, nan_ok=True), key


def test_stats_accurate_on_a_long_run():
    """30,000 bars (117 blocks of moments): volatility, Sharpe, beta and alpha equal the exact reference
    (statistics' variance and covariance are exact) to 1e-9."""
    n = 30_000
    bars = random_bars(77, n, vol=0.003)
    e, x = random_signals(77, n, 0.01)
    cfg = SimConfig(commission=0.001)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), cfg)
    got = compute_stats(bars, equity, trades, cfg.init_cash, 0.02)
    want = reference_stats(list(equity), bars.ts, bars.close, list(trades), cfg.init_cash, 0.02)
    for key in ("volatility_ann_pct", "sharpe_ratio", "sortino_ratio", "beta", "alpha_pct", "max_drawdown_pct",
                "avg_drawdown_pct", "max_drawdown_duration", "equity_peak"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key


def _assert_calmar(got, want):
    """Calmar is the annualised return over the drawdown: the annualisation raises the mean log return's last-bit
    differences (kernel and reference sum in other orders) to the power of the periods per year, so it holds
    to 1e-9 as the other annualised figures do, not to the drawdown's 1e-12 (seed 6733, under 277, depth
    0.0625 differs by 1.5e-11)."""
    assert got["calmar_ratio"] == pytest.approx(want["calmar_ratio"], rel=1e-9, abs=1e-12, nan_ok=True)


@settings(max_examples=100, deadline=None)
@given(levels=st.lists(st.sampled_from([900.0, 1000.0, 1000.5, 1100.0, 1250.0, 800.0, 950.0, 1000.25]),
                       min_size=1, max_size=12),
       picks=st.lists(st.integers(0, 11), min_size=260, max_size=900))
def test_drawdown_periods_equal_the_reference_on_ties_and_long_curves(levels, picks):
    """Curves longer than a block, drawn from a few levels so bars often return exactly to the peak (a
    tie ends a period) or stay flat under it: the drawdown figures equal the plain-Python reading."""
    equity = [levels[i % len(levels)] for i in picks]
    n = len(equity)
    s = _stats_of(equity, np.linspace(10.0, 20.0, n))
    ts = np.round(np.linspace(0.0, 365.25 * NS_PER_DAY, n)).astype(np.int64)
    want = reference_stats(equity, ts, np.linspace(10.0, 20.0, n), [], 1000.0)
    for key in ("max_drawdown_pct", "avg_drawdown_pct", "max_drawdown_duration", "equity_peak"):
        assert s[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12, nan_ok=True), key
    _assert_calmar(s, want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), under=st.integers(1, 1200), depth=st.floats(0.01, 0.5))
@example(seed=6733, under=277, depth=0.0625)
def test_a_drawdown_spanning_whole_blocks_equals_the_reference(seed, under, depth):
    """A period under the peak that covers whole blocks (the kernel then takes each block's minimum at once),
    ends exactly at the old peak and is followed by a second one: the figures equal the reference."""
    rng = np.random.default_rng(seed)
    shape = np.sin(np.pi * np.arange(1, under + 1) / (under + 1))  # down and back up, never to the peak
    dip = 1000.0 * (1.0 - depth * shape * (0.9 + 0.1 * rng.random(under)))
    tail = 1000.0 * (1.0 - 0.05 * rng.random(300))
    equity = [990.0, 1000.0, *dip, 1000.0, *tail]
    n = len(equity)
    close = np.linspace(10.0, 20.0, n)
    s = _stats_of(equity, close)
    ts = np.round(np.linspace(0.0, 365.25 * NS_PER_DAY, n)).astype(np.int64)
    want = reference_stats(equity, ts, close, [], 1000.0)
    for key in ("max_drawdown_pct", "avg_drawdown_pct", "max_drawdown_duration", "equity_peak"):
        assert s[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12, nan_ok=True), key
    _assert_calmar(s, want)


_equity_values = st.one_of(st.floats(-5.0, 2000.0, allow_nan=False), st.sampled_from([0.0, 1000.0, math.nan,
                                                                                      math.inf]))


@settings(max_examples=200, deadline=None)
@given(equity=st.lists(_equity_values, min_size=1, max_size=700), init_cash=st.sampled_from([1000.0, 1e-3]))
def test_stats_drawdown_nb_is_stats_nb_and_the_drawdown_curve_bit_for_bit(equity, init_cash):
    """The pipeline's one pass (stats and curve) gives stats_nb's figures and drawdown_nb(equity) * 100, on
    any curve: flat stretches, zeros, negatives, NaN and inf included."""
    from engine.kernels.stats import stats_drawdown_nb, stats_nb

    eq = np.asarray(equity, dtype=float)
    n = len(eq)
    ts = np.arange(n, dtype=np.int64) * NS_PER_DAY
    close = np.linspace(10.0, 20.0, n)
    none_i, none_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    args = (eq, ts, close, none_i, none_i, none_f, none_f, none_f, none_f, np.zeros(0, dtype=bool), init_cash, 0.01)
    with np.errstate(all="ignore"):
        values, dd_pct = stats_drawdown_nb(*args)
        np.testing.assert_array_equal(values, stats_nb(*args))
        np.testing.assert_array_equal(dd_pct, drawdown_nb(eq) * 100.0)
    peak = dict(zip(STAT_KEYS, values, strict=True))["equity_peak"]
    assert peak == np.max(eq) or (math.isnan(peak) and np.isnan(eq).any())


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 3000), drift=st.sampled_from([-3e-4, 0.0, 3e-4]),
       nan_at=st.one_of(st.none(), st.floats(0.0, 1.0)), grazes=st.integers(0, 6))
def test_stats_nb_equals_the_curve_pass_on_long_random_curves(seed, n, drift, nan_at, grazes):
    """stats_nb takes a block wholly under the peak by its lowest equity (docs/stats.md, "Drawdown"); on
    random-walk curves, with a NaN somewhere or bars a last bit under the peak, every figure equals the pass
    that divides every bar (stats_drawdown_nb) bit for bit."""
    from engine.kernels.stats import stats_drawdown_nb, stats_nb

    rng = np.random.default_rng(seed)
    eq = 1000.0 * np.exp(np.cumsum(rng.normal(drift, 0.01, n)))
    for _ in range(grazes):  # a bar one ulp under the running peak, or exactly at it
        i = int(rng.integers(0, n))
        peak = np.max(eq[:i + 1])
        eq[i] = np.nextafter(peak, 0.0) if rng.random() < 0.5 else peak
    if nan_at is not None:
        eq[int(nan_at * (n - 1))] = np.nan
    ts = np.arange(n, dtype=np.int64) * NS_PER_DAY
    close = 1000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    none_i, none_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    args = (eq, ts, close, none_i, none_i, none_f, none_f, none_f, none_f, np.zeros(0, dtype=bool), 1000.0, 0.01)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(stats_nb(*args), stats_drawdown_nb(*args)[0])


def test_drawdown_curve():
    eq = np.array([100.0, 110.0, 99.0, 120.0, 60.0])
    np.testing.assert_allclose(drawdown_nb(eq), [0.0, 0.0, 99 / 110 - 1, 0.0, -0.5])


def test_stats_of_a_flat_run_are_defined():
    bars = random_bars(1, 50)
    none = np.zeros(50, bool)
    equity, trades, _, _ = simulate(bars, SignalArrays(none, none), SimConfig())
    stats = compute_stats(bars, equity, trades, 10_000.0)
    assert stats["n_trades"] == 0 and stats["return_pct"] == 0.0 and stats["max_drawdown_pct"] == 0.0
    assert math.isnan(stats["win_rate_pct"]) and math.isnan(stats["sharpe_ratio"])


@pytest.mark.peers
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_stats_agree_with_backtesting_py_where_defined_alike(seed):
    pytest.importorskip("backtesting")
    from benchmarks.peer_runners import backtesting_py_stats

    n = 400
    bars = random_bars(seed, n)
    e, x = random_signals(seed, n, 0.06)
    x[-40:] = False  # no exits near the end: usually leaves a trade open, which both exclude
    cfg = SimConfig.preset("backtesting", init_cash=10_000.0, commission=0.002)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), cfg)
    ours = compute_stats(bars, equity, trades, cfg.init_cash)

    theirs = backtesting_py_stats(bars, e, x, 10_000, 0.002)
    pairs = {
        "equity_final": "Equity Final [$]", "equity_peak": "Equity Peak [$]", "return_pct": "Return [%]",
        "buy_hold_return_pct": "Buy & Hold Return [%]", "max_drawdown_pct": "Max. Drawdown [%]",
        "avg_drawdown_pct": "Avg. Drawdown [%]", "n_trades": "# Trades", "win_rate_pct": "Win Rate [%]",
        "best_trade_pct": "Best Trade [%]", "worst_trade_pct": "Worst Trade [%]",
        "avg_trade_pct": "Avg. Trade [%]", "profit_factor": "Profit Factor", "expectancy_pct": "Expectancy [%]",
        "sqn": "SQN", "cagr_pct": "CAGR [%]", "kelly": "Kelly Criterion",
    }
    for ours_key, their_key in pairs.items():
        assert ours[ours_key] == pytest.approx(float(theirs[their_key]), rel=1e-9, abs=1e-9), ours_key
    # backtesting.py's "Commissions [$]" sums its closed trades' fees; ours adds the open trade's entry fee
    open_fees = float(trades["entry_fee"][trades["is_open"]].sum())
    assert ours["commissions"] - open_fees == pytest.approx(float(theirs["Commissions [$]"]), rel=1e-9)


def test_docs_worked_example():
    """docs/stats.md, "Worked example": the same numbers."""
    from engine.kernels.stats import stats_nb

    equity = np.array([1000.0, 1100.0, 990.0, 1210.0])
    no_fees = np.zeros(2)
    values = stats_nb(equity, np.arange(4) * NS_PER_DAY, np.array([10.0, 11.0, 9.0, 12.0]), np.array([0, 2]),
                      np.array([1, 3]), np.array([100.0, 220.0]), np.array([10.0, 220 / 9.9]), no_fees, no_fees,
                      np.array([False, False]), 1000.0, 0.0)
    s = dict(zip(STAT_KEYS, values, strict=True))
    assert s["return_pct"] == pytest.approx(21.0) and s["exposure_time_pct"] == 100.0
    assert s["max_drawdown_pct"] == pytest.approx(-10.0) == s["avg_drawdown_pct"]
    assert s["max_drawdown_duration"] == 2.0 and s["win_rate_pct"] == 100.0
    assert (round(s["best_trade_pct"], 2), s["worst_trade_pct"]) == (22.22, 10.0)
    assert (round(s["avg_trade_pct"], 2), round(s["expectancy_pct"], 2)) == (15.95, 16.11)
    assert math.isnan(s["profit_factor"]) and round(s["sqn"], 2) == 2.67
    assert math.isnan(s["kelly"]) and s["commissions"] == 0.0
    # buy and hold returns +10 %, -18.18 %, +33.33 % on bars 1..3, the strategy +10 %, -10 %, +22.22 %
    b, r = [0.1, 9 / 11 - 1, 12 / 9 - 1], [0.1, -0.1, 1210 / 990 - 1]
    assert round(s["beta"], 4) == 0.6284 == round(statistics.covariance(r, b) / statistics.variance(b), 4)


def test_volatility_on_two_bars_is_well_conditioned():
    """Regression: (var + (1+g)^2)^A - (1+g)^(2A) cancelled catastrophically on short series (A ~ 365),
    so last-bit differences gave 1e-8 relative errors in the Sharpe ratio. Checked here against
    50-digit decimal arithmetic."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    bars = random_bars(1963, 2)
    e, x = random_signals(1963, 2, 0.3)
    cfg = SimConfig(commission=0.003, fill="close", at_end="close", sl=0.05)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), cfg)
    got = compute_stats(bars, equity, trades, cfg.init_cash)
    A = Decimal(1) / (Decimal(int(bars.ts[1] - bars.ts[0])) / Decimal(NS_PER_DAY) / Decimal("365.25"))
    c = Decimal(cfg.init_cash)
    eq = [Decimal(float(v)) for v in equity]
    r = [eq[0] / c - 1, eq[1] / eq[0] - 1]
    g = (eq[1] / c).sqrt() - 1
    mean = (r[0] + r[1]) / 2
    var = (r[0] - mean) ** 2 + (r[1] - mean) ** 2
    one_g = 1 + g
    vol = ((var + one_g ** 2) ** A - one_g ** (2 * A)).sqrt()
    ret = one_g ** A - 1
    assert got["volatility_ann_pct"] == pytest.approx(float(vol * 100), rel=1e-9)
    assert got["sharpe_ratio"] == pytest.approx(float(ret / vol), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), max_size=12), st.booleans())
def test_held_bars_is_the_union_of_trade_spans_in_any_order(spans, in_entry_order):
    from engine.kernels.stats import held_bars_nb

    if in_entry_order:
        spans = sorted(spans)
    entry = np.array([a for a, _ in spans], dtype=np.int64)
    exit_ = np.array([min(a + d, 69) for a, d in spans], dtype=np.int64)
    expected = len({i for a, b in zip(entry, exit_, strict=True) for i in range(a, b + 1)})
    assert held_bars_nb(entry, exit_, 70) == expected


def _stats_of(equity, close, years=1.0, rf=0.0, trades=None):
    """stats_nb on an equity curve and closes spread evenly over `years` (no trades unless given)."""
    from engine.kernels.stats import stats_nb

    n = len(equity)
    ts = np.round(np.linspace(0.0, years * 365.25 * NS_PER_DAY, n)).astype(np.int64)
    t = trades or {}
    pnl = np.asarray(t.get("pnl", []), dtype=float)
    k = len(pnl)
    zeros, ints = np.zeros(k), np.zeros(k, dtype=np.int64)
    values = stats_nb(np.asarray(equity, float), ts, np.asarray(close, float), ints, ints, pnl,
                      np.asarray(t.get("return_pct", zeros), float), np.asarray(t.get("entry_fee", zeros), float),
                      np.asarray(t.get("exit_fee", zeros), float), np.zeros(k, dtype=bool), 1000.0, rf)
    return dict(zip(STAT_KEYS, values, strict=True))


def test_cagr_is_the_growth_per_year_from_the_first_to_the_last_bar_time():
    """docs/stats.md: equity doubling over two years is 41.42 % a year; losing everything is -100 %."""
    s = _stats_of([1000.0, 1500.0, 2000.0], [1.0, 2.0, 3.0], years=2.0)
    assert s["cagr_pct"] == pytest.approx((math.sqrt(2) - 1) * 100, rel=1e-12)
    assert _stats_of([1000.0, 0.0], [1.0, 2.0])["cagr_pct"] == -100.0
    assert math.isnan(_stats_of([1000.0], [1.0])["cagr_pct"])  # one bar: no time span


def test_commissions_sum_every_fee_paid_and_kelly_follows_win_rate_and_payoff():
    """docs/stats.md: W = 3/5 winning trades, R = mean win 150 / mean loss 100 = 1.5: Kelly = 0.6 - 0.4/1.5."""
    pnl = [100.0, 200.0, 150.0, -80.0, -120.0]
    s = _stats_of([1000.0] * 3, [1.0, 2.0, 3.0], trades={
        "pnl": pnl, "return_pct": [p / 10 for p in pnl], "entry_fee": [1.0, 2, 3, 4, 5], "exit_fee": [0.5] * 5})
    assert s["kelly"] == pytest.approx(0.6 - 0.4 / 1.5, rel=1e-12) and round(s["kelly"], 4) == 0.3333
    assert s["commissions"] == pytest.approx(17.5)


def _slope_error(b):
    """How far rounding can move a least-squares slope on `b`: a few ulps, magnified by how little b
    varies around its size (two nearly equal returns make a nearly vertical line)."""
    return 1e-12 * (1.0 + np.abs(b).max() / np.std(b))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 200), k=st.floats(-2.0, 2.0), a=st.floats(-0.002, 0.002),
       rf=st.sampled_from([0.0, 0.05, -0.01]))
def test_a_strategy_that_is_alpha_plus_beta_times_buy_and_hold_has_that_beta_and_alpha(seed, n, k, a, rf):
    """Strategy bar returns r = rf_bar + a + k (b - rf_bar) exactly: beta is k and the per-bar alpha a,
    annualised as ((1+a)^A - 1) * 100, whatever the risk-free rate."""
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 0.01, n - 1)
    close = 50.0 * np.cumprod(np.r_[1.0, 1.0 + b])
    A = (n - 1) / 1.0  # spread over one year
    rf_bar = (1 + rf) ** (1 / A) - 1
    r = rf_bar + a + k * (np.diff(close) / close[:-1] - rf_bar)
    equity = 1000.0 * np.cumprod(np.r_[1.0, 1.0 + r])
    s = _stats_of(equity, close, years=1.0, rf=rf)
    tol = _slope_error(b) * (1 + abs(k))
    assert s["beta"] == pytest.approx(k, abs=tol)
    assert s["alpha_pct"] == pytest.approx(((1 + a) ** A - 1) * 100, rel=1e-9, abs=tol * A * 100)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(3, 150))
def test_buy_and_hold_itself_has_beta_one_and_no_alpha(seed, n):
    """All in at the first close and never out (no fees): its bar returns are buy and hold's."""
    bars = random_bars(seed, n)
    entries, none = np.zeros(n, bool), np.zeros(n, bool)
    entries[0] = True
    cfg = SimConfig(fill="close")
    equity, trades, _, _ = simulate(bars, SignalArrays(entries, none), cfg)
    s = compute_stats(bars, equity, trades, cfg.init_cash)
    b = np.diff(bars.close) / bars.close[:-1]
    if np.ptp(b) == 0:
        assert math.isnan(s["beta"]) and math.isnan(s["alpha_pct"])
        return
    A = (n - 1) / ((bars.ts[-1] - bars.ts[0]) / (365.25 * NS_PER_DAY))
    assert s["beta"] == pytest.approx(1.0, abs=_slope_error(b))
    assert s["alpha_pct"] == pytest.approx(0.0, abs=_slope_error(b) * A * 100)


def test_the_risk_free_rate_lowers_sharpe_and_sortino_by_itself_over_the_risk():
    bars = random_bars(5, 300)
    e, x = random_signals(5, 300, 0.05)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), SimConfig())
    s0 = compute_stats(bars, equity, trades, 10_000.0)
    s1 = compute_stats(bars, equity, trades, 10_000.0, 0.03)
    assert s1["sharpe_ratio"] == pytest.approx(s0["sharpe_ratio"] - 3.0 / s0["volatility_ann_pct"], rel=1e-12)
    risk = s0["return_ann_pct"] / s0["sortino_ratio"]
    assert s1["sortino_ratio"] == pytest.approx((s0["return_ann_pct"] - 3.0) / risk, rel=1e-12)
    assert s1["beta"] == s0["beta"] and (s1["alpha_pct"] < s0["alpha_pct"]) == (s0["beta"] < 1)
    unchanged = set(STAT_KEYS) - {"sharpe_ratio", "sortino_ratio", "alpha_pct"}
    assert {k: s1[k] for k in unchanged} == pytest.approx({k: s0[k] for k in unchanged}, nan_ok=True)
