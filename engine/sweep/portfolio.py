"""Portfolio sweeps (docs/portfolio.md, "Sweeps"): each combo of a grid is one whole portfolio run (all
symbols, one cash balance) and gives one stats row, symbol "portfolio".

The symbols' bars travel as one dataset: their columns end to end (`stack`), published once per sweep by
the executor like a single sweep's bars (shared memory for the local pool, a scattered object on Dask).
Each chunk carries a small `PortfolioSpec` (names, lengths, config, score) and a worker cuts the stacked
bars back into symbols and aligns them once per dataset (engine/sweep/portfolio_task.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.bars import Bars
from engine.errors import ConfigError, DataError
from engine.portfolio.align import align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.scores import parse_score
from engine.strategies import Strategy

SYMBOL = "portfolio"  # the `symbol` column of a portfolio sweep's rows


@dataclass(frozen=True)
class PortfolioSpec:
    """What a chunk needs besides the stacked bars to run its combos as portfolios."""

    symbols: tuple[str, ...]
    lengths: tuple[int, ...]  # bars per symbol, in stacking order
    timeframes: tuple[str, ...]
    config: dict[str, Any]  # PortfolioConfig.to_dict()
    score: str | None  # a score spec for engine.portfolio.parse_score, e.g. "momentum:63"


class PortfolioSweep:
    """The parent's side: checks the data and options once, stacks the bars, keys the combos."""

    def __init__(self, datasets: Sequence[Bars], config: PortfolioConfig, score: str | None = None) -> None:
        self.datasets = list(datasets)
        self.config = config
        aligned = align(self.datasets)  # DataError for no data, an empty dataset or a name given twice
        self.symbols = aligned.symbols
        self.n_rows = aligned.n_bars
        unknown = sorted((set(config.commission_by_symbol) | set(config.slippage_by_symbol)) - set(self.symbols))
        if unknown:
            raise ConfigError(f"portfolio: a commission or slippage is set for {unknown[0]!r}, which is not one of "
                              f"the symbols ({', '.join(self.symbols)})")
        parse_score(score)  # ConfigError for a bad spec, before any work
        if score and config.compat is not None:
            raise DataError("portfolio: a score cannot be combined with compat='vectorbt': its default call "
                            "sequence is column order (docs/compat.md, \"Portfolio\")")
        self.score = score or None
        self.stacked = stack(self.datasets)
        self.spec = PortfolioSpec(self.symbols, tuple(len(b) for b in self.datasets),
                                  tuple(b.timeframe for b in self.datasets), config.to_dict(), self.score)

    def keys(self, strategy: Strategy, combos: Sequence[dict[str, Any]]) -> list[str]:
        """The result-cache keys of the combos' stats rows: the data of every symbol, the strategy, the params,
        the config, the score and the portfolio code (engine.portfolio.run.code_digest)."""
        from engine.cache.keys import dataset_identity, make_key, strategy_identity
        from engine.portfolio.run import code_digest

        data = [dataset_identity(b) for b in self.datasets]
        ident, cfg, digest = strategy_identity(strategy), self.config.key(), code_digest()
        return [make_key("portfolio", "stats", digest, list(self.symbols), data, ident, dict(c), cfg, self.score)
                for c in combos]


def stack(datasets: Sequence[Bars]) -> Bars:
    """The datasets' columns end to end, as one Bars (its ts is not increasing: cut it with `unstack`)."""
    cols = {name: np.concatenate([getattr(b, name) for b in datasets])
            for name in ("ts", "open", "high", "low", "close", "volume")}
    return Bars(cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], SYMBOL,
                datasets[0].timeframe if datasets else "")


def unstack(bars: Bars, spec: PortfolioSpec) -> list[Bars]:
    """The symbols' own bars again (views of `bars`, no copy)."""
    out = []
    start = 0
    for sym, n, tf in zip(spec.symbols, spec.lengths, spec.timeframes, strict=True):
        s = slice(start, start + n)
        out.append(Bars(bars.ts[s], bars.open[s], bars.high[s], bars.low[s], bars.close[s], bars.volume[s], sym, tf))
        start += n
    if start != len(bars):
        raise DataError(f"portfolio sweep: the stacked bars have {len(bars)} rows, the symbols {start}")
    return out
