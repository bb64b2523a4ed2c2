"""The stats kernel equals a plain-Python reading of its definitions, and agrees with backtesting.py's
own stats where the definitions coincide (trade stats, drawdown, returns)."""

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import SimConfig
from engine.kernels.stats import NS_PER_DAY, STAT_KEYS, drawdown_nb
from engine.simulation import SignalArrays, compute_stats, simulate
from tests.engine.market import random_bars, random_signals


def reference_stats(equity, ts, close, trades, init_cash):
    n = len(equity)
    years = (ts[-1] - ts[0]) / (365.25 * NS_PER_DAY)
    A = (n - 1) / years if n > 1 and years > 0 else 252.0
    out = {"duration": (ts[-1] - ts[0]) / NS_PER_DAY}
    held = set()
    for t in trades:
        held.update(range(int(t["entry_bar"]), int(t["exit_bar"]) + 1))
    out["exposure_time_pct"] = len(held) / n * 100
    out["equity_final"] = equity[-1]
    out["equity_peak"] = max(equity)
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
    out["sharpe_ratio"] = ann / vol if vol > 0 else float("nan")
    down = math.sqrt(sum(min(x, 0) ** 2 for x in r) / n) * math.sqrt(A)
    out["sortino_ratio"] = ann / down if down > 0 else float("nan")
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
    return out


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 5000), n=st.integers(2, 150), p=st.sampled_from([0.05, 0.3]),
       commission=st.sampled_from([0.0, 0.003]), fill=st.sampled_from(["next_open", "close"]),
       at_end=st.sampled_from(["keep_open", "close"]))
def test_stats_kernel_equals_reference(seed, n, p, commission, fill, at_end):
    bars = random_bars(seed, n)
    e, x = random_signals(seed, n, p)
    cfg = SimConfig(commission=commission, fill=fill, at_end=at_end, sl=0.05)
    equity, trades, _, _ = simulate(bars, SignalArrays(e, x), cfg)
    got = compute_stats(bars, equity, trades, cfg.init_cash)
    want = reference_stats(list(equity), bars.ts, bars.close, list(trades), cfg.init_cash)
    assert set(STAT_KEYS) <= set(got)
    for key in STAT_KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9, nan_ok=True), key


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
        "sqn": "SQN",
    }
    for ours_key, their_key in pairs.items():
        assert ours[ours_key] == pytest.approx(float(theirs[their_key]), rel=1e-9, abs=1e-9), ours_key


def test_docs_worked_example():
    """docs/stats.md, "Worked example": the same numbers."""
    from engine.kernels.stats import stats_nb

    equity = np.array([1000.0, 1100.0, 990.0, 1210.0])
    values = stats_nb(equity, np.arange(4) * NS_PER_DAY, np.array([10.0, 11.0, 9.0, 12.0]), np.array([0, 2]),
                      np.array([1, 3]), np.array([100.0, 220.0]), np.array([10.0, 220 / 9.9]),
                      np.array([False, False]), 1000.0)
    s = dict(zip(STAT_KEYS, values, strict=True))
    assert s["return_pct"] == pytest.approx(21.0) and s["exposure_time_pct"] == 100.0
    assert s["max_drawdown_pct"] == pytest.approx(-10.0) == s["avg_drawdown_pct"]
    assert s["max_drawdown_duration"] == 2.0 and s["win_rate_pct"] == 100.0
    assert (round(s["best_trade_pct"], 2), s["worst_trade_pct"]) == (22.22, 10.0)
    assert (round(s["avg_trade_pct"], 2), round(s["expectancy_pct"], 2)) == (15.95, 16.11)
    assert math.isnan(s["profit_factor"]) and round(s["sqn"], 2) == 2.67


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
