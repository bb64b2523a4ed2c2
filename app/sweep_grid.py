"""A sweep's rows as a grid of one metric over two params (the app's heatmap, the HTML report), without Qt."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

AGGREGATIONS = ("max", "mean", "median", "min")


def aggregate(rows: pl.DataFrame, x: str, y: str | None, metric: str, agg: str = "max"
              ) -> tuple[list[Any], list[Any], np.ndarray]:
    """(x values, y values, Z[ix, iy]) with Z the `agg` of `metric` over each cell's rows (NaN if none).

    NaN metrics count as missing. With `y` None the grid has one row (y values == [None]).
    """
    if agg not in AGGREGATIONS:
        raise ValueError(f"aggregation {agg!r}: expected one of {', '.join(AGGREGATIONS)}")
    xs = sorted(rows[x].unique().drop_nulls().to_list())
    ys: list[Any] = sorted(rows[y].unique().drop_nulls().to_list()) if y else [None]
    z = np.full((len(xs), len(ys)), np.nan)
    if rows.is_empty() or not xs or not ys:
        return xs, ys, z
    keys = [x] + ([y] if y else [])
    value = pl.col(metric).cast(pl.Float64).fill_nan(None)
    g = rows.group_by(keys).agg(getattr(value, agg)().alias("_v"))
    ix = np.searchsorted(np.asarray(xs), g[x].to_numpy())
    iy = np.searchsorted(np.asarray(ys), g[y].to_numpy()) if y else np.zeros(len(g), dtype=np.int64)
    z[ix, iy] = g["_v"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return xs, ys, z


def smooth_neighbours(z: np.ndarray) -> np.ndarray:
    """Parameter stability: each cell's mean over itself and its (up to 8) neighbours, NaN cells left out; a
    cell without a run stays NaN. A peak that survives is a plateau, one that melts was a lone spike."""
    z = np.asarray(z, dtype=np.float64)
    valid = np.isfinite(z)
    values = np.pad(np.where(valid, z, 0.0), 1)
    counts = np.pad(valid.astype(np.float64), 1)
    total = np.zeros_like(z)
    n = np.zeros_like(z)
    rows, cols = z.shape
    for dx in (0, 1, 2):
        for dy in (0, 1, 2):
            total += values[dx:dx + rows, dy:dy + cols]
            n += counts[dx:dx + rows, dy:dy + cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, total / n, np.nan)
