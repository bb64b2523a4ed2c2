"""The portfolio kernel against the plain-Python reference (tests/engine/reference_portfolio.py) on random
gapped data, for every sizing, slot limit, score, rebalance and end rule, and vectorbt's mode; hypothesis
draws further cases and checks the invariants (docs/portfolio.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.kernels.portfolio import PF_EXIT_REASONS
from engine.portfolio.align import align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.simulate import rebalance_rows, simulate_portfolio
from tests.engine.portfolio_data import as_rows, random_signals, random_universe
from tests.engine.reference_portfolio import reference_portfolio

FIELDS = ("size", "entry_price", "exit_price", "pnl", "return_pct", "entry_fee", "exit_fee")


def run_both(seed: int, m: int, n: int, config: PortfolioConfig, with_score: bool = False):
    data = random_universe(seed, m, n)
    aligned = align(data)
    entries, exits = random_signals(seed, aligned.close.shape)
    score = None
    if with_score:
        rng = np.random.default_rng(seed + 7)
        score = rng.normal(size=aligned.close.shape)
        score[rng.random(score.shape) < 0.1] = np.nan
        score[rng.random(score.shape) < 0.1] = 0.5  # ties
    ours = simulate_portfolio(aligned, entries, exits, config, score)
    rebalance = rebalance_rows(aligned.ts, config.period())
    ref = reference_portfolio(config, aligned.symbols, as_rows(aligned.close), entries.tolist(), exits.tolist(),
                              None if score is None else score.tolist(),
                              rebalance.tolist() if len(rebalance) else None)
    return aligned, ours, ref


def assert_same(ours, ref) -> None:
    equity, trades, skipped = ref
    np.testing.assert_allclose(ours.equity, equity, rtol=1e-9, atol=1e-9)
    assert len(ours.trades) == len(trades)
    for rec, t in zip(ours.trades, trades, strict=True):
        assert (int(rec["symbol"]), int(rec["entry_bar"]), int(rec["exit_bar"]), bool(rec["is_open"])) == (
            t["symbol"], t["entry_bar"], t["exit_bar"], t["is_open"])
        assert PF_EXIT_REASONS[int(rec["exit_reason"])] == t["exit_reason"]
        for f in FIELDS:
            assert math.isclose(float(rec[f]), t[f], rel_tol=1e-9, abs_tol=1e-9), (f, float(rec[f]), t[f])
    assert ours.n_skipped == skipped


OUR_CONFIGS = [
    PortfolioConfig(),
    PortfolioConfig(sizing="equal", max_positions=2, commission=0.002),
    PortfolioConfig(sizing="units", size=40.0, commission_by_symbol={"S0": 0.01}, slippage=0.001),
    PortfolioConfig(sizing="value", size=3_000.0, max_positions=3, slippage_by_symbol={"S1": 0.005}),
    PortfolioConfig(sizing="percent", size=0.3, commission=0.001),
    PortfolioConfig(sizing="equal", max_positions=3, rebalance="1W", commission=0.001),
    PortfolioConfig(sizing="percent", size=0.25, rebalance="2W", slippage=0.002),
    PortfolioConfig(sizing="equal", max_positions=2, at_end="close", delist_close=False),
]
VBT_CONFIGS = [
    PortfolioConfig(compat="vectorbt", sizing="percent", size=1.0, commission=0.002),
    PortfolioConfig(compat="vectorbt", sizing="percent", size=0.35, commission_by_symbol={"S2": 0.01}),
    PortfolioConfig(compat="vectorbt", sizing="units", size=60.0, commission=0.001, slippage=0.003),
    PortfolioConfig(compat="vectorbt", sizing="value", size=4_500.0, commission=0.004),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("config", OUR_CONFIGS + VBT_CONFIGS, ids=lambda c: repr(c)[16:80])
def test_kernel_matches_reference(config, seed):
    with_score = config.compat is None and seed % 2 == 1
    _, ours, ref = run_both(seed, 2 + seed % 4, 60, config, with_score)
    assert_same(ours, ref)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), m=st.integers(1, 6), n=st.integers(2, 70),
       sizing=st.sampled_from(["units", "value", "percent", "equal"]), max_positions=st.integers(0, 4),
       rebalance=st.sampled_from([None, "1W", "1M"]), commission=st.sampled_from([0.0, 0.001, 0.02]),
       slippage=st.sampled_from([0.0, 0.003]), with_score=st.booleans(), vbt=st.booleans(),
       at_end=st.sampled_from(["keep_open", "close"]))
def test_kernel_matches_reference_hypothesis(seed, m, n, sizing, max_positions, rebalance, commission, slippage,
                                             with_score, vbt, at_end):
    size = {"units": 30.0, "value": 2_500.0, "percent": 0.4, "equal": 1.0}[sizing]
    if vbt:
        if sizing == "equal":
            sizing = "percent"
        config = PortfolioConfig(compat="vectorbt", sizing=sizing, size=size, commission=commission,
                                 slippage=slippage)
        with_score = False
    else:
        config = PortfolioConfig(sizing=sizing, size=size, max_positions=max_positions, commission=commission,
                                 slippage=slippage, at_end=at_end,
                                 rebalance=rebalance if sizing in ("equal", "percent") else None)
    aligned, ours, ref = run_both(seed, m, n, config, with_score)
    assert_same(ours, ref)
    # invariants: the cash never goes below zero; equity is cash plus the positions at their last closes;
    # no fill where a symbol has no bar; at most max_positions open at once
    assert (ours.cash >= -1e-9).all()
    np.testing.assert_allclose(ours.equity, ours.cash + ours.position_value, rtol=1e-12, atol=1e-9)
    tr = ours.trades
    assert not np.isnan(aligned.close[tr["entry_bar"], tr["symbol"]]).any()
    closed = tr[~tr["is_open"]]
    assert not np.isnan(aligned.close[closed["exit_bar"], closed["symbol"]]).any()
    if max_positions and not vbt:
        held = np.zeros((aligned.n_bars, aligned.close.shape[1]), dtype=bool)
        for t in tr:
            held[t["entry_bar"]:t["exit_bar"], t["symbol"]] = True
        assert held.sum(axis=1).max() <= max_positions
