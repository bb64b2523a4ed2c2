"""Signal kernels: turn float64 series into boolean event arrays of the same length.

crossover_nb(a, b)
    out[i] = a[i-1] < b[i-1] and a[i] > b[i]; strict on both bars, so a series that touches the
    other (below -> equal -> above) never fires. Any NaN among the four values gives False, and
    out[0] is False. Hence no crossover can fire on the first bar where an indicator is defined.
crossunder_nb(a, b) = crossover_nb(b, a).
crossover_level_nb(a, level) / crossunder_level_nb(a, level)
    The same against a constant scalar level (NaN level: never fires).
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
