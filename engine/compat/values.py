"""Small numpy helpers shared by the peer stats tables (docs/compat.md#the-peers-stats).

Times are int64 nanoseconds since the epoch (UTC), as `Bars.ts` holds them.
"""

from __future__ import annotations

import math

import numpy as np

NS_PER_DAY = 86_400 * 1_000_000_000


def iso(t_ns: int) -> str:
    """ISO 8601 UTC, to the second (finer only when the time has a fraction of a second)."""
    t = np.datetime64(int(t_ns), "ns")
    text = np.datetime_as_string(t, unit="s") if t_ns % 1_000_000_000 == 0 else np.datetime_as_string(t, unit="ns")
    return str(text) + "Z"


def days(ns: float) -> float:
    """A duration in nanoseconds as days; NaN stays NaN."""
    return float(ns) / NS_PER_DAY if not math.isnan(ns) else math.nan


def seq_sum(a: np.ndarray) -> float:
    """Left-to-right sum (what a numba loop computes; numpy's `sum` adds pairwise); 0 when empty."""
    return float(np.add.accumulate(a)[-1]) if len(a) else 0.0


def seq_mean(a: np.ndarray) -> float:
    """Left-to-right mean, NaN when empty (numba's `np.nanmean` on NaN-free input)."""
    return seq_sum(a) / len(a) if len(a) else math.nan


def nan_max(a: np.ndarray) -> float:
    return float(np.max(a)) if len(a) else math.nan


def nan_min(a: np.ndarray) -> float:
    return float(np.min(a)) if len(a) else math.nan


def divide(a: float, b: float) -> float:
    """a / b with numpy's float semantics: x/0 is +-inf, 0/0 and anything with NaN is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))
