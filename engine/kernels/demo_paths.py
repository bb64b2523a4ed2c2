"""The demo data's price process: the per-bar recursion of engine/data/demo.py (which documents the model).

regimes_garch_nb(u_stay, u_next, z, p_stay, jump_cdf, k0, a, b) -> (regime, var)
    regime[t]: the hidden regime (0, 1, 2). At t > 0 the regime is kept when u_stay[t] <= p_stay, else the
    next one is the first j with u_next[t] <= jump_cdf[k, j] (j < 2), else 2.
    var[t]: the GARCH(1,1) variance multiplier, v_0 = 1, v_t = (1-a-b) + a v_{t-1} z_{t-1}^2 + b v_{t-1},
    capped at 25.
"""

from __future__ import annotations

import numpy as np

from engine.kernels.jit import njit


@njit(cache=True, nogil=True)
def regimes_garch_nb(u_stay, u_next, z, p_stay, jump_cdf, k0, a, b):  # pragma: no cover - numba
    """Regime path and GARCH variance multiplier: the only per-bar recursion of the demo generator."""
    n = len(z)
    regime = np.empty(n, dtype=np.int64)
    var = np.empty(n, dtype=np.float64)
    k = k0
    v = 1.0
    for t in range(n):
        if t > 0:
            if u_stay[t] > p_stay:
                r = u_next[t]
                j = 0
                while j < 2 and r > jump_cdf[k, j]:
                    j += 1
                k = j
            v = (1.0 - a - b) + a * v * z[t - 1] * z[t - 1] + b * v
            if v > 25.0:
                v = 25.0
        regime[t] = k
        var[t] = v
    return regime, var
