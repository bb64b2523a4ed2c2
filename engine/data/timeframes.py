"""Timeframe strings ("1m", "5m", "1h", "1d", "1w", "1mo"): parsing, formatting, inference.

A timeframe is a count and a unit: s, m (minute), h, d, w, mo (calendar month). Bar labels are the
period start. "1mo" has no fixed length; its nanosecond figure (30 days) is only used for ordering.
"""

from __future__ import annotations

import re

import numpy as np

from engine.errors import DataError

NS_PER: dict[str, int] = {
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 7 * 86_400_000_000_000,
    "mo": 30 * 86_400_000_000_000,
}
_SQL_UNIT = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "day", "mo": "month"}
_RE = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w)\s*$")


def split_timeframe(tf: str) -> tuple[int, str]:
    """'15m' -> (15, 'm'). Raises DataError for anything else."""
    m = _RE.match(str(tf))
    if not m or int(m.group(1)) <= 0:
        raise DataError(f"timeframe {tf!r}: expected a count and a unit s, m, h, d, w or mo (e.g. 1h)")
    return int(m.group(1)), m.group(2)


def timeframe_ns(tf: str) -> int:
    """Length of one bar in nanoseconds (months count as 30 days)."""
    count, unit = split_timeframe(tf)
    return count * NS_PER[unit]


def normalize_timeframe(tf: str) -> str:
    """Canonical spelling: '60m' -> '1h', '24h' -> '1d', '7d' -> '1w'; months stay as given."""
    count, unit = split_timeframe(tf)
    if unit == "mo":
        return f"{count}mo"
    return format_ns(count * NS_PER[unit])


def format_ns(ns: int) -> str:
    """Largest unit that divides the spacing exactly: 3_600e9 -> '1h'."""
    for unit in ("w", "d", "h", "m", "s"):
        if ns % NS_PER[unit] == 0:
            return f"{ns // NS_PER[unit]}{unit}"
    raise DataError(f"bar spacing of {ns} ns is not a whole number of seconds")


def sql_interval(tf: str) -> str:
    """DuckDB interval literal for a timeframe, e.g. INTERVAL '15 minute'."""
    count, unit = split_timeframe(tf)
    if unit == "w":
        count *= 7
    return f"INTERVAL '{count} {_SQL_UNIT[unit]}'"


def infer_timeframe(ts_ns: np.ndarray) -> str:
    """Timeframe from the spacing of sorted int64 ns timestamps: the most common gap (the smallest of
    equally common ones), which is the median gap for regular data and stays right for short daily
    files where weekends are a large share of the gaps. 28-31 days give 1mo.
    """
    if len(ts_ns) < 2:
        raise DataError("cannot infer the timeframe from fewer than 2 bars: give --timeframe")
    diffs = np.diff(np.asarray(ts_ns, dtype=np.int64))
    if (diffs == diffs[0]).all():  # evenly spaced (a sort of 1M gaps costs ~60 ms on every import)
        step = int(diffs[0])
    else:
        gaps, counts = np.unique(diffs, return_counts=True)
        step = int(gaps[np.argmax(counts)])
    if 28 * NS_PER["d"] <= step <= 31 * NS_PER["d"]:
        step = int(np.median(diffs))
    if step <= 0:
        raise DataError("cannot infer the timeframe: timestamps are not increasing")
    if 28 * NS_PER["d"] <= step <= 31 * NS_PER["d"]:
        return "1mo"
    secs = max(1, round(step / NS_PER["s"]))
    return format_ns(secs * NS_PER["s"])
