"""Monte Carlo (engine/analysis/montecarlo.py, docs/montecarlo.md): the numba kernel against a plain-numpy
reference (to sampling error, the draws being independent streams), a fixed seed giving identical output,
and what each method must keep (the shuffle's final return, the blocks' length)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.montecarlo import PERCENTILES, bands, draw_indices_nb, paths_nb, run_montecarlo, trade_returns
from engine.errors import ConfigError
from engine.kernels.simulate_records import TRADE_DTYPE


def a_run(n_trades: int, seed: int = 7, mean: float = 10.0, sd: float = 100.0):
    """Equity and trades of a run: one trade every two bars, all in sequence, P&L ~ N(mean, sd)."""
    rng = np.random.default_rng(seed)
    trades = np.zeros(n_trades, dtype=TRADE_DTYPE)
    trades["entry_bar"] = np.arange(n_trades) * 2 + 1
    trades["exit_bar"] = trades["entry_bar"] + 1
    trades["pnl"] = rng.normal(mean, sd, n_trades)
    after = 10_000.0 + np.cumsum(trades["pnl"])  # each trade marked at half its P&L on its entry bar
    before = np.r_[10_000.0, after[:-1]]
    equity = np.r_[10_000.0, np.column_stack([before + trades["pnl"] / 2, after]).ravel()]
    return equity, trades


def reference(returns: np.ndarray, init: float, runs: int, method: str, seed: int, ruin: float, block: int = 20):
    """Plain numpy: draws from numpy's own generator, paths by cumprod, figures by accumulate."""
    rng = np.random.default_rng(seed)
    m = len(returns)
    if method == "trades":
        idx = rng.integers(0, m, size=(runs, m))
    elif method == "shuffle":
        idx = np.argsort(rng.random((runs, m)), axis=1)
    else:
        k = -(-m // block)
        starts = rng.integers(0, m - block + 1, size=(runs, k))
        idx = (starts[:, :, None] + np.arange(block)).reshape(runs, -1)[:, :m]
    paths = init * np.cumprod(1 + returns[idx], axis=1)
    paths = np.c_[np.full(runs, init), paths]
    peak = np.maximum.accumulate(paths, axis=1)
    final = (paths[:, -1] / init - 1) * 100
    max_dd = ((1 - paths / peak).max(axis=1)) * 100
    return {"final": final, "max_dd": max_dd, "bands": np.percentile(paths, PERCENTILES, axis=0),
            "p_loss": float(np.mean(final < 0)), "p_ruin": float(np.mean(paths.min(axis=1) <= ruin * init))}


@pytest.mark.parametrize("method", ["trades", "shuffle", "blocks"])
def test_percentiles_match_a_numpy_reference_to_sampling_error(method):
    equity, trades = a_run(200)
    runs = 20_000
    mc = run_montecarlo(equity, trades, 10_000.0, method=method, runs=runs, seed=5, ruin=0.9)
    rets = trade_returns(equity, trades, 10_000.0) if method != "blocks" else equity[1:] / equity[:-1] - 1
    ref = reference(rets, 10_000.0, runs, method, seed=11, ruin=0.9)
    # a percentile of 20,000 draws: its standard error is a small share of the spread between percentiles
    spread = np.percentile(ref["final"], 95) - np.percentile(ref["final"], 5) + 1e-9
    for q in PERCENTILES:
        assert abs(mc.percentiles()["final_return_pct"][str(q)] - np.percentile(ref["final"], q)) < 0.03 * spread
        dd_spread = np.percentile(ref["max_dd"], 95) - np.percentile(ref["max_dd"], 5) + 1e-9
        assert abs(mc.percentiles()["max_drawdown_pct"][str(q)] - np.percentile(ref["max_dd"], q)) < 0.03 * dd_spread
    band_spread = ref["bands"][-1] - ref["bands"][0] + 1e-9
    assert (np.abs(mc.bands - ref["bands"]) < 0.05 * band_spread.max()).all()
    assert abs(mc.p_loss - ref["p_loss"]) < 0.02 and abs(mc.p_ruin - ref["p_ruin"]) < 0.02


def test_the_kernel_computes_each_path_as_numpy_does():
    """Same indices: the paths and every figure equal a numpy computation exactly (to rounding)."""
    rets = np.random.default_rng(3).normal(0.002, 0.03, 50)
    idx = draw_indices_nb(0, 50, 300, 20, 9)
    paths, final, dd, longest, lowest = paths_nb(rets, idx, 100.0)
    want = np.vstack([np.full(300, 100.0), 100.0 * np.cumprod(1 + rets[idx], axis=0)])
    np.testing.assert_allclose(paths, want, rtol=1e-12)
    np.testing.assert_allclose(final, (want[-1] / 100 - 1) * 100, rtol=1e-12)
    np.testing.assert_allclose(dd, (1 - want / np.maximum.accumulate(want, axis=0)).max(axis=0) * 100, atol=1e-12)
    np.testing.assert_allclose(lowest, want.min(axis=0))
    below = want < np.maximum.accumulate(want, axis=0)
    runs_below = [max((len(s) for s in "".join("1" if b else "0" for b in col).split("0")), default=0)
                  for col in below.T]
    np.testing.assert_array_equal(longest, runs_below)
    np.testing.assert_allclose(bands(paths), np.percentile(paths, PERCENTILES, axis=1), rtol=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 60), runs=st.integers(1, 40), seed=st.integers(0, 2**31 - 1),
       method=st.sampled_from(["trades", "shuffle", "blocks"]), block=st.integers(1, 30))
def test_a_fixed_seed_gives_identical_output_and_draws_stay_in_range(n, runs, seed, method, block):
    equity, trades = a_run(n, seed=seed % 1000)
    kw = dict(method=method, runs=runs, seed=seed, block=block)
    a, b = (run_montecarlo(equity, trades, 10_000.0, **kw) for _ in range(2))
    assert a.to_json_dict() == b.to_json_dict() and np.array_equal(a.bands, b.bands)
    m = n if method != "blocks" else len(equity) - 1
    idx = draw_indices_nb(("trades", "shuffle", "blocks").index(method), m, runs, block, seed)
    assert idx.shape == (m, runs) and idx.min() >= 0 and idx.max() < m
    if method == "shuffle":  # every run is a permutation: the final return is the actual one
        assert (np.sort(idx, axis=0) == np.arange(m)[:, None]).all()
        np.testing.assert_allclose(a.final_return_pct, a.actual()["final_return_pct"], rtol=1e-9, atol=1e-9)
    if method == "blocks":  # blocks of consecutive bars
        steps = np.diff(idx, axis=0)
        assert ((steps == 1) | (np.arange(1, m)[:, None] % min(block, m) == 0)).all()


def test_the_actual_path_and_trade_returns():
    equity, trades = a_run(30)
    mc = run_montecarlo(equity, trades, 10_000.0, runs=10)
    # sequential trades entered with the whole account: compounding their returns gives the run's equity
    np.testing.assert_allclose(mc.actual_path[1:], equity[2::2], rtol=1e-12)
    assert mc.actual()["final_return_pct"] == pytest.approx((equity[-1] / 10_000 - 1) * 100, rel=1e-12)
    open_trade = trades.copy()
    open_trade["is_open"][-1] = True
    assert len(trade_returns(equity, open_trade, 10_000.0)) == 29  # open trades are not resampled


def test_bad_options_are_refused_and_nothing_to_resample_says_so():
    equity, trades = a_run(5)
    for bad in (dict(method="bogus"), dict(runs=0), dict(ruin=1.5), dict(block=0)):
        with pytest.raises(ConfigError, match="montecarlo"):
            run_montecarlo(equity, trades, 10_000.0, **bad)
    with pytest.raises(ConfigError, match="no closed trade"):
        run_montecarlo(equity, trades[:0], 10_000.0)
    with pytest.raises(ConfigError, match="fewer than 2 bars"):
        run_montecarlo(equity[:1], trades, 10_000.0, method="blocks")
