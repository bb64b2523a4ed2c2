"""Many symbols, one cash balance (docs/portfolio.md): aligned data, the portfolio config, the run and its result.

    from engine.portfolio import PortfolioConfig, run_portfolio
    result = run_portfolio([bars_a, bars_b], "sma_cross", {}, PortfolioConfig(sizing="equal", max_positions=2))
"""

from engine.portfolio.align import AlignedBars, align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.result import PortfolioResult
from engine.portfolio.run import run_portfolio
from engine.portfolio.scores import momentum, parse_score
from engine.portfolio.simulate import simulate_portfolio

__all__ = ["AlignedBars", "PortfolioConfig", "PortfolioResult", "align", "momentum", "parse_score", "run_portfolio",
           "simulate_portfolio"]
