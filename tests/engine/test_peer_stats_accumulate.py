"""vectorbt's `pf.stats()` under `accumulate=True` (docs/compat.md, the `accumulate=True` row): our peer_stats,
booked from the run's order log (engine/kernels/simulate_log.py), equals the table vectorbt 1.2.0 prints for
`Portfolio.from_signals(..., accumulate=True)` on the same bars and signals, run here: long, short and both, the
default size and size types amount, value and percent, sl_stop / tp_stop / sl_trail, upon_opposite_entry, and
runs that end with an open position; on generated bars and on backtesting.py's GOOG. (The cases without
accumulation: tests/engine/test_peer_stats.py, whose helpers these use.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest import run_backtest
from engine.bars import Bars
from engine.cache import ResultCache
from engine.cache.backtest import lookup_backtest
from engine.compat import peer_stats
from engine.config import SimConfig
from engine.kernels.simulate_records import ORDER_LOG_DTYPE
from tests.engine.market import random_signals
from tests.engine.test_peer_stats import GivenSignals, assert_same_table, frame_bars, generated_bars, peers

SIZE_TYPES = {"fixed": "amount", "value": "value", "percent": "percent"}


def vectorbt_portfolio(bars: Bars, entries, exits, cash: float, commission: float, *, direction: str = "long",
                       sizing: str = "all", size: float = 1.0, on_opposite_entry: str = "reverse",
                       sl: float | None = None, tp: float | None = None, trail: float | None = None):
    """vectorbt's own Portfolio.from_signals(..., accumulate=True) for our preset's options (freq: the bars'
    median spacing; with stops also open/high/low, so vectorbt checks them inside each bar)."""
    import pandas as pd
    import vectorbt as vbt

    peers()
    idx = pd.DatetimeIndex(bars.times())
    kw: dict = {"direction": {"long": "longonly", "short": "shortonly", "both": "both"}[direction],
                "accumulate": True, "upon_opposite_entry": on_opposite_entry}
    if sizing != "all":
        kw.update(size=size, size_type=SIZE_TYPES[sizing])
    if sl or tp or trail:
        kw.update({name: pd.Series(getattr(bars, name), index=idx) for name in ("open", "high", "low")})
        if sl or trail:
            kw.update(sl_stop=sl or trail, sl_trail=bool(trail))
        if tp:
            kw["tp_stop"] = tp
    freq = pd.Timedelta(int(np.median(np.diff(bars.ts))), "ns")
    return vbt.Portfolio.from_signals(pd.Series(bars.close, index=idx), np.asarray(entries, bool),
                                      np.asarray(exits, bool), init_cash=cash, fees=commission, freq=freq, **kw)


def check_accumulate(bars: Bars, entries, exits, cash: float, commission: float, **options) -> dict:
    """Our peer_stats under the preset with accumulate=True equals vectorbt's pf.stats(), and our order log is
    vectorbt's orders: on each bar one order of vectorbt's is our fills there (a reversal: our exit and entry),
    of the same summed size, price and fee. Returns {"table": ours, "result": the run, "pf": vectorbt's Portfolio}."""
    config = SimConfig.preset("vectorbt", init_cash=cash, commission=commission, accumulate=True,
                              **{k: v for k, v in options.items() if v is not None})
    result = run_backtest(bars, GivenSignals(entries, exits), {}, config)
    pf = vectorbt_portfolio(bars, entries, exits, cash, commission, **options)
    ours = peer_stats(result)
    assert ours is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_table(ours, pf.stats())
    log, theirs = result.order_log, pf.orders.records
    assert log is not None and log.dtype == ORDER_LOG_DTYPE
    bars_at = np.unique(log["bar"])
    np.testing.assert_array_equal(bars_at, theirs["idx"].to_numpy())  # (vectorbt: at most one order a bar)
    signed = np.where(theirs["side"].to_numpy() == 0, 1.0, -1.0) * theirs["size"].to_numpy()
    at = np.searchsorted(bars_at, log["bar"])
    np.testing.assert_allclose(np.bincount(at, log["units"]), signed, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.bincount(at, log["fee"]), theirs["fees"].to_numpy(), rtol=1e-9, atol=1e-12)
    first = np.diff(log["bar"], prepend=-1) != 0  # each bar's first fill
    np.testing.assert_allclose(log["price"][first], theirs["price"].to_numpy(), rtol=1e-12)
    assert (np.diff(log["bar"]) >= 0).all()
    return {"table": ours, "result": result, "pf": pf}


def accumulates(run: dict) -> bool:
    """The run added to a position: more entry fills than trades opened."""
    log, tr = run["result"].order_log, run["result"].trade_records
    entries = (log["units"] > 0) if (tr["side"] > 0).all() else (log["units"] < 0) if (tr["side"] < 0).all() else None
    return entries is not None and int(entries.sum()) > len(np.unique(tr["entry_bar"]))


def generated_case(seed: int, p: float = 0.3, n: int = 250):
    bars = generated_bars(seed, n, ("daily", "business", "hourly")[seed % 3])
    entries, exits = random_signals(seed, n, p=p, last_bar=True)
    return bars, entries, exits


SIZES = [("all", 1.0), ("fixed", 5.0), ("value", 2_000.0), ("percent", 0.5)]
SIZE_CASES = [(d, s) for d in ("long", "short", "both") for s in SIZES]


@pytest.mark.peers
@pytest.mark.parametrize(("direction", "sizing"), SIZE_CASES, ids=[f"{d}-{s[0]}" for d, s in SIZE_CASES])
@pytest.mark.parametrize("commission", [0.0, 0.002])
def test_vectorbt_accumulate_sizes_and_directions(direction, sizing, commission):
    kind, size = sizing
    bars, entries, exits = generated_case(3 + len(direction), p=0.25)
    opposite = "close" if (direction, kind) == ("both", "percent") else "reverse"  # vectorbt cannot reverse a %
    run = check_accumulate(bars, entries, exits, 10_000.0, commission, direction=direction, sizing=kind, size=size,
                           on_opposite_entry=opposite)
    if kind != "all" and direction != "both":
        assert accumulates(run), "the case must add to a position"


STOPS = [{"sl": 0.03}, {"tp": 0.04}, {"trail": 0.03}, {"sl": 0.02, "tp": 0.03}]


@pytest.mark.peers
@pytest.mark.parametrize("stops", STOPS, ids=["sl", "tp", "trail", "sl_tp"])
@pytest.mark.parametrize("direction", ["long", "short", "both"])
def test_vectorbt_accumulate_with_stops(stops, direction):
    """A stop closes the whole position as one order, and the signals of its bar are ignored."""
    bars, entries, exits = generated_case(11, p=0.2)
    run = check_accumulate(bars, entries, exits, 10_000.0, 0.001, direction=direction, sizing="fixed", size=4.0,
                           **stops)
    assert (run["result"].trade_records["exit_reason"] != 0).any(), "the case must exercise the stops"


@pytest.mark.peers
@pytest.mark.parametrize("opposite", ["reverse", "close", "ignore"])
@pytest.mark.parametrize("sizing", [("all", 1.0), ("value", 1_500.0)], ids=["all", "value"])
def test_vectorbt_accumulate_upon_opposite_entry(opposite, sizing):
    """direction="both": exits are short entries; one against the position reverses it (one order of vectorbt's,
    our exit and entry on its bar), closes it or is ignored."""
    kind, size = sizing
    bars, entries, exits = generated_case(21, p=0.2)
    run = check_accumulate(bars, entries, exits, 10_000.0, 0.002, direction="both", sizing=kind, size=size,
                           on_opposite_entry=opposite)
    log = run["result"].order_log
    two = np.flatnonzero(np.diff(log["bar"]) == 0)
    if opposite == "reverse":
        assert len(two), "the case must reverse"
        assert (np.sign(log["units"][two]) == np.sign(log["units"][two + 1])).all()  # close, then open, one way
    else:
        assert not len(two)


@pytest.mark.peers
@pytest.mark.parametrize("direction", ["long", "short"])
def test_vectorbt_accumulate_ending_open_after_adds(direction):
    """Entries on the last bars add to a position still open at the end: Open Trade PnL and the open trade's
    entry orders (several, at their average price)."""
    bars, entries, exits = generated_case(31, p=0.15)
    entries[-12:], exits[-12:] = True, False
    run = check_accumulate(bars, entries, exits, 10_000.0, 0.002, direction=direction, sizing="fixed", size=3.0)
    assert run["table"]["Total Open Trades"] == 1 and accumulates(run)
    assert run["result"].trade_records["is_open"][-1]


def goog_signals(bars: Bars):
    """Trend adds on GOOG: an entry on every close above its 10-bar mean, an exit on every close below its
    20-bar mean (so a fixed size sells part of the position bar after bar)."""
    close = bars.close
    sma = {n: np.r_[np.full(n - 1, np.nan), np.convolve(close, np.ones(n) / n, "valid")] for n in (10, 20)}
    entries = close > sma[10]
    exits = close < sma[20]
    return entries & ~exits, exits & ~entries


GOOG_CASES = [("long", "fixed", 5.0, {}), ("short", "value", 2_000.0, {}), ("both", "fixed", 3.0, {}),
              ("long", "percent", 0.2, {}), ("long", "all", 1.0, {"sl": 0.05}), ("both", "value", 1_000.0,
                                                                                  {"trail": 0.04})]


@pytest.mark.peers
@pytest.mark.parametrize(("direction", "kind", "size", "stops"), GOOG_CASES,
                         ids=[f"{d}-{k}{'-' + next(iter(s)) if s else ''}" for d, k, _, s in GOOG_CASES])
def test_vectorbt_accumulate_on_goog(direction, kind, size, stops):
    import backtesting.test

    peers()
    bars = frame_bars(backtesting.test.GOOG)
    entries, exits = goog_signals(bars)
    opposite = "close" if kind == "percent" and direction == "both" else "reverse"
    run = check_accumulate(bars, entries, exits, 10_000.0, 0.002, direction=direction, sizing=kind, size=size,
                           on_opposite_entry=opposite, **stops)
    assert run["table"]["Total Trades"] > 5
    if kind not in ("all",) and direction != "both":
        assert accumulates(run)


accumulate_cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**16), "n": st.integers(3, 300), "p": st.sampled_from([0.05, 0.2, 0.5]),
    "direction": st.sampled_from(["long", "short", "both"]),
    "sizing": st.sampled_from([("all", 1.0), ("fixed", 3.0), ("fixed", 500.0), ("value", 2_000.0),
                               ("percent", 0.5), ("percent", 0.1)]),
    "stops": st.sampled_from([{}, {}, {"sl": 0.03}, {"tp": 0.04}, {"trail": 0.03}, {"sl": 0.02, "tp": 0.03}]),
    "opposite": st.sampled_from(["reverse", "close", "ignore"]),
    # (no commission 0 here: with a size the books take our sizes, which are vectorbt's but for the last bits, and
    # a round trip without fees can bring vectorbt's value back to its peak to the last bit, where ours falls a bit
    # short or over, and a drawdown lasts a bar more or less: docs/compat.md#the-peers-stats)
    "cash": st.sampled_from([100.0, 10_000.0]), "commission": st.sampled_from([0.001, 0.002, 0.02]),
})


@pytest.mark.peers
@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=accumulate_cases, tick=st.sampled_from([None, 0.5]))
def test_vectorbt_accumulate_hypothesis(case, tick):
    n = case["n"]
    bars = generated_bars(case["seed"], n, "daily", tick=tick)
    entries, exits = random_signals(case["seed"], n, case["p"], last_bar=case["seed"] % 2 == 0)
    kind, size = case["sizing"]
    opposite = case["opposite"] if case["direction"] == "both" else "reverse"
    if kind == "percent" and opposite == "reverse" and case["direction"] == "both":
        opposite = "close"
    check_accumulate(bars, entries, exits, case["cash"], case["commission"], direction=case["direction"],
                     sizing=kind, size=size, on_opposite_entry=opposite, **case["stops"])


# --- without the peer ------------------------------------------------------------------------------------


def test_the_order_log_is_kept_only_for_vectorbt_accumulation():
    bars, entries, exits = generated_case(5)
    for config, kept in ((SimConfig.preset("vectorbt", accumulate=True), True), (SimConfig.preset("vectorbt"), False),
                         (SimConfig(accumulate=True), False), (SimConfig.preset("backtesting"), False)):
        log = run_backtest(bars, GivenSignals(entries, exits), {}, config).order_log
        assert log is not None and log.dtype == ORDER_LOG_DTYPE and (len(log) > 0) == kept, config


def test_a_cache_hit_keeps_the_order_log_and_the_table(tmp_path):
    """A cached result carries the order log: its peer_stats is the computed one's. An entry stored without a
    log (before it was cached) is no hit: it is computed again."""
    bars, entries, exits = generated_case(7, p=0.3)
    strategy = GivenSignals(entries, exits)
    config = SimConfig.preset("vectorbt", accumulate=True, sizing="fixed", size=5.0, direction="both",
                              commission=0.001)
    cache = ResultCache(tmp_path)
    miss = run_backtest(bars, strategy, {}, config, cache=cache)
    cache.flush()
    hit = run_backtest(bars, strategy, {}, config, cache=ResultCache(tmp_path))
    assert hit.from_cache and not miss.from_cache
    np.testing.assert_array_equal(hit.order_log, miss.order_log)
    assert len(miss.order_log) > len(miss.trade_records)
    assert hit.to_json_dict()["peer_stats"] == miss.to_json_dict()["peer_stats"]
    key, _ = lookup_backtest(cache, bars, strategy, {}, config)
    cache.put(key, {k: v for k, v in cache.get(key).items() if k != "orders"})  # as stored before the log
    assert lookup_backtest(cache, bars, strategy, {}, config)[1] is None
    again = run_backtest(bars, strategy, {}, config, cache=cache)
    assert not again.from_cache and again.to_json_dict()["peer_stats"] == miss.to_json_dict()["peer_stats"]


def test_a_walk_forward_stitches_the_order_logs():
    """The stitched out-of-sample run carries its segments' logs end to end (bars into the stitched bars):
    its table's books end at the stitched equity, and each segment's fills sit in its own bars."""
    from engine.data.demo import demo_bars
    from engine.sweep.walkforward import walk_forward

    bars = demo_bars("ACME").slice(0, 1500)
    config = SimConfig.preset("vectorbt", accumulate=True, sizing="fixed", size=5.0, commission=0.001)
    wf = walk_forward(bars, "donchian_breakout", {"period": [10, 20]}, train=500, test=250, config=config)
    stitched = wf.result
    log = stitched.order_log
    assert len(log) > len(stitched.trade_records) and (np.diff(log["bar"]) >= 0).all()
    assert log["bar"][-1] >= 750  # (4 segments of 250 bars: the last one's fills are past the third's)
    table = peer_stats(stitched)
    assert table["End Value"] == pytest.approx(float(stitched.equity[-1]), rel=1e-12)
