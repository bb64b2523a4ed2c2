"""A portfolio of one symbol is a single run: the portfolio kernel against the simulate kernel (an independent
implementation, tests/engine/test_simulate_reference.py), ours and vectorbt's rules."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import SimConfig
from engine.portfolio import PortfolioConfig, align, simulate_portfolio
from engine.simulation import SignalArrays, simulate
from tests.engine.portfolio_data import random_signals, random_universe


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("fee,slippage", [(0.0, 0.0), (0.002, 0.0), (0.002, 0.001)])
def test_one_symbol_all_in_equals_a_single_run_filled_at_the_close(seed, fee, slippage):
    (bars,) = random_universe(seed, 1, 200, gap=0.0, late=False, early=False)
    entries, exits = random_signals(seed, (len(bars), 1))
    signals = SignalArrays(entries[:, 0], exits[:, 0])
    single = SimConfig(fill="close", sizing="all", commission=fee, slippage=slippage)
    ours = PortfolioConfig(sizing="percent", size=1.0, commission=fee, slippage=slippage)
    cases = [(single, ours)]
    if slippage == 0.0:
        cases.append((SimConfig.preset("vectorbt", commission=fee),
                      PortfolioConfig(compat="vectorbt", sizing="percent", size=1.0, commission=fee)))
    for sim_config, pf_config in cases:
        equity, trades, _, _ = simulate(bars, signals, sim_config)
        r = simulate_portfolio(align([bars]), entries, exits, pf_config)
        np.testing.assert_allclose(r.equity, equity, rtol=1e-9)
        assert len(r.trades) == len(trades)
        for field in ("entry_bar", "exit_bar", "is_open"):
            np.testing.assert_array_equal(r.trades[field], trades[field])
        for field in ("size", "entry_price", "exit_price", "pnl", "entry_fee", "exit_fee"):
            np.testing.assert_allclose(r.trades[field], trades[field], rtol=1e-9, atol=1e-9)
