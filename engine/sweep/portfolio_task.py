"""A worker's side of a portfolio sweep (engine/sweep/portfolio.py): the stacked bars cut back into symbols
and aligned once per dataset, then per combo the same steps as engine.portfolio.run_portfolio (signals on
each symbol's own bars, the portfolio kernel, the stats), so a row equals a direct run's stats exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.bars import Bars
from engine.portfolio.align import AlignedBars, align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.result import portfolio_stats
from engine.portfolio.run import portfolio_signals
from engine.portfolio.scores import parse_score
from engine.portfolio.simulate import simulate_portfolio
from engine.sweep.portfolio import PortfolioSpec, unstack

# the last dataset prepared: (stacked bars, spec, its symbols' bars, aligned); kept so the symbols' arrays
# keep their identity from chunk to chunk (the indicator memo is keyed by it) and alignment runs once
_prepared: list[tuple[Bars, PortfolioSpec, list[Bars], AlignedBars]] = []


def prepared(bars: Bars, spec: PortfolioSpec) -> tuple[list[Bars], AlignedBars]:
    if _prepared and _prepared[0][0] is bars and _prepared[0][1] == spec:
        return _prepared[0][2], _prepared[0][3]
    forget()
    datasets = unstack(bars, spec)
    aligned = align(datasets, list(spec.symbols))
    _prepared.append((bars, spec, datasets, aligned))
    return datasets, aligned


def forget() -> None:
    """Let the prepared dataset go (its views of a shared block would keep the block mapped)."""
    _prepared.clear()


def combo_runner(bars: Bars, spec: PortfolioSpec, strategy: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """params -> the portfolio's stats on the chunk's dataset."""
    datasets, aligned = prepared(bars, spec)
    config = PortfolioConfig(**spec.config)
    score = parse_score(spec.score)
    vbt = config.compat == "vectorbt"

    def stats_of(params: dict[str, Any]) -> dict[str, Any]:
        entries, exits, sc = portfolio_signals(aligned, datasets, strategy, params, score, vbt)
        return portfolio_stats(aligned, simulate_portfolio(aligned, entries, exits, config, sc), config)

    return stats_of
