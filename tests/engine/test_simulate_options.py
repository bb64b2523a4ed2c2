"""Each option of SimConfig reaches the simulate kernel as itself: changing one option alone changes the
run, and exactly as the plain-Python reference (which reads the SimConfig by name) says. Two options
wired into each other's place in the kernel's record (engine/simulation.py, `sim_params`), or one not
wired at all, fail here with the option's name."""

import dataclasses

import numpy as np
import pytest

from engine.config import SimConfig
from engine.kernels.simulate_records import SIM_PARAMS_DTYPE, TRADE_DTYPE
from engine.simulation import SignalArrays, _directional, sim_params, simulate
from tests.engine.market import random_bars
from tests.engine.reference_simulate import reference_simulate

N = 300

# option -> (the base config's fields, the option's other value): a base where the option matters
CASES = {
    "init_cash": ({}, 5_000.0),
    "commission": ({}, 0.01),
    "fixed_fee": ({}, 25.0),
    "slippage": ({}, 0.002),
    "fill": ({}, "close"),
    "sizing": ({}, "all_units"),
    "size": ({"sizing": "percent", "size": 0.5}, 0.2),
    "sl": ({}, 0.01),
    "tp": ({}, 0.02),
    "trail": ({}, 0.015),
    "direction": ({}, "both"),
    "on_entry_while_long": ({}, "reenter"),
    "same_bar_conflict": ({}, "entry_wins"),
    "at_end": ({}, "close"),
    "warmup_bars": ({}, 3),
    "margin": ({"sizing": "percent", "size": 0.5}, 0.5),  # 2x leverage: twice the units
    "maintenance": ({"margin": 0.2}, 0.15),  # 5x leverage, liquidated below 15 % of the position's value
    "accumulate": ({"sizing": "percent", "size": 0.3}, True),  # entries while long add 30 % of the free cash
    "on_opposite_entry": ({"direction": "both"}, "close"),  # a short entry only closes the long
}


@pytest.fixture(scope="module")
def bars():
    return random_bars(7, N)


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(7)
    e, x, se, sx = (rng.random(N) < 0.15 for _ in range(4))
    e[0] = True  # an entry inside the warm-up
    e[N - 6], x[N - 6:] = True, False  # a trade still open at the end
    return SignalArrays(e, x, se, sx)


def _kernel_and_reference(bars, signals, cfg):
    got = simulate(bars, signals, cfg)
    ke, kx, kse, ksx = _directional(signals, cfg.direction, N)
    want = reference_simulate(bars.open, bars.high, bars.low, bars.close, ke, kx, kse, ksx, cfg)
    return got, want


def _same_run(a, b) -> bool:
    """Equal equity, trades (a record array or the reference's dicts), status and cancelled count."""
    (eq_a, tr_a, st_a, nc_a), (eq_b, tr_b, st_b, nc_b) = a, b
    if (st_a, nc_a) != (st_b, nc_b) or len(tr_a) != len(tr_b):
        return False
    if not np.allclose(eq_a, eq_b, rtol=1e-12, atol=1e-9):
        return False
    for ta, tb in zip(tr_a, tr_b, strict=True):
        for name in TRADE_DTYPE.names:
            if not np.isclose(ta[name], tb[name], rtol=1e-12, atol=1e-9):
                return False
    return True


# Options only the stats read (docs/stats.md): they leave the run alone; tests/engine/test_stats.py checks them.
STATS_ONLY = {"risk_free_rate": 0.05}


def test_every_option_has_a_case():
    assert set(CASES) == {f.name for f in dataclasses.fields(SimConfig)} - {"compat"} - set(STATS_ONLY)


@pytest.mark.parametrize("option", list(STATS_ONLY))
def test_a_stats_option_leaves_the_run_and_the_kernel_record_alone(bars, signals, option):
    base = SimConfig()
    changed = base.replace(**{option: STATS_ONLY[option]})
    assert sim_params(changed).tobytes() == sim_params(base).tobytes()
    assert _same_run(simulate(bars, signals, changed), simulate(bars, signals, base))


@pytest.mark.parametrize("option", list(CASES))
def test_one_option_changes_the_run_as_the_reference_says(bars, signals, option):
    fields, value = CASES[option]
    base = SimConfig(**fields)
    changed = base.replace(**{option: value})
    got_base, want_base = _kernel_and_reference(bars, signals, base)
    got, want = _kernel_and_reference(bars, signals, changed)
    assert _same_run(got_base, want_base), f"{option}: the base run differs from the reference"
    assert _same_run(got, want), f"{option}={value!r}: the kernel differs from the reference"
    assert not _same_run(got, got_base), f"{option}={value!r} changed nothing: the case does not test it"


def test_the_record_holds_each_option_under_its_own_name():
    cfg = SimConfig(init_cash=123.0, commission=0.004, fixed_fee=2.0, slippage=0.003, fill="close",
                    sizing="fixed", size=7.0, sl=0.05, tp=0.25, trail=0.125, on_entry_while_long="reenter",
                    same_bar_conflict="entry_wins", at_end="close", warmup_bars=9, on_opposite_entry="ignore")
    p = sim_params(cfg)
    assert p.dtype == SIM_PARAMS_DTYPE and p.shape == (1,)
    want = dict(init_cash=123.0, fee_rate=0.004, fixed_fee=2.0, slippage=0.003, size_value=7.0, sl=0.05, tp=0.25,
                trail=0.125, fill_mode=1, sizing=2, warmup=9, reenter=True, entry_wins=True, close_at_end=True,
                long_wins=False, finalize=False, bt_trade_on_close=False, stop_first=False, stop_bar_quiet=False,
                partial_fills=False, bt_orders=False, leverage=1.0, maintenance=0.0, ruin_zero=False,
                trade_on_ruin=False, accumulate=False, opposite=2, merge_exits=False, exit_by_size=False,
                min_units=0.0, extra_records=0, log_orders=False)
    assert {name: p[0][name].item() for name in SIM_PARAMS_DTYPE.names} == want  # by name: the order is free
    # the order log: vectorbt's accumulation only (docs/simulation.md#the-order-log)
    assert sim_params(SimConfig.preset("vectorbt", accumulate=True))[0]["log_orders"]
    assert not sim_params(SimConfig.preset("vectorbt"))[0]["log_orders"]
    assert not sim_params(SimConfig(accumulate=True))[0]["log_orders"]
    off = sim_params(SimConfig())[0]
    assert (off["sl"], off["tp"], off["trail"]) == (0.0, 0.0, 0.0)  # None: off
    assert (bool(off["reenter"]), bool(off["entry_wins"]), bool(off["close_at_end"])) == (False, False, False)
