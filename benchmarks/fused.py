"""A hand-written, fused numba loop doing what a warm SMA-cross backtest does, in one pass: two SMAs, the
crossovers, next-open fills with all the cash and a commission on each side, the equity curve, and a few
stats (final equity, max drawdown, trade count). It is the yardstick of "how fast could this be": the public
API (`run_backtest`) is timed against it in the same run (suite "backtest", figure api_over_fused_1m).

Its result must equal run_backtest's (checked before timing), so the two do the same work.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def fused_sma_cross(open_, close, n1, n2, cash0, fee):  # pragma: no cover - numba
    n = close.shape[0]
    equity = np.empty(n)
    s1 = 0.0
    s2 = 0.0
    prev_f = np.nan
    prev_s = np.nan
    cash = cash0
    units = 0.0
    entry = 0.0
    pending = 0  # +1 buy, -1 sell at the next open
    peak = cash0
    max_dd = 0.0
    n_trades = 0
    for i in range(n):
        if pending == 1 and units == 0.0:
            px = open_[i]
            units = (cash / (1.0 + fee)) / px
            cash -= units * px * fee
            entry = px
        elif pending == -1 and units > 0.0:
            px = open_[i]
            cash += units * (px - entry) - units * px * fee
            units = 0.0
            n_trades += 1
        pending = 0
        c = close[i]
        s1 += c
        s2 += c
        if i >= n1:
            s1 -= close[i - n1]
        if i >= n2:
            s2 -= close[i - n2]
        f = s1 / n1 if i >= n1 - 1 else np.nan
        s = s2 / n2 if i >= n2 - 1 else np.nan
        if prev_f < prev_s and f > s:
            pending = 1
        elif prev_f > prev_s and f < s:
            pending = -1
        prev_f = f
        prev_s = s
        eq = cash + units * (c - entry)
        equity[i] = eq
        if eq > peak:
            peak = eq
        dd = eq / peak - 1.0
        if dd < max_dd:
            max_dd = dd
    return equity, max_dd * 100.0, n_trades
