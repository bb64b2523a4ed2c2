"""Random but valid OHLC bars and signals for tests (numpy only, deterministic per seed)."""

from __future__ import annotations

import numpy as np

from engine.bars import Bars


def random_bars(seed: int, n: int, start_price: float = 100.0, vol: float = 0.02, gap_prob: float = 0.05,
                flat_prob: float = 0.05, tick: float | None = None) -> Bars:
    """A random walk with opening gaps, flat stretches (repeated closes) and optional tick rounding
    (rounding makes exact ties between prices and levels likely)."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, vol, n)
    r[rng.random(n) < flat_prob] = 0.0
    close = start_price * np.exp(np.cumsum(r))
    gaps = np.where(rng.random(n) < gap_prob, rng.normal(0.0, 4 * vol, n), rng.normal(0.0, vol / 5, n))
    open_ = np.r_[start_price, close[:-1]] * np.exp(gaps)
    if tick:
        close = np.maximum(np.round(close / tick) * tick, tick)
        open_ = np.maximum(np.round(open_ / tick) * tick, tick)
    hi_ext = np.abs(rng.normal(0.0, vol / 2, n)) * (rng.random(n) > 0.2)
    lo_ext = np.abs(rng.normal(0.0, vol / 2, n)) * (rng.random(n) > 0.2)
    high = np.maximum(open_, close) * (1 + hi_ext)
    low = np.minimum(open_, close) * (1 - lo_ext)
    if tick:
        high = np.ceil(high / tick - 1e-9) * tick
        low = np.maximum(np.floor(low / tick + 1e-9) * tick, tick / 2)
    return Bars.from_arrays(open_, high, low, close, volume=rng.integers(1, 1000, n).astype(float))


def random_signals(seed: int, n: int, p: float = 0.08, last_bar: bool = False):
    rng = np.random.default_rng(seed + 10_000)
    entries = rng.random(n) < p
    exits = rng.random(n) < p
    if last_bar and n:
        entries[-1] = True
    return entries, exits
