"""run_portfolio(holdings=True): each symbol's value at each row (the app's allocation chart) adds up, with
the cash, to the equity, row by row; and asking for it changes nothing else."""

import numpy as np
import pytest

from engine.data.demo import demo_bars
from engine.portfolio import PortfolioConfig, run_portfolio
from engine.portfolio.align import align

SYMBOLS = ("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE")
CONFIGS = {
    "slots": PortfolioConfig(max_positions=2, commission=0.001),
    "rebalance": PortfolioConfig(sizing="equal", max_positions=3, rebalance="1M", commission=0.001, slippage=0.001),
    "percent": PortfolioConfig(sizing="percent", size=0.25, rebalance="1W"),
    "vectorbt": PortfolioConfig(compat="vectorbt", sizing="percent", size=0.3, commission=0.002),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_values_by_symbol_add_up_to_the_equity(name):
    datasets = [demo_bars(s) for s in SYMBOLS]
    datasets[1] = datasets[1].slice(800, None)  # listed late
    datasets[3] = datasets[3].slice(0, 3000)  # delisted early
    plain = run_portfolio(datasets, "sma_cross", {"n1": 15, "n2": 40}, CONFIGS[name])
    held = run_portfolio(datasets, "sma_cross", {"n1": 15, "n2": 40}, CONFIGS[name], holdings=True)
    assert plain.value_by_symbol is None and held.value_by_symbol is not None
    np.testing.assert_array_equal(held.equity, plain.equity)
    value = held.value_by_symbol
    assert value.shape == align(datasets).close.shape and (value >= 0).all()
    np.testing.assert_allclose(value.sum(axis=1), held.position_value, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(value.sum(axis=1) + held.cash, held.equity, rtol=1e-12)
    late, delisted = align(datasets).first_bar[1], align(datasets).last_bar[3]
    assert not value[:late, 1].any() and not value[delisted + 1:, 3].any()
