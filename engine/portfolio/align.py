"""Many symbols' bars on one time axis: the union of their timestamps (docs/portfolio.md, "Data")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.bars import Bars
from engine.errors import DataError


@dataclass(frozen=True, eq=False)
class AlignedBars:
    """`close[i, j]`: symbol j's close at time ts[i], NaN where it has no bar there.

    rows[j]: the rows of ts where symbol j has its bars (its own bar k sits at row rows[j][k]);
    first_bar[j] / last_bar[j]: its first and last row (listing and delisting)."""

    ts: np.ndarray  # int64 ns, UTC, increasing
    close: np.ndarray  # [n x m]
    symbols: tuple[str, ...]
    rows: tuple[np.ndarray, ...]
    first_bar: np.ndarray
    last_bar: np.ndarray

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    def times(self) -> np.ndarray:
        return self.ts.astype("datetime64[ns]")

    def scatter(self, per_symbol: list[np.ndarray], fill: float | bool, dtype: type) -> np.ndarray:
        """[n x m] array with symbol j's own per-bar values at its rows and `fill` elsewhere."""
        out: np.ndarray = np.full((len(self.ts), len(self.symbols)), fill, dtype=dtype)
        for j, values in enumerate(per_symbol):
            out[self.rows[j], j] = values
        return out


def align(datasets: list[Bars], symbols: list[str] | None = None) -> AlignedBars:
    """Align `datasets` (one Bars per symbol) on the union of their timestamps.

    symbols: their names (default: each Bars' symbol). Raises DataError for no data, an empty dataset or two
    datasets with one name."""
    if not datasets:
        raise DataError("portfolio: no symbols given")
    names = list(symbols) if symbols is not None else [b.symbol or f"S{k}" for k, b in enumerate(datasets)]
    if len(set(names)) != len(names):
        dup = next(s for s in names if names.count(s) > 1)
        raise DataError(f"portfolio: symbol {dup!r} given twice")
    for name, bars in zip(names, datasets, strict=True):
        if len(bars) == 0:
            raise DataError(f"portfolio: {name} has no bars")
    ts = np.unique(np.concatenate([b.ts for b in datasets]))
    rows = tuple(np.searchsorted(ts, b.ts).astype(np.int64) for b in datasets)
    close = np.full((len(ts), len(datasets)), np.nan)
    for j, bars in enumerate(datasets):
        close[rows[j], j] = bars.close
    first = np.array([r[0] for r in rows], dtype=np.int64)
    last = np.array([r[-1] for r in rows], dtype=np.int64)
    return AlignedBars(ts, close, tuple(names), rows, first, last)
