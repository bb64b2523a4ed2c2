"""Walk-forward optimisation: optimise in-sample, trade the best params out-of-sample, stitch.

Windows (bar counts): train TRAIN, test TEST, step STEP (default TEST).
- rolling: window k trains on [k*STEP, k*STEP + TRAIN) and tests on the following bars;
- anchored: window k trains on [0, k*STEP + TRAIN) (the start stays at bar 0).
The out-of-sample run of a window lasts min(TEST, STEP) bars, so segments never overlap; a later window
starts where the previous one's out-of-sample period ended (with STEP > TEST the bars in between are
not traded and are not part of the stitched curve).

Each out-of-sample run is the pipeline's (engine/pipeline.py, the training bars as its lead); it:
- computes the strategy's signals on the bars from the window's train start to its test end (so
  indicators have their history; signals are causal, so no out-of-sample bar sees a later one);
- simulates only the test bars, starting with the equity the previous segment ended with, and closes
  any position at the segment's last close (`at_end="close"`), so segments chain exactly.
The result holds a `Result` of the stitched run: its equity, trades (bar indices into the stitched bars),
and the stats and drawdown the pipeline's `measure` computes on them; its status is "bankrupt" if a
segment was (the walk-forward stops there) and its cancelled orders are those of every segment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import StrategyError
from engine.kernels.simulate_records import ORDER_LOG_DTYPE, STATUS_BANKRUPT, STATUS_OK, TRADE_DTYPE
from engine.pipeline import Run, measure, run_pipeline
from engine.result import Result
from engine.strategies import Strategy, get_strategy
from engine.sweep import Progress, expand_grid, run_sweep


@dataclass
class WalkForwardResult:
    windows: pl.DataFrame  # one row per window: ranges, chosen params, in-sample metric, OOS figures
    result: Result  # the stitched out-of-sample run: its bars, equity, drawdown, trades (indices into its bars), stats
    metric: str
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # (train start, end, test start, end) bars
    # walk-forward efficiency: the mean annualised out-of-sample return over the mean annualised in-sample return
    # of the chosen params (Pardo's WFE); about 1: the in-sample edge held out of sample, near 0 or below: it did not
    efficiency: float = math.nan
    hindsight: np.ndarray | None = None  # with hindsight=True: see walk_forward


def parse_walk_forward(spec: str) -> tuple[int, int, int]:
    """'TRAIN:TEST[:STEP]' in bars."""
    try:
        parts = [int(x) for x in spec.split(":")]
        if len(parts) not in (2, 3) or min(parts) <= 0:
            raise ValueError
    except ValueError:
        raise StrategyError(f"--walk-forward {spec!r}: expected TRAIN:TEST[:STEP], whole numbers of bars > 0"
                            ) from None
    train, test = parts[0], parts[1]
    return train, test, parts[2] if len(parts) == 3 else test


def windows(n: int, train: int, test: int, step: int, anchored: bool = False) -> list[tuple[int, int, int, int]]:
    """(train_start, train_end, test_start, test_end) bar ranges, end exclusive."""
    out = []
    k = 0
    while True:
        test_start = k * step + train
        if test_start >= n:
            break
        train_start = 0 if anchored else k * step
        out.append((train_start, test_start, test_start, min(n, test_start + min(test, step))))
        k += 1
    return out


def walk_forward(
    bars: Bars,
    strategy: str | Strategy,
    grid: dict[str, Sequence[Any]],
    *,
    train: int,
    test: int,
    step: int | None = None,
    anchored: bool = False,
    metric: str = "sharpe_ratio",
    minimize: bool = False,
    where: str | None = None,
    config: SimConfig | None = None,
    executor: Any = None,
    strategies_dir: str | Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    cache: Any = None,
    hindsight: bool = False,
) -> WalkForwardResult:
    """Walk-forward over `bars` (see the module's docstring). `hindsight`: also the equity, over the same
    out-of-sample bars, of the grid's best params over all the bars (optimised with hindsight: what an
    in-sample optimisation would have shown), rebased to the initial cash at the first out-of-sample bar."""
    config = config or SimConfig()
    strat = get_strategy(strategy, strategies_dir=strategies_dir) if isinstance(strategy, str) else strategy
    step = step or test
    spans = windows(len(bars), train, test, step, anchored)
    if not spans:
        raise StrategyError(f"walk-forward: {len(bars)} bars are not enough for a {train}-bar training window "
                            "and a test window after it")
    combos = expand_grid(strat, grid, where)
    if not combos:
        raise StrategyError("walk-forward: the grid has no valid parameter set")
    oos_config = config.replace(at_end="close")
    segments: list[Run] = []
    rows: list[dict[str, Any]] = []
    used: list[tuple[int, int, int, int]] = []
    cash = config.init_cash
    for k, (tr0, tr1, te0, te1) in enumerate(spans):
        ins = run_sweep(bars.slice(tr0, tr1), strat, combos=combos, config=config, executor=executor,
                        progress=progress, cache=cache)
        best = _best(ins.rows, metric, minimize, strat)
        seg = run_pipeline(bars.slice(tr0, te1), strat, best, oos_config.replace(init_cash=cash),
                           lead=te0 - tr0, drawdown=False)
        segments.append(seg)
        rows.append({"window": k, "train_start": _day(bars, tr0), "train_end": _day(bars, tr1 - 1),
                     "test_start": _day(bars, te0), "test_end": _day(bars, te1 - 1), **best,
                     f"is_{metric}": _metric_of(ins.rows, best, metric),
                     "oos_return_pct": seg.stats["return_pct"], f"oos_{metric}": seg.stats.get(metric),
                     "oos_trades": seg.stats["n_trades"],
                     "is_return_ann_pct": _metric_of(ins.rows, best, "return_ann_pct"),
                     "oos_return_ann_pct": seg.stats["return_ann_pct"]})
        used.append((tr0, tr1, te0, te1))
        cash = float(seg.equity[-1])
        if cash <= 0.0:
            break
    stitched = _stitch(segments, bars, oos_config)
    frame = pl.DataFrame(rows)
    mean_is = float(frame["is_return_ann_pct"].mean())  # type: ignore[arg-type]
    efficiency = float(frame["oos_return_ann_pct"].mean()) / mean_is if mean_is > 0 else math.nan  # type: ignore
    curve = None
    if hindsight:
        full = run_sweep(bars, strat, combos=combos, config=config, executor=executor, cache=cache)
        whole = run_pipeline(bars, strat, _best(full.rows, metric, minimize, strat), config, drawdown=False)
        at = np.concatenate([np.arange(te0, te0 + len(seg.bars)) for (_, _, te0, _), seg in zip(used, segments,
                                                                                                strict=True)])
        first = used[0][2]
        base = whole.equity[first - 1] if first > 0 else config.init_cash
        curve = whole.equity[at] / base * config.init_cash
    return WalkForwardResult(frame, stitched.result(oos_config, strat.name, {}), metric, used, efficiency, curve)


def _stitch(segments: list[Run], like: Bars, config: SimConfig) -> Run:
    """The segments as one run: bars, equity and trades end to end (trade bar indices into the stitched
    bars), measured as a whole by the pipeline's last step under `config` (its init_cash, the first segment's
    cash, and its risk-free rate); bankrupt if a segment was."""
    trade_parts = []
    order_parts = []
    offset = 0
    for seg in segments:
        trades = seg.trades.copy()
        trades["entry_bar"] += offset
        trades["exit_bar"] += offset
        trade_parts.append(trades)
        orders = seg.orders.copy()  # the order log, where the config keeps one
        orders["bar"] += offset
        order_parts.append(orders)
        offset += len(seg.bars)
    oos = _concat([seg.bars for seg in segments], like)
    equity = np.concatenate([seg.equity for seg in segments])
    trades = np.concatenate(trade_parts) if trade_parts else np.empty(0, TRADE_DTYPE)
    t0 = time.perf_counter()
    stats, drawdown_pct = measure(oos, equity, trades, config)
    timings = {stage: sum(seg.timings[stage] for seg in segments) for stage in ("signals", "simulate", "stats")}
    timings["stats"] += time.perf_counter() - t0
    status = STATUS_BANKRUPT if any(seg.status == STATUS_BANKRUPT for seg in segments) else STATUS_OK
    orders = np.concatenate(order_parts) if order_parts else np.empty(0, ORDER_LOG_DTYPE)
    return Run(oos, equity, trades, status, sum(seg.n_cancelled for seg in segments), stats, drawdown_pct,
               timings, orders)


def _best(rows: pl.DataFrame, metric: str, minimize: bool, strat: Strategy) -> dict[str, Any]:
    if rows.is_empty():
        raise StrategyError("walk-forward: every parameter set failed in a training window")
    if metric not in rows.columns:
        raise StrategyError(f"walk-forward: unknown metric {metric!r}")
    values = rows[metric].to_numpy().astype(float)
    finite = np.where(np.isfinite(values), values, -math.inf if not minimize else math.inf)
    i = int(np.argmin(finite) if minimize else np.argmax(finite))  # ties: the first combo in grid order
    names = [p.name for p in strat.params]
    return {k: rows[k][i] for k in names}


def _metric_of(rows: pl.DataFrame, params: dict[str, Any], metric: str) -> float:
    mask = np.ones(len(rows), dtype=bool)
    for k, v in params.items():
        mask &= rows[k].to_numpy() == v
    return float(rows[metric].to_numpy()[mask][0])


def _concat(parts: list[Bars], like: Bars) -> Bars:
    cols = {name: np.concatenate([getattr(b, name) for b in parts])
            for name in ("ts", "open", "high", "low", "close", "volume")}
    return Bars(cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"],
                like.symbol, like.timeframe)


def _day(bars: Bars, i: int) -> str:
    """ISO date (or date and minute for intraday bars) of bar i."""
    text = str(np.datetime_as_string(bars.times()[i], unit="m"))
    return text[:10] if text.endswith("T00:00") else text.replace("T", " ")
