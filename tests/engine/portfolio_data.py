"""Random multi-symbol data for the portfolio tests: gaps, late listings, early delistings."""

from __future__ import annotations

import numpy as np

from engine.bars import Bars

DAY_NS = 86_400_000_000_000


def random_universe(seed: int, m: int, n: int, gap: float = 0.15, late: bool = True, early: bool = True,
                    vol: float = 0.03) -> list[Bars]:
    """`m` symbols on up to `n` daily rows: each misses a share `gap` of the rows at random, and may list late
    (start after row 0) or delist early (end before the last row). Every symbol keeps at least one bar."""
    rng = np.random.default_rng(seed)
    ts = np.datetime64("2020-01-01", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * DAY_NS
    out = []
    for k in range(m):
        close = 50 * np.exp(np.cumsum(rng.normal(0, vol, n))) * rng.uniform(0.5, 4)
        keep = rng.random(n) >= gap
        if late and rng.random() < 0.4:
            keep[: int(rng.integers(1, max(2, n // 2)))] = False
        if early and rng.random() < 0.3:
            keep[int(rng.integers(n // 2, n)):] = False
        keep[int(rng.integers(0, n))] = True
        c = close[keep]
        out.append(Bars(ts[keep], c, c, c, c, np.zeros(len(c)), symbol=f"S{k}"))
    return out


def random_signals(seed: int, shape: tuple[int, int], p_entry: float = 0.25, p_exit: float = 0.2):
    rng = np.random.default_rng(seed + 10_000)
    return rng.random(shape) < p_entry, rng.random(shape) < p_exit


def as_rows(close: np.ndarray) -> list[list[float | None]]:
    """The reference's input: rows of floats, None where a symbol has no bar."""
    return [[None if np.isnan(v) else float(v) for v in row] for row in close]
