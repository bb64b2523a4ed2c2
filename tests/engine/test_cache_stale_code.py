"""The cache never serves a result of other code, and a sweep runs the strategy object it is given.

On 48df530 only a strategy's class source was hashed: editing a module-level constant or helper of a
strategy file served the old result from `run` and `sweep`; workers re-read the strategies folder per
chunk, so an edit mid-sweep mixed versions; and `run_sweep` looked the strategy up by name, so an
instance was silently replaced by the builtin of the same name or failed on the pool."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.backtest import run_backtest
from engine.cache import ResultCache
from engine.cache.keys import backtest_key, engine_modules
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.errors import StrategyError
from engine.strategies import get_strategy
from engine.strategies.shipping import ship, unship
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor, SerialExecutor
from tests.engine.sweep_helpers import LaggedCross, ShadowSmaCross

TEMPLATE = '''
import time
from engine.strategies import Param, Signals, Strategy
from engine.kernels.indicators import sma_nb
from engine.kernels.signals import crossover_nb, crossunder_nb

WINDOW = {window}
PAUSE = {pause}


def slow_line(close, n):
    return sma_nb(close, n + {extra})


class Windowed(Strategy):
    name = "windowed"
    params = (Param("n1", int, 5, 1, 100, 1),)

    def signals(self, bars, n1):
        time.sleep(PAUSE)
        fast, slow = sma_nb(bars.close, n1), slow_line(bars.close, WINDOW)
        return Signals(crossover_nb(fast, slow), crossunder_nb(fast, slow))
'''
GRID = {"n1": [2, 3, 4, 5, 6, 7]}


def write(folder, window=20, extra=0, pause=0.0):
    folder.mkdir(exist_ok=True)
    (folder / "windowed.py").write_text(TEMPLATE.format(window=window, extra=extra, pause=pause))
    return str(folder)


@pytest.fixture(scope="module")
def bars():
    return generate_bars("STALE", 2_000, "1d", seed=11)


def test_editing_a_module_constant_or_helper_misses_the_cache_in_run(tmp_path, bars):
    cache = ResultCache(tmp_path / "cache")
    folder = write(tmp_path / "s", window=20)
    first = run_backtest(bars, "windowed", {"n1": 5}, strategies_dir=folder, cache=cache)
    assert run_backtest(bars, "windowed", {"n1": 5}, strategies_dir=folder, cache=cache).from_cache
    write(tmp_path / "s", window=40)
    second = run_backtest(bars, "windowed", {"n1": 5}, strategies_dir=folder, cache=cache)
    assert not second.from_cache and second.stats != first.stats
    write(tmp_path / "s", window=40, extra=7)  # only the helper function changes
    third = run_backtest(bars, "windowed", {"n1": 5}, strategies_dir=folder, cache=cache)
    assert not third.from_cache and third.stats != second.stats
    fresh = run_backtest(bars, "windowed", {"n1": 5}, strategies_dir=folder)  # no cache: the truth
    assert third.stats == fresh.stats


@pytest.mark.parametrize("workers", [1, 2], ids=["serial", "pool"])
def test_editing_a_module_constant_misses_the_cache_in_sweep(tmp_path, bars, workers):
    cache = ResultCache(tmp_path / "cache")
    folder = write(tmp_path / "s", window=20)
    with (SerialExecutor() if workers == 1 else LocalExecutor(workers)) as ex:
        first = run_sweep(bars, "windowed", GRID, strategies_dir=folder, cache=cache, executor=ex)
        write(tmp_path / "s", window=35)
        second = run_sweep(bars, "windowed", GRID, strategies_dir=folder, cache=cache, executor=ex)
    assert second.computed == len(GRID["n1"])  # nothing served from the first version
    truth = run_sweep(bars, "windowed", GRID, strategies_dir=folder)
    assert second.rows.equals(truth.rows) and not second.rows.equals(first.rows)


def test_an_edit_during_a_sweep_reaches_no_chunk(tmp_path, bars):
    folder = write(tmp_path / "s", window=20, pause=0.15)
    expected = run_sweep(bars, "windowed", GRID, strategies_dir=write(tmp_path / "ref", window=20)).rows
    edited = threading.Event()

    def progress(p):
        if p.done >= 1 and not edited.is_set():
            write(tmp_path / "s", window=60, pause=0.15)
            edited.set()

    with LocalExecutor(2) as pool:
        got = run_sweep(bars, "windowed", GRID, strategies_dir=folder, executor=pool, chunk_size=1, progress=progress)
    assert edited.is_set() and not got.errors
    assert got.rows.drop("symbol").equals(expected.drop("symbol"))  # every row from the version the sweep began with


def test_key_covers_every_engine_module_a_result_is_computed_by():
    derived = set(engine_modules())
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, engine.backtest, engine.sweep.task;"
                               "print(' '.join(m for m in sys.modules if m.startswith('engine.')))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert set(loaded) <= derived, set(loaded) - derived
    assert {"engine.kernels.simulate", "engine.kernels.stats", "engine.strategies.builtins"} <= derived
    assert not {"engine.data.store", "engine.data.importers", "engine.runtime.hardware"} & derived


def test_a_builtin_named_subclass_runs_itself_everywhere(bars, tmp_path):
    shadow = ShadowSmaCross()
    builtin = run_sweep(bars, "sma_cross", {"n1": [5, 10], "n2": [30, 50]}).rows
    serial = run_sweep(bars, shadow, {"n1": [5, 10], "n2": [30, 50]}).rows
    assert not serial.equals(builtin)
    with LocalExecutor(2) as pool:
        pooled = run_sweep(bars, shadow, {"n1": [5, 10], "n2": [30, 50]}, executor=pool, chunk_size=1).rows
    assert pooled.equals(serial)
    cfg = SimConfig()
    assert backtest_key(bars, shadow, {"n1": 5, "n2": 30}, cfg) != backtest_key(bars, "sma_cross",
                                                                                 {"n1": 5, "n2": 30}, cfg)


def test_an_instance_with_a_new_name_and_its_attributes_runs_on_the_pool(bars):
    lagged = LaggedCross(lag=3)
    serial = run_sweep(bars, lagged, {"n1": [5, 10], "n2": [30, 50]})
    with LocalExecutor(2) as pool:
        pooled = run_sweep(bars, lagged, {"n1": [5, 10], "n2": [30, 50]}, executor=pool, chunk_size=1)
    assert not pooled.errors and pooled.rows.equals(serial.rows)
    plain = run_sweep(bars, LaggedCross(lag=0), {"n1": [5, 10], "n2": [30, 50]})
    assert not plain.rows.equals(serial.rows)  # the attribute reached the workers
    cfg = SimConfig()
    assert backtest_key(bars, LaggedCross(3), {}, cfg) != backtest_key(bars, LaggedCross(0), {}, cfg)


def test_a_strategy_no_worker_can_load_is_refused_before_any_work(bars):
    class Local(ShadowSmaCross):
        name = "local_only"

    calls = []
    with LocalExecutor(2) as pool, pytest.raises(StrategyError, match="defined inside a function"):
        run_sweep(bars, Local(), {"n1": [5], "n2": [30]}, executor=pool, progress=calls.append)
    assert calls == []  # refused before any chunk ran
    serial = run_sweep(bars, Local(), {"n1": [5], "n2": [30]})  # in-process it runs as it is
    assert len(serial.rows) == 1


def test_a_worker_refuses_code_other_than_the_parent_keyed(tmp_path):
    folder = write(tmp_path / "s", window=20)
    ref = ship(get_strategy("windowed", strategies_dir=folder))
    assert unship(ref).signals  # the parent's own bytes compile in a worker
    import dataclasses

    builtin = ship(get_strategy("sma_cross"))
    with pytest.raises(StrategyError, match="changed while the sweep ran"):
        unship(dataclasses.replace(builtin, digest="0" * 32))


def test_the_kept_import_graph_follows_every_edit_and_ignores_a_broken_file(tmp_path):
    """engine_modules keeps its answer beside the sources; an edit, a new import or a corrupt file never
    gives a stale list (a stale list would leave an edited module out of the engine version)."""
    import os
    import shutil
    import time

    import engine

    base = tmp_path / "engine"
    shutil.copytree(Path(engine.__file__).resolve().parent, base, ignore=shutil.ignore_patterns("__pycache__"))
    first = engine_modules(base=base)
    assert first == engine_modules()  # the copy's graph is the package's
    kept = base / "__pycache__" / "backbench-import-graph.json"
    assert kept.is_file() and engine_modules(base=base) == first
    assert "engine.data.store" not in first
    backtest = base / "backtest.py"
    backtest.write_text(backtest.read_text() + "\nimport engine.data.store  # noqa\n")
    os.utime(backtest, ns=(time.time_ns(), time.time_ns()))
    assert "engine.data.store" in engine_modules(base=base)  # walked again, not served from the kept list
    kept.write_text('{"stamp": "x", "modules": [')  # cut short
    assert "engine.data.store" in engine_modules(base=base)
    kept.write_text(kept.read_text().replace("engine.data.store", "os.path"))  # a whole file of another graph
    assert "engine.data.store" in engine_modules(base=base)
