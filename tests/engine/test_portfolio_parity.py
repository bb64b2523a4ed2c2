"""compat="vectorbt" portfolios against vectorbt 1.2.0's Portfolio.from_signals(..., cash_sharing=True,
group_by=True) with its default call sequence, on generated data with gaps, late listings and early
delistings, per-symbol fees and slippage, each size type, and more entry signals than the cash pays:
the value at every row, the final value and every trade to 1e-9, and the group's pf.stats() as peer_stats
(docs/compat.md, "Portfolio")."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("vectorbt")
pd = pytest.importorskip("pandas")

from benchmarks.peer_portfolio import vectorbt_portfolio, vectorbt_trades  # noqa: E402
from engine.portfolio.align import align  # noqa: E402
from engine.portfolio.config import PortfolioConfig  # noqa: E402
from engine.portfolio.run import build_result  # noqa: E402
from engine.portfolio.simulate import simulate_portfolio  # noqa: E402
from tests.engine.portfolio_data import random_signals, random_universe  # noqa: E402

RTOL = 1e-9
# (our sizing, size, vectorbt's size_type or None for from_signals' default: all the cash)
SIZES = [("percent", 1.0, None), ("units", 45.0, "units"), ("value", 3_500.0, "value"), ("percent", 0.3, "percent"),
         ("percent", 0.8, "percent")]


def _case(seed: int, sizing: str, size: float, vbt_sizing: str | None, m: int = 5, n: int = 90,
          p_entry: float = 0.3):
    data = random_universe(seed, m, n)
    aligned = align(data)
    entries, exits = random_signals(seed, aligned.close.shape, p_entry=p_entry)
    rng = np.random.default_rng(seed + 99)
    fees = rng.uniform(0.0, 0.01, m).round(4)
    slippage = rng.uniform(0.0, 0.005, m).round(4) * (seed % 2)
    config = PortfolioConfig(init_cash=10_000.0, compat="vectorbt", sizing=sizing, size=size,
                             commission_by_symbol=dict(zip(aligned.symbols, map(float, fees), strict=True)),
                             slippage_by_symbol=dict(zip(aligned.symbols, map(float, slippage), strict=True)))
    arrays = simulate_portfolio(aligned, entries, exits, config)
    pf = vectorbt_portfolio(aligned.ts, aligned.close, entries, exits, 10_000.0, fees, slippage, vbt_sizing,
                            size if vbt_sizing else np.inf, aligned.symbols)
    return aligned, config, arrays, pf


def assert_trades_equal(aligned, arrays, pf) -> None:
    theirs = vectorbt_trades(pf)
    ours = arrays.trades
    assert len(ours) == len(theirs)
    assert ours["symbol"].tolist() == theirs["col"].tolist()
    assert ours["entry_bar"].tolist() == theirs["entry_idx"].tolist()
    assert ours["exit_bar"].tolist() == theirs["exit_idx"].tolist()
    assert ours["is_open"].tolist() == (theirs["status"] == 0).tolist()
    for a, b in (("size", "size"), ("entry_price", "entry_price"), ("entry_fee", "entry_fees")):
        np.testing.assert_allclose(ours[a], theirs[b], rtol=RTOL, atol=1e-9)
    # vectorbt marks an open trade at the last row's close as it is: NaN where the symbol has no bar there;
    # ours at the symbol's last close (docs/portfolio.md, "Data")
    marked = ~np.isnan(theirs["exit_price"].to_numpy())
    gone = ~marked
    assert (ours["is_open"][gone]).all()
    for a, b in (("exit_price", "exit_price"), ("exit_fee", "exit_fees"), ("pnl", "pnl")):
        np.testing.assert_allclose(ours[a][marked], theirs[b].to_numpy()[marked], rtol=RTOL, atol=1e-9)
    last = aligned.close[aligned.last_bar[ours["symbol"][gone]], ours["symbol"][gone]]
    np.testing.assert_array_equal(ours["exit_price"][gone], last)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("sizing,size,vbt_sizing", SIZES, ids=lambda v: str(v))
def test_values_and_trades_equal_vectorbt(seed, sizing, size, vbt_sizing):
    aligned, _, arrays, pf = _case(seed, sizing, size, vbt_sizing)
    assert math.isclose(arrays.equity[-1], float(pf.final_value()), rel_tol=RTOL)
    np.testing.assert_allclose(arrays.equity, pf.value().to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(arrays.cash, pf.cash().to_numpy(), rtol=RTOL, atol=1e-9)
    assert_trades_equal(aligned, arrays, pf)


@pytest.mark.parametrize("seed", range(4))
def test_more_entries_than_cash_fills_in_column_order(seed):
    """Entry signals on most rows of most symbols: the cash runs out and later columns get the rest or none."""
    aligned, _, arrays, pf = _case(seed, "value", 4_000.0, "value", m=8, n=60, p_entry=0.7)
    assert arrays.n_skipped > 0
    np.testing.assert_allclose(arrays.equity, pf.value().to_numpy(), rtol=RTOL)
    assert_trades_equal(aligned, arrays, pf)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("sizing,size,vbt_sizing", SIZES[:4], ids=lambda v: str(v))
def test_peer_stats_are_the_groups_pf_stats(seed, sizing, size, vbt_sizing):
    aligned, config, arrays, pf = _case(seed, sizing, size, vbt_sizing)
    table = build_result(aligned, arrays, config, "arrays", {}).peer_stats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pf.stats()
    assert table is not None and list(table) == list(theirs.index)
    for key, value in theirs.items():
        ours = table[key]
        if isinstance(value, pd.Timestamp):
            assert ours == value.isoformat() + "Z", key
        elif isinstance(value, pd.Timedelta):
            assert math.isclose(ours, value / pd.Timedelta("1D"), rel_tol=RTOL), key
        elif isinstance(value, float) and math.isnan(value):
            assert math.isnan(ours), key
        else:
            assert math.isclose(ours, float(value), rel_tol=RTOL, abs_tol=1e-9), (key, ours, value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), m=st.integers(1, 7), n=st.integers(2, 80),
       sizing=st.sampled_from(SIZES), p_entry=st.floats(0.05, 0.8), size_scale=st.floats(0.1, 3.0))
def test_values_and_trades_equal_vectorbt_hypothesis(seed, m, n, sizing, p_entry, size_scale):
    ours, size, vbt_sizing = sizing
    if ours != "percent":
        size *= size_scale
    aligned, _, arrays, pf = _case(seed, ours, size, vbt_sizing, m=m, n=n, p_entry=p_entry)
    assert math.isclose(arrays.equity[-1], float(pf.final_value()), rel_tol=RTOL)
    np.testing.assert_allclose(arrays.equity, pf.value().to_numpy(), rtol=RTOL)
    assert_trades_equal(aligned, arrays, pf)
