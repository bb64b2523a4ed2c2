"""Run a strategy on many symbols with one cash balance: bars -> per-symbol signals (and scores) -> the
portfolio kernel -> stats, per-symbol figures, trades (docs/portfolio.md), with the result cache around it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.bars import Bars
from engine.errors import ConfigError, StrategyError
from engine.kernels.portfolio import filled_close_nb
from engine.portfolio.align import AlignedBars, align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.result import PortfolioResult, per_symbol_figures, portfolio_stats
from engine.portfolio.simulate import PortfolioArrays, simulate_portfolio
from engine.strategies import Strategy, get_strategy, resolve_params
from engine.strategies.base import call_signals

if TYPE_CHECKING:
    from engine.cache import ResultCache

ScoreFn = Callable[[Bars], np.ndarray]


def portfolio_signals(aligned: AlignedBars, datasets: list[Bars], strategy: Strategy, params: dict[str, Any],
                      score: ScoreFn | None = None, vectorbt: bool = False,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(entries, exits, score) [n x m]: each symbol's signals computed on its own bars (as a single run computes
    them), placed at its rows; False / NaN where it has no bar. `score`: a function of one symbol's bars
    (default: the strategy's `score(bars, **params)` method, if it has one, except under compat="vectorbt" (the
    `vectorbt` flag), whose order is column order; else no score)."""
    entries, exits, scores = [], [], []
    if score is None and callable(getattr(strategy, "score", None)) and not vectorbt:
        def score(bars: Bars) -> np.ndarray:
            return strategy.score(bars, **params)  # type: ignore[attr-defined]
    for bars in datasets:
        sig = call_signals(strategy, bars, params)
        if sig.orders is not None:
            raise StrategyError(f"strategy {strategy.name!r}: orders (limit, stop, per-trade sizes) cannot be "
                                "used in a portfolio yet: it places market orders sized by the portfolio's sizing")
        entries.append(sig.entries)
        exits.append(sig.exits)
        if score is not None:
            s = np.asarray(score(bars), dtype=np.float64)
            if s.shape != (len(bars),):
                raise StrategyError(f"portfolio: the score of {bars.symbol or 'a symbol'} has shape {s.shape}, "
                                    f"expected ({len(bars)},)")
            scores.append(s)
    e = aligned.scatter(entries, False, np.bool_)
    x = aligned.scatter(exits, False, np.bool_)
    sc = aligned.scatter(scores, np.nan, np.float64) if score is not None else None
    return e, x, sc


def run_portfolio(datasets: list[Bars], strategy: str | Strategy, params: dict[str, Any] | None = None,
                  config: PortfolioConfig | None = None, *, score: ScoreFn | None = None,
                  symbols: list[str] | None = None, strategies_dir: str | None = None,
                  cache: ResultCache | None = None, holdings: bool = False) -> PortfolioResult:
    """Run `strategy` with `params` on every dataset (one per symbol) sharing `config.init_cash`.

    symbols: names (default each Bars' symbol). With a `cache`, a result computed before for the same data,
    strategy, params and config is returned from it (from_cache=True); a custom `score` function is not
    part of the key, so a run with one is never cached. `holdings`: also each symbol's value at each row
    (`PortfolioResult.value_by_symbol`, the app's allocation chart); computed, never read from the cache.
    Raises DataError for missing or clashing data, StrategyError for bad params or signals, ConfigError."""
    config = config or PortfolioConfig()
    strat = get_strategy(strategy, strategies_dir=strategies_dir) if isinstance(strategy, str) else strategy
    resolved = resolve_params(strat, params or {})
    t0 = time.perf_counter()
    aligned = align(datasets, symbols)
    unknown = sorted((set(config.commission_by_symbol) | set(config.slippage_by_symbol)) - set(aligned.symbols))
    if unknown:
        raise ConfigError(f"portfolio: a commission or slippage is set for {unknown[0]!r}, which is not one of the "
                          f"symbols ({', '.join(aligned.symbols)})")
    key = None
    if cache is not None and score is None and not holdings:
        from engine.portfolio.cache import lookup, store

        key = _key(datasets, aligned, strat, resolved, config)
        hit = lookup(cache, key, config, strat.name, resolved, aligned)
        if hit is not None:
            return hit
    entries, exits, sc = portfolio_signals(aligned, datasets, strat, resolved, score, config.compat == "vectorbt")
    t1 = time.perf_counter()
    units = np.zeros(aligned.close.shape) if holdings else None
    arrays = simulate_portfolio(aligned, entries, exits, config, sc, units_out=units)
    t2 = time.perf_counter()
    result = build_result(aligned, arrays, config, strat.name, resolved)
    if units is not None:
        result.value_by_symbol = units * filled_close_nb(aligned.close)
    result.timings = {"align_signals": t1 - t0, "simulate": t2 - t1, "stats": time.perf_counter() - t2}
    if cache is not None and key is not None:
        store(cache, key, result)
    return result


def build_result(aligned: AlignedBars, arrays: PortfolioArrays, config: PortfolioConfig, strategy: str,
                 params: dict[str, Any]) -> PortfolioResult:
    """The result of a finished kernel run (stats, per-symbol figures, turnover, vectorbt's table if asked)."""
    stats = portfolio_stats(aligned, arrays, config)
    mean_equity = float(arrays.equity.mean()) if len(arrays.equity) else 0.0
    turnover = float(arrays.traded_value.sum()) / mean_equity if mean_equity > 0 else 0.0
    peer = None
    if config.compat == "vectorbt":
        from engine.compat.vectorbt_portfolio import group_table

        peer = group_table(aligned, arrays, config)
    return PortfolioResult(config, strategy, params, aligned.symbols, aligned.ts, arrays.equity, arrays.cash,
                           arrays.position_value, arrays.traded_value, arrays.trades, stats,
                           per_symbol_figures(aligned, arrays), arrays.n_skipped, turnover, peer)


_code_digest: list[str] = []


def code_digest() -> str:
    """A hash of every engine module a portfolio result is computed by (this module and what it imports,
    found by engine.cache.keys.engine_modules), so an edit to the portfolio kernel misses the cache even
    though the single-run engine version does not cover it."""
    if not _code_digest:
        from engine.cache.keys import modules_digest

        _code_digest.append(modules_digest((__name__,)))
    return _code_digest[0]


def _key(datasets: list[Bars], aligned: AlignedBars, strategy: Strategy, params: dict[str, Any],
         config: PortfolioConfig) -> str:
    from engine.cache.keys import dataset_identity, make_key, strategy_identity

    return make_key("portfolio", code_digest(), list(aligned.symbols), [dataset_identity(b) for b in datasets],
                    strategy_identity(strategy), params, config.key())
