"""Monte Carlo resampling of a finished run: is its result luck? (docs/montecarlo.md)

Three methods, each seeded (the same seed gives the same numbers):
- "trades": the closed trades drawn with replacement, as many as there were; each trade's return on the
  account (its P&L over the equity when it was entered) compounds from the initial cash;
- "shuffle": the same trades in a random order (the final return stays; the path and its drawdowns move);
- "blocks": the bar returns of the equity curve, resampled in blocks of `block` bars (a block bootstrap
  keeps the short-range dependence that single bars would lose).

Each run's path is the equity after each step (trade or bar), starting at the initial cash. Reported: the
5/25/50/75/95th percentiles of the path at every step, and the distributions of the final return, the max
drawdown and the longest drawdown (in steps), the probability of a loss and of ruin (equity at or below
`ruin` times the initial cash at any step).

The random draws come from numba's generator seeded with `seed` (its own stream, the same on every
machine), the paths and their figures from a numba kernel over plain arrays, the bands from numpy's sort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.kernels.jit import njit

METHODS = ("trades", "shuffle", "blocks")
PERCENTILES = (5, 25, 50, 75, 95)


# Arrays are step-major ([step, run]): each step's values over the runs are contiguous, which the loop
# and the percentiles read together.


@njit(cache=True, nogil=True, python=False)  # numba's generator: its draws are not numpy's
def draw_indices_nb(method, m, runs, block, seed):  # pragma: no cover - numba
    """[m, runs] indices into m returns: with replacement (method 0), a permutation (1), or moving blocks of
    `block` consecutive returns from random starts, cut to m (2)."""
    np.random.seed(seed)
    idx = np.empty((m, runs), dtype=np.int64)
    block = max(1, min(block, m))
    row = np.arange(m)
    for r in range(runs):
        if method == 0:
            for j in range(m):
                idx[j, r] = np.random.randint(0, m)
        elif method == 1:
            np.random.shuffle(row)
            for j in range(m):
                idx[j, r] = row[j]
        else:
            j = 0
            while j < m:
                start = np.random.randint(0, m - block + 1)
                for k in range(min(block, m - j)):
                    idx[j, r] = start + k
                    j += 1
    return idx


@njit(cache=True, nogil=True)
def paths_nb(returns, idx, init):  # pragma: no cover - numba
    """Equity paths from `init` compounding `returns[idx[j, r]]` over the steps j of each run r.

    Returns (paths[steps + 1, runs], final return in %, max drawdown in % (>= 0), longest drawdown in steps,
    lowest equity), the last four per run."""
    steps, runs = idx.shape
    paths = np.empty((steps + 1, runs))
    e = np.full(runs, init)
    peak = np.full(runs, init)
    worst = np.zeros(runs)
    under = np.zeros(runs)
    longest = np.zeros(runs)
    lowest = np.full(runs, init)
    paths[0, :] = init
    for j in range(steps):
        for r in range(runs):
            v = e[r] * (1.0 + returns[idx[j, r]])
            e[r] = v
            paths[j + 1, r] = v
            if v >= peak[r]:
                peak[r] = v
                under[r] = 0.0
            else:
                under[r] += 1.0
                if under[r] > longest[r]:
                    longest[r] = under[r]
                dd = 1.0 - v / peak[r]
                if dd > worst[r]:
                    worst[r] = dd
            if v < lowest[r]:
                lowest[r] = v
    final = (e / init - 1.0) * 100.0
    return paths, final, worst * 100.0, longest, lowest


def bands(paths: np.ndarray, qs: tuple[int, ...] = PERCENTILES) -> np.ndarray:
    """[len(qs), steps]: the percentiles `qs` (numpy's linear rule) of each row of paths[steps, runs].
    numpy's vectorised sort of every row is faster here than selecting (measured: docs/montecarlo.md)."""
    runs = paths.shape[1]
    ordered = np.sort(paths, axis=1)
    pos = np.asarray(qs, dtype=np.float64) / 100.0 * (runs - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, runs - 1)
    low, high = ordered[:, below], ordered[:, above]
    return (low + (high - low) * (pos - below)).T


@dataclass
class MonteCarlo:
    """The outcome of `run_montecarlo`: the actual run's figures and the resampled distributions."""

    method: str
    runs: int
    seed: int
    ruin: float
    block: int
    unit: str  # what one step of a path is: "trade" or "bar"
    actual_path: np.ndarray  # the run's own path over the same steps
    bands: np.ndarray  # [len(PERCENTILES), steps + 1]: the path's percentiles at each step
    final_return_pct: np.ndarray  # [runs]
    max_drawdown_pct: np.ndarray  # [runs], >= 0
    longest_drawdown: np.ndarray  # [runs], steps
    p_loss: float
    p_ruin: float

    def actual(self) -> dict[str, float]:
        _, final, dd, longest, _ = _figures(self.actual_path)
        return {"final_return_pct": final, "max_drawdown_pct": dd, "longest_drawdown": longest}

    def percentiles(self) -> dict[str, dict[str, float]]:
        out = {}
        for name in ("final_return_pct", "max_drawdown_pct", "longest_drawdown"):
            values = np.percentile(getattr(self, name), PERCENTILES)
            out[name] = {str(q): float(v) for q, v in zip(PERCENTILES, values, strict=True)}
        return out

    def to_json_dict(self) -> dict[str, Any]:
        return {"method": self.method, "runs": self.runs, "seed": self.seed, "unit": self.unit,
                "block": self.block if self.method == "blocks" else None, "ruin": self.ruin,
                "actual": self.actual(), "percentiles": self.percentiles(), "p_loss": self.p_loss,
                "p_ruin": self.p_ruin}


def _figures(path: np.ndarray) -> tuple[float, float, float, float, float]:
    """(steps, final return %, max drawdown %, longest drawdown in steps, lowest) of one path."""
    if len(path) < 2:
        return 0, 0.0, 0.0, 0.0, float(path[0]) if len(path) else math.nan
    rets = path[1:] / path[:-1] - 1.0
    _, final, dd, longest, low = paths_nb(rets, np.arange(len(rets))[:, None], float(path[0]))
    return len(rets), float(final[0]), float(dd[0]), float(longest[0]), float(low[0])


def trade_returns(equity: np.ndarray, trades: np.ndarray, init_cash: float) -> np.ndarray:
    """Each closed trade's return on the account: its P&L over the equity at the close before its entry
    bar (the initial cash for a trade entered on the first bar), in the order the trades closed."""
    closed = trades[~trades["is_open"].astype(bool)]
    entry = closed["entry_bar"].astype(np.int64)
    before = np.where(entry > 0, equity[np.maximum(entry - 1, 0)], init_cash)
    return closed["pnl"] / before


def run_montecarlo(equity: np.ndarray, trades: np.ndarray, init_cash: float, method: str = "trades",
                   runs: int = 1000, seed: int = 0, ruin: float = 0.5, block: int = 20) -> MonteCarlo:
    """Resample a finished run (its equity curve and TRADE_DTYPE records) `runs` times by `method`."""
    if method not in METHODS:
        raise ConfigError(f"montecarlo: method {method!r} is not one of {', '.join(METHODS)}")
    if not (isinstance(runs, int) and runs >= 1):
        raise ConfigError(f"montecarlo: runs={runs!r} must be a whole number >= 1")
    if not 0.0 <= ruin < 1.0:
        raise ConfigError(f"montecarlo: ruin={ruin!r} must be a fraction of the initial cash in [0, 1)")
    if not (isinstance(block, int) and block >= 1):
        raise ConfigError(f"montecarlo: block={block!r} must be a whole number of bars >= 1")
    init = float(init_cash)
    equity = np.asarray(equity, dtype=np.float64)
    if method == "blocks":
        returns = equity[1:] / equity[:-1] - 1.0 if len(equity) > 1 else np.empty(0)
        unit = "bar"
    else:
        returns = trade_returns(equity, trades, init)
        unit = "trade"
    if len(returns) == 0:
        raise ConfigError("montecarlo: the run has nothing to resample (no closed trade)" if unit == "trade"
                          else "montecarlo: the run has fewer than 2 bars")
    actual_path = np.r_[init, init * np.cumprod(1.0 + returns)]
    idx = draw_indices_nb(METHODS.index(method), len(returns), runs, block, seed)
    paths, final, dd, longest, lowest = paths_nb(returns, idx, init)
    percentile_bands = bands(paths)
    return MonteCarlo(method=method, runs=runs, seed=seed, ruin=ruin, block=block, unit=unit,
                      actual_path=actual_path, bands=percentile_bands, final_return_pct=final, max_drawdown_pct=dd,
                      longest_drawdown=longest, p_loss=float(np.mean(final < 0.0)),
                      p_ruin=float(np.mean(lowest <= ruin * init)))

