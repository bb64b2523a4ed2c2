"""Bars are read-only everywhere: a strategy that writes into them cannot change what later combos,
workers, the GUI or the cache see (on 48df530 `c = bars.close; c *= 1.01` drifted every later combo)."""

import numpy as np
import pytest

from engine.backtest import run_backtest
from engine.bars import Bars
from engine.data.demo import demo_bars, generate_bars
from engine.data.importers import load_file
from engine.data.store import Store
from engine.errors import StrategyError
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor, SerialExecutor
from engine.sweep.shared_bars import attach, publish, release

WRITERS = '''
import numpy as np
from engine.strategies import Param, Signals, Strategy
from engine.kernels.indicators import sma_nb
from engine.kernels.signals import crossover_nb, crossunder_nb

PARAMS = (Param("n1", int, 10, 1, 500, 1), Param("n2", int, 20, 2, 1000, 1))


def sma_cross(close, n1, n2):
    fast, slow = sma_nb(close, n1), sma_nb(close, n2)
    return Signals(crossover_nb(fast, slow), crossunder_nb(fast, slow))


class Scribbler(Strategy):
    """Tries to scale its bars in place, shrugs the error off, then trades sma_cross's rules."""
    name = "scribbler"
    params = PARAMS

    def signals(self, bars, n1, n2):
        try:
            c = bars.close
            c *= 1.01
        except ValueError:
            pass
        try:
            bars.high[:] = 0.0
        except ValueError:
            pass
        return sma_cross(bars.close, n1, n2)


class Vandal(Strategy):
    """Writes into its bars and does not catch the error."""
    name = "vandal"
    params = PARAMS

    def signals(self, bars, n1, n2):
        bars.close[0] = 1e9
        return sma_cross(bars.close, n1, n2)
'''

GRID = {"n1": [5, 10, 15], "n2": [20, 40]}


@pytest.fixture(scope="module")
def strategies_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("writers")
    (folder / "writers.py").write_text(WRITERS)
    return str(folder)


@pytest.fixture(scope="module")
def bars():
    return generate_bars("RO", 1_500, "1d", seed=3)


def _assert_read_only(b: Bars) -> None:
    for name in ("ts", "open", "high", "low", "close", "volume"):
        arr = getattr(b, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[0]


def test_every_way_of_making_bars_gives_read_only_arrays(tmp_path, bars):
    own = np.linspace(1.0, 2.0, 10)
    made = Bars.from_arrays(own, own + 1, own - 0.5, own)
    _assert_read_only(made)
    own[0] = 5.0  # the caller's own array stays theirs to change
    _assert_read_only(made.slice(2, 8))
    _assert_read_only(bars)
    _assert_read_only(demo_bars("ACME"))
    csv = tmp_path / "x.csv"
    csv.write_text("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1.5,2,1,1.8,12\n")
    _assert_read_only(load_file(csv).bars)
    store = Store(tmp_path / "s.duckdb")
    try:
        store.write_bars(bars)
        _assert_read_only(store.load("RO", "1d"))
        _assert_read_only(store.resample("RO", "1d", "1w"))
    finally:
        store.close()
    shm, ref = publish(bars)
    try:
        attached = attach(ref)
        _assert_read_only(attached)
        with pytest.raises(ValueError):  # the mapping itself is read-only: no flag turns a worker's view writable
            attached.close.setflags(write=True)
    finally:
        from engine.sweep.shared_bars import detach_all

        detach_all()
        release(shm)
    from engine.sweep.shared_bars import share

    moved = Bars.from_arrays(bars.open, bars.high, bars.low, bars.close, bars.volume, bars.ts, "RO", "1d")
    share(moved)
    _assert_read_only(moved)
    with pytest.raises(ValueError):  # nor the parent's, once its bars live in the shared block
        moved.close.setflags(write=True)


def test_strategy_that_writes_into_its_bars_sees_and_leaves_them_untouched(bars, strategies_dir):
    before = bars.fingerprint(), bars.close.copy()
    expected = run_sweep(bars, "sma_cross", GRID).rows.drop("symbol")
    serial = run_sweep(bars, "scribbler", GRID, strategies_dir=strategies_dir, executor=SerialExecutor())
    assert not serial.errors
    assert serial.rows.drop("symbol").equals(expected)
    with LocalExecutor(2) as pool:
        pooled = run_sweep(bars, "scribbler", GRID, strategies_dir=strategies_dir, executor=pool, chunk_size=1)
    assert not pooled.errors
    assert pooled.rows.drop("symbol").equals(expected)
    np.testing.assert_array_equal(bars.close, before[1])
    assert Bars(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, "RO", "1d").fingerprint() == before[0]


def test_strategy_that_writes_gets_a_clear_error_and_the_next_run_sees_clean_bars(bars, strategies_dir):
    with pytest.raises(StrategyError, match="vandal.*read-only.*np.array"):
        run_backtest(bars, "vandal", {"n1": 5, "n2": 20}, strategies_dir=strategies_dir)
    swept = run_sweep(bars, "vandal", GRID, strategies_dir=strategies_dir)
    assert swept.rows.is_empty() and len(swept.errors) == 6
    assert all("read-only" in e["error"] for e in swept.errors)
    clean = run_backtest(bars, "sma_cross", {"n1": 5, "n2": 20})
    again = run_backtest(generate_bars("RO", 1_500, "1d", seed=3), "sma_cross", {"n1": 5, "n2": 20})
    assert clean.stats == again.stats
