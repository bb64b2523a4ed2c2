"""The peer's stats (engine/compat/, docs/compat.md#the-peers-stats): under a compat preset, the table
backtesting.py 0.6.6 / vectorbt 1.2.0 prints for the same run, computed by us in numpy, equals the one
the library itself prints (run here on the same bars and signals): every key, in order, to rtol 1e-8.
vectorbt's accumulate=True: tests/engine/test_peer_stats_accumulate.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest import run_backtest
from engine.bars import Bars
from engine.cache import ResultCache
from engine.compat import indicator_warmup, peer_stats
from engine.compat.vectorbt_stats import sizes_and_fees
from engine.config import SimConfig
from engine.strategies import Signals, Strategy, get_strategy
from engine.strategies.base import Orders
from tests.engine.market import random_bars, random_signals

RTOL = 1e-8
DAY = 86_400_000_000_000
# Bar times of every shape the peers treat differently: calendar days with and without weekends, intraday
# with gaps, weekly, monthly and yearly bars (their own annualisation), irregular spacing.
TIME_KINDS = ("daily", "business", "hourly", "minutes_with_gaps", "weekly", "monthly", "yearly", "irregular")


class GivenSignals(Strategy):
    """Fixed entry/exit arrays and no indicators (backtesting.py's side, benchmarks/peer_runners.py, has none)."""

    name = "given_signals"

    def __init__(self, entries: np.ndarray, exits: np.ndarray, orders: Orders | None = None) -> None:
        self.entries, self.exits, self.orders = entries, exits, orders

    def signals(self, bars: Bars, **params) -> Signals:
        return Signals(self.entries, self.exits, orders=self.orders)


def bar_times(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2010-01-04", "ns").astype(np.int64)
    if kind == "business":
        return np.busday_offset("2010-01-04", np.arange(n)).astype("datetime64[ns]").astype(np.int64)
    if kind == "monthly":
        return (np.datetime64("2000-01", "M") + np.arange(n)).astype("datetime64[ns]").astype(np.int64)
    if kind == "yearly":
        return (np.datetime64("1950", "Y") + np.arange(n)).astype("datetime64[ns]").astype(np.int64)
    step = {"daily": np.full(n, DAY), "hourly": np.full(n, 3_600 * 10**9), "weekly": np.full(n, 7 * DAY),
            "minutes_with_gaps": np.where(rng.random(n) < 0.02, 3 * 3_600 * 10**9, 60 * 10**9),
            "irregular": rng.integers(1, 5 * DAY, n)}[kind]
    return start + np.r_[0, np.cumsum(step[1:])]


def generated_bars(seed: int, n: int, kind: str, tick: float | None = None) -> Bars:
    b = random_bars(seed, n, tick=tick)
    return Bars(bar_times(kind, n, seed), b.open, b.high, b.low, b.close, b.volume)


def frame_bars(df) -> Bars:
    """A backtesting.test DataFrame (GOOG, EURUSD) as Bars."""
    import pandas as pd

    ts = pd.DatetimeIndex(df.index).as_unit("ns").asi8
    return Bars(ts, df.Open.to_numpy(float), df.High.to_numpy(float), df.Low.to_numpy(float),
                df.Close.to_numpy(float), df.Volume.to_numpy(float))


def assert_same_table(ours: dict, theirs) -> None:
    """Same keys in the same order; times as ISO 8601 of the same instant, durations as days, counts
    as ints, numbers to RTOL (NaN/NaT where the peer has them, inf where it has inf)."""
    import pandas as pd

    theirs = {k: v for k, v in theirs.items() if not k.startswith("_")}
    assert list(ours) == list(theirs)
    for key, want in theirs.items():
        got = ours[key]
        if isinstance(want, pd.Timestamp):
            assert isinstance(got, str) and got.endswith("Z"), key
            assert pd.Timestamp(got) == want.tz_localize("UTC"), key
            continue
        if isinstance(want, pd.Timedelta):
            want = want / pd.Timedelta(days=1)
        elif want is pd.NaT:
            want = math.nan
        elif isinstance(want, (int, np.integer)):
            assert got == want and isinstance(got, int), key
            continue
        want = float(want)
        assert isinstance(got, float), key
        if math.isnan(want) or math.isinf(want):
            assert got == want or (math.isnan(got) and math.isnan(want)), (key, got, want)
        else:
            assert got == pytest.approx(want, rel=RTOL, abs=0), (key, got, want)


def peers():
    pytest.importorskip("backtesting")
    pytest.importorskip("vectorbt")
    from benchmarks import peer_runners

    return peer_runners


def check_peer(compat: str, bars: Bars, entries, exits, cash: float, commission: float) -> dict:
    """Our peer_stats under `compat` equal the peer library's own table on the same signals."""
    result = run_backtest(bars, GivenSignals(entries, exits), {},
                          SimConfig.preset(compat, init_cash=cash, commission=commission))
    run_peer = {"backtesting": peers().backtesting_py_stats, "vectorbt": peers().vectorbt_stats}[compat]
    theirs = run_peer(bars, entries, exits, cash, commission)
    ours = peer_stats(result)
    assert ours is not None
    assert_same_table(ours, theirs)
    return ours


def check_backtesting(bars: Bars, entries, exits, cash: float, commission: float) -> dict:
    return check_peer("backtesting", bars, entries, exits, cash, commission)


def check_vectorbt(bars: Bars, entries, exits, cash: float, commission: float) -> dict:
    return check_peer("vectorbt", bars, entries, exits, cash, commission)


# --- backtesting.py's own example data ---------------------------------------------------------------


@pytest.mark.peers
@pytest.mark.parametrize("data", ["GOOG", "EURUSD"])
def test_backtesting_sma_cross_on_its_example_data(data):
    """The website example (GOOG, SMA 10/20 cross, commission 0.002) with our builtin sma_cross; the peer
    strategy declares both SMAs with self.I, so its Buy & Hold starts at bar 19 and ours must too."""
    runners = peers()
    import backtesting.test

    bars = frame_bars(getattr(backtesting.test, data))
    result = run_backtest(bars, "sma_cross", {"n1": 10, "n2": 20}, SimConfig.preset("backtesting", commission=0.002))
    theirs = runners.backtesting_py_sma_cross_stats(bars, 10, 20, 10_000.0, 0.002)
    assert result.indicator_warmup == 19
    assert theirs["# Trades"] > 40
    assert_same_table(peer_stats(result), theirs)


@pytest.mark.peers
@pytest.mark.parametrize("commission", [0.0, 0.002])
def test_the_website_example_as_published_close_and_reverse(commission):
    """backtesting.py's website SmaCross goes short on the cross back (position.close(); sell()) and runs with
    finalize_trades=True: our sma_cross under the preset with direction both and at_end close trades the same,
    trade for trade, and prints the same stats table."""
    runners = peers()
    import backtesting.test

    bars = frame_bars(backtesting.test.GOOG)
    config = SimConfig.preset("backtesting", commission=commission, direction="both", at_end="close")
    result = run_backtest(bars, "sma_cross", {"n1": 10, "n2": 20}, config)
    theirs = runners.backtesting_py_website_stats(bars, commission=commission)
    trades, their_trades = result.trade_records, theirs["_trades"]
    assert len(trades) == len(their_trades) and (trades["side"] < 0).any() and not trades["is_open"].any()
    np.testing.assert_array_equal(trades["entry_bar"], their_trades["EntryBar"].to_numpy())
    np.testing.assert_array_equal(trades["exit_bar"], their_trades["ExitBar"].to_numpy())
    np.testing.assert_allclose(trades["size"] * trades["side"], their_trades["Size"].to_numpy())
    np.testing.assert_allclose(trades["pnl"], their_trades["PnL"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.equity, theirs["_equity_curve"]["Equity"].to_numpy(), rtol=1e-9)
    assert_same_table(peer_stats(result), theirs)


@pytest.mark.peers
@pytest.mark.parametrize("data", ["GOOG", "EURUSD"])
def test_vectorbt_sma_cross_on_backtesting_example_data(data):
    """Daily trading days (GOOG) and hourly bars with weekend gaps (EURUSD): freq is the median spacing."""
    runners = peers()
    import backtesting.test

    bars = frame_bars(getattr(backtesting.test, data))
    sig = get_strategy("sma_cross").generate(bars, n1=10, n2=20)
    result = run_backtest(bars, "sma_cross", {"n1": 10, "n2": 20}, SimConfig.preset("vectorbt", commission=0.002))
    theirs = runners.vectorbt_stats(bars, sig.entries, sig.exits, 10_000.0, 0.002)
    assert theirs["Total Closed Trades"] > 40
    assert_same_table(peer_stats(result), theirs)


# --- generated data ------------------------------------------------------------------------------------

GENERATED = [(seed, kind) for seed, kind in enumerate(TIME_KINDS)] + [(10 + s, "daily") for s in range(4)]


def _generated_case(seed: int, kind: str):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 300 if kind != "yearly" else 120))
    bars = generated_bars(seed, n, kind)
    entries, exits = random_signals(seed, n, p=(0.03, 0.1, 0.3)[seed % 3], last_bar=seed % 2 == 0)
    return bars, entries, exits, (10_000.0, 300.0)[seed % 2], (0.0, 0.001, 0.002, 0.01)[seed % 4]


@pytest.mark.peers
@pytest.mark.parametrize(("seed", "kind"), GENERATED)
def test_backtesting_generated(seed, kind):
    check_backtesting(*_generated_case(seed, kind))


@pytest.mark.peers
@pytest.mark.parametrize(("seed", "kind"), GENERATED)
def test_vectorbt_generated(seed, kind):
    check_vectorbt(*_generated_case(seed, kind))


@pytest.mark.peers
def test_no_trades_and_only_an_open_trade():
    """Undefined figures: NaN and NaT (backtesting.py), NaN, NaT and inf (vectorbt) where the peer has them."""
    bars = generated_bars(3, 80, "daily")
    none = np.zeros(80, bool)
    last = none.copy()
    last[40] = True
    for entries in (none, last):
        bt = check_backtesting(bars, entries, none, 10_000.0, 0.002)
        vb = check_vectorbt(bars, entries, none, 10_000.0, 0.002)
        assert bt["# Trades"] == 0 and math.isnan(bt["Win Rate [%]"]) and math.isnan(bt["Avg. Trade Duration"])
        assert "Commissions [$]" not in bt  # backtesting.py leaves it out when it is zero
        assert vb["Total Closed Trades"] == 0 and math.isnan(vb["Profit Factor"])
    assert math.isinf(check_vectorbt(bars, none, none, 10_000.0, 0.0)["Sharpe Ratio"])


@pytest.mark.peers
def test_backtesting_drawdown_only_on_the_last_bar():
    """backtesting.py's quirk: with no drawdown period but one on the last bar, its 'durations' are the
    drawdown depth itself (a fraction, not a time): we print the same."""
    n = 30
    close = np.r_[np.linspace(100, 130, n - 1), 120.0]
    bars = Bars.from_arrays(close, close * 1.01, close * 0.99, close)
    entries = np.zeros(n, bool)
    entries[2] = True
    ours = check_backtesting(bars, entries, np.zeros(n, bool), 10_000.0, 0.0)
    assert 0 < ours["Max. Drawdown Duration"] == ours["Avg. Drawdown Duration"] == -ours["Max. Drawdown [%]"] / 100


@pytest.mark.peers
@pytest.mark.parametrize("cash", [10_000.0, 12_345.67, 1e6])
def test_vectorbt_trades_that_break_even_to_the_last_bit(cash):
    """Buy at 99 and sell at 101 with 1 % fees: 99 * 1.01 == 101 * 0.99, so each P&L is rounding noise and
    its sign (win or loss) is decided by the last bits of the size, which must be vectorbt's own."""
    close = np.tile([99.0, 101.0], 20)
    bars = Bars.from_arrays(close, close + 1, close - 1, close)
    entries, exits = close == 99.0, close == 101.0
    ours = check_vectorbt(bars, entries, exits, cash, 0.01)
    assert ours["Total Closed Trades"] == 20 and abs(ours["Expectancy"]) < 1e-9 * cash


@pytest.mark.peers
def test_backtesting_cancelled_orders_and_weekly_bars():
    bars = generated_bars(5, 200, "weekly")
    entries, exits = random_signals(5, 200, 0.15)
    check_backtesting(bars, entries, exits, 102.0, 0.002)  # too little cash: some orders are cancelled


# --- hypothesis ------------------------------------------------------------------------------------------

cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**16), "n": st.integers(3, 400), "kind": st.sampled_from(TIME_KINDS),
    "p": st.sampled_from([0.0, 0.02, 0.1, 0.3]), "last_bar": st.booleans(),
    "cash": st.sampled_from([150.0, 10_000.0, 1e6]), "commission": st.sampled_from([0.0, 0.001, 0.01, 0.02]),
})


def _drawn(case: dict, tick: float | None):
    n = min(case["n"], 120) if case["kind"] == "yearly" else case["n"]
    bars = generated_bars(case["seed"], n, case["kind"], tick=tick)
    entries, exits = random_signals(case["seed"], n, case["p"], last_bar=case["last_bar"])
    return bars, entries, exits, case["cash"], case["commission"]


@pytest.mark.peers
@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, tick=st.sampled_from([None, 0.5]))
def test_backtesting_hypothesis(case, tick):
    check_backtesting(*_drawn(case, tick))


@pytest.mark.peers
@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, tick=st.sampled_from([None, 0.5]))
def test_vectorbt_hypothesis(case, tick):
    """Tick-rounded prices included: with them and a round fee a trade can break even to the last bit."""
    check_vectorbt(*_drawn(case, tick))


# --- without the peers ------------------------------------------------------------------------------------


def test_no_table_without_a_preset():
    bars = generated_bars(1, 50, "daily")
    result = run_backtest(bars, "sma_cross", {"n1": 3, "n2": 8}, SimConfig(commission=0.001))
    assert peer_stats(result) is None and "peer_stats" not in result.to_json_dict()


@pytest.mark.parametrize(("seed", "kind"), GENERATED)
def test_vectorbt_booking_only_settles_last_bits(seed, kind):
    """vectorbt's table books our fills with sizes and fees from its own cash; they are ours to 1e-12
    (the parity tests pin ours to vectorbt's), so the booking cannot hide a sizing difference."""
    bars, entries, exits, cash, commission = _generated_case(seed, kind)
    result = run_backtest(bars, GivenSignals(entries, exits), {},
                          SimConfig.preset("vectorbt", init_cash=cash, commission=commission))
    rec = result.trade_records
    assert len(rec) > 0
    size, entry_fee, exit_fee = sizes_and_fees(rec["entry_price"], rec["exit_price"], rec["is_open"], cash,
                                               commission)
    np.testing.assert_allclose(size, rec["size"], rtol=1e-12)
    np.testing.assert_allclose(entry_fee, rec["entry_fee"], rtol=1e-12, atol=1e-12 * cash)
    np.testing.assert_allclose(exit_fee, rec["exit_fee"], rtol=1e-12, atol=1e-12 * cash)


def test_indicator_warmup_counts_as_backtesting_py_does():
    nan = math.nan
    assert indicator_warmup({}) == 0
    assert indicator_warmup({"a": np.array([nan, nan, 1.0, 2.0]), "b": np.array([nan, 1.0, 2.0, 3.0])}) == 2
    assert indicator_warmup({"all_nan": np.full(4, nan)}) == 0  # numpy's argmin of all-True is 0


def test_a_cache_hit_keeps_the_warmup(tmp_path):
    bars = generated_bars(2, 300, "business")
    config = SimConfig.preset("backtesting", commission=0.002)
    cache = ResultCache(tmp_path)
    miss = run_backtest(bars, "sma_cross", {"n1": 5, "n2": 30}, config, cache=cache)
    hit = run_backtest(bars, "sma_cross", {"n1": 5, "n2": 30}, config, cache=ResultCache(tmp_path))
    assert hit.from_cache and hit.indicator_warmup == miss.indicator_warmup == 29
    assert hit.to_json_dict()["peer_stats"] == miss.to_json_dict()["peer_stats"]


SHORT_CASES = [(d, x) for d in ("short", "both") for x in ("all", "percent", "sl", "trail_tp", "fixed", "value")
               if not (d == "both" and x == "percent")]  # vectorbt refuses to reverse a percent size
SHORT_CASES += [("both", "percent_close")]
EXTRA = {"all": {}, "percent": {"sizing": "percent", "size": 0.5}, "sl": {"sl": 0.03},
         "trail_tp": {"trail": 0.02, "tp": 0.05}, "fixed": {"sizing": "fixed", "size": 5.0},
         "value": {"sizing": "value", "size": 2_000.0},
         "percent_close": {"sizing": "percent", "size": 0.5, "on_opposite_entry": "close"}}


@pytest.mark.peers
@pytest.mark.parametrize(("direction", "extra"), SHORT_CASES, ids=["-".join(c) for c in SHORT_CASES])
@pytest.mark.parametrize("kind", ["daily", "hourly", "business"])
def test_vectorbt_table_short_and_both(direction, kind, extra):
    """from_signals(direction="shortonly" | "both"): vectorbt books a short's value as debt, twice off the free
    cash, and its gross exposure counts |short value| against that free cash; its own pf.stats()."""
    import pandas as pd
    import vectorbt as vbt

    peers()
    extra = EXTRA[extra]
    bars, entries, exits, cash, commission = _generated_case(3 + len(kind), kind)
    result = run_backtest(bars, GivenSignals(entries, exits), {},
                          SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction=direction,
                                           **extra))
    assert (result.trade_records["side"] < 0).any(), "the case must trade short"
    idx = pd.DatetimeIndex(bars.times())
    kw: dict = {"direction": {"short": "shortonly", "both": "both"}[direction]}
    if "sizing" in extra:
        kw.update(size=extra["size"], size_type={"fixed": "amount"}.get(extra["sizing"], extra["sizing"]))
    if "on_opposite_entry" in extra:
        kw["upon_opposite_entry"] = extra["on_opposite_entry"]
    if "sl" in extra or "trail" in extra:
        kw.update({name: pd.Series(getattr(bars, name), index=idx) for name in ("open", "high", "low")})
        kw.update(sl_stop=extra.get("sl") or extra.get("trail"), sl_trail="trail" in extra)
        if "tp" in extra:
            kw["tp_stop"] = extra["tp"]
    freq = pd.Timedelta(int(np.median(np.diff(bars.ts))), "ns")
    pf = vbt.Portfolio.from_signals(pd.Series(bars.close, index=idx), entries, exits, init_cash=cash, fees=commission,
                                    freq=freq, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_table(peer_stats(result), pf.stats())


@pytest.mark.peers
@pytest.mark.parametrize("direction", ["short", "both"])
@pytest.mark.parametrize("finalize", [False, True])
@pytest.mark.parametrize("on_close", [False, True])
def test_backtesting_table_with_sell_finalize_trades_and_trade_on_close(direction, finalize, on_close):
    bars, entries, exits, cash, commission = _generated_case(3, "daily")
    entries[-1] = True  # an order on the last bar: trade_on_close never fills it, finalize_trades does
    config = SimConfig.preset("backtesting", init_cash=cash, commission=commission, direction=direction,
                              at_end="close" if finalize else "keep_open", fill="close" if on_close else "next_open")
    result = run_backtest(bars, GivenSignals(entries, exits), {}, config)
    theirs = peers().backtesting_py_stats(bars, entries, exits, cash, commission, direction, finalize, on_close)
    assert_same_table(peer_stats(result), theirs)


@pytest.mark.peers
@pytest.mark.parametrize("stops", [{"sl": 0.03}, {"tp": 0.04}, {"trail": 0.03}], ids=["sl", "tp", "trail"])
def test_vectorbt_table_with_stops(stops):
    """from_signals(..., open/high/low, sl_stop | tp_stop | sl_stop + sl_trail): vectorbt's own pf.stats()."""
    import pandas as pd
    import vectorbt as vbt

    peers()
    bars, entries, exits, cash, commission = _generated_case(6, "daily")
    result = run_backtest(bars, GivenSignals(entries, exits), {},
                          SimConfig.preset("vectorbt", init_cash=cash, commission=commission, **stops))
    assert (result.trade_records["exit_reason"] != 0).any(), "the case must exercise the stops"
    idx = pd.DatetimeIndex(bars.times())
    kw = {name: pd.Series(getattr(bars, name), index=idx) for name in ("open", "high", "low")}
    kw.update({"sl": {"sl_stop": stops.get("sl")}, "tp": {"tp_stop": stops.get("tp")},
               "trail": {"sl_stop": stops.get("trail"), "sl_trail": True}}[next(iter(stops))])
    freq = pd.Timedelta(int(np.median(np.diff(bars.ts))), "ns")
    pf = vbt.Portfolio.from_signals(pd.Series(bars.close, index=idx), entries, exits, init_cash=cash, fees=commission,
                                    freq=freq, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_table(peer_stats(result), pf.stats())


@pytest.mark.peers
@pytest.mark.parametrize("sizing", [("fixed", 5.0), ("percent", 0.5), ("value", 2_000.0)], ids=str)
def test_vectorbt_table_with_a_size(sizing):
    """from_signals(size=..., size_type=amount | percent | value): vectorbt's own pf.stats() (the sizes and
    fees are the records', not rebuilt from an all-in cash)."""
    import pandas as pd
    import vectorbt as vbt

    peers()
    kind, size = sizing
    bars, entries, exits, cash, commission = _generated_case(6, "daily")
    result = run_backtest(bars, GivenSignals(entries, exits), {},
                          SimConfig.preset("vectorbt", init_cash=cash, commission=commission, sizing=kind, size=size))
    idx = pd.DatetimeIndex(bars.times())
    freq = pd.Timedelta(int(np.median(np.diff(bars.ts))), "ns")
    pf = vbt.Portfolio.from_signals(pd.Series(bars.close, index=idx), entries, exits, init_cash=cash, fees=commission,
                                    freq=freq, size=size,
                                    size_type={"fixed": "amount", "percent": "percent", "value": "value"}[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_table(peer_stats(result), pf.stats())


@pytest.mark.peers
@pytest.mark.parametrize("exclusive", [True, False])
def test_backtesting_table_with_added_trades_and_partial_closes(exclusive):
    """Backtest(..., exclusive_orders=False) with buy(size=0.3) adding trades, and position.close(0.5):
    backtesting.py's own stats Series."""
    bars, entries, exits, cash, commission = _generated_case(4, "daily")
    n = len(bars)
    sizes, portions = np.full(n, 0.3), np.full(n, 0.5)
    config = SimConfig.preset("backtesting", init_cash=cash, commission=commission, accumulate=not exclusive)
    result = run_backtest(bars, GivenSignals(entries, exits, Orders(size=sizes, size_type="equity",
                                                                    exit_portion=portions)), {}, config)
    theirs = peers().backtesting_py_stats(bars, entries, exits, cash, commission, sizes=sizes, portions=portions,
                                          exclusive_orders=exclusive)
    assert_same_table(peer_stats(result), theirs)
    assert len(result.trade_records) > entries.sum(), "the case must split trades by partial closes"


@pytest.mark.peers
@pytest.mark.parametrize("case", ["tripled", "fixed_500"])
def test_vectorbt_table_after_a_ruin(case):
    """A short the cash cannot carry: vectorbt trades on below zero and buys back only what its cash pays (a
    short bought back in parts); its own pf.stats() from the run that does the same."""
    import pandas as pd
    import vectorbt as vbt

    peers()
    if case == "tripled":  # all the cash short at 100, the price triples, three exits
        close = np.array([100.0, 150.0, 190.0, 300.0, 320.0, 250.0, 90.0, 80.0])
        b = generated_bars(1, len(close), "daily")
        bars = Bars(b.ts, close, close, close, close, b.volume)
        entries, exits = np.arange(8) == 0, np.isin(np.arange(8), [3, 5, 7])
        cash, commission, sizes = 10_000.0, 0.001, {}
    else:
        bars, entries, exits, cash, commission = _generated_case(4, "daily")
        sizes = {"sizing": "fixed", "size": 50 * cash / 100.0}  # 50 times the cash's worth of units at 100
    result = run_backtest(bars, GivenSignals(entries, exits), {},
                          SimConfig.preset("vectorbt", init_cash=cash, commission=commission, direction="short",
                                           **sizes))
    assert result.status == "bankrupt" and (result.equity < 0.0).any()
    idx = pd.DatetimeIndex(bars.times())
    kw: dict = {"size": sizes["size"], "size_type": "amount"} if sizes else {}
    freq = pd.Timedelta(int(np.median(np.diff(bars.ts))), "ns")
    pf = vbt.Portfolio.from_signals(pd.Series(bars.close, index=idx), entries, exits, init_cash=cash, fees=commission,
                                    freq=freq, direction="shortonly", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_table(peer_stats(result), pf.stats())
