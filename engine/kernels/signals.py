"""Signal kernels: turn float64 series into boolean event arrays of the same length.

crossover_nb(a, b)
    out[i] = a[i-1] < b[i-1] and a[i] > b[i]; strict on both bars, so a series that touches the
    other (below -> equal -> above) never fires. Any NaN among the four values gives False, and
    out[0] is False. Hence no crossover can fire on the first bar where an indicator is defined.
crossunder_nb(a, b) = crossover_nb(b, a).
crossover_level_nb(a, level) / crossunder_level_nb(a, level)
    The same against a constant scalar level (NaN level: never fires).
cross_nb(a, b) -> (up, down)
    (crossover_nb(a, b), crossunder_nb(a, b)) in one pass over a and b.
sma_cross_nb(x, n1, n2) -> (up, down)
    cross_nb(sma_nb(x, n1), sma_nb(x, n2)) in one pass over x, without the two SMA arrays: both
    windows run through sma_nb's own step (engine/kernels/indicators.py), so the bits are the same.
"""

from __future__ import annotations

import numpy as np

from engine.kernels.indicators import _sma_finite_step_nb, _sma_step_nb, all_finite_nb
from engine.kernels.jit import njit


@njit(cache=True, nogil=True)
def crossover_nb(a, b):
    """True at bars where `a` goes from strictly below `b` to strictly above it."""
    size = a.shape[0]
    out = np.zeros(size, dtype=np.bool_)
    for i in range(1, size):
        a0 = a[i - 1]
        b0 = b[i - 1]
        a1 = a[i]
        b1 = b[i]
        if np.isnan(a0) or np.isnan(b0) or np.isnan(a1) or np.isnan(b1):
            continue
        out[i] = a0 < b0 and a1 > b1
    return out


@njit(cache=True, nogil=True)
def crossunder_nb(a, b):
    """True at bars where `a` goes from strictly above `b` to strictly below it."""
    return crossover_nb(b, a)


@njit(cache=True, nogil=True)
def crossover_level_nb(a, level):
    """True at bars where `a` goes from strictly below `level` to strictly above it."""
    size = a.shape[0]
    out = np.zeros(size, dtype=np.bool_)
    if np.isnan(level):
        return out
    for i in range(1, size):
        a0 = a[i - 1]
        a1 = a[i]
        if np.isnan(a0) or np.isnan(a1):
            continue
        out[i] = a0 < level and a1 > level
    return out


@njit(cache=True, nogil=True)
def crossunder_level_nb(a, level):
    """True at bars where `a` goes from strictly above `level` to strictly below it."""
    return crossover_level_nb(-a, -level)


@njit(cache=True, nogil=True)
def cross_nb(a, b):
    """(crossover_nb(a, b), crossunder_nb(a, b)) in one pass: a comparison with NaN is False, so a NaN
    among the four values gives False on both, as there."""
    size = a.shape[0]
    up = np.zeros(size, dtype=np.bool_)
    down = np.zeros(size, dtype=np.bool_)
    for i in range(1, size):
        a0 = a[i - 1]
        b0 = b[i - 1]
        a1 = a[i]
        b1 = b[i]
        up[i] = a0 < b0 and a1 > b1
        down[i] = a0 > b0 and a1 < b1
    return up, down


@njit(cache=True, nogil=True)
def sma_cross_nb(x, n1, n2):
    """(up, down) = cross_nb(sma_nb(x, n1), sma_nb(x, n2)), fused: one pass over x, no SMA arrays."""
    size = x.shape[0]
    up = np.zeros(size, dtype=np.bool_)
    down = np.zeros(size, dtype=np.bool_)
    resum1 = max(n1, 64)
    resum2 = max(n2, 64)
    s1 = c1 = s2 = c2 = 0.0
    nan1 = pinf1 = ninf1 = k1 = 0
    nan2 = pinf2 = ninf2 = k2 = 0
    prev_fast = prev_slow = np.nan
    if all_finite_nb(x):  # the common case: the same steps without counting NaN and inf
        for i in range(size):
            s1, c1, k1, fast = _sma_finite_step_nb(x, i, n1, resum1, s1, c1, k1)
            s2, c2, k2, slow = _sma_finite_step_nb(x, i, n2, resum2, s2, c2, k2)
            up[i] = prev_fast < prev_slow and fast > slow
            down[i] = prev_fast > prev_slow and fast < slow
            prev_fast = fast
            prev_slow = slow
        return up, down
    for i in range(size):
        s1, c1, nan1, pinf1, ninf1, k1, fast = _sma_step_nb(x, i, n1, resum1, s1, c1, nan1, pinf1, ninf1, k1)
        s2, c2, nan2, pinf2, ninf2, k2, slow = _sma_step_nb(x, i, n2, resum2, s2, c2, nan2, pinf2, ninf2, k2)
        up[i] = prev_fast < prev_slow and fast > slow
        down[i] = prev_fast > prev_slow and fast < slow
        prev_fast = fast
        prev_slow = slow
    return up, down
