"""The demo generator's kernel against a plain-Python reference, on random inputs and on the demo's own."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.demo import demo_bars, generate_bars
from engine.kernels.demo_paths import regimes_garch_nb


def regimes_garch_reference(u_stay, u_next, z, p_stay, jump_cdf, k0, a, b):
    """docs of engine/kernels/demo_paths.py, line by line, in plain Python."""
    regime, var = [], []
    k, v = k0, 1.0
    for t in range(len(z)):
        if t > 0:
            if u_stay[t] > p_stay:
                k = next((j for j in range(2) if u_next[t] <= jump_cdf[k][j]), 2)
            v = min(25.0, (1.0 - a - b) + a * v * z[t - 1] ** 2 + b * v)
        regime.append(k)
        var.append(v)
    return np.array(regime, dtype=np.int64), np.array(var)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1), p_stay=st.floats(0.0, 1.0),
       a=st.floats(0.0, 0.5), b=st.floats(0.0, 0.49), k0=st.integers(0, 2), fat=st.floats(0.5, 8.0))
def test_kernel_equals_reference(n, seed, p_stay, a, b, k0, fat):
    rng = np.random.default_rng(seed)
    u_stay, u_next = rng.random(n), rng.random(n)
    z = rng.standard_t(3, n) * fat  # fat tails reach the variance cap
    jump = rng.random((3, 3))
    jump_cdf = np.cumsum(jump / jump.sum(axis=1, keepdims=True), axis=1)
    got = regimes_garch_nb(u_stay, u_next, z, p_stay, jump_cdf, k0, a, b)
    want = regimes_garch_reference(u_stay, u_next, z, p_stay, jump_cdf, k0, a, b)
    assert np.array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    assert n == 0 or (got[1].max() <= 25.0 and got[1][0] == 1.0 and set(got[0]) <= {0, 1, 2})


def test_demo_bars_are_a_pure_function_of_symbol_and_timeframe():
    a, b = generate_bars("ZED", 2000, "1d"), generate_bars("ZED", 2000, "1d")
    assert all(np.array_equal(getattr(a, c), getattr(b, c)) for c in ("open", "high", "low", "close", "volume"))
    assert not np.array_equal(a.close, generate_bars("ZEE", 2000, "1d").close)
    acme = demo_bars("ACME")
    assert len(acme) == 5040 and (acme.high >= np.maximum(acme.open, acme.close)).all()
    assert (acme.low <= np.minimum(acme.open, acme.close)).all() and (acme.low > 0).all()
