"""Each portfolio rule of docs/portfolio.md on a small hand-made case."""

from __future__ import annotations

import numpy as np
import pytest

from engine.bars import Bars
from engine.errors import ConfigError, DataError
from engine.kernels.portfolio import PF_EXIT_DELISTED, PF_EXIT_REASONS, PF_EXIT_REBALANCE
from engine.portfolio.align import align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.simulate import rebalance_rows, simulate_portfolio

DAY = 86_400_000_000_000
T0 = np.datetime64("2021-01-04", "ns").astype(np.int64)


def bars(symbol: str, closes: list[float | None]) -> Bars:
    """Daily bars from 2021-01-04; None: no bar that day."""
    ts = [T0 + k * DAY for k, c in enumerate(closes) if c is not None]
    c = np.array([c for c in closes if c is not None], dtype=float)
    return Bars(np.array(ts), c, c, c, c, np.zeros(len(c)), symbol=symbol)


def grid(rows: list[str]) -> np.ndarray:
    """'x.' strings, one per row, one character per symbol: x = True."""
    return np.array([[ch == "x" for ch in row] for row in rows])


def test_align_is_the_union_of_timestamps_with_nan_where_a_symbol_has_no_bar():
    a = align([bars("A", [1, None, 3]), bars("B", [None, 5, 6])])
    assert a.close.shape == (3, 2)
    assert np.isnan(a.close[1, 0]) and np.isnan(a.close[0, 1])
    assert a.first_bar.tolist() == [0, 1] and a.last_bar.tolist() == [2, 2]


def test_more_entries_than_slots_are_ranked_by_score_best_first():
    a = align([bars("A", [10, 10, 10]), bars("B", [10, 10, 10]), bars("C", [10, 10, 10])])
    entries = grid(["xxx", "...", "..."])
    exits = grid(["...", "...", "..."])
    score = np.array([[1.0, 3.0, 2.0]] * 3)
    cfg = PortfolioConfig(sizing="equal", max_positions=2)
    r = simulate_portfolio(a, entries, exits, cfg, score)
    assert sorted(r.trades["symbol"].tolist()) == [1, 2]
    assert r.n_skipped == 1
    # no score: symbol order
    r = simulate_portfolio(a, entries, exits, cfg)
    assert sorted(r.trades["symbol"].tolist()) == [0, 1]


def test_ties_and_nan_scores_rank_in_symbol_order_nan_last():
    a = align([bars(s, [10, 10]) for s in "ABCD"])
    entries = grid(["xxxx", "...."])
    exits = grid(["....", "...."])
    score = np.array([[np.nan, 2.0, 2.0, 1.0]] * 2)
    r = simulate_portfolio(a, entries, exits, PortfolioConfig(sizing="equal", max_positions=3), score)
    assert sorted(r.trades["symbol"].tolist()) == [1, 2, 3]
    r = simulate_portfolio(a, entries, exits, PortfolioConfig(sizing="equal", max_positions=1), score)
    assert r.trades["symbol"].tolist() == [1]  # B before C: a tie keeps symbol order
    nan_first = np.array([[np.nan, np.nan, 1.0, np.nan]] * 2)
    r = simulate_portfolio(a, entries, exits, PortfolioConfig(sizing="equal", max_positions=2), nan_first)
    assert sorted(r.trades["symbol"].tolist()) == [0, 2]  # C, then the NaNs in symbol order: A


def test_an_entry_the_cash_cannot_pay_is_cut_to_what_it_can_pay():
    a = align([bars("A", [100, 100]), bars("B", [50, 50])])
    cfg = PortfolioConfig(init_cash=10_000, sizing="units", size=80.0, commission=0.01)
    r = simulate_portfolio(a, grid(["xx", ".."]), grid(["..", ".."]), cfg)
    a_units, b_units = r.trades["size"]
    assert a_units == 80.0
    left = 10_000 - 80 * 100 * 1.01
    assert b_units == pytest.approx(left / (50 * 1.01), rel=1e-12)
    assert r.cash[0] == pytest.approx(0.0, abs=1e-9)


def test_a_symbol_without_a_bar_cannot_trade_and_is_marked_at_its_last_close():
    a = align([bars("A", [10, None, 30, 40]), bars("B", [5, 5, 5, 5])])
    cfg = PortfolioConfig(init_cash=1_000, sizing="value", size=100.0)
    r = simulate_portfolio(a, grid(["x.", ".x", "..", ".."]), grid(["..", "x.", "..", ".."]), cfg)
    t = r.trades[r.trades["symbol"] == 0][0]
    assert t["is_open"] and t["entry_bar"] == 0  # the exit at row 1 (no bar) was ignored
    assert r.equity[1] == pytest.approx(900 + 10 * 10)  # A marked at 10 on row 1, B bought at 5 (value 100)


def test_a_position_open_at_delisting_closes_at_the_last_bar():
    a = align([bars("A", [10, 12, None, None]), bars("B", [5, 5, 5, 5])])
    r = simulate_portfolio(a, grid(["x.", "..", "..", ".."]), grid(["..", "..", "..", ".."]),
                           PortfolioConfig(sizing="value", size=100.0))
    t = r.trades[0]
    assert (t["exit_bar"], PF_EXIT_REASONS[t["exit_reason"]], t["exit_price"]) == (1, "delisted", 12.0)
    assert t["exit_reason"] == PF_EXIT_DELISTED and not t["is_open"]
    r = simulate_portfolio(a, grid(["x.", "..", "..", ".."]), grid(["..", "..", "..", ".."]),
                           PortfolioConfig(sizing="value", size=100.0, delist_close=False))
    assert r.trades[0]["is_open"] and r.trades[0]["exit_price"] == 12.0


def test_a_late_listing_trades_only_from_its_first_bar():
    a = align([bars("A", [10, 10, 10]), bars("B", [None, None, 7])])
    r = simulate_portfolio(a, grid(["xx", "xx", "xx"]), grid(["..", "..", ".."]),
                           PortfolioConfig(sizing="value", size=100.0))
    assert r.trades[r.trades["symbol"] == 1]["entry_bar"].tolist() == [2]


def test_an_entry_and_an_exit_on_one_bar_are_both_dropped():
    a = align([bars("A", [10, 11, 12])])
    r = simulate_portfolio(a, grid(["x", "x", "."]), grid([".", "x", "."]), PortfolioConfig(sizing="units", size=1.0))
    assert len(r.trades) == 1 and r.trades[0]["is_open"]  # the entry at row 1 is not an exit


def test_rebalance_resizes_open_positions_to_equal_weight_on_each_period_first_bar():
    # 2021-01-29 (Fri) .. 2021-02-02: February starts on row 3
    ts = np.datetime64("2021-01-29", "ns").astype(np.int64) + np.arange(5) * DAY
    a = align([Bars(ts, c, c, c, c, np.zeros(5), symbol=s) for s, c in
               (("A", np.array([10, 10, 20, 20, 20.0])), ("B", np.array([10, 10, 10, 10, 10.0])))])
    rows = rebalance_rows(a.ts, (1, "M"))
    assert rows.tolist() == [True, False, False, True, False]
    cfg = PortfolioConfig(init_cash=1_000, sizing="equal", max_positions=2, rebalance="1M")
    r = simulate_portfolio(a, grid(["xx", "..", "..", "..", ".."]), grid([".."] * 5), cfg)
    # before: A 50 units at 20 = 1000, B 50 at 10 = 500, equity 1500 -> 750 each on row 3
    part = r.trades[r.trades["exit_reason"] == PF_EXIT_REBALANCE]
    assert part["symbol"].tolist() == [0] and part["size"][0] == pytest.approx(50 - 750 / 20)
    open_ = r.trades[r.trades["is_open"]]
    np.testing.assert_allclose(open_["size"] * a.close[-1, open_["symbol"]], [750, 750])


def test_options_vectorbt_has_not_are_refused_under_its_preset():
    for bad in (dict(sizing="equal"), dict(sizing="percent", max_positions=2), dict(sizing="percent", rebalance="1M")):
        with pytest.raises(ConfigError, match="vectorbt"):
            PortfolioConfig(compat="vectorbt", **bad)
    a = align([bars("A", [1, 2])])
    with pytest.raises(DataError, match="score"):
        simulate_portfolio(a, grid(["x", "."]), grid([".", "."]), PortfolioConfig(compat="vectorbt",
                           sizing="percent"), np.ones((2, 1)))
