"""The kernel's run against the plain-Python reference's (tests/engine/reference_simulate.py): equity, trades,
status, cancelled orders and, where both give it, the order log."""

import numpy as np

from engine.kernels.simulate_records import TRADE_DTYPE


def assert_same_run(kernel, reference):
    """The kernel's (equity, trades, status, n_cancelled) equals the reference's, trade by trade and field by
    field (floats to 1e-12 relative); given with a fifth item, the order logs too, fill by fill."""

    def close(a, b):
        return np.allclose(a, b, rtol=1e-12, atol=1e-9, equal_nan=True)

    if len(kernel) == 5 or len(reference) == 5:
        log, ref_log = kernel[4], reference[4]
        assert len(log) == len(ref_log), (len(log), len(ref_log))
        for got, want in zip(log, ref_log, strict=True):
            assert int(got["bar"]) == want[0], (got, want)
            assert close([got["units"], got["price"], got["fee"]], want[1:]), (got, want)
        kernel, reference = kernel[:4], reference[:4]
    equity, trades, status, cancelled = kernel
    ref_eq, ref_trades, ref_status, ref_cancelled = reference
    assert (status, cancelled) == (ref_status, ref_cancelled)
    assert close(equity, ref_eq)
    assert len(trades) == len(ref_trades)
    for got, want in zip(trades, ref_trades, strict=True):
        for name in TRADE_DTYPE.names:
            if TRADE_DTYPE[name].kind == "f":
                assert close(got[name], want[name]), (name, got, want)
            else:
                assert got[name] == want[name], (name, got, want)
