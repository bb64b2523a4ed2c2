"""What a worker runs: one chunk of parameter sets over one dataset, returning stats rows only.

Kept free of executor logic so the same function runs in-process, in a spawn pool or on Dask.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from engine.bars import Bars
from engine.cache.keys import engine_version
from engine.config import SimConfig
from engine.errors import StrategyError
from engine.pipeline import run_pipeline
from engine.strategies import Strategy, get_strategy
from engine.strategies.memo import IndicatorMemo, indicator_memo, memo_scope
from engine.strategies.shipping import StrategyRef, unship
from engine.sweep.portfolio import PortfolioSpec
from engine.sweep.shared_bars import SharedBarsRef, attach


@dataclass(frozen=True)
class ChunkTask:
    task_id: int
    dataset: SharedBarsRef | Bars
    strategy: str | StrategyRef | Strategy  # a builtin's name, the parent's object shipped (shipping.py) or itself
    strategies_dir: str | None
    config: dict[str, Any]
    combos: tuple[tuple[int, dict[str, Any]], ...]  # (combo index, resolved params)
    dataset_index: int = 0
    memo_bytes: int | None = None  # the chunk's indicator memo bound (None: memo.DEFAULT_MAX_BYTES)
    engine_version: str = field(default_factory=lambda: engine_version())  # the code the parent keyed
    portfolio: PortfolioSpec | None = None  # each combo is a portfolio of the stacked symbols (sweep/portfolio.py)
    sweep_id: str = ""  # which sweep: a worker keeps its indicator memo within one (worker_memo.py)


@dataclass
class ChunkResult:
    task_id: int
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    worker_pid: int = 0
    seconds: float = 0.0
    bar_steps: int = 0
    rss_bytes: int = 0
    worker: str = ""  # a label for the worker when its pid says little (a Dask worker's address)
    # Per combo, seconds in each pipeline stage: {"signals": [...], "simulate": [...], "stats": [...]}, for the
    # parent's profiling registry (sweep.<stage> timers); a few floats per combo.
    stage_seconds: dict[str, list[float]] = field(default_factory=dict)


def run_chunk(task: ChunkTask, bars: Bars | None = None, memo: IndicatorMemo | None = None) -> ChunkResult:
    """Run every combo of the chunk; a combo that raises becomes an error row and the rest go on.

    `memo`: an indicator memo kept by the caller from chunk to chunk of the same dataset (a pool worker,
    a serial sweep), so an indicator is computed once per worker rather than once per chunk; without
    one the chunk gets its own, emptied when it ends."""
    t0 = time.perf_counter()
    if bars is None:
        bars = task.dataset if isinstance(task.dataset, Bars) else attach(task.dataset)
    check_engine_version(task)
    if isinstance(task.strategy, StrategyRef):
        strategy = unship(task.strategy)
    elif isinstance(task.strategy, Strategy):  # in-process (serial): the caller's own object
        strategy = task.strategy
    else:
        strategy = get_strategy(task.strategy, strategies_dir=task.strategies_dir)
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    n = len(bars)
    stages: dict[str, list[float]] = {}
    with (memo_scope(memo) if memo is not None else indicator_memo(task.memo_bytes)):
        if task.portfolio is not None:
            from engine.sweep.portfolio_task import combo_runner

            stats_of, symbol = combo_runner(bars, task.portfolio, strategy), "portfolio"
        else:
            config = SimConfig.from_dict(task.config)

            def stats_of(params: dict[str, Any]) -> dict[str, Any]:
                return _combo_stats(bars, strategy, params, config, stages)

            symbol = bars.symbol
        for combo_index, params in task.combos:
            try:
                stats = stats_of(params)
            except Exception as exc:  # user strategy code can raise anything: report, go on
                errors.append({"combo": combo_index, "dataset": task.dataset_index, "params": params,
                               "error": f"{type(exc).__name__}: {exc}"})
                continue
            rows.append({"combo": combo_index, "dataset": task.dataset_index, "symbol": symbol,
                         **params, **stats})
    return ChunkResult(task.task_id, rows, errors, os.getpid(), time.perf_counter() - t0,
                       n * len(task.combos), _rss(), stage_seconds=stages)


def check_engine_version(task: ChunkTask) -> None:
    """Refuse to run a chunk with other engine code than the parent keyed its results with (engine files
    edited during a sweep, then a worker restarted and imported the new ones)."""
    mine = engine_version()
    if task.engine_version != mine:
        raise StrategyError(f"this worker runs engine code {mine}, the sweep was keyed with {task.engine_version}: "
                            "the engine's files changed during the sweep; run it again")


def _combo_stats(bars: Bars, strategy: Any, params: dict[str, Any], config: SimConfig,
                 stages: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """One combo's stats. Its arrays (signals, equity, trades: 8 MB each per million bars) live inside
    run_pipeline and the Run it returns, freed on return, so the next combo never allocates while they
    are alive."""
    run = run_pipeline(bars, strategy, params, config, drawdown=False)
    if stages is not None:
        for stage, seconds in run.timings.items():
            stages.setdefault(stage, []).append(seconds)
    return run.stats


def _rss() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # pragma: no cover - psutil missing
        return 0
