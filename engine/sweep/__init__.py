"""Sweeps: parameter grids, random search and walk-forward, and the executors that run them.

    from engine.sweep import run_sweep, expand_grid   # run.py: grids, constraints, running a sweep
    engine.sweep.executors      the local spawn pool and the serial executor (dask_executor.py: Dask)
    engine.sweep.task           what a worker runs: one chunk of parameter sets, stats rows back
    engine.sweep.order          the order combos run in, so indicators are computed about once
    engine.sweep.shared_bars    bars in shared memory for the pool's workers
    engine.sweep.worker_memo    a worker's indicator memo from chunk to chunk
    engine.sweep.walkforward    rolling or anchored walk-forward on top of sweeps
    engine.sweep.portfolio      sweeps whose combos are portfolios (run_sweep(portfolio=...)); portfolio_task.py
                                is a worker's side, portfolio_walkforward.py their walk-forward

How the processes work together: docs/architecture.md, "The sweep's process model".
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so that a worker importing engine.sweep.task does not load the executors, and the
# cache key's module list (engine/cache/keys.py, engine_modules) holds only what results depend on.
_LAZY = ("Progress", "SweepResult", "compile_where", "expand_grid", "parse_values", "run_sweep")

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("engine.sweep.run"), name)
    raise AttributeError(f"module 'engine.sweep' has no attribute {name!r}")
