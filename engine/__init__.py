"""Backbench engine: numba kernels, strategies, data store, sweeps. Never imports Qt or `app`.

Top-level names are imported lazily so `import engine.bars` stays cheap (no numba compile).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Bars": "engine.bars",
    "SimConfig": "engine.config",
    "Result": "engine.result",
    "run_backtest": "engine.backtest",
    "simulate": "engine.simulation",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
