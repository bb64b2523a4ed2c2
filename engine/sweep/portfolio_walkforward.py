"""Walk-forward of a portfolio (docs/portfolio.md, "Sweeps"): the semantics of engine/sweep/walkforward.py on
the rows of the aligned symbols.

Windows are counted in aligned rows (times at which any symbol has a bar). In each window the grid is swept as
portfolios over the training rows (each symbol's bars in them; a symbol with none sits the window out), the
best combo by the metric is picked, and it trades the test rows: each symbol's signals are computed on its
bars from the training start to the test end (indicators have their history; signals are causal), then the
portfolio kernel runs only the test rows with the cash the previous segment ended with, and closes every
position at the segment's last row (`at_end="close"`), so segments chain exactly. A bankrupt segment ends it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from engine.bars import Bars
from engine.errors import StrategyError
from engine.kernels.portfolio import PF_TRADE_DTYPE
from engine.portfolio.align import AlignedBars, align
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.result import PortfolioResult, portfolio_stats
from engine.portfolio.run import build_result, portfolio_signals
from engine.portfolio.scores import parse_score
from engine.portfolio.simulate import PortfolioArrays, simulate_portfolio
from engine.strategies import Strategy, get_strategy
from engine.sweep.run import Progress, expand_grid, run_sweep
from engine.sweep.walkforward import _best, _metric_of, windows


@dataclass
class PortfolioWalkForward:
    windows: pl.DataFrame  # one row per window: dates, chosen params, in-sample metric, out-of-sample figures
    result: PortfolioResult  # the stitched out-of-sample portfolio (its rows: the test rows end to end)
    metric: str
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # aligned rows, end exclusive
    segments: list[PortfolioArrays] = field(default_factory=list)  # each window's out-of-sample run
    efficiency: float = math.nan  # as WalkForwardResult.efficiency


def walk_forward_portfolio(
    datasets: Sequence[Bars], strategy: str | Strategy, grid: dict[str, Sequence[Any]], *, train: int, test: int,
    step: int | None = None, anchored: bool = False, metric: str = "sharpe_ratio", minimize: bool = False,
    where: str | None = None, config: PortfolioConfig | None = None, score: str | None = None,
    executor: Any = None, strategies_dir: str | None = None, progress: Callable[[Progress], None] | None = None,
    cache: Any = None,
) -> PortfolioWalkForward:
    """Walk-forward of the portfolio of `datasets` (see the module's docstring); windows in aligned rows."""
    config = config or PortfolioConfig()
    strat = get_strategy(strategy, strategies_dir=strategies_dir) if isinstance(strategy, str) else strategy
    datasets = list(datasets)
    aligned = align(datasets)
    step = step or test
    spans = windows(aligned.n_bars, train, test, step, anchored)
    if not spans:
        raise StrategyError(f"walk-forward: {aligned.n_bars} rows are not enough for a {train}-row training "
                            "window and a test window after it")
    combos = expand_grid(strat, grid, where)
    if not combos:
        raise StrategyError("walk-forward: the grid has no valid parameter set")
    oos_config = config.replace(at_end="close")
    score_fn = parse_score(score)
    segments: list[PortfolioArrays] = []
    rows: list[dict[str, Any]] = []
    used: list[tuple[int, int, int, int]] = []
    cash = config.init_cash
    for k, (tr0, tr1, te0, te1) in enumerate(spans):
        train_sets = [b for b in window_bars(datasets, aligned, tr0, tr1) if len(b)]
        ins = run_sweep(train_sets, strat, combos=combos, executor=executor, progress=progress, cache=cache,
                        portfolio=only_symbols(config, train_sets), score=score)
        best = _best(ins.rows, metric, minimize, strat)
        seg_config = oos_config.replace(init_cash=cash)
        seg_aligned = subset(aligned, np.arange(te0, te1))
        seg = run_segment(datasets, aligned, tr0, te0, te1, strat, best, seg_config, score_fn)
        stats = portfolio_stats(seg_aligned, seg, seg_config)
        segments.append(seg)
        rows.append({"window": k, "train_start": _day(aligned, tr0), "train_end": _day(aligned, tr1 - 1),
                     "test_start": _day(aligned, te0), "test_end": _day(aligned, te1 - 1), **best,
                     f"is_{metric}": _metric_of(ins.rows, best, metric),
                     "oos_return_pct": stats["return_pct"], f"oos_{metric}": stats.get(metric),
                     "oos_trades": stats["n_trades"],
                     "is_return_ann_pct": _metric_of(ins.rows, best, "return_ann_pct"),
                     "oos_return_ann_pct": stats["return_ann_pct"]})
        used.append((tr0, tr1, te0, te1))
        cash = float(seg.equity[-1])
        if cash <= 0.0:
            break
    result = _stitch(aligned, used, segments, oos_config, strat.name)
    frame = pl.DataFrame(rows)
    mean_is = float(frame["is_return_ann_pct"].mean())  # type: ignore[arg-type]
    efficiency = float(frame["oos_return_ann_pct"].mean()) / mean_is if mean_is > 0 else math.nan  # type: ignore
    return PortfolioWalkForward(frame, result, metric, used, segments, efficiency)


def run_segment(datasets: Sequence[Bars], aligned: AlignedBars, tr0: int, te0: int, te1: int, strategy: Strategy,
                params: dict[str, Any], config: PortfolioConfig, score: Any = None) -> PortfolioArrays:
    """The portfolio on rows [te0, te1) under `config` (its init_cash: the cash carried in), with every
    symbol's signals computed on its bars in rows [tr0, te1); a symbol with no bar there gets none."""
    m = len(datasets)
    lead_rows = np.arange(tr0, te1)
    parts = window_bars(datasets, aligned, tr0, te1)
    cols = [j for j in range(m) if len(parts[j])]
    n = te1 - tr0
    entries = np.zeros((n, m), dtype=np.bool_)
    exits = np.zeros((n, m), dtype=np.bool_)
    sc = None
    if cols:
        sub = subset(aligned, lead_rows, cols)
        e, x, s = portfolio_signals(sub, [parts[j] for j in cols], strategy, params, score,
                                    config.compat == "vectorbt")
        entries[:, cols], exits[:, cols] = e, x
        if s is not None:
            sc = np.full((n, m), np.nan)
            sc[:, cols] = s
    lead = te0 - tr0
    return simulate_portfolio(subset(aligned, np.arange(te0, te1)), entries[lead:], exits[lead:], config,
                              None if sc is None else sc[lead:])


def window_bars(datasets: Sequence[Bars], aligned: AlignedBars, r0: int, r1: int) -> list[Bars]:
    """Each symbol's bars at aligned rows [r0, r1) (views; empty for a symbol with none there)."""
    out = []
    for bars, rows in zip(datasets, aligned.rows, strict=True):
        k0, k1 = np.searchsorted(rows, [r0, r1])
        out.append(bars.slice(int(k0), int(k1)))
    return out


def subset(aligned: AlignedBars, idx: np.ndarray, cols: Sequence[int] | None = None) -> AlignedBars:
    """The aligned rows `idx` (increasing) of the columns `cols` (default all). A symbol's last bar counts as
    a delisting only where it is one of `idx` (-1 otherwise: it never delists inside)."""
    cols = list(range(len(aligned.symbols))) if cols is None else list(cols)
    rows, first, last = [], [], []
    for j in cols:
        pos = np.searchsorted(idx, aligned.rows[j])
        inside = (pos < len(idx)) & (idx[np.minimum(pos, len(idx) - 1)] == aligned.rows[j])
        r = pos[inside].astype(np.int64)
        rows.append(r)
        first.append(r[0] if len(r) else -1)
        end = np.searchsorted(idx, aligned.last_bar[j])
        last.append(int(end) if end < len(idx) and idx[end] == aligned.last_bar[j] else -1)
    return AlignedBars(aligned.ts[idx], np.ascontiguousarray(aligned.close[idx][:, cols]),
                       tuple(aligned.symbols[j] for j in cols), tuple(rows), np.array(first, dtype=np.int64),
                       np.array(last, dtype=np.int64))


def only_symbols(config: PortfolioConfig, datasets: Sequence[Bars]) -> PortfolioConfig:
    """`config` without the per-symbol costs of symbols not in `datasets` (sitting a window out)."""
    names = {b.symbol for b in datasets}
    return config.replace(commission_by_symbol={s: v for s, v in config.commission_by_symbol.items() if s in names},
                          slippage_by_symbol={s: v for s, v in config.slippage_by_symbol.items() if s in names})


def _stitch(aligned: AlignedBars, used: list[tuple[int, int, int, int]], segments: list[PortfolioArrays],
            config: PortfolioConfig, strategy: str) -> PortfolioResult:
    """The segments end to end as one portfolio run over their rows (trade rows into the stitched rows),
    measured as a whole under `config` (its init_cash: the first segment's cash)."""
    idx = np.concatenate([np.arange(te0, te0 + len(seg.equity)) for (_, _, te0, _), seg in zip(used, segments,
                                                                                            strict=True)])
    parts, offset = [], 0
    for seg in segments:
        t = seg.trades.copy()
        t["entry_bar"] += offset
        t["exit_bar"] += offset
        parts.append(t)
        offset += len(seg.equity)
    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(s, name) for s in segments])

    arrays = PortfolioArrays(joined("equity"), joined("cash"), joined("position_value"), joined("traded_value"),
                             np.concatenate(parts) if parts else np.empty(0, PF_TRADE_DTYPE),
                             sum(s.n_skipped for s in segments))
    return build_result(subset(aligned, idx), arrays, config, strategy, {})


def _day(aligned: AlignedBars, i: int) -> str:
    text = str(np.datetime_as_string(aligned.times()[i], unit="m"))
    return text[:10] if text.endswith("T00:00") else text.replace("T", " ")
