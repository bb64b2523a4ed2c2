"""A run against a benchmark series: alpha, beta, information ratio, tracking error, correlation
(docs/stats.md, "Against a benchmark").

The benchmark's close is taken as of each bar of the run (its last close at or before the bar's time), so
a benchmark with other trading days or another timeframe lines up; bars before its first close are left
out. Both series become per-bar returns over the common span:
- beta = cov(r, b) / var(b); alpha = (mean(r) - beta * mean(b)) per bar, annualised (x periods a year) in %;
- tracking error = std(r - b) (ddof 1) x sqrt(periods a year), in %; information ratio = mean(r - b) /
  std(r - b) x sqrt(periods a year);
- correlation = Pearson's r of r and b; benchmark return = its close's change over the span, in %.
Periods a year are the run's bars a year, as our Sharpe ratio counts them (engine/kernels/stats.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.errors import DataError
from engine.kernels.stats import periods_per_year_nb

BENCHMARK_KEYS = ("bench_return_pct", "bench_alpha_pct", "bench_beta", "information_ratio", "tracking_error_pct",
                  "correlation")


def aligned_close(ts: np.ndarray, bench_ts: np.ndarray, bench_close: np.ndarray) -> np.ndarray:
    """The benchmark's last close at or before each time of `ts` (NaN before its first)."""
    k = np.searchsorted(bench_ts, ts, side="right") - 1
    return np.where(k >= 0, bench_close[np.maximum(k, 0)], np.nan)


def relative_stats(ts: np.ndarray, equity: np.ndarray, bench_ts: np.ndarray,
                   bench_close: np.ndarray) -> dict[str, Any]:
    """The BENCHMARK_KEYS of a run's equity (at times `ts`) against a benchmark's closes (at `bench_ts`);
    NaN where a figure has too few bars or no spread. DataError when the two do not overlap."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    bench = aligned_close(ts, np.asarray(bench_ts, dtype=np.int64), np.asarray(bench_close, dtype=np.float64))
    keep = np.isfinite(bench)
    if keep.sum() < 2:
        raise DataError("benchmark: it has no close in the run's span (check its symbol, file and dates)")
    ts, equity, bench = ts[keep], equity[keep], bench[keep]
    r = equity[1:] / equity[:-1] - 1.0
    b = bench[1:] / bench[:-1] - 1.0
    ppy = float(periods_per_year_nb(ts))
    out: dict[str, Any] = {"bench_return_pct": float((bench[-1] / bench[0] - 1.0) * 100.0)}
    nan = math.nan
    var_b = float(np.var(b, ddof=1)) if len(b) > 1 else nan
    if len(r) > 1 and var_b > 0:
        beta = float(np.cov(r, b, ddof=1)[0, 1] / var_b)
        out["bench_alpha_pct"] = float((r.mean() - beta * b.mean()) * ppy * 100.0)
        out["bench_beta"] = beta
    else:
        out["bench_alpha_pct"] = out["bench_beta"] = nan
    active = r - b
    te = float(np.std(active, ddof=1)) if len(active) > 1 else nan
    out["information_ratio"] = float(active.mean() / te * math.sqrt(ppy)) if te > 0 else nan
    out["tracking_error_pct"] = te * math.sqrt(ppy) * 100.0 if len(active) > 1 else nan
    sr = float(np.std(r, ddof=1)) if len(r) > 1 else nan
    out["correlation"] = float(np.corrcoef(r, b)[0, 1]) if sr > 0 and var_b > 0 else nan
    return out
