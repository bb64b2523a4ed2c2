"""Optimisers beyond the grid: Optuna's TPE and CMA-ES samplers over a sweep's grid (docs/optimize.md).

    result = optimize(bars, "sma_cross", {"n1": range(5, 101, 5), "n2": range(10, 201, 10)}, metric="sharpe_ratio",
                      sampler="tpe", trials=60, seed=1, executor=executor, cache=cache)

Each trial picks one value per grid parameter from the grid's own values (an evenly spaced range is a
stepped int/float to the sampler, anything else a choice), so every trial is a combo the grid has and its
cached result is shared with grid sweeps. Trials are asked in batches of `BATCH` and run as one sweep
each (`run_sweep(combos=...)`: the same executor, chunks and cache), then told their metric. A combo the
constraints (`where`, the strategy's own) refuse is told as failed and asked again; one asked twice is told
its known value without running; CMA-ES, once it only proposes what it has seen, restarts with twice the
population (IPOP). Rows come back in the grid's format, one per distinct combo, in the order they were
first tried. Optuna is the optional extra "optimize".
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import ConfigError, StrategyError
from engine.portfolio.config import PortfolioConfig
from engine.strategies import Strategy, get_strategy
from engine.sweep.run import Progress, SweepResult, compile_where, run_sweep

SAMPLERS = ("tpe", "cmaes")
# Trials asked (and run in parallel) before the sampler hears their results. Fixed, not the worker count,
# so a seed picks the same combos on every machine; 8 keeps 8 workers busy and TPE as good on the
# documented case as batches of 1 (docs/optimize.md).
BATCH = 8


def optimize(bars: Bars | Sequence[Bars], strategy: str | Strategy, grid: Mapping[str, Sequence[Any]], *, metric: str,
             minimize: bool = False, sampler: str = "tpe", trials: int = 50, seed: int = 0,
             where: str | None = None, config: SimConfig | None = None, executor: Any = None,
             cache: Any = None, batch: int | None = None, progress: Callable[[Progress], None] | None = None,
             cancel: threading.Event | None = None, strategies_dir: str | Path | None = None,
             portfolio: PortfolioConfig | None = None, score: str | None = None) -> SweepResult:
    """`trials` combos of `grid` chosen by `sampler` to maximise (or minimise) `metric` on `bars`; with
    `portfolio`, of the portfolio of the datasets `bars` (run_sweep's `portfolio` and `score`)."""
    t0 = time.perf_counter()
    try:
        import optuna
    except ModuleNotFoundError:
        raise ConfigError("--optimize needs Optuna: pip install 'backbench[optimize]'") from None
    if sampler not in SAMPLERS:
        raise ConfigError(f"optimize: sampler {sampler!r} is not one of {', '.join(SAMPLERS)}")
    if not (isinstance(trials, int) and trials >= 1):
        raise ConfigError(f"optimize: trials={trials!r} must be a whole number >= 1")
    strat = get_strategy(strategy, strategies_dir=strategies_dir) if isinstance(strategy, str) else strategy
    names = [p.name for p in strat.params]
    unknown = sorted(set(grid) - set(names))
    if unknown:
        raise StrategyError(f"strategy {strat.name!r}: unknown parameter {unknown[0]!r} in the grid")
    spaces = {name: _space(name, list(values)) for name, values in grid.items()}
    allowed = compile_where(where, names)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = optuna.study.StudyDirection.MINIMIZE if minimize else optuna.study.StudyDirection.MAXIMIZE
    restarts = 0

    def new_study() -> Any:
        chosen: optuna.samplers.BaseSampler
        if sampler == "tpe":
            chosen = optuna.samplers.TPESampler(seed=seed)
        else:
            # with_margin keeps CMA-ES from collapsing onto one value of an integer step
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                chosen = optuna.samplers.CmaEsSampler(seed=seed + restarts, warn_independent_sampling=False,
                                                      with_margin=True,
                                                      popsize=(4 + int(3 * math.log(len(spaces)))) * 2 ** restarts)
        return optuna.create_study(direction=direction, sampler=chosen)

    study = new_study()
    batch = batch or BATCH
    config = config or SimConfig()

    seen: dict[tuple, float | None] = {}  # combo -> its metric (None: no value)
    rows: list[pl.DataFrame] = []
    errors: list[dict[str, Any]] = []
    computed = 0
    refused = 0
    stuck = 0  # asks in a row that gave nothing new
    while len(seen) < trials and not (cancel is not None and cancel.is_set()):
        asked: list[tuple[Any, dict[str, Any]]] = []
        while len(asked) < min(batch, trials - len(seen)) and refused < 50 * trials:
            if stuck >= 20 and sampler == "cmaes" and restarts < 8:
                # converged: start again with twice the population (IPOP-CMA-ES), the results kept in `seen`
                restarts += 1
                stuck = 0
                study = new_study()
            trial = study.ask()
            params = {name: space(trial) for name, space in spaces.items()}
            full = {**strat.defaults(), **params}
            if not allowed(full) or strat.constraints(full) is not None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                refused += 1
                stuck += 1
                continue
            key = tuple(sorted(params.items()))
            if key in seen or any(tuple(sorted(p.items())) == key for _, p in asked):
                value = seen.get(key)
                if value is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, value)
                refused += 1
                stuck += 1
                continue
            stuck = 0
            asked.append((trial, params))
        if not asked:
            break  # the grid's valid combos are used up
        result = run_sweep(bars, strat, combos=[p for _, p in asked], config=config, executor=executor,
                           cache=cache, cancel=cancel, portfolio=portfolio, score=score)
        computed += result.computed
        elapsed = time.perf_counter() - t0
        errors.extend(result.errors)
        values = _metric_by_combo(result.rows, metric)
        for k, (trial, params) in enumerate(asked):
            value = values.get(k)
            seen[tuple(sorted(params.items()))] = value
            if value is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
        if not result.rows.is_empty():
            offset = len(seen) - len(asked)
            rows.append(result.rows.with_columns(pl.col("combo") + offset))
        if progress is not None:
            progress(Progress(len(seen), trials, elapsed, len(seen) / elapsed if elapsed else 0.0, 0.0))
    frame = pl.concat(rows, how="diagonal_relaxed") if rows else pl.DataFrame()
    cancelled = bool(cancel is not None and cancel.is_set() and len(seen) < trials)
    return SweepResult(frame, errors, cancelled, time.perf_counter() - t0, computed, len(seen))


def _metric_by_combo(rows: pl.DataFrame, metric: str) -> dict[int, float]:
    """combo index -> the metric, for rows whose metric is a finite number."""
    if rows.is_empty():
        return {}
    if metric not in rows.columns:
        raise StrategyError(f"--metric {metric!r}: not a stat (one of: {', '.join(rows.columns)})")
    out = {}
    for combo, value in zip(rows["combo"].to_list(), rows[metric].to_list(), strict=True):
        if value is not None and math.isfinite(value):
            out[int(combo)] = float(value)
    return out


def _space(name: str, values: list[Any]) -> Callable[[Any], Any]:
    """How a trial picks `name` from the grid's `values`: a stepped int or float for an evenly spaced range
    (the samplers model its order), else one of the values."""
    if not values:
        raise StrategyError(f"grid: {name} has no values")
    ordered = sorted(set(values))
    if len(ordered) == 1:
        only = ordered[0]
        return lambda trial: trial.suggest_categorical(name, [only])
    step = ordered[1] - ordered[0]
    even = all(math.isclose(b - a, step, rel_tol=1e-9, abs_tol=1e-12) for a, b in itertools.pairwise(ordered))
    if even and all(float(v).is_integer() for v in ordered) and float(step).is_integer():
        low, high, istep = int(ordered[0]), int(ordered[-1]), int(step)
        return lambda trial: trial.suggest_int(name, low, high, step=istep)
    if even:  # the k-th value, by its index: exactly the grid's value, not a float the sampler rounded
        count = len(ordered)
        return lambda trial: ordered[trial.suggest_int(f"{name}__index", 0, count - 1)]
    choices = list(ordered)
    return lambda trial: trial.suggest_categorical(name, choices)
